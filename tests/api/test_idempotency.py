"""Idempotency-Key on the portfolio writes (backend/portfolios/idempotency.py): a repeat is
answered from the stored answer and writes nothing, a key reused for another request is
refused, the header is validated, keys are per user, failed writes store no key, keys expire
and are pruned in bounded batches, and, on PostgreSQL, concurrent duplicates write once."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update

from backend.db.engine import make_engine, make_session_factory
from backend.db.migrate import upgrade_to_head
from backend.db.models import IdempotencyKey
from backend.main import create_app
from backend.portfolios.idempotency import PRUNE_BATCH, prune, request_hash
from tests.support.portfolio_app import Api, assert_error, copy_sqlite, portfolio_settings

pytestmark = [pytest.mark.api, pytest.mark.database]

P = "/api/v1/portfolios"
KEY = "Idempotency-Key"
DEPOSIT = {"date": "2020-01-02", "type": "DEPOSIT", "quantity": "100", "note": "first"}


@pytest.fixture(scope="module")
def client(sample_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = copy_sqlite(sample_db_url, tmp_path_factory.mktemp("idempotency"))
    with TestClient(create_app(portfolio_settings(url))) as c:
        yield c


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, KEY: key}


def stored_keys(client: TestClient, user_id: int) -> list[IdempotencyKey]:
    sessions = make_session_factory(client.app.state.store.engine)  # type: ignore[attr-defined]
    with sessions() as s:
        return list(s.scalars(select(IdempotencyKey).where(IdempotencyKey.user_id == user_id)))


def transactions(client: TestClient, headers: dict[str, str], pid: int) -> list[dict[str, Any]]:
    page = client.get(f"{P}/{pid}/transactions", headers=headers)
    assert page.status_code == 200, page.text
    items: list[dict[str, Any]] = page.json()["items"]
    return items


# ------------------------------------------------------------------------------ replay


def test_a_repeated_transaction_is_answered_from_the_stored_answer(
    api: Api, client: TestClient
) -> None:
    user = api.user()
    h = user["headers"]
    pid = api.portfolio(h)
    url = f"{P}/{pid}/transactions"
    first = client.post(url, json=DEPOSIT, headers=keyed(h, "deposit-1"))
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    version = client.get(f"{P}/{pid}", headers=h).json()["version"]
    # the same body, its keys in another order and spaced otherwise: the same request
    again = client.post(
        url,
        content=json.dumps(dict(reversed(list(DEPOSIT.items()))), indent=2),
        headers={**keyed(h, "deposit-1"), "content-type": "application/json"},
    )
    assert again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content  # the same bytes: id, created_at and all
    assert again.headers["content-type"] == "application/json"
    assert [t["id"] for t in transactions(client, h, pid)] == [first.json()["id"]]
    assert client.get(f"{P}/{pid}", headers=h).json()["version"] == version  # nothing written
    (row,) = stored_keys(client, user["id"])
    assert (row.key, row.route, row.status) == (
        "deposit-1",
        f"POST /portfolios/{pid}/transactions",
        201,
    )
    assert json.loads(row.body) == first.json()
    # the answer with a key is the answer without one (the same shape, the same fields)
    plain = client.post(url, json={**DEPOSIT, "note": "second"}, headers=h)
    assert set(plain.json()) == set(first.json())
    assert {k: v for k, v in plain.json().items() if k not in ("id", "note", "created_at")} == {
        k: v for k, v in first.json().items() if k not in ("id", "note", "created_at")
    }


def test_a_repeated_portfolio_creation_creates_one(api: Api, client: TestClient) -> None:
    h = api.user()["headers"]
    first = client.post(P, json={"name": "Growth"}, headers=keyed(h, "new-growth"))
    again = client.post(P, json={"name": "Growth"}, headers=keyed(h, "new-growth"))
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"
    assert [p["id"] for p in client.get(P, headers=h).json()] == [first.json()["id"]]


def test_the_same_key_for_another_request_is_refused_and_writes_nothing(
    api: Api, client: TestClient
) -> None:
    h = api.user()["headers"]
    pid = api.portfolio(h)
    url = f"{P}/{pid}/transactions"
    assert client.post(url, json=DEPOSIT, headers=keyed(h, "k")).status_code == 201
    other_body = client.post(url, json={**DEPOSIT, "quantity": "200"}, headers=keyed(h, "k"))
    err = assert_error(other_body, 422, "idempotency_key_reused")
    assert err["details"]["field"] == KEY and err["details"]["rule"] == "one key, one request"
    # another route (creating a portfolio), or another portfolio's ledger: another request
    assert_error(
        client.post(P, json={"name": "x"}, headers=keyed(h, "k")), 422, "idempotency_key_reused"
    )
    pid2 = api.portfolio(h, "second")
    assert_error(
        client.post(f"{P}/{pid2}/transactions", json=DEPOSIT, headers=keyed(h, "k")),
        422,
        "idempotency_key_reused",
    )
    assert len(transactions(client, h, pid)) == 1 and transactions(client, h, pid2) == []
    assert [p["id"] for p in client.get(P, headers=h).json()] == [pid, pid2]


def test_another_users_same_key_is_theirs(api: Api, client: TestClient) -> None:
    ada, bob = api.user(), api.user()
    ada_pid, bob_pid = api.portfolio(ada["headers"]), api.portfolio(bob["headers"])
    a = client.post(
        f"{P}/{ada_pid}/transactions", json=DEPOSIT, headers=keyed(ada["headers"], "same")
    )
    b = client.post(
        f"{P}/{bob_pid}/transactions", json=DEPOSIT, headers=keyed(bob["headers"], "same")
    )
    assert a.status_code == b.status_code == 201
    assert "Idempotent-Replayed" not in b.headers and a.json()["id"] != b.json()["id"]
    # nor can Bob replay Ada's answer by sending her key to her portfolio: 404 as without one
    theirs = client.post(
        f"{P}/{ada_pid}/transactions", json=DEPOSIT, headers=keyed(bob["headers"], "ada-only")
    )
    assert_error(theirs, 404, "not_found")
    assert len(transactions(client, ada["headers"], ada_pid)) == 1
    assert [r.key for r in stored_keys(client, bob["id"])] == ["same"]  # the 404 stored nothing


def test_a_refused_write_stores_no_key_so_its_repeat_runs_again(
    api: Api, client: TestClient
) -> None:
    user = api.user()
    h = user["headers"]
    pid = api.portfolio(h)
    url = f"{P}/{pid}/transactions"
    buy = {"date": "2020-01-03", "type": "BUY", "ticker": "AAPL", "quantity": "1", "price": "75"}
    withdraw = {"date": "2020-01-03", "type": "WITHDRAW", "quantity": "1000"}
    assert_error(client.post(url, json=withdraw, headers=keyed(h, "w")), 422, "ledger_rule")
    assert stored_keys(client, user["id"]) == []
    assert client.post(url, json=DEPOSIT, headers=h).status_code == 201
    assert client.post(url, json=buy, headers=keyed(h, "b")).status_code == 201
    assert_error(client.post(url, json=withdraw, headers=keyed(h, "w")), 422, "ledger_rule")
    assert client.post(url, json={**DEPOSIT, "quantity": "5000"}, headers=h).status_code == 201
    ran = client.post(url, json=withdraw, headers=keyed(h, "w"))  # now it can be served
    assert ran.status_code == 201 and "Idempotent-Replayed" not in ran.headers
    assert sorted(r.key for r in stored_keys(client, user["id"])) == ["b", "w"]


@pytest.mark.parametrize(
    "bad, rule",
    [
        ("", "string_too_short"),
        ("k" * 256, "string_too_long"),
        ("tab\there", "string_pattern_mismatch"),
        ("caf\u00e9", "string_pattern_mismatch"),
    ],
)
def test_the_key_is_validated(api: Api, client: TestClient, bad: str, rule: str) -> None:
    user = api.user()
    h = user["headers"]
    pid = api.portfolio(h)
    headers = {**h, KEY: bad.encode("latin-1")}  # a header is bytes; Starlette reads latin-1
    for url, body in ((f"{P}/{pid}/transactions", DEPOSIT), (P, {"name": "n"})):
        err = assert_error(client.post(url, json=body, headers=headers), 422, "invalid_input")
        (field,) = err["details"]["fields"]
        assert (field["field"], field["location"], field["rule"]) == (KEY, "header", rule)
    assert transactions(client, h, pid) == [] and len(client.get(P, headers=h).json()) == 1
    # the bounds themselves are keys: 255 printable characters, one character, a space inside
    for good in ("~" * 255, "x", "a key with spaces !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}"):
        ok = client.post(f"{P}/{pid}/transactions", json=DEPOSIT, headers=keyed(h, good))
        assert ok.status_code == 201, ok.text


# ------------------------------------------------------------------------------ expiry


def test_an_expired_key_is_as_if_never_used(api: Api, client: TestClient) -> None:
    user = api.user()
    h = user["headers"]
    pid = api.portfolio(h)
    url = f"{P}/{pid}/transactions"
    assert client.post(url, json=DEPOSIT, headers=keyed(h, "old")).status_code == 201
    engine = client.app.state.store.engine  # type: ignore[attr-defined]
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    with engine.begin() as conn:
        conn.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.user_id == user["id"])
            .values(expires_at=past)
        )
    # another body under the expired key: a new request, written
    second = client.post(url, json={**DEPOSIT, "quantity": "7"}, headers=keyed(h, "old"))
    assert second.status_code == 201 and "Idempotent-Replayed" not in second.headers
    assert len(transactions(client, h, pid)) == 2
    (row,) = stored_keys(client, user["id"])  # the expired row made way for the new one
    assert json.loads(row.body)["quantity"] == "7"
    hours = client.app.state.settings.idempotency_key_hours  # type: ignore[attr-defined]
    lifetime = row.expires_at - row.created_at
    assert lifetime == dt.timedelta(hours=hours) == dt.timedelta(hours=24)


def test_pruning_deletes_a_bounded_batch_of_expired_keys_oldest_first(tmp_path: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'prune.db'}")
    upgrade_to_head(engine)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (email, password_hash, is_active, created_at)"
                " VALUES ('a@b.c', 'x', 1, :t)"
            ),
            {"t": now},
        )
        rows = [
            {"user_id": 1, "key": f"k{i}", "route": "POST /portfolios", "request_hash": "h",
             "status": 201, "body": "{}", "created_at": now,
             "expires_at": now + dt.timedelta(minutes=i - 150, seconds=30)}
            for i in range(PRUNE_BATCH + 100)
        ]  # fmt: skip
        conn.execute(IdempotencyKey.__table__.insert(), rows)  # type: ignore[attr-defined]
    sessions = make_session_factory(engine)
    with sessions() as s, s.begin():
        # 150 expired (149.5 to 0.5 minutes ago), 50 not: one call deletes PRUNE_BATCH, the oldest
        assert prune(s, now) == PRUNE_BATCH
    with sessions() as s, s.begin():
        left = sorted(int(k[1:]) for k in s.scalars(select(IdempotencyKey.key)))
        assert left == list(range(PRUNE_BATCH, PRUNE_BATCH + 100))
        assert prune(s, now) == 50  # the rest of the expired ones; the live ones stay
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(IdempotencyKey)) == 50
    engine.dispose()


def test_the_request_hash_is_canonical_json() -> None:
    # sha256 of '{"a":1,"b":"x"}', worked out independently (hashlib on the literal text)
    import hashlib

    expected = hashlib.sha256(b'{"a":1,"b":"x"}').hexdigest()
    assert request_hash({"b": "x", "a": 1}) == request_hash({"a": 1, "b": "x"}) == expected
    assert request_hash({"a": 1, "b": "y"}) != expected
    assert (
        request_hash({"d": dt.date(2020, 1, 2)})
        == hashlib.sha256(b'{"d":"2020-01-02"}').hexdigest()
    )


# ------------------------------------------------------------------------------ OpenAPI


def test_the_header_and_its_errors_are_in_the_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (P, P + "/{portfolio_id}/transactions"):
        op = paths[path]["post"]
        (header,) = [p for p in op["parameters"] if p["name"] == KEY]
        assert header["in"] == "header" and not header.get("required", False)
        schema = header["schema"]["anyOf"][0]
        assert (schema["minLength"], schema["maxLength"]) == (1, 255)
        assert "Idempotent-Replayed" in op["responses"]["201"]["headers"]
        assert "$ref" in str(op["responses"]["201"]["content"])  # the model is still there
        rules = {r["code"] for r in op["x-rules-beyond-schema"]}
        assert "idempotency_key_reused" in rules
        assert "idempotency_key_reused" in op["responses"]["422"]["description"]


# ------------------------------------------------------------------------------ PostgreSQL


@pytest.fixture
def pg_client(pg_url: str) -> Iterator[TestClient]:
    engine = make_engine(pg_url)
    upgrade_to_head(engine)
    engine.dispose()
    settings = portfolio_settings(pg_url, load_sample_on_empty=False)
    with TestClient(create_app(settings)) as c:
        yield c


def _waiting_on_locks(pg_url: str) -> int:
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock'"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_concurrent_duplicates_write_once_on_postgres(pg_url: str, pg_client: TestClient) -> None:
    """Both requests in flight at once, deterministically: the test holds the portfolio's row,
    so the first request takes the key and waits for the row, and the second waits on the
    key's unique index; released, the first writes, the second replays its answer."""
    api = Api(pg_client)
    user = api.user()
    h = user["headers"]
    pid = api.portfolio(h)
    url = f"{P}/{pid}/transactions"
    answers: list[Any] = []

    def send() -> None:
        answers.append(pg_client.post(url, json=DEPOSIT, headers=keyed(h, "twice")))

    blocker = make_engine(pg_url)
    try:
        with blocker.connect() as conn:
            conn.execute(text("SELECT id FROM portfolios WHERE id = :id FOR UPDATE"), {"id": pid})
            threads = [threading.Thread(target=send) for _ in range(2)]
            for t in threads:
                t.start()
            deadline = dt.datetime.now() + dt.timedelta(seconds=60)
            while _waiting_on_locks(pg_url) < 2:  # one on the row, one on the key
                assert dt.datetime.now() < deadline, "the two requests never both waited"
                threading.Event().wait(0.05)
            conn.rollback()  # release the row
        for t in threads:
            t.join(timeout=60)
    finally:
        blocker.dispose()
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    assert answers[0].content == answers[1].content
    assert sorted(a.headers.get("Idempotent-Replayed", "-") for a in answers) == ["-", "true"]
    assert len(transactions(pg_client, h, pid)) == 1
    assert pg_client.get(f"{P}/{pid}", headers=h).json()["version"] == 1  # written once


def test_many_concurrent_duplicates_of_each_route_write_once_on_postgres(
    pg_client: TestClient,
) -> None:
    api = Api(pg_client)
    h = api.user()["headers"]
    pid = api.portfolio(h)
    answers: list[Any] = []
    barrier = threading.Barrier(16)

    def send(i: int) -> None:
        barrier.wait()
        if i % 2:
            answers.append(
                pg_client.post(f"{P}/{pid}/transactions", json=DEPOSIT, headers=keyed(h, "tx"))
            )
        else:
            answers.append(pg_client.post(P, json={"name": "once"}, headers=keyed(h, "pf")))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert [a.status_code for a in answers] == [201] * 16, [a.text for a in answers]
    assert len({a.content for a in answers}) == 2  # one answer per key, replayed to the rest
    assert sum("Idempotent-Replayed" not in a.headers for a in answers) == 2
    assert len(transactions(pg_client, h, pid)) == 1
    assert [p["name"] for p in pg_client.get(P, headers=h).json()] == ["main", "once"]
