"""The watchlist page in a real browser: the momentum watchlist per category (as the API
answers it), then, logged in, a named watchlist created, filled from a category, added to
from a candidate and trimmed. Screenshots in test-output/e2e/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or, in CI, fail) with the reason
    expect = None

from tests.e2e.conftest import PHONE
from tests.e2e.test_dashboard import column, number

pytestmark = [pytest.mark.e2e]

EMAIL, PASSWORD = "e2e-watcher@example.com", "a-long-enough-passw0rd"  # pragma: allowlist secret


def test_momentum_watchlist_matches_the_api(page: Any, live_server: str, shots: Path) -> None:
    expected = httpx.get(f"{live_server}/api/v1/watchlist", params={"min_score": 60}).json()
    page.goto("/app/watchlist?min_score=60")
    expect(page.locator("h1")).to_have_text("Watchlist")
    expect(page.locator('.nav-list a[data-section="watchlist"]')).to_have_attribute(
        "aria-current", "page"
    )
    page.locator(".watch-category").first.wait_for()
    assert page.locator(".watch-category").count() == len(expected["categories"])
    for cat in expected["categories"]:
        table = f"#candidates-{cat['slug']}"
        want = [c["ticker"] for c in cat["candidates"]]
        if want:
            assert column(page, table, "ticker") == want
            scores = [number(s) for s in column(page, table, "score")]
            assert scores == [c["score"] for c in cat["candidates"]]
        badge = page.locator(f"#cat-{cat['slug']}-h .badge")
        expect(badge).to_have_text(cat["priority"] or "—")
    assert page.locator(".card .value").first.inner_text() == str(expected["summary"]["candidates"])
    # Not logged in: no add buttons, and the lists panel asks to log in.
    assert page.locator("button.add-candidate").count() == 0
    page.locator("#lists-panel #login-form").wait_for()
    page.screenshot(path=str(shots / "watchlist.png"), full_page=True)


def _stored_not_held(base: str, slug: str) -> set[str]:
    """The category's members the store holds prices for and the model does not hold."""
    with httpx.Client(base_url=base, timeout=30) as api:
        members = api.get(f"/api/v1/categories/{slug}").json()["tickers"]
        model = api.get("/api/v1/portfolio/analysis").json()["analysis"]["holdings"]
        held = {h["ticker"] for h in model}
        return {
            t
            for t in members
            if t not in held
            and api.get(f"/api/v1/prices/{t}", params={"start": "2021-04-01"}).status_code == 200
        }


def test_my_watchlist_create_fill_add_remove(page: Any, live_server: str, shots: Path) -> None:
    with httpx.Client(base_url=live_server, timeout=30) as api:
        api.post("/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD})
    page.goto("/app/watchlist")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("New list").fill("Chips")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r".*list=\d+"))
    page.locator("#watchlist-items").wait_for()
    # Fill from the data-center category: the members with prices the model does not hold.
    page.get_by_label("Fill from category").select_option("data-center-infrastructure")
    page.get_by_role("button", name="Add members not held").click()
    page.locator("#watchlist-items tbody tr td a.ticker-link").first.wait_for()
    tickers = column(page, "#watchlist-items", "ticker")
    assert set(tickers) == _stored_not_held(live_server, "data-center-infrastructure")
    # Add a candidate from the momentum watchlist, then remove one.
    page.locator("button.add-candidate").first.wait_for()
    first = page.locator("button.add-candidate").first.get_attribute("data-ticker")
    page.locator("button.add-candidate").first.click()
    expect(page.locator("#watchlist-items tbody tr")).to_have_count(len(set(tickers) | {first}))
    page.get_by_role("button", name="Remove AMT").click()
    expect(page.locator("#watchlist-items a.ticker-link", has_text="AMT")).to_have_count(0)
    # A ticker the store does not hold: the API's message, nothing added.
    page.get_by_label("Ticker", exact=True).fill("TSM")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#list-status .error-message")).to_contain_text("TSM")
    page.screenshot(path=str(shots / "watchlist-mine.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(shots / "watchlist-phone.png"), full_page=True)
