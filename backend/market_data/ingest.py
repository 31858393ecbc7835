"""Getting prices into the store: price files, the shipped sample, and provider refreshes."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from backend.errors import ProviderUnavailable
from backend.market_data.providers.base import PriceProvider
from backend.market_data.providers.csv_file import read_price_file
from backend.market_data.sample import (
    SAMPLE_PRICES,
    SAMPLE_SOURCE,
    read_sample_securities,
)
from backend.market_data.store import PriceStore, UpsertResult

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def import_price_file(
    store: PriceStore,
    path: Path,
    ticker: str | None = None,
    read_progress: Progress | None = None,
    write_progress: Progress | None = None,
) -> UpsertResult:
    """Validate the whole file, then write it in one transaction (a bad row imports nothing)."""
    bars = read_price_file(path, ticker=ticker, progress=read_progress)
    return store.upsert_bars(bars, source=f"csv:{path.name}", progress=write_progress)


def load_sample(store: PriceStore, progress: Progress | None = None) -> UpsertResult:
    """Load the shipped offline sample (real prices; see market_data/sample/PROVENANCE.md)."""
    bars = read_price_file(SAMPLE_PRICES)
    securities = read_sample_securities()
    # Only constituents with prices: the source list names BF.B, which has none.
    securities = securities[securities["ticker"].isin(set(bars["ticker"]))]
    store.upsert_securities(
        {
            "ticker": row.ticker,
            "name": row.name,
            "sector": row.sector,
        }
        for row in securities.itertuples(index=False)
    )
    result = store.upsert_bars(bars, source=SAMPLE_SOURCE, progress=progress)
    log.info("loaded the offline sample: %d bars for %d tickers", result.rows, result.tickers)
    return result


@dataclass
class RefreshSummary:
    updated: dict[str, int] = field(default_factory=dict)  # ticker -> bars written
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # ticker -> reason

    @property
    def outcome(self) -> str:
        return (
            f"updated {len(self.updated)}, unchanged {len(self.unchanged)}, "
            f"failed {len(self.failed)}"
        )


def refresh_prices(
    store: PriceStore,
    provider: PriceProvider,
    tickers: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
    today: dt.date | None = None,
) -> RefreshSummary:
    """Pull bars since each ticker's last stored bar (re-reading that day, which a provider
    may have revised) and upsert them; one ticker's failure does not stop the others.

    When those new bars carry a corporate action dated after the last stored bar (a split
    other than 1, or a dividend above 0), the provider has re-based the adjusted closes of the
    ticker's whole history, so the stored ones no longer join the new ones: the ticker's full
    history is fetched again (start None) and upserted instead, so that `adj_close` stays one
    consistent series (rows the provider no longer has are left as stored). If that second
    fetch fails, nothing is written for the ticker and it counts as failed, so the next refresh
    sees the action again. Each ticker is counted once: updated (with the bars written, i.e.
    new or changed), unchanged or failed.
    """
    last = store.last_bar_dates(tickers)
    wanted = list(tickers) if tickers is not None else sorted(last)
    summary = RefreshSummary()
    unavailable: str | None = None
    for ticker in wanted:
        if unavailable is not None:
            # The provider itself is down: do not wait out its time-out once per ticker.
            summary.failed[ticker] = f"not attempted: {unavailable}"
            continue
        start = last.get(ticker)
        try:
            result = provider.fetch([ticker], start=start, end=today)
            if (
                start is not None
                and ticker not in result.failures
                and _corporate_action_after(result.bars, start)
            ):
                log.info(
                    "%s: a split or dividend after %s re-bases its adjusted closes; "
                    "fetching its full history",
                    ticker,
                    start,
                )
                result = provider.fetch([ticker], start=None, end=today)
        except ProviderUnavailable as exc:
            unavailable = f"provider {exc.provider!r} unavailable: {exc.reason}"
            summary.failed[ticker] = unavailable
        else:
            if ticker in result.failures or result.bars.empty:
                summary.failed[ticker] = result.failures.get(ticker, "no rows returned")
            else:
                if ticker in result.names:
                    store.upsert_securities([{"ticker": ticker, "name": result.names[ticker]}])
                written = store.upsert_bars(result.bars, source=provider.name).written
                if written:
                    summary.updated[ticker] = written
                else:
                    summary.unchanged.append(ticker)
        if progress is not None:
            progress(ticker)
    store.record_refresh(summary.outcome)
    return summary


def _corporate_action_after(bars: pd.DataFrame, after: dt.date) -> bool:
    """Whether `bars` hold a split (coefficient other than 1) or a dividend (above 0) dated
    strictly after `after`."""
    if bars.empty:
        return False
    later = bars[bars["date"] > after]
    split = later["split"].fillna(1.0)
    dividend = later["dividend"].fillna(0.0)
    return bool(((split != 1.0) | (dividend > 0.0)).any())
