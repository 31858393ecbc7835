"""Control characters in the URL are refused before any route sees them.

Request bodies are checked by `backend.validation.RequestModel`; this layer covers the path
and the query string of every route at once (a NUL in `?universe=` must never reach a
database), answering 422 in the documented shape with the parameter named.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.api.errors import error_body
from backend.validation import CONTROL_RULE, control_char_message, first_control_char


def _invalid(location: str, field: str, value: str, index: int) -> JSONResponse:
    message = control_char_message(value, index)
    return JSONResponse(
        error_body(
            "invalid_input",
            f"invalid request: {field}: {message}",
            {
                "fields": [
                    {
                        "field": field,
                        "location": location,
                        "rule": CONTROL_RULE,
                        "message": message,
                    }
                ]
            },
        ),
        status_code=422,
    )


def find_control_char(scope: Scope) -> JSONResponse | None:
    """The 422 answer for a path or query string holding a control character, else None."""
    path = scope.get("path", "")
    index = first_control_char(path)
    if index is not None:
        return _invalid("path", "path", path, index)
    raw = scope.get("query_string", b"")
    # Control characters can only arrive percent-encoded (servers refuse raw ones).
    if raw and (b"%" in raw or any(b < 0x20 or b == 0x7F for b in raw)):
        for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
            for field, text in (("(parameter name)", name), (name, value)):
                index = first_control_char(text)
                if index is not None:
                    return _invalid("query", field, text, index)
    return None


class ControlCharGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = find_control_char(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)
