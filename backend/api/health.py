"""Operations endpoints: liveness, readiness (for load balancers and the Docker health check)
and Prometheus metrics."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import text

from backend import __version__
from backend.db.faults import EXPLANATIONS, database_unavailable
from backend.db.migrate import current_revision, head_revision, schema_verdict
from backend.market_data.store import PriceStore

router = APIRouter(tags=["operations"])
log = logging.getLogger("backend.health")

STARTED = time.monotonic()
# The database check runs here, not in the request thread pool: a pool full of requests stuck
# on a hung database must not delay the answer. A check that overruns is abandoned (its thread
# ends when the database answers or the statement limit closes the connection).
_CHECKS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="health-check")


class Liveness(BaseModel):
    status: str = Field(description="alive: the process serves requests")
    version: str
    uptime_seconds: float


class Check(BaseModel):
    ok: bool
    configured: bool = True
    latency_ms: float | None = None
    error: str | None = Field(
        None, description="What is wrong, in words (no host, port or driver text: see the log)"
    )
    details: dict[str, Any] = Field(default_factory=dict)


class Readiness(BaseModel):
    status: str = Field(description="ready, or not_ready (answered with 503)")
    checks: dict[str, Check]


@router.get("/health/live", response_model=Liveness)
async def live() -> Liveness:
    """The process is up and its event loop answers (no dependency is asked)."""
    return Liveness(
        status="alive", version=__version__, uptime_seconds=round(time.monotonic() - STARTED, 3)
    )


def _database_check(store: PriceStore) -> Check:
    head = head_revision()
    started = time.perf_counter()
    try:
        with store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            latency = round((time.perf_counter() - started) * 1000, 3)
            revision = current_revision(conn)
    except Exception as exc:  # unreachable, or no permission: not ready, and why
        unavailable = database_unavailable(exc, "readiness check")
        if unavailable is None:
            log.warning("readiness: database check failed", exc_info=exc)
            return Check(ok=False, error="the database check failed (see the log)")
        return Check(
            ok=False,
            error=f"the database is unavailable: {EXPLANATIONS[unavailable.reason]}",
            details={"reason": unavailable.reason},
        )
    migrated = revision == head or schema_verdict(store.engine).ok  # or compatibly ahead
    return Check(
        ok=migrated,
        latency_ms=latency,
        error=None if migrated else f"schema at revision {revision}, head is {head}",
        details={"revision": revision, "head": head},
    )


async def _bounded_database_check(store: PriceStore, seconds: float) -> Check:
    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(
            loop.run_in_executor(_CHECKS, _database_check, store), seconds
        )
    except asyncio.TimeoutError:
        log.warning("readiness: the database did not answer within %.1f s", seconds)
        return Check(
            ok=False,
            error=f"the database did not answer within {seconds:g} s",
            details={"reason": "timeout"},
        )


async def _redis_check(request: Request) -> Check:
    cache = getattr(request.app.state, "cache", None)
    backend = getattr(cache, "backend", None)
    if backend is None or backend.name != "redis":
        return Check(ok=True, configured=False)
    started = time.perf_counter()
    ok = await backend.ping()
    if ok:
        return Check(ok=True, latency_ms=round((time.perf_counter() - started) * 1000, 3))
    # The client's text names the host and port: the log has it, the answer only its kind.
    kind = (backend.last_error or "error").split(":", 1)[0]
    return Check(ok=False, error=f"Redis did not answer ({kind})")


async def _bounded_redis_check(request: Request, seconds: float) -> Check:
    try:
        return await asyncio.wait_for(_redis_check(request), seconds)
    except asyncio.TimeoutError:
        return Check(ok=False, error=f"Redis did not answer within {seconds:g} s")


def _scores_check(request: Request) -> Check:
    """Ready to serve scores: the first score book is computed (or the store is empty, so there
    is nothing to compute)."""
    momentum = request.app.state.momentum
    if momentum.has_book:
        return Check(ok=True)
    building = momentum.building_for()
    if building is not None:
        return Check(
            ok=False,
            error=f"the scores are being computed ({building:.1f} s so far)",
            details={"reason": "computing", "seconds": round(building, 1)},
        )
    if momentum.first_build_error is not None:
        return Check(
            ok=False,
            error="the scores could not be computed yet (see the log); the next request retries",
            details={"reason": "failed"},
        )
    if request.app.state.store_was_empty:
        return Check(ok=True, details={"reason": "empty store"})
    return Check(ok=False, error="the scores are not computed yet", details={"reason": "pending"})


@router.get(
    "/health/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A dependency is not ready"}},
)
async def ready(request: Request, response: Response) -> Readiness:
    """Ready when the database answers and is migrated to head, Redis answers when REDIS_URL is
    set, and the scores are computed (`scores`); 503 otherwise, naming what is not ready.
    Answers within HEALTH_CHECK_TIMEOUT_SECONDS whatever the database and Redis do."""
    # From the app's state, not through the (synchronous) dependencies: FastAPI would solve
    # those in the request thread pool, which a hung database may have filled.
    store: PriceStore = request.app.state.store
    seconds: float = request.app.state.settings.health_check_timeout_seconds
    database, redis = await asyncio.gather(
        _bounded_database_check(store, seconds), _bounded_redis_check(request, seconds)
    )
    checks = {"database": database, "redis": redis, "scores": _scores_check(request)}
    ok = all(c.ok for c in checks.values())
    if not ok:
        response.status_code = 503
    return Readiness(status="ready" if ok else "not_ready", checks=checks)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this process: requests and latency per route, cache hits and
    misses, score computations, refresh runs and failures."""
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
