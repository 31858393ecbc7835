"""The one cache interface: an async byte store with TTLs under a key prefix.

Two backends implement it: `MemoryBackend` (in-process, bounded, TTL) and `RedisBackend`
(redis.asyncio with a connection pool and timeouts, falling back to an in-process cache while
Redis is unreachable). `build_backend` chooses one from the settings (REDIS_URL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence

# What a clear pattern may contain: key characters plus the glob wildcards * ? [ ].
PATTERN_RE = re.compile(r"^[A-Za-z0-9_.:\-^=*?\[\]]{1,200}$")
PATTERN_RULE = "1 to 200 characters from A-Z a-z 0-9 _ . : - ^ = and the wildcards * ? [ ]"


@dataclass
class BackendStats:
    backend: str
    reachable: bool
    keys: int | None
    memory_used_bytes: int | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class CacheBackend(Protocol):
    """Keys passed in are relative to the backend's prefix; the backend adds it."""

    name: str
    prefix: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def get(self, key: str) -> bytes | None: ...

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...

    async def set(self, key: str, value: bytes, ttl: float) -> None: ...

    async def set_many(self, items: Mapping[str, bytes], ttl: float) -> None: ...

    async def clear(self, pattern: str = "*") -> int:
        """Delete this service's keys matching `pattern` (a glob under the prefix)."""
        ...

    async def ping(self) -> bool: ...

    async def stats(self) -> BackendStats: ...
