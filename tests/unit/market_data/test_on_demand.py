"""OnDemandFetcher on its own: remembered misses (shape, expiry, provider-wide), the deadline,
admission to its pool, single flight, the per-batch cap, the rate-limit hook."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from typing import Any

import pandas as pd
import pytest

from backend.cache.memory import MemoryBackend
from backend.errors import NotFound, ProviderUnavailable, RateLimited
from backend.market_data.on_demand import (
    NotFetched,
    OnDemandFetcher,
    ProviderBusy,
    Remembered,
)
from tests.conftest import make_settings
from tests.support.fakes import FakeProvider, SlowProvider

pytestmark = [pytest.mark.unit]

WALL = 1_700_000_000.0  # 2023-11-14T22:13:20Z


class FakeStore:
    def __init__(self, stored: set[str] | None = None) -> None:
        self.stored = set(stored or ())
        self.written: list[pd.DataFrame] = []

    def resolve(self, ticker: str) -> str | None:
        return ticker if ticker in self.stored else None

    def upsert_securities(self, rows: Any) -> None:
        list(rows)

    def upsert_bars(self, bars: pd.DataFrame, source: str) -> None:
        self.written.append(bars)
        self.stored |= set(bars["ticker"])


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def bars(ticker: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"date": [dt.date(2021, 4, 21)], "ticker": [ticker], "adj_close": [1.0], "close": [1.0]}
    )


def fetcher(
    provider: Any, store: FakeStore | None = None, **settings: Any
) -> tuple[OnDemandFetcher, MemoryBackend, Clock]:
    mono = Clock(1000.0)
    backend = MemoryBackend("t", 100, clock=mono)
    out = OnDemandFetcher(
        store or FakeStore(),  # type: ignore[arg-type]
        provider,
        make_settings("sqlite://", **settings),
        backend,
        wall_clock=lambda: WALL,
    )
    return out, backend, mono


class Limits:
    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.hits: list[tuple[str, str, str]] = []

    def hit(self, scope: str, limit: str, client: str) -> None:
        self.hits.append((scope, limit, client))
        if len(self.hits) > self.allowed:
            raise RateLimited(limit, scope, 60)


def test_a_ticker_the_provider_has_is_stored() -> None:
    store = FakeStore()
    f, _, _ = fetcher(FakeProvider(bars("NEW")), store)
    asyncio.run(f.obtain("NEW", "1.2.3.4", None))
    assert store.stored == {"NEW"} and f.pending == 0
    f.close()


def test_a_miss_is_remembered_with_its_reason_until_it_expires() -> None:
    provider = FakeProvider(bars("NEW"))
    f, backend, mono = fetcher(provider, on_demand_miss_ttl_seconds=600)

    async def ask() -> NotFound:
        with pytest.raises(NotFound) as info:
            await f.obtain("NOPE", None, None)
        return info.value

    first = asyncio.run(ask())
    assert first.details == {
        "ticker": "NOPE",
        "provider": "fake",
        "reason": "unknown symbol",
        "learned_at": "2023-11-14T22:13:20+00:00",
        "remembered_until": "2023-11-14T22:23:20+00:00",
    }
    again = asyncio.run(ask())
    assert (again.message, again.details) == (first.message, first.details)
    assert len(provider.calls) == 1
    mono.now += 601  # expired: asked again
    asyncio.run(ask())
    assert len(provider.calls) == 2
    f.close()


def test_an_unavailable_provider_is_remembered_for_all_tickers() -> None:
    provider = FakeProvider(unavailable="connection refused")
    f, _, _ = fetcher(provider, on_demand_unavailable_ttl_seconds=30)

    async def ask(ticker: str) -> ProviderUnavailable:
        with pytest.raises(ProviderUnavailable) as info:
            await f.obtain(ticker, None, None)
        return info.value

    first, other = asyncio.run(ask("AAA")), asyncio.run(ask("BBB"))
    assert len(provider.calls) == 1
    assert (
        other.message
        == first.message
        == ("price provider 'fake' is unavailable: connection refused")
    )
    assert other.details["ticker"] == "BBB" and first.details["ticker"] == "AAA"
    assert other.details["remembered_until"] == "2023-11-14T22:13:50+00:00"
    f.close()


def test_no_provider_is_404_and_nothing_is_remembered_or_counted() -> None:
    f, backend, _ = fetcher(None)
    limits = Limits(0)
    with pytest.raises(NotFound, match="DATA_PROVIDER=none"):
        asyncio.run(f.obtain("NOPE", "1.2.3.4", limits))
    assert limits.hits == [] and backend._data == {}
    assert asyncio.run(f.obtain_many(["A", "B"], None, None, 1)).keys() == {"A", "B"}


def test_past_the_deadline_the_provider_is_remembered_as_unavailable() -> None:
    release = threading.Event()
    provider = SlowProvider(bars("NEW"), seconds=30, release=release, honour_deadline=False)
    f, backend, _ = fetcher(provider, on_demand_deadline_seconds=0.2)
    try:
        with pytest.raises(ProviderUnavailable, match="within the deadline of 0.2 s"):
            asyncio.run(f.obtain("NEW", None, None))
    finally:
        release.set()
    assert "t:miss:fake:*provider*" in backend._data
    f.close()


def test_admission_is_bounded_and_released_when_fetches_end() -> None:
    release = threading.Event()
    provider = SlowProvider(bars("A"), seconds=30, release=release)
    f, _, _ = fetcher(
        provider, on_demand_workers=1, on_demand_max_pending=2, on_demand_deadline_seconds=10
    )

    async def scenario() -> None:
        first = asyncio.ensure_future(f.obtain("A", None, None))
        second = asyncio.ensure_future(f.obtain("B", None, None))  # queued behind A
        while f.pending < 2:
            await asyncio.sleep(0.01)
        with pytest.raises(ProviderBusy) as info:
            await f.obtain("C", None, None)
        assert info.value.details["max_pending"] == 2
        release.set()
        await first
        with pytest.raises(NotFound):
            await second

    asyncio.run(scenario())
    assert f.pending == 0 and f.refused == 1
    f.close()


def test_concurrent_callers_share_one_fetch() -> None:
    provider = SlowProvider(bars("A"), seconds=0.2)
    f, _, _ = fetcher(provider)

    async def scenario() -> None:
        await asyncio.gather(*(f.obtain("A", None, None) for _ in range(8)))

    asyncio.run(scenario())
    assert len(provider.started) == 1
    f.close()


def test_each_request_that_would_ask_the_provider_is_counted() -> None:
    f, _, _ = fetcher(FakeProvider(bars("A")), rate_limit_on_demand="5/minute")
    limits = Limits(1)
    with pytest.raises(NotFound):
        asyncio.run(f.obtain("NOPE", "1.2.3.4", limits))
    with pytest.raises(NotFound):  # remembered: not counted
        asyncio.run(f.obtain("NOPE", "1.2.3.4", limits))
    with pytest.raises(RateLimited):
        asyncio.run(f.obtain("A", "1.2.3.4", limits))
    assert limits.hits == [("on-demand", "5/minute", "1.2.3.4")] * 2
    f.close()


def test_a_batch_asks_for_at_most_its_share() -> None:
    provider = FakeProvider(bars("B"))
    f, _, _ = fetcher(provider)
    errors = asyncio.run(f.obtain_many(["A", "B", "C", "D", "A"], None, None, 2))
    assert sorted(c[0][0] for c in provider.calls) == ["A", "B"]
    assert set(errors) == {"A", "C", "D"}
    assert isinstance(errors["A"], NotFound) and not isinstance(errors["A"], NotFetched)
    assert isinstance(errors["C"], NotFetched) and errors["C"].code == "not_fetched"
    assert errors["C"].details["limit"] == 2
    f.close()


def test_a_batch_without_a_cap_fetches_all_a_pool_at_a_time() -> None:
    provider = SlowProvider(None, seconds=0.05)
    f, _, _ = fetcher(provider, on_demand_workers=2, on_demand_max_pending=2)
    errors = asyncio.run(f.obtain_many([f"T{i}" for i in range(7)], None, None, None))
    assert len(provider.started) == 7 and provider.most_in_flight <= 2
    assert {type(e) for e in errors.values()} == {NotFound} and f.refused == 0
    f.close()


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"{}",
        b'{"status": "x", "message": 1}',
        b"[]",
        # the shape before misses were stored by code: forgotten, fetched again
        b'{"status": 503, "message": "m", "details": {}}',
    ],
)
def test_an_unreadable_entry_is_ignored(raw: bytes) -> None:
    assert Remembered.load(raw) is None
