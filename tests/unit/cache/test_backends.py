"""One test suite, run against both cache backends: in-process memory (always) and Redis
(the real one on TEST_REDIS_URL; skipped with the reason when it is not set)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any, Coroutine, TypeVar

import pytest
import redis

from backend.cache.base import CacheBackend
from backend.cache.memory import MemoryBackend
from backend.cache.redis_backend import RedisBackend
from tests.unit.cache.support import LoopThread, flush_test_db, redis_test_url, run_async

T = TypeVar("T")


class Harness:
    """A backend plus an event loop (on a thread of its own) for the whole test."""

    def __init__(self, backend: CacheBackend) -> None:
        self.backend = backend
        self.loop = LoopThread()
        self.loop.run(backend.start())

    def __call__(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run(coro)

    def close(self) -> None:
        self.loop.run(self.backend.close())
        self.loop.close()


@pytest.fixture(
    params=[
        pytest.param("memory", marks=pytest.mark.unit),
        pytest.param("redis", marks=pytest.mark.integration),
    ]
)
def cache(request: pytest.FixtureRequest) -> Iterator[Harness]:
    prefix = f"avtest-{uuid.uuid4().hex[:8]}"
    backend: CacheBackend
    if request.param == "memory":
        backend = MemoryBackend(prefix, max_entries=100)
    else:
        url = redis_test_url()
        flush_test_db(url)
        backend = RedisBackend(url, prefix, fallback=MemoryBackend(prefix, 100))
    harness = Harness(backend)
    yield harness
    harness.close()
    if request.param == "redis":
        flush_test_db(url)


def test_get_of_a_missing_key_is_none(cache: Harness) -> None:
    assert cache(cache.backend.get("nope")) is None


def test_set_then_get_returns_the_same_bytes(cache: Harness) -> None:
    cache(cache.backend.set("score:AAPL", b'{"x":1}', ttl=60))
    assert cache(cache.backend.get("score:AAPL")) == b'{"x":1}'


def test_set_overwrites(cache: Harness) -> None:
    cache(cache.backend.set("k", b"1", ttl=60))
    cache(cache.backend.set("k", b"2", ttl=60))
    assert cache(cache.backend.get("k")) == b"2"


def test_entries_expire_after_their_ttl(cache: Harness) -> None:
    cache(cache.backend.set("short", b"v", ttl=0.05))
    cache(cache.backend.set("long", b"v", ttl=60))
    assert cache(cache.backend.get("short")) == b"v"
    cache(asyncio.sleep(0.12))
    assert cache(cache.backend.get("short")) is None
    assert cache(cache.backend.get("long")) == b"v"


def test_get_many_keeps_order_and_reports_misses(cache: Harness) -> None:
    cache(cache.backend.set_many({"a": b"1", "c": b"3"}, ttl=60))
    assert cache(cache.backend.get_many(["a", "b", "c", "a"])) == [b"1", None, b"3", b"1"]
    assert cache(cache.backend.get_many([])) == []


def test_clear_by_pattern_deletes_only_matching_keys(cache: Harness) -> None:
    cache(cache.backend.set_many({"score:AAPL": b"1", "score:MSFT": b"2", "top:all": b"3"}, 60))
    assert cache(cache.backend.clear("score:*")) == 2
    assert cache(cache.backend.get_many(["score:AAPL", "score:MSFT", "top:all"])) == [
        None,
        None,
        b"3",
    ]
    assert cache(cache.backend.clear()) == 1
    assert cache(cache.backend.get("top:all")) is None


def test_clear_leaves_other_prefixes_alone(cache: Harness) -> None:
    other_prefix = cache.backend.prefix + "-other"
    if isinstance(cache.backend, RedisBackend):
        client: Any = redis.Redis.from_url(cache.backend.url)
        client.set(f"{other_prefix}:score:AAPL", b"keep", ex=60)
        client.set("unprefixed", b"keep", ex=60)
        cache(cache.backend.set("score:AAPL", b"1", ttl=60))
        assert cache(cache.backend.clear("*")) == 1
        assert client.get(f"{other_prefix}:score:AAPL") == b"keep"
        assert client.get("unprefixed") == b"keep"
        client.close()
    else:
        neighbour = MemoryBackend(other_prefix, 10)
        run_async(neighbour.set("score:AAPL", b"keep", 60))
        cache(cache.backend.set("score:AAPL", b"1", ttl=60))
        assert cache(cache.backend.clear("*")) == 1
        assert run_async(neighbour.get("score:AAPL")) == b"keep"


def test_stats_count_keys_and_memory(cache: Harness) -> None:
    cache(cache.backend.set_many({f"k{i}": b"x" * 100 for i in range(5)}, ttl=60))
    stats = cache(cache.backend.stats())
    assert stats.backend == cache.backend.name
    assert stats.reachable is True
    assert stats.keys == 5
    assert stats.memory_used_bytes is not None and stats.memory_used_bytes >= 500


def test_ping(cache: Harness) -> None:
    assert cache(cache.backend.ping()) is True


def test_non_positive_ttl_is_refused_or_clamped(cache: Harness) -> None:
    if isinstance(cache.backend, MemoryBackend):
        with pytest.raises(ValueError):
            cache(cache.backend.set("k", b"v", ttl=0))
    else:
        cache(cache.backend.set("k", b"v", ttl=0.0001))  # clamped to 1 ms, then gone
        cache(asyncio.sleep(0.02))
        assert cache(cache.backend.get("k")) is None
