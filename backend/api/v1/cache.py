"""Cache operations: statistics, warmup, and clearing this service's keys (admin)."""

from __future__ import annotations

import re
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from backend.api.deps import AdminUser, CacheDep, MomentumDep, SettingsDep
from backend.api.errors import error_responses
from backend.cache.base import PATTERN_RE, PATTERN_RULE
from backend.errors import InvalidInput
from backend.market_data.store import PriceStore
from backend.momentum.engine import MODEL_VERSION
from backend.momentum.schemas import BatchError
from backend.momentum.warmup import default_warmup_tickers
from backend.reference.tickers import TICKER_CHARS, TICKER_RULE, normalize_ticker
from backend.validation import comma_list_pattern

router = APIRouter(prefix="/cache", tags=["cache"])

MAX_WARMUP_TICKERS = 500
# What ?tickers= takes, declared as the schema's pattern and checked by `_warmup_tickers`.
WARMUP_PATTERN = comma_list_pattern(TICKER_CHARS, MAX_WARMUP_TICKERS)
WARMUP_RULE = (
    f"1 to {MAX_WARMUP_TICKERS} tickers ({TICKER_RULE}) separated by commas, spaces around "
    "them allowed"
)


class CacheStats(BaseModel):
    backend: str = Field(description="redis or memory")
    reachable: bool = Field(
        description="false while Redis is down (answers are then served "
        "from the in-process cache or computed)"
    )
    key_prefix: str = Field(description="every key of this service starts with '<prefix>:'")
    keys: int | None = Field(description="keys under the prefix (null when unreachable)")
    hits: int = Field(description="lookups answered from the cache, by this process")
    misses: int = Field(description="lookups that had to compute, by this process")
    hit_ratio: float | None = Field(description="hits / (hits + misses); null before any lookup")
    computations: int = Field(description="scores computed by this process")
    memory_used_bytes: int | None = Field(
        description="Redis: used_memory from INFO (the whole server); memory: bytes of cached "
        "answers"
    )
    ttl_seconds: dict[str, float] = Field(description="TTLs in force")
    data_version: int = Field(description="the price store's data version the keys carry")
    model_version: str
    error: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class WarmupFailure(BaseModel):
    ticker: str
    error: BatchError


class WarmupResponse(BaseModel):
    requested: int
    warmed: list[str]
    failed: list[WarmupFailure]
    data_version: int
    duration_ms: float


class ClearResponse(BaseModel):
    pattern: str = Field(description="the glob matched, prefix included")
    deleted: int


@router.get("/stats", response_model=CacheStats, responses=error_responses(503))
async def cache_stats(cache: CacheDep, settings: SettingsDep) -> CacheStats:
    """Backend, reachability, keys, hits and misses, memory used and TTLs in force."""
    stats = await cache.stats()
    ttl = stats.pop("ttl_seconds")
    return CacheStats(
        **stats,
        ttl_seconds={
            "entries": ttl,
            "refresh_lock": float(settings.refresh_lock_ttl_seconds),
        },
        data_version=await cache.data_version(),
        model_version=MODEL_VERSION,
    )


def _warmup_tickers(raw: str | None, default: str, store: PriceStore) -> list[str]:
    source = raw if raw is not None else default
    if raw is None and not default:
        return default_warmup_tickers(store.categories.current())
    parts = [p.strip() for p in source.split(",") if p.strip()]
    if not parts:
        raise InvalidInput(
            "tickers is empty: give a comma-separated list, or leave it out for the default",
            {"field": "tickers", "rule": "at least one ticker"},
        )
    out: list[str] = []
    for part in parts:
        ticker = normalize_ticker(part)
        if ticker is None:
            raise InvalidInput(
                f"ticker {part!r} is malformed: it must be {TICKER_RULE}",
                {"field": "tickers", "value": part, "rule": TICKER_RULE},
            )
        if ticker not in out:
            out.append(ticker)
    if len(parts) > MAX_WARMUP_TICKERS:
        raise InvalidInput(
            f"{len(parts)} tickers: a warmup takes at most {MAX_WARMUP_TICKERS}",
            {"field": "tickers", "rule": WARMUP_RULE},
        )
    if raw is not None and not re.fullmatch(WARMUP_PATTERN, raw):
        raise InvalidInput(
            f"tickers must be {WARMUP_RULE}", {"field": "tickers", "rule": WARMUP_RULE}
        )
    return out


@router.post(
    "/warmup", response_model=WarmupResponse, responses=error_responses(401, 403, 422, 503)
)
async def cache_warmup(
    cache: CacheDep,
    service: MomentumDep,
    settings: SettingsDep,
    request: Request,
    _: AdminUser,
    tickers: Annotated[
        str | None,
        Query(
            description=f"{WARMUP_RULE}; default: the model portfolio and the benchmarks (or "
            "CACHE_WARMUP_TICKERS)",
            json_schema_extra={"pattern": WARMUP_PATTERN},
        ),
    ] = None,
) -> WarmupResponse:
    """Compute the latest scores of these tickers and store them; per-ticker failures (no
    prices, too little history) are listed, not raised. Tickers the store does not hold are
    asked of the live provider (ON_DEMAND_WORKERS at a time, each within
    ON_DEMAND_DEADLINE_SECONDS). Needs the admin token: `Authorization: Bearer <ADMIN_TOKEN>`."""
    wanted = await run_in_threadpool(
        _warmup_tickers, tickers, settings.cache_warmup_tickers, service.store
    )
    started = time.perf_counter()
    unknown = await run_in_threadpool(service.unstored, wanted)
    fetch_errors = await request.app.state.on_demand.obtain_many(unknown, None, None, None)
    result = await cache.warm([t for t in wanted if t not in fetch_errors], service.batch)
    failures = {f.ticker: f.error for f in result.failed if f.error is not None}
    for ticker, exc in fetch_errors.items():
        failures[ticker] = BatchError(code=exc.code, message=exc.message, details=exc.details)
    return WarmupResponse(
        requested=len(wanted),
        warmed=result.warmed,
        failed=[WarmupFailure(ticker=t, error=failures[t]) for t in wanted if t in failures],
        data_version=result.data_version,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
    )


@router.delete(
    "/clear", response_model=ClearResponse, responses=error_responses(401, 403, 422, 503)
)
async def cache_clear(
    cache: CacheDep,
    _: AdminUser,
    pattern: Annotated[
        str,
        Query(
            description="Glob under this service's key prefix, e.g. 'score:*:AAPL:*' "
            f"({PATTERN_RULE}); default '*': all of this service's keys",
            json_schema_extra={"pattern": PATTERN_RE.pattern},
        ),
    ] = "*",
) -> ClearResponse:
    """Delete this service's keys matching `pattern` (its key prefix only; never FLUSHALL).
    Needs the admin token: `Authorization: Bearer <ADMIN_TOKEN>`."""
    if not PATTERN_RE.fullmatch(pattern):
        raise InvalidInput(
            f"pattern {pattern!r} is not allowed: it must be {PATTERN_RULE}",
            {"field": "pattern", "value": pattern, "rule": PATTERN_RULE},
        )
    deleted = await cache.clear(pattern)
    return ClearResponse(pattern=f"{cache.backend.prefix}:{pattern}", deleted=deleted)
