"""The derived views: what a portfolio, the model portfolio, holdings given in a request and
the categories look like against the category targets, the store's prices and the current
momentum scores (positions and gains, analysis, rebalance plan, performance).

Each view reads its inputs through the services (ledger, categories, quotes), hands them to the
pure modules (`ledger`, `analysis`, `rebalance`, `performance`) and answers the response model.
Floating-point maths: exact ledger figures are converted here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, localcontext

from backend.errors import InvalidInput, Rule
from backend.portfolios import decimals, ledger
from backend.portfolios.analysis import PortfolioAnalysis, analyze_holdings, value_weighted_score
from backend.portfolios.categories import CategoryService
from backend.portfolios.performance import PerformanceReport, portfolio_performance
from backend.portfolios.performance_inputs import (
    PerformanceInputs,
    check_period,
    performance_inputs,
    trading_dates,
)
from backend.portfolios.quotes import Quote, QuoteService, prices_as_of
from backend.portfolios.rebalance import RebalancePlan, plan_rebalance
from backend.portfolios.schemas import (
    AnalysisOut,
    CategoryAnalysisOut,
    CategoryDetail,
    LedgerSummary,
    PerformanceOut,
    PortfolioDetail,
    PortfolioOut,
    PositionOut,
    RebalanceOut,
    category_out,
    performance_out,
    scored_ticker,
)
from backend.portfolios.service import PortfolioInfo, PortfolioService
from backend.portfolios.transactions import TransactionService

MODEL_NAME = "Model portfolio"
REQUEST_NAME = "Request holdings"
NEEDS_TRANSACTIONS = Rule(
    "invalid_input",
    "needs at least one transaction",
    "a portfolio's performance needs at least one transaction",
)


def _floats(values: Mapping[str, Decimal | float]) -> dict[str, float]:
    """Exact ledger quantities for the floating-point views."""
    return {k: float(v) for k, v in values.items()}


def _sum(values: list[Decimal]) -> Decimal:
    with localcontext(decimals.CONTEXT):
        return sum(values, decimals.ZERO)


def _position(pos: ledger.Position, quote: Quote | None) -> PositionOut:
    price = quote.price if quote is not None else None
    is_open = pos.shares > 0
    return PositionOut(
        ticker=pos.ticker,
        shares=pos.shares,
        cost_basis=pos.cost_basis,
        average_cost=pos.average_cost,
        price=price,
        price_date=quote.price_date if quote is not None else None,
        market_value=pos.market_value(price),
        unrealised_gain=pos.unrealised_gain(price) if is_open else None,
        realised_gain=pos.realised_gain,
        dividends=pos.dividends,
        fees=pos.fees,
    )


def portfolio_detail(
    info: PortfolioInfo, state: ledger.LedgerState, quotes: Mapping[str, Quote]
) -> PortfolioDetail:
    """Open and closed positions at the quotes' prices, and the ledger's totals. A value that
    needs a price no position has is null (never counted as 0)."""
    open_ = [_position(p, quotes.get(t)) for t, p in sorted(state.open_positions.items())]
    closed = [
        _position(p, quotes.get(t))
        for t, p in sorted(state.positions.items())
        if t not in state.open_positions
    ]
    unpriced = [p.ticker for p in open_ if p.price is None]
    gains = [p.unrealised_gain for p in open_ if p.unrealised_gain is not None]
    holdings = None if unpriced else _sum([p.market_value for p in open_ if p.market_value])
    summary = LedgerSummary(
        cash=state.cash,
        deposits=state.deposits,
        withdrawals=state.withdrawals,
        implicit_deposits=state.implicit_deposits,
        net_contributions=state.net_contributions,
        fees=state.fees,
        dividends=state.dividends,
        realised_gain=state.realised_gain,
        unrealised_gain=_sum(gains) if gains else None,
        holdings_value=holdings,
        total_value=None if holdings is None else _sum([holdings, state.cash]),
        unpriced=unpriced,
    )
    return PortfolioDetail(
        **PortfolioOut.model_validate(info).model_dump(),
        summary=summary,
        positions=open_,
        closed_positions=closed,
    )


class PortfolioViews:
    def __init__(
        self,
        portfolios: PortfolioService,
        transactions: TransactionService,
        categories: CategoryService,
        quotes: QuoteService,
    ) -> None:
        self.portfolios = portfolios
        self.transactions = transactions
        self.categories = categories
        self.quotes = quotes

    # ================================================================== building blocks

    def _state(self, user_id: int, portfolio_id: int) -> tuple[PortfolioInfo, ledger.LedgerState]:
        info = self.portfolios.get(user_id, portfolio_id)
        return info, ledger.replay(self.transactions.ledger_entries(user_id, portfolio_id))

    def _analyze(
        self,
        shares: Mapping[str, Decimal | float],
        cost_basis: Mapping[str, Decimal | float],
        cash: Decimal | float,
    ) -> tuple[PortfolioAnalysis, dict[str, Quote]]:
        """Holdings against the categories, with the store's prices and current scores."""
        quotes = self.quotes.quotes(sorted(shares))
        result = analyze_holdings(
            _floats(shares),
            {t: q.price for t, q in quotes.items()},
            _floats(cost_basis),
            {t: q.score for t, q in quotes.items()},
            {t: q.rating for t, q in quotes.items()},
            self.categories.targets(),
            float(cash),
        )
        return result, quotes

    def _plan(
        self, shares: Mapping[str, Decimal | float], cash: Decimal | float, min_trade: float
    ) -> RebalancePlan:
        """A whole-share plan toward the category targets with the store's prices and scores."""
        cats = self.categories.categories()
        quotes = self.quotes.quotes(sorted(shares) + [t for c in cats for t in c.tickers])
        try:
            return plan_rebalance(
                _floats(shares),
                {t: q.price for t, q in quotes.items()},
                {t: q.score for t, q in quotes.items()},
                self.categories.targets(),
                float(cash),
                min_trade,
            )
        except ValueError as exc:
            raise InvalidInput(f"cannot plan a rebalance: {exc}") from None

    @staticmethod
    def _report(inputs: PerformanceInputs) -> PerformanceReport:
        try:
            return portfolio_performance(
                inputs.shares, inputs.cash, inputs.flows, inputs.prices, inputs.benchmark
            )
        except ValueError as exc:
            raise InvalidInput(f"cannot compute the performance: {exc}") from None

    def _performance_out(
        self, inputs: PerformanceInputs, portfolio_id: int | None, name: str
    ) -> PerformanceOut:
        return performance_out(
            self._report(inputs),
            portfolio_id,
            name,
            inputs.benchmark_ticker,
            inputs.price_basis,
            inputs.notes,
        )

    # ================================================================== a user's portfolio

    def detail(self, user_id: int, portfolio_id: int) -> PortfolioDetail:
        """The portfolio with its positions, cash and gains, all derived from its ledger."""
        info, state = self._state(user_id, portfolio_id)
        return portfolio_detail(info, state, self.quotes.quotes(sorted(state.positions)))

    def analysis(self, user_id: int, portfolio_id: int) -> AnalysisOut:
        info, state = self._state(user_id, portfolio_id)
        result, quotes = self._analyze(state.shares(), state.cost_basis(), state.cash)
        return AnalysisOut(
            portfolio_id=info.id,
            name=info.name,
            prices_as_of=prices_as_of(quotes),
            realised_gain=state.realised_gain,
            dividends=state.dividends,
            analysis=result,
        )

    def rebalance(
        self, user_id: int, portfolio_id: int, cash: float, min_trade: float
    ) -> RebalanceOut:
        """Trades toward the targets with the portfolio's cash plus `cash` (new money)."""
        info, state = self._state(user_id, portfolio_id)
        plan = self._plan(state.shares(), float(state.cash) + cash, min_trade)
        return RebalanceOut(
            portfolio_id=info.id,
            name=info.name,
            new_cash=cash,
            prices_as_of=prices_as_of(self.quotes.quotes(sorted(state.shares()))),
            plan=plan,
        )

    def performance(
        self,
        user_id: int,
        portfolio_id: int,
        start: dt.date | None,
        end: dt.date | None,
        benchmark: str,
    ) -> PerformanceOut:
        """From `start` (default: the first transaction) to `end` (default: the newest day)."""
        info = self.portfolios.get(user_id, portfolio_id)
        entries = self.transactions.ledger_entries(user_id, portfolio_id)
        if not entries:
            raise InvalidInput(
                f"portfolio {portfolio_id} has no transactions: there is no performance yet",
                {"field": "portfolio_id", "rule": NEEDS_TRANSACTIONS.rule},
            )
        start = start or min(e.date for e in entries)
        check_period(start, end)  # before the store is read, as every period check is
        book = self.quotes.require_book()
        inputs = performance_inputs(book, entries, None, start, end, benchmark)
        return self._performance_out(inputs, info.id, info.name)

    # ================================================================== the model portfolio

    def model_analysis(self) -> AnalysisOut:
        return self._unstored_analysis(MODEL_NAME, self.categories.model_holdings(), {}, 0.0)

    def request_analysis(
        self, shares: Mapping[str, Decimal], cost_basis: Mapping[str, Decimal], cash: Decimal
    ) -> AnalysisOut:
        """Holdings given in a request, analysed like a portfolio (nothing stored)."""
        return self._unstored_analysis(REQUEST_NAME, shares, cost_basis, cash)

    def _unstored_analysis(
        self,
        name: str,
        shares: Mapping[str, Decimal | float],
        cost_basis: Mapping[str, Decimal | float],
        cash: Decimal | float,
    ) -> AnalysisOut:
        """Holdings without a ledger: no realised gain, no dividends."""
        result, quotes = self._analyze(shares, cost_basis, cash)
        return AnalysisOut(
            portfolio_id=None,
            name=name,
            prices_as_of=prices_as_of(quotes),
            realised_gain=None,
            dividends=None,
            analysis=result,
        )

    def model_rebalance(self, cash: float, min_trade: float) -> RebalanceOut:
        holdings = self.categories.model_holdings()
        plan = self._plan(holdings, cash, min_trade)
        return RebalanceOut(
            portfolio_id=None,
            name=MODEL_NAME,
            new_cash=cash,
            prices_as_of=prices_as_of(self.quotes.quotes(sorted(holdings))),
            plan=plan,
        )

    def model_performance(
        self, start: dt.date | None, end: dt.date | None, benchmark: str
    ) -> PerformanceOut:
        """Today's model holdings over [start, end]; `start` defaults to one year before the
        newest stored day up to `end`."""
        check_period(start, end)
        book = self.quotes.require_book()
        if start is None:
            dates = trading_dates(book, None, end)
            if len(dates):
                start = (dates[-1] - dt.timedelta(days=365)).date()
        holdings = self.categories.model_holdings()
        inputs = performance_inputs(book, None, holdings, start, end, benchmark)
        return self._performance_out(inputs, None, MODEL_NAME)

    # ================================================================== categories

    def category_detail(self, name: str) -> CategoryDetail:
        """A category and its tickers by score, highest first (unscored last)."""
        cat = self.categories.category(name)
        quotes = self.quotes.quotes(cat.tickers)
        ordered = sorted(
            quotes.values(), key=lambda q: (q.score is None, -(q.score or 0.0), q.ticker)
        )
        return CategoryDetail(
            **category_out(cat).model_dump(), scores=[scored_ticker(q) for q in ordered]
        )

    def category_analysis(self, name: str) -> CategoryAnalysisOut:
        """Average and value-weighted score (over the model's holdings of the category),
        best and worst member, and the benchmark's score."""
        cat = self.categories.category(name)
        quotes = self.quotes.quotes(cat.tickers)
        bench = self.quotes.quotes([cat.benchmark])[cat.benchmark]
        scored = sorted(
            (q for q in quotes.values() if q.score is not None),
            key=lambda q: (-(q.score or 0.0), q.ticker),
        )
        model = {t: n for t, n in self.categories.model_holdings().items() if t in cat.tickers}
        values = {
            t: n * q.price
            for t, n in model.items()
            if (q := quotes[t]).price is not None and q.score is not None
        }
        weighted, _ = value_weighted_score(values, {t: quotes[t].score for t in values})
        average = (
            sum(q.score for q in scored if q.score is not None) / len(scored) if scored else None
        )
        return CategoryAnalysisOut(
            name=cat.name,
            slug=cat.slug,
            target=cat.target,
            benchmark=cat.benchmark,
            members=len(cat.tickers),
            scored=len(scored),
            average_score=None if average is None else round(average, 2),
            value_weighted_score=None if weighted is None else round(weighted, 2),
            value_weighted_over=sorted(values),
            best=scored_ticker(scored[0]) if scored else None,
            worst=scored_ticker(scored[-1]) if scored else None,
            benchmark_score=scored_ticker(bench),
            unscored=[scored_ticker(q) for q in quotes.values() if q.score is None],
        )
