"""Alerts end to end over the shipped sample: rules, evaluation once per data version, the
firings checked against the scores the API serves, webhook delivery to a local receiver
(blocked, failing then succeeding, failing for good), validation, ownership and the guard.

The sample's last three sessions (2021-04-19 to 04-21) are removed from a private copy and
imported back one at a time, so each import moves the data version by one session."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from backend.main import create_app
from backend.market_data.providers.csv_file import read_price_file
from backend.market_data.sample import SAMPLE_PRICES, SAMPLE_SOURCE
from tests.support.portfolio_app import ADMIN, Api, assert_error, copy_sqlite, portfolio_settings
from tests.support.webhook_receiver import webhook_receiver

pytestmark = [pytest.mark.api, pytest.mark.database]

A = "/api/v1/alerts"
DAYS = [dt.date(2021, 4, 19), dt.date(2021, 4, 20), dt.date(2021, 4, 21)]
LEVEL = 70.0


@pytest.fixture(scope="module")
def client(sample_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = copy_sqlite(sample_db_url, tmp_path_factory.mktemp("alerts"))
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM daily_bars WHERE date >= :d"), {"d": DAYS[0].isoformat()})
    engine.dispose()
    settings = portfolio_settings(
        url,
        alert_evaluation_interval_seconds=0,  # the tests say when
        alert_webhook_allow_private=True,  # the receiver is on 127.0.0.1
        alert_webhook_retries=2,
        alert_webhook_backoff_seconds=0.01,
        alert_rules_max_per_user=8,
    )
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


def import_day(client: TestClient, day: dt.date) -> None:
    bars = read_price_file(SAMPLE_PRICES)
    result = client.app.state.store.upsert_bars(  # type: ignore[attr-defined]
        bars[bars["date"] == day].reset_index(drop=True), source=SAMPLE_SOURCE
    )
    assert result.written > 400


def evaluate(client: TestClient) -> dict[str, Any]:
    resp = client.post(f"{A}/evaluate", headers=ADMIN)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def states(client: TestClient, tickers: list[str]) -> dict[str, dict[str, Any]]:
    """The latest served score of each ticker (stored ticker -> score)."""
    resp = client.post("/api/v1/momentum/batch", json={"tickers": tickers})
    assert resp.status_code == 200, resp.text
    return {r["score"]["ticker"]: r["score"] for r in resp.json()["results"] if r["score"]}


def expected_firings(
    rules: list[dict[str, Any]],
    tickers_of: dict[int, list[str]],
    before: dict[str, dict[str, Any]],
    after: dict[str, dict[str, Any]],
) -> set[tuple[int, str]]:
    """The conditions written out again, plainly, over the API's own scores."""
    out = set()
    for rule in rules:
        for t in tickers_of[rule["id"]]:
            p, c = before.get(t), after.get(t)
            if p is None or c is None or c["as_of"] <= p["as_of"]:
                continue
            ps, cs = p["overall_momentum_score"], c["overall_momentum_score"]
            pp, cp = p["percentile_rank"], c["percentile_rank"]
            hit = {
                "rating_change": p["rating"] != c["rating"],
                "score_crosses_above": ps < LEVEL <= cs,
                "score_crosses_below": ps >= LEVEL > cs,
                "enters_top_quintile": pp < 80 <= cp,
                "leaves_top_quintile": pp >= 80 > cp,
            }[rule["condition"]]
            if hit:
                out.add((rule["id"], t))
    return out


def all_alerts(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = client.get(A, params={"limit": 500, "offset": len(items)}, headers=headers).json()
        items += page["items"]
        if len(items) >= page["total"]:
            return items


def wait_delivery(client: TestClient, headers: dict[str, str], version: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        deliveries = client.get(f"{A}/webhook", headers=headers).json()["deliveries"]
        mine = [d for d in deliveries if d["data_version"] == version]
        if mine and mine[0]["status"] != "pending":
            return mine[0]
        assert time.monotonic() < deadline, deliveries
        time.sleep(0.05)


def bullet_count(post: dict[str, Any]) -> int:
    lines = post["json"]["text"].split("\n")[1:]
    more = [ln for ln in lines if ln.startswith("… and ")]
    extra = int(more[0].split()[2]) if more else 0
    return sum(1 for ln in lines if ln.startswith("• ")) + extra


def test_end_to_end(client: TestClient, api: Api) -> None:
    securities = sorted(s["ticker"] for s in client.get("/api/v1/securities").json()["securities"])
    watched = securities[:100]
    # The baseline: the data as it is, before anyone has a rule.
    first = evaluate(client)
    assert first["outcome"] == "evaluated" and first["firings"] == 0
    assert first["last_date"] == "2021-04-16"
    assert evaluate(client)["outcome"] == "already_evaluated"

    owner, other = api.user(), api.user()
    h = owner["headers"]
    pid = api.portfolio(h, "tech")
    for tx in (
        {"date": "2020-01-02", "type": "DEPOSIT", "quantity": 100000},
        {"date": "2020-01-03", "type": "BUY", "ticker": "AAPL", "quantity": 10, "price": 75},
        {"date": "2020-01-03", "type": "BUY", "ticker": "NVDA", "quantity": 10, "price": 60},
        {"date": "2020-01-03", "type": "BUY", "ticker": "AMD", "quantity": 10, "price": 50},
        {"date": "2020-06-01", "type": "SELL", "ticker": "AMD", "quantity": 10, "price": 53},
    ):
        assert api.add(h, pid, **tx).status_code == 201
    bodies = [
        {"name": "ratings", "condition": "rating_change"},
        {"name": "above 70", "condition": "score_crosses_above", "level": LEVEL},
        {"name": "below 70", "condition": "score_crosses_below", "level": LEVEL},
        {"name": "into top", "condition": "enters_top_quintile"},
        {"name": "out of top", "condition": "leaves_top_quintile"},
    ]
    rules = []
    for body in bodies:
        resp = client.post(
            f"{A}/rules",
            json={**body, "target": {"kind": "tickers", "tickers": watched}},
            headers=h,
        )
        assert resp.status_code == 201, resp.text
        rules.append(resp.json())
    resp = client.post(
        f"{A}/rules",
        json={"name": "held", "condition": "rating_change",
              "target": {"kind": "portfolio", "portfolio_id": pid}},
        headers=h,
    )  # fmt: skip
    assert resp.status_code == 201, resp.text
    rules.append(resp.json())
    # A watchlist's tickers, read at each evaluation: ten of the watched ones.
    wid = client.post("/api/v1/watchlists", json={"name": "alerts"}, headers=h).json()["id"]
    for ticker in watched[:10]:
        added = client.post(f"/api/v1/watchlists/{wid}/tickers", json={"ticker": ticker}, headers=h)
        assert added.status_code == 201, added.text
    resp = client.post(
        f"{A}/rules",
        json={"name": "listed", "condition": "rating_change",
              "target": {"kind": "watchlist", "watchlist_id": wid}},
        headers=h,
    )  # fmt: skip
    assert resp.status_code == 201, resp.text
    assert resp.json()["target"] == {
        "kind": "watchlist", "tickers": None, "portfolio_id": None, "watchlist_id": wid
    }  # fmt: skip
    listed = resp.json()
    tickers_of = {r["id"]: watched for r in rules[:-1]} | {rules[-1]["id"]: ["AAPL", "NVDA"]}
    tickers_of[listed["id"]] = watched[:10]
    rules.append(listed)
    # The other user: a rule, no webhook; sees none of the owner's alerts.
    theirs = client.post(
        f"{A}/rules",
        json={"name": "t", "condition": "rating_change",
              "target": {"kind": "tickers", "tickers": watched}},
        headers=other["headers"],
    ).json()  # fmt: skip

    with webhook_receiver() as receiver:
        put = client.put(f"{A}/webhook", json={"url": receiver.url}, headers=h)
        assert put.status_code == 200, put.text
        assert put.json() == {"url": receiver.url, "deliveries": []}
        seen: list[tuple[int, str]] = []
        for day, script in zip(DAYS, ("blocked", "retry", "fail")):
            before = states(client, watched)
            import_day(client, day)
            after = states(client, watched)
            expected = expected_firings(rules, tickers_of, before, after)
            gate = threading.Event() if script == "blocked" else None
            receiver.script(
                *{"blocked": (), "retry": (500, 503), "fail": (500, 500, 500)}[script], gate=gate
            )
            result = evaluate(client)
            version = result["data_version"]
            assert result["outcome"] == "evaluated"
            assert result["last_date"] == day.isoformat()
            if gate is not None:
                # The evaluation returned while the webhook still holds the post.
                assert receiver.received.wait(30)
                latest = client.get(f"{A}/webhook", headers=h).json()["deliveries"][0]
                assert latest["data_version"] == version and latest["status"] == "pending"
                gate.set()
            assert evaluate(client)["outcome"] == "already_evaluated"
            fired = [a for a in all_alerts(client, h) if a["data_version"] == version]
            got = {(a["rule_id"], a["ticker"]) for a in fired}
            assert got == expected
            assert result["firings"] == len(expected) + len(
                expected_firings([theirs], {theirs["id"]: watched}, before, after)
            )
            seen += list(got)
            for a in fired:
                assert a["previous"]["date"] < a["current"]["date"] == day.isoformat()
                served = after[a["ticker"]]
                assert a["current"]["score"] == served["overall_momentum_score"]
                assert a["current"]["rating"] == served["rating"]
                assert a["current"]["percentile"] == served["percentile_rank"]
                assert a["previous"]["score"] == before[a["ticker"]]["overall_momentum_score"]
            delivery = wait_delivery(client, h, version)
            if not expected:
                continue
            if script == "fail":
                assert delivery["status"] == "failed" and delivery["attempts"] == 3
                assert delivery["http_status"] == 500 and "HTTP 500" in delivery["error"]
            else:
                assert delivery["status"] == "delivered" and delivery["http_status"] == 200
                assert delivery["attempts"] == (3 if script == "retry" else 1)
            fired = [a for a in all_alerts(client, h) if a["data_version"] == version]
            assert {a["delivery_status"] for a in fired} == {delivery["status"]}
            post = receiver.posts[-1]
            assert post["path"] == "/hooks/alerts"
            assert post["headers"]["Content-Type"] == "application/json"
            assert set(post["json"]) == {"text"} and bullet_count(post) == len(fired)
    # Over the three sessions something fired (else this test proves nothing).
    assert len(seen) > 10
    assert len({c for _, c in seen}) > 3

    # The other user's alerts carry no delivery; the owner's are not visible to them.
    theirs_alerts = all_alerts(client, other["headers"])
    assert theirs_alerts and {a["delivery_status"] for a in theirs_alerts} == {"none"}
    assert {a["rule_id"] for a in theirs_alerts} == {theirs["id"]}
    mine = all_alerts(client, h)
    assert_error(
        client.post(f"{A}/{mine[0]['id']}/read", headers=other["headers"]), 404, "not_found"
    )

    # Reading: the unread filter and the counts follow.
    total = len(mine)
    first_read = client.post(f"{A}/{mine[0]['id']}/read", headers=h)
    assert first_read.status_code == 200 and first_read.json()["read"] is True
    again = client.post(f"{A}/{mine[0]['id']}/read", headers=h).json()
    assert again["read_at"] == first_read.json()["read_at"]
    page = client.get(A, params={"unread": "true", "limit": 500}, headers=h).json()
    assert page["total"] == total - 1 == page["unread"]
    assert mine[0]["id"] not in {a["id"] for a in page["items"]}
    read = client.get(A, params={"unread": "false"}, headers=h).json()
    assert [a["id"] for a in read["items"]] == [mine[0]["id"]]
    assert_error(client.get(A, params={"unread": "yes"}, headers=h), 422, "invalid_input")

    # Deleting a rule deletes its alerts.
    assert client.delete(f"{A}/rules/{rules[0]['id']}", headers=h).status_code == 204
    assert all(a["rule_id"] != rules[0]["id"] for a in all_alerts(client, h))


def rule_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "r",
        "condition": "score_crosses_above",
        "level": 50,
        "target": {"kind": "tickers", "tickers": ["aapl", "AAPL", "MSFT"]},
    }
    body.update(over)
    return body


def test_rule_crud_and_ownership(client: TestClient, api: Api) -> None:
    owner, other = api.user(), api.user()
    h = owner["headers"]
    created = client.post(f"{A}/rules", json=rule_body(), headers=h)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["target"] == {
        "kind": "tickers", "tickers": ["AAPL", "MSFT"], "portfolio_id": None, "watchlist_id": None
    }  # fmt: skip
    assert rule["enabled"] is True and rule["level"] == 50
    rid = rule["id"]
    assert client.get(f"{A}/rules/{rid}", headers=h).json() == rule
    replaced = client.put(
        f"{A}/rules/{rid}",
        json=rule_body(condition="rating_change", level=None, enabled=False, name="x"),
        headers=h,
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["condition"] == "rating_change" and replaced.json()["level"] is None
    assert [r["id"] for r in client.get(f"{A}/rules", headers=h).json()] == [rid]
    for call in (
        client.get(f"{A}/rules/{rid}", headers=other["headers"]),
        client.put(f"{A}/rules/{rid}", json=rule_body(), headers=other["headers"]),
        client.delete(f"{A}/rules/{rid}", headers=other["headers"]),
    ):
        assert_error(call, 404, "not_found")
    assert client.get(f"{A}/rules", headers=other["headers"]).json() == []
    # Another user's portfolio is a 404 target, like a missing one.
    pid = api.portfolio(other["headers"])
    target = {"kind": "portfolio", "portfolio_id": pid}
    assert_error(
        client.post(f"{A}/rules", json=rule_body(target=target), headers=h), 404, "not_found"
    )
    # So is another user's watchlist.
    theirs = client.post(
        "/api/v1/watchlists", json={"name": "theirs"}, headers=other["headers"]
    ).json()["id"]
    target = {"kind": "watchlist", "watchlist_id": theirs}
    assert_error(
        client.post(f"{A}/rules", json=rule_body(target=target), headers=h), 404, "not_found"
    )
    assert client.get(f"{A}/rules/{rid}", headers=h).json()["enabled"] is False
    assert client.delete(f"{A}/rules/{rid}", headers=h).status_code == 204
    assert_error(client.get(f"{A}/rules/{rid}", headers=h), 404, "not_found")
    assert_error(client.get(f"{A}/rules"), 401, "unauthorized")


@pytest.mark.parametrize(
    "over",
    [
        {"level": None},  # a crossing needs a level
        {"level": 100.5},
        {"level": -1},
        {"condition": "rating_change"},  # takes no level (50 given)
        {"condition": "soon"},
        {"name": "bad\x00name"},
        {"name": ""},
        {"target": {"kind": "tickers", "tickers": []}},
        {"target": {"kind": "tickers", "tickers": ["bad$"]}},
        {"target": {"kind": "watchlist"}},
        {"target": {"kind": "watchlist", "watchlist_id": 0}},
        {"target": {"kind": "list", "watchlist_id": 1}},
        {"target": {"kind": "portfolio"}},
        {"extra": 1},
        {"enabled": 0},  # a boolean is true or false
        {"enabled": "yes"},
        {"level": False},
        {"level": "50"},
        {"target": {"kind": "portfolio", "portfolio_id": True}},
    ],
)
def test_rule_validation(client: TestClient, api: Api, over: dict[str, Any]) -> None:
    h = api.user()["headers"]
    assert_error(client.post(f"{A}/rules", json=rule_body(**over), headers=h), 422, "invalid_input")
    assert client.get(f"{A}/rules", headers=h).json() == []


def test_non_finite_level_is_refused(client: TestClient, api: Api) -> None:
    h = {**api.user()["headers"], "content-type": "application/json"}
    raw = (
        '{"name": "n", "condition": "score_crosses_above", "level": NaN, '
        '"target": {"kind": "tickers", "tickers": ["AAPL"]}}'
    )
    assert_error(client.post(f"{A}/rules", content=raw, headers=h), 422, "invalid_input")


def test_limits_are_settings(client: TestClient, api: Api) -> None:
    h = api.user()["headers"]
    many = [f"T{i}" for i in range(101)]
    err = assert_error(
        client.post(f"{A}/rules", json=rule_body(target={"kind": "tickers", "tickers": many}),
                    headers=h),
        422, "invalid_input",
    )  # fmt: skip
    assert err["details"]["rule"] == "tickers per rule" and err["details"]["limit"] == 100
    for _ in range(8):  # ALERT_RULES_MAX_PER_USER=8 in this module
        assert client.post(f"{A}/rules", json=rule_body(), headers=h).status_code == 201
    err = assert_error(client.post(f"{A}/rules", json=rule_body(), headers=h), 422, "invalid_input")
    assert err["details"]["rule"] == "rule count"


@pytest.fixture
def strict(client: TestClient) -> Iterator[None]:
    """The guard as deployed: private targets refused."""
    service = client.app.state.alerts  # type: ignore[attr-defined]
    saved = service.settings
    service.settings = saved.model_copy(update={"alert_webhook_allow_private": False})
    yield
    service.settings = saved


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://10.0.0.1/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[fc00::1]/",
        "http://localhost/hook",
    ],
)
def test_webhook_refused_at_configuration(
    client: TestClient, api: Api, strict: None, url: str
) -> None:
    h = api.user()["headers"]
    err = assert_error(
        client.put(f"{A}/webhook", json={"url": url}, headers=h), 422, "invalid_input"
    )
    assert err["details"]["field"] == "url" and err["details"]["rule"] == "webhook target"
    assert client.get(f"{A}/webhook", headers=h).json()["url"] is None


def test_plain_http_refused_in_production(client: TestClient, api: Api) -> None:
    service = client.app.state.alerts  # type: ignore[attr-defined]
    saved = service.settings
    service.settings = saved.model_copy(update={"environment": "production"})
    try:
        h = api.user()["headers"]
        resp = client.put(f"{A}/webhook", json={"url": "http://93.184.216.34/hook"}, headers=h)
        err = assert_error(resp, 422, "invalid_input")
        assert err["details"]["reason"] == "https"
    finally:
        service.settings = saved


def test_webhook_set_replace_delete(client: TestClient, api: Api) -> None:
    h = api.user()["headers"]
    for url in ("https://93.184.216.34/a", "https://93.184.216.34/b"):
        resp = client.put(f"{A}/webhook", json={"url": url}, headers=h)
        assert resp.status_code == 200 and resp.json()["url"] == url
    assert_error(
        client.put(f"{A}/webhook", json={"url": "ftp://x"}, headers=h), 422, "invalid_input"
    )
    assert client.delete(f"{A}/webhook", headers=h).status_code == 204
    assert client.get(f"{A}/webhook", headers=h).json() == {"url": None, "deliveries": []}


def test_evaluate_needs_the_admin_token(client: TestClient, api: Api) -> None:
    assert_error(client.post(f"{A}/evaluate"), 401, "unauthorized")
    assert_error(client.post(f"{A}/evaluate", headers=api.user()["headers"]), 403, "forbidden")
