"""Service root and database status."""

from __future__ import annotations

import datetime as dt
import time

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine, text

from backend import __version__
from backend.api.deps import SettingsDep, StoreDep
from backend.db.faults import database_unavailable
from backend.db.migrate import current_revision, head_revision, schema_verdict
from backend.momentum.engine import MODEL_VERSION

router = APIRouter(tags=["status"])


class RootInfo(BaseModel):
    name: str
    version: str
    status: str
    model_version: str
    docs: str
    openapi: str
    links: dict[str, str] = Field(
        description="Entry points, each a URL to GET as it is (the templated paths, such as "
        "/api/v1/momentum/{ticker}, are in the OpenAPI document: a template here would read "
        "as a URL to clients that follow links)"
    )


class PoolStatus(BaseModel):
    pool_class: str = Field(description="SQLAlchemy pool class, e.g. QueuePool")
    size: int | None = Field(None, description="Connections the pool keeps")
    checked_out: int | None = Field(None, description="Connections in use now")
    checked_in: int | None = Field(None, description="Idle connections in the pool")
    overflow: int | None = Field(None, description="Connections opened beyond size")


def pool_status(engine: Engine) -> PoolStatus:
    pool = engine.pool

    def count(name: str) -> int | None:
        method = getattr(pool, name, None)
        return int(method()) if callable(method) else None

    return PoolStatus(
        pool_class=type(pool).__name__,
        size=count("size"),
        checked_out=count("checkedout"),
        checked_in=count("checkedin"),
        overflow=count("overflow"),
    )


class DatabaseStatus(BaseModel):
    engine: str = Field(description="sqlite or postgresql")
    reachable: bool
    error: str | None = Field(
        None, description="Why it is unreachable, in words (the driver's text is in the log)"
    )
    latency_ms: float | None = Field(None, description="Round trip of SELECT 1")
    migration_revision: str | None
    migration_head: str
    migrated: bool
    securities: int | None = None
    bars: int | None = None
    newest_bar_date: dt.date | None = None
    oldest_bar_date: dt.date | None = None
    data_version: int | None = None
    last_refresh_at: dt.datetime | None = None
    last_refresh_outcome: str | None = None
    pool: PoolStatus | None = None


@router.get("/", response_model=RootInfo)
def root(settings: SettingsDep) -> RootInfo:
    return RootInfo(
        name=settings.app_name,
        version=__version__,
        status="ok",
        model_version=MODEL_VERSION,
        docs="/docs",
        openapi="/openapi.json",
        links={
            "top": "/api/v1/momentum/top",
            "securities": "/api/v1/securities",
            "database_status": "/database/status",
            "health_live": "/health/live",
            "health_ready": "/health/ready",
            "metrics": "/metrics",
            "cache_stats": "/api/v1/cache/stats",
        },
    )


@router.get(
    "/database/status",
    response_model=DatabaseStatus,
    responses={503: {"model": DatabaseStatus, "description": "Database unreachable"}},
)
def database_status(store: StoreDep, response: Response) -> DatabaseStatus:
    """The store's database: reachability, migrations and what it holds (503 if unreachable)."""
    engine = store.engine
    head = head_revision()
    try:
        started = time.perf_counter()
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        latency = (time.perf_counter() - started) * 1000
        revision = current_revision(engine)
        stats = store.stats()
    except Exception as exc:  # report the database as unreachable, with why
        unavailable = database_unavailable(exc, "database status")
        if unavailable is None:
            raise  # not the database failing: a bug, answered 500 with the request id
        response.status_code = 503
        return DatabaseStatus(
            engine=engine.dialect.name,
            reachable=False,
            error=unavailable.message,
            migration_revision=None,
            migration_head=head,
            migrated=False,
            pool=pool_status(engine),
        )
    return DatabaseStatus(
        engine=engine.dialect.name,
        reachable=True,
        latency_ms=round(latency, 3),
        migration_revision=revision,
        migration_head=head,
        migrated=revision == head or schema_verdict(engine).ok,  # or compatibly ahead
        securities=stats.securities,
        bars=stats.bars,
        newest_bar_date=stats.newest_bar,
        oldest_bar_date=stats.oldest_bar,
        data_version=stats.data_version,
        last_refresh_at=stats.last_refresh_at,
        last_refresh_outcome=stats.last_refresh_outcome,
        pool=pool_status(engine),
    )
