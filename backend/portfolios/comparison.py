"""Two portfolios side by side, and the correlation of a portfolio's holdings.

Reads through the views every other portfolio route uses (`PortfolioViews`: analysis against
the category targets, performance from the ledger or the model's shares) and the score book's
adjusted closes, then hands them to the pure modules `diversification` and `correlation`.
A side is the model portfolio or one of the caller's own portfolios (another user's: 404).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import pandas as pd

from backend.errors import InvalidInput, Rule, Unauthorized
from backend.momentum.service import ScoreBook
from backend.portfolios.analysis import PortfolioAnalysis
from backend.portfolios.comparison_schemas import (
    CommonPerformance,
    CompareOut,
    CorrelationOut,
    DiversificationRatioOut,
    LeftOutHolding,
    PairOut,
    PerformanceSummary,
    SideOut,
)
from backend.portfolios.correlation import correlation_matrix, diversification_ratio
from backend.portfolios.diversification import (
    compare_allocations,
    compare_holdings,
    diversification_of,
)
from backend.portfolios.performance_inputs import STORED_DAYS, check_period, trading_dates
from backend.portfolios.quotes import QuoteService
from backend.portfolios.schemas import AnalysisOut, PerformanceOut
from backend.portfolios.service import not_found
from backend.portfolios.views import NEEDS_TRANSACTIONS, PortfolioViews

MODEL: Final = "model"
SIDE_PATTERN: Final = r"^(model|[1-9][0-9]{0,9})$"
SIDE_RULE: Final = "model, or the id of one of your portfolios"
MAX_ID: Final = 2**31 - 1
SIDE = Rule("invalid_input", SIDE_RULE, "a and b: model, or a portfolio id (1 or more)")
DEFAULT_WINDOW_DAYS: Final = 365
WINDOW_RULE: Final = (
    "start: the one given, else the later of the two sides' own defaults (a portfolio's first "
    "transaction, the model's one year before the end); end: the one given, else the newest "
    "stored day"
)
WEIGHT_BASIS: Final = (
    "allocations and holdings: weights of total value (cash included); diversification: "
    "weights of the invested value (cash excluded)"
)


@dataclass(frozen=True)
class Side:
    """``model``, or a portfolio id of the caller."""

    portfolio_id: int | None

    @classmethod
    def parse(cls, text: str, field: str) -> Side:
        if text == MODEL:
            return cls(None)
        if not text.isdigit() or int(text) < 1:
            raise InvalidInput(
                f"{field} {text!r} is neither {MODEL} nor a portfolio id",
                {"field": field, "rule": SIDE.rule},
            )
        return cls(int(text))


def _sectors(book: ScoreBook, tickers: list[str]) -> dict[str, str | None]:
    sec = book.panel.securities["sector"]
    out: dict[str, str | None] = {}
    for t in tickers:
        stored = book.resolve(t)
        value = sec.get(stored) if stored is not None else None
        out[t] = str(value) if isinstance(value, str) and value.strip() else None
    return out


def _summary(p: PerformanceOut) -> PerformanceSummary:
    return PerformanceSummary(
        start=p.start,
        end=p.end,
        periods=p.periods,
        twr=p.twr,
        benchmark_return=p.benchmark_return,
        active_return=p.active_return,
        max_drawdown=p.max_drawdown,
        drawdown_peak=p.drawdown_peak,
        drawdown_trough=p.drawdown_trough,
        volatility=p.volatility,
        notes=p.notes,
        reason=None,
    )


def _no_figures(reason: str) -> PerformanceSummary:
    return PerformanceSummary(
        start=None,
        end=None,
        periods=None,
        twr=None,
        benchmark_return=None,
        active_return=None,
        max_drawdown=None,
        drawdown_peak=None,
        drawdown_trough=None,
        volatility=None,
        notes=[],
        reason=reason,
    )


class PortfolioAnalytics:
    def __init__(self, views: PortfolioViews, quotes: QuoteService, min_observations: int):
        self.views = views
        self.quotes = quotes
        self.min_observations = min_observations

    # ------------------------------------------------------------------ sides

    def _analysis(self, user_id: int | None, side: Side) -> AnalysisOut:
        if side.portfolio_id is None:
            return self.views.model_analysis()
        assert user_id is not None  # checked by the caller: an id needs a login
        if side.portfolio_id > MAX_ID:  # past any stored id: missing, like another user's
            raise not_found(side.portfolio_id)
        return self.views.analysis(user_id, side.portfolio_id)

    def _default_start(
        self, user_id: int | None, side: Side, book: ScoreBook, end: dt.date | None
    ) -> dt.date | None:
        if side.portfolio_id is None:
            dates = trading_dates(book, None, end)
            return (
                (dates[-1] - dt.timedelta(days=DEFAULT_WINDOW_DAYS)).date() if len(dates) else None
            )
        assert user_id is not None
        entries = self.views.transactions.ledger_entries(user_id, side.portfolio_id)
        return min((e.date for e in entries), default=None)

    def _performance(
        self,
        user_id: int | None,
        side: Side,
        start: dt.date,
        end: dt.date | None,
        benchmark: str,
    ) -> PerformanceSummary:
        try:
            if side.portfolio_id is None:
                return _summary(self.views.model_performance(start, end, benchmark))
            assert user_id is not None
            return _summary(
                self.views.performance(user_id, side.portfolio_id, start, end, benchmark)
            )
        except InvalidInput as exc:
            # A side without figures over the window is reported as such, not as 0.
            if exc.details.get("rule") in (NEEDS_TRANSACTIONS.rule, STORED_DAYS.rule):
                return _no_figures(exc.message)
            raise

    # ------------------------------------------------------------------ compare

    def compare(
        self,
        user_id: int | None,
        a: str,
        b: str,
        start: dt.date | None,
        end: dt.date | None,
        benchmark: str,
    ) -> CompareOut:
        """Allocations, holdings, performance over a common window and diversification of
        ``a`` and ``b`` (each ``model`` or one of the user's portfolio ids)."""
        side_a, side_b = Side.parse(a, "a"), Side.parse(b, "b")
        check_period(start, end)
        if user_id is None and (side_a.portfolio_id or side_b.portfolio_id):
            raise Unauthorized(
                "authentication required to compare a portfolio: send 'Authorization: Bearer "
                "<access token>' (POST /api/v1/auth/login)",
                {"reason": "missing_token"},
            )
        out_a, out_b = self._analysis(user_id, side_a), self._analysis(user_id, side_b)
        book = self.quotes.require_book()
        if start is None:
            starts = [self._default_start(user_id, s, book, end) for s in (side_a, side_b)]
            known = [s for s in starts if s is not None]
            start = max(known) if known else pd.Timestamp(book.panel.close.index[0]).date()
            if end is not None and start > end:
                start = end
        perf_a = self._performance(user_id, side_a, start, end, benchmark)
        perf_b = self._performance(user_id, side_b, start, end, benchmark)
        an_a, an_b = out_a.analysis, out_b.analysis
        tickers = sorted({h.ticker for h in (*an_a.holdings, *an_b.holdings)})
        sectors = _sectors(book, tickers)
        try:
            allocations = compare_allocations(an_a, an_b)
        except ValueError as exc:  # the targets changed between the two reads
            raise InvalidInput(f"cannot compare: {exc}") from None
        return CompareOut(
            a=self._side(side_a, out_a, an_a),
            b=self._side(side_b, out_b, an_b),
            allocations=list(allocations),
            holdings=list(compare_holdings(an_a, an_b)),
            performance=CommonPerformance(
                start=start,
                end=end,
                benchmark=benchmark,
                window_rule=WINDOW_RULE,
                a=perf_a,
                b=perf_b,
            ),
            diversification_a=diversification_of(an_a, sectors),
            diversification_b=diversification_of(an_b, sectors),
            weight_basis=WEIGHT_BASIS,
        )

    @staticmethod
    def _side(side: Side, out: AnalysisOut, an: PortfolioAnalysis) -> SideOut:
        return SideOut(
            kind=MODEL if side.portfolio_id is None else "portfolio",
            portfolio_id=side.portfolio_id,
            name=out.name,
            prices_as_of=out.prices_as_of,
            total_value=float(an.total_value),
            cash_weight=an.cash_weight,
            momentum_score=an.momentum_score,
        )

    # ------------------------------------------------------------------ correlation

    def correlation(
        self,
        user_id: int | None,
        portfolio_id: int | None,
        start: dt.date | None,
        end: dt.date | None,
    ) -> CorrelationOut:
        """Pearson correlation of the holdings' daily returns (adjusted closes) over the
        window (default: one year up to the newest stored day), the average pair and the
        diversification ratio with today's values as weights."""
        check_period(start, end)
        side = Side(portfolio_id)
        out = self._analysis(user_id, side)
        book = self.quotes.require_book()
        if start is None:
            start = self._default_start(None, Side(None), book, end)
        dates = trading_dates(book, start, end)
        if len(dates) == 0:
            raise InvalidInput(
                f"the price store has no trading days between {start} and {end or 'its end'}",
                {"field": "start", "rule": STORED_DAYS.rule},
            )
        values = {h.ticker: h.value for h in out.analysis.holdings}
        left_out: dict[str, str] = {}
        columns: dict[str, pd.Series] = {}
        for ticker in sorted(values):
            stored = book.resolve(ticker)
            if stored is None:
                left_out[ticker] = "no prices stored"
                continue
            columns[ticker] = book.panel.close[stored].reindex(dates)
        adj = pd.DataFrame(columns, index=dates, dtype="float64")
        weights = {
            t: float(v) for t, v in values.items() if t in columns and v is not None and v > 0
        }
        for t in columns:
            if t not in weights:
                left_out.setdefault(t, "no value today (unpriced, no cost): no weight")
        cm = correlation_matrix(adj, self.min_observations)
        dr = diversification_ratio(adj, weights, self.min_observations)
        return CorrelationOut(
            portfolio_id=portfolio_id,
            name=out.name,
            start=dates[0].date(),
            end=dates[-1].date(),
            days=len(dates),
            price_basis="adj_close",
            min_observations=cm.min_observations,
            tickers=list(cm.tickers),
            matrix=_rows(cm.matrix),
            observations=cm.observations.astype(int).values.tolist(),
            pairs=[
                PairOut(
                    a=p.a,
                    b=p.b,
                    correlation=p.correlation,
                    observations=p.observations,
                    reason=p.reason,
                )
                for p in cm.pairs
            ],
            average_correlation=cm.average,
            pairs_defined=cm.pairs_defined,
            pairs_undefined=cm.pairs_undefined,
            returns_per_ticker=dict(cm.returns_per_ticker),
            diversification_ratio=DiversificationRatioOut(
                ratio=dr.ratio,
                weighted_volatility=dr.weighted_volatility,
                portfolio_volatility=dr.portfolio_volatility,
                observations=dr.observations,
                weights=dict(dr.weights),
                left_out=dict(dr.left_out),
                reason=dr.reason,
            ),
            left_out=[LeftOutHolding(ticker=t, reason=why) for t, why in sorted(left_out.items())],
            weights_from="today's values of the holdings (market value, or cost when unpriced)",
            data_version=book.data_version,
        )


def _rows(matrix: pd.DataFrame) -> list[list[float | None]]:
    return [[None if pd.isna(x) else float(x) for x in row] for row in matrix.to_numpy().tolist()]
