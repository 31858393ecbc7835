"""Request middleware (plain ASGI, no per-request task): a request id on every request and
response, one log line per request, request count and latency metrics per route."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.observability.logging import request_id_var
from backend.observability.metrics import Metrics

REQUEST_ID_HEADER = "X-Request-ID"
_HEADER_KEY = b"x-request-id"
# A request id we accept from the caller (else we make one): short, printable, no spaces.
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
UNMATCHED_ROUTE = "<unmatched>"

access_log = logging.getLogger("backend.access")


def _incoming_request_id(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == _HEADER_KEY:
            text = value.decode("latin-1")
            return text if REQUEST_ID_RE.match(text) else None
    return None


def route_template(scope: Scope) -> str:
    """The matched route's path template with every router prefix ('/api/v1/momentum/{ticker}'),
    so metrics have one series per route, not per URL; UNMATCHED_ROUTE when nothing matched."""
    # FastAPI keeps the full template of an included router's route in its effective context;
    # the route object itself knows only its path inside its router.
    answered_by = scope.get("alphavelocity.route")  # answered before routing (cache)
    if answered_by:
        return str(answered_by)
    context = scope.get("fastapi", {}).get("effective_route_context")
    template = getattr(context, "path_format", None)
    if not template:
        template = getattr(scope.get("route"), "path_format", None)
    return template or UNMATCHED_ROUTE


class RequestObservabilityMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            method = scope["method"]
            self.metrics.observe_request(method, route, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                duration_ms = round(seconds * 1000, 3)
                access_log.info(
                    "%s %s %s %.3fms",
                    method,
                    scope["path"],
                    status,
                    duration_ms,
                    extra={
                        "method": method,
                        "route": route,
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": duration_ms,
                        "client": scope["client"][0] if scope.get("client") else None,
                    },
                )
            request_id_var.reset(token)
