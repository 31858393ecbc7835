"""What only the in-process backend does: its bound (LRU eviction) and its clock."""

from __future__ import annotations

import pytest

from backend.cache.memory import MemoryBackend
from tests.unit.cache.support import run_async

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_least_recently_used_entry_is_evicted_past_the_bound() -> None:
    async def main() -> None:
        cache = MemoryBackend("p", max_entries=3)
        for k in "abc":
            await cache.set(k, k.encode(), 60)
        assert await cache.get("a") == b"a"  # a is now the most recently used
        await cache.set("d", b"d", 60)
        assert await cache.get("b") is None
        assert await cache.get_many(["a", "c", "d"]) == [b"a", b"c", b"d"]
        stats = await cache.stats()
        assert stats.keys == 3
        assert stats.details["evictions"] == 1
        assert stats.memory_used_bytes == 3

    run_async(main())


def test_ttl_follows_the_clock_and_expired_entries_leave_the_stats() -> None:
    async def main() -> None:
        clock = Clock()
        cache = MemoryBackend("p", max_entries=10, clock=clock)
        await cache.set("a", b"12345", 10)
        await cache.set("b", b"1", 100)
        assert cache.ttl("a") == pytest.approx(10)
        clock.now += 9.99
        assert await cache.get("a") == b"12345"
        clock.now += 0.02
        assert await cache.get("a") is None
        assert cache.ttl("a") is None
        stats = await cache.stats()
        assert stats.keys == 1 and stats.memory_used_bytes == 1

    run_async(main())


def test_a_bound_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        MemoryBackend("p", max_entries=0)
