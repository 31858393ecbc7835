"""Test doubles for the provider interface (no network)."""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import Sequence

import pandas as pd

from backend.errors import ProviderUnavailable
from backend.market_data.providers.base import FetchResult


class FakeProvider:
    """Serves bars from a frame; or fails as a whole (`unavailable`) like a dead network."""

    name = "fake"

    def __init__(self, bars: pd.DataFrame | None = None, unavailable: str | None = None) -> None:
        self.bars = bars
        self.unavailable = unavailable
        self.calls: list[tuple[tuple[str, ...], date | None, date | None]] = []
        self.deadlines: list[float | None] = []

    def fetch(
        self,
        tickers: Sequence[str],
        start: date | None = None,
        end: date | None = None,
        deadline: float | None = None,
    ) -> FetchResult:
        self.calls.append((tuple(tickers), start, end))
        self.deadlines.append(deadline)
        if self.unavailable:
            raise ProviderUnavailable(self.name, self.unavailable)
        frames, failures = [], {}
        for ticker in tickers:
            rows = (
                self.bars[self.bars["ticker"] == ticker]
                if self.bars is not None
                else pd.DataFrame()
            )
            if start is not None and not rows.empty:
                rows = rows[rows["date"] >= start]
            if end is not None and not rows.empty:
                rows = rows[rows["date"] <= end]
            if rows.empty:
                failures[ticker] = "unknown symbol"
            else:
                frames.append(rows)
        bars = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return FetchResult(bars=bars, failures=failures)


class SlowProvider(FakeProvider):
    """A provider that takes `seconds` per call, or until `release` is set (less when the
    deadline comes first, as a deadline-aware provider does, unless `honour_deadline` is
    False), counting the calls in flight at once."""

    def __init__(
        self,
        bars: pd.DataFrame | None = None,
        seconds: float = 1.0,
        unavailable: str | None = None,
        release: threading.Event | None = None,
        honour_deadline: bool = True,
    ) -> None:
        super().__init__(bars, unavailable)
        self.honour_deadline = honour_deadline
        self.started: list[float | None] = []  # the deadline of each call, as it starts
        self.seconds = seconds
        self.release = release
        self._lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0

    def fetch(
        self,
        tickers: Sequence[str],
        start: date | None = None,
        end: date | None = None,
        deadline: float | None = None,
    ) -> FetchResult:
        with self._lock:
            self.started.append(deadline)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            wait = self.seconds
            if deadline is not None and self.honour_deadline:
                wait = max(0.0, min(wait, deadline - time.monotonic()))
            if self.release is not None:
                self.release.wait(wait)
            else:
                time.sleep(wait)
            if self.honour_deadline and deadline is not None and time.monotonic() >= deadline:
                raise ProviderUnavailable(self.name, "timed out at the deadline")
            return super().fetch(tickers, start, end, deadline)
        finally:
            with self._lock:
                self.in_flight -= 1
