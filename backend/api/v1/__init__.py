"""Version 1 of the HTTP API."""

from fastapi import APIRouter

from backend.api.v1 import momentum, research

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(momentum.router)
api_router.include_router(research.router)
