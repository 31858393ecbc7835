"""Options answers from the stored snapshots: a ticker's summary (spot, 30-day ATM volatility,
term structure, IV rank and percentile, signal), its chain, its daily history; and live
snapshots through a provider.

The summary re-analyses the stored chain (`chain.analyse_chain`, < 50 ms for 2,000 contracts),
so the term structure and deltas always follow the maths of this release. The IV rank reads the
stored daily 30-day ATM volatilities; for SPY it reads VIX (the price series `^VIX`, divided by
100) when the price store holds it, and says so.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import numpy as np
import pandas as pd

from backend.config import Settings
from backend.errors import START_NOT_AFTER_END, InvalidInput, NotFound, ProviderUnavailable
from backend.market_data.store import PriceStore
from backend.options.chain import ConstantMaturity, TermPoint, analyse_chain, term_structure
from backend.options.errors import OptionsError
from backend.options.rank import WINDOW, IVRank, iv_rank
from backend.options.signal import PremiumSignal, premium_signal
from backend.options.snapshot import THIRTY_DAYS, Snapshot, thirty_day
from backend.options.store import HistoryPoint, OptionStore, StoredSnapshot, WriteResult

# Underlyings whose IV history is a volatility index held as a price series (in percent).
INDEX_HISTORY: Final = {"SPY": "^VIX"}


class OptionsProvider(Protocol):
    name: str

    def snapshot(self, ticker: str, rate: float, deadline: float) -> Snapshot:
        """The ticker's chain now, analysed; raises NotFound (no options listed) or
        ProviderUnavailable (unreachable, throttled, past `deadline`, a `time.monotonic()`)."""
        ...


@dataclass(frozen=True)
class Summary:
    ticker: str
    as_of: dt.date | None  # the day asked for (None: the latest)
    snapshot_day: dt.date
    snapshot_time: dt.datetime
    data_source: str
    spot: float
    rate: float
    atm_iv_30d: ConstantMaturity
    term_structure: tuple[TermPoint, ...]
    rank: IVRank
    history_source: str  # "snapshots" or the index ticker (SPY: "^VIX")
    signal: PremiumSignal


@dataclass(frozen=True)
class ChainAnswer:
    ticker: str
    snapshot_day: dt.date
    snapshot_time: dt.datetime
    data_source: str
    spot: float
    rate: float
    expiries: tuple[dt.date, ...]  # every expiry of the snapshot
    expiry: dt.date | None  # the one asked for (None: all)
    contracts: list[dict[str, Any]]


@dataclass(frozen=True)
class SnapshotOutcome:
    taken: dict[str, Snapshot] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    written: WriteResult | None = None


def _finite(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)
    return number if np.isfinite(number) else None


def _count(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


class OptionsService:
    def __init__(
        self,
        store: OptionStore,
        prices: PriceStore,
        settings: Settings,
        provider: OptionsProvider | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.prices = prices
        self.settings = settings
        self.provider = provider
        self._clock = clock

    def _stored(self, ticker: str, as_of: dt.date | None) -> StoredSnapshot:
        found = self.store.latest(ticker, as_of)
        if found is None:
            when = f" on or before {as_of}" if as_of is not None else ""
            raise NotFound(
                f"no options snapshot stored for {ticker}{when}",
                {"ticker": ticker, "as_of": None if as_of is None else as_of.isoformat()},
            )
        return found

    def _rank_history(self, ticker: str, until: dt.date) -> tuple[pd.Series, str]:
        index = INDEX_HISTORY.get(ticker)
        if index is not None:
            bars = self.prices.bars(index, None, until)
            if bars:
                closes = {b["date"]: b["close"] or b["adj_close"] for b in bars}
                return pd.Series(closes, dtype=float) / 100.0, index
        points = self.store.history(ticker, None, until)
        series = pd.Series(
            {p.day: (p.atm_iv_30d if p.atm_iv_30d is not None else np.nan) for p in points},
            dtype=float,
        )
        return series, "snapshots"

    def summary(self, ticker: str, as_of: dt.date | None = None) -> Summary:
        """The summary of the ticker's latest snapshot on or before `as_of` (404 when none)."""
        stored = self._stored(ticker, as_of)
        view = analyse_chain(
            stored.contracts[["expiry", "strike", "right", "bid", "ask", "last"]],
            stored.taken_at,
            stored.spot,
            stored.rate,
        )
        history, source = self._rank_history(ticker, stored.day)
        asked = stored.day
        rank = iv_rank(history, asked, WINDOW, self.settings.options_min_history)
        signal = premium_signal(rank, stored.earnings_date)
        return Summary(
            ticker=ticker,
            as_of=as_of,
            snapshot_day=stored.day,
            snapshot_time=stored.taken_at,
            data_source=stored.source,
            spot=stored.spot,
            rate=stored.rate,
            atm_iv_30d=thirty_day(view),
            term_structure=term_structure(view.expiries),
            rank=rank,
            history_source=source,
            signal=signal,
        )

    def ranks(self, tickers: Sequence[str]) -> dict[str, tuple[IVRank, str]]:
        """The IV rank of each ticker's latest snapshot, as `summary` gives it, from the stored
        daily 30-day series alone (no chain is read: cheap for a whole leaderboard), with the
        history's source; tickers without a snapshot are absent."""
        out = {}
        for ticker, day in self.store.latest_days(tickers).items():
            history, source = self._rank_history(ticker, day)
            out[ticker] = (iv_rank(history, day, WINDOW, self.settings.options_min_history), source)
        return out

    def chain(
        self, ticker: str, expiry: dt.date | None = None, as_of: dt.date | None = None
    ) -> ChainAnswer:
        """The contracts of the ticker's snapshot (one expiry or all): mid, price source, our
        IV (or why none), vendor IV and the difference, delta."""
        stored = self._stored(ticker, as_of)
        view = analyse_chain(
            stored.contracts[["expiry", "strike", "right", "bid", "ask", "last"]],
            stored.taken_at,
            stored.spot,
            stored.rate,
        )
        frame = view.contracts.assign(
            vendor_iv=stored.contracts["vendor_iv"].to_numpy(),
            volume=stored.contracts["volume"].to_numpy(),
            open_interest=stored.contracts["open_interest"].to_numpy(),
        )
        expiries = tuple(sorted(set(frame["expiry"])))
        if expiry is not None:
            if expiry not in expiries:
                raise NotFound(
                    f"{ticker}'s snapshot of {stored.day} has no expiry {expiry}",
                    {"ticker": ticker, "expiry": expiry.isoformat(), "expiries": len(expiries)},
                )
            frame = frame[frame["expiry"] == expiry]
        contracts = []
        row: Any
        for row in frame.itertuples(index=False):
            ours, vendor = _finite(row.iv), _finite(row.vendor_iv)
            contracts.append(
                {
                    "expiry": row.expiry,
                    "strike": float(row.strike),
                    "right": row.right,
                    "bid": _finite(row.bid),
                    "ask": _finite(row.ask),
                    "last": _finite(row.last),
                    "price": _finite(row.price),
                    "price_source": row.price_source or None,
                    "volume": _count(row.volume),
                    "open_interest": _count(row.open_interest),
                    "iv": ours,
                    "iv_reason": row.reason or None,
                    "vendor_iv": vendor,
                    "iv_difference": (None if ours is None or vendor is None else ours - vendor),
                    "delta": _finite(row.delta),
                }
            )
        return ChainAnswer(
            ticker=ticker,
            snapshot_day=stored.day,
            snapshot_time=stored.taken_at,
            data_source=stored.source,
            spot=stored.spot,
            rate=stored.rate,
            expiries=expiries,
            expiry=expiry,
            contracts=contracts,
        )

    def history(
        self, ticker: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> list[HistoryPoint]:
        """The daily 30-day ATM volatility of the stored snapshots (404 when none at all)."""
        if start is not None and end is not None and start > end:
            raise InvalidInput(
                f"start {start} is after end {end}",
                {"field": "start", "rule": START_NOT_AFTER_END.rule},
            )
        points = self.store.history(ticker, start, end)
        if not points and self.store.latest(ticker) is None:
            raise NotFound(f"no options snapshot stored for {ticker}", {"ticker": ticker})
        return points

    def take_snapshots(self, tickers: Sequence[str]) -> SnapshotOutcome:
        """Ask the provider for each ticker's chain now (each within its own deadline) and
        store those it answered, together; one ticker's failure is reported, not fatal."""
        if self.provider is None:
            raise ProviderUnavailable("none", "DATA_PROVIDER=none: no live options provider")
        outcome = SnapshotOutcome()
        for ticker in tickers:
            deadline = self._clock() + self.settings.options_snapshot_deadline_seconds
            try:
                outcome.taken[ticker] = self.provider.snapshot(
                    ticker, self.settings.options_risk_free_rate, deadline
                )
            except (NotFound, ProviderUnavailable) as exc:
                outcome.failed[ticker] = exc.message
            except OptionsError as exc:  # an answer the readers refuse
                outcome.failed[ticker] = str(exc)
        written = self.store.write(outcome.taken.values()) if outcome.taken else None
        return SnapshotOutcome(outcome.taken, outcome.failed, written)


__all__ = ["OptionsService", "Summary", "ChainAnswer", "SnapshotOutcome", "THIRTY_DAYS"]
