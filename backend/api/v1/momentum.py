"""Momentum endpoints: validate, call the service, return its model.

Answers are cached (backend/cache): keyed on the ticker, parameters, model version and the
store's data version, computed once under concurrency; `X-Cache` says hit or miss."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Callable

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from backend.api.deps import CacheDep, MomentumDep, get_cache, get_momentum
from backend.api.v1.research import ModelParam, get_model_scores, serve_model, serve_model_batch
from backend.cache.keys import response_key, score_key
from backend.cache.service import ScoreCache
from backend.market_data.bars import TICKER_PATTERN, TICKER_RULE, normalize_ticker
from backend.momentum.schemas import BatchEntry, BatchError, BatchRequest
from backend.momentum.universes import ALL
from backend.research.models import DEFAULT_MODEL
from backend.research.schemas import (
    BatchAnswer,
    BreakdownAnswer,
    HistoryAnswer,
    ScoreAnswer,
    TopAnswer,
)
from backend.research.serving import ModelScores

router = APIRouter(prefix="/momentum", tags=["momentum"])

Ticker = Annotated[
    str, Path(pattern=TICKER_PATTERN, description=f"Ticker symbol: {TICKER_RULE}; any case")
]
AsOf = Annotated[
    dt.date | None,
    Query(description="Score as of this date (YYYY-MM-DD): the last close on or before it"),
]
Universe = Annotated[
    str, Query(description="all, model-portfolio, or a category slug (large-cap-anchors, ...)")
]


# The other models' scores are looked up only when `?model=` names one: as a (synchronous)
# dependency they would cost every request, cached hits included, a hop to a worker thread.


def _json(body: bytes, cache_status: str) -> Response:
    return Response(body, media_type="application/json", headers={"X-Cache": cache_status})


async def _answer(
    cache: ScoreCache,
    request: Request,
    model: str,
    model_kind: str,
    model_parts: tuple[object, ...],
    model_compute: Callable[[ModelScores], BaseModel],
    key: Callable[[int], str],
    compute: Callable[[], BaseModel],
) -> Response:
    """Another model's answer through `serve_model`, or the default model's from the cache
    under `key` (computed once on a miss)."""
    if model != DEFAULT_MODEL:
        return await serve_model(
            cache, model_kind, model, model_parts, lambda: model_compute(get_model_scores(request))
        )
    body, hit = await cache.cached(key, compute)
    return _json(body, "hit" if hit else "miss")


@router.get("/top", response_model=TopAnswer)
async def top_scores(
    service: MomentumDep,
    cache: CacheDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 10,
    universe: Universe = ALL,
    as_of: AsOf = None,
    model: ModelParam = DEFAULT_MODEL,
) -> Response:
    """The strongest scores of a universe on its latest scored date (or as of a date)."""
    return await _answer(
        cache,
        request,
        model,
        "top",
        (limit, universe, as_of),
        lambda scores: scores.top(model, limit, universe, as_of),
        lambda v: response_key("top", cache.tag, v, limit, universe, as_of),
        lambda: service.top(limit, universe, as_of),
    )


@router.post("/batch", response_model=BatchAnswer)
async def batch_scores(
    body: BatchRequest,
    service: MomentumDep,
    cache: CacheDep,
    request: Request,
    as_of: AsOf = None,
    model: ModelParam = DEFAULT_MODEL,
) -> Response:
    """Scores for 1 to 500 tickers; a bad ticker gets its own error, never failing the batch."""
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
    if model != DEFAULT_MODEL:
        malformed = {
            i: (e.ticker, e.error.message, e.error.details) for i, e in errors.items() if e.error
        }
        return await serve_model_batch(
            get_model_scores(request), model, len(body.tickers), valid, malformed, as_of
        )
    scored, hits, misses = await cache.batch_entries(
        valid, as_of, lambda tickers: service.batch(tickers, as_of)
    )
    entries = iter(scored)
    results = [
        (errors[i].model_dump_json().encode(), False) if i in errors else next(entries)
        for i in range(len(body.tickers))
    ]
    ok = sum(1 for _, has_score in results if has_score)
    payload = b'{"count":%d,"succeeded":%d,"failed":%d,"results":[%s]}' % (
        len(results),
        ok,
        len(results) - ok,
        b",".join(entry for entry, _ in results),
    )
    return _json(payload, f"hits={hits} misses={misses}")


@router.get("/{ticker}", response_model=ScoreAnswer)
async def momentum_score(
    ticker: Ticker,
    request: Request,
    as_of: AsOf = None,
    universe: Universe = ALL,
    model: ModelParam = DEFAULT_MODEL,
) -> Response:
    """The momentum score of one ticker (latest, or as of a past date)."""
    # The hottest route: the cache and the service are taken from the app directly, since
    # FastAPI's resolution of two dependencies costs about as much as a cache hit itself.
    cache, service = await get_cache(request), await get_momentum(request)
    symbol = ticker.upper()
    return await _answer(
        cache,
        request,
        model,
        "score",
        (symbol, as_of, universe),
        lambda scores: scores.score(model, symbol, as_of, universe),
        lambda v: score_key(cache.tag, v, symbol, as_of, universe),
        lambda: service.score(symbol, as_of, universe),
    )


@router.get("/{ticker}/breakdown", response_model=BreakdownAnswer)
async def momentum_breakdown(
    ticker: Ticker,
    service: MomentumDep,
    cache: CacheDep,
    request: Request,
    as_of: AsOf = None,
    model: ModelParam = DEFAULT_MODEL,
) -> Response:
    """Every intermediate of the model behind a score (another model: its score with its
    signals, ranked in universe `all`)."""
    symbol = ticker.upper()
    return await _answer(
        cache,
        request,
        model,
        "score",
        (symbol, as_of, ALL),
        lambda scores: scores.score(model, symbol, as_of, ALL),
        lambda v: response_key("breakdown", cache.tag, v, symbol, as_of),
        lambda: service.breakdown(symbol, as_of),
    )


@router.get("/{ticker}/history", response_model=HistoryAnswer)
async def momentum_history(
    ticker: Ticker,
    service: MomentumDep,
    cache: CacheDep,
    request: Request,
    start: Annotated[dt.date | None, Query(description="First date (YYYY-MM-DD)")] = None,
    end: Annotated[dt.date | None, Query(description="Last date (YYYY-MM-DD)")] = None,
    universe: Universe = ALL,
    model: ModelParam = DEFAULT_MODEL,
) -> Response:
    """The daily score series of one ticker."""
    symbol = ticker.upper()
    return await _answer(
        cache,
        request,
        model,
        "history",
        (symbol, start, end, universe),
        lambda scores: scores.history(model, symbol, start, end, universe),
        lambda v: response_key("history", cache.tag, v, symbol, start, end, universe),
        lambda: service.history(symbol, start, end, universe),
    )
