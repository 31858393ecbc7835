"""Real prices for the momentum tests: the shared S&P 500 file (2016-2021) and SPY, loaded once.

The data sit beside the repository (``../shared/data``, as CI clones it); tests that need them are
skipped with the reason when the files are absent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED_DATA = REPO_ROOT / ".." / "shared" / "data"
SP500_FILE = SHARED_DATA / "sp500_daily_2016_2021.csv.gz"
SPY_FILE = SHARED_DATA / "spy_adj_close_1993_2024.csv"

Panel = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]
PanelMaker = Callable[[Sequence[str]], Panel]


@pytest.fixture(scope="session")
def sp500_bars() -> pd.DataFrame:
    """The long-format real bars (date, ticker, adj_close, volume, split) of all 504 tickers."""
    if not SP500_FILE.is_file():
        pytest.skip(f"real price file not found: {SP500_FILE} (shared/ must sit beside the repo)")
    bars = pd.read_csv(
        SP500_FILE,
        usecols=["date", "ticker", "adj_close", "volume", "split"],
        parse_dates=["date"],
        dtype={"ticker": str, "adj_close": np.float64, "volume": np.float64, "split": np.float64},
    )
    return bars.sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)


@pytest.fixture(scope="session")
def spy_close(sp500_bars: pd.DataFrame) -> pd.Series:
    """SPY's real adjusted close, clipped to the dates of the S&P 500 file."""
    if not SPY_FILE.is_file():
        pytest.skip(f"real SPY file not found: {SPY_FILE} (shared/ must sit beside the repo)")
    spy = pd.read_csv(SPY_FILE, parse_dates=["date"]).set_index("date")["adj_close"]
    first, last = sp500_bars["date"].min(), sp500_bars["date"].max()
    return spy.loc[first:last].astype(np.float64)


@pytest.fixture(scope="session")
def make_panel(sp500_bars: pd.DataFrame, spy_close: pd.Series) -> PanelMaker:
    """``make_panel(tickers)`` -> (close, volume, split) dates x tickers, with SPY as a column."""

    def build(tickers: Sequence[str]) -> Panel:
        rows = sp500_bars[sp500_bars["ticker"].isin(list(tickers))]
        missing = sorted(set(tickers) - set(rows["ticker"]) - {"SPY"})
        assert not missing, f"tickers not in the real file: {missing}"
        dates = (
            pd.DatetimeIndex(rows["date"].unique())
            .union(pd.DatetimeIndex(spy_close.index))
            .sort_values()
        )
        wide = {
            field: rows.pivot(index="date", columns="ticker", values=field).reindex(dates)
            for field in ("adj_close", "volume", "split")
        }
        close, volume, split = wide["adj_close"], wide["volume"], wide["split"]
        close["SPY"] = spy_close.reindex(dates)
        volume["SPY"] = np.nan  # the SPY file has no volume
        split["SPY"] = np.where(close["SPY"].notna(), 1.0, np.nan)
        order = [t for t in tickers if t != "SPY"] + ["SPY"]
        close, volume, split = (f[order].rename_axis(columns=None) for f in (close, volume, split))
        return close, volume, split

    return build
