"""The strategy backtest page in a real browser: the figures, the value chart against SPY
(drawn from the API's series), the rebalances and trades, the caveats, and a refused input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.e2e]


def test_the_backtest_with_its_chart_and_trades(page: Any, live_server: str, shots: Path) -> None:
    page.goto("/app/strategy?cost_bps=10&min_trade=100")
    page.wait_for_selector("#strategy-chart path[data-series]")
    api = httpx.get(
        f"{live_server}/api/v1/research/strategy?cost_bps=10&min_trade=100", timeout=60
    ).json()
    lines = page.locator("#strategy-chart path[data-series]")
    assert lines.count() == 2
    count = page.locator('#strategy-chart path[data-series="Model rule"]').get_attribute(
        "data-count"
    )
    assert int(count) == len(api["series"])
    assert page.locator("#rebalances-table tbody tr").count() == len(api["rebalances"])
    trades = sum(len(r["trades"]) for r in api["rebalances"])
    assert page.locator("#strategy-trades tbody tr").count() == trades
    assert page.locator("#strategy-caveats li").count() == len(api["caveats"])
    twr = f"{api['strategy']['twr'] * 100:+.1f}%"
    assert twr.lstrip("+") in page.locator("#strategy-result .cards").inner_text()
    assert page.locator('.nav-list a[aria-current="page"]').inner_text() == "Strategy"
    page.screenshot(path=str(shots / "strategy.png"), full_page=True)


def test_a_refused_input_shows_the_rule(page: Any, shots: Path) -> None:
    page.goto("/app/strategy")
    page.wait_for_selector("#strategy-chart path[data-series]")
    page.get_by_label("Cash ($)").fill("100")
    page.get_by_label("Smallest trade ($)").fill("500")
    page.get_by_role("button", name="Run").click()
    page.wait_for_selector("#strategy-result .error-box")
    assert "min_trade" in page.locator("#strategy-result .error-box").inner_text()
    page.screenshot(path=str(shots / "strategy-refused.png"), full_page=True)
