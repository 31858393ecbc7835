"""Security headers on every kind of answer, a Content-Security-Policy the pages can live with
(no inline script or style in them), and /docs served from local files only."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from backend.web.router import STATIC_DIR

pytestmark = [pytest.mark.api]

EXPECTED = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "geolocation=(), camera=(), microphone=()",
}


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/app/"),
        ("GET", "/app/static/app.js"),
        ("GET", "/api/v1/momentum/AAPL"),  # answered before the router once cached
        ("GET", "/api/v1/momentum/AAPL"),
        ("GET", "/api/v1/momentum/NOSUCH"),
        ("GET", "/api/v1/momentum/AAPL?as_of=nope"),
        ("GET", "/health/live"),
        ("GET", "/no/such/path"),
        ("GET", "/docs"),
        ("GET", "/docs/assets/swagger-ui.css"),
        ("GET", "/openapi.json"),
        ("POST", "/api/v1/auth/login"),
    ],
)
def test_every_answer_carries_the_security_headers(
    sample_app_client: TestClient, method: str, path: str
) -> None:
    resp = sample_app_client.request(method, path)
    for name, value in EXPECTED.items():
        assert resp.headers.get(name) == value, (path, name, resp.headers.get(name))
    assert len(resp.headers.get_list("content-security-policy")) == 1


class _Page(HTMLParser):
    """Scripts, styles and the URLs a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts: list[str] = []
        self.style_attributes: list[str] = []
        self.style_elements = 0
        self.handlers: list[str] = []
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if "style" in values:
            self.style_attributes.append(tag)
        self.handlers += [name for name in values if name.startswith("on")]
        if tag == "style":
            self.style_elements += 1
        if tag == "script":
            self._in_script = values.get("src") is None
            if values.get("src"):
                self.urls.append(str(values["src"]))
        if tag == "link" and values.get("href"):
            self.urls.append(str(values["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data.strip()[:60])


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.mark.parametrize("path", ["/app/", "/docs"])
def test_pages_have_no_inline_script_or_style(sample_app_client: TestClient, path: str) -> None:
    page = parse(sample_app_client.get(path).text)
    assert page.inline_scripts == []
    assert page.style_attributes == [] and page.style_elements == 0
    assert page.handlers == []


def test_the_dashboard_scripts_set_no_style_attribute() -> None:
    # A style="" attribute set by a script is inline style too: styles go through node.style.
    for script in STATIC_DIR.glob("*.js"):
        text = script.read_text()
        assert 'setAttribute("style"' not in text and "innerHTML" not in text, script.name


def test_docs_load_only_local_assets_and_each_is_served(sample_app_client: TestClient) -> None:
    resp = sample_app_client.get("/docs")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    page = parse(resp.text)
    assert page.urls, "the page loads Swagger UI's files"
    kinds = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
    for url in page.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = sample_app_client.get(url)
        assert asset.status_code == 200, url
        expected = next(kind for suffix, kind in kinds.items() if url.endswith(suffix))
        assert asset.headers["content-type"].startswith(expected), url
        assert len(asset.content) > 100
    assert any(url.endswith("swagger-ui-bundle.js") for url in page.urls)
    assert "cdn" not in resp.text.lower() and "http" not in resp.text.lower()


def test_redoc_is_off(sample_app_client: TestClient) -> None:
    assert sample_app_client.get("/redoc").status_code == 404


def test_headers_a_route_sets_are_replaced_not_repeated() -> None:
    import asyncio

    from backend.api.security_headers import SecurityHeaders

    async def inner(scope, receive, send):  # type: ignore[no-untyped-def]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"X-Frame-Options", b"SAMEORIGIN"), (b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})

    sent: list[dict] = []  # type: ignore[type-arg]

    async def send(message):  # type: ignore[no-untyped-def]
        sent.append(message)

    async def receive():  # type: ignore[no-untyped-def]
        return {"type": "http.request", "body": b""}

    asyncio.run(SecurityHeaders(inner)({"type": "http"}, receive, send))
    headers = sent[0]["headers"]
    assert [v for n, v in headers if n.lower() == b"x-frame-options"] == [b"DENY"]
    assert (b"content-type", b"text/plain") in headers
    assert {n.decode() for n, _ in headers} >= set(EXPECTED)
