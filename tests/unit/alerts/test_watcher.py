"""Evaluation follows data changes: the scheduler tells the watcher after a refresh that
wrote, and the watcher evaluates only when the store's data version is newer than the last
evaluated one."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from backend.alerts.service import AlertService
from backend.alerts.watcher import AlertWatcher
from backend.momentum.service import MomentumService
from tests.conftest import make_settings
from tests.support.fakes import FakeProvider
from tests.unit.cache.support import run_async
from tests.unit.test_scheduler import ALL_BARS, make_scheduler, make_store

pytestmark = [pytest.mark.unit, pytest.mark.database]


def test_a_refresh_that_wrote_pokes_the_watcher_which_evaluates_once(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s.db")
    settings = make_settings(str(store.engine.url))
    alerts = AlertService(store.engine, MomentumService(store, settings), settings)
    watcher = AlertWatcher(alerts, interval_seconds=3600)
    scheduler, _ = make_scheduler(store, FakeProvider(ALL_BARS))
    pokes: list[int] = []
    scheduler.after_refresh = lambda: pokes.append(store.data_version())

    async def main() -> None:
        await watcher.check()  # the data as stored: the baseline
        first = alerts.last_evaluated_version()
        assert first == store.data_version()
        await watcher.check()  # nothing moved: nothing evaluated
        assert alerts.last_evaluated_version() == first
        report = await scheduler.run_once(dt.date(2024, 7, 2))
        assert report.outcome == "ran"
        assert pokes == [store.data_version()] and store.data_version() > (first or 0)
        await watcher.check()
        assert alerts.last_evaluated_version() == store.data_version()
        again = await scheduler.run_once(dt.date(2024, 7, 2))  # skipped: no poke
        assert again.outcome == "skipped" and len(pokes) == 1

    run_async(main())
    alerts.close()


def test_the_loop_runs_when_poked(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s.db")
    settings = make_settings(str(store.engine.url))
    alerts = AlertService(store.engine, MomentumService(store, settings), settings)

    async def main() -> None:
        watcher = AlertWatcher(alerts, interval_seconds=3600)
        watcher.start()
        watcher.poke()
        for _ in range(600):  # generous: the first score book is computed in between
            if alerts.last_evaluated_version() == store.data_version():
                break
            await asyncio.sleep(0.1)
        await watcher.stop()
        assert alerts.last_evaluated_version() == store.data_version()

    run_async(main())
    alerts.close()
