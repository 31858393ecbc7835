"""A portfolio's ledger on its page, in a real browser: the transactions listed in ledger
order, filtered (type, ticker, dates) exactly as the API filters them, an entry deleted, a delete
the API refuses shown with the API's own reason, a CSV imported (and a bad one refused with each
line's error) and the ledger exported. Screenshots in test-output/e2e/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or, in CI, fail) with the reason
    expect = None

pytestmark = [pytest.mark.e2e]

PASSWORD = "a-long-enough-passw0rd"  # pragma: allowlist secret
LEDGER = [
    {"date": "2020-06-01", "type": "DEPOSIT", "quantity": "10000"},
    {"date": "2020-06-02", "type": "BUY", "ticker": "NVDA", "quantity": "10", "price": "88"},
    {"date": "2020-06-02", "type": "BUY", "ticker": "MSFT", "quantity": "20", "price": "184"},
    {"date": "2020-07-01", "type": "SELL", "ticker": "NVDA", "quantity": "5", "price": "100"},
    {"date": "2020-08-20", "type": "DIVIDEND", "ticker": "MSFT", "quantity": "20", "price": "0.51"},
    {"date": "2020-09-01", "type": "FEE", "quantity": "5", "note": "account fee"},
]


class Owner:
    """A user with one portfolio holding LEDGER, and an API client with their token."""

    def __init__(self, base: str, email: str) -> None:
        self.base = base
        self.email = email
        self.api = httpx.Client(base_url=base, timeout=30)
        assert self.api.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        ).status_code in (201, 409)
        tokens = self.api.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert tokens.status_code == 200, tokens.text
        self.api.headers["Authorization"] = f"Bearer {tokens.json()['access_token']}"
        created = self.api.post("/api/v1/portfolios", json={"name": "Ledger"})
        assert created.status_code == 201, created.text
        self.pid = created.json()["id"]
        for tx in LEDGER:
            resp = self.api.post(f"/api/v1/portfolios/{self.pid}/transactions", json=tx)
            assert resp.status_code == 201, resp.text

    def transactions(self, **params: str) -> list[dict[str, Any]]:
        resp = self.api.get(f"/api/v1/portfolios/{self.pid}/transactions", params=params)
        assert resp.status_code == 200, resp.text
        return list(resp.json()["items"])


@pytest.fixture
def owner(live_server: str, request: pytest.FixtureRequest) -> Iterator[Owner]:
    # One user per test: the server (and its store) is shared by the whole e2e package.
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")
    o = Owner(live_server, f"e2e-ledger-{name}@example.com")
    yield o
    o.api.close()


def open_ledger(page: Any, owner: Owner) -> None:
    page.goto(f"/app/portfolios/{owner.pid}")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_have_text("Ledger")
    page.wait_for_selector("#ledger-table tbody tr[data-id]")


def shown_ids(page: Any) -> list[int]:
    ids = page.locator("#ledger-table tbody tr").evaluate_all(
        "(trs) => trs.map((tr) => tr.dataset.id || null)"
    )
    return [int(i) for i in ids if i is not None]


def cells(page: Any, key: str) -> list[str]:
    index = page.locator("#ledger-table thead th").evaluate_all(
        f"(ths) => ths.findIndex((th) => th.dataset.key === {key!r})"
    )
    return list(page.locator(f"#ledger-table tbody tr td:nth-child({index + 1})").all_inner_texts())


def filter_ledger(page: Any, **values: str) -> None:
    form = page.locator("#ledger-filter")
    form.get_by_label("Type").select_option(values.get("type", ""))
    form.get_by_label("Ticker").fill(values.get("ticker", ""))
    form.get_by_label("From").fill(values.get("start", ""))
    form.get_by_label("To").fill(values.get("end", ""))
    form.get_by_role("button", name="Filter").click()


def expect_ids(page: Any, ids: list[int]) -> None:
    expect(page.locator("#ledger-table tbody tr")).to_have_count(max(1, len(ids)))
    if ids:
        expect(page.locator("#ledger-table tbody tr").first).to_have_attribute(
            "data-id", str(ids[0])
        )
    assert shown_ids(page) == ids


def test_ledger_lists_and_filters(page: Any, owner: Owner, shots: Path) -> None:
    open_ledger(page, owner)
    everything = owner.transactions()
    assert [t["type"] for t in everything] == [t["type"] for t in LEDGER]
    # Every entry, in ledger order, with the API's values.
    assert shown_ids(page) == [t["id"] for t in everything]
    assert cells(page, "date") == [t["date"] for t in LEDGER]
    assert cells(page, "type") == [t["type"] for t in LEDGER]
    assert cells(page, "ticker") == [t.get("ticker", "—") for t in LEDGER]
    assert cells(page, "quantity") == ["10,000", "10", "20", "5", "20", "5"]
    assert cells(page, "price") == ["—", "$88.00", "$184.00", "$100.00", "$0.51", "—"]
    assert cells(page, "note")[-1] == "account fee"
    assert "Transactions 1–6 of 6" in page.locator("#ledger-table caption").inner_text()
    page.locator("#ledger-panel").screenshot(path=str(shots / "ledger.png"))

    # Each filter gives what the API gives for the same filter (and what the ledger says).
    cases = [
        ({"type": "BUY"}, ["BUY", "BUY"]),
        ({"ticker": "nvda"}, ["BUY", "SELL"]),
        ({"start": "2020-06-02", "end": "2020-07-01"}, ["BUY", "BUY", "SELL"]),
        ({"type": "BUY", "ticker": "MSFT"}, ["BUY"]),
        ({"start": "2020-08-01"}, ["DIVIDEND", "FEE"]),
    ]
    for values, types in cases:
        filter_ledger(page, **values)
        api_params = {k: v.upper() if k == "ticker" else v for k, v in values.items()}
        expected = owner.transactions(**api_params)
        assert [t["type"] for t in expected] == types
        expect_ids(page, [t["id"] for t in expected])
        assert cells(page, "type") == types
        assert "matching the filter" in page.locator("#ledger-table caption").inner_text()
    # The filter is in the address: a reload keeps it.
    query = parse_qs(urlparse(page.url).query)
    assert query == {"tx_start": ["2020-08-01"]}
    page.reload()
    page.get_by_label("Email").wait_for(state="detached")
    page.wait_for_selector("#ledger-table tbody tr[data-id]")
    assert cells(page, "type") == ["DIVIDEND", "FEE"]
    assert page.locator("#ledger-filter").get_by_label("From").input_value() == "2020-08-01"
    # Nothing matches: said so.
    filter_ledger(page, type="WITHDRAW")
    expect(page.locator("#ledger-table tbody")).to_contain_text("No transaction matches")
    page.locator("#ledger-reset").click()
    expect_ids(page, [t["id"] for t in everything])
    page.locator("#ledger-panel").screenshot(path=str(shots / "ledger-filtered.png"))


def test_ledger_delete_and_a_refused_delete(page: Any, owner: Owner, shots: Path) -> None:
    open_ledger(page, owner)
    ids = [t["id"] for t in owner.transactions()]
    buy_nvda, fee = ids[1], ids[5]
    # Deleting the NVDA purchase would leave the later sale selling shares never bought: the
    # API refuses, and the page shows the API's message word for word.
    refused = owner.api.delete(f"/api/v1/portfolios/{owner.pid}/transactions/{buy_nvda}")
    assert refused.status_code == 422, refused.text
    message = refused.json()["error"]["message"]
    assert f"would break transaction {ids[3]}" in message
    row = page.locator(f'#ledger-table tr[data-id="{buy_nvda}"]')
    row.get_by_role("button", name=re.compile(r"^Delete transaction")).click()
    row.get_by_role("button", name=re.compile(r"^Yes, delete")).click()
    box = page.locator("#delete-refused [role=alert]")
    expect(box).to_contain_text(message)
    expect(box).to_contain_text(f"Transaction {buy_nvda} was not deleted")
    expect(box).to_contain_text("ledger_rule (HTTP 422)")
    assert box.inner_text().count(message) == 1
    # Nothing changed, on the page and in the API.
    assert shown_ids(page) == ids
    assert [t["id"] for t in owner.transactions()] == ids
    expect(row.get_by_role("button", name=re.compile(r"^Delete transaction"))).to_be_enabled()
    page.locator("#ledger-panel").screenshot(path=str(shots / "ledger-delete-refused.png"))

    # "Cancel" deletes nothing.
    row = page.locator(f'#ledger-table tr[data-id="{fee}"]')
    row.get_by_role("button", name=re.compile(r"^Delete transaction")).click()
    row.get_by_role("button", name="Cancel").click()
    assert [t["id"] for t in owner.transactions()] == ids
    # The fee can go: the row leaves the table and the cash goes up by the fee.
    cash_before = owner.api.get(f"/api/v1/portfolios/{owner.pid}").json()["summary"]["cash"]
    row.get_by_role("button", name=re.compile(r"^Delete transaction")).click()
    row.get_by_role("button", name=re.compile(r"^Yes, delete")).click()
    expect(page.locator(f'#ledger-table tr[data-id="{fee}"]')).to_have_count(0)
    page.wait_for_selector("#ledger-table tbody tr[data-id]")
    assert shown_ids(page) == ids[:5]
    assert [t["id"] for t in owner.transactions()] == ids[:5]
    cash_after = owner.api.get(f"/api/v1/portfolios/{owner.pid}").json()["summary"]["cash"]
    assert float(cash_after) - float(cash_before) == pytest.approx(5.0)
    page.screenshot(path=str(shots / "ledger-after-delete.png"), full_page=True)


def test_ledger_csv_import_and_export(page: Any, owner: Owner, shots: Path) -> None:
    open_ledger(page, owner)
    before = [t["id"] for t in owner.transactions()]
    bad = (
        "date,type,ticker,quantity,price,fees,note\n"
        "2020-10-01,BUY,MSFT,2,200,0,fine on its own\n"
        "2020-10-02,BUY,MSFT,-3,200,0,negative\n"
        "2020-10-03,BUYY,MSFT,1,200,0,no such type\n"
        "2020-10-05,SELL,NVDA,50,110,0,more than held\n"
    ).encode()
    # What the API says of this file, line by line.
    answer = owner.api.post(
        f"/api/v1/portfolios/{owner.pid}/transactions/import",
        content=bad,
        headers={"Content-Type": "text/csv"},
    )
    assert answer.status_code == 422, answer.text
    api_errors = answer.json()["error"]["details"]["errors"]
    assert {e["line"] for e in api_errors} >= {3, 4}
    page.locator("#import-file").set_input_files(
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": bad}]
    )
    page.locator("#import-button").click()
    listed = page.locator("#import-errors li")
    expect(listed).to_have_count(len(api_errors))
    texts = listed.all_inner_texts()
    for err, shown in zip(api_errors, texts):
        assert shown.startswith(f"Line {err['line']}"), shown
        assert err["reason"] in shown
        if err.get("field"):
            assert f"· {err['field']}" in shown
    status = page.locator("#import-status").inner_text()
    assert status.count(answer.json()["error"]["message"]) == 1  # "2 row(s) rejected; ..."
    assert "invalid_import (HTTP 422)" in status
    assert [t["id"] for t in owner.transactions()] == before  # all or nothing
    page.locator("#ledger-panel").screenshot(path=str(shots / "ledger-import-refused.png"))

    good = (
        "date,type,ticker,quantity,price,fees,note\n"
        "2020-10-01,BUY,MSFT,2,200,1,second lot\n"
        '2020-10-02,DEPOSIT,,500,,,"top-up, October"\n'
    ).encode()
    page.locator("#import-file").set_input_files(
        files=[{"name": "good.csv", "mimeType": "text/csv", "buffer": good}]
    )
    page.locator("#import-button").click()
    expect(page.locator("#import-done")).to_have_text("Imported 2 transactions from good.csv.")
    after = owner.transactions()
    assert len(after) == len(before) + 2
    expect_ids(page, [t["id"] for t in after])
    assert cells(page, "note")[-1] == "top-up, October"

    # The export is the API's export, byte for byte, saved under the API's file name.
    with page.expect_download() as info:
        page.locator("#export-button").click()
    download = info.value
    assert download.suggested_filename == f"portfolio-{owner.pid}.csv"
    saved = Path(download.path()).read_text(encoding="utf-8")
    exported = owner.api.get(f"/api/v1/portfolios/{owner.pid}/transactions/export")
    assert exported.status_code == 200
    assert saved == exported.text
    lines = saved.splitlines()
    assert lines[0] == "date,type,ticker,quantity,price,fees,note"
    assert len(lines) == 1 + len(after)
    assert lines[-1].startswith("2020-10-02,DEPOSIT,,500")
    page.screenshot(path=str(shots / "ledger-imported.png"), full_page=True)


def test_ledger_pages_and_fits_a_phone(browser: Any, owner: Owner, shots: Path) -> None:
    # 120 more entries: 126 in all, two pages of 100.
    rows = "".join(f"2021-01-{n % 28 + 1:02d},DEPOSIT,,{n + 1},,,batch {n}\n" for n in range(120))
    resp = owner.api.post(
        f"/api/v1/portfolios/{owner.pid}/transactions/import",
        content=("date,type,ticker,quantity,price,fees,note\n" + rows).encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert resp.status_code == 201, resp.text
    first = [t["id"] for t in owner.transactions(limit="100")]
    second = [t["id"] for t in owner.transactions(limit="100", offset="100")]
    assert len(first) == 100 and len(second) == 26
    context = browser.new_context(
        viewport={"width": 375, "height": 812}, base_url=owner.base, is_mobile=True
    )
    page = context.new_page()
    try:
        open_ledger(page, owner)
        caption = page.locator("#ledger-table caption")
        expect(caption).to_contain_text("Transactions 1–100 of 126")
        assert shown_ids(page) == first
        expect(page.locator("#ledger-prev")).to_be_disabled()
        page.locator("#ledger-next").click()
        expect(caption).to_contain_text("Transactions 101–126 of 126")
        assert shown_ids(page) == second
        expect(page.locator("#ledger-next")).to_be_disabled()
        assert "tx_offset=100" in page.url
        # Nothing wider than the phone but the tables, which scroll in their own box.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the page is {overflow}px wider than the phone"
        page.locator("#ledger-panel").screenshot(path=str(shots / "ledger-phone.png"))
        page.locator("#ledger-prev").click()
        expect(caption).to_contain_text("Transactions 1–100 of 126")
    finally:
        context.close()
