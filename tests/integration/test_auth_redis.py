"""Rate limits on a real Redis: counters shared by two app instances (replicas), and a Redis
that hangs costs one bounded time-out, after which the limits hold in-process until Redis
answers again.

The hung Redis is a redis-server this test starts and stops with SIGSTOP/SIGCONT (never the
shared one); the shared counters use the database named by TEST_REDIS_URL, under a key prefix
of their own that the test deletes."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from backend.main import create_app
from tests.support.portfolio_app import PASSWORD, Api, assert_error, portfolio_settings
from tests.unit.cache.support import RedisServer, redis_test_url

pytestmark = [pytest.mark.integration, pytest.mark.database]

RETRY_SECONDS = 0.5


def login(client: TestClient, password: str = "wrong password here") -> tuple[int, float]:
    started = time.monotonic()
    resp = client.post(
        "/api/v1/auth/login", json={"email": "user@example.com", "password": password}
    )
    return resp.status_code, time.monotonic() - started


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with RedisServer() as srv:
        yield srv


def limit_keys(port: int) -> list[str]:
    client: Any = redis.Redis(port=port, socket_timeout=1)
    try:
        return [k.decode() for k in client.scan_iter(match="avrl-*")]
    finally:
        client.close()


def test_a_hung_redis_costs_one_timeout_and_limits_still_hold(
    server: RedisServer, tmp_path: Path
) -> None:
    settings = portfolio_settings(
        f"sqlite:///{tmp_path / 'hung.db'}",
        redis_url=server.url,
        redis_socket_timeout_seconds=0.3,
        redis_connect_timeout_seconds=0.3,
        redis_retry_seconds=RETRY_SECONDS,
        rate_limit_login="6/minute",
        rate_limit_key_prefix="avrl-hung",
    )
    app = create_app(settings)
    assert server.proc is not None
    with TestClient(app) as client:
        Api(client).user("user@example.com")
        assert login(client)[0] == 401
        assert limit_keys(server.port)  # counted in Redis while it answers

        os.kill(server.proc.pid, signal.SIGSTOP)  # accepts connections, answers nothing
        try:
            first = login(client)
            rest = [login(client) for _ in range(6)]
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)
        assert first[0] == 401
        assert first[1] < 1  # one socket time-out (0.3 s): no retry, not 5 s
        assert max(seconds for _, seconds in rest) < 1  # Redis not waited for meanwhile
        # The limit still holds, in-process: 6 per minute (this process has seen 6 since).
        assert [code for code, _ in rest] == [401] * 5 + [429]
        limits = app.state.rate_limits
        assert limits.reachable is False and limits.outages == 1

        # Redis answers again: after REDIS_RETRY_SECONDS the next request goes back to it.
        time.sleep(RETRY_SECONDS)
        login(client, PASSWORD)
        assert limits.reachable is True


def test_counters_are_shared_by_replicas(tmp_path: Path) -> None:
    url = redis_test_url()
    prefix = f"avrl-{uuid.uuid4().hex[:8]}"
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    overrides: dict[str, Any] = {
        "redis_url": url,
        "rate_limit_key_prefix": prefix,
        "rate_limit_login_account": "3/15 minutes",
    }
    try:
        with (
            TestClient(create_app(portfolio_settings(db, **overrides))) as a,
            TestClient(create_app(portfolio_settings(db, **overrides))) as b,
        ):
            Api(a).user("user@example.com")
            assert [login(a)[0], login(b)[0], login(a)[0]] == [401, 401, 401]
            resp = b.post(
                "/api/v1/auth/login", json={"email": "user@example.com", "password": PASSWORD}
            )
            assert_error(resp, 429, "rate_limited")
            assert a.app.state.rate_limits.reachable  # type: ignore[attr-defined]
    finally:
        client: Any = redis.Redis.from_url(url, socket_timeout=2)
        keys = list(client.scan_iter(match=f"{prefix}*"))
        assert keys, "the counters were not in Redis"
        client.delete(*keys)
        client.close()
