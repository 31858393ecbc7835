"""Scores brought from one data version to the next by recomputing only what changed.

A score at date row ``t`` of ticker ``X`` reads ``X``'s own bars up to ``t`` and the closes of
``X``'s benchmark up to ``t`` (``docs/momentum-model.md``; ``backend/momentum/engine.py``:
nothing after a date influences its score). So when the bars of ``X`` change from date row
``r`` on, exactly these scores can change:

* ``X`` on rows ``≥ r``;
* every ticker benchmarked on ``X`` on rows ``≥ r`` (relative momentum);
* a ticker whose benchmark changed (a category edit moved it in or out of fixed income) on
  every row;

and on a date row appended after the last one, a ticker with no bar that day has no score
(``n_closes`` carried from the row before, ``left_out`` = no close). Everything else is copied.
The recomputed columns are scored by :func:`score_panel` on a sub-panel holding them and their
benchmarks: the engine's values for a column depend only on that column and its benchmark, so
they are the values a full rebuild gives (the fast path's closed-form RSI agrees with the
recursion to ~1e-15).

Only appended dates are handled: a changed bar on a date no ticker had before, earlier than the
last stored date, inserts a row and makes :func:`splice_panel` answer None (rebuild in full).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from backend.momentum.engine import (
    DEFAULT_BENCHMARK,
    FAST_PATH_MAX_ROWS,
    FLOAT_FIELDS,
    LO_NO_CLOSE,
    CompositeWeights,
    ScoreFrames,
    score_panel,
)

__all__ = ["PanelFrames", "splice_panel", "rescore_starts", "rescore"]

PANEL_FIELDS: Final = ("close", "raw_close", "volume", "split")
_BAR_COLUMN: Final = {
    "close": "adj_close",
    "raw_close": "close",
    "volume": "volume",
    "split": "split",
}


@dataclass(frozen=True)
class PanelFrames:
    """The four dates x tickers frames the engine and the book read (``close`` is adjusted)."""

    close: pd.DataFrame
    raw_close: pd.DataFrame
    volume: pd.DataFrame
    split: pd.DataFrame


def splice_panel(
    old: PanelFrames, bars: pd.DataFrame, first_dates: Mapping[str, dt.date]
) -> PanelFrames | None:
    """The panel after replacing each changed ticker's bars from its first changed date on.

    ``bars``: long rows (``date``, ``ticker``, ``close``, ``adj_close``, ``volume``, ``split``)
    holding every stored bar of each ticker of ``first_dates`` on or after its date. Cells of a
    changed ticker from that date on are cleared, then filled from ``bars``; new tickers become
    columns (kept sorted), new dates rows. None when a new date falls before the last date of
    ``old`` (it would insert a row: rebuild in full).
    """
    index = pd.DatetimeIndex(old.close.index)
    new_dates = pd.DatetimeIndex(bars["date"].unique()).difference(index)
    if len(index) and len(new_dates) and new_dates.min() < index[-1]:
        return None
    dates = index.append(new_dates.sort_values())
    tickers = pd.Index(sorted(set(old.close.columns) | set(bars["ticker"]) | set(first_dates)))
    rows = dates.get_indexer(pd.DatetimeIndex(bars["date"]))
    cols = tickers.get_indexer(pd.Index(bars["ticker"]))
    first_row = {
        t: int(dates.searchsorted(pd.Timestamp(d), side="left")) for t, d in first_dates.items()
    }
    out = {}
    keep = tickers.get_indexer(old.close.columns)
    for name in PANEL_FIELDS:
        frame: pd.DataFrame = getattr(old, name)
        values = _expanded(
            frame.to_numpy(dtype=np.float64, na_value=np.nan, copy=False),
            len(dates),
            keep,
            len(tickers),
            np.nan,
        )
        for t, r in first_row.items():
            values[r:, tickers.get_loc(t)] = np.nan
        values[rows, cols] = bars[_BAR_COLUMN[name]].to_numpy(dtype=np.float64)
        out[name] = pd.DataFrame(values, index=dates, columns=tickers)
    return PanelFrames(**out)


def rescore_starts(
    tickers: Sequence[str],
    dates: pd.DatetimeIndex,
    first_dates: Mapping[str, dt.date],
    old_benchmarks: Mapping[str, str],
    new_benchmarks: Mapping[str, str],
    old_tickers: Sequence[str],
) -> dict[str, int]:
    """Ticker -> the first date row whose scores may differ from the old ones (the module's
    rules): a changed ticker from its first changed row, a ticker benchmarked on it from that
    row too, a new ticker or one whose benchmark changed from row 0."""
    known = set(old_tickers)
    changed_row = {
        t: int(dates.searchsorted(pd.Timestamp(d), side="left")) for t, d in first_dates.items()
    }
    starts: dict[str, int] = {}

    def at(t: str, row: int) -> None:
        starts[t] = min(row, starts.get(t, row))

    for t in tickers:
        bench = new_benchmarks.get(t, DEFAULT_BENCHMARK)
        if t not in known or old_benchmarks.get(t, DEFAULT_BENCHMARK) != bench:
            at(t, 0)
        if t in changed_row:
            at(t, changed_row[t])
        if bench in changed_row and bench != t:
            at(t, changed_row[bench])
    return starts


def _expanded(
    a: np.ndarray, n_rows: int, keep: np.ndarray, n_cols: int, fill: float | int
) -> np.ndarray:
    """``a`` in a new column-major array of ``n_rows`` x ``n_cols``: its columns at ``keep``,
    ``fill`` elsewhere. One straight copy when the columns stay as they were (the usual case:
    fancy indexing would cost several times more)."""
    n_old = a.shape[0]
    out = np.empty((n_rows, n_cols), dtype=a.dtype, order="F")
    if a.shape[1] == n_cols:  # keep is 0..n-1: tickers are kept sorted and never dropped
        out[:n_old] = a
    else:
        out[:n_old] = fill
        out[:n_old, keep] = a
    out[n_old:] = fill
    return out


def rescore(
    old: ScoreFrames,
    panel: PanelFrames,
    benchmarks: Mapping[str, str],
    weights: CompositeWeights,
    starts: Mapping[str, int],
) -> ScoreFrames:
    """The frames of ``panel``: ``old``'s values where nothing changed, the engine's values on
    the rows ``≥ starts[t]`` of each ticker ``t`` named (see the module's rules).

    ``old`` must cover a prefix of ``panel``'s dates and a subset of its tickers. Tickers whose
    start is within the last ``FAST_PATH_MAX_ROWS`` rows are scored on those rows only (the
    engine's fast path); the others on every row of their columns.
    """
    dates = pd.DatetimeIndex(panel.close.index)
    tickers = [str(t) for t in panel.close.columns]
    n_rows, n_old = len(dates), len(old.dates)
    if not dates[:n_old].equals(old.dates):
        raise ValueError("the old frames' dates are not a prefix of the panel's")
    position = {t: j for j, t in enumerate(tickers)}
    keep = np.array([position[t] for t in old.tickers], dtype=np.int64)

    arrays = {
        name: _expanded(getattr(old, name), n_rows, keep, len(tickers), np.nan)
        for name in FLOAT_FIELDS
    }
    left_out = _expanded(old.left_out, n_rows, keep, len(tickers), LO_NO_CLOSE)
    n_closes = _expanded(old.n_closes, n_rows, keep, len(tickers), 0)
    if n_old and n_rows > n_old:  # counts up to a date carry over days without a close
        n_closes[n_old:] = n_closes[n_old - 1]

    tail = n_rows - FAST_PATH_MAX_ROWS
    groups = (
        {t: r for t, r in starts.items() if r >= tail and r < n_rows},
        {t: r for t, r in starts.items() if r < tail},
    )
    for fast, group in zip((True, False), groups):
        if not group:
            continue
        first = min(group.values())
        names = sorted(group)
        benches = {benchmarks.get(t, DEFAULT_BENCHMARK) for t in names}
        sub = names + sorted(b for b in benches if b in position and b not in group)
        part = score_panel(
            panel.close[sub],
            panel.volume[sub],
            panel.split[sub],
            {t: benchmarks.get(t, DEFAULT_BENCHMARK) for t in sub},
            weights=weights,
            rows=list(range(first, n_rows)) if fast else None,
        )
        offset = first if fast else 0
        for k, t in enumerate(names):
            j, r = position[t], group[t]
            src = slice(r - offset, n_rows - offset)
            for name in FLOAT_FIELDS:
                arrays[name][r:, j] = getattr(part, name)[src, k]
            left_out[r:, j] = part.left_out[src, k]
            n_closes[r:, j] = part.n_closes[src, k]
    return ScoreFrames(
        dates=dates,
        tickers=tickers,
        n_closes=n_closes,
        left_out=left_out,
        model_version=old.model_version,
        **arrays,
    )
