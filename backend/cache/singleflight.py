"""Single-flight: concurrent callers asking for the same key share one computation."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """`await flight.do(key, fn)`: the first caller for `key` runs `fn`; callers arriving while
    it runs wait for its result (or its exception) instead of running `fn` again. Once it has
    finished, the next caller starts a new flight."""

    def __init__(self) -> None:
        self._inflight: dict[str, asyncio.Future[T]] = {}
        self.started = 0
        self.shared = 0

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    async def do(self, key: str, fn: Callable[[], Awaitable[T]]) -> T:
        future = self._inflight.get(key)
        if future is not None:
            self.shared += 1
            # shield: one waiter being cancelled (client gone) must not cancel the others.
            return await asyncio.shield(future)
        future = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        self.started += 1
        try:
            result = await fn()
        except BaseException as exc:
            if not future.done():
                future.set_exception(exc)
                # Mark retrieved: when nobody else waited, asyncio must not log it as lost.
                future.exception()
            raise
        else:
            future.set_result(result)
            return result
        finally:
            self._inflight.pop(key, None)
