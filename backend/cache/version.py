"""The price store's data version, read fresh for every request without one query each.

A request must see a version read that *started after it arrived* (then every write committed
before the request is visible). Concurrent requests share reads: a request that arrives while a
read is in flight waits for the next read, which starts as soon as the current one ends and
serves everyone who queued meanwhile. Under load that is one query per round, not per request.
"""

from __future__ import annotations

import asyncio
from typing import Callable


class DataVersionGate:
    def __init__(self, read: Callable[[], int]) -> None:
        self._read = read  # blocking (a database query): run in a worker thread
        self._current: asyncio.Future[int] | None = None
        self._next: asyncio.Future[int] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.reads = 0

    async def current(self) -> int:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (a restarted app): forget the old one's
            self._loop, self._current, self._next = loop, None, None
        if self._current is None:
            self._current = self._start()
            return await asyncio.shield(self._current)
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        return await asyncio.shield(self._next)

    def _start(self) -> asyncio.Future[int]:
        loop = asyncio.get_running_loop()
        self.reads += 1
        future: asyncio.Future[int] = loop.run_in_executor(None, self._read)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _: asyncio.Future[int]) -> None:
        waiting, self._next = self._next, None
        if waiting is None:
            self._current = None
            return
        self._current = self._start()
        self._current.add_done_callback(lambda done: _copy(done, waiting))


def _copy(source: asyncio.Future[int], target: asyncio.Future[int]) -> None:
    if target.done():
        return
    if source.cancelled():
        target.cancel()
    elif (exc := source.exception()) is not None:
        target.set_exception(exc)
    else:
        target.set_result(source.result())
