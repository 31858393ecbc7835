"""Wire authentication into an app: the auth service, rate limits and their error answers."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from sqlalchemy import Engine

from backend.auth.errors import install_auth_error_handlers
from backend.auth.ratelimit import RateLimits
from backend.auth.service import AuthService
from backend.config import JWT_SECRET_EXAMPLE, Settings

log = logging.getLogger(__name__)


def install_auth(app: FastAPI, settings: Settings, engine: Engine) -> None:
    example = settings.jwt_secret_key == JWT_SECRET_EXAMPLE
    if settings.environment != "test" and (
        example or settings.jwt_secret_key.startswith("change-me")
    ):
        log.warning("JWT_SECRET_KEY is the example value: set a secret before deploying")
    app.state.auth = AuthService(engine, settings)
    app.state.rate_limits = RateLimits(settings)
    install_auth_error_handlers(app)
