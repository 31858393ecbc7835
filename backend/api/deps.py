"""FastAPI dependencies as `Annotated` aliases, so routers stay thin."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from backend.alerts.service import AlertService
from backend.api.score_cache import ScoreCache
from backend.auth.deps import AdminUser as AdminUser  # noqa: F401 (re-exported)
from backend.auth.deps import CurrentUser as CurrentUser  # noqa: F401 (re-exported)
from backend.auth.deps import OptionalUser as OptionalUser  # noqa: F401 (re-exported)
from backend.config import Settings
from backend.market_data.store import PriceStore
from backend.momentum.service import MomentumService
from backend.options.service import OptionsService
from backend.portfolios.categories import CategoryService
from backend.portfolios.comparison import PortfolioAnalytics
from backend.portfolios.idempotency import IdempotencyService
from backend.portfolios.momentum_watchlist import MomentumWatchlist
from backend.portfolios.service import PortfolioService
from backend.portfolios.strategy_service import StrategyService
from backend.portfolios.transactions import TransactionService
from backend.portfolios.views import PortfolioViews
from backend.portfolios.watchlists import WatchlistService
from backend.research.answers import ScoreAnswers
from backend.research.service import ResearchService
from backend.research.serving import ModelScores


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_store(request: Request) -> PriceStore:
    store: PriceStore = request.app.state.store
    return store


async def get_momentum(request: Request) -> MomentumService:
    service: MomentumService = request.app.state.momentum
    return service


async def get_cache(request: Request) -> ScoreCache:
    cache: ScoreCache = request.app.state.cache
    return cache


async def get_answers(request: Request) -> ScoreAnswers:
    answers: ScoreAnswers = request.app.state.answers
    return answers


async def get_model_scores(request: Request) -> ModelScores:
    scores: ModelScores = request.app.state.model_scores
    return scores


async def get_research(request: Request) -> ResearchService:
    service: ResearchService = request.app.state.research
    return service


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
StoreDep = Annotated[PriceStore, Depends(get_store)]
MomentumDep = Annotated[MomentumService, Depends(get_momentum)]
CacheDep = Annotated[ScoreCache, Depends(get_cache)]
AnswersDep = Annotated[ScoreAnswers, Depends(get_answers)]
ResearchDep = Annotated[ResearchService, Depends(get_research)]


def get_portfolios(request: Request) -> PortfolioService:
    service: PortfolioService = request.app.state.portfolios
    return service


def get_transactions(request: Request) -> TransactionService:
    service: TransactionService = request.app.state.transactions
    return service


def get_portfolio_views(request: Request) -> PortfolioViews:
    service: PortfolioViews = request.app.state.portfolio_views
    return service


def get_categories(request: Request) -> CategoryService:
    service: CategoryService = request.app.state.categories
    return service


def get_idempotency(request: Request) -> IdempotencyService:
    service: IdempotencyService = request.app.state.idempotency
    return service


PortfoliosDep = Annotated[PortfolioService, Depends(get_portfolios)]
IdempotencyDep = Annotated[IdempotencyService, Depends(get_idempotency)]
TransactionsDep = Annotated[TransactionService, Depends(get_transactions)]
PortfolioViewsDep = Annotated[PortfolioViews, Depends(get_portfolio_views)]
CategoriesDep = Annotated[CategoryService, Depends(get_categories)]


def get_options(request: Request) -> OptionsService:
    service: OptionsService = request.app.state.options
    return service


OptionsDep = Annotated[OptionsService, Depends(get_options)]


def get_momentum_watchlist(request: Request) -> MomentumWatchlist:
    service: MomentumWatchlist = request.app.state.momentum_watchlist
    return service


def get_watchlists(request: Request) -> WatchlistService:
    service: WatchlistService = request.app.state.watchlists
    return service


MomentumWatchlistDep = Annotated[MomentumWatchlist, Depends(get_momentum_watchlist)]
WatchlistsDep = Annotated[WatchlistService, Depends(get_watchlists)]


def get_strategy(request: Request) -> StrategyService:
    service: StrategyService = request.app.state.strategy
    return service


StrategyDep = Annotated[StrategyService, Depends(get_strategy)]


def get_analytics(request: Request) -> PortfolioAnalytics:
    service: PortfolioAnalytics = request.app.state.analytics
    return service


AnalyticsDep = Annotated[PortfolioAnalytics, Depends(get_analytics)]


def get_alerts(request: Request) -> AlertService:
    service: AlertService = request.app.state.alerts
    return service


AlertsDep = Annotated[AlertService, Depends(get_alerts)]
