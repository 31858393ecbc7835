"""On-demand fetches: a ticker the store does not hold, asked of the live provider by a request.

An anonymous caller must not be able to make the service slow with tickers nobody has, so a
fetch is bounded every way it can cost:

- **Deadline.** A request waits on the provider at most `ON_DEMAND_DEADLINE_SECONDS`, retries
  included (the provider's retry loop stops at the same deadline and cuts each attempt's
  time-out to the time left); past it the answer is 503 `provider_unavailable`.
- **Its own threads.** Provider calls run in a bounded pool of their own
  (`ON_DEMAND_WORKERS`), never in the threads that serve other routes; at most
  `ON_DEMAND_MAX_PENDING` fetches are admitted at once (running or waiting for a thread), and
  one more gets 503 `provider_busy` at once instead of a place in an unbounded queue.
- **Single flight.** Concurrent requests for the same ticker share one fetch.
- **Remembered misses.** A ticker the provider has no prices for is remembered
  (`ON_DEMAND_MISS_TTL_SECONDS`) and a provider that cannot be reached or answered too late is
  remembered as a whole (`ON_DEMAND_UNAVAILABLE_TTL_SECONDS`): asking again answers the same
  404/503, with the reason, when it was learned and until when, without asking the provider.
  The entries live in the cache backend (Redis when REDIS_URL is set, shared by replicas;
  in-process otherwise; in-process too while Redis is down), under `<prefix>:miss:...`.
- **Rate limit.** Each request that would ask the provider (neither stored nor remembered)
  counts against `RATE_LIMIT_ON_DEMAND` for its client; past it, 429.
- **Batches** ask for at most `ON_DEMAND_BATCH_MAX_FETCHES` unknown tickers; the others get an
  error entry saying why, without a fetch.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from anyio import to_thread

from backend.cache.base import CacheBackend
from backend.cache.singleflight import SingleFlight
from backend.config import Settings
from backend.errors import AppError, NotFound, ProviderUnavailable, Unavailable
from backend.market_data.providers.base import PriceProvider
from backend.market_data.store import PriceStore

log = logging.getLogger(__name__)

RATE_LIMIT_SCOPE = "on-demand"
# Key of the provider-wide entry (tickers are at most 15 characters of A-Z 0-9 . - ^ =).
PROVIDER_KEY = "*provider*"


class ProviderBusy(Unavailable):
    """Every place for an on-demand fetch is taken: refused at once rather than queued."""

    code = "provider_busy"


class NotFetched(NotFound):
    """A batch entry not asked of the provider: the batch's fetches were used up."""

    code = "not_fetched"


class Limiter(Protocol):
    """`backend.auth.ratelimit.RateLimits`: raises RateLimited when `client` is over `limit`."""

    def hit(self, scope: str, limit: str, client: str) -> None: ...


@dataclass(frozen=True)
class Remembered:
    """A miss as stored: the error's code, message and details (reason, learned_at,
    remembered_until)."""

    code: str
    message: str
    details: dict[str, Any]

    def error(self, ticker: str) -> AppError:
        details = {**self.details, "ticker": ticker}
        if self.code == ProviderUnavailable.code:
            exc: AppError = ProviderUnavailable(details["provider"], details["reason"])
            exc.details = details
            return exc
        return NotFound(self.message, details)

    def dump(self) -> bytes:
        return json.dumps(
            {"code": self.code, "message": self.message, "details": self.details}
        ).encode()

    @classmethod
    def load(cls, raw: bytes) -> Remembered | None:
        try:
            data = json.loads(raw)
            return cls(str(data["code"]), str(data["message"]), dict(data["details"]))
        except (ValueError, KeyError, TypeError):  # not ours, or an older shape: ignore it
            return None


def _iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.timezone.utc).isoformat(timespec="seconds")


class OnDemandFetcher:
    """Fetches tickers the store does not hold, within the limits above (see the module)."""

    def __init__(
        self,
        store: PriceStore,
        provider: PriceProvider | None,
        settings: Settings,
        misses: CacheBackend,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.provider = provider
        self.misses = misses
        self.deadline_seconds = settings.on_demand_deadline_seconds
        self.miss_ttl = float(settings.on_demand_miss_ttl_seconds)
        self.unavailable_ttl = float(settings.on_demand_unavailable_ttl_seconds)
        self.workers = settings.on_demand_workers
        self.max_pending = settings.on_demand_max_pending
        self.batch_max_fetches = settings.on_demand_batch_max_fetches
        self.rate_limit = settings.rate_limit_on_demand
        self._clock = clock
        self._wall = wall_clock
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._flight: SingleFlight[None] = SingleFlight()
        self.fetches = 0
        self.refused = 0

    # ------------------------------------------------------------ life cycle

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.workers, thread_name_prefix="on-demand-fetch"
                )
            return self._pool

    def close(self) -> None:
        """Stop the pool: queued fetches are dropped, running ones finish on their own."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    @property
    def pending(self) -> int:
        return self._pending

    # ------------------------------------------------------------ one ticker

    async def obtain(self, ticker: str, client: str | None, limits: Limiter | None) -> None:
        """Return once `ticker` is stored; raise NotFound (the provider has none, or there is
        no provider), ProviderUnavailable, ProviderBusy or RateLimited otherwise."""
        provider = self._provider(ticker)
        remembered = await self._remembered([ticker])
        if ticker in remembered:
            raise remembered[ticker]
        await self._count(client, limits)
        await self._flight.do(ticker, lambda: self._fetch(provider, ticker, client))

    # ------------------------------------------------------------ many tickers

    async def obtain_many(
        self,
        tickers: Sequence[str],
        client: str | None,
        limits: Limiter | None,
        max_fetches: int | None,
    ) -> dict[str, AppError]:
        """Try to store each of `tickers` (none of them stored); the error of each that is
        still not stored. At most `max_fetches` are asked of the provider (None: all of them,
        `ON_DEMAND_WORKERS` at a time, for admin work); the rest get `NotFetched`."""
        wanted = list(dict.fromkeys(tickers))
        if not wanted:
            return {}
        if self.provider is None:
            return {t: self._no_provider(t) for t in wanted}
        errors: dict[str, AppError] = dict(await self._remembered(wanted))
        asked = [t for t in wanted if t not in errors]
        if max_fetches is not None:
            for ticker in asked[max_fetches:]:
                errors[ticker] = NotFetched(
                    f"no prices stored for {ticker}, and it was not asked of provider "
                    f"{self.provider.name!r}: a batch asks for at most {max_fetches} tickers "
                    "that are not stored (ON_DEMAND_BATCH_MAX_FETCHES); ask for it alone or "
                    "in another batch",
                    {
                        "ticker": ticker,
                        "provider": self.provider.name,
                        "reason": "batch fetch limit",
                        "limit": max_fetches,
                    },
                )
            asked = asked[:max_fetches]
        gate = asyncio.Semaphore(self.workers if max_fetches is None else max(1, len(asked)))

        async def one(ticker: str) -> None:
            async with gate:
                await self.obtain(ticker, client, limits)

        outcomes = await asyncio.gather(*(one(t) for t in asked), return_exceptions=True)
        for ticker, outcome in zip(asked, outcomes):
            if isinstance(outcome, AppError):
                errors[ticker] = outcome
            elif isinstance(outcome, BaseException):
                raise outcome
        return errors

    # ------------------------------------------------------------ the parts

    def _no_provider(self, ticker: str) -> NotFound:
        return NotFound(
            f"no prices stored for {ticker}, and no live provider is configured "
            "(DATA_PROVIDER=none)",
            {"ticker": ticker, "provider": None},
        )

    def _provider(self, ticker: str) -> PriceProvider:
        if self.provider is None:
            raise self._no_provider(ticker)
        return self.provider

    def _key(self, ticker: str) -> str:
        assert self.provider is not None
        return f"miss:{self.provider.name}:{ticker}"

    async def _remembered(self, tickers: Sequence[str]) -> dict[str, AppError]:
        """The remembered error of each ticker that has one (the provider-wide one first)."""
        keys = [self._key(PROVIDER_KEY)] + [self._key(t) for t in tickers]
        raws = await self.misses.get_many(keys)
        entries = [Remembered.load(raw) if raw is not None else None for raw in raws]
        provider_wide = entries[0]
        out: dict[str, AppError] = {}
        for ticker, entry in zip(tickers, entries[1:]):
            chosen = provider_wide or entry
            if chosen is not None:
                out[ticker] = chosen.error(ticker)
        return out

    async def _remember(self, key: str, exc: AppError, ttl: float) -> AppError:
        now = self._wall()
        exc.details = {
            **exc.details,
            "learned_at": _iso(now),
            "remembered_until": _iso(now + ttl),
        }
        entry = Remembered(exc.code, exc.message, exc.details)
        await self.misses.set(self._key(key), entry.dump(), ttl)
        return exc

    async def _count(self, client: str | None, limits: Limiter | None) -> None:
        if limits is None or client is None:
            return
        # The limiter may talk to Redis (blocking I/O, short time-outs): a worker thread.
        await to_thread.run_sync(limits.hit, RATE_LIMIT_SCOPE, self.rate_limit, client)

    def _admit(self) -> bool:
        with self._pending_lock:
            if self._pending >= self.max_pending:
                return False
            self._pending += 1
            return True

    def _release(self, _: Future[None]) -> None:
        with self._pending_lock:
            self._pending -= 1

    async def _fetch(self, provider: PriceProvider, ticker: str, client: str | None) -> None:
        deadline = self._clock() + self.deadline_seconds
        if not self._admit():
            self.refused += 1
            log.warning(
                "on-demand fetch of %s refused: %d fetches in progress (ON_DEMAND_MAX_PENDING)",
                ticker,
                self.max_pending,
                extra={"ticker": ticker, "client": client},
            )
            raise ProviderBusy(
                f"the price provider is busy with {self.max_pending} other fetches; "
                f"{ticker} was not asked: retry later",
                {
                    "ticker": ticker,
                    "provider": provider.name,
                    "max_pending": self.max_pending,
                },
            )
        self.fetches += 1
        started = self._clock()
        try:
            job = self._executor().submit(self._fetch_and_store, provider, ticker, deadline)
        except RuntimeError:  # the pool was shut down (the app is stopping)
            with self._pending_lock:
                self._pending -= 1
            raise
        job.add_done_callback(self._release)
        try:
            # On time-out the wait is cancelled; a fetch already running finishes in its
            # thread (its bars are stored if they come), a queued one is dropped.
            await asyncio.wait_for(asyncio.wrap_future(job), self.deadline_seconds)
        except (asyncio.TimeoutError, TimeoutError):
            exc: AppError = ProviderUnavailable(
                provider.name,
                f"no answer for {ticker} within the deadline of "
                f"{self.deadline_seconds:g} s (ON_DEMAND_DEADLINE_SECONDS)",
            )
            exc.details["ticker"] = ticker
            await self._remember(PROVIDER_KEY, exc, self.unavailable_ttl)
            self._log(ticker, client, started, f"unavailable: {exc.message}", logging.WARNING)
            raise exc from None
        except ProviderUnavailable as exc:
            exc.details["ticker"] = ticker
            await self._remember(PROVIDER_KEY, exc, self.unavailable_ttl)
            self._log(ticker, client, started, f"unavailable: {exc.message}", logging.WARNING)
            raise
        except NotFound as exc:
            await self._remember(ticker, exc, self.miss_ttl)
            self._log(ticker, client, started, f"not found: {exc.details.get('reason')}")
            raise
        self._log(ticker, client, started, "stored")

    def _log(
        self, ticker: str, client: str | None, started: float, outcome: str, level: int = 20
    ) -> None:
        ms = (self._clock() - started) * 1000
        log.log(
            level,
            "on-demand fetch of %s for %s: %s (%.0f ms)",
            ticker,
            client or "-",
            outcome,
            ms,
            extra={"ticker": ticker, "client": client, "duration_ms": round(ms, 1)},
        )

    def _fetch_and_store(self, provider: PriceProvider, ticker: str, deadline: float) -> None:
        """In a pool thread: ask the provider (unless the store has it by now) and store."""
        if self.store.resolve(ticker) is not None:  # another replica or an import got it
            return
        result = provider.fetch([ticker], deadline=deadline)
        bars = result.bars
        if bars.empty or ticker in result.failures:
            reason = result.failures.get(ticker, "no rows returned")
            raise NotFound(
                f"no prices stored for {ticker}, and provider {provider.name!r} has none: "
                f"{reason}",
                {"ticker": ticker, "provider": provider.name, "reason": reason},
            )
        if ticker in result.names:
            self.store.upsert_securities([{"ticker": ticker, "name": result.names[ticker]}])
        self.store.upsert_bars(bars, source=provider.name)
