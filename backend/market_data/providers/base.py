"""The one small interface every live price provider implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, Sequence

import pandas as pd


@dataclass
class FetchResult:
    """Bars in the canonical shape (`backend.market_data.bars.BAR_COLUMNS`) and, per ticker
    that produced none, the reason (unknown symbol, delisted, no rows in range...)."""

    bars: pd.DataFrame
    failures: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)


class PriceProvider(Protocol):
    name: str

    def fetch(
        self,
        tickers: Sequence[str],
        start: date | None = None,
        end: date | None = None,
        deadline: float | None = None,
    ) -> FetchResult:
        """Daily bars for `tickers` from `start` (inclusive; None = all history) to `end`
        (inclusive; None = latest). Raises `backend.errors.ProviderUnavailable` when the
        provider itself cannot be reached, or cannot answer before `deadline` (a
        `time.monotonic()` instant; retries included); a ticker it does not know goes in
        `failures`."""
        ...
