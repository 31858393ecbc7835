"""Watchlists on a real PostgreSQL (TEST_DATABASE_URL): the tables of migration 0004 with
their constraints, the API end to end, cascades, parallel adds, and the downgrade."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from backend.db.engine import make_engine
from backend.db.migrate import alembic_config, upgrade_to_head
from backend.main import create_app
from backend.market_data.providers.csv_file import read_price_file
from backend.market_data.sample import SAMPLE_PRICES
from backend.market_data.store import PriceStore
from backend.portfolios.watchlists import all_watched_tickers
from tests.support.portfolio_app import Api, assert_error, portfolio_settings

pytestmark = [pytest.mark.integration, pytest.mark.database]

L = "/api/v1/watchlists"
TICKERS = ["AAPL", "MSFT", "NVDA", "SPY", "FB", "AMD", "ORCL"]


@pytest.fixture
def pg_client(pg_url: str) -> Iterator[TestClient]:
    frame = read_price_file(SAMPLE_PRICES)
    engine = make_engine(pg_url)
    upgrade_to_head(engine)
    PriceStore(engine).upsert_bars(
        frame[frame["ticker"].isin(TICKERS)].reset_index(drop=True), source="sample"
    )
    engine.dispose()
    with TestClient(create_app(portfolio_settings(pg_url, watchlist_max_tickers=3))) as client:
        yield client


def test_tables_constraints_and_downgrade(pg_url: str) -> None:
    engine = make_engine(pg_url)
    upgrade_to_head(engine)
    inspector = sa.inspect(engine)
    assert {"watchlists", "watchlist_items"} <= set(inspector.get_table_names())
    uniques = {u["name"]: u["column_names"] for u in inspector.get_unique_constraints("watchlists")}
    assert uniques["uq_watchlists_user_name"] == ["user_id", "name"]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (email, password_hash, is_active, created_at) "
                "VALUES ('a@example.com', 'x', true, now())"
            )
        )
        uid = conn.execute(text("SELECT id FROM users")).scalar()
        conn.execute(
            text(
                "INSERT INTO watchlists (user_id, name, created_at, updated_at) "
                "VALUES (:u, 'Tech', now(), now())"
            ),
            {"u": uid},
        )
        wid = conn.execute(text("SELECT id FROM watchlists")).scalar()
        conn.execute(
            text(
                "INSERT INTO watchlist_items (watchlist_id, ticker, added_at, added_score, "
                "added_score_date) VALUES (:w, 'AAPL', now(), 81.25, '2021-04-21')"
            ),
            {"w": wid},
        )
    for statement in (
        "INSERT INTO watchlists (user_id, name, created_at, updated_at) "
        "VALUES (:u, 'Tech', now(), now())",
        "INSERT INTO watchlist_items (watchlist_id, ticker, added_at) VALUES (:w, 'AAPL', now())",
        "INSERT INTO watchlist_items (watchlist_id, ticker, added_at) VALUES (999, 'X', now())",
    ):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(statement), {"u": uid, "w": wid})
    with engine.begin() as conn:
        assert conn.execute(text("SELECT added_score FROM watchlist_items")).scalar() == 81.25
        conn.execute(text("DELETE FROM users"))  # cascades to the lists and their items
        assert conn.execute(text("SELECT count(*) FROM watchlist_items")).scalar() == 0
    engine.dispose()
    command.downgrade(alembic_config(pg_url), "0003_exact_ledger_decimals")
    engine = make_engine(pg_url)
    assert "watchlists" not in sa.inspect(engine).get_table_names()
    engine.dispose()
    command.upgrade(alembic_config(pg_url), "head")


def test_watchlists_end_to_end_with_parallel_adds(pg_client: TestClient) -> None:
    api = Api(pg_client)
    h = api.user()["headers"]
    wid = pg_client.post(L, json={"name": "Tech"}, headers=h).json()["id"]
    assert_error(pg_client.post(L, json={"name": "Tech"}, headers=h), 409, "conflict")
    added = pg_client.post(f"{L}/{wid}/tickers", json={"ticker": "META"}, headers=h)
    assert added.status_code == 201 and added.json()["items"][0]["ticker"] == "FB"
    # Five parallel adds into a list with room for two more: the limit holds under the lock.
    codes: list[int] = []

    def add(ticker: str) -> None:
        codes.append(
            pg_client.post(f"{L}/{wid}/tickers", json={"ticker": ticker}, headers=h).status_code
        )

    threads = [threading.Thread(target=add, args=(t,)) for t in ("AAPL", "MSFT", "NVDA", "AMD")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201, 201, 422, 422]
    items = pg_client.get(f"{L}/{wid}", headers=h).json()["items"]
    assert len(items) == 3 and items[0]["ticker"] == "FB"
    assert all(i["score"] is not None and i["added_score"] is not None for i in items)
    # What the scheduler's option snapshots cover besides holdings: every watched ticker.
    engine = pg_client.app.state.store.engine  # type: ignore[attr-defined]
    assert all_watched_tickers(engine) == sorted(i["ticker"] for i in items)
    assert pg_client.delete(f"{L}/{wid}", headers=h).status_code == 204
    assert all_watched_tickers(engine) == []
    assert pg_client.get(L, headers=h).json() == []
