"""The service engine's bounds on a real PostgreSQL (TEST_DATABASE_URL): the server cancels a
long statement, the client closes a connection to a server that does not answer at all (the
server is reached through this test's own TCP proxy, which hangs), the wait for a pooled
connection ends, and COPY still works through the watched connection."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pandas as pd
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.engine import make_url

from backend.db.engine import WATCHDOG, DatabaseTimeouts, make_engine
from backend.db.faults import database_unavailable
from backend.db.migrate import upgrade_to_head
from backend.market_data.store import PriceStore
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.integration, pytest.mark.database]

BOUNDS = DatabaseTimeouts(connect_seconds=2, statement_seconds=0.5, pool_seconds=0.5)


@pytest.fixture
def proxy(pg_url: str) -> Iterator[TcpProxy]:
    url = make_url(pg_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as p:
        yield p


def through(pg_url: str, proxy: TcpProxy) -> str:
    return make_url(pg_url).set(host="127.0.0.1", port=proxy.port).render_as_string(False)


def test_the_server_cancels_a_statement_past_the_limit(pg_url: str) -> None:
    engine = make_engine(pg_url, BOUNDS)
    try:
        started = time.monotonic()
        with pytest.raises(sa_exc.OperationalError) as caught:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_sleep(5)"))
        assert time.monotonic() - started < 2.0
        unavailable = database_unavailable(caught.value)
        assert unavailable is not None and unavailable.reason == "timeout"
        with engine.connect() as conn:  # the connection is fine for the next statement
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_maintenance_work_has_no_statement_limit(pg_url: str) -> None:
    engine = make_engine(pg_url, BOUNDS.unbounded_statements())
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(0.8)"))  # past the 0.5 s + grace of requests
    finally:
        engine.dispose()


def test_the_client_closes_a_connection_to_a_server_that_does_not_answer(
    pg_url: str, proxy: TcpProxy
) -> None:
    engine = make_engine(through(pg_url, proxy), BOUNDS)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        fired = WATCHDOG.fired
        proxy.hang()
        started = time.monotonic()
        with pytest.raises(sa_exc.DBAPIError) as caught:
            with engine.connect() as conn:  # the pool's ping is watched too
                conn.execute(text("SELECT 1"))
        waited = time.monotonic() - started
        # The pool's ping (0.5 s + 1 s grace), then a new connection: libpq's connect_timeout.
        assert waited < 1.5 + 2.0 + 1.5, waited
        assert WATCHDOG.fired > fired
        assert database_unavailable(caught.value) is not None
        proxy.resume()
        with engine.connect() as conn:  # dropped from the pool, reconnected
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        proxy.resume()
        engine.dispose()


def test_a_commit_to_a_hung_server_is_bounded(pg_url: str, proxy: TcpProxy) -> None:
    engine = make_engine(through(pg_url, proxy), BOUNDS)
    try:
        with pytest.raises(sa_exc.DBAPIError):
            with engine.begin() as conn:
                conn.execute(text("CREATE TEMPORARY TABLE t (x int)"))
                proxy.hang()
                started = time.monotonic()
        assert time.monotonic() - started < 1.5 + 1.0
    finally:
        proxy.resume()
        engine.dispose()


def test_the_wait_for_a_pooled_connection_ends(pg_url: str) -> None:
    engine = make_engine(pg_url, BOUNDS, pool_size=1, max_overflow=0)
    try:
        with engine.connect():
            started = time.monotonic()
            with pytest.raises(sa_exc.TimeoutError) as caught:
                engine.connect()
            assert 0.4 < time.monotonic() - started < 1.5
        unavailable = database_unavailable(caught.value)
        assert unavailable is not None and unavailable.reason == "pool_exhausted"
    finally:
        engine.dispose()


def test_copy_works_through_the_watched_connection(pg_url: str) -> None:
    engine = make_engine(pg_url, BOUNDS.unbounded_statements())
    upgrade_to_head(engine)
    engine.dispose()
    engine = make_engine(pg_url, BOUNDS)
    try:
        store = PriceStore(engine)
        days = pd.bdate_range("2024-01-01", periods=300)
        bars = pd.DataFrame(
            {
                "date": [d.date() for d in days],
                "ticker": "AAA",
                "open": 1.0,
                "high": 1.0,
                "low": 1.0,
                "close": range(1, 301),
                "adj_close": range(1, 301),
                "volume": 1000.0,
                "dividend": 0.0,
                "split": 1.0,
            }
        )
        result = store.upsert_bars(bars, source="test")
        assert result.rows == 300 and result.written == 300
        assert store.last_bar_dates(["AAA"]) == {"AAA": days[-1].date()}
    finally:
        engine.dispose()
