"""In-process cache: bounded (least recently used goes first) with a TTL per entry."""

from __future__ import annotations

import fnmatch
import time
from collections import OrderedDict
from typing import Callable, Mapping, Sequence

from backend.cache.base import BackendStats


class MemoryBackend:
    name = "memory"

    def __init__(
        self,
        prefix: str,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.prefix = prefix
        self.max_entries = max_entries
        self._clock = clock
        # key -> (expires at, value); order = recency of use, oldest first.
        self._data: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0
        self.evictions = 0

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._data.clear()
        self._bytes = 0

    def _full(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    def _get(self, full: str, now: float) -> bytes | None:
        item = self._data.get(full)
        if item is None:
            return None
        expires, value = item
        if expires <= now:
            self._drop(full)
            return None
        self._data.move_to_end(full)
        return value

    def _drop(self, full: str) -> None:
        item = self._data.pop(full, None)
        if item is not None:
            self._bytes -= len(item[1])

    def _set(self, full: str, value: bytes, ttl: float, now: float) -> None:
        self._drop(full)
        self._data[full] = (now + ttl, value)
        self._bytes += len(value)
        while len(self._data) > self.max_entries:
            _, (_, old) = self._data.popitem(last=False)
            self._bytes -= len(old)
            self.evictions += 1

    async def get(self, key: str) -> bytes | None:
        return self._get(self._full(key), self._clock())

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        now = self._clock()
        return [self._get(self._full(k), now) for k in keys]

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self._set(self._full(key), value, ttl, self._clock())

    async def set_many(self, items: Mapping[str, bytes], ttl: float) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        now = self._clock()
        for key, value in items.items():
            self._set(self._full(key), value, ttl, now)

    def ttl(self, key: str) -> float | None:
        """Seconds left for `key`, None when absent or expired."""
        now = self._clock()
        if self._get(self._full(key), now) is None:
            return None
        return self._data[self._full(key)][0] - now

    async def clear(self, pattern: str = "*") -> int:
        full = self._full(pattern)
        doomed = [k for k in self._data if fnmatch.fnmatchcase(k, full)]
        for key in doomed:
            self._drop(key)
        return len(doomed)

    def purge_expired(self) -> int:
        now = self._clock()
        doomed = [k for k, (expires, _) in self._data.items() if expires <= now]
        for key in doomed:
            self._drop(key)
        return len(doomed)

    async def ping(self) -> bool:
        return True

    async def stats(self) -> BackendStats:
        self.purge_expired()
        return BackendStats(
            backend=self.name,
            reachable=True,
            keys=len(self._data),
            memory_used_bytes=self._bytes,
            details={"max_entries": self.max_entries, "evictions": self.evictions},
        )
