"""Runs the alert evaluation when the data version moves, in the background.

Every ALERT_EVALUATION_INTERVAL_SECONDS (or at once when poked: the scheduler pokes it after a
refresh) it compares the store's data version with the last evaluated one, and when the store
is newer, evaluates in a worker thread. Imports by the CLI and refreshes of other replicas are
noticed the same way. Failures are logged and retried at the next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from backend.alerts.service import AlertService

log = logging.getLogger(__name__)


class AlertWatcher:
    def __init__(self, service: AlertService, interval_seconds: float) -> None:
        self.service = service
        self.interval = interval_seconds
        self._poke = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        """Look now (after a refresh) instead of at the next tick."""
        self._poke.set()

    async def check(self) -> None:
        store = self.service.momentum.store
        version = await asyncio.to_thread(store.data_version)
        last = await asyncio.to_thread(self.service.last_evaluated_version)
        if version > 0 and (last is None or version > last):
            await asyncio.to_thread(self.service.evaluate)

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._poke.wait(), self.interval)
            except asyncio.TimeoutError:
                pass
            self._poke.clear()
            try:
                await self.check()
            except Exception as exc:  # the database or the scores may be unavailable now
                log.warning("alert evaluation failed; retrying later: %s", exc, exc_info=exc)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is not None and self._task.get_loop() is not loop:
            # Started under an event loop that is gone (an app started again, as test clients
            # do): that task can neither run nor be awaited here.
            self._task.cancel()
            self._task = None
        if self._task is None and self.interval > 0:
            self._poke = asyncio.Event()  # bound to the running loop
            self._task = loop.create_task(self._loop(), name="alert-watcher")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        if task.get_loop() is not asyncio.get_running_loop():
            return  # another loop's task: cancelled, and only that loop could wait for it
        with contextlib.suppress(asyncio.CancelledError):
            await task
