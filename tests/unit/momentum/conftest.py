"""Real prices for the momentum tests, loaded once: the slice of the shared S&P 500 file
(2016-2021) and SPY shipped in ``tests/fixtures/real_prices/`` (see ``tests.support.real_prices``),
and, for the whole-universe checks only, the full shared file in ``../shared/data`` (skipped with
the reason when it is absent).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support.real_prices import NEEDS_SHARED, SHARED_PRICES, SLICE_PRICES, SLICE_SPY

Panel = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]
PanelMaker = Callable[[Sequence[str]], Panel]


def read_bars(path: Path) -> pd.DataFrame:
    """The long-format real bars (date, ticker, adj_close, volume, split) of a price file."""
    bars = pd.read_csv(
        path,
        usecols=["date", "ticker", "adj_close", "volume", "split"],
        parse_dates=["date"],
        dtype={"ticker": str, "adj_close": np.float64, "volume": np.float64, "split": np.float64},
    )
    return bars.sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)


def panel_maker(bars: pd.DataFrame, spy: pd.Series) -> PanelMaker:
    """``make(tickers)`` -> (close, volume, split) dates x tickers, with SPY as a column."""

    def build(tickers: Sequence[str]) -> Panel:
        rows = bars[bars["ticker"].isin(list(tickers))]
        missing = sorted(set(tickers) - set(rows["ticker"]) - {"SPY"})
        assert not missing, f"tickers not in the real file: {missing}"
        dates = (
            pd.DatetimeIndex(rows["date"].unique()).union(pd.DatetimeIndex(spy.index)).sort_values()
        )
        wide = {
            field: rows.pivot(index="date", columns="ticker", values=field).reindex(dates)
            for field in ("adj_close", "volume", "split")
        }
        close, volume, split = wide["adj_close"], wide["volume"], wide["split"]
        close["SPY"] = spy.reindex(dates)
        volume["SPY"] = np.nan  # the SPY file has no volume
        split["SPY"] = np.where(close["SPY"].notna(), 1.0, np.nan)
        order = [t for t in tickers if t != "SPY"] + ["SPY"]
        close, volume, split = (f[order].rename_axis(columns=None) for f in (close, volume, split))
        return close, volume, split

    return build


@pytest.fixture(scope="session")
def sp500_bars() -> pd.DataFrame:
    """The shipped slice's bars: the tickers the tests name, 2016-01-04 .. 2021-04-21."""
    return read_bars(SLICE_PRICES)


@pytest.fixture(scope="session")
def spy_close() -> pd.Series:
    """SPY's real adjusted close over the S&P 500 file's dates (2016-01-04 .. 2021-04-21)."""
    spy = pd.read_csv(SLICE_SPY, parse_dates=["date"]).set_index("date")["adj_close"]
    return spy.astype(np.float64)


@pytest.fixture(scope="session")
def make_panel(sp500_bars: pd.DataFrame, spy_close: pd.Series) -> PanelMaker:
    """``make_panel(tickers)`` over the shipped slice."""
    return panel_maker(sp500_bars, spy_close)


@pytest.fixture(scope="session")
def universe_bars() -> pd.DataFrame:
    """The full shared file's bars (all 504 tickers), for the whole-universe checks only."""
    if not SHARED_PRICES.is_file():
        pytest.skip(f"{NEEDS_SHARED}: {SHARED_PRICES} not found")
    return read_bars(SHARED_PRICES)
