"""The application factory: `uvicorn backend.main:create_app --factory` serves it.

A factory, not a module-level app, so importing this module (tests, tools) builds nothing and
opens no database; each uvicorn worker calls it once."""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI

from backend import __version__
from backend.alerts.service import AlertService
from backend.alerts.watcher import AlertWatcher
from backend.api import health, status
from backend.api.body_limit import BodyLimit
from backend.api.errors import CatchAllMiddleware, install_error_handlers
from backend.api.fastpath import ScoreFastPath
from backend.api.input_guard import ControlCharGuard
from backend.api.openapi import install_openapi
from backend.api.score_cache import build_cache
from backend.api.security_headers import SecurityHeaders
from backend.api.v1 import api_router
from backend.auth.proxies import install_trusted_proxies
from backend.auth.setup import install_auth
from backend.config import Settings, get_settings
from backend.db.engine import DatabaseTimeouts, make_engine
from backend.market_data.on_demand import OnDemandFetcher
from backend.market_data.providers import build_provider
from backend.market_data.providers.base import PriceProvider
from backend.market_data.store import PriceStore
from backend.momentum.service import MomentumService
from backend.observability.logging import configure_logging
from backend.observability.metrics import Metrics
from backend.observability.middleware import RequestObservabilityMiddleware
from backend.options.provider import build_options_provider
from backend.options.service import OptionsService
from backend.options.store import OptionStore
from backend.portfolios.categories import CategoryService
from backend.portfolios.comparison import PortfolioAnalytics
from backend.portfolios.idempotency import IdempotencyService
from backend.portfolios.momentum_watchlist import MomentumWatchlist
from backend.portfolios.quotes import QuoteService
from backend.portfolios.service import PortfolioService
from backend.portfolios.strategy_service import StrategyService
from backend.portfolios.transactions import TransactionService
from backend.portfolios.views import PortfolioViews
from backend.portfolios.watchlists import Limits, WatchlistService, all_watched_tickers
from backend.research.answers import ScoreAnswers
from backend.research.service import ResearchService
from backend.research.serving import ModelScores
from backend.scheduler import build_scheduler
from backend.startup import prepare_database
from backend.web.docs import install_docs
from backend.web.router import install_web

log = logging.getLogger("backend")


def create_app(settings: Settings | None = None, provider: PriceProvider | None = None) -> FastAPI:
    """Build the service. `provider` overrides the one the settings name (tests use this)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.json_logs)
    timeouts = DatabaseTimeouts.from_settings(settings)
    engine = make_engine(settings.effective_database_url, timeouts)
    store = PriceStore(engine)
    momentum = MomentumService(store, settings, provider or build_provider(settings))
    metrics = Metrics()
    cache = build_cache(settings, store)
    metrics.cache = cache
    on_demand = OnDemandFetcher(store, momentum.provider, settings, cache.backend)
    options = OptionsService(OptionStore(engine), store, settings, build_options_provider(settings))
    alerts = AlertService(engine, momentum, settings)
    watcher = AlertWatcher(alerts, settings.alert_evaluation_interval_seconds)
    scheduler = build_scheduler(
        settings,
        store,
        momentum,
        cache,
        metrics,
        options,
        # After the close the options of every watched ticker are snapshotted too.
        option_ticker_sources=[lambda: all_watched_tickers(engine)],
        after_refresh=watcher.poke,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Migrations and the first sample load may take longer than any request may: they
        # run on an engine of their own without the statement limit, once across all workers
        # (a lock in the database).
        setup = (
            engine  # SQLite has no statement limit (and a database in memory is per engine)
            if engine.dialect.name == "sqlite"
            else make_engine(settings.effective_database_url, timeouts.unbounded_statements())
        )
        try:
            prepare_database(setup, store if setup is engine else PriceStore(setup), settings)
        finally:
            if setup is not engine:
                setup.dispose()
        await cache.start()
        if settings.scheduler_enabled:
            scheduler.start()
        # Rules are evaluated after every data change (ALERT_EVALUATION_INTERVAL_SECONDS).
        watcher.start()
        # What exists now (modules) and the first score book live as long as the process: keep
        # them out of the cyclic collector's scans, or each full collection (about 0.1-0.2 s
        # for ~230k objects) stalls every request in flight.
        gc.freeze()
        # Score everything once, in a thread: the process answers /health/live at once and
        # /health/ready says 503 (`scores`) until the book is there; a score request meanwhile
        # waits at most SCORE_BOOK_WAIT_SECONDS.
        app.state.store_was_empty = store.is_empty()
        if not app.state.store_was_empty:
            momentum.start_first_build(then=gc.freeze)
        yield
        gc.unfreeze()
        await scheduler.stop()
        await watcher.stop()
        alerts.close()
        on_demand.close()
        await cache.close()
        engine.dispose()

    app = FastAPI(
        title=settings.app_name,
        version=__version__,
        description="Momentum scores for stocks and ETFs, from a daily price store.",
        lifespan=lifespan,
        # Served from the pinned package, offline (backend/web/docs.py); no ReDoc.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.momentum = momentum
    app.state.cache = cache
    app.state.store_was_empty = False  # known at start-up (lifespan)
    # The other published models (?model=, /research) read the momentum service's score book.
    app.state.research = ResearchService(momentum)
    app.state.model_scores = ModelScores(app.state.research)
    app.state.answers = ScoreAnswers(momentum, app.state.model_scores, cache.tag)
    app.state.on_demand = on_demand
    app.state.metrics = metrics
    app.state.scheduler = scheduler
    app.state.alerts = alerts
    app.state.alert_watcher = watcher
    app.state.portfolios = PortfolioService(engine)
    app.state.options = options
    app.state.transactions = TransactionService(engine)
    app.state.idempotency = IdempotencyService(engine, settings.idempotency_key_hours)
    app.state.categories = CategoryService(engine, store.categories)
    app.state.portfolio_views = PortfolioViews(
        app.state.portfolios,
        app.state.transactions,
        app.state.categories,
        QuoteService(momentum),
    )
    app.state.momentum_watchlist = MomentumWatchlist(
        app.state.portfolio_views, momentum, settings.watchlist_max_per_category
    )
    app.state.watchlists = WatchlistService(
        engine,
        momentum,
        app.state.categories,
        app.state.momentum_watchlist,
        Limits.from_settings(settings),
    )
    app.state.strategy = StrategyService(QuoteService(momentum), store)
    app.state.analytics = PortfolioAnalytics(
        app.state.portfolio_views, QuoteService(momentum), settings.correlation_min_observations
    )
    install_auth(app, settings, engine)
    install_error_handlers(app)
    app.add_middleware(ScoreFastPath, cache=lambda: cache)
    app.add_middleware(ControlCharGuard)
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(RequestObservabilityMiddleware, metrics=metrics)
    app.add_middleware(SecurityHeaders)
    # Outermost: every layer (access log, rate limits) sees the real client (TRUSTED_PROXIES).
    install_trusted_proxies(app, settings)
    app.include_router(status.router)
    app.include_router(health.router)
    app.include_router(api_router)
    install_web(app)
    install_docs(app)
    install_openapi(app)
    return app
