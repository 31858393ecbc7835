"""Redis dies while the service runs, then comes back: every request still answers 2xx, the
stats and readiness report the outage, and the service returns to Redis by itself.

The Redis here is a redis-server this test starts on a free loopback port and kills."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from backend.main import create_app
from tests.api.test_cache_api import copy_sqlite
from tests.conftest import make_settings
from tests.unit.cache.support import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.database]

RETRY_SECONDS = 0.3
PREFIX = "avfault"


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with RedisServer() as srv:
        yield srv


@pytest.fixture
def client(
    server: RedisServer, sample_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    store_url = copy_sqlite(sample_db_url, tmp_path_factory.mktemp("fault") / "store.db")
    settings = make_settings(
        store_url,
        redis_url=server.url,
        cache_key_prefix=PREFIX,
        redis_socket_timeout_seconds=0.25,
        redis_connect_timeout_seconds=0.25,
        redis_retry_seconds=RETRY_SECONDS,
        admin_token=ADMIN_TOKEN,
    )
    with TestClient(create_app(settings)) as c:
        yield c


def keys_in(server: RedisServer) -> list[str]:
    client: Any = redis.Redis(port=server.port, socket_timeout=1)
    try:
        return sorted(k.decode() for k in client.scan_iter(match=f"{PREFIX}:*"))
    finally:
        client.close()


REQUESTS = [
    ("GET", "/api/v1/momentum/AAPL", None),
    ("GET", "/api/v1/momentum/MSFT?as_of=2020-06-30", None),
    ("GET", "/api/v1/momentum/NVDA/breakdown", None),
    ("GET", "/api/v1/momentum/top?limit=3", None),
    ("POST", "/api/v1/momentum/batch", {"tickers": ["AAPL", "JPM", "XOM"]}),
    ("POST", "/api/v1/cache/warmup?tickers=KO,PEP", None),
    ("GET", "/api/v1/cache/stats", None),
    ("GET", "/health/live", None),
]


ADMIN_TOKEN = "fault-test-admin-token-0123456789"


def every_request_succeeds(client: TestClient) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}  # the warmup is an admin route
    for method, url, body in REQUESTS:
        resp = client.request(method, url, json=body, headers=admin)
        assert 200 <= resp.status_code < 300, (url, resp.status_code, resp.text)


def wait_until(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_outage_and_recovery(client: TestClient, server: RedisServer) -> None:
    # Up: answers go to this Redis.
    every_request_succeeds(client)
    assert client.get("/api/v1/momentum/AAPL").headers["x-cache"] == "hit"
    assert any(":AAPL:latest:all" in k for k in keys_in(server))
    assert client.get("/api/v1/cache/stats").json()["reachable"] is True
    assert client.get("/health/ready").status_code == 200

    # Redis dies.
    server.kill()
    for _ in range(3):
        every_request_succeeds(client)
    stats = client.get("/api/v1/cache/stats").json()
    assert stats["backend"] == "redis"
    assert stats["reachable"] is False
    assert stats["keys"] is None
    assert "Connection" in (stats["error"] or "")
    assert stats["details"]["outages"] >= 1
    # Where Redis runs is not said to the public (the log has it).
    raw = client.get("/api/v1/cache/stats").text
    assert str(server.port) not in raw and "127.0.0.1" not in raw
    # Answers computed during the outage are kept in-process meanwhile.
    assert client.get("/api/v1/momentum/PEP").headers["x-cache"] == "hit"
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"]["ok"] is False
    metrics = client.get("/metrics").text
    assert 'alphavelocity_cache_backend_up{backend="redis"} 0.0' in metrics

    # Redis comes back (empty, same port): the service goes back to it by itself.
    server.start()
    time.sleep(RETRY_SECONDS)
    wait_until(lambda: client.get("/api/v1/cache/stats").json()["reachable"] is True)
    every_request_succeeds(client)
    assert client.get("/health/ready").status_code == 200
    assert any(":AAPL:latest:all" in k for k in keys_in(server))
    assert client.get("/api/v1/momentum/AAPL").headers["x-cache"] == "hit"
    metrics = client.get("/metrics").text
    assert 'alphavelocity_cache_backend_up{backend="redis"} 1.0' in metrics


def test_a_redis_that_hangs_costs_one_timeout_then_is_bypassed(
    client: TestClient, server: RedisServer
) -> None:
    assert server.proc is not None
    client.get("/api/v1/momentum/AAPL")
    os.kill(server.proc.pid, signal.SIGSTOP)  # accepts nothing, answers nothing
    try:
        started = time.monotonic()
        first = client.get("/api/v1/momentum/AAPL")
        first_s = time.monotonic() - started
        started = time.monotonic()
        for _ in range(5):
            assert client.get("/api/v1/momentum/MSFT").status_code == 200
        next_s = (time.monotonic() - started) / 5
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    assert first.status_code == 200
    assert first_s < 5  # bounded by the socket time-out (0.25 s), not hanging
    assert next_s < 0.5  # while backing off, Redis is not waited for
    wait_until(lambda: client.get("/api/v1/cache/stats").json()["reachable"] is True)
