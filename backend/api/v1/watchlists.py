"""Watchlists: the momentum watchlist per category (anyone; a user's own portfolio with a
token) and a user's named watchlists (a token; another user's list answers 404 exactly like a
missing one)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from backend.api.deps import CurrentUser, MomentumWatchlistDep, OptionalUser, WatchlistsDep
from backend.api.errors import beyond_schema, error_responses
from backend.auth.ratelimit import RateLimit
from backend.errors import Unauthorized
from backend.portfolios.quotes import STORED_PRICES
from backend.portfolios.watchlist_schemas import (
    FillResult,
    MomentumWatchlistOut,
    WatchlistDetail,
    WatchlistName,
    WatchlistOut,
    WatchlistTickerIn,
)
from backend.portfolios.watchlists import MAX_LISTS, MAX_TICKERS, NAME_LENGTH, STORED_TICKER
from backend.reference.tickers import TICKER_PATTERN
from backend.validation import INT_TEXT, NUMBER_TEXT

router = APIRouter(tags=["watchlists"])

_EXPENSIVE = RateLimit("watchlist-views", "rate_limit_expensive")
PortfolioQuery = Annotated[
    int | None,
    Query(
        ge=1,
        le=2**31 - 1,
        description="One of your portfolios (needs your token); default: the model portfolio",
    ),
    INT_TEXT,
]
WatchlistId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Watchlist id"), INT_TEXT]
TickerPath = Annotated[str, Path(pattern=TICKER_PATTERN, description="Ticker or an alias")]
# Every named-list route: no/bad token 401, the admin token 403, a malformed URL 422, the
# database 503.
_USER = (401, 403, 422, 503)
_ONE = error_responses(*_USER, 404)


@router.get(
    "/watchlist",
    response_model=MomentumWatchlistOut,
    dependencies=[_EXPENSIVE],
    responses=error_responses(401, 403, 404, 422, 429, 503),
    openapi_extra=beyond_schema(STORED_PRICES),
)
def momentum_watchlist(
    user: OptionalUser,
    service: MomentumWatchlistDep,
    min_score: Annotated[
        float, Query(ge=0, le=100, description="Lowest score of a candidate"), NUMBER_TEXT
    ] = 70.0,
    portfolio_id: PortfolioQuery = None,
) -> MomentumWatchlistOut:
    """For each category: its members the portfolio does not hold that score at least
    `min_score`, strongest first (at most WATCHLIST_MAX_PER_CATEGORY), each with its rating,
    percentile and 20-day score change; and the category's target, current weight,
    allocation gap (target − weight) and priority (high: gap > 2 points, medium: > 0,
    low: otherwise)."""
    if portfolio_id is not None and user is None:
        raise Unauthorized(
            "portfolio_id names one of your portfolios: send 'Authorization: Bearer <access "
            "token>' (POST /api/v1/auth/login), or leave it out for the model portfolio",
            {"reason": "missing_token"},
        )
    return service.watchlist(None if user is None else user.id, portfolio_id, min_score)


@router.get("/watchlists", response_model=list[WatchlistOut], responses=error_responses(*_USER))
def list_watchlists(user: CurrentUser, service: WatchlistsDep) -> list[WatchlistOut]:
    """Your watchlists (only yours)."""
    return service.list_watchlists(user.id)


@router.post(
    "/watchlists",
    response_model=WatchlistOut,
    status_code=201,
    responses=error_responses(*_USER, 409, 413),
    openapi_extra=beyond_schema(NAME_LENGTH, MAX_LISTS),
)
def create_watchlist(
    body: WatchlistName, user: CurrentUser, service: WatchlistsDep
) -> WatchlistOut:
    """A new, empty watchlist; 409 when you already have one of that name."""
    return service.create(user.id, body.name)


@router.get("/watchlists/{watchlist_id}", response_model=WatchlistDetail, responses=_ONE)
def get_watchlist(
    watchlist_id: WatchlistId, user: CurrentUser, service: WatchlistsDep
) -> WatchlistDetail:
    """The watchlist with each ticker's score, rating and percentile now, its score when it
    was added, and the change since."""
    return service.detail(user.id, watchlist_id)


@router.patch(
    "/watchlists/{watchlist_id}",
    response_model=WatchlistOut,
    responses=error_responses(*_USER, 404, 409, 413),
    openapi_extra=beyond_schema(NAME_LENGTH),
)
def rename_watchlist(
    watchlist_id: WatchlistId, body: WatchlistName, user: CurrentUser, service: WatchlistsDep
) -> WatchlistOut:
    return service.rename(user.id, watchlist_id, body.name)


@router.delete("/watchlists/{watchlist_id}", status_code=204, responses=_ONE)
def delete_watchlist(
    watchlist_id: WatchlistId, user: CurrentUser, service: WatchlistsDep
) -> Response:
    """Delete the watchlist and its tickers."""
    service.delete(user.id, watchlist_id)
    return Response(status_code=204)


@router.post(
    "/watchlists/{watchlist_id}/tickers",
    response_model=WatchlistDetail,
    status_code=201,
    responses=error_responses(*_USER, 404, 409, 413),
    openapi_extra=beyond_schema(STORED_TICKER, MAX_TICKERS, STORED_PRICES),
)
def add_ticker(
    watchlist_id: WatchlistId, body: WatchlistTickerIn, user: CurrentUser, service: WatchlistsDep
) -> WatchlistDetail:
    """Add a ticker the price store holds (an alias is stored as the ticker it names), with
    its score now; 409 when it is already in the list."""
    return service.add(user.id, watchlist_id, body.ticker)


@router.delete("/watchlists/{watchlist_id}/tickers/{ticker}", status_code=204, responses=_ONE)
def remove_ticker(
    watchlist_id: WatchlistId, ticker: TickerPath, user: CurrentUser, service: WatchlistsDep
) -> Response:
    """Remove a ticker (by its name or an alias); 404 when it is not in the list."""
    service.remove(user.id, watchlist_id, ticker)
    return Response(status_code=204)


@router.post(
    "/watchlists/{watchlist_id}/fill",
    response_model=FillResult,
    dependencies=[_EXPENSIVE],
    responses=error_responses(*_USER, 404, 429),
    openapi_extra=beyond_schema(MAX_TICKERS, STORED_PRICES),
)
def fill_watchlist(
    watchlist_id: WatchlistId,
    user: CurrentUser,
    service: WatchlistsDep,
    category: Annotated[
        str, Query(min_length=1, max_length=100, description="Category slug or name")
    ],
    portfolio_id: PortfolioQuery = None,
) -> FillResult:
    """Add the category's members that the portfolio (yours, or the model portfolio) does
    not hold; members without stored prices, held, or already listed are skipped, each with
    why. All or nothing: past WATCHLIST_MAX_TICKERS nothing is added."""
    return service.fill(user.id, watchlist_id, category, portfolio_id)
