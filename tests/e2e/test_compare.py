"""The comparison page in a real browser: the model beside a portfolio of the logged-in user,
its tables, and the correlation heat map drawn from the API's matrix."""

from __future__ import annotations

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

EMAIL = "e2e-compare@example.com"
PASSWORD = "a-long-enough-passw0rd"  # pragma: allowlist secret (a test user)


def _user_with_portfolio(base: str) -> int:
    with httpx.Client(base_url=base, timeout=30) as api:
        api.post("/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD})
        tokens = api.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
        assert tokens.status_code == 200, tokens.text
        headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        created = api.post("/api/v1/portfolios", json={"name": "Tech"}, headers=headers)
        assert created.status_code == 201, created.text
        pid = int(created.json()["id"])
        for tx in (
            {"date": "2020-06-01", "type": "DEPOSIT", "quantity": 20000},
            {"date": "2020-06-02", "type": "BUY", "ticker": "NVDA", "quantity": 10, "price": 88.0},
            {"date": "2020-06-02", "type": "BUY", "ticker": "MSFT", "quantity": 20, "price": 184.0},
            {"date": "2020-06-02", "type": "BUY", "ticker": "XOM", "quantity": 30, "price": 45.0},
        ):
            resp = api.post(f"/api/v1/portfolios/{pid}/transactions", json=tx, headers=headers)
            assert resp.status_code == 201, resp.text
    return pid


def _log_in(page: Any) -> None:
    page.goto("/app/portfolios")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text(f"Signed in as {EMAIL}").wait_for()


def test_the_model_alone_without_login(page: Any, live_server: str, shots: Path) -> None:
    page.goto("/app/compare")
    page.wait_for_selector("#compare-allocations tbody tr td")
    assert page.locator("#compare-allocations tbody tr").count() == 10  # 9 categories + cash
    page.wait_for_selector("#correlation-result .heat-map")
    api = httpx.get(f"{live_server}/api/v1/portfolio/correlation", timeout=30).json()
    n = len(api["tickers"])
    cells = page.locator("#correlation-result .heat-cell")
    assert cells.count() == n * n
    # The cells carry the API's values, row by row.
    shown = cells.evaluate_all("(gs) => gs.map((g) => g.dataset.value)")
    expected = ["" if v is None else f"{v:.4f}" for row in api["matrix"] for v in row]
    assert shown == expected
    nav = page.locator('.nav-list a[aria-current="page"]')
    assert nav.inner_text() == "Compare"
    page.screenshot(path=str(shots / "compare-model.png"), full_page=True)


def test_a_portfolio_beside_the_model(page: Any, live_server: str, shots: Path) -> None:
    pid = _user_with_portfolio(live_server)
    _log_in(page)
    page.goto(f"/app/compare?a=model&b={pid}")
    page.wait_for_selector("#compare-holdings tbody tr td")
    assert page.locator('select[name="b"]').input_value() == str(pid)
    tickers = page.locator("#compare-holdings tbody tr td:first-child").all_inner_texts()
    assert {"NVDA", "MSFT", "XOM"} <= set(tickers)
    headers = page.locator("#compare-performance thead th").all_inner_texts()
    assert any("Tech" in h for h in headers)
    assert page.locator("#compare-diversification tbody tr").count() == 6
    # The heat map of the portfolio: its three holdings, a full 3 x 3 matrix.
    page.locator('select[name="correlation"]').select_option(str(pid))
    expect(page.locator("#correlation-result .heat-cell")).to_have_count(9)
    diagonal = page.locator("#correlation-result .heat-cell").evaluate_all(
        "(gs) => [0, 4, 8].map((i) => gs[i].dataset.value)"
    )
    assert diagonal == ["1.0000"] * 3
    page.screenshot(path=str(shots / "compare-portfolio.png"), full_page=True)


def test_phone_width(browser: Any, live_server: str, shots: Path) -> None:
    context = browser.new_context(viewport=PHONE, base_url=live_server)
    page = context.new_page()
    page.goto("/app/compare")
    page.wait_for_selector("#correlation-result .heat-map")
    page.screenshot(path=str(shots / "compare-phone.png"), full_page=True)
    context.close()
