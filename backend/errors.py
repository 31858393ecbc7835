"""Domain errors and the one error body every HTTP error uses.

Code below the API raises these; `install_error_handlers` turns them into
`{"error": {"code", "message", "details"}}` answers in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.observability.middleware import route_template


@dataclass(frozen=True)
class Rule:
    """A rule the server checks that a JSON schema cannot state: between fields, against the
    stored data, the clock or a policy. Each route lists the ones it checks
    (`backend.api.errors.beyond_schema`), so its OpenAPI schema says them; breaking one is
    answered with `code` and, in the details, `rule` (`ANY_RULE`: any answer of that code)."""

    code: str
    rule: str
    text: str

    def as_schema(self) -> dict[str, Any]:
        return {"code": self.code, "rule": self.rule, "description": self.text}


class AppError(Exception):
    """An error with an HTTP status, a stable machine code and details for the caller."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(AppError):
    status_code = 422
    code = "invalid_input"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class InsufficientHistory(AppError):
    """Fewer closes than the model needs: there is no score, and we say why."""

    status_code = 422
    code = "insufficient_history"

    def __init__(self, ticker: str, found: int, needed: int, as_of: str | None = None) -> None:
        super().__init__(
            f"{ticker} has {found} closes up to {as_of or 'its last close'}; "
            f"the model needs at least {needed}",
            {"ticker": ticker, "closes_found": found, "closes_needed": needed, "as_of": as_of},
        )


class ProviderUnavailable(AppError):
    """A price provider could not be reached (network, throttling past retries, timeout)."""

    status_code = 503
    code = "provider_unavailable"

    def __init__(self, provider: str, reason: str) -> None:
        super().__init__(
            f"price provider {provider!r} is unavailable: {reason}",
            {"provider": provider, "reason": reason},
        )
        self.provider = provider
        self.reason = reason


class DatabaseUnavailable(AppError):
    """The database cannot be used now (unreachable, too slow, no free connection). The message
    and `reason` are for the public; the driver's own text (hosts, ports, SQL) goes to the log
    only (`backend.db.faults`)."""

    status_code = 503
    code = "database_unavailable"

    def __init__(self, reason: str, explanation: str, details: dict[str, Any] | None = None):
        super().__init__(
            f"the database is unavailable ({explanation}); retry later",
            {"reason": reason, **(details or {})},
        )
        self.reason = reason


class PayloadTooLarge(AppError):
    """A request body past its route's limit (`backend.api.body_limit`)."""

    status_code = 413
    code = "payload_too_large"

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(
            f"the request body is larger than the limit of {limit_bytes} bytes",
            {"limit_bytes": limit_bytes},
        )


class PriceFileError(AppError):
    """A price file that cannot be imported; `line` is 1-based, the header being line 1."""

    status_code = 422
    code = "invalid_price_file"

    def __init__(self, reason: str, line: int | None = None, path: str | None = None) -> None:
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{where}{reason}", {"line": line, "reason": reason, "path": path})
        self.line = line
        self.reason = reason


ANY_RULE = "*"
# Rules shared by many routes.
START_NOT_AFTER_END = Rule(
    "invalid_input",
    "start must not be after end",
    "start must not be after end when both are given",
)
NO_DATA = Rule(
    "insufficient_history",
    ANY_RULE,
    "the store must hold enough closes for what is asked: a score needs the model's minimum "
    "history up to its date, a period needs stored dates",
)


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


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
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), status_code=exc.status_code
        )

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
