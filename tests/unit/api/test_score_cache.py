"""ScoreCache: keys on the data version, single-flight, batch multi-get, warmup, counters."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time

import pytest

from backend.api.score_cache import ScoreCache
from backend.cache.keys import model_tag, response_key, score_key
from backend.cache.memory import MemoryBackend
from backend.cache.request import RequestReads
from backend.errors import NotFound
from backend.momentum.schemas import BatchEntry, BatchError, BatchResponse, MomentumScore
from tests.unit.cache.support import run_async

pytestmark = pytest.mark.unit

TAG = model_tag("alphavelocity-v1", (0.5, 0.35, 0.15))


def score(ticker: str, value: float = 50.0) -> MomentumScore:
    return MomentumScore(
        ticker=ticker,
        requested_ticker=ticker,
        name=None,
        overall_momentum_score=value,
        rating="Hold",
        price_momentum=value,
        technical_momentum=value,
        relative_momentum=None,
        percentile_rank=50.0,
        universe="all",
        universe_size=2,
        as_of=dt.date(2021, 4, 21),
        current_price=10.0,
        price_basis="close",
        data_source="sample",
        complete=True,
        left_out=[],
        closes_used=100,
        model_version="alphavelocity-v1",
    )


class Store:
    def __init__(self) -> None:
        self.version = 1
        self.value = 50.0
        self.calls: list[list[str]] = []
        self.lock = threading.Lock()

    def score(self, ticker: str) -> MomentumScore:
        with self.lock:
            self.calls.append([ticker])
        time.sleep(0.02)
        if ticker == "NOPE":
            raise NotFound("no prices stored for NOPE", {"ticker": "NOPE"})
        return score(ticker, self.value)

    def batch(self, tickers: list[str]) -> BatchResponse:
        self.calls.append(list(tickers))
        results = []
        for t in tickers:
            if t == "NOPE":
                results.append(
                    BatchEntry(
                        ticker=t, error=BatchError(code="not_found", message="no prices for NOPE")
                    )
                )
            else:
                results.append(BatchEntry(ticker=t, score=score(t, self.value)))
        ok = sum(1 for r in results if r.score is not None)
        return BatchResponse(
            count=len(results), succeeded=ok, failed=len(results) - ok, results=results
        )


def make_cache(store: Store) -> ScoreCache:
    return ScoreCache(MemoryBackend("t", 1000), 60, TAG, lambda: store.version)


def test_keys_name_ticker_as_of_model_and_data_version() -> None:
    key = score_key(TAG, 7, "AAPL", dt.date(2020, 8, 31), "all")
    assert key == "score:alphavelocity-v1-w0.5-0.35-0.15:d7:AAPL:2020-08-31:all"
    assert score_key(TAG, 7, "AAPL", None, "all").endswith(":d7:AAPL:latest:all")
    assert model_tag("alphavelocity-v1", (0.6, 0.3, 0.1)) != TAG
    assert response_key("history", TAG, 3, "AAPL", None, dt.date(2021, 1, 1), "all") == (
        f"history:{TAG}:d3:AAPL:-:2021-01-01:all"
    )


def test_miss_then_hit_and_counters() -> None:
    store = Store()
    cache = make_cache(store)

    async def main() -> None:
        key = score_key(TAG, await cache.data_version(), "AAPL", None, "all")
        first, hit1 = await cache.cached(key, lambda: store.score("AAPL"))
        second, hit2 = await cache.cached(key, lambda: store.score("AAPL"))
        assert (hit1, hit2) == (False, True)
        assert first == second
        assert json.loads(first) == score("AAPL").model_dump(mode="json")
        stats = await cache.stats()
        assert stats["hits"] == 1 and stats["misses"] == 1 and stats["hit_ratio"] == 0.5
        assert stats["computations"] == 1 and stats["keys"] == 1 and stats["backend"] == "memory"

    run_async(main())
    assert store.calls == [["AAPL"]]


def test_a_new_data_version_is_never_served_the_old_value() -> None:
    store = Store()
    cache = make_cache(store)

    async def main() -> None:
        key = score_key(TAG, await cache.data_version(), "AAPL", None, "all")
        old, _ = await cache.cached(key, lambda: store.score("AAPL"))
        store.version, store.value = 2, 61.0  # new prices landed
        key = score_key(TAG, await cache.data_version(), "AAPL", None, "all")
        new, hit = await cache.cached(key, lambda: store.score("AAPL"))
        assert hit is False
        assert json.loads(old)["overall_momentum_score"] == 50.0
        assert json.loads(new)["overall_momentum_score"] == 61.0

    run_async(main())


def test_many_concurrent_misses_compute_once() -> None:
    store = Store()
    cache = make_cache(store)

    async def main() -> None:
        key = score_key(TAG, await cache.data_version(), "MSFT", None, "all")
        results = await asyncio.gather(
            *(cache.cached(key, lambda: store.score("MSFT")) for _ in range(40))
        )
        assert len({body for body, _ in results}) == 1

    run_async(main())
    assert store.calls == [["MSFT"]]


def test_errors_are_raised_to_every_waiter_and_not_cached() -> None:
    store = Store()
    cache = make_cache(store)

    async def main() -> None:
        key = score_key(TAG, await cache.data_version(), "NOPE", None, "all")
        results = await asyncio.gather(
            *(cache.cached(key, lambda: store.score("NOPE")) for _ in range(5)),
            return_exceptions=True,
        )
        assert all(isinstance(r, NotFound) for r in results)
        with pytest.raises(NotFound):
            await cache.cached(key, lambda: store.score("NOPE"))
        assert (await cache.stats())["keys"] == 0

    run_async(main())
    assert store.calls == [["NOPE"], ["NOPE"]]


def test_batch_reads_hits_computes_misses_once_and_keeps_order() -> None:
    store = Store()
    cache = make_cache(store)

    async def main() -> None:
        await cache.warm(["AAPL"], store.batch)
        store.calls.clear()
        entries, hits, misses = await cache.batch_entries(
            1, ["MSFT", "AAPL", "NOPE", "MSFT"], None, store.batch
        )
        assert (hits, misses) == (1, 3)
        assert store.calls == [["MSFT", "NOPE"]]
        assert [ok for _, ok in entries] == [True, True, False, True]
        parsed = [json.loads(e) for e, _ in entries]
        assert [p["ticker"] for p in parsed] == ["MSFT", "AAPL", "NOPE", "MSFT"]
        assert parsed[1] == BatchEntry(ticker="AAPL", score=score("AAPL")).model_dump(mode="json")
        assert parsed[2]["score"] is None and parsed[2]["error"]["code"] == "not_found"
        again, hits, misses = await cache.batch_entries(1, ["MSFT", "AAPL"], None, store.batch)
        assert (hits, misses) == (2, 0)
        assert store.calls == [["MSFT", "NOPE"]]
        # Batch entries and single answers share the per-ticker score entries.
        body, hit = await cache.cached(
            score_key(TAG, 1, "MSFT", None, "all"), lambda: store.score("MSFT")
        )
        assert hit is True and json.loads(body) == parsed[0]["score"]

    run_async(main())


def test_warm_reports_warmed_and_failed() -> None:
    store = Store()
    cache = make_cache(store)

    async def main() -> None:
        result = await cache.warm(["AAPL", "NOPE", "MSFT"], store.batch)
        assert result.warmed == ["AAPL", "MSFT"]
        assert [f.ticker for f in result.failed] == ["NOPE"]
        assert result.data_version == 1
        assert (await cache.stats())["keys"] == 2

    run_async(main())


def test_clear_removes_entries() -> None:
    store = Store()
    cache = make_cache(store)

    async def main() -> None:
        await cache.warm(["AAPL", "MSFT"], store.batch)
        assert await cache.clear("score:*:AAPL:*") == 1
        assert await cache.clear() == 1

    run_async(main())


def test_a_request_reads_the_version_once_and_a_missed_key_is_not_looked_up_again() -> None:
    store = Store()
    reads_of_version: list[int] = []

    def read_version() -> int:
        reads_of_version.append(store.version)
        return store.version

    cache = ScoreCache(MemoryBackend("t", 1000), 60, TAG, read_version)
    gets: list[str] = []
    get = cache.backend.get

    async def spy_get(key: str) -> bytes | None:
        gets.append(key)
        return await get(key)

    cache.backend.get = spy_get  # type: ignore[method-assign]

    async def main() -> None:
        reads = RequestReads()
        version = await cache.version_of(reads)
        assert await cache.version_of(reads) == version == 1
        key = score_key(TAG, version, "AAPL", None, "all")
        assert await cache.lookup(key) is None
        reads.missed = key  # what the cache in front of the router notes on a miss
        body, hit = await cache.cached(key, lambda: store.score("AAPL"), reads)
        assert hit is False and json.loads(body)["ticker"] == "AAPL"
        # The lookup, then the re-check inside the flight; the route's own lookup is skipped.
        assert gets == [key, key]
        reads.forget()
        store.version = 2
        assert await cache.version_of(reads) == 2

    run_async(main())
    assert reads_of_version == [1, 2]
