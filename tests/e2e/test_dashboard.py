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


# ---------------------------------------------------------------- wide tables, labels, nav, errors

VISIBLE_IN_ITS_BOX = """(cell) => {
    // Whether `cell` is fully inside its table's scroll box and the screen, and not covered
    // (by a pinned column or anything else) at its centre.
    const r = cell.getBoundingClientRect();
    const b = cell.closest('.table-wrap').getBoundingClientRect();
    const inside = r.width > 0 && r.left >= b.left - 1 && r.right <= b.right + 1
        && r.left >= -1 && r.right <= window.innerWidth + 1;
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return inside && !!hit && cell.contains(hit);
}"""


def _header_keys(page: Any, table: str) -> list[str]:
    keys = page.locator(f"{table} thead th").evaluate_all(
        "(ths) => ths.map((th) => th.dataset.key)"
    )
    return [str(k) for k in keys]


def _scroll_box(page: Any, table: str, left: float) -> None:
    page.locator(table).evaluate(f"(t) => {{ t.closest('.table-wrap').scrollLeft = {left}; }}")


def _visible(page: Any, selector: str) -> bool:
    return bool(page.locator(selector).first.evaluate(VISIBLE_IN_ITS_BOX))


def test_leaderboard_every_column_reachable_at_1280(page: Any, shots: Path) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/app/")
    table = "#leaderboard-table"
    rows(page, table).nth(499).wait_for()
    wrap = page.locator(f"{table}").evaluate_handle("(t) => t.closest('.table-wrap')")
    # The table scrolls in its own box no taller than the screen, so its sideways scroll bar is
    # in view with the rows (not after 504 of them).
    page.locator(table).evaluate("(t) => t.closest('.table-wrap').scrollIntoView()")
    size = wrap.evaluate(
        "(w) => ({client: w.clientHeight, scroll: w.scrollHeight, width: w.clientWidth,"
        " scrollWidth: w.scrollWidth, bottom: w.getBoundingClientRect().bottom})"
    )
    assert size["scroll"] > size["client"], "the 504 rows scroll inside the box"
    assert size["bottom"] <= 900 + 1, f"the box's bottom edge is below the screen: {size}"
    keys = _header_keys(page, table)
    assert keys == ["rank", "ticker", "name", "sector", "category", "score", "rating"] + [
        "percentile",
        "price",
        "technical",
        "relative",
        "close",
    ]
    # Every header is in view at some sideways scroll of the box, and is then not hidden
    # under the pinned columns; the ticker column stays in view at every position.
    reached = set()
    step = max(1, size["width"] // 2)
    for left in range(0, size["scrollWidth"] + step, step):
        _scroll_box(page, table, left)
        for key in keys:
            if _visible(page, f'{table} thead th[data-key="{key}"]'):
                reached.add(key)
        assert _visible(page, f'{table} thead th[data-key="ticker"]'), left
        assert _visible(page, f"{table} tbody tr:first-child td:nth-child(2)"), left
    assert reached == set(keys), f"never in view: {set(keys) - reached}"
    # Scrolled to the far right: the last column and the pinned rank and ticker side by side.
    _scroll_box(page, table, size["scrollWidth"])
    assert _visible(page, f'{table} thead th[data-key="close"]')
    assert _visible(page, f'{table} thead th[data-key="rank"]')
    page.screenshot(path=str(shots / "leaderboard-1280-scrolled.png"))
    # The header row stays on top while the rows scroll inside the box.
    wrap.evaluate("(w) => { w.scrollTop = 3000; }")
    assert _visible(page, f'{table} thead th[data-key="score"]') or _visible(
        page, f'{table} thead th[data-key="close"]', table
    )
    assert _visible(page, f'{table} thead th[data-key="ticker"]')


@pytest.mark.parametrize("width", [375, 1280])
def test_leaderboard_score_and_ticker_stay_in_view(
    browser: Any, live_server: str, shots: Path, width: int
) -> None:
    viewport = {"width": width, "height": 812}
    context = browser.new_context(viewport=viewport, base_url=live_server, is_mobile=width < 640)
    page = context.new_page()
    try:
        page.goto("/app/")
        table = "#leaderboard-table"
        rows(page, table).nth(499).wait_for()
        page.locator(table).evaluate("(t) => t.closest('.table-wrap').scrollIntoView()")
        score_th = f'{table} thead th[data-key="score"]'
        score_td = f"{table} tbody tr:first-child td:nth-child(6)"
        ticker_td = f"{table} tbody tr:first-child td:nth-child(2)"
        # Without any sideways scrolling, then scrolled halfway and fully: the score and the
        # ticker of a row are both in view and readable.
        width_of = page.locator(table).evaluate("(t) => t.closest('.table-wrap').scrollWidth")
        for left in (0, width_of // 2, width_of):
            _scroll_box(page, table, left)
            for sel in (score_th, score_td, ticker_td):
                assert _visible(page, sel), (width, left, sel)
        assert number(page.locator(score_td).inner_text()) == 94.40  # CSX, the top score
        assert page.locator(ticker_td).inner_text() == "CSX"
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the page is {overflow}px wider than the screen"
        _scroll_box(page, table, width_of // 2)
        page.screenshot(path=str(shots / f"leaderboard-{width}-score.png"))
    finally:
        context.close()


def _boxes(page: Any, selector: str) -> list[dict[str, float]]:
    return list(
        page.locator(selector).evaluate_all(
            "(ns) => ns.map((n) => { const r = n.getBoundingClientRect();"
            " return {x: r.x, y: r.y, w: r.width, h: r.height,"
            " name: n.textContent || n.dataset.series}; })"
        )
    )


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE])
def test_rating_labels_clear_of_the_score_lines(
    browser: Any, live_server: str, shots: Path, viewport: dict[str, int]
) -> None:
    context = browser.new_context(viewport=viewport, base_url=live_server)
    page = context.new_page()
    try:
        page.goto("/app/security/NVDA")
        chart = "#history-chart"
        page.wait_for_selector(f'{chart} path[data-series="Overall"]')
        labels = _boxes(page, f"{chart} text.guide-label")
        assert [lb["name"] for lb in labels] == ["Strong Buy", "Buy", "Hold", "Weak Hold"]
        lines = _boxes(page, f"{chart} path.line")
        assert {ln["name"] for ln in lines} == {"Overall", "Price", "Technical", "Relative"}
        # The whole box of every line (everywhere it could go) against each label's box.
        for lb in labels:
            for ln in lines:
                assert not _overlap(lb, ln), (lb, ln)
        for i, a in enumerate(labels):
            for b in labels[i + 1 :]:
                assert not _overlap(a, b), (a, b)
        # Each label is inside the chart, beside its own guide line (Strong Buy highest).
        svg = _boxes(page, f"{chart} svg")[0]
        guides = _boxes(page, f"{chart} line.guide")
        for lb, guide in zip(labels, guides):
            assert svg["x"] <= lb["x"] and lb["x"] + lb["w"] <= svg["x"] + svg["w"] + 0.5
            assert lb["x"] >= guide["x"] + guide["w"]
            assert abs((lb["y"] + lb["h"] / 2) - guide["y"]) < 8
        assert [lb["y"] for lb in labels] == sorted(lb["y"] for lb in labels)
        page.locator("#history-panel").screenshot(
            path=str(shots / f"history-labels-{viewport['width']}.png")
        )
    finally:
        context.close()


def test_navigation_highlights_no_section_on_a_security_page(page: Any, shots: Path) -> None:
    page.goto("/app/")
    current = page.locator(".nav-list a[aria-current=page]")
    expect(current).to_have_text("Leaderboard")
    page.get_by_label("Go to ticker").fill("nvda")
    page.get_by_label("Go to ticker").press("Enter")
    page.wait_for_url("**/app/security/NVDA")
    expect(page.locator("h1")).to_have_text("NVDA · Nvidia Corporation")
    expect(current).to_have_count(0)
    page.screenshot(path=str(shots / "security-nav.png"))
    # Back on a section's page, its link is highlighted again.
    page.locator(".nav-list a", has_text="Model portfolio").click()
    expect(current).to_have_text("Model portfolio")
    page.goto("/app/security/ZZZZ")
    page.get_by_role("alert").wait_for()
    expect(current).to_have_count(0)


def test_an_unknown_tickers_error_is_shown_once(page: Any, shots: Path) -> None:
    page.goto("/app/security/ZZZZ")
    alert = page.get_by_role("alert")
    expect(alert).to_have_count(1)
    text = page.locator("main").inner_text()
    message = "no prices stored for ZZZZ, and no live provider is configured (DATA_PROVIDER=none)"
    assert text.count("no prices stored") == 1, text
    assert message in alert.inner_text()
    # The ticker is the heading and is in the message: no "ticker: ZZZZ" line repeats it.
    assert text.count("ZZZZ") == 2, text
    assert "not_found (HTTP 404)" in alert.inner_text()

    # With a live provider, the API's message ends with the provider's reason and the details
    # repeat it: the page says it once.
    reason = "Yahoo returned no rows for ZZZQ (possibly delisted)"
    page.route(
        "**/api/v1/momentum/ZZZQ",
        lambda route: route.fulfill(
            status=404,
            json={
                "error": {
                    "code": "not_found",
                    "message": f"no prices stored for ZZZQ, and provider 'yfinance' has none: "
                    f"{reason}",
                    "details": {"ticker": "ZZZQ", "provider": "yfinance", "reason": reason},
                }
            },
        ),
    )
    page.goto("/app/security/ZZZQ")
    expect(alert).to_have_count(1)
    text = page.locator("main").inner_text()
    assert text.count(reason) == 1, text
    assert text.count("yfinance") == 1, text
    assert text.count("no prices stored") == 1, text
    page.screenshot(path=str(shots / "security-unknown-once.png"), full_page=True)
