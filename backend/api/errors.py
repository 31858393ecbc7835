"""Errors as HTTP: the one error shape, each domain error's status, the only handler installer,
and the answer to errors nobody expected.

Domain errors (`backend.errors`) carry a code and no HTTP; `http_status` maps each kind to its
status here and nowhere else. Every route declares the statuses it can answer with
`error_responses(...)`, so the schema says, for each route, which errors exist and that they
all have this shape:
`{"error": {"code": "...", "message": "...", "details": {...}}}`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.db.faults import database_unavailable
from backend.errors import (
    AppError,
    Conflict,
    Forbidden,
    InsufficientHistory,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PriceFileError,
    RateLimited,
    Rule,
    Unauthorized,
    Unavailable,
)
from backend.observability.logging import request_id_var
from backend.observability.middleware import route_template

log = logging.getLogger("backend.errors")


# The status of each kind of domain error; a subclass answers as its nearest listed ancestor,
# and an AppError of no listed kind is a bug (500).
STATUS_OF: dict[type[AppError], int] = {
    InvalidInput: 422,
    InsufficientHistory: 422,
    PriceFileError: 422,
    NotFound: 404,
    Unauthorized: 401,
    Forbidden: 403,
    Conflict: 409,
    PayloadTooLarge: 413,
    RateLimited: 429,
    Unavailable: 503,
}


def http_status(exc: AppError) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return 500


def http_headers(exc: AppError) -> dict[str, str]:
    """The headers a kind of error needs: how to authenticate, when to retry."""
    if isinstance(exc, Unauthorized):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after)}
    return {}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(exc: AppError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        error_body(exc.code, exc.message, exc.details),
        status_code=http_status(exc),
        headers={**http_headers(exc), **(headers or {})},
    )


class ErrorDetail(BaseModel):
    code: str = Field(
        description="Stable machine code: invalid_input, not_found, unauthorized, forbidden, "
        "conflict, payload_too_large, rate_limited, provider_unavailable, "
        "database_unavailable, internal_error, ...",
        examples=["not_found"],
    )
    message: str = Field(description="What went wrong, for a person", examples=["..."])
    details: dict[str, Any] = Field(
        default_factory=dict, description="Machine-readable context (field, rule, ticker, ...)"
    )


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


# What each status means, the same on every route that can answer it.
ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Malformed request (the body is not valid JSON or not the declared content type)",
    401: "Missing, invalid, expired or revoked token",
    403: "Authenticated, but not allowed (a user's token on an admin route, or the reverse)",
    404: "Not found (another user's resource answers the same)",
    409: "Conflicts with the current state (already exists, would break the ledger)",
    413: "Request body larger than the limit",
    415: "Unsupported content type",
    422: "Invalid input: which field, which rule",
    429: "Too many requests; see Retry-After",
    500: "Unexpected error; the answer carries the request id, the log the traceback",
    503: "A dependency (database, price provider, cache) is unavailable; retry later",
}


# The OpenAPI extension naming a route's rules beyond its schema (backend.errors.Rule).
RULES_EXTENSION = "x-rules-beyond-schema"


def beyond_schema(*rules: Rule) -> dict[str, Any]:
    """`openapi_extra=` of a route that checks rules a JSON schema cannot state (between
    fields, against the stored data, the clock or a policy): listed under `RULES_EXTENSION`
    and, in words, in its 422's description (backend/api/openapi.py)."""
    return {RULES_EXTENSION: [rule.as_schema() for rule in rules]}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route: each status with the error schema and its meaning."""
    return {
        status: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[status]}
        for status in statuses
    }


class CatchAllMiddleware:
    """Any exception no handler took: 500 in the documented shape with the request id, the
    traceback to the log, never to the caller; a database fault (`backend.db.faults`) is 503
    `database_unavailable` instead, its driver text logged. A plain ASGI layer just inside the
    request middleware, so the answer still carries X-Request-ID and counts in the metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            request_id = request_id_var.get()
            # The database failing is not a bug: 503 in the documented shape (logged there).
            unavailable = database_unavailable(exc, f"{scope.get('method')} {scope.get('path')}")
            if unavailable is not None:
                if started:
                    raise
                await error_response(unavailable)(scope, receive, send)
                return
            log.error(
                "unhandled %s on %s %s (request %s)",
                type(exc).__name__,
                scope.get("method"),
                scope.get("path"),
                request_id,
                exc_info=exc,
            )
            if started:  # the answer is under way: nothing else can be said
                raise
            unexpected = AppError(
                "an unexpected error occurred; it has been logged", {"request_id": request_id}
            )
            await error_response(unexpected)(scope, receive, send)


def _validation_details(exc: RequestValidationError) -> dict[str, Any]:
    fields = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        fields.append(
            {
                "field": ".".join(loc[1:]) if len(loc) > 1 else ".".join(loc),
                "location": loc[0] if loc else None,
                "rule": err.get("type"),
                "message": err.get("msg"),
            }
        )
    return {"fields": fields}


def install_error_handlers(app: FastAPI) -> None:
    """The only place errors become answers: domain errors by kind, FastAPI's validation
    errors and Starlette's HTTP errors, all in the one shape."""

    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        summary = "; ".join(f"{f['field']}: {f['message']}" for f in details["fields"])
        return JSONResponse(
            error_body("invalid_input", f"invalid request: {summary}", details), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, (ValueError, RecursionError)):
            return _unreadable_body(exc.__cause__)
        code = {
            404: "not_found",
            405: "method_not_allowed",
            401: "unauthorized",
            413: "payload_too_large",
        }.get(exc.status_code, "http_error")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return JSONResponse(
            error_body(code, str(exc.detail), getattr(exc, "details", None)),
            status_code=exc.status_code,
            headers=headers,
        )


def _unreadable_body(cause: BaseException) -> JSONResponse:
    """FastAPI answers 400 to a JSON body it cannot decode at all (not UTF-8, nested past the
    interpreter's depth) but 422 to one that is not JSON: both are the same mistake, answered
    like FastAPI's own `json_invalid`."""
    reason = (
        "it is not UTF-8 text"
        if isinstance(cause, UnicodeDecodeError)
        else "it is nested too deeply" if isinstance(cause, RecursionError) else "it is malformed"
    )
    message = f"the body cannot be read as JSON: {reason}"
    field = {"field": "body", "location": "body", "rule": "json_invalid", "message": message}
    return JSONResponse(
        error_body("invalid_input", f"invalid request: {message}", {"fields": [field]}),
        status_code=422,
    )


def allowed_methods(request: Request) -> str:
    """The `Allow` of a 405: every method the OpenAPI schema documents for the path the
    request matched. Starlette names only the methods of the first route that matched it,
    while a path of this API is often served by several routes (GET and PUT
    /categories/{name})."""
    fallback = ", ".join(sorted(getattr(request.scope.get("route"), "methods", None) or ()))
    item = request.app.openapi().get("paths", {}).get(route_template(request.scope), {})
    methods = sorted(m.upper() for m in item if m.upper() in _HTTP_METHODS)
    return ", ".join(methods) or fallback


_HTTP_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})
