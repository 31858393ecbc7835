"""Version 1 of the HTTP API."""

from fastapi import APIRouter

from backend.api.v1 import (
    alerts,
    auth,
    cache,
    categories,
    model_portfolio,
    momentum,
    portfolios,
    prices,
    research,
)

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(momentum.router)
api_router.include_router(cache.router)
api_router.include_router(research.router)
api_router.include_router(auth.router)
api_router.include_router(categories.router)
api_router.include_router(portfolios.router)
api_router.include_router(model_portfolio.router)
api_router.include_router(prices.router)
api_router.include_router(alerts.router)
