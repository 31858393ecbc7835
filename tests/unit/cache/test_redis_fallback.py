"""The Redis backend with no Redis answering (a closed loopback port): every operation falls
back to the in-process cache, nothing raises, and stats say unreachable."""

from __future__ import annotations

import pytest

from backend.cache.memory import MemoryBackend
from backend.cache.redis_backend import RedisBackend, redact
from tests.unit.cache.support import free_port, run_async

pytestmark = pytest.mark.unit


def test_operations_fall_back_to_memory_when_redis_is_unreachable() -> None:
    async def main() -> None:
        url = f"redis://127.0.0.1:{free_port()}/0"
        backend = RedisBackend(
            url, "p", MemoryBackend("p", 10), socket_timeout=0.2, connect_timeout=0.2
        )
        await backend.start()
        assert backend.reachable is False
        await backend.set("k", b"v", 60)
        assert await backend.get("k") == b"v"
        assert await backend.get_many(["k", "x"]) == [b"v", None]
        await backend.set_many({"a": b"1"}, 60)
        assert await backend.clear("*") == 2
        stats = await backend.stats()
        assert stats.reachable is False and stats.keys is None
        assert stats.error is not None and "Connection" in stats.error
        assert backend.fallback_operations >= 5
        assert stats.details["outages"] == 1
        await backend.close()

    run_async(main())


def test_after_a_failure_redis_is_left_alone_for_the_retry_interval() -> None:
    class Clock:
        now = 0.0

        def __call__(self) -> float:
            return self.now

    clock = Clock()

    async def main() -> None:
        url = f"redis://127.0.0.1:{free_port()}/0"
        backend = RedisBackend(url, "p", MemoryBackend("p", 10), retry_seconds=5, clock=clock)
        await backend.start()
        assert backend._usable() is False
        clock.now = 4.9
        assert backend._usable() is False
        clock.now = 5.0
        assert backend._usable() is True  # the next operation tries Redis again
        await backend.get("k")
        assert backend.reachable is False and backend._usable() is False
        await backend.close()

    run_async(main())


def test_redact_hides_the_password() -> None:
    assert redact("redis://:s3cret@127.0.0.1:6379/0") == "redis://:***@127.0.0.1:6379/0"
    assert redact("redis://user:pw@host:1/2") == "redis://user:***@host:1/2"
    assert redact("redis://127.0.0.1:6379/15") == "redis://127.0.0.1:6379/15"


def test_public_url_names_no_host_port_or_password() -> None:
    from backend.cache.redis_backend import public_url

    assert public_url("redis://:s3cret@10.0.0.5:6379/3") == "redis://…/3"
    assert public_url("rediss://cache.internal:6380") == "rediss://…"
    assert public_url("unix:///run/redis.sock") == "unix://…"
