"""User portfolios over the shipped sample: CRUD, the ledger and its rules, CSV import and
export, analysis, rebalance and performance, the model portfolio, the authorisation matrix
and parallel writes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.main import create_app
from tests.support.portfolio_app import ADMIN, Api, assert_error, copy_sqlite, portfolio_settings

pytestmark = [pytest.mark.api, pytest.mark.database]

P = "/api/v1/portfolios"
User = dict[str, Any]


@pytest.fixture(scope="module")
def client(sample_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = copy_sqlite(sample_db_url, tmp_path_factory.mktemp("portfolios"))
    with TestClient(create_app(portfolio_settings(url))) as c:
        yield c


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


@pytest.fixture
def owner(api: Api) -> dict[str, Any]:
    return api.user()


def seed(api: Api, headers: dict[str, str], pid: int) -> None:
    """Deposit 10,000; buy 10 AAPL @ 75 and 10 @ 85 (fee 1 each); sell 5 @ 120; a dividend."""
    for tx in (
        {"date": "2020-01-02", "type": "DEPOSIT", "quantity": 10000},
        {"date": "2020-01-03", "type": "BUY", "ticker": "AAPL", "quantity": 10, "price": 75,
         "fees": 1},
        {"date": "2020-03-02", "type": "BUY", "ticker": "aapl", "quantity": 10, "price": 85,
         "fees": 1},
        {"date": "2020-08-03", "type": "SELL", "ticker": "AAPL", "quantity": 5, "price": 120},
        {"date": "2020-08-14", "type": "DIVIDEND", "ticker": "AAPL", "quantity": 15,
         "price": 0.205},
    ):  # fmt: skip
        resp = api.add(headers, pid, **tx)
        assert resp.status_code == 201, resp.text


# ------------------------------------------------------------------------------ CRUD


def test_create_list_get_rename_delete(api: Api, client: TestClient, owner: User) -> None:
    h = owner["headers"]
    created = client.post(P, json={"name": "  Growth  "}, headers=h)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    assert created.json()["name"] == "Growth"
    assert created.json()["transactions"] == 0
    other = api.portfolio(h, "Income")
    listed = client.get(P, headers=h).json()
    assert [p["id"] for p in listed] == [pid, other]
    renamed = client.patch(f"{P}/{pid}", json={"name": "Momentum"}, headers=h)
    assert renamed.json()["name"] == "Momentum"
    assert renamed.json()["version"] == 1
    detail = client.get(f"{P}/{pid}", headers=h).json()
    assert detail["name"] == "Momentum"
    assert detail["positions"] == [] and detail["summary"]["cash"] == "0"
    assert client.delete(f"{P}/{pid}", headers=h).status_code == 204
    assert_error(client.get(f"{P}/{pid}", headers=h), 404, "not_found")
    assert [p["id"] for p in client.get(P, headers=h).json()] == [other]
    for bad in ({"name": ""}, {"name": "   "}, {"name": "x" * 101}, {}):
        assert_error(client.post(P, json=bad, headers=h), 422, "invalid_input")


def test_holdings_cash_and_gains_come_from_the_ledger(
    api: Api, client: TestClient, owner: User
) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)
    seed(api, h, pid)
    body = client.get(f"{P}/{pid}", headers=h).json()
    (aapl,) = body["positions"]
    # Exact decimals, as decimal text (README "Portfolios"). Cost: 10*75+1 + 10*85+1 = 1602;
    # average 80.1; sold 5 -> cost 1602 - 5*80.1 = 1201.5; realised 600 - 400.5 = 199.5.
    assert aapl["shares"] == "15"
    assert aapl["cost_basis"] == "1201.5"
    assert aapl["average_cost"] == "80.1"
    assert aapl["realised_gain"] == "199.5"
    assert aapl["dividends"] == "3.075"  # 15 x 0.205
    assert aapl["price"] == 133.5  # the sample's last AAPL close
    assert aapl["market_value"] == "2002.5"  # 15 x 133.5: this position only
    assert aapl["unrealised_gain"] == "801"  # 2002.5 - 1201.5
    s = body["summary"]
    # 10000 - 1602 + 600 + 3.075: a float ledger said 9001.074999999999.
    assert s["cash"] == "9001.075"
    assert s["deposits"] == "10000" and s["implicit_deposits"] == "0"
    assert s["holdings_value"] == "2002.5"  # the positions without cash
    assert s["total_value"] == "11003.575"  # positions plus cash
    assert "market_value" not in s
    assert body["transactions"] == 5 and body["version"] == 5


# ------------------------------------------------------------------------------ ledger


def test_list_transactions_with_paging_and_filters(
    api: Api, client: TestClient, owner: User
) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)
    seed(api, h, pid)
    page = client.get(f"{P}/{pid}/transactions", params={"limit": 2}, headers=h).json()
    assert page["total"] == 5 and len(page["items"]) == 2
    assert [t["type"] for t in page["items"]] == ["DEPOSIT", "BUY"]
    rest = client.get(f"{P}/{pid}/transactions", params={"limit": 2, "offset": 4}, headers=h)
    assert [t["type"] for t in rest.json()["items"]] == ["DIVIDEND"]
    buys = client.get(f"{P}/{pid}/transactions", params={"type": "BUY"}, headers=h).json()
    assert buys["total"] == 2 and {t["ticker"] for t in buys["items"]} == {"AAPL"}
    window = client.get(
        f"{P}/{pid}/transactions", params={"start": "2020-03-01", "end": "2020-08-10"}, headers=h
    ).json()
    assert [t["type"] for t in window["items"]] == ["BUY", "SELL"]
    by_ticker = client.get(f"{P}/{pid}/transactions", params={"ticker": "AAPL"}, headers=h)
    assert by_ticker.json()["total"] == 4
    # The type filter is the schema's enum, as in a transaction's body: exact upper case.
    for kind in ("SWAP", "buy"):
        bad = client.get(f"{P}/{pid}/transactions", params={"type": kind}, headers=h)
        [field] = assert_error(bad, 422, "invalid_input")["details"]["fields"]
        assert (field["field"], field["rule"]) == ("type", "enum")
    assert_error(client.get(f"{P}/{pid}/transactions?limit=0", headers=h), 422, "invalid_input")


FUTURE = (dt.date.today() + dt.timedelta(days=3)).isoformat()


@pytest.mark.parametrize(
    "tx, field, rule",
    [
        ({"type": "SELL", "ticker": "AAPL", "quantity": 16, "price": 100}, "quantity",
         "not_more_than_held"),
        ({"type": "SELL", "ticker": "MSFT", "quantity": 1, "price": 100}, "quantity",
         "not_more_than_held"),
        ({"type": "BUY", "ticker": "AAPL", "quantity": -1, "price": 100}, "quantity", "ge_0"),
        ({"type": "BUY", "ticker": "AAPL", "quantity": 1, "price": -100}, "price", "ge_0"),
        ({"type": "BUY", "ticker": "AAPL", "quantity": 1, "price": 1, "fees": -1}, "fees",
         "ge_0"),
        ({"type": "BUY", "ticker": "AAPL", "quantity": 1, "price": 1, "date": FUTURE}, "date",
         "not_in_future"),
        ({"type": "SPLIT", "ticker": "AAPL", "quantity": 0}, "quantity", "gt_0"),
        ({"type": "BUY", "quantity": 1, "price": 1}, "ticker", "required"),
        ({"type": "WITHDRAW", "quantity": 1e8}, "quantity", "not_more_than_cash"),
    ],
)  # fmt: skip
def test_rules_refuse_with_422_and_store_nothing(
    api: Api, client: TestClient, owner: User, tx: User, field: str, rule: str
) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)
    seed(api, h, pid)
    before = client.get(f"{P}/{pid}", headers=h).json()
    err = assert_error(api.add(h, pid, **{"date": "2021-01-04", **tx}), 422, "ledger_rule")
    assert err["details"]["field"] == field
    assert err["details"]["rule"] == rule
    after = client.get(f"{P}/{pid}", headers=h).json()
    assert after == before  # same transactions, same version: nothing stored


def test_malformed_bodies_name_the_field(api: Api, owner: User) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)
    resp = api.add(h, pid, date="2021-13-01", type="BUY", ticker="AAPL", quantity=1, price=1)
    err = assert_error(resp, 422, "invalid_input")
    assert err["details"]["fields"][0]["field"] == "date"
    resp = api.add(h, pid, date="2021-01-04", type="BUY", ticker="AAPL", quantity="many")
    assert assert_error(resp, 422, "invalid_input")["details"]["fields"][0]["field"] == "quantity"


def test_backdated_entries_and_deletes_are_checked_against_the_history(
    api: Api, client: TestClient, owner: User
) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)
    buy = api.add(h, pid, date="2020-01-03", type="BUY", ticker="MSFT", quantity=10, price=150)
    sell = api.add(h, pid, date="2020-06-01", type="SELL", ticker="MSFT", quantity=10, price=180)
    assert sell.status_code == 201
    # A sale before the later one would leave the later one selling more than held.
    early = api.add(h, pid, date="2020-03-02", type="SELL", ticker="MSFT", quantity=1, price=160)
    err = assert_error(early, 422, "ledger_rule")
    assert f"transaction {sell.json()['id']}" in err["message"]
    # Deleting the buy would do the same; deleting the sell is fine.
    resp = client.delete(f"{P}/{pid}/transactions/{buy.json()['id']}", headers=h)
    assert_error(resp, 422, "ledger_rule")
    assert (
        client.delete(f"{P}/{pid}/transactions/{sell.json()['id']}", headers=h).status_code == 204
    )
    assert client.delete(f"{P}/{pid}/transactions/{buy.json()['id']}", headers=h).status_code == 204
    assert_error(client.delete(f"{P}/{pid}/transactions/{buy.json()['id']}", headers=h), 404,
                 "not_found")  # fmt: skip
    # A 4-for-1 split the same way as the ledger tests.
    api.add(h, pid, date="2020-01-03", type="BUY", ticker="MSFT", quantity=10, price=160)
    api.add(h, pid, date="2020-02-03", type="SPLIT", ticker="MSFT", quantity=4)
    (pos,) = client.get(f"{P}/{pid}", headers=h).json()["positions"]
    assert pos["shares"] == "40" and pos["average_cost"] == "40"
    assert client.get(f"{P}/{pid}", headers=h).json()["summary"]["implicit_deposits"] == "1600"


# ------------------------------------------------------------------------------ CSV


def csv_text(rows: list[list[object]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


HEADER = ["date", "type", "ticker", "quantity", "price", "fees", "note"]


def post_csv(client: TestClient, pid: int, text: str, h: dict[str, str]) -> Any:
    return client.post(
        f"{P}/{pid}/transactions/import",
        content=text.encode(),
        headers={**h, "content-type": "text/csv"},
    )


def test_csv_import_export_round_trip(api: Api, client: TestClient, owner: User) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)
    text = csv_text([
        HEADER,
        ["2020-01-02", "DEPOSIT", "", "5000", "", "", "opening, with a comma"],
        ["2020-01-03", "buy", "nvda", "4", "59.5", "1", ""],
        ["2020-07-20", "SPLIT", "NVDA", "4", "", "", ""],
        ["2020-09-01", "SELL", "NVDA", "2.5", "130.25", "0.5", ""],
        ["", "", "", "", "", "", ""],
    ])  # fmt: skip
    resp = post_csv(client, pid, "\ufeff" + text, h)
    assert resp.status_code == 201, resp.text
    assert resp.json()["imported"] == 4
    exported = client.get(f"{P}/{pid}/transactions/export", headers=h)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == HEADER
    assert rows[1] == ["2020-01-02", "DEPOSIT", "", "5000", "", "0", "opening, with a comma"]
    assert rows[4] == ["2020-09-01", "SELL", "NVDA", "2.5", "130.25", "0.5", ""]
    # The export imports into a new portfolio as the same ledger.
    copy = api.portfolio(h, "copy")
    assert post_csv(client, copy, exported.text, h).status_code == 201
    a = client.get(f"{P}/{pid}", headers=h).json()
    b = client.get(f"{P}/{copy}", headers=h).json()
    assert a["summary"] == b["summary"] and a["positions"] == b["positions"]


def test_csv_import_is_atomic_and_lists_every_rejected_row(
    api: Api, client: TestClient, owner: User
) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)
    text = csv_text([
        HEADER,
        ["2020-01-03", "BUY", "AAPL", "10", "75", "", ""],       # line 2: fine
        ["2020-01-04", "BUY", "AAPL", "-1", "75", "", ""],       # 3: negative quantity
        ["2020-13-01", "BUY", "AAPL", "1", "75", "", ""],        # 4: bad date
        ["2020-01-06", "SWAP", "AAPL", "1", "75", "", ""],       # 5: unknown type
        ["2020-02-03", "SELL", "AAPL", "11", "80", "", ""],      # 6: more than held
        ["2020-02-04", "SPLIT", "AAPL", "0", "", "", ""],        # 7: split ratio 0
        [FUTURE, "BUY", "AAPL", "1", "75", "", ""],              # 8: future
        ["2020-02-05", "BUY", "AAPL", "one", "75", "", ""],      # 9: not a number
        ["2020-02-05", "BUY", "AAPL", "1", "75", "", "", "x"],   # 10: too many values
    ])  # fmt: skip
    resp = post_csv(client, pid, text, h)
    err = assert_error(resp, 422, "invalid_import")
    errors = err["details"]["errors"]
    assert [e["line"] for e in errors] == [3, 4, 5, 7, 8, 9, 10]  # 6 waits: rows checked first
    assert {e["line"]: e["field"] for e in errors}[3] == "quantity"
    assert all(e["reason"] for e in errors)
    assert client.get(f"{P}/{pid}", headers=h).json()["transactions"] == 0
    # With the row errors fixed, the history rule (line 6) is reported.
    only_history = csv_text([HEADER, ["2020-01-03", "BUY", "AAPL", "10", "75", "", ""],
                             ["2020-02-03", "SELL", "AAPL", "11", "80", "", ""]])  # fmt: skip
    err = assert_error(post_csv(client, pid, only_history, h), 422, "invalid_import")
    assert err["details"]["errors"] == [
        {"line": 3, "field": "quantity", "rule": "not_more_than_held",
         "reason": "selling 11 AAPL on 2020-02-03 but only 10 held"}
    ]  # fmt: skip
    assert client.get(f"{P}/{pid}", headers=h).json()["transactions"] == 0


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "empty"),
        ("date,type,ticker,quantity,colour\n", "unknown column"),
        ("date,ticker,quantity\n", "missing column"),
        ("date,type,ticker,quantity,price\n", "no rows"),
    ],
)
def test_csv_header_problems(
    api: Api, client: TestClient, owner: User, text: str, reason: str
) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)
    err = assert_error(post_csv(client, pid, text, h), 422, "invalid_import")
    assert reason in err["details"]["errors"][0]["reason"]


def test_csv_must_be_utf8(api: Api, client: TestClient, owner: User) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)
    resp = client.post(f"{P}/{pid}/transactions/import", content=b"\xff\xfe\x00", headers=h)
    assert assert_error(resp, 422, "invalid_import")["details"]["errors"][0]["rule"] == "utf8"


# ------------------------------------------------------------------------------ views


def test_analysis_of_a_user_portfolio(api: Api, client: TestClient, owner: User) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)
    seed(api, h, pid)
    api.add(h, pid, date="2020-09-01", type="BUY", ticker="ZZZZ", quantity=2, price=50)
    resp = client.get(f"{P}/{pid}/analysis", headers=h)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["realised_gain"] == "199.5"  # 5 * 120 - 5 * 80.1, exact
    assert body["prices_as_of"] == "2021-04-21"
    a = body["analysis"]
    by_ticker = {x["ticker"]: x for x in a["holdings"]}
    assert by_ticker["AAPL"]["priced"] is True
    assert by_ticker["AAPL"]["category"] == "Large-Cap Anchors"
    assert by_ticker["AAPL"]["score"] is not None and by_ticker["AAPL"]["rating"]
    # No price stored for ZZZZ: valued at cost, flagged, in no category.
    zzzz = by_ticker["ZZZZ"]
    assert zzzz["priced"] is False and zzzz["valuation"] == "cost_basis"
    assert zzzz["value"] == pytest.approx(100.0)
    assert zzzz["category"] == "Uncategorised"
    assert a["unpriced"] == ["ZZZZ"]
    # The analysis is floating-point maths; its amounts are rounded to 6 places in JSON.
    # Cash: 9001.075 after the seed, less the 2 ZZZZ @ 50 bought.
    assert client.get(f"{P}/{pid}", headers=h).json()["summary"]["cash"] == "8901.075"
    assert a["cash"] == 8901.075
    assert a["total_value"] == 11003.575  # 8901.075 + 15 * 133.5 + 100 (ZZZZ at cost)
    assert a["holdings_value"] == 2102.5 and a["market_valued"] == 2002.5
    assert a["cost_valued"] == 100
    large = next(c for c in a["categories"] if c["name"] == "Large-Cap Anchors")
    assert large["drift"] == pytest.approx(15 * 133.5 / a["total_value"] - 0.20)


def test_rebalance_of_a_user_portfolio(api: Api, client: TestClient, owner: User) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)
    seed(api, h, pid)
    resp = client.get(f"{P}/{pid}/rebalance", params={"cash": 2500, "min_trade": 100}, headers=h)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    plan = body["plan"]
    assert plan["cash_before"] == 11501.075  # 9001.075 in the ledger + 2500 new
    bought = sum(t["amount"] for t in plan["trades"] if t["side"] == "buy")
    sold = sum(t["amount"] for t in plan["trades"] if t["side"] == "sell")
    assert bought <= plan["cash_before"] + sold + 1e-6
    assert plan["cash_after"] >= 0
    assert all(t["amount"] >= 100 and t["shares"] == int(t["shares"]) for t in plan["trades"])
    assert_error(client.get(f"{P}/{pid}/rebalance?cash=-1", headers=h), 422, "invalid_input")


def test_performance_of_a_user_portfolio(api: Api, client: TestClient, owner: User) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)
    assert_error(client.get(f"{P}/{pid}/performance", headers=h), 422, "invalid_input")
    seed(api, h, pid)
    resp = client.get(
        f"{P}/{pid}/performance", params={"start": "2020-01-02", "end": "2020-12-31"}, headers=h
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["start"] == "2020-01-02" and body["end"] == "2020-12-31"
    assert body["benchmark"] == "SPY" and body["benchmark_return"] is not None
    assert body["price_basis"] == {"AAPL": "close"}
    assert body["missing_tickers"] == [] and body["missing_prices_count"] == 0
    points = body["series"]
    assert points[0]["date"] == "2020-01-02" and points[-1]["date"] == "2020-12-31"
    # On the first day: 10,000 deposited, nothing bought yet.
    assert points[0]["total_value"] == pytest.approx(10000)
    # Day values are shares x close + cash; TWR chains them with the flows neutralised.
    index = {p["date"]: p for p in points}
    assert index["2020-01-03"]["cash"] == pytest.approx(10000 - 751)
    twr = 1.0
    for prev, cur in zip(points, points[1:]):
        twr *= (cur["total_value"] - (cur["flow"] or 0)) / prev["total_value"]
    assert body["twr"] == pytest.approx(twr - 1)
    assert body["max_drawdown"] <= 0 and body["volatility"] > 0
    # Over a window where money came in, the flow is neutralised (not a gain).
    api.add(h, pid, date="2020-10-01", type="DEPOSIT", quantity=100000)
    later = client.get(
        f"{P}/{pid}/performance", params={"start": "2020-01-02", "end": "2020-12-31"}, headers=h
    ).json()
    assert later["net_flows"] == pytest.approx(100000)
    assert later["gain"] == pytest.approx(body["gain"])
    before = {p["date"]: p["twr_index"] for p in body["series"]}
    after = {p["date"]: p["twr_index"] for p in later["series"]}
    assert after["2020-09-30"] == pytest.approx(before["2020-09-30"])
    assert_error(
        client.get(f"{P}/{pid}/performance?start=2021-01-01&end=2020-01-01", headers=h),
        422,
        "invalid_input",
    )
    assert_error(
        client.get(f"{P}/{pid}/performance?start=2030-01-01", headers=h), 422, "invalid_input"
    )
    nobench = client.get(f"{P}/{pid}/performance", params={"benchmark": "QQQ"}, headers=h)
    assert nobench.status_code == 200
    assert nobench.json()["benchmark_return"] is None
    assert any("QQQ" in n for n in nobench.json()["notes"])


def test_performance_says_when_a_holding_has_no_prices(
    api: Api, client: TestClient, owner: User
) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)
    api.add(h, pid, date="2020-01-02", type="BUY", ticker="ZZZZ", quantity=1, price=10)
    resp = client.get(f"{P}/{pid}/performance", params={"end": "2020-01-31"}, headers=h)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["twr"] is None  # nothing can be valued: no return, rather than a made-up one
    assert body["price_basis"] == {"ZZZZ": None}
    assert body["unvalued_days"][0] == "2020-01-02"
    assert all(p["total_value"] is None for p in body["series"])
    assert any("ZZZZ" in n for n in body["notes"])


# ------------------------------------------------------------------------------ model


def test_model_portfolio_analysis(client: TestClient) -> None:
    resp = client.get("/api/v1/portfolio/analysis")
    assert resp.status_code == 200, resp.text
    a = resp.json()["analysis"]
    assert resp.json()["portfolio_id"] is None
    assert len(a["holdings"]) == 20
    by_ticker = {x["ticker"]: x for x in a["holdings"]}
    assert by_ticker["NVDA"]["shares"] == 7 and by_ticker["NVDA"]["priced"] is True
    # Not in the sample and no cost known: not valued, never counted as 0.
    assert by_ticker["SRVR"]["value"] is None and by_ticker["SRVR"]["valuation"] == "none"
    assert "SRVR" in a["unvalued"]
    priced = sum(x["value"] for x in a["holdings"] if x["priced"])
    assert a["total_value"] == pytest.approx(priced)
    assert {c["name"] for c in a["categories"]} >= {"Large-Cap Anchors", "Critical Metals & Mining"}


def test_analyze_holdings_in_the_body(client: TestClient) -> None:
    resp = client.post(
        "/api/v1/portfolio/analyze",
        json={"holdings": {"nvda": 7, "MSFT": 2, "NOPE": 3}, "cash": 1000,
              "cost_basis": {"NOPE": 300}},
    )  # fmt: skip
    assert resp.status_code == 200, resp.text
    a = resp.json()["analysis"]
    assert {x["ticker"] for x in a["holdings"]} == {"NVDA", "MSFT", "NOPE"}
    assert a["cash"] == 1000
    assert {x["ticker"]: x["valuation"] for x in a["holdings"]}["NOPE"] == "cost_basis"
    too_many = {"holdings": {f"T{i}": 1 for i in range(1001)}}
    assert_error(client.post("/api/v1/portfolio/analyze", json=too_many), 422, "invalid_input")
    # A malformed ticker breaks the key pattern the schema declares (a field error of the body).
    bad = client.post("/api/v1/portfolio/analyze", json={"holdings": {"bad$": 1}})
    [key] = assert_error(bad, 422, "invalid_input")["details"]["fields"]
    assert (key["field"], key["rule"]) == ("holdings.bad$.[key]", "string_pattern_mismatch")
    for body, field in (
        ({"holdings": {"AAPL": 0}}, "holdings.AAPL"),
        ({"holdings": {"AAPL": 1, "aapl": 2}}, "holdings.aapl"),
        ({"holdings": {"AAPL": 1}, "cost_basis": {"MSFT": 1}}, "cost_basis.MSFT"),
        ({"holdings": {"AAPL": 1}, "cost_basis": {"AAPL": -1}}, "cost_basis.AAPL"),
    ):
        err = assert_error(client.post("/api/v1/portfolio/analyze", json=body), 422,
                           "invalid_input")  # fmt: skip
        assert err["details"]["field"] == field
    assert_error(client.post("/api/v1/portfolio/analyze", json={"holdings": {}}), 422,
                 "invalid_input")  # fmt: skip


def test_model_portfolio_rebalance_and_performance(client: TestClient) -> None:
    resp = client.get("/api/v1/portfolio/rebalance", params={"cash": 5000, "min_trade": 100})
    assert resp.status_code == 200, resp.text
    plan = resp.json()["plan"]
    assert plan["cash_before"] == 5000 and plan["cash_after"] >= 0
    assert {s["ticker"] for s in plan["skipped"]} >= {"SRVR", "EWJ"}  # no prices: never traded
    traded = {t["ticker"] for t in plan["trades"]}
    assert not traded & {"SRVR", "EWJ", "VRT"}
    perf = client.get("/api/v1/portfolio/performance")
    assert perf.status_code == 200, perf.text
    body = perf.json()
    assert body["end"] == "2021-04-21"
    assert body["start"] >= "2020-04-21"
    assert body["twr"] is not None and body["benchmark_return"] is not None
    assert any("SRVR" in n for n in body["notes"])  # left out, and said so
    explicit = client.get(
        "/api/v1/portfolio/performance", params={"start": "2020-06-01", "end": "2020-06-30"}
    ).json()
    assert explicit["start"] == "2020-06-01" and explicit["end"] == "2020-06-30"


# ------------------------------------------------------------------------------ authorisation


def routes(pid: int, tx_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    csv_body = "date,type,ticker,quantity,price\n2020-01-03,BUY,AAPL,1,75\n"
    return [
        ("GET", f"{P}/{pid}", {}),
        ("PATCH", f"{P}/{pid}", {"json": {"name": "x"}}),
        ("POST", f"{P}/{pid}/transactions",
         {"json": {"date": "2020-01-03", "type": "DEPOSIT", "quantity": 1}}),
        ("GET", f"{P}/{pid}/transactions", {}),
        ("POST", f"{P}/{pid}/transactions/import",
         {"content": csv_body.encode(), "headers": {"content-type": "text/csv"}}),
        ("GET", f"{P}/{pid}/transactions/export", {}),
        ("GET", f"{P}/{pid}/analysis", {}),
        ("GET", f"{P}/{pid}/rebalance", {}),
        ("GET", f"{P}/{pid}/performance", {}),
        ("DELETE", f"{P}/{pid}/transactions/{tx_id}", {}),
        ("DELETE", f"{P}/{pid}", {}),
    ]  # fmt: skip


def call(client: TestClient, method: str, url: str, kw: dict[str, Any], h: dict[str, str]) -> Any:
    headers = {**kw.get("headers", {}), **h}
    rest = {k: v for k, v in kw.items() if k != "headers"}
    return client.request(method, url, headers=headers, **rest)


def test_authorisation_matrix(api: Api, client: TestClient) -> None:
    owner, intruder = api.user(), api.user()
    pid = api.portfolio(owner["headers"])
    seed(api, owner["headers"], pid)
    tx_id = client.get(f"{P}/{pid}/transactions", headers=owner["headers"]).json()["items"][-1][
        "id"
    ]
    missing = 2_000_000_000
    for (method, url, kw), (_, missing_url, _) in zip(routes(pid, tx_id), routes(missing, tx_id)):
        # anonymous: 401
        assert_error(call(client, method, url, kw, {}), 401, "unauthorized")
        # the admin token is not a user: 403
        assert_error(call(client, method, url, kw, ADMIN), 403, "forbidden")
        # another user: 404, exactly as for a portfolio that does not exist
        theirs = call(client, method, url, kw, intruder["headers"])
        nothing = call(client, method, missing_url, kw, intruder["headers"])
        err = assert_error(theirs, 404, "not_found")
        assert err == {
            **nothing.json()["error"],
            "message": nothing.json()["error"]["message"].replace(str(missing), str(pid)),
            "details": {**nothing.json()["error"]["details"], "portfolio_id": pid},
        }
        assert theirs.headers.get("content-type") == nothing.headers.get("content-type")
    # Nothing the intruder did changed the portfolio; the owner can do all of it.
    assert client.get(f"{P}/{pid}", headers=owner["headers"]).json()["transactions"] == 5
    assert pid not in [p["id"] for p in client.get(P, headers=intruder["headers"]).json()]
    for method, url, kw in routes(pid, tx_id):
        resp = call(client, method, url, kw, owner["headers"])
        assert resp.status_code in (200, 201, 204), (method, url, resp.text)


# ------------------------------------------------------------------------------ concurrency


def test_parallel_writes_keep_the_ledger_consistent(
    api: Api, client: TestClient, owner: User
) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)
    assert api.add(h, pid, date="2020-01-03", type="BUY", ticker="AAPL", quantity=10,
                   price=75).status_code == 201  # fmt: skip
    statuses: list[int] = []
    barrier = threading.Barrier(16)

    def sell_one() -> None:
        barrier.wait()
        resp = api.add(h, pid, date="2020-02-03", type="SELL", ticker="AAPL", quantity=1, price=80)
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=sell_one) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Exactly the 10 shares held were sold; every other attempt was refused.
    assert sorted(statuses) == [201] * 10 + [422] * 6
    body = client.get(f"{P}/{pid}", headers=h).json()
    assert body["positions"] == []
    assert body["transactions"] == 11
    assert body["summary"]["realised_gain"] == "50"  # 10 x (80 - 75)


# ------------------------------------------------------------------------------ hostile input


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("", {"name": "a\x00b"}, "name"),
        ("", {"name": "tab\there"}, "name"),
        ("/{pid}/transactions",
         {"date": "2020-01-02", "type": "DEPOSIT", "quantity": 1, "note": "a\x00b"}, "note"),
        ("/{pid}/transactions",
         {"date": "2020-01-02", "type": "BUY", "ticker": "AA\x00PL", "quantity": 1, "price": 1},
         "ticker"),
        ("/{pid}/transactions",
         {"date": "2020-01-02", "type": "DEP\x00OSIT", "quantity": 1}, "type"),
        ("/{pid}/transactions", {"date": "2020-01-02", "type": "deposit", "quantity": 1}, "type"),
        ("/{pid}/transactions",
         {"date": "2020-01-02", "type": "DEPOSIT", "quantity": "1\x00"}, "quantity"),
        ("/{pid}/transactions", {"date": "2020-01-02", "type": "DEPOSIT", "quantity": True},
         "quantity"),
        ("/{pid}/transactions",
         {"date": "2020-01-02", "type": "DEPOSIT", "quantity": 1, "colour": "red"}, "colour"),
    ],
)  # fmt: skip
def test_control_characters_and_bad_values_in_json_name_the_field(
    api: Api, client: TestClient, owner: User, path: str, body: dict[str, Any], field: str
) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)
    before = client.get(P, headers=h).json()
    resp = client.post(P + path.format(pid=pid), json=body, headers=h)
    err = assert_error(resp, 422, "invalid_input")
    assert err["details"]["fields"][0]["field"] == field
    assert client.get(P, headers=h).json() == before  # nothing stored


def test_control_characters_in_a_rename_and_notes_with_newlines(
    api: Api, client: TestClient, owner: User
) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)
    err = assert_error(client.patch(f"{P}/{pid}", json={"name": "x\x1by"}, headers=h), 422,
                       "invalid_input")  # fmt: skip
    assert err["details"]["fields"][0]["field"] == "name"
    ok = api.add(h, pid, date="2020-01-02", type="DEPOSIT", quantity=1, note="line 1\nline\t2")
    assert ok.status_code == 201 and ok.json()["note"] == "line 1\nline\t2"


@pytest.mark.parametrize(
    "tx, field, rule",
    [
        ({"type": "BUY", "ticker": "AAPL", "quantity": 1e308, "price": 1}, "quantity",
         "max_magnitude"),
        ({"type": "BUY", "ticker": "AAPL", "quantity": 999999999, "price": 999999999}, "quantity",
         "max_amount"),
        ({"type": "DEPOSIT", "quantity": 0.1234567}, "quantity", "max_decimals"),
        ({"type": "DEPOSIT", "quantity": "1e3"}, "quantity", "decimal_text"),  # plain text only
        ({"type": "DEPOSIT", "quantity": "-5"}, "quantity", "decimal_text"),
        ({"type": "SPLIT", "ticker": "AAPL", "quantity": 999999999}, "quantity", "max_amount"),
    ],
)  # fmt: skip
def test_overflowing_amounts_are_refused_and_nothing_is_written(
    api: Api, client: TestClient, owner: User, tx: dict[str, Any], field: str, rule: str
) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)
    seed(api, h, pid)  # 15 AAPL held: a 999,999,999-for-1 split would be 1.5e10 shares...
    api.add(h, pid, date="2020-09-01", type="BUY", ticker="AAPL", quantity=999999, price=1)
    before = client.get(f"{P}/{pid}", headers=h).json()
    resp = api.add(h, pid, **{"date": "2021-01-04", **tx})
    err = resp.json()["error"]
    assert resp.status_code == 422, resp.text
    where = err["details"]["fields"][0] if "fields" in err["details"] else err["details"]
    assert where["field"] == field and where["rule"] == rule, err
    after = client.get(f"{P}/{pid}", headers=h).json()
    assert after == before
    # Every view still answers, with finite numbers.
    for view in ("", "/analysis", "/performance", "/rebalance", "/transactions/export"):
        assert client.get(f"{P}/{pid}{view}", headers=h).status_code == 200, view


def test_decimal_strings_are_accepted_and_answers_carry_no_float_residue(
    api: Api, client: TestClient, owner: User
) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)
    for amount in (0.1, "0.2"):
        assert (
            api.add(h, pid, date="2020-01-02", type="DEPOSIT", quantity=amount).status_code == 201
        )
    resp = api.add(h, pid, date="2020-01-03", type="BUY", ticker="MSFT", quantity="3",
                   price="160.62", fees=0.05)  # fmt: skip
    assert resp.json()["quantity"] == "3" and resp.json()["price"] == "160.62"
    s = client.get(f"{P}/{pid}", headers=h).json()["summary"]
    assert s["deposits"] == "0.3"  # a float ledger said 0.30000000000000004
    # 3 x 160.62 + 0.05 = 481.91 funded: 0.3 from cash, 481.61 implicitly.
    assert s["implicit_deposits"] == "481.61" and s["cash"] == "0"
    assert s["net_contributions"] == "481.91"
    (pos,) = client.get(f"{P}/{pid}", headers=h).json()["positions"]
    assert pos["cost_basis"] == "481.91" and pos["average_cost"] == "160.636666666667"


def test_openapi_declares_errors_and_decimal_text(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path, methods in paths.items():
        if not path.startswith(("/api/v1/portfolios", "/api/v1/portfolio/", "/api/v1/categories")):
            continue
        for method, op in methods.items():
            declared = set(op["responses"])
            assert "422" in declared and "503" in declared, (method, path)
            for status in declared - {"200", "201", "204"}:
                ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorBody"), (method, path, status)
    assert {"401", "403", "404"} <= set(
        paths["/api/v1/portfolios/{portfolio_id}"]["get"]["responses"]
    )
    assert "429" in paths["/api/v1/portfolios/{portfolio_id}/performance"]["get"]["responses"]
    components = schema["components"]["schemas"]
    summary = components["LedgerSummary"]["properties"]
    assert summary["cash"]["type"] == "string" and summary["cash"]["format"] == "decimal"
    assert "total_value" in summary and "holdings_value" in summary
    assert "market_value" not in summary
    tx_in = components["TransactionIn"]["properties"]
    assert {s["type"] for s in tx_in["quantity"]["anyOf"]} == {"number", "string"}
    # Above 0, ASCII digits (a schema's \d is ASCII, Python's is any Unicode digit).
    assert tx_in["quantity"]["anyOf"][1]["pattern"] == r"^(?![0.]*$)[0-9]{1,9}(\.[0-9]{1,6})?$"
    assert tx_in["price"]["anyOf"][0]["anyOf"][1]["pattern"] == r"^[0-9]{1,9}(\.[0-9]{1,6})?$"


# ------------------------------------------------------------------------------ hostile CSV


@pytest.mark.parametrize(
    "raw",
    [
        b"date,type,quantity,note\r2020-01-02,DEPOSIT,5,\r",
        b"date,type,quantity,note\n2020-01-02,DEPOSIT,5," + b"x" * 300_000 + b"\n",
        b"date,type,quantity,note\n2020-01-02,DEP\x00OSIT,5,\n",
        b"date,type,quantity,note\n2020-01-02,DEPOSIT,5,caf\xe9\n",
        b"\xff\xfed\x00a\x00t\x00e\x00",
        b'date,type,quantity,note\n2020-01-02,DEPOSIT,5,"open\n',
        b"date,type,quantity\n2020-01-02,DEPOSIT,1e308\n",
        b"\x00" * 1000,
        b"date,type,quantity\n" + b"2020-01-02,DEPOSIT,1\n" * 20_001,
    ],
)
def test_any_csv_is_imported_whole_or_refused_by_line_never_500(
    api: Api, client: TestClient, owner: User, raw: bytes
) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)
    resp = client.post(f"{P}/{pid}/transactions/import", content=raw,
                       headers={**h, "content-type": "text/csv"})  # fmt: skip
    if resp.status_code == 201:
        assert resp.json()["imported"] >= 1
        return
    err = assert_error(resp, 422, "invalid_import")
    assert err["details"]["errors"] and all(
        set(e) == {"line", "field", "rule", "reason"} for e in err["details"]["errors"]
    )
    assert client.get(f"{P}/{pid}", headers=h).json()["transactions"] == 0


def test_a_huge_csv_is_refused_without_reading_it_all(
    api: Api, client: TestClient, owner: User
) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)

    def body() -> Iterator[bytes]:
        for _ in range(64):  # 64 MiB offered
            yield b"x" * (1 << 20)

    resp = client.post(f"{P}/{pid}/transactions/import", content=body(),
                       headers={**h, "content-type": "text/csv"})  # fmt: skip
    # The body limit (MAX_IMPORT_BODY_BYTES, 5 MiB) refuses it before the reader sees it.
    err = assert_error(resp, 413, "payload_too_large")
    assert err["details"]["limit_bytes"] == 5 * 1024 * 1024


def test_export_neutralises_formulas_and_round_trips(
    api: Api, client: TestClient, owner: User
) -> None:
    h = owner["headers"]
    pid = api.portfolio(h)
    notes = ["=HYPERLINK(\"http://evil\",\"x\")", "+1", "-2+3", "@SUM(1)", "\tx", "'quoted",
             "plain, with comma", "two\r\nlines"]  # fmt: skip
    for i, note in enumerate(notes):
        assert api.add(h, pid, date="2020-01-02", type="DEPOSIT", quantity=i + 1,
                       note=note).status_code == 201  # fmt: skip
    exported = client.get(f"{P}/{pid}/transactions/export", headers=h).text
    cells = [row[-1] for row in csv.reader(io.StringIO(exported, newline=""))][1:]
    assert cells == ["'=HYPERLINK(\"http://evil\",\"x\")", "'+1", "'-2+3", "'@SUM(1)", "'\tx",
                     "''quoted", "plain, with comma", "two\r\nlines"]  # fmt: skip
    copy = api.portfolio(h, "copy")
    assert post_csv(client, copy, exported, h).status_code == 201
    original = client.get(f"{P}/{pid}/transactions", headers=h).json()["items"]
    again = client.get(f"{P}/{copy}/transactions", headers=h).json()["items"]
    keys = ("date", "type", "ticker", "quantity", "price", "fees", "note")
    assert [{k: t[k] for k in keys} for t in again] == [{k: t[k] for k in keys} for t in original]
    assert [t["note"] for t in again] == notes


# ------------------------------------------------------------------------------ model splits


# Closes of the sample on 2020-08-28 and 2020-08-31 (AAPL's 4-for-1 split day), as traded, of
# the model holdings that the sample has prices for.
MODEL_CLOSES = {  # ticker: (shares today, close 08-28, close 08-31)
    "NVDA": (7, 525.91, 534.98), "AVGO": (4, 344.82, 347.15), "MSFT": (2, 228.91, 225.53),
    "META": (1, 293.66, 293.20), "NOW": (1, 487.87, 482.02), "AAPL": (4, 499.23, 129.04),
    "GOOGL": (4, 1639.43, 1629.53), "DLR": (6, 154.29, 155.65), "IRM": (10, 30.34, 30.09),
    "CCI": (10, 163.79, 163.25),
}  # fmt: skip


def test_model_performance_applies_splits_to_the_share_counts(client: TestClient) -> None:
    body = client.get(
        "/api/v1/portfolio/performance", params={"start": "2020-08-28", "end": "2020-08-31"}
    ).json()
    first, last = body["series"]
    # By hand: on 08-28 the model held 1 AAPL (4 today / the 4-for-1 after it) at 499.23:
    # 3681.37 + 1379.28 + 457.82 + 293.66 + 487.87 + 499.23 + 6557.72 + 925.74 + 303.40
    # + 1637.90 = 16223.99; on 08-31, 4 AAPL at 129.04: 16261.32.
    assert first["total_value"] == 16223.99 and last["total_value"] == 16261.32
    before = sum(n * (c0 / 4 if t == "AAPL" else c0) for t, (n, c0, _) in MODEL_CLOSES.items())
    assert first["total_value"] == pytest.approx(before)
    assert body["twr"] == pytest.approx(16261.32 / 16223.99 - 1)  # +0.23%, not -8.2%
    # The same days as one day each: every other holding is unchanged, AAPL still 4.
    after = client.get(
        "/api/v1/portfolio/performance", params={"start": "2020-08-31", "end": "2020-09-01"}
    ).json()
    assert after["series"][0]["total_value"] == 16261.32


@pytest.mark.parametrize(
    "body, field, rule",
    [
        ({"holdings": {"AAPL": 1e308}}, "holdings.AAPL", "max_magnitude"),
        ({"holdings": {"AAPL": 1}, "cash": False}, "cash", "number"),
        ({"holdings": {"AAPL": 1}, "cash": 1e300}, "cash", "max_magnitude"),
        ({"holdings": {"AAPL": 1}, "cost_basis": {"AAPL": 0.1234567}}, "cost_basis.AAPL",
         "max_decimals"),
        ({"holdings": {"AA\x00PL": 1}}, "holdings", "value_error"),
    ],
)  # fmt: skip
def test_analyze_refuses_amounts_that_could_overflow(
    client: TestClient, body: dict[str, Any], field: str, rule: str
) -> None:
    err = assert_error(client.post("/api/v1/portfolio/analyze", json=body), 422, "invalid_input")
    where = err["details"]["fields"][0] if "fields" in err["details"] else err["details"]
    assert where["field"].startswith(field) and where["rule"] == rule, err
    # The largest accepted holding is valued with finite numbers.
    ok = client.post("/api/v1/portfolio/analyze", json={"holdings": {"AAPL": 999999999.999999}})
    # 999,999,999.999999 x 133.5 = 133,499,999,999.9998665 (a float holds it to ~1e-5).
    total = ok.json()["analysis"]["total_value"]
    assert ok.status_code == 200 and total == pytest.approx(133499999999.9998665, rel=1e-15)
