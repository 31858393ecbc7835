"""Portfolios and authentication on a real PostgreSQL (TEST_DATABASE_URL), rate limits on a
real Redis (TEST_REDIS_URL): the seeded migration, parallel writes to one portfolio,
single-use refresh tokens under concurrency, and the ledger and views end to end."""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import text

from backend.db.engine import make_engine
from backend.db.migrate import alembic_config, upgrade_to_head
from backend.main import create_app
from backend.market_data.providers.csv_file import read_price_file
from backend.market_data.sample import SAMPLE_PRICES
from backend.market_data.store import PriceStore
from backend.portfolios.transactions import NewTransaction, TransactionService
from backend.reference.seed import SEED_CATEGORIES, SEED_MODEL_HOLDINGS
from tests.support.portfolio_app import PASSWORD, Api, assert_error, portfolio_settings

pytestmark = [pytest.mark.integration, pytest.mark.database]

P = "/api/v1/portfolios"
TICKERS = ["AAPL", "MSFT", "NVDA", "SPY", "FB"]


@pytest.fixture(scope="module")
def bars():  # type: ignore[no-untyped-def]
    frame = read_price_file(SAMPLE_PRICES)
    return frame[frame["ticker"].isin(TICKERS)].reset_index(drop=True)


@pytest.fixture
def pg_client(pg_url: str, bars) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    engine = make_engine(pg_url)
    upgrade_to_head(engine)
    PriceStore(engine).upsert_bars(bars, source="sample")
    engine.dispose()
    with TestClient(create_app(portfolio_settings(pg_url))) as client:
        yield client


def test_migration_seeds_categories_and_model_and_downgrades(pg_url: str) -> None:
    engine = make_engine(pg_url)
    upgrade_to_head(engine)
    with engine.connect() as conn:
        cats = conn.execute(
            text("SELECT name, target, benchmark FROM categories ORDER BY position")
        )
        assert [(n, t, b) for n, t, b in cats] == [
            (c.name, c.target, c.benchmark) for c in SEED_CATEGORIES
        ]
        members = conn.execute(text("SELECT count(*) FROM category_members")).scalar()
        assert members == sum(len(c.tickers) for c in SEED_CATEGORIES)
        model = dict(conn.execute(text("SELECT ticker, shares FROM model_holdings")).all())
        assert model == {t: float(n) for t, n in SEED_MODEL_HOLDINGS.items()}
        # The serial sequence moved past the seeded ids.
        conn.execute(
            text(
                "INSERT INTO categories (name, slug, target, benchmark) VALUES ('x', 'x', 0, 'SPY')"
            )
        )
        conn.rollback()
    cfg = alembic_config(pg_url)
    command.downgrade(cfg, "0001_price_store")
    with engine.connect() as conn:
        tables = {
            r[0]
            for r in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
        }
    assert "portfolios" not in tables and "users" not in tables and "daily_bars" in tables
    command.upgrade(cfg, "head")
    engine.dispose()


def test_parallel_writes_to_one_portfolio(pg_client: TestClient) -> None:
    api = Api(pg_client)
    user = api.user()
    h = user["headers"]
    pid = api.portfolio(h)
    assert api.add(h, pid, date="2020-01-02", type="DEPOSIT", quantity=100000).status_code == 201
    assert api.add(h, pid, date="2020-01-03", type="BUY", ticker="AAPL", quantity=20,
                   price=75).status_code == 201  # fmt: skip
    statuses: list[int] = []
    barrier = threading.Barrier(24)

    def worker(i: int) -> None:
        barrier.wait()
        if i % 2:  # 12 sellers of 2 shares: only 10 of them can be served
            resp = api.add(h, pid, date="2020-02-03", type="SELL", ticker="AAPL", quantity=2,
                           price=80)  # fmt: skip
        else:  # 12 buyers of MSFT
            resp = api.add(h, pid, date="2020-02-03", type="BUY", ticker="MSFT", quantity=1,
                           price=170)  # fmt: skip
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(201) == 22 and statuses.count(422) == 2
    body = pg_client.get(f"{P}/{pid}", headers=h).json()
    positions = {p["ticker"]: p for p in body["positions"]}
    assert "AAPL" not in positions
    assert positions["MSFT"]["shares"] == "12"
    assert body["transactions"] == 2 + 22
    assert body["version"] == 2 + 22  # every accepted write bumped it once, the refused none
    assert body["summary"]["cash"] == "98060"  # 100000 - 1500 + 20 * 80 - 12 * 170


def test_parallel_service_writes_serialise_on_postgres(pg_url: str, pg_client: TestClient) -> None:
    api = Api(pg_client)
    user = api.user()
    pid = api.portfolio(user["headers"])
    service: TransactionService = pg_client.app.state.transactions  # type: ignore[attr-defined]
    buy = NewTransaction(dt.date(2020, 1, 3), "BUY", 5, ticker="NVDA", price=60)
    sale = NewTransaction(dt.date(2020, 2, 3), "SELL", 1, ticker="NVDA", price=70)
    service.add_transactions(user["id"], pid, [buy])
    outcomes: list[str] = []
    barrier = threading.Barrier(10)

    def sell() -> None:
        barrier.wait()
        try:
            service.add_transactions(user["id"], pid, [sale])
            outcomes.append("ok")
        except Exception as exc:  # the ledger rule, raised inside the locked transaction
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=sell) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 5 and outcomes.count("LedgerError") == 5


def test_refresh_token_is_single_use_under_concurrency(pg_client: TestClient) -> None:
    api = Api(pg_client)
    user = api.user()
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def go() -> None:
        barrier.wait()
        resp = pg_client.post("/api/v1/auth/refresh", json={"refresh_token": user["refresh"]})
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(200) == 1 and statuses.count(401) == 7


def test_ledger_views_and_csv_on_postgres(pg_client: TestClient) -> None:
    api = Api(pg_client)
    h = api.user()["headers"]
    other = api.user()["headers"]
    pid = api.portfolio(h)
    csv_text = (
        "date,type,ticker,quantity,price,fees,note\n"
        "2020-01-02,DEPOSIT,,20000,,,\n"
        "2020-01-03,BUY,AAPL,10,75,1,\n"
        "2020-01-03,BUY,META,5,210,1,renamed FB\n"
        "2020-08-31,SPLIT,AAPL,4,,,\n"
    )
    resp = pg_client.post(
        f"{P}/{pid}/transactions/import",
        content=csv_text.encode(),
        headers={**h, "content-type": "text/csv"},
    )
    assert resp.status_code == 201, resp.text
    assert pg_client.get(f"{P}/{pid}/transactions/export", headers=h).text.count("\n") == 5
    detail = pg_client.get(f"{P}/{pid}", headers=h).json()
    assert {p["ticker"]: p["shares"] for p in detail["positions"]} == {"AAPL": "40", "META": "5"}
    analysis = pg_client.get(f"{P}/{pid}/analysis", headers=h).json()["analysis"]
    assert analysis["unpriced"] == []  # META resolves to the stored FB
    perf = pg_client.get(f"{P}/{pid}/performance", params={"end": "2020-12-31"}, headers=h)
    assert perf.status_code == 200, perf.text
    assert perf.json()["twr"] is not None and perf.json()["benchmark_return"] is not None
    rebalance = pg_client.get(f"{P}/{pid}/rebalance", params={"cash": 1000}, headers=h)
    assert rebalance.status_code == 200
    assert_error(pg_client.get(f"{P}/{pid}", headers=other), 404, "not_found")
    assert pg_client.delete(f"{P}/{pid}", headers=h).status_code == 204
    assert_error(pg_client.get(f"{P}/{pid}", headers=h), 404, "not_found")


def test_rate_limits_live_in_redis(pg_url: str, bars) -> None:  # type: ignore[no-untyped-def]
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("TEST_REDIS_URL is not set: no Redis to test against")
    import redis

    prefix = f"av-test-{uuid.uuid4().hex[:8]}"
    settings = portfolio_settings(
        pg_url, redis_url=redis_url, rate_limit_login="2/minute", rate_limit_key_prefix=prefix
    )
    engine = make_engine(pg_url)
    upgrade_to_head(engine)
    engine.dispose()
    body = {"email": "nobody@example.com", "password": PASSWORD}
    r = redis.Redis.from_url(redis_url)
    try:
        with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
            # Two app instances (two replicas) share the limit through Redis.
            assert a.post("/api/v1/auth/login", json=body).status_code == 401
            assert b.post("/api/v1/auth/login", json=body).status_code == 401
            limited = a.post("/api/v1/auth/login", json=body)
            assert_error(limited, 429, "rate_limited")
            assert int(limited.headers["retry-after"]) >= 1
            assert r.keys(f"*{prefix}*")
    finally:
        for key in r.scan_iter(f"*{prefix}*"):
            r.delete(key)


def test_migration_0003_converts_existing_rows_on_postgres(pg_url: str) -> None:
    from tests.unit.portfolios.test_migration_0003 import check_conversion_and_downgrade

    check_conversion_and_downgrade(pg_url)
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        types = dict(
            conn.execute(
                text(
                    "SELECT column_name, format_type(atttypid, atttypmod) FROM pg_attribute a "
                    "JOIN information_schema.columns c ON c.column_name = a.attname "
                    "AND c.table_name = 'transactions' "
                    "WHERE a.attrelid = 'transactions'::regclass AND a.attnum > 0"
                )
            ).all()
        )
    engine.dispose()
    assert {types[c] for c in ("quantity", "price", "fees")} == {"numeric(15,6)"}


def test_migration_0003_stops_on_rows_it_cannot_hold_on_postgres(pg_url: str) -> None:
    from tests.unit.portfolios.test_migration_0003 import (
        check_unconvertible_rows_stop_the_upgrade,
    )

    check_unconvertible_rows_stop_the_upgrade(pg_url)


def test_exact_decimals_and_hostile_input_on_postgres(pg_client: TestClient) -> None:
    api = Api(pg_client)
    h = api.user()["headers"]
    pid = api.portfolio(h)
    for amount in (0.1, 0.2):
        assert (
            api.add(h, pid, date="2020-01-02", type="DEPOSIT", quantity=amount).status_code == 201
        )
    assert pg_client.get(f"{P}/{pid}", headers=h).json()["summary"]["deposits"] == "0.3"
    # NUL in a name, a note, a CSV: 422 naming the field, never a PostgreSQL error.
    err = assert_error(pg_client.post(P, json={"name": "a\x00b"}, headers=h), 422, "invalid_input")
    assert err["details"]["fields"][0]["field"] == "name"
    resp = api.add(h, pid, date="2020-01-02", type="DEPOSIT", quantity=1, note="x\x00")
    assert assert_error(resp, 422, "invalid_input")["details"]["fields"][0]["field"] == "note"
    csv_body = "date,type,quantity,note\n2020-01-03,DEPOSIT,1,a\x00b\n2020-01-03,DEPOSIT,1," + (
        "n" * 600
    )
    resp = pg_client.post(f"{P}/{pid}/transactions/import", content=csv_body.encode(),
                          headers={**h, "content-type": "text/csv"})  # fmt: skip
    errors = assert_error(resp, 422, "invalid_import")["details"]["errors"]
    assert [(e["line"], e["field"], e["rule"]) for e in errors] == [
        (2, "note", "no_control_characters"), (3, "note", "max_length")
    ]  # fmt: skip
    # The largest accepted values are stored and read back exactly by NUMERIC(15, 6).
    big = api.add(h, pid, date="2020-01-03", type="DEPOSIT", quantity="999999999.999999",
                  price="0.000001")  # fmt: skip
    assert big.status_code == 201 and big.json()["quantity"] == "999999999.999999"
    assert api.add(h, pid, date="2020-01-03", type="DEPOSIT", quantity=1e308).status_code == 422
    assert pg_client.get(f"{P}/{pid}", headers=h).json()["summary"]["cash"] == "1000.299999999999"
