"""Version 1 of the HTTP API."""

from fastapi import APIRouter

from backend.api.v1 import (
    alerts,
    auth,
    cache,
    categories,
    compare,
    model_portfolio,
    momentum,
    options,
    portfolios,
    prices,
    research,
    strategy,
    watchlists,
)

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(momentum.router)
api_router.include_router(cache.router)
api_router.include_router(research.router)
api_router.include_router(strategy.router)
api_router.include_router(auth.router)
api_router.include_router(categories.router)
# Before portfolios: /portfolios/compare is not /portfolios/{portfolio_id}.
api_router.include_router(compare.router)
api_router.include_router(portfolios.router)
api_router.include_router(model_portfolio.router)
api_router.include_router(prices.router)
api_router.include_router(options.router)
api_router.include_router(watchlists.router)
api_router.include_router(alerts.router)
