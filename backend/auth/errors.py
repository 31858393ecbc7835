"""Authentication and rate-limit errors: the one error body, plus the headers they need."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from backend.errors import AppError, error_body


class HeaderedError(AppError):
    """An AppError whose answer carries HTTP headers (WWW-Authenticate, Retry-After)."""

    def __init__(
        self,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, details)
        self.headers = headers or {}


class Unauthorized(HeaderedError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details, {"WWW-Authenticate": "Bearer"})


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class RateLimited(HeaderedError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, limit: str, scope: str, retry_after: int, what: str | None = None) -> None:
        super().__init__(
            f"too many requests: the limit of {what or scope} is {limit}; "
            f"retry in {retry_after} s",
            {"limit": limit, "scope": scope, "retry_after_seconds": retry_after},
            {"Retry-After": str(retry_after)},
        )


def install_auth_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HeaderedError)
    async def _headered(_: Request, exc: HeaderedError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details),
            status_code=exc.status_code,
            headers=exc.headers,
        )
