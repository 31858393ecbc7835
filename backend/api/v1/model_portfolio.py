"""The built-in model portfolio (docs/model-portfolio.md): analysis, rebalance and performance,
and the analysis of holdings given in a request (nothing stored)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query

from backend.api.deps import PortfolioViewsDep
from backend.api.errors import beyond_schema, error_responses
from backend.auth.ratelimit import RateLimit
from backend.errors import START_NOT_AFTER_END, InvalidInput, Rule
from backend.portfolios import decimals
from backend.portfolios.categories import LISTED_ONCE
from backend.portfolios.performance_inputs import STORED_DAYS
from backend.portfolios.quotes import STORED_PRICES
from backend.portfolios.schemas import AnalysisOut, AnalyzeRequest, PerformanceOut, RebalanceOut
from backend.reference.benchmarks import EQUITY_BENCHMARK
from backend.reference.tickers import TICKER_PATTERN, TICKER_RULE, normalize_ticker
from backend.validation import NUMBER_TEXT, IsoDate

router = APIRouter(prefix="/portfolio", tags=["model portfolio"])

_EXPENSIVE = RateLimit("model-views", "rate_limit_expensive")
# A malformed URL or query 422 (and an empty price store), the database 503.
_LIMITED = error_responses(422, 429, 503)
# The rebalance parameters (this plan and a user portfolio's).
NewCash = Annotated[float, Query(ge=0, le=1e12, description="New money to invest"), NUMBER_TEXT]
MinTrade = Annotated[float, Query(ge=0, le=1e12, description="Smallest trade amount"), NUMBER_TEXT]
COST_OF_A_HOLDING = Rule(
    "invalid_input", "a ticker of holdings", "each ticker of cost_basis must be one of holdings"
)


@router.get("/analysis", response_model=AnalysisOut, responses=error_responses(422, 503))
def model_analysis(views: PortfolioViewsDep) -> AnalysisOut:
    """The model portfolio against the category targets, with current prices and scores.
    It has shares but no cost basis: a holding without a stored price cannot be valued, and
    is listed (`unvalued`) instead of counting as 0."""
    return views.model_analysis()


def _bounded(value: Decimal, field: str, positive: bool) -> Decimal:
    """`value` within the ledger's input bounds (so every product with a price is finite)."""
    try:
        decimals.check_input(value)
    except decimals.DecimalRuleError as exc:
        raise InvalidInput(f"{field}: {exc.message}", {"field": field, "rule": exc.rule}) from None
    if value < 0 or (positive and value == 0):
        rule = "gt_0" if positive else "ge_0"
        raise InvalidInput(
            f"{field} must be a number {'above' if positive else 'of at least'} 0, "
            f"not {decimals.text(value)}",
            {"field": field, "rule": rule},
        )
    return value


def _holdings(body: AnalyzeRequest) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    shares: dict[str, Decimal] = {}
    for raw, count in body.holdings.items():
        ticker = normalize_ticker(raw)
        if ticker is None:
            raise InvalidInput(
                f"ticker {raw!r} is malformed: it must be {TICKER_RULE}",
                {"field": f"holdings.{raw}", "rule": TICKER_RULE},
            )
        if ticker in shares:
            raise InvalidInput(
                f"{ticker} is given twice",
                {"field": f"holdings.{raw}", "rule": LISTED_ONCE.rule},
            )
        shares[ticker] = _bounded(count, f"holdings.{raw}", positive=True)
    cost: dict[str, Decimal] = {}
    for raw, value in (body.cost_basis or {}).items():
        ticker = normalize_ticker(raw)
        if ticker is None or ticker not in shares:
            raise InvalidInput(
                f"cost_basis names {raw!r}, which is not in holdings",
                {"field": f"cost_basis.{raw}", "rule": COST_OF_A_HOLDING.rule},
            )
        cost[ticker] = _bounded(value, f"cost_basis.{raw}", positive=False)
    return shares, cost


@router.post(
    "/analyze",
    response_model=AnalysisOut,
    dependencies=[_EXPENSIVE],
    responses=error_responses(413, 422, 429, 503),
    openapi_extra=beyond_schema(LISTED_ONCE, COST_OF_A_HOLDING),
)
def analyze(body: AnalyzeRequest, views: PortfolioViewsDep) -> AnalysisOut:
    """Analyse the holdings in the body (`{"holdings": {"NVDA": 7}}`, 1 to 1,000 positions)
    like a portfolio, without storing anything."""
    shares, cost = _holdings(body)
    cash = _bounded(body.cash, "cash", positive=False)
    return views.request_analysis(shares, cost, cash)


@router.get(
    "/rebalance", response_model=RebalanceOut, dependencies=[_EXPENSIVE], responses=_LIMITED
)
def model_rebalance(
    views: PortfolioViewsDep,
    cash: NewCash = 0.0,
    min_trade: MinTrade = 0.0,
) -> RebalanceOut:
    """Whole-share trades that bring the model portfolio toward its targets (plus `cash`)."""
    return views.model_rebalance(cash, min_trade)


@router.get(
    "/performance",
    response_model=PerformanceOut,
    dependencies=[_EXPENSIVE],
    responses=_LIMITED,
    openapi_extra=beyond_schema(START_NOT_AFTER_END, STORED_DAYS, STORED_PRICES),
)
def model_performance(
    views: PortfolioViewsDep,
    start: Annotated[
        IsoDate | None, Query(description="Default: one year before the newest stored day")
    ] = None,
    end: Annotated[IsoDate | None, Query(description="Default: the newest stored day")] = None,
    benchmark: Annotated[str, Query(pattern=TICKER_PATTERN)] = EQUITY_BENCHMARK,
) -> PerformanceOut:
    """The model holdings held over the period (no cash): value series, time-weighted return,
    benchmark return, maximum drawdown, annualised volatility. The holdings are today's
    share counts; valued at closes as traded, each day holds them before the splits that came
    after it (AAPL 4 today was 1 before its 4-for-1 on 2020-08-31), so a split is no loss.
    Holdings without any stored price are left out and named in `notes`."""
    return views.model_performance(start, end, benchmark.upper())
