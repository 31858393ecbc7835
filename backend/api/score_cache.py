"""The cache as the API uses it: answers as JSON bytes, keyed on the data version, computed
once under concurrency (single-flight), counted (hits, misses, computations).

The data version is read here only (`data_version`, through the gate that shares reads), once
per request (`version_of`); the answer methods take keys and versions already read."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from backend.cache import build_backend
from backend.cache.base import CacheBackend
from backend.cache.keys import model_tag, score_key
from backend.cache.request import RequestReads
from backend.cache.singleflight import SingleFlight
from backend.cache.version import DataVersionGate, DataVersionReader, DataVersionTimeout
from backend.config import Settings
from backend.db.faults import database_unavailable
from backend.errors import AppError, DatabaseUnavailable
from backend.market_data.store import PriceStore
from backend.momentum.engine import MODEL_VERSION
from backend.momentum.schemas import BatchEntry, BatchResponse

__all__ = ["DatabaseUnavailable", "ScoreCache", "WarmupResult", "build_cache"]

ALL_UNIVERSE = "all"


@dataclass
class WarmupResult:
    data_version: int
    warmed: list[str] = field(default_factory=list)
    failed: list[BatchEntry] = field(default_factory=list)


def _entry_with_score(ticker: str, score: bytes) -> bytes:
    # The JSON of BatchEntry(ticker=..., score=<cached score>, error=None), without parsing it.
    return b'{"ticker":' + json.dumps(ticker).encode() + b',"score":' + score + b',"error":null}'


class ScoreCache:
    def __init__(
        self,
        backend: CacheBackend,
        ttl_seconds: float,
        tag: str,
        read_data_version: Callable[[], int],
        inline_version_reads: bool = False,
        on_close: Callable[[], None] | None = None,
        version_timeout: float | None = None,
    ) -> None:
        self.backend = backend
        self.ttl = float(ttl_seconds)
        self.tag = tag
        self.versions = DataVersionGate(
            read_data_version, inline=inline_version_reads, timeout=version_timeout
        )
        self._on_close = on_close
        self.flight: SingleFlight[bytes] = SingleFlight()
        self.hits = 0
        self.misses = 0
        self.computations = 0

    async def start(self) -> None:
        await self.backend.start()

    async def close(self) -> None:
        await self.backend.close()
        if self._on_close is not None:
            self._on_close()

    async def data_version(self) -> int:
        """The store's data version now; DatabaseUnavailable (503) when it cannot be read in
        time: without it no cached answer can be shown to be as new as the prices."""
        try:
            return await self.versions.current()
        except AppError:
            raise
        except DataVersionTimeout as exc:
            raise DatabaseUnavailable(
                "timeout",
                f"the price store's data version was not read within {exc.seconds:g} s, so no "
                "score can be shown to be current",
            ) from exc
        except Exception as exc:
            unavailable = database_unavailable(exc, "data version read")
            if unavailable is None:
                raise
            raise unavailable from exc

    async def version_of(self, reads: RequestReads) -> int:
        """The data version of one request: read on its first use, the same afterwards."""
        if reads.version is None:
            reads.version = await self.data_version()
        return reads.version

    # ------------------------------------------------------------ one answer

    async def cached(
        self, key: str, compute: Callable[[], BaseModel], reads: RequestReads | None = None
    ) -> tuple[bytes, bool]:
        """(JSON bytes, served from cache?) of the answer named `key` (which carries the data
        version); `compute` (blocking; run in a worker thread) makes it on a miss. A key the
        request already looked up in vain (`reads.missed`) is not looked up again. Errors that
        `compute` raises reach every waiter and are never cached."""
        if reads is None or reads.missed != key:
            value = await self.backend.get(key)
            if value is not None:
                self.hits += 1
                return value, True
        self.misses += 1

        async def produce() -> bytes:
            # A flight for this key may have stored it between our miss and now.
            stored = await self.backend.get(key)
            if stored is not None:
                return stored
            model = await run_in_threadpool(compute)
            self.computations += 1
            data = model.model_dump_json().encode()
            await self.backend.set(key, data, self.ttl)
            return data

        return await self.flight.do(key, produce), False

    async def lookup(self, key: str) -> bytes | None:
        """The cached answer, counted as a hit; None (and not counted) when absent: the
        caller then goes the `cached` way, which counts the miss."""
        value = await self.backend.get(key)
        if value is not None:
            self.hits += 1
        return value

    # ------------------------------------------------------------ many scores

    def _score_key(self, version: int, ticker: str, as_of: dt.date | None) -> str:
        return score_key(self.tag, version, ticker, as_of, ALL_UNIVERSE)

    async def batch_entries(
        self,
        version: int,
        tickers: Sequence[str],
        as_of: dt.date | None,
        compute: Callable[[list[str]], BatchResponse],
    ) -> tuple[list[tuple[bytes, bool]], int, int]:
        """(JSON of one BatchEntry, has a score?) per ticker (universe `all`) for data version
        `version`, in order, plus (hits, misses). Cached scores are read with one multi-get;
        the missing ones are computed together in one call of `compute` (for that version)
        and stored with one pipeline."""
        keys = [self._score_key(version, t, as_of) for t in tickers]
        values = await self.backend.get_many(keys)
        missing = sorted({t for t, v in zip(tickers, values) if v is None})
        computed: dict[str, tuple[bytes, bool]] = {}
        if missing:
            response = await run_in_threadpool(compute, missing)
            fresh: dict[str, bytes] = {}
            for entry in response.results:
                if entry.score is not None:
                    self.computations += 1
                    data = entry.score.model_dump_json().encode()
                    fresh[self._score_key(version, entry.ticker, as_of)] = data
                    computed[entry.ticker] = (_entry_with_score(entry.ticker, data), True)
                else:
                    computed[entry.ticker] = (entry.model_dump_json().encode(), False)
            await self.backend.set_many(fresh, self.ttl)
        hits = sum(1 for v in values if v is not None)
        self.hits += hits
        self.misses += len(values) - hits
        out = [
            (_entry_with_score(t, v), True) if v is not None else computed[t]
            for t, v in zip(tickers, values)
        ]
        return out, hits, len(values) - hits

    async def warm(
        self, tickers: Sequence[str], compute: Callable[[list[str]], BatchResponse]
    ) -> WarmupResult:
        """Compute the latest scores (universe `all`) of `tickers` and store them, whatever the
        cache holds: what GET /momentum/{ticker} without parameters then serves."""
        version = await self.data_version()
        response = await run_in_threadpool(compute, list(tickers))
        result = WarmupResult(data_version=version)
        fresh: dict[str, bytes] = {}
        for entry in response.results:
            if entry.score is None:
                result.failed.append(entry)
                continue
            self.computations += 1
            # Keyed on the version read *before* computing: the scores are at least that new
            # (a version read afterwards could name prices newer than the scores).
            fresh[self._score_key(version, entry.ticker, None)] = (
                entry.score.model_dump_json().encode()
            )
            result.warmed.append(entry.ticker)
        await self.backend.set_many(fresh, self.ttl)
        return result

    # ------------------------------------------------------------ admin

    async def clear(self, pattern: str = "*") -> int:
        return await self.backend.clear(pattern)

    async def stats(self) -> dict[str, Any]:
        backend = await self.backend.stats()
        lookups = self.hits + self.misses
        return {
            "backend": backend.backend,
            "reachable": backend.reachable,
            "key_prefix": self.backend.prefix,
            "keys": backend.keys,
            "hits": self.hits,
            "misses": self.misses,
            "hit_ratio": round(self.hits / lookups, 4) if lookups else None,
            "computations": self.computations,
            "memory_used_bytes": backend.memory_used_bytes,
            "ttl_seconds": self.ttl,
            "error": backend.error,
            "details": backend.details,
        }


def build_cache(settings: Settings, store: PriceStore) -> ScoreCache:
    """The cache of this service: keys tagged with the model version and the composite weights,
    and carrying the price store's data version, read fresh for every request."""
    weights = (settings.weight_price, settings.weight_technical, settings.weight_relative)
    reader = DataVersionReader(
        store.engine,
        timeout_seconds=settings.data_version_timeout_seconds,
        connect_timeout_seconds=settings.database_connect_timeout_seconds,
    )
    # A SQLite database in memory is reachable only through the engine's own connections.
    in_memory_sqlite = reader.sqlite and not reader.local
    return ScoreCache(
        build_backend(settings),
        settings.cache_ttl_seconds,
        model_tag(MODEL_VERSION, weights),
        store.data_version if in_memory_sqlite else reader.read,
        inline_version_reads=reader.local,
        on_close=reader.close,
        version_timeout=settings.data_version_timeout_seconds,
    )
