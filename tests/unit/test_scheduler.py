"""The refresh scheduler: trading-day times from the exchange calendar, one run's outcomes,
the in-process lock, and the loop firing on time."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from backend.api.score_cache import ScoreCache
from backend.cache.memory import MemoryBackend
from backend.db.engine import make_engine
from backend.db.migrate import upgrade_to_head
from backend.market_data.bars import BAR_COLUMNS
from backend.market_data.store import PriceStore
from backend.momentum.service import MomentumService
from backend.observability.metrics import Metrics
from backend.scheduler import LocalRefreshLock, RefreshScheduler, load_calendar, next_run
from tests.conftest import make_settings
from tests.support.fakes import FakeProvider
from tests.unit.cache.support import run_async

pytestmark = pytest.mark.unit

UTC = dt.timezone.utc
DELAY = dt.timedelta(minutes=30)
TICKERS = ["AAA", "BBB", "SPY"]


@pytest.fixture(scope="module")
def xnys() -> Any:
    return load_calendar("XNYS")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "now, session, when",
    [
        # A regular Tuesday: 16:00 New York (EDT) is 20:00 UTC, plus 30 minutes.
        ("2024-07-02 12:00", "2024-07-02", "2024-07-02 20:30"),
        # Early close the day before Independence Day: 13:00 EDT.
        ("2024-07-03 12:00", "2024-07-03", "2024-07-03 17:30"),
        # After that run: the holiday (Thursday) is skipped, Friday is next.
        ("2024-07-03 17:31", "2024-07-05", "2024-07-05 20:30"),
        # Friday evening: the weekend is skipped.
        ("2024-07-05 21:00", "2024-07-08", "2024-07-08 20:30"),
        # Standard time (EST): the close is 21:00 UTC.
        ("2024-12-02 09:00", "2024-12-02", "2024-12-02 21:30"),
        # Just before midnight UTC, after the run: next session.
        ("2024-12-02 23:59", "2024-12-03", "2024-12-03 21:30"),
        # Good Friday 2024 is a holiday.
        ("2024-03-28 22:00", "2024-04-01", "2024-04-01 20:30"),
    ],
)
def test_next_run_follows_the_exchange_calendar(
    xnys: Any, now: str, session: str, when: str
) -> None:
    got_session, got_when = next_run(xnys, at(now), DELAY)
    assert got_session == dt.date.fromisoformat(session)
    assert got_when == at(when)


def test_an_unknown_calendar_fails_loudly() -> None:
    from exchange_calendars.errors import InvalidCalendarName

    with pytest.raises(InvalidCalendarName):
        load_calendar("NOPE")


def test_local_lock_is_exclusive_until_released_or_expired() -> None:
    class Clock:
        now = 0.0

        def __call__(self) -> float:
            return self.now

    clock = Clock()

    async def main() -> None:
        lock = LocalRefreshLock(clock)
        token = await lock.acquire("s", 10)
        assert token is not None
        assert await lock.acquire("s", 10) is None
        assert await lock.remaining("s") == pytest.approx(10)
        assert await lock.release("s", "not-the-token") is False
        assert await lock.release("s", token) is True
        again = await lock.acquire("s", 10)
        assert again is not None
        clock.now = 10.5  # the holder died: the lock expired
        assert await lock.remaining("s") is None
        assert await lock.acquire("s", 10) is not None
        assert await lock.is_done("s") is False
        await lock.mark_done("s", 5)
        assert await lock.is_done("s") is True
        clock.now = 16
        assert await lock.is_done("s") is False

    run_async(main())


# ----------------------------------------------------------------------------- runs


def synthetic_bars(tickers: list[str], days: int, end: dt.date) -> pd.DataFrame:
    dates = pd.bdate_range(end=pd.Timestamp(end), periods=days).date
    rng = np.random.default_rng(7)
    rows = []
    for i, ticker in enumerate(tickers):
        prices = 50 * (1 + i) * np.cumprod(1 + rng.normal(0.001, 0.01, len(dates)))
        for day, price in zip(dates, prices):
            rows.append(
                {
                    "date": day,
                    "ticker": ticker,
                    "open": price,
                    "high": price,
                    "low": price,
                    "close": price,
                    "adj_close": price,
                    "volume": 1e6,
                    "dividend": 0.0,
                    "split": 1.0,
                }
            )
    return pd.DataFrame(rows, columns=BAR_COLUMNS)


LAST_STORED = dt.date(2024, 6, 28)
ALL_BARS = synthetic_bars(TICKERS, 160, dt.date(2024, 7, 2))


def make_store(path: Path) -> PriceStore:
    engine = make_engine(f"sqlite:///{path}")
    upgrade_to_head(engine)
    store = PriceStore(engine)
    store.upsert_bars(ALL_BARS[ALL_BARS["date"] <= LAST_STORED], source="test")
    return store


class SlowProvider(FakeProvider):
    def __init__(self, bars: pd.DataFrame | None = None, unavailable: str | None = None) -> None:
        super().__init__(bars, unavailable)
        self.delay = 0.0

    def fetch(self, tickers, start=None, end=None):  # type: ignore[no-untyped-def]
        time.sleep(self.delay)
        return super().fetch(tickers, start, end)


def make_scheduler(
    store: PriceStore, provider: Any, metrics: Metrics | None = None
) -> tuple[RefreshScheduler, ScoreCache]:
    settings = make_settings(str(store.engine.url))
    service = MomentumService(store, settings, provider)
    cache = ScoreCache(MemoryBackend("t", 100), 60, "tag", store.data_version)
    scheduler = RefreshScheduler(
        store=store,
        provider=provider,
        cache=cache,
        score_batch=lambda ts: service.batch(ts),
        lock=LocalRefreshLock(),
        metrics=metrics,
        warmup_tickers=["AAA", "BBB", "NOSUCH"],
    )
    return scheduler, cache


def test_a_run_refreshes_warms_and_marks_the_session_done(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s.db")
    version = store.data_version()
    metrics = Metrics()
    scheduler, cache = make_scheduler(store, FakeProvider(ALL_BARS), metrics)

    async def main() -> None:
        report = await scheduler.run_once(dt.date(2024, 7, 2))
        assert report.outcome == "ran", report
        assert report.refresh == "updated 3, unchanged 0, failed 0"
        assert (report.warmed, report.warm_failed) == (2, 1)
        assert (await cache.stats())["keys"] == 2
        again = await scheduler.run_once(dt.date(2024, 7, 2))
        assert (again.outcome, again.reason) == ("skipped", "already refreshed")

    run_async(main())
    assert store.data_version() > version
    assert store.stats().newest_bar == dt.date(2024, 7, 2)
    assert store.stats().last_refresh_outcome == "updated 3, unchanged 0, failed 0"
    assert scheduler.last_run is not None and scheduler.last_run.outcome == "skipped"
    assert metrics.refresh_runs.labels("ran")._value.get() == 1
    assert metrics.refresh_runs.labels("skipped")._value.get() == 1


def test_a_run_with_the_provider_down_fails_and_can_be_tried_again(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s.db")
    metrics = Metrics()
    scheduler, _ = make_scheduler(store, FakeProvider(unavailable="connection refused"), metrics)

    async def main() -> None:
        report = await scheduler.run_once(dt.date(2024, 7, 2))
        assert report.outcome == "failed"
        assert "every ticker failed (3)" in (report.reason or "")
        assert "connection refused" in (report.reason or "")
        again = await scheduler.run_once(dt.date(2024, 7, 2))
        assert again.outcome == "failed"  # not marked done: tried again

    run_async(main())
    assert metrics.refresh_failures._value.get() == 6
    assert metrics.refresh_runs.labels("failed")._value.get() == 2


def test_an_unexpected_error_fails_the_run_and_is_recorded(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s.db")

    class Broken(FakeProvider):
        def fetch(self, tickers, start=None, end=None):  # type: ignore[no-untyped-def]
            raise RuntimeError("disk on fire")

    scheduler, _ = make_scheduler(store, Broken())
    report = run_async(scheduler.run_once(dt.date(2024, 7, 2)))
    assert report.outcome == "failed"
    assert report.reason == "RuntimeError: disk on fire"
    assert store.stats().last_refresh_outcome == "failed: RuntimeError: disk on fire"


def test_without_a_provider_the_run_is_skipped(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s.db")
    scheduler, _ = make_scheduler(store, None)
    report = run_async(scheduler.run_once(dt.date(2024, 7, 2)))
    assert (report.outcome, report.reason) == ("skipped", "no live provider (DATA_PROVIDER=none)")


def test_a_held_lock_skips_the_run_and_says_when_to_look_again(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s.db")
    provider = FakeProvider(ALL_BARS)
    scheduler, _ = make_scheduler(store, provider)

    async def main() -> None:
        await scheduler.lock.acquire("2024-07-02", 30)
        report = await scheduler.run_once(dt.date(2024, 7, 2))
        assert (report.outcome, report.reason) == (
            "skipped",
            "another replica holds the refresh lock",
        )
        assert report.retry_in == pytest.approx(31, abs=0.5)

    run_async(main())
    assert provider.calls == []


def running_clock(start: dt.datetime) -> Any:
    t0 = time.monotonic()
    return lambda: start + dt.timedelta(seconds=time.monotonic() - t0)


def test_the_loop_fires_after_the_close_and_schedules_the_next_session(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s.db")
    store.record_refresh("refreshed before the test")  # nothing missed
    scheduler, _ = make_scheduler(store, FakeProvider(ALL_BARS))
    # A clock that reads 1.5 s before the run time of the 2024-07-02 session, then runs.
    scheduler._now = running_clock(at("2024-07-02 20:30") - dt.timedelta(seconds=1.5))

    async def main() -> None:
        scheduler.start()
        assert scheduler.running
        assert scheduler.next_at == at("2024-07-02 20:30")
        for _ in range(1200):  # up to 60 s on a loaded machine; usually under 2 s
            if scheduler.last_run is not None:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.05)
        assert scheduler.next_at == at("2024-07-03 17:30")  # early close on July 3rd
        await scheduler.stop()
        assert not scheduler.running

    run_async(main())
    assert scheduler.last_run is not None
    assert scheduler.last_run.session == dt.date(2024, 7, 2)
    assert scheduler.last_run.outcome == "ran"


def test_start_without_a_provider_does_not_run(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s.db")
    scheduler, _ = make_scheduler(store, None)

    async def main() -> None:
        scheduler.start()
        assert not scheduler.running

    run_async(main())


@pytest.mark.parametrize(
    "now, session",
    [
        ("2024-07-02 20:29", "2024-07-01"),
        ("2024-07-02 20:30", "2024-07-02"),
        ("2024-07-05 12:00", "2024-07-03"),  # the holiday has no session
        ("2024-07-06 12:00", "2024-07-05"),
    ],
)
def test_missed_session_is_the_last_one_without_a_refresh_since(
    tmp_path: Path, now: str, session: str
) -> None:
    store = make_store(tmp_path / "s.db")
    scheduler, _ = make_scheduler(store, FakeProvider(ALL_BARS))
    assert scheduler.missed_session(at(now)) == dt.date.fromisoformat(session)
    store.record_refresh("just now")  # real time: after any of these runs
    assert scheduler.missed_session(at(now)) is None


def test_a_start_after_a_missed_run_refreshes_at_once(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s.db")
    scheduler, _ = make_scheduler(store, FakeProvider(ALL_BARS))
    scheduler._now = running_clock(at("2024-07-02 22:00"))  # after the run, none recorded

    async def main() -> None:
        scheduler.start()
        for _ in range(200):
            if scheduler.last_run is not None:
                break
            await asyncio.sleep(0.05)
        await scheduler.stop()

    run_async(main())
    assert scheduler.last_run is not None
    assert (scheduler.last_run.session, scheduler.last_run.outcome) == (
        dt.date(2024, 7, 2),
        "ran",
    )
