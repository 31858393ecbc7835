"""Security headers on every answer (the API, `/app`, `/docs`), built with `secure`.

The Content-Security-Policy allows this origin only: no inline script or style (the dashboard
and `/docs` have none: their scripts are files, their styles set through the DOM), images also
as `data:` URIs (the dashboard's icon, Swagger UI's), no plugins, no `<base>`, no framing, forms
posting to this origin only. The other headers: no MIME sniffing, no framing (for browsers
without frame-ancestors), no Referer sent anywhere, a browsing context of our own, and no
camera, microphone or geolocation. HSTS is left to the TLS terminator in front (nginx).
"""

from __future__ import annotations

from secure import Secure
from secure.headers import (
    ContentSecurityPolicy,
    CrossOriginOpenerPolicy,
    PermissionsPolicy,
    ReferrerPolicy,
    XContentTypeOptions,
    XFrameOptions,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SELF = "'self'"
NONE = "'none'"


def security_headers() -> Secure:
    csp = (
        ContentSecurityPolicy()
        .default_src(SELF)
        .script_src(SELF)
        .style_src(SELF)
        .img_src(SELF, "data:")
        .font_src(SELF)
        .connect_src(SELF)
        .object_src(NONE)
        .base_uri(NONE)
        .frame_ancestors(NONE)
        .form_action(SELF)
    )
    secure = Secure(
        csp=csp,
        xcto=XContentTypeOptions().nosniff(),
        xfo=XFrameOptions().deny(),
        referrer=ReferrerPolicy().no_referrer(),
        coop=CrossOriginOpenerPolicy().same_origin(),
        permissions=PermissionsPolicy().geolocation().camera().microphone(),
    )
    # Checked once here (a malformed value fails start-up), then served as they are.
    secure.validate_and_normalize_headers(on_invalid="raise")
    return secure


class SecurityHeaders:
    """Adds the headers of `security_headers()` to every HTTP answer, replacing any of the same
    name. `secure` builds and checks them; they are encoded once here, because its own ASGI
    middleware rebuilds them for every answer (about 25 µs each, measured: a tenth of a cached
    score's whole cost) where this costs about 2 µs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in security_headers().headers.items()
        ]
        self.names = frozenset(name for name, _ in self.headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [h for h in message.get("headers", ()) if h[0].lower() not in self.names]
                message["headers"] = kept + self.headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
