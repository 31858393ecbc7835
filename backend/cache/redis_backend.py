"""Redis cache (redis.asyncio: one connection pool, short timeouts, no retry storms).

Single-key reads are auto-pipelined: the GETs that requests issue in the same turn of the event
loop (and while a read is in flight) go to Redis as one MGET, so a busy worker pays one round
trip per batch instead of one per request. Every value still comes from Redis.

While Redis is unreachable the backend serves from an in-process `MemoryBackend` instead of
failing: the first failed command marks Redis down, and for `retry_seconds` no command is sent
to it; after that the next command tries Redis again (the pool reconnects by itself), so the
service goes back to Redis on its own when Redis returns.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Mapping, Sequence, TypeVar, cast

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from backend.cache.base import BackendStats
from backend.cache.memory import MemoryBackend

log = logging.getLogger(__name__)

T = TypeVar("T")

# Stop counting keys for stats past this many (SCAN over a huge database would be slow).
STATS_SCAN_LIMIT = 200_000
# Keys deleted per UNLINK while clearing.
CLEAR_BATCH = 500

_FAILURES = (RedisError, OSError, asyncio.TimeoutError)


def public_url(url: str) -> str:
    """What the public stats say of a Redis URL: its scheme and logical database, no host,
    port or credentials ("redis://…/15")."""
    scheme, _, rest = url.partition("://")
    database = rest.rsplit("/", 1)[1] if "/" in rest and scheme != "unix" else ""
    return f"{scheme}://…/{database}" if database else f"{scheme}://…"


def redact(url: str) -> str:
    """The URL without its password."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user + ':***' if ':' in creds else user}@{host}"


class RedisBackend:
    name = "redis"

    def __init__(
        self,
        url: str,
        prefix: str,
        fallback: MemoryBackend,
        socket_timeout: float = 0.5,
        connect_timeout: float = 0.5,
        max_connections: int = 64,
        retry_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.fallback = fallback
        self.socket_timeout = socket_timeout
        self.connect_timeout = connect_timeout
        self.max_connections = max_connections
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._client: Redis | None = None
        self._down_until = 0.0
        self.reachable = True
        self.last_error: str | None = None
        self.outages = 0
        self.fallback_operations = 0
        # Auto-pipelined GETs: (key, future) waiting for the next MGET.
        self._pending: list[tuple[str, asyncio.Future[bytes | None]]] = []
        self._flushing = False
        self.batched_reads = 0
        self.read_batches = 0

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Create the pool (connections are opened on first use, on the running loop)."""
        if self._client is not None:
            return
        pool = ConnectionPool.from_url(
            self.url,
            max_connections=self.max_connections,
            socket_timeout=self.socket_timeout,
            socket_connect_timeout=self.connect_timeout,
            # One immediate retry replaces a pooled connection that died with the server;
            # anything more would make a request wait while Redis is gone.
            retry=Retry(NoBackoff(), 1),
            health_check_interval=30,
        )
        self._client = Redis(connection_pool=pool)
        await self.ping()

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose(close_connection_pool=True)
        await self.fallback.close()

    @property
    def client(self) -> Redis | None:
        """The live client, or None before start() or after close() (locks use it)."""
        return self._client

    # ------------------------------------------------------------ health

    def _usable(self) -> bool:
        return self._client is not None and (self.reachable or self._clock() >= self._down_until)

    def _mark_down(self, exc: BaseException) -> None:
        self._down_until = self._clock() + self.retry_seconds
        # Public answers (cache stats) say only the kind of failure: the client's own text
        # names the host and port, which belongs in the log.
        self.last_error = f"{type(exc).__name__}: redis did not answer"
        if self.reachable:
            self.outages += 1
            log.warning(
                "redis unreachable (%s: %s): serving from the in-process cache, retrying in %.1fs",
                type(exc).__name__,
                exc,
                self.retry_seconds,
            )
        self.reachable = False

    def _mark_up(self) -> None:
        if not self.reachable:
            log.warning("redis reachable again: back to the shared cache")
        self.reachable = True
        self._down_until = 0.0

    async def _call(
        self, op: Callable[[Redis], Awaitable[T]], fallback: Callable[[], Awaitable[T]]
    ) -> T:
        if not self._usable():
            self.fallback_operations += 1
            return await fallback()
        assert self._client is not None
        try:
            result = await op(self._client)
        except _FAILURES as exc:
            self._mark_down(exc)
            self.fallback_operations += 1
            return await fallback()
        if not self.reachable:
            self._mark_up()
        return result

    async def ping(self) -> bool:
        """Ask Redis now (whatever the back-off says) and record the answer."""
        if self._client is None:
            return False
        try:
            await self._client.ping()
        except _FAILURES as exc:
            self._mark_down(exc)
            return False
        self._mark_up()
        return True

    # ------------------------------------------------------------ data

    def _full(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    async def get(self, key: str) -> bytes | None:
        if not self._usable():
            self.fallback_operations += 1
            return await self.fallback.get(key)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes | None] = loop.create_future()
        self._pending.append((key, future))
        if not self._flushing:
            self._flushing = True
            loop.call_soon(self._flush_soon)
        return await future

    def _flush_soon(self) -> None:
        asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        """Send the pending GETs as MGETs, one batch at a time, until none is left."""
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                keys = [key for key, _ in batch]

                async def op(r: Redis) -> list[bytes | None]:
                    full = [self._full(k) for k in keys]
                    if len(full) == 1:
                        return [cast("bytes | None", await r.get(full[0]))]
                    return cast("list[bytes | None]", await r.mget(full))

                try:
                    values = await self._call(op, lambda: self.fallback.get_many(keys))
                except BaseException as exc:  # not a Redis failure: hand it to the callers
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    raise
                self.read_batches += 1
                self.batched_reads += len(batch)
                for (_, future), value in zip(batch, values):
                    if not future.done():  # a caller that went away cancelled its future
                        future.set_result(value)
        finally:
            self._flushing = False
            if self._pending:  # left behind by an error: flush them on the next turn
                self._flushing = True
                asyncio.get_running_loop().call_soon(self._flush_soon)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []

        async def op(r: Redis) -> list[bytes | None]:
            return cast("list[bytes | None]", await r.mget([self._full(k) for k in keys]))

        return await self._call(op, lambda: self.fallback.get_many(keys))

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        ms = max(1, int(ttl * 1000))

        async def op(r: Redis) -> None:
            await r.set(self._full(key), value, px=ms)

        await self._call(op, lambda: self.fallback.set(key, value, ttl))

    async def set_many(self, items: Mapping[str, bytes], ttl: float) -> None:
        if not items:
            return
        ms = max(1, int(ttl * 1000))

        async def op(r: Redis) -> None:
            async with r.pipeline(transaction=False) as pipe:
                for key, value in items.items():
                    pipe.set(self._full(key), value, px=ms)
                await pipe.execute()

        await self._call(op, lambda: self.fallback.set_many(items, ttl))

    async def clear(self, pattern: str = "*") -> int:
        """SCAN for prefix:pattern and UNLINK in batches: only this service's keys, never
        FLUSHDB/FLUSHALL. The in-process fallback is cleared too."""
        local = await self.fallback.clear(pattern)

        async def op(r: Redis) -> int:
            deleted = 0
            batch: list[bytes] = []
            async for key in r.scan_iter(match=self._full(pattern), count=1000):
                batch.append(key)
                if len(batch) >= CLEAR_BATCH:
                    deleted += int(await r.unlink(*batch))
                    batch = []
            if batch:
                deleted += int(await r.unlink(*batch))
            return deleted

        async def nothing() -> int:
            return 0

        remote = await self._call(op, nothing)
        return remote if self.reachable else local

    async def stats(self) -> BackendStats:
        reachable = await self.ping()
        details: dict[str, Any] = {
            # Scheme and database only: where Redis runs is not the public's business.
            "url": public_url(self.url),
            "pool_max_connections": self.max_connections,
            "socket_timeout_seconds": self.socket_timeout,
            "retry_seconds": self.retry_seconds,
            "outages": self.outages,
            "fallback_operations": self.fallback_operations,
            "pipelined_reads": self.batched_reads,
            "pipelined_read_batches": self.read_batches,
            "last_error": self.last_error,
        }
        fallback = await self.fallback.stats()
        details["fallback"] = {
            "keys": fallback.keys,
            "memory_used_bytes": fallback.memory_used_bytes,
        }
        if not reachable or self._client is None:
            return BackendStats(
                backend=self.name,
                reachable=False,
                keys=None,
                error=self.last_error,
                details=details,
            )
        try:
            info = await self._client.info("memory")
            server = await self._client.info("server")
            keys = 0
            async for _ in self._client.scan_iter(match=self._full("*"), count=1000):
                keys += 1
                if keys >= STATS_SCAN_LIMIT:
                    details["keys_truncated"] = True
                    break
        except _FAILURES as exc:
            self._mark_down(exc)
            return BackendStats(
                backend=self.name,
                reachable=False,
                keys=None,
                error=self.last_error,
                details=details,
            )
        details.update(
            {
                "redis_version": server.get("redis_version"),
                "used_memory_human": info.get("used_memory_human"),
                "maxmemory": info.get("maxmemory"),
                "maxmemory_policy": info.get("maxmemory_policy"),
            }
        )
        return BackendStats(
            backend=self.name,
            reachable=True,
            keys=keys,
            memory_used_bytes=int(info.get("used_memory", 0)),
            details=details,
        )
