"""Scheduled refresh: after the close of every trading session (exchange calendar, holidays
and early closes included), pull new prices, then warm the cache.

Several replicas may run the scheduler against one Redis; a lock per session decides which one
refreshes. The lock has an expiry (REFRESH_LOCK_TTL_SECONDS), so a replica that dies holding
it blocks nobody for longer than that; replicas that found it held look again when it expires
and run the refresh themselves if it was never finished. A finished session is marked done,
so no replica repeats it. Without Redis the lock is in-process (one replica).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

import pandas as pd
from redis.asyncio import Redis
from redis.exceptions import RedisError

from backend.api.score_cache import ScoreCache
from backend.cache.redis_backend import RedisBackend
from backend.config import Settings
from backend.market_data.ingest import refresh_prices
from backend.market_data.providers.base import PriceProvider
from backend.market_data.store import PriceStore
from backend.momentum.schemas import BatchResponse
from backend.momentum.service import MomentumService
from backend.momentum.warmup import default_warmup_tickers
from backend.observability.metrics import Metrics
from backend.options.service import OptionsService, SnapshotOutcome
from backend.portfolios.options_universe import TickerSource, options_universe

log = logging.getLogger(__name__)

# How long a finished session stays marked done.
DONE_TTL_SECONDS = 7 * 86_400
# When the lock cannot be asked for (Redis unreachable), try again after this long.
LOCK_UNAVAILABLE_RETRY_SECONDS = 60.0
# Sleep in steps of at most this long, so a changed clock is noticed.
MAX_SLEEP_SECONDS = 300.0

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class RefreshLock(Protocol):
    async def acquire(self, name: str, ttl_seconds: float) -> str | None:
        """A token when this replica now holds the lock, None when another one does."""
        ...

    async def release(self, name: str, token: str) -> bool: ...

    async def remaining(self, name: str) -> float | None:
        """Seconds until the lock expires (None when free)."""
        ...

    async def is_done(self, name: str) -> bool: ...

    async def mark_done(self, name: str, ttl_seconds: float) -> None: ...


class RedisRefreshLock:
    """SET NX PX: held by one replica until released or expired. Redis errors propagate."""

    def __init__(self, client: Callable[[], Redis | None], prefix: str) -> None:
        self._client = client
        self.prefix = prefix

    def _redis(self) -> Redis:
        client = self._client()
        if client is None:
            raise RedisError("the Redis client is not started")
        return client

    def lock_key(self, name: str) -> str:
        return f"{self.prefix}:lock:refresh:{name}"

    def done_key(self, name: str) -> str:
        return f"{self.prefix}:done:refresh:{name}"

    async def acquire(self, name: str, ttl_seconds: float) -> str | None:
        token = secrets.token_hex(16)
        ok = await self._redis().set(
            self.lock_key(name), token, nx=True, px=max(1, int(ttl_seconds * 1000))
        )
        return token if ok else None

    async def release(self, name: str, token: str) -> bool:
        deleted = await self._redis().eval(_RELEASE, 1, self.lock_key(name), token)
        return bool(deleted)

    async def remaining(self, name: str) -> float | None:
        ms = await self._redis().pttl(self.lock_key(name))
        return None if ms < 0 else ms / 1000

    async def is_done(self, name: str) -> bool:
        return bool(await self._redis().exists(self.done_key(name)))

    async def mark_done(self, name: str, ttl_seconds: float) -> None:
        await self._redis().set(self.done_key(name), "1", ex=max(1, int(ttl_seconds)))


class LocalRefreshLock:
    """The same contract inside one process (no Redis: one replica)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._held: dict[str, tuple[str, float]] = {}
        self._done: dict[str, float] = {}

    async def acquire(self, name: str, ttl_seconds: float) -> str | None:
        now = self._clock()
        held = self._held.get(name)
        if held is not None and held[1] > now:
            return None
        token = secrets.token_hex(16)
        self._held[name] = (token, now + ttl_seconds)
        return token

    async def release(self, name: str, token: str) -> bool:
        held = self._held.get(name)
        if held is None or held[0] != token:
            return False
        del self._held[name]
        return True

    async def remaining(self, name: str) -> float | None:
        held = self._held.get(name)
        left = None if held is None else held[1] - self._clock()
        return left if left is not None and left > 0 else None

    async def is_done(self, name: str) -> bool:
        until = self._done.get(name)
        return until is not None and until > self._clock()

    async def mark_done(self, name: str, ttl_seconds: float) -> None:
        self._done[name] = self._clock() + ttl_seconds


@dataclass
class RunReport:
    session: dt.date
    outcome: str  # ran, skipped or failed
    reason: str | None = None
    refresh: str | None = None  # the refresh summary (updated, unchanged, failed)
    warmed: int = 0
    warm_failed: int = 0
    # Option snapshots taken after the refresh (None: not asked for in this run).
    options_taken: int | None = None
    options_failed: dict[str, str] = field(default_factory=dict)
    failed_tickers: dict[str, str] = field(default_factory=dict)
    retry_in: float | None = None  # skipped: when to look again (the lock may be abandoned)
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    finished_at: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "session": self.session.isoformat(),
            "outcome": self.outcome,
            "reason": self.reason,
            "refresh": self.refresh,
            "warmed": self.warmed,
            "warm_failed": self.warm_failed,
            "options_taken": self.options_taken,
            "options_failed": len(self.options_failed),
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def load_calendar(name: str, until: dt.date | None = None) -> Any:
    """The exchange calendar `name` (exchange_calendars), covering at least `until`."""
    import exchange_calendars as xcals

    if until is None:
        return xcals.get_calendar(name)
    return xcals.get_calendar(name, end=pd.Timestamp(until + dt.timedelta(days=400)))


def previous_run(
    calendar: Any, now: dt.datetime, delay: dt.timedelta
) -> tuple[dt.date, dt.datetime]:
    """(session, when): the last session whose close + `delay` is at or before `now` (UTC)."""
    now = now.astimezone(dt.timezone.utc)
    session = calendar.date_to_session(
        pd.Timestamp(now.date() + dt.timedelta(days=1)), direction="previous"
    )
    while True:
        when = calendar.session_close(session).to_pydatetime() + delay
        if when <= now:
            return session.date(), when
        session = calendar.previous_session(session)


def next_run(calendar: Any, now: dt.datetime, delay: dt.timedelta) -> tuple[dt.date, dt.datetime]:
    """(session, when): the first session whose close + `delay` is after `now` (UTC)."""
    now = now.astimezone(dt.timezone.utc)
    session = calendar.date_to_session(
        pd.Timestamp(now.date() - dt.timedelta(days=1)), direction="next"
    )
    while True:
        when = calendar.session_close(session).to_pydatetime() + delay
        if when > now:
            return session.date(), when
        session = calendar.next_session(session)


class RefreshScheduler:
    def __init__(
        self,
        *,
        store: PriceStore,
        provider: PriceProvider | None,
        cache: ScoreCache,
        score_batch: Callable[[list[str]], BatchResponse],
        lock: RefreshLock,
        metrics: Metrics | None = None,
        calendar_name: str = "XNYS",
        delay_minutes: int = 30,
        lock_ttl_seconds: float = 1800,
        warmup_tickers: Sequence[str] | None = None,
        option_snapshots: Callable[[], SnapshotOutcome] | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
        after_refresh: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.provider = provider
        self.cache = cache
        self.score_batch = score_batch
        self.lock = lock
        self.metrics = metrics
        self.calendar_name = calendar_name
        self.delay = dt.timedelta(minutes=delay_minutes)
        self.lock_ttl = lock_ttl_seconds
        # None: the default of each run, read from the database then (categories change).
        self.warmup_tickers = None if warmup_tickers is None else list(warmup_tickers)
        # Snapshots the option chains of the day (OPTIONS_SCHEDULED_SNAPSHOTS), inside the
        # locked run: one replica takes them, as for prices.
        self.option_snapshots = option_snapshots
        self._now = now
        # Told (and not awaited) after a refresh wrote: the alert watcher evaluates at once.
        self.after_refresh = after_refresh
        self._calendar: Any = None
        self._task: asyncio.Task[None] | None = None
        self.last_run: RunReport | None = None
        self.next_at: dt.datetime | None = None

    # ------------------------------------------------------------ calendar

    def calendar(self, until: dt.date | None = None) -> Any:
        cal = self._calendar
        if cal is None or (until is not None and pd.Timestamp(until) >= cal.last_session):
            cal = self._calendar = load_calendar(self.calendar_name, until)
        return cal

    def next_run(self, now: dt.datetime | None = None) -> tuple[dt.date, dt.datetime]:
        now = now or self._now()
        return next_run(self.calendar(now.date() + dt.timedelta(days=14)), now, self.delay)

    def missed_session(self, now: dt.datetime | None = None) -> dt.date | None:
        """The latest session whose run time has passed with no refresh recorded in the store
        since (the service was down, or started after the close): run it now."""
        now = now or self._now()
        session, when = previous_run(
            self.calendar(now.date() + dt.timedelta(days=14)), now, self.delay
        )
        last = self.store.stats().last_refresh_at
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=dt.timezone.utc)  # SQLite drops the zone; stored in UTC
        return None if last is not None and last >= when else session

    # ------------------------------------------------------------ one run

    def _count(self, report: RunReport) -> RunReport:
        report.finished_at = dt.datetime.now(dt.timezone.utc)
        self.last_run = report
        if self.metrics is not None:
            self.metrics.refresh_runs.labels(report.outcome).inc()
            if report.failed_tickers:
                self.metrics.refresh_failures.inc(len(report.failed_tickers))
        log.info(
            "refresh of session %s: %s%s",
            report.session,
            report.outcome,
            f" ({report.reason})" if report.reason else "",
            extra={"refresh": report.as_dict()},
        )
        return report

    async def _warmup_tickers(self) -> list[str]:
        if self.warmup_tickers is not None:
            return self.warmup_tickers
        snapshot = await asyncio.to_thread(self.store.categories.current)
        return default_warmup_tickers(snapshot)

    async def run_once(self, session: dt.date) -> RunReport:
        """Refresh for `session` unless another replica does or did: then skip."""
        name = session.isoformat()
        if self.provider is None:
            return self._count(
                RunReport(session, "skipped", "no live provider (DATA_PROVIDER=none)")
            )
        try:
            if await self.lock.is_done(name):
                return self._count(RunReport(session, "skipped", "already refreshed"))
            token = await self.lock.acquire(name, self.lock_ttl)
            left = None if token is not None else await self.lock.remaining(name)
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            return self._count(
                RunReport(
                    session,
                    "skipped",
                    f"lock unavailable: {type(exc).__name__}: {exc}",
                    retry_in=LOCK_UNAVAILABLE_RETRY_SECONDS,
                )
            )
        if token is None:
            return self._count(
                RunReport(
                    session,
                    "skipped",
                    "another replica holds the refresh lock",
                    retry_in=(left if left is not None else 0.0) + 1.0,
                )
            )
        report = RunReport(session, "ran")
        try:
            summary = await asyncio.to_thread(refresh_prices, self.store, self.provider)
            report.refresh = summary.outcome
            report.failed_tickers = dict(summary.failed)
            if summary.failed and not summary.updated and not summary.unchanged:
                # Nothing came through (provider down?): not done, so it can be tried again.
                first = next(iter(summary.failed.values()))
                report.outcome = "failed"
                report.reason = f"every ticker failed ({len(summary.failed)}), e.g. {first}"
            else:
                warm = await self.cache.warm(await self._warmup_tickers(), self.score_batch)
                report.warmed, report.warm_failed = len(warm.warmed), len(warm.failed)
                await self._take_option_snapshots(report)
                await self.lock.mark_done(name, DONE_TTL_SECONDS)
                if self.after_refresh is not None and summary.updated:
                    self.after_refresh()
        except Exception as exc:  # the loop must go on to the next session
            log.exception("scheduled refresh of session %s failed", session)
            report.outcome, report.reason = "failed", f"{type(exc).__name__}: {exc}"
            try:
                await asyncio.to_thread(self.store.record_refresh, f"failed: {report.reason}")
            except Exception:  # the database may be what failed
                log.exception("could not record the failed refresh")
        finally:
            try:
                await self.lock.release(name, token)
            except (RedisError, OSError, asyncio.TimeoutError):
                log.warning("could not release the refresh lock; it expires by itself")
        return self._count(report)

    async def _take_option_snapshots(self, report: RunReport) -> None:
        """The day's option snapshots; their failure is reported, never the run's."""
        if self.option_snapshots is None:
            return
        try:
            outcome = await asyncio.to_thread(self.option_snapshots)
        except Exception as exc:  # the prices are refreshed: that run stands
            log.exception("scheduled option snapshots of session %s failed", report.session)
            report.options_taken = 0
            report.options_failed = {"*": f"{type(exc).__name__}: {exc}"}
            return
        report.options_taken = len(outcome.taken)
        report.options_failed = dict(outcome.failed)

    # ------------------------------------------------------------ the loop

    async def _sleep_until(self, when: dt.datetime) -> None:
        while True:
            left = (when - self._now()).total_seconds()
            if left <= 0:
                return
            await asyncio.sleep(min(left, MAX_SLEEP_SECONDS))

    async def _loop(self) -> None:
        missed = await asyncio.to_thread(self.missed_session)
        while True:
            if missed is not None:
                session, missed = missed, None
                log.info("refreshing session %s now: its run was missed", session)
            else:
                session, when = self.next_run()
                self.next_at = when
                log.info("next scheduled refresh: session %s at %s", session, when.isoformat())
                await self._sleep_until(when)
            report = await self.run_once(session)
            # A skipped replica looks again when the lock expires: its holder may have died.
            while report.retry_in is not None:
                _, following = self.next_run(self._now() + dt.timedelta(seconds=1))
                retry_at = self._now() + dt.timedelta(seconds=report.retry_in)
                if retry_at >= following:
                    break
                self.next_at = retry_at
                await self._sleep_until(retry_at)
                report = await self.run_once(session)

    def start(self) -> None:
        if self._task is not None:
            return
        if self.provider is None:
            log.warning("SCHEDULER_ENABLED, but DATA_PROVIDER=none: nothing to refresh from")
            return
        session, when = self.next_run()  # loads the calendar: a bad name fails the start-up
        self.next_at = when
        self._task = asyncio.create_task(self._loop(), name="refresh-scheduler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()


def build_scheduler(
    settings: Settings,
    store: PriceStore,
    service: MomentumService,
    cache: ScoreCache,
    metrics: Metrics | None,
    options: OptionsService | None = None,
    option_ticker_sources: Sequence[TickerSource] = (),
    after_refresh: Callable[[], None] | None = None,
) -> RefreshScheduler:
    """The scheduler of one app: the Redis lock when the cache is on Redis (replicas share
    it), else an in-process one. It only runs on its own after `start()`
    (SCHEDULER_ENABLED); `run_once` is there either way. With `options` (and
    OPTIONS_SCHEDULED_SNAPSHOTS) each run also snapshots the option chains of the model
    portfolio and users' holdings, plus `option_ticker_sources` (the hook for watchlists)."""
    backend = cache.backend
    lock: RefreshLock
    if isinstance(backend, RedisBackend):
        lock = RedisRefreshLock(lambda: backend.client, settings.cache_key_prefix)
    else:
        lock = LocalRefreshLock()
    tickers = settings.cache_warmup_tickers.split(",") if settings.cache_warmup_tickers else None
    return RefreshScheduler(
        store=store,
        provider=service.provider,
        cache=cache,
        score_batch=lambda wanted: service.batch(wanted),
        lock=lock,
        metrics=metrics,
        calendar_name=settings.refresh_calendar,
        delay_minutes=settings.refresh_delay_minutes,
        lock_ttl_seconds=settings.refresh_lock_ttl_seconds,
        warmup_tickers=tickers,
        option_snapshots=(
            None
            if options is None or not settings.options_scheduled_snapshots
            else lambda: options.take_snapshots(options_universe(store, option_ticker_sources))
        ),
        after_refresh=after_refresh,
    )
