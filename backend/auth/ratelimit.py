"""Rate limits on the `limits` library: moving windows, in Redis when REDIS_URL is set (shared
by every worker and replica), in-process otherwise.

- Per client: routes opt in with the `RateLimit(scope, setting)` dependency, which calls
  `RateLimits.hit(scope, limit, client)`; past the limit, 429 `rate_limited` with Retry-After.
  The client is `request.client`, already resolved through TRUSTED_PROXIES
  (`backend.auth.proxies`).
- Per account: `account_blocked` / `count_account_failure` count failed logins per normalised
  e-mail (RATE_LIMIT_LOGIN_ACCOUNT), whatever address they come from. The key is a digest of
  the address, so Redis never holds e-mail addresses.

Each `create_app(settings)` builds its own `RateLimits` (tests build several apps).

A Redis that is down or hung costs one bounded wait: the socket and connect time-outs are
REDIS_SOCKET_TIMEOUT_SECONDS and REDIS_CONNECT_TIMEOUT_SECONDS, and a time-out is not retried
(only a pooled connection that died is replaced, once, at once). The failure marks Redis down:
for REDIS_RETRY_SECONDS the limits are kept in-process (still enforced, per process), then the
next request tries Redis again, as the cache does (backend/cache/redis_backend.py).
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from contextlib import suppress
from functools import lru_cache
from typing import Any, Callable, TypeVar

from fastapi import Depends, Request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.retry import Retry

from backend.auth.proxies import client_address
from backend.cache.redis_backend import redact
from backend.config import Settings
from backend.errors import RateLimited

log = logging.getLogger(__name__)

T = TypeVar("T")
ACCOUNT_SCOPE = "login-account"
_FAILURES = (RedisError, OSError, StorageError)


@lru_cache(maxsize=64)
def _items(limit: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(limit))


def _storage_uri(redis_url: str) -> str:
    """REDIS_URL in the `limits` notation (it names Unix sockets `redis+unix://`)."""
    return (
        "redis+unix://" + redis_url[len("unix://") :]
        if redis_url.startswith("unix://")
        else redis_url
    )


def account_key(email: str) -> str:
    """The counter key of an account: a digest of its normalised e-mail, not the address."""
    return hashlib.sha256(email.encode()).hexdigest()[:32]


class RateLimits:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._memory = MovingWindowRateLimiter(MemoryStorage())
        self._shared: MovingWindowRateLimiter | None = None
        self.storage = "memory"
        if settings.redis_url:
            self.storage = redact(settings.redis_url)
            # Passed on to redis-py's connection pool. A time-out is not retried (redis-py
            # would retry 3 times with back-off); a pooled connection that died is replaced
            # once, at once.
            options: dict[str, Any] = {
                "socket_timeout": settings.redis_socket_timeout_seconds,
                "socket_connect_timeout": settings.redis_connect_timeout_seconds,
                "max_connections": settings.redis_max_connections,
                "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
                "health_check_interval": 30,
            }
            self._shared = MovingWindowRateLimiter(
                RedisStorage(
                    _storage_uri(settings.redis_url),
                    key_prefix=settings.rate_limit_key_prefix,
                    **options,
                )
            )
        self._lock = threading.Lock()
        self._down_until = 0.0
        self.reachable = True
        self.outages = 0

    # ------------------------------------------------------------ storage with fallback

    def _run(self, op: Callable[[MovingWindowRateLimiter], T]) -> T:
        """`op` on the shared (Redis) limiter, or in-process while Redis is marked down."""
        shared = self._shared
        if shared is not None and (self.reachable or self._clock() >= self._down_until):
            try:
                result = op(shared)
            except _FAILURES as exc:
                self._mark_down(exc)
            else:
                if not self.reachable:
                    self._mark_up()
                return result
        return op(self._memory)

    def _mark_down(self, exc: BaseException) -> None:
        with self._lock:
            self._down_until = self._clock() + self.settings.redis_retry_seconds
            if self.reachable:
                self.outages += 1
                log.warning(
                    "rate-limit storage %s failed (%s: %s): limiting in-process, retrying in %.1fs",
                    self.storage,
                    type(exc).__name__,
                    exc,
                    self.settings.redis_retry_seconds,
                )
            self.reachable = False

    def _mark_up(self) -> None:
        with self._lock:
            if not self.reachable:
                log.warning("rate-limit storage %s reachable again", self.storage)
            self.reachable = True

    @staticmethod
    def _retry_after(limiter: MovingWindowRateLimiter, item: RateLimitItem, *keys: str) -> int:
        reset_at, _ = limiter.get_window_stats(item, *keys)
        return max(1, int(math.ceil(float(reset_at) - time.time())))

    def _limit(
        self, scope: str, limit: str, key: str, count: bool, what: str | None = None
    ) -> None:
        """RateLimited when `key` is over `limit` in `scope`; `count` records this request
        (a moving window records only what it allows)."""
        if not self.settings.rate_limit_enabled:
            return
        for item in _items(limit):

            def _op(limiter: MovingWindowRateLimiter, item: RateLimitItem = item) -> int | None:
                allowed = limiter.hit(item, scope, key) if count else limiter.test(item, scope, key)
                return None if allowed else self._retry_after(limiter, item, scope, key)

            retry_after = self._run(_op)
            if retry_after is not None:
                raise RateLimited(limit, scope, retry_after, what)

    # ------------------------------------------------------------ per client

    def hit(self, scope: str, limit: str, client: str) -> None:
        """Count one request of `client` against `limit` in `scope`; RateLimited when over."""
        self._limit(scope, limit, client, count=True)

    # ------------------------------------------------------------ per account

    def account_blocked(self, email: str) -> None:
        """RateLimited when the account has had RATE_LIMIT_LOGIN_ACCOUNT failed logins in the
        window (nothing is counted here: only failures count)."""
        self._limit(
            ACCOUNT_SCOPE,
            self.settings.rate_limit_login_account,
            account_key(email),
            count=False,
            what="failed logins of this account",
        )

    def count_account_failure(self, email: str) -> None:
        with suppress(RateLimited):  # already at the limit: the next attempt is refused
            self._limit(
                ACCOUNT_SCOPE, self.settings.rate_limit_login_account, account_key(email), True
            )


def RateLimit(scope: str, setting: str) -> Any:  # noqa: N802 (reads like a marker)
    """A route dependency: at most `settings.<setting>` requests per client in `scope`."""

    def _check(request: Request) -> None:
        limits: RateLimits = request.app.state.rate_limits
        limits.hit(scope, getattr(limits.settings, setting), client_address(request))

    return Depends(_check)
