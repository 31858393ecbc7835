"""A short per-process memory of login checks, so an access token does not cost a database
round trip on every request.

An access token names its login (`sid`, the refresh-token family). Checking it means one
query: the user row and whether the family still has an unrevoked token. The answer
(the user, or why the token is refused) is kept here AUTH_SESSION_CACHE_SECONDS; the
process that revokes a login forgets it at once, the others within that time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from cachetools import TTLCache

if TYPE_CHECKING:
    from backend.auth.service import AuthUser

MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class SessionCheck:
    user_id: int
    user: AuthUser | None  # None: refused, see `reason`
    reason: str | None = None  # "revoked" or "no_user"


class SessionCache:
    def __init__(self, ttl_seconds: float, timer: Callable[[], float] = time.monotonic) -> None:
        self._cache: TTLCache[str, SessionCheck] | None = (
            TTLCache(MAX_SESSIONS, ttl_seconds, timer) if ttl_seconds > 0 else None
        )
        self._lock = threading.Lock()

    def get(self, sid: str, user_id: int) -> SessionCheck | None:
        if self._cache is None:
            return None
        with self._lock:
            check = self._cache.get(sid)
        return check if check is not None and check.user_id == user_id else None

    def put(self, sid: str, check: SessionCheck) -> None:
        if self._cache is not None:
            with self._lock:
                self._cache[sid] = check

    def forget(self, sid: str) -> None:
        if self._cache is not None:
            with self._lock:
                self._cache.pop(sid, None)
