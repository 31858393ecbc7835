"""Rate limiting with slowapi: Redis storage when REDIS_URL is set, in-process otherwise.

slowapi's decorators bind one module-level limiter at import time; the service is built by
`create_app(settings)` (tests build several apps with different settings), so each app gets
its own slowapi `Limiter` (storage, key prefix, in-memory fallback) and routes opt in with the
`RateLimit(scope, setting)` dependency, which hits that limiter's moving window and answers
429 with `Retry-After` (in the one error shape) when the client is over the limit.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from fastapi import Depends, Request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from slowapi import Limiter
from slowapi.util import get_remote_address

from backend.auth.errors import RateLimited
from backend.config import Settings

log = logging.getLogger(__name__)


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.storage_uri = settings.redis_url or "memory://"
        self.slowapi = Limiter(
            key_func=get_remote_address,
            storage_uri=self.storage_uri,
            strategy="moving-window",
            key_prefix=settings.rate_limit_key_prefix,
            enabled=settings.rate_limit_enabled,
            headers_enabled=False,
        )
        # Used while the shared storage (Redis) fails, so limits still hold per process.
        self._fallback = MovingWindowRateLimiter(MemoryStorage())

    def _window(self, limiter: Any, item: RateLimitItem, keys: tuple[str, ...]) -> int:
        reset_at, _ = limiter.get_window_stats(item, *keys)
        return max(1, int(math.ceil(float(reset_at) - time.time())))

    def hit(self, scope: str, limit: str, client: str) -> None:
        """Count one request of `client` against `limit` in `scope`; RateLimited when over."""
        if not self.settings.rate_limit_enabled:
            return
        keys = (self.settings.rate_limit_key_prefix, scope, client)
        for item in parse_many(limit):
            limiter: Any = self.slowapi.limiter
            try:
                allowed = limiter.hit(item, *keys)
            except Exception as exc:  # storage down: limit in-process rather than not at all
                log.warning(
                    "rate-limit storage %s failed (%s); limiting in-process",
                    self.storage_uri.split("@")[-1],
                    exc,
                )
                limiter = self._fallback
                allowed = limiter.hit(item, *keys)
            if not allowed:
                raise RateLimited(limit, scope, self._window(limiter, item, keys))


def RateLimit(scope: str, setting: str) -> Any:  # noqa: N802 (reads like a marker)
    """A route dependency: at most `settings.<setting>` requests per client in `scope`."""

    def _check(request: Request) -> None:
        limits: RateLimits = request.app.state.rate_limits
        limits.hit(scope, getattr(limits.settings, setting), get_remote_address(request))

    return Depends(_check)
