"""Operations endpoints: liveness, readiness (for load balancers and the Docker health check)
and Prometheus metrics."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from backend import __version__
from backend.api.deps import StoreDep
from backend.db.migrate import current_revision, head_revision, schema_verdict
from backend.market_data.store import PriceStore

router = APIRouter(tags=["operations"])

STARTED = time.monotonic()


class Liveness(BaseModel):
    status: str = Field(description="alive: the process serves requests")
    version: str
    uptime_seconds: float


class Check(BaseModel):
    ok: bool
    configured: bool = True
    latency_ms: float | None = None
    error: str | None = None
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
        revision = current_revision(store.engine)
    except Exception as exc:  # unreachable, or no permission: not ready, and why
        return Check(ok=False, error=f"{type(exc).__name__}: {exc}")
    migrated = revision == head or schema_verdict(store.engine).ok  # or compatibly ahead
    return Check(
        ok=migrated,
        latency_ms=latency,
        error=None if migrated else f"schema at revision {revision}, head is {head}",
        details={"revision": revision, "head": head},
    )


async def _redis_check(request: Request) -> Check:
    cache = getattr(request.app.state, "cache", None)
    backend = getattr(cache, "backend", None)
    if backend is None or backend.name != "redis":
        return Check(ok=True, configured=False)
    started = time.perf_counter()
    ok = await backend.ping()
    return Check(
        ok=ok,
        latency_ms=round((time.perf_counter() - started) * 1000, 3) if ok else None,
        error=None if ok else backend.last_error,
    )


@router.get(
    "/health/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A dependency is not ready"}},
)
async def ready(request: Request, store: StoreDep, response: Response) -> Readiness:
    """Ready when the database answers and is migrated to head, and Redis answers when
    REDIS_URL is set; 503 otherwise, naming what is not ready."""
    checks = {
        "database": await run_in_threadpool(_database_check, store),
        "redis": await _redis_check(request),
    }
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
