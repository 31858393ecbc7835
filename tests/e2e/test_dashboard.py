"""The dashboard at /app in a real browser, against a server over the shipped sample.

Each test loads a page, checks that its tables fill and its charts draw (SVG paths and bars made
from the data), clicks what a user would click, and saves a screenshot in test-output/e2e/."""

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

pytestmark = [pytest.mark.e2e]

SAMPLE_AS_OF = "2021-04-21"


def rows(page: Any, table: str) -> Any:
    return page.locator(f"{table} tbody tr")


def column(page: Any, table: str, key: str) -> list[str]:
    """The texts of one column (by its header's data-key) in display order."""
    index = page.locator(f"{table} thead th").evaluate_all(
        f"(ths) => ths.findIndex((th) => th.dataset.key === {key!r})"
    )
    return page.locator(f"{table} tbody tr td:nth-child({index + 1})").all_inner_texts()


def number(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text))


def path_points(page: Any, selector: str) -> int:
    return int(page.locator(selector).first.get_attribute("data-count"))


def test_leaderboard_fills_sorts_searches_and_filters(page: Any, shots: Path) -> None:
    page.goto("/app/")
    table = "#leaderboard-table"
    # Locator waits, not wait_for_function: that evaluates a string, which the CSP refuses.
    rows(page, table).nth(499).wait_for()
    assert page.locator("#as-of-date").inner_text() == SAMPLE_AS_OF
    assert page.locator("#data-source").inner_text() == "sample"
    # Every security scored on the last day, beyond the 500 the top endpoint gives at once.
    assert rows(page, table).count() == 504
    assert "Showing 504 of 504" in page.locator("#leaderboard-count").inner_text()
    scores = [number(s) for s in column(page, table, "score")]
    assert scores == sorted(scores, reverse=True)
    page.screenshot(path=str(shots / "leaderboard.png"))

    # Sort by ticker with a click, then by percentile from the keyboard.
    page.get_by_role("button", name="Ticker").click()
    assert page.locator(f'{table} th[data-key="ticker"]').get_attribute("aria-sort") == (
        "ascending"
    )
    tickers = column(page, table, "ticker")
    assert tickers == sorted(tickers) and tickers[0] == "A"
    page.locator(f'{table} th[data-key="percentile"] button').focus()
    page.keyboard.press("Enter")
    assert page.locator(f'{table} th[data-key="percentile"]').get_attribute("aria-sort") == (
        "descending"
    )
    percentiles = [number(s) for s in column(page, table, "percentile")]
    assert percentiles == sorted(percentiles, reverse=True) and percentiles[0] == 100.0

    # Search by name or ticker.
    page.get_by_label("Search").fill("nvidia")
    assert column(page, table, "ticker") == ["NVDA"]
    page.get_by_label("Search").fill("")

    # Filter by sector, then by category.
    page.get_by_label("Sector").select_option("Energy")
    sectors = column(page, table, "sector")
    assert 0 < len(sectors) < 504 and set(sectors) == {"Energy"}
    page.get_by_label("Sector").select_option("")
    page.get_by_label("Category", exact=True).select_option("large-cap-anchors")
    assert set(column(page, table, "category")) == {"Large-Cap Anchors"}
    page.get_by_label("Category", exact=True).select_option("")

    # Another universe: the model portfolio's holdings that have prices.
    page.get_by_label("Universe").select_option("model-portfolio")
    expect(rows(page, table)).to_have_count(10)
    assert "10 scored" in page.locator("#leaderboard-meta").inner_text()
    assert "universe=model-portfolio" in page.url
    page.screenshot(path=str(shots / "leaderboard-model-portfolio.png"), full_page=True)


def test_security_page_from_a_leaderboard_link(page: Any, live_server: str, shots: Path) -> None:
    page.goto("/app/?universe=model-portfolio")
    page.locator("#leaderboard-table a.ticker-link", has_text="NVDA").click()
    page.wait_for_url("**/app/security/NVDA")
    expect(page.locator("h1")).to_have_text("NVDA · Nvidia Corporation")
    expect(page.locator("#overall-score")).to_have_text("92.90")
    expect(page.locator("#security-category")).to_have_text("Large-Cap Anchors")
    expect(page.locator("#security-sector")).to_have_text("Information Technology")

    # Price chart: a year of closes and the three averages, all of it with "All".
    price = "#price-chart path[data-series"
    page.wait_for_selector(f'{price}="Adj. close"]')
    assert 240 <= path_points(page, f'{price}="Adj. close"]') <= 260
    for name in ("SMA 20", "SMA 50", "SMA 200"):
        assert path_points(page, f'{price}="{name}"]') > 200
    page.get_by_role("group", name="Price chart range").get_by_role("button", name="All").click()
    assert path_points(page, f'{price}="Adj. close"]') == 519
    # The 200-day average starts on the 200th close.
    assert path_points(page, f'{price}="SMA 200"]') == 519 - 199

    # Score history: overall and the three components over the range asked.
    history = "#history-chart path[data-series"
    page.wait_for_selector(f'{history}="Overall"]')
    assert path_points(page, f'{history}="Overall"]') > 200
    page.locator("#history-start").fill("2021-01-04")
    page.locator("#history-end").fill("2021-03-31")
    page.locator("#history-panel").get_by_role("button", name="Show").click()
    expect(page.locator(f'{history}="Overall"]')).to_have_attribute("data-count", "61")
    for name in ("Price", "Technical", "Relative"):
        assert path_points(page, f'{history}="{name}"]') == 61
    assert "from 2021-01-04 to 2021-03-31" in page.locator("#history-summary").inner_text()

    # The breakdown in words, ending on the score the header shows.
    breakdown = page.locator("#breakdown-panel")
    breakdown.get_by_text("Trend 20.0 of 20").wait_for()
    assert "14-day RSI" in breakdown.inner_text()
    assert page.locator("#bd-overall").inner_text() == "92.90 / 100"
    # Every point shown is the API's own breakdown (the page derives none of them).
    api = httpx.get(f"{live_server}/api/v1/momentum/NVDA/breakdown", timeout=30).json()
    of = {"trend": 20, "magnitude": 40, "acceleration": 40}
    of |= {"rsi_score": 100, "volume_score": 100, "roc_score": 100}
    for key, top in of.items():
        shown = page.locator(f"#bd-{key.replace('_', '-')}").inner_text()
        assert shown == f"{api[key]:.1f} of {top}", key
    for key in ("price", "technical", "relative"):
        shown = page.locator(f"#bd-{key}").inner_text()
        assert shown == f"{api[f'{key}_momentum']:.1f} / 100", key
    assert api["volume_score"] == pytest.approx(32.37, abs=0.01)  # not a round 100: a real check
    sma200 = api["sma"]["sma200"]
    assert f"above its 200-day average of ${sma200:,.2f}" in breakdown.inner_text()
    assert "× 0.35" in breakdown.inner_text()  # the technical weight, as the API returns it
    page.screenshot(path=str(shots / "security.png"), full_page=True)

    # The dark theme, remembered, and still drawing.
    page.get_by_role("button", name="Dark theme").click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    page.screenshot(path=str(shots / "security-dark.png"), full_page=True)


def test_a_ticker_without_data_shows_the_message(page: Any, shots: Path) -> None:
    page.goto("/app/")
    page.get_by_label("Go to ticker").fill("zzzz")
    page.get_by_label("Go to ticker").press("Enter")
    page.wait_for_url("**/app/security/ZZZZ")
    alert = page.get_by_role("alert")
    assert "No data" in alert.inner_text()
    assert "no prices stored for ZZZZ" in alert.inner_text()
    assert "not_found" in alert.inner_text()
    page.screenshot(path=str(shots / "security-no-data.png"), full_page=True)


def test_model_portfolio(page: Any, shots: Path) -> None:
    page.goto("/app/portfolio")
    page.wait_for_selector("#holdings-table tbody tr")
    assert rows(page, "#holdings-table").count() == 20
    tickers = column(page, "#holdings-table", "ticker")
    assert {"NVDA", "GOOGL", "MP"} <= set(tickers)
    # Allocation: an actual and a target bar per category with data.
    bars = page.locator("#allocation-chart rect.bar")
    assert bars.count() >= 18
    assert page.locator('#allocation-chart rect[data-series="Target"]').count() == 9
    assert rows(page, "#allocation-table").count() == 9
    # The rebalance plan lists whole-share trades.
    page.wait_for_selector("#trades-table tbody tr td")
    sides = column(page, "#trades-table", "side")
    assert sides and set(sides) <= {"BUY", "SELL"}
    # Value against the benchmark: two lines over a year of trading days.
    page.wait_for_selector("#performance-chart path[data-series]")
    lines = page.locator("#performance-chart path[data-series]")
    assert lines.count() == 2
    assert path_points(page, '#performance-chart path[data-series="SPY"]') > 200
    # The benchmark choices come from the service's reference data, the default selected.
    options = page.locator('select[name="benchmark"] option').all_inner_texts()
    assert options == ["SPY", "QQQ", "MTUM", "AIQ"]
    assert page.locator('select[name="benchmark"]').input_value() == "SPY"
    page.screenshot(path=str(shots / "model-portfolio.png"), full_page=True)


def _api_user_with_portfolio(base: str) -> tuple[str, str]:
    """Register a user through the API and give them a portfolio with a short ledger."""
    email, password = "e2e-reader@example.com", "a-long-enough-passw0rd"
    with httpx.Client(base_url=base, timeout=30) as api:
        assert api.post(
            "/api/v1/auth/register", json={"email": email, "password": password}
        ).status_code in (201, 409)
        tokens = api.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert tokens.status_code == 200, tokens.text
        headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        created = api.post("/api/v1/portfolios", json={"name": "Growth"}, headers=headers)
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        for tx in (
            {"date": "2020-06-01", "type": "DEPOSIT", "quantity": 10000, "price": 1},
            {"date": "2020-06-02", "type": "BUY", "ticker": "NVDA", "quantity": 10, "price": 88.0},
            {"date": "2020-06-02", "type": "BUY", "ticker": "MSFT", "quantity": 20, "price": 184.0},
        ):
            resp = api.post(f"/api/v1/portfolios/{pid}/transactions", json=tx, headers=headers)
            assert resp.status_code == 201, resp.text
    return email, password


def test_log_in_and_see_a_portfolio(page: Any, live_server: str, shots: Path) -> None:
    email, password = _api_user_with_portfolio(live_server)
    page.goto("/app/portfolios")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.screenshot(path=str(shots / "login.png"), full_page=True)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text(f"Signed in as {email}").wait_for()
    page.locator("#portfolios-table a.portfolio-link", has_text="Growth").click()
    page.wait_for_url(re.compile(r".*/app/portfolios/\d+$"))
    expect(page.locator("h1")).to_have_text("Growth")
    page.wait_for_selector("#positions-table tbody tr td")
    assert sorted(column(page, "#positions-table", "ticker")) == ["MSFT", "NVDA"]
    assert column(page, "#positions-table", "shares") in (["10", "20"], ["20", "10"])
    page.wait_for_selector("#holdings-table tbody tr td")
    assert sorted(column(page, "#holdings-table", "ticker")) == ["MSFT", "NVDA"]
    page.wait_for_selector("#allocation-chart rect.bar")
    page.wait_for_selector("#performance-chart path[data-series]")
    assert path_points(page, '#performance-chart path[data-series="SPY"]') > 200
    page.screenshot(path=str(shots / "my-portfolio.png"), full_page=True)


def test_operations_page(page: Any, shots: Path) -> None:
    page.goto("/app/ops")
    db = page.locator("#db-panel")
    db.get_by_text("sqlite", exact=True).wait_for()
    assert "261,105" in db.inner_text()
    assert "2019-04-01 to 2021-04-21" in db.inner_text()
    assert page.locator("#last-refresh").inner_text() == "never"
    cache = page.locator("#cache-panel")
    cache.get_by_text("memory", exact=True).wait_for()
    assert "Hit ratio" in cache.inner_text()
    page.locator("#ready-panel").get_by_text("ready", exact=True).wait_for()
    page.screenshot(path=str(shots / "operations.png"), full_page=True)


def test_spinner_while_loading_and_the_api_error_message(page: Any, shots: Path) -> None:
    held: list[Any] = []
    page.route("**/database/status", lambda route: held.append(route))  # answered later
    page.route(
        "**/api/v1/cache/stats",
        lambda route: route.fulfill(
            status=503,
            json={
                "error": {
                    "code": "cache_unavailable",
                    "message": "the cache cannot be reached: connection refused",
                    "details": {"backend": "redis"},
                }
            },
        ),
    )
    page.goto("/app/ops")
    spinner = page.locator("#db-panel [role=status]")
    expect(spinner).to_be_visible()
    expect(spinner).to_contain_text("Loading the database status")
    alert = page.locator("#cache-panel [role=alert]")
    expect(alert).to_contain_text("the cache cannot be reached: connection refused")
    expect(alert).to_contain_text("cache_unavailable (HTTP 503)")
    expect(alert).to_contain_text("backend: redis")
    page.screenshot(path=str(shots / "operations-loading-and-error.png"), full_page=True)
    assert held, "the page asked for the database status"
    held[0].continue_()
    expect(page.locator("#db-panel")).to_contain_text("sqlite")
    expect(spinner).to_have_count(0)


@pytest.mark.parametrize(
    "path, name", [("/app/", "leaderboard"), ("/app/security/NVDA", "security")]
)
def test_phone_width(browser: Any, live_server: str, shots: Path, path: str, name: str) -> None:
    context = browser.new_context(viewport=PHONE, base_url=live_server, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(path)
        if name == "leaderboard":
            rows(page, "#leaderboard-table").nth(499).wait_for()
        else:
            page.wait_for_selector('#price-chart path[data-series="Adj. close"]')
            page.wait_for_selector('#history-chart path[data-series="Overall"]')
        # Nothing wider than the screen but the tables, which scroll in their own box.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the page is {overflow}px wider than the phone"
        page.screenshot(path=str(shots / f"{name}-phone.png"))
    finally:
        context.close()
