"""The Alerts page in a real browser: an alert fired by a real evaluation (a level between
AAPL's last two scores), delivered to a local webhook receiver; marking it read, adding and
deleting a rule, a refused webhook URL; screenshots in test-output/e2e/.

It runs its own server (the package's shares one whose settings it cannot change): with an
admin token to evaluate on demand, and private webhook targets allowed for the receiver."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or, in CI, fail) with the reason
    expect = None

from tests.e2e.conftest import copy_sample_store, served, watched_page
from tests.support.webhook_receiver import Receiver, webhook_receiver

pytestmark = [pytest.mark.e2e]

ADMIN_TOKEN = "e2e-alerts-admin-token-0123456789"
EMAIL, PASSWORD = "e2e-alerts@example.com", "a-long-enough-passw0rd"  # pragma: allowlist secret


@pytest.fixture(scope="module")
def alerts_server(
    chromium_path: str, sample_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("e2e-alerts")
    db = folder / "alerts.db"
    copy_sample_store(sample_db_url, db)
    with served(
        folder,
        db,
        ADMIN_TOKEN=ADMIN_TOKEN,
        ALERT_EVALUATION_INTERVAL_SECONDS="0",
        ALERT_WEBHOOK_ALLOW_PRIVATE="true",
    ) as base:
        yield base


def fire_an_alert(base: str, receiver: Receiver) -> dict[str, Any]:
    """A user, a rule that must fire on AAPL's last close, a webhook; then one evaluation."""
    with httpx.Client(base_url=base, timeout=60) as api:
        api.post("/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD})
        tokens = api.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
        assert tokens.status_code == 200, tokens.text
        h = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        points = api.get("/api/v1/momentum/AAPL/history?start=2021-04-01").json()["points"]
        before, after = (p["overall_momentum_score"] for p in points[-2:])
        assert before != after
        up = after > before
        rule = api.post(
            "/api/v1/alerts/rules",
            json={
                "name": "AAPL crossing",
                "condition": "score_crosses_above" if up else "score_crosses_below",
                "level": round((before + after) / 2, 3),
                "target": {"kind": "tickers", "tickers": ["AAPL"]},
            },
            headers=h,
        )
        assert rule.status_code == 201, rule.text
        hook = api.put("/api/v1/alerts/webhook", json={"url": receiver.url}, headers=h)
        assert hook.status_code == 200, hook.text
        done = api.post(
            "/api/v1/alerts/evaluate", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        assert done.status_code == 200 and done.json()["firings"] == 1, done.text
        deadline = time.monotonic() + 60
        while True:
            deliveries = api.get("/api/v1/alerts/webhook", headers=h).json()["deliveries"]
            if deliveries and deliveries[0]["status"] != "pending":
                break
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert deliveries[0]["status"] == "delivered", deliveries
        assert "AAPL: score crossed" in receiver.posts[-1]["json"]["text"]
        return {"before": before, "after": after}


def test_alerts_page(browser: Any, alerts_server: str, shots: Path) -> None:
    with webhook_receiver() as receiver:
        fire_an_alert(alerts_server, receiver)
    with watched_page(browser, alerts_server) as page:
        page.goto("/app/alerts")
        page.locator("#alerts-login a").click()
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_text(f"Signed in as {EMAIL}").wait_for()
        page.get_by_role("link", name="Alerts").click()
        page.wait_for_url("**/app/alerts")
        expect(page.locator('.nav-list a[aria-current="page"]')).to_have_text("Alerts")
        page.wait_for_selector("#alerts-table tbody tr td")
        row = page.locator("#alerts-table tbody tr")
        expect(row).to_have_count(1)
        expect(row.first).to_contain_text("AAPL")
        expect(row.first.locator('[data-status="delivered"]')).to_have_count(1)
        expect(page.locator("#deliveries-table tbody tr")).to_have_count(1)
        expect(page.locator("#webhook-current")).to_contain_text("127.0.0.1")
        expect(page.locator("#rules-table tbody tr")).to_have_count(1)
        page.screenshot(path=str(shots / "alerts.png"), full_page=True)

        page.get_by_role("button", name="Mark the AAPL alert read").click()
        expect(page.locator("#alerts-table tbody tr .alert-read")).to_have_count(1)
        page.locator("#alert-filter").select_option("unread")
        expect(page.locator("#alert-firings .empty")).to_have_text("No unread alerts.")

        page.locator("#rule-name").fill("Ratings")
        page.locator("#rule-condition").select_option("rating_change")
        expect(page.locator("#rule-level")).to_be_hidden()
        page.locator("#rule-tickers").fill("MSFT, nvda")
        page.get_by_role("button", name="Add rule").click()
        expect(page.locator("#rules-table tbody tr")).to_have_count(2)
        expect(page.locator("#rules-table")).to_contain_text("MSFT, NVDA")
        page.get_by_role("button", name="Delete rule Ratings").click()
        expect(page.locator("#rules-table tbody tr")).to_have_count(1)

        page.locator("#rule-name").fill("No level")
        page.locator("#rule-condition").select_option("score_crosses_above")
        page.locator("#rule-level").fill("101")
        page.locator("#rule-tickers").fill("MSFT")
        page.locator("#rule-level").evaluate("(n) => n.removeAttribute('max')")
        page.get_by_role("button", name="Add rule").click()
        expect(page.locator("#rule-status .error-box")).to_contain_text("invalid_input")

        with_credentials = "https://user:pw@example.com/hook"  # pragma: allowlist secret
        page.locator("#webhook-url").fill(with_credentials)
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#webhook-status .error-box")).to_contain_text("credentials")
        page.screenshot(path=str(shots / "alerts-after-actions.png"), full_page=True)
