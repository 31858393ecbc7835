"""Two portfolios side by side (yours or the model), and the correlation of a portfolio's
holdings. Included before the portfolios router, so `/portfolios/compare` is this route and
never `/portfolios/{portfolio_id}` with a malformed id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from backend.api.deps import AnalyticsDep, CurrentUser, OptionalUser
from backend.api.errors import beyond_schema, error_responses
from backend.api.v1.portfolios import PortfolioId
from backend.auth.ratelimit import RateLimit
from backend.errors import START_NOT_AFTER_END
from backend.portfolios.comparison import SIDE_PATTERN, SIDE_RULE
from backend.portfolios.comparison_schemas import CompareOut, CorrelationOut
from backend.portfolios.performance_inputs import STORED_DAYS
from backend.portfolios.quotes import STORED_PRICES
from backend.reference.benchmarks import EQUITY_BENCHMARK
from backend.reference.tickers import TICKER_PATTERN
from backend.validation import IsoDate

router = APIRouter(tags=["portfolios"])

_EXPENSIVE = RateLimit("portfolio-analytics", "rate_limit_expensive")
Side = Annotated[
    str,
    Query(pattern=SIDE_PATTERN, description=f"{SIDE_RULE} (another user's id: 404)"),
]
Start = Annotated[
    IsoDate | None, Query(description="Default: one year before the end (YYYY-MM-DD)")
]
End = Annotated[IsoDate | None, Query(description="Default: the newest stored day")]
_CORRELATION_RULES = beyond_schema(START_NOT_AFTER_END, STORED_DAYS, STORED_PRICES)


@router.get(
    "/portfolios/compare",
    response_model=CompareOut,
    dependencies=[_EXPENSIVE],
    responses=error_responses(401, 403, 404, 422, 429, 503),
    # The token is optional (`{}`: anonymous allowed): the model alone needs no login.
    openapi_extra={
        **beyond_schema(START_NOT_AFTER_END, STORED_PRICES),
        "security": [{}, {"HTTPBearer": []}],
    },
)
def compare_portfolios(
    a: Side,
    b: Side,
    user: OptionalUser,
    service: AnalyticsDep,
    start: Annotated[
        IsoDate | None,
        Query(
            description="Default: the later of the two sides' own starts (a portfolio's first "
            "transaction; the model's one year before the end)"
        ),
    ] = None,
    end: End = None,
    benchmark: Annotated[str, Query(pattern=TICKER_PATTERN)] = EQUITY_BENCHMARK,
) -> CompareOut:
    """`a` and `b` side by side: category allocations with the targets and gaps, every
    holding with both weights and its score, the performance of both over one common window,
    and diversification (top-5 concentration, Herfindahl index, sectors held, largest
    position). Only the model and your own portfolios: a portfolio id needs your access
    token (401 without), and another user's id is 404."""
    return service.compare(
        user.id if user is not None else None, a, b, start, end, benchmark.upper()
    )


@router.api_route(
    "/portfolios/compare", methods=["POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
)
def compare_other_methods() -> None:
    """405 with `Allow: GET`: without this route another method would reach
    `/portfolios/{portfolio_id}` and be refused as a malformed id (422)."""
    raise HTTPException(status_code=405, detail="Method Not Allowed")


@router.get(
    "/portfolios/{portfolio_id}/correlation",
    response_model=CorrelationOut,
    dependencies=[_EXPENSIVE],
    responses=error_responses(401, 403, 404, 422, 429, 503),
    openapi_extra=_CORRELATION_RULES,
)
def portfolio_correlation(
    portfolio_id: PortfolioId,
    user: CurrentUser,
    service: AnalyticsDep,
    start: Start = None,
    end: End = None,
) -> CorrelationOut:
    """Pearson correlation of the open holdings' daily returns (adjusted closes) over the
    days both have (pairs with fewer than CORRELATION_MIN_OBSERVATIONS are null, with the
    reason), the average pairwise correlation and the diversification ratio."""
    return service.correlation(user.id, portfolio_id, start, end)


@router.get(
    "/portfolio/correlation",
    response_model=CorrelationOut,
    dependencies=[_EXPENSIVE],
    responses=error_responses(422, 429, 503),
    openapi_extra=_CORRELATION_RULES,
    tags=["model portfolio"],
)
def model_correlation(
    service: AnalyticsDep, start: Start = None, end: End = None
) -> CorrelationOut:
    """The correlation of the model portfolio's holdings, as for a portfolio."""
    return service.correlation(None, None, start, end)
