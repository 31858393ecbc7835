"""/docs in a real browser with every request off this machine refused: Swagger UI draws the
whole API from the service's own files, under the service's Content-Security-Policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or, in CI, fail) with the reason
    expect = None

pytestmark = [pytest.mark.e2e]


def test_docs_work_offline_under_the_csp(page: Any, live_server: str, shots: Path) -> None:
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    resp = page.goto("/docs")
    assert resp.status == 200
    assert "default-src 'self'" in resp.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("AlphaVelocity")
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() > 30
    # An operation opens, with its parameters and the error schema of its answers.
    page.locator(".opblock-summary-path", has_text="/api/v1/momentum/{ticker}").first.click()
    expect(page.locator(".opblock.is-open .parameters").first).to_be_visible()
    page.screenshot(path=str(shots / "docs.png"), full_page=False)
    assert outside == [], f"the page asked for files off this machine: {outside}"
