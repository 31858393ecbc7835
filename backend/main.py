"""The application factory. `backend.main:app` is what uvicorn serves."""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI

from backend import __version__
from backend.api import health, status
from backend.api.errors import CatchAllMiddleware
from backend.api.input_guard import ControlCharGuard
from backend.api.v1 import api_router
from backend.auth.setup import install_auth
from backend.cache import build_cache
from backend.cache.fastpath import ScoreFastPath
from backend.config import Settings, get_settings
from backend.db.engine import make_engine
from backend.errors import install_error_handlers
from backend.market_data.providers import build_provider
from backend.market_data.providers.base import PriceProvider
from backend.market_data.store import PriceStore
from backend.momentum.service import MomentumService
from backend.observability.logging import configure_logging
from backend.observability.metrics import Metrics
from backend.observability.middleware import RequestObservabilityMiddleware
from backend.portfolios.service import PortfolioService
from backend.scheduler import build_scheduler
from backend.startup import prepare_database
from backend.web.router import install_web

log = logging.getLogger("backend")


def create_app(settings: Settings | None = None, provider: PriceProvider | None = None) -> FastAPI:
    """Build the service. `provider` overrides the one the settings name (tests use this)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.json_logs)
    engine = make_engine(settings.effective_database_url)
    store = PriceStore(engine)
    momentum = MomentumService(store, settings, provider or build_provider(settings))
    metrics = Metrics()
    cache = build_cache(settings, store)
    metrics.cache = cache
    scheduler = build_scheduler(settings, store, momentum, cache, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # once across all workers (a lock in the database): migrate, first load of the sample
        prepare_database(engine, store, settings)
        # Score everything once now, so the first request does not pay for it.
        if not store.is_empty():
            momentum.book()
        await cache.start()
        if settings.scheduler_enabled:
            scheduler.start()
        # What exists now (modules, the first score book) lives as long as the process: keep
        # it out of the cyclic collector's scans, or each full collection (about 0.1-0.2 s for
        # these ~230k objects) stalls every request in flight.
        gc.freeze()
        yield
        gc.unfreeze()
        await scheduler.stop()
        await cache.close()
        engine.dispose()

    app = FastAPI(
        title=settings.app_name,
        version=__version__,
        description="Momentum scores for stocks and ETFs, from a daily price store.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.momentum = momentum
    app.state.cache = cache
    app.state.metrics = metrics
    app.state.scheduler = scheduler
    app.state.portfolios = PortfolioService(engine, momentum)
    install_auth(app, settings, engine)
    install_error_handlers(app)
    app.add_middleware(ScoreFastPath, cache=lambda: cache)
    app.add_middleware(ControlCharGuard)
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(RequestObservabilityMiddleware, metrics=metrics)
    app.include_router(status.router)
    app.include_router(health.router)
    app.include_router(api_router)
    install_web(app)
    return app


app = create_app()
