"""Momentum endpoints: validate, call the service, return its model.

Answers are cached (backend/cache): keyed on the ticker, parameters, model version and the
store's data version, computed once under concurrency; `X-Cache` says hit or miss. The data
version is read once per request (backend/cache/request.py) and given to the services."""

from __future__ import annotations

from typing import Annotated, Awaitable, Callable

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import AfterValidator
from starlette.concurrency import run_in_threadpool

from backend.api.deps import (
    AnswersDep,
    CacheDep,
    MomentumDep,
    get_answers,
    get_cache,
    get_model_scores,
)
from backend.api.errors import beyond_schema, error_responses
from backend.api.score_cache import ScoreCache
from backend.api.v1.params import ModelParam, Universe
from backend.cache.request import RequestReads, request_reads
from backend.errors import NO_DATA, START_NOT_AFTER_END, AppError, InvalidInput
from backend.market_data.on_demand import OnDemandFetcher
from backend.momentum.dates import FUTURE_RULE, NOT_IN_FUTURE, not_in_future
from backend.momentum.schemas import BatchEntry, BatchError, BatchRequest
from backend.momentum.service import MomentumService, NotStored
from backend.momentum.universes import ALL, UNIVERSE_MEMBER
from backend.reference.tickers import TICKER_PATTERN, TICKER_RULE, normalize_ticker
from backend.research.answers import Answer
from backend.research.models import DEFAULT_MODEL, get_model
from backend.research.schemas import (
    BatchAnswer,
    BreakdownAnswer,
    HistoryAnswer,
    ScoreAnswer,
    TopAnswer,
)
from backend.validation import INT_TEXT, IsoDate

router = APIRouter(prefix="/momentum", tags=["momentum"])

Ticker = Annotated[
    str, Path(pattern=TICKER_PATTERN, description=f"Ticker symbol: {TICKER_RULE}; any case")
]
AsOf = Annotated[
    IsoDate | None,
    Query(
        description="Score as of this date (YYYY-MM-DD): the last close on or before it; "
        f"{FUTURE_RULE}"
    ),
    AfterValidator(not_in_future),
]
Start = Annotated[
    IsoDate | None,
    Query(description=f"First date (YYYY-MM-DD); {FUTURE_RULE}"),
    AfterValidator(not_in_future),
]
End = Annotated[
    IsoDate | None,
    Query(description=f"Last date (YYYY-MM-DD); {FUTURE_RULE}"),
    AfterValidator(not_in_future),
]
# The bound the schema declares; TOP_LIMIT_MAX may set a lower one.
TOP_LIMIT_CEILING = 10_000


def _json(body: bytes, cache_status: str) -> Response:
    return Response(body, media_type="application/json", headers={"X-Cache": cache_status})


def _client(request: Request) -> str | None:
    return request.client.host if request.client is not None else None


def _fetcher(request: Request) -> OnDemandFetcher:
    fetcher: OnDemandFetcher = request.app.state.on_demand
    return fetcher


async def _fetching(request: Request, answer: Callable[[], Awaitable[Response]]) -> Response:
    """`answer()`; when its ticker is not stored, ask the live provider for it (within the
    on-demand limits: backend/market_data/on_demand.py) and answer again."""
    try:
        return await answer()
    except NotStored as exc:
        await _fetcher(request).obtain(exc.ticker, _client(request), request.app.state.rate_limits)
    request_reads(request.scope).forget()  # the fetch wrote bars: the version has moved
    return await answer()


async def _fetch_unstored(
    request: Request,
    cache: ScoreCache,
    reads: RequestReads,
    service: MomentumService,
    tickers: list[str],
) -> dict[str, AppError]:
    """Ask the provider for the tickers of a batch the store does not hold (at most
    ON_DEMAND_BATCH_MAX_FETCHES of them); the error of each still not stored."""
    candidates = service.maybe_unstored(tickers)
    if not candidates:  # all in the score book in memory: no database read
        return {}
    version = await cache.version_of(reads)
    unknown = await run_in_threadpool(service.unstored, candidates, version)
    if not unknown:
        return {}
    fetcher = _fetcher(request)
    errors = await fetcher.obtain_many(
        unknown, _client(request), request.app.state.rate_limits, fetcher.batch_max_fetches
    )
    reads.forget()  # the fetches may have written bars: the version may have moved
    return errors


def _error_entry(ticker: str, exc: AppError) -> BatchEntry:
    return BatchEntry(
        ticker=ticker, error=BatchError(code=exc.code, message=exc.message, details=exc.details)
    )


async def _answer(cache: ScoreCache, request: Request, answer: Answer) -> Response:
    """The answer for the request's data version, from the cache or computed once."""
    reads = request_reads(request.scope)
    version = await cache.version_of(reads)
    body, hit = await cache.cached(answer.key(version), lambda: answer.compute(version), reads)
    return _json(body, "hit" if hit else "miss")


# What a route that may ask the live provider for its ticker can answer besides 200.
FETCHING_ERRORS = error_responses(404, 422, 429, 503)


@router.get(
    "/top",
    response_model=TopAnswer,
    responses=error_responses(404, 422, 503),
    openapi_extra=beyond_schema(NOT_IN_FUTURE, NO_DATA),
)
async def top_scores(
    answers: AnswersDep,
    cache: CacheDep,
    request: Request,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=TOP_LIMIT_CEILING,
            description="How many scores, highest first (TOP_LIMIT_MAX at most; a limit above "
            "the universe's size answers all of it)",
        ),
        INT_TEXT,
    ] = 10,
    universe: Universe = ALL,
    as_of: AsOf = None,
    model: ModelParam = DEFAULT_MODEL,
) -> Response:
    """The strongest scores of a universe on its latest scored date (or as of a date).
    Nothing is asked of the live provider: members without prices are left out."""
    most = request.app.state.settings.top_limit_max
    if limit > most:
        raise InvalidInput(
            f"limit {limit} is above the maximum of {most} (TOP_LIMIT_MAX)",
            {"field": "limit", "value": limit, "rule": f"1 to {most}"},
        )
    return await _answer(cache, request, answers.top(model, limit, universe, as_of))


@router.post(
    "/batch",
    response_model=BatchAnswer,
    responses=error_responses(413, 422, 503),
    openapi_extra=beyond_schema(NOT_IN_FUTURE),
)
async def batch_scores(
    body: BatchRequest,
    service: MomentumDep,
    cache: CacheDep,
    request: Request,
    as_of: AsOf = None,
    model: ModelParam = DEFAULT_MODEL,
) -> Response:
    """Scores for 1 to 500 tickers; a bad ticker gets its own error, never failing the batch.
    Tickers the store does not hold are asked of the live provider, at most
    ON_DEMAND_BATCH_MAX_FETCHES of them (the others' entries say so)."""
    get_model(model)  # an unknown model is refused before any ticker is fetched
    valid: list[str] = []
    errors: dict[int, BatchEntry] = {}
    for i, raw in enumerate(body.tickers):
        ticker = normalize_ticker(raw)
        if ticker is None:
            errors[i] = BatchEntry(
                ticker=raw,
                error=BatchError(
                    code="invalid_input",
                    message=f"ticker {raw!r} is malformed: it must be {TICKER_RULE}",
                    details={"field": f"tickers.{i}", "rule": TICKER_RULE},
                ),
            )
        else:
            valid.append(ticker)
    reads = request_reads(request.scope)
    fetch_errors = await _fetch_unstored(request, cache, reads, service, valid)
    version = await cache.version_of(reads)
    if model != DEFAULT_MODEL:
        malformed = {
            i: (e.ticker, e.error.message, e.error.details) for i, e in errors.items() if e.error
        }
        answer = await run_in_threadpool(
            (await get_model_scores(request)).batch_in_order,
            model,
            len(body.tickers),
            valid,
            malformed,
            as_of,
            version,
        )
        return Response(answer.model_dump_json(), media_type="application/json")
    scored, hits, misses = await cache.batch_entries(
        version,
        [t for t in valid if t not in fetch_errors],
        as_of,
        lambda tickers: service.batch(tickers, as_of, version),
    )
    entries = iter(scored)
    tickers = iter(valid)
    results = []
    for i in range(len(body.tickers)):
        if i in errors:
            results.append((errors[i].model_dump_json().encode(), False))
            continue
        ticker = next(tickers)
        if ticker in fetch_errors:
            entry = _error_entry(ticker, fetch_errors[ticker])
            results.append((entry.model_dump_json().encode(), False))
        else:
            results.append(next(entries))
    ok = sum(1 for _, has_score in results if has_score)
    payload = b'{"count":%d,"succeeded":%d,"failed":%d,"results":[%s]}' % (
        len(results),
        ok,
        len(results) - ok,
        b",".join(entry for entry, _ in results),
    )
    return _json(payload, f"hits={hits} misses={misses}")


@router.get(
    "/{ticker}",
    response_model=ScoreAnswer,
    responses=FETCHING_ERRORS,
    openapi_extra=beyond_schema(NOT_IN_FUTURE, NO_DATA, UNIVERSE_MEMBER),
)
async def momentum_score(
    ticker: Ticker,
    request: Request,
    as_of: AsOf = None,
    universe: Universe = ALL,
    model: ModelParam = DEFAULT_MODEL,
) -> Response:
    """The momentum score of one ticker (latest, or as of a past date)."""
    # The hottest route: the cache and the answers are taken from the app directly, since
    # FastAPI's resolution of two dependencies costs about as much as a cache hit itself.
    cache, answers = await get_cache(request), await get_answers(request)
    answer = answers.score(model, ticker.upper(), as_of, universe)
    return await _fetching(request, lambda: _answer(cache, request, answer))


@router.get(
    "/{ticker}/breakdown",
    response_model=BreakdownAnswer,
    responses=FETCHING_ERRORS,
    openapi_extra=beyond_schema(NOT_IN_FUTURE, NO_DATA),
)
async def momentum_breakdown(
    ticker: Ticker,
    answers: AnswersDep,
    cache: CacheDep,
    request: Request,
    as_of: AsOf = None,
    model: ModelParam = DEFAULT_MODEL,
) -> Response:
    """Every intermediate of the model behind a score (another model: its score with its
    signals, ranked in universe `all`)."""
    answer = answers.breakdown(model, ticker.upper(), as_of)
    return await _fetching(request, lambda: _answer(cache, request, answer))


@router.get(
    "/{ticker}/history",
    response_model=HistoryAnswer,
    responses=FETCHING_ERRORS,
    openapi_extra=beyond_schema(NOT_IN_FUTURE, START_NOT_AFTER_END, NO_DATA, UNIVERSE_MEMBER),
)
async def momentum_history(
    ticker: Ticker,
    answers: AnswersDep,
    cache: CacheDep,
    request: Request,
    start: Start = None,
    end: End = None,
    universe: Universe = ALL,
    model: ModelParam = DEFAULT_MODEL,
) -> Response:
    """The daily score series of one ticker."""
    answer = answers.history(model, ticker.upper(), start, end, universe)
    return await _fetching(request, lambda: _answer(cache, request, answer))
