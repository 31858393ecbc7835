"""Rate limits: per client and per account, 429 with Retry-After past the limit, and a Redis
that fails costs one failed call, then the limits hold in-process for REDIS_RETRY_SECONDS
before Redis is tried again."""

from __future__ import annotations

import time
from typing import Any

import pytest
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from redis.exceptions import TimeoutError as RedisTimeout

from backend.auth.ratelimit import RateLimits, account_key
from backend.errors import RateLimited
from tests.conftest import make_settings
from tests.unit.cache.support import free_port

pytestmark = pytest.mark.unit


def limits(**overrides: Any) -> RateLimits:
    return RateLimits(make_settings("sqlite://", **overrides))


def test_per_client_limit_and_retry_after() -> None:
    rl = limits()
    for _ in range(3):
        rl.hit("login", "3/minute", "198.51.100.7")
    with pytest.raises(RateLimited) as exc:
        rl.hit("login", "3/minute", "198.51.100.7")
    assert 1 <= exc.value.retry_after <= 60
    assert exc.value.details == {
        "limit": "3/minute",
        "scope": "login",
        "retry_after_seconds": exc.value.retry_after,
    }
    rl.hit("login", "3/minute", "198.51.100.8")  # another client
    rl.hit("register", "3/minute", "198.51.100.7")  # another scope


def test_every_window_of_a_compound_limit_counts() -> None:
    rl = limits()
    rl.hit("x", "5/minute;2/hour", "c")
    rl.hit("x", "5/minute;2/hour", "c")
    with pytest.raises(RateLimited, match="2/hour"):
        rl.hit("x", "5/minute;2/hour", "c")


def test_account_throttle_counts_failures_only() -> None:
    rl = limits(rate_limit_login_account="2/15 minutes")
    for _ in range(5):
        rl.account_blocked("ada@example.com")  # checking counts nothing
    rl.count_account_failure("ada@example.com")
    rl.account_blocked("ada@example.com")
    rl.count_account_failure("ada@example.com")
    with pytest.raises(RateLimited) as exc:
        rl.account_blocked("ada@example.com")
    assert exc.value.details["scope"] == "login-account"
    assert "failed logins of this account" in exc.value.message
    assert 1 <= exc.value.retry_after <= 900
    rl.account_blocked("bob@example.com")


def test_account_keys_do_not_hold_the_address() -> None:
    key = account_key("ada@example.com")
    assert "ada" not in key and len(key) == 32
    assert key == account_key("ada@example.com") != account_key("bob@example.com")


def test_switched_off() -> None:
    rl = limits(rate_limit_enabled=False, rate_limit_login_account="1/minute")
    for _ in range(5):
        rl.hit("login", "1/minute", "c")
        rl.count_account_failure("a@example.com")
        rl.account_blocked("a@example.com")


def test_unreachable_redis_falls_back_at_once() -> None:
    rl = limits(
        redis_url=f"redis://127.0.0.1:{free_port()}/0",  # nothing listens: refused
        redis_connect_timeout_seconds=0.2,
        redis_socket_timeout_seconds=0.2,
    )
    started = time.perf_counter()
    rl.hit("login", "2/minute", "c")
    rl.hit("login", "2/minute", "c")
    with pytest.raises(RateLimited):
        rl.hit("login", "2/minute", "c")
    assert time.perf_counter() - started < 2
    assert rl.reachable is False and rl.outages == 1


class FlakyLimiter(MovingWindowRateLimiter):
    """A shared limiter whose storage fails while `failing`, counting the calls it gets."""

    def __init__(self) -> None:
        super().__init__(MemoryStorage())
        self.failing = False
        self.calls = 0

    def hit(self, *args: Any, **kwargs: Any) -> bool:
        self.calls += 1
        if self.failing:
            raise RedisTimeout("Timeout reading from socket")
        return super().hit(*args, **kwargs)


def test_after_a_failure_redis_is_left_alone_for_the_retry_time() -> None:
    now = [1000.0]
    rl = RateLimits(
        make_settings("sqlite://", redis_url="redis://127.0.0.1:1/0", redis_retry_seconds=2.0),
        clock=lambda: now[0],
    )
    shared = FlakyLimiter()
    rl._shared = shared  # the storage under test
    rl.hit("s", "100/minute", "c")
    assert shared.calls == 1 and rl.reachable

    shared.failing = True
    rl.hit("s", "100/minute", "c")  # fails over to in-process, no error
    assert shared.calls == 2 and not rl.reachable
    for _ in range(10):
        rl.hit("s", "100/minute", "c")
    assert shared.calls == 2  # not tried while marked down

    now[0] += 2.0
    rl.hit("s", "100/minute", "c")  # tried again, still failing
    assert shared.calls == 3 and not rl.reachable

    shared.failing = False
    now[0] += 2.0
    rl.hit("s", "100/minute", "c")
    assert shared.calls == 4 and rl.reachable  # back to the shared storage
    assert rl.outages == 1


def test_limits_still_hold_while_redis_is_down() -> None:
    now = [0.0]
    rl = RateLimits(
        make_settings("sqlite://", redis_url="redis://127.0.0.1:1/0"), clock=lambda: now[0]
    )
    shared = FlakyLimiter()
    shared.failing = True
    rl._shared = shared
    rl.hit("s", "2/minute", "c")
    rl.hit("s", "2/minute", "c")
    with pytest.raises(RateLimited):
        rl.hit("s", "2/minute", "c")
