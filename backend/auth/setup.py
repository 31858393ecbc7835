"""Wire authentication into an app: the auth service, and rate limits."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from sqlalchemy import Engine

from backend.auth.ratelimit import RateLimits
from backend.auth.secret_rules import secret_problem
from backend.auth.service import AuthService
from backend.config import JWT_SECRET_EXAMPLE, Settings

log = logging.getLogger(__name__)


def install_auth(app: FastAPI, settings: Settings, engine: Engine) -> None:
    # Production refuses these outright (Settings); elsewhere, say so before it gets there.
    if settings.environment not in ("test", "production"):
        for name, value in (
            ("JWT_SECRET_KEY", settings.jwt_secret_key),
            ("ADMIN_TOKEN", settings.admin_token),
        ):
            problem = secret_problem(value, JWT_SECRET_EXAMPLE) if value else None
            if problem is not None:
                log.warning("%s would be refused in production: %s", name, problem)
    app.state.rate_limits = RateLimits(settings)
    app.state.auth = AuthService(engine, settings, app.state.rate_limits)
