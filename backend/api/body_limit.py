"""Request bodies are limited in the app itself (not only in a proxy in front of it).

A body declared larger than the route's limit (`Content-Length`) is refused before a byte of
it is read; a body without a declared length (chunked) is counted as it streams in, and
reading stops at the first chunk past the limit. Either way the answer is 413
`payload_too_large` in the documented shape with the limit in `details`, and a log line.

The limit is `MAX_BODY_BYTES` for every route, and larger for the routes that take files
(`LARGER_LIMITS`: CSV imports, `MAX_IMPORT_BODY_BYTES`). Limits come from the app's settings,
which is why this is a layer of its own and not FastAPI's per-route `max_body_size` (fixed when
the routes are declared, shared by every app) — and why its answers keep the one error shape.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.api.errors import error_response, http_status
from backend.errors import PayloadTooLarge

log = logging.getLogger("backend.api")


class BodyTooLarge(HTTPException):
    """Raised by the body read past the limit. An HTTPException, since FastAPI passes those
    through its body parsing (any other error there becomes 400); answered in the documented
    shape by the HTTP error handler, `details` included."""

    def __init__(self, limit: int) -> None:
        error = PayloadTooLarge(limit)
        super().__init__(status_code=http_status(error), detail=error.message)
        self.details = error.details


# (method, path pattern, the settings attribute of its limit): routes whose bodies are files.
LARGER_LIMITS: list[tuple[str, re.Pattern[str], str]] = [
    (
        "POST",
        re.compile(r"^/api/v1/portfolios/[^/]+/transactions/import$"),
        "max_import_body_bytes",
    ),
]


def _declared_length(scope: Scope) -> tuple[int | None, bool]:
    """(Content-Length if given and valid, whether a body may follow at all)."""
    length: int | None = None
    chunked = False
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:  # the server refuses these; count what arrives anyway
                chunked = True
        elif name == b"transfer-encoding":
            chunked = True
    return length, chunked or length is not None


class BodyLimit:
    def __init__(self, app: ASGIApp, settings: Any) -> None:
        self.app = app
        self.default = int(settings.max_body_bytes)
        self.larger = [
            (method, pattern, int(getattr(settings, name)))
            for method, pattern, name in LARGER_LIMITS
        ]

    def limit_for(self, method: str, path: str) -> int:
        for route_method, pattern, limit in self.larger:
            if method == route_method and pattern.match(path):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, has_body = _declared_length(scope)
        if not has_body:  # nothing to count: no wrapper on the hot path of plain GETs
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        if declared is not None and declared > limit:
            self._log(scope, limit, declared, "declared")
            await too_large(limit)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    self._log(scope, limit, received, "streamed")
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)

    @staticmethod
    def _log(scope: Scope, limit: int, size: int, how: str) -> None:
        client = scope.get("client") or ("?", 0)
        log.warning(
            "request body over the limit: %s %s from %s, %s %d bytes, limit %d",
            scope.get("method"),
            scope.get("path"),
            client[0],
            how,
            size,
            limit,
        )


def too_large(limit: int) -> JSONResponse:
    return error_response(PayloadTooLarge(limit), {"Connection": "close"})
