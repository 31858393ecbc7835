"""PostgreSQL refusing connections, or hung, while the service runs: every route answers 503
`database_unavailable` in the documented shape, within its bound, with no driver text (host,
port, SQL) in the answer; /health/ready answers within HEALTH_CHECK_TIMEOUT_SECONDS; cached
scores are never served without a data version read; the service recovers by itself.

The database is a real PostgreSQL (TEST_DATABASE_URL: a database this module creates and
drops) reached through a TCP proxy of this test's own (`tests/support/tcp_proxy.py`), which is
what fails: the shared server itself is never touched."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from backend.db.engine import make_engine
from backend.db.migrate import upgrade_to_head
from backend.main import create_app
from backend.market_data.providers.csv_file import read_price_file
from backend.market_data.sample import SAMPLE_PRICES
from backend.market_data.store import PriceStore
from tests.conftest import fresh_pg_database
from tests.support.portfolio_app import PASSWORD, Api, portfolio_settings
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.integration, pytest.mark.database]

TICKERS = ["AAPL", "MSFT", "NVDA", "JPM", "XOM", "KO", "PEP", "SPY"]
STATEMENT_SECONDS = 2.0
POOL_SECONDS = 1.0
VERSION_SECONDS = 0.5
HEALTH_SECONDS = 1.0
# A request on a failing database answers within: the statement limit plus the client's grace
# (a hung server), a pool wait, and slack for this 2-core machine.
ROUTE_BOUND = STATEMENT_SECONDS + 1.0 + POOL_SECONDS + 3.0


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A database of this module's own on the shared server, migrated, with a few tickers."""
    with fresh_pg_database() as url:
        engine = make_engine(url)
        upgrade_to_head(engine)
        bars = read_price_file(SAMPLE_PRICES)
        PriceStore(engine).upsert_bars(bars[bars["ticker"].isin(TICKERS)], source="sample")
        engine.dispose()
        yield url


@pytest.fixture
def proxy(database: str) -> Iterator[TcpProxy]:
    url = make_url(database)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as p:
        yield p


@pytest.fixture
def client(database: str, proxy: TcpProxy) -> Iterator[TestClient]:
    url = make_url(database).set(host="127.0.0.1", port=proxy.port)
    settings = portfolio_settings(
        url.render_as_string(hide_password=False),
        database_connect_timeout_seconds=2,
        database_statement_timeout_seconds=STATEMENT_SECONDS,
        database_pool_timeout_seconds=POOL_SECONDS,
        data_version_timeout_seconds=VERSION_SECONDS,
        health_check_timeout_seconds=HEALTH_SECONDS,
        # A login checked in the last AUTH_SESSION_CACHE_SECONDS is answered without the
        # database (by design); these tests are about what happens when it must be read.
        auth_session_cache_seconds=0,
    )
    with TestClient(create_app(settings)) as c:
        yield c


def routes(user: dict[str, Any], portfolio: int) -> list[tuple[str, str, Any, dict[str, str]]]:
    """(method, path, JSON body, headers): a route of each kind that reads or writes the
    database (scores cached and not, prices, auth, portfolios, categories)."""
    auth = user["headers"]
    return [
        ("GET", "/api/v1/momentum/AAPL", None, {}),  # cached: the layer before the router
        ("GET", "/api/v1/momentum/MSFT/breakdown", None, {}),
        ("POST", "/api/v1/momentum/batch", {"tickers": ["AAPL", "KO"]}, {}),
        ("GET", "/api/v1/momentum/top?limit=3", None, {}),
        ("GET", "/api/v1/prices/AAPL", None, {}),
        ("GET", "/api/v1/securities", None, {}),
        ("POST", "/api/v1/auth/login", {"email": user["email"], "password": PASSWORD}, {}),
        ("POST", "/api/v1/auth/register", {"email": "new@example.com", "password": PASSWORD}, {}),
        ("GET", "/api/v1/auth/me", None, auth),
        ("GET", "/api/v1/portfolios", None, auth),
        ("GET", f"/api/v1/portfolios/{portfolio}", None, auth),
        ("POST", "/api/v1/portfolios", {"name": "another"}, auth),
        ("GET", "/api/v1/categories", None, {}),
    ]


def no_driver_text(body: str, proxy: TcpProxy) -> None:
    lowered = body.lower()
    for leak in ("127.0.0.1", str(proxy.port), "psycopg", "select ", "sqlalchemy", "port "):
        assert leak not in lowered, f"{leak!r} in the answer: {body}"


def assert_unavailable(resp: Any, proxy: TcpProxy) -> dict[str, Any]:
    assert resp.status_code == 503, resp.text
    error = resp.json()["error"]
    assert error["code"] == "database_unavailable"
    assert error["message"].startswith("the database is unavailable")
    assert error["details"]["reason"] in {
        "unreachable",
        "timeout",
        "connection_lost",
        "pool_exhausted",
    }
    no_driver_text(resp.text, proxy)
    return dict(error)


def timed(client: TestClient, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    started = time.monotonic()
    resp = client.request(method, path, json=body, headers=headers)
    resp.elapsed_seconds = time.monotonic() - started
    return resp


def every_route_is_unavailable(
    client: TestClient, proxy: TcpProxy, user: dict[str, Any], portfolio: int
) -> None:
    for method, path, body, headers in routes(user, portfolio):
        resp = timed(client, method, path, body, headers)
        assert_unavailable(resp, proxy)
        assert resp.elapsed_seconds < ROUTE_BOUND, (path, resp.elapsed_seconds)


def warm_up(client: TestClient) -> tuple[dict[str, Any], int]:
    api = Api(client)
    user = api.user()
    portfolio = api.portfolio(user["headers"])
    for method, path, body, headers in routes(user, portfolio):
        if path.endswith("register") or method == "POST" and path == "/api/v1/portfolios":
            continue
        resp = client.request(method, path, json=body, headers=headers)
        assert resp.status_code == 200, (path, resp.text)
    assert client.get("/api/v1/momentum/AAPL").headers["x-cache"] == "hit"
    return user, portfolio


def test_refused_connections_answer_503_on_every_route(client: TestClient, proxy: TcpProxy) -> None:
    user, portfolio = warm_up(client)
    proxy.refuse()
    every_route_is_unavailable(client, proxy, user, portfolio)

    ready = timed(client, "GET", "/health/ready", None, {})
    assert ready.status_code == 503 and ready.elapsed_seconds < HEALTH_SECONDS + 1.0
    check = ready.json()["checks"]["database"]
    assert check["ok"] is False and check["details"]["reason"] == "unreachable"
    no_driver_text(ready.text, proxy)

    status = client.get("/database/status")
    assert status.status_code == 503 and status.json()["reachable"] is False
    assert status.json()["error"].startswith("the database is unavailable")
    no_driver_text(status.text, proxy)

    proxy.reopen()
    assert client.get("/health/ready").status_code == 200
    for method, path, body, headers in routes(user, portfolio):
        if path.endswith("register"):
            continue
        resp = client.request(method, path, json=body, headers=headers)
        assert resp.status_code in (200, 201), (path, resp.text)


def test_a_hung_database_bounds_every_route_and_readiness(
    client: TestClient, proxy: TcpProxy
) -> None:
    user, portfolio = warm_up(client)
    proxy.hang()
    try:
        ready = timed(client, "GET", "/health/ready", None, {})
        assert ready.status_code == 503, ready.text
        assert ready.elapsed_seconds < HEALTH_SECONDS + 1.0, ready.elapsed_seconds
        assert ready.json()["checks"]["database"]["details"]["reason"] == "timeout"

        # The cached score is in the cache, but its data version cannot be read: no answer
        # can be shown to be as new as the prices, so none is served.
        cached = timed(client, "GET", "/api/v1/momentum/AAPL", None, {})
        error = assert_unavailable(cached, proxy)
        assert error["details"]["reason"] == "timeout"
        assert "data version" in error["message"]
        assert cached.elapsed_seconds < 2 * VERSION_SECONDS + 1.5, cached.elapsed_seconds

        every_route_is_unavailable(client, proxy, user, portfolio)

        again = timed(client, "GET", "/health/ready", None, {})
        assert again.status_code == 503 and again.elapsed_seconds < HEALTH_SECONDS + 1.0
    finally:
        proxy.resume()

    deadline = time.monotonic() + 20
    while client.get("/health/ready").status_code != 200:
        assert time.monotonic() < deadline, "the service did not recover from the hang"
        time.sleep(0.2)
    resp = client.get("/api/v1/momentum/AAPL")
    assert resp.status_code == 200, resp.text
    assert client.get(f"/api/v1/portfolios/{portfolio}", headers=user["headers"]).status_code == 200


def test_readiness_answers_while_every_worker_waits_on_a_hung_database(
    client: TestClient, proxy: TcpProxy
) -> None:
    """45 requests hold every thread of the request pool (40) and every connection of the
    database pool on a hung server; readiness still answers in time, and the requests all end
    with 503 (some waiting for a connection: pool_exhausted)."""
    warm_up(client)
    proxy.hang()
    try:
        with ThreadPoolExecutor(max_workers=45) as pool:
            futures = [
                pool.submit(timed, client, "GET", "/api/v1/securities", None, {}) for _ in range(45)
            ]
            time.sleep(0.5)
            ready = timed(client, "GET", "/health/ready", None, {})
            answers = [f.result(timeout=60) for f in futures]
    finally:
        proxy.resume()
    assert ready.status_code == 503 and ready.elapsed_seconds < HEALTH_SECONDS + 1.0
    reasons = set()
    for resp in answers:
        reasons.add(assert_unavailable(resp, proxy)["details"]["reason"])
        assert resp.elapsed_seconds < 3 * ROUTE_BOUND, resp.elapsed_seconds
    assert "pool_exhausted" in reasons, reasons
