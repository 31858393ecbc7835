"""Test doubles for the provider interface (no network)."""

from __future__ import annotations

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

    def fetch(
        self, tickers: Sequence[str], start: date | None = None, end: date | None = None
    ) -> FetchResult:
        self.calls.append((tuple(tickers), start, end))
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
