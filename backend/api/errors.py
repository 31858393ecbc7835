"""The one error shape in the OpenAPI schema, and the answer to errors nobody expected.

Every route declares the statuses it can answer with `error_responses(...)`, so the schema
says, for each route, which errors exist and that they all have this shape:
`{"error": {"code": "...", "message": "...", "details": {...}}}`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.db.faults import database_unavailable
from backend.errors import Rule, error_body
from backend.observability.logging import request_id_var

log = logging.getLogger("backend.errors")


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
                await JSONResponse(
                    error_body(unavailable.code, unavailable.message, unavailable.details),
                    status_code=unavailable.status_code,
                )(scope, receive, send)
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
            response = JSONResponse(
                error_body(
                    "internal_error",
                    "an unexpected error occurred; it has been logged",
                    {"request_id": request_id},
                ),
                status_code=500,
            )
            await response(scope, receive, send)
