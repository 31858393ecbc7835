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

from backend.momentum.book_frames import BOOK_FIELDS, BookFrames, with_benchmarks
from backend.momentum.engine import (
    DEFAULT_BENCHMARK,
    FAST_PATH_MAX_ROWS,
    LO_NO_CLOSE,
    CompositeWeights,
    score_panel,
)
from backend.reference.panel import PANEL_COLUMNS

__all__ = ["Growable", "PanelFrames", "splice_panel", "rescore_starts", "rescore"]

PANEL_FIELDS: Final = tuple(PANEL_COLUMNS)


# Rows allocated beyond the last date: the days appended after it need no copy of the store.
SPARE_ROWS: Final = 64


@dataclass
class Growable:
    """Column-major arrays with spare rows beyond those in use. Books share them, each reading
    only its own first rows; the successor of the newest book may append days into the spare
    rows without changing anything an earlier book reads (a book never reads past its rows).
    Any other change copies into a new Growable."""

    arrays: dict[str, np.ndarray]
    rows: int  # rows the newest book sharing these arrays reads

    def can_append(self, rows_now: int, rows_after: int, cols: int) -> bool:
        first = next(iter(self.arrays.values()))
        return self.rows == rows_now and first.shape[0] >= rows_after and first.shape[1] == cols

    def view(self, name: str, rows: int) -> np.ndarray:
        return self.arrays[name][:rows]


def _allocate(
    olds: Mapping[str, np.ndarray], n_rows: int, keep: np.ndarray, n_cols: int
) -> Growable:
    """New arrays of ``n_rows`` (+ ``SPARE_ROWS``) x ``n_cols`` holding each old array in the
    columns ``keep`` of its first rows (one straight copy when the columns did not change:
    tickers are kept sorted and never dropped, so then ``keep`` is 0..n-1)."""
    arrays = {}
    for name, a in olds.items():
        out = np.empty((n_rows + SPARE_ROWS, n_cols), dtype=a.dtype, order="F")
        if a.shape[1] == n_cols:
            out[: a.shape[0]] = a
        else:
            out[: a.shape[0]] = _FILL[name]
            out[: a.shape[0], keep] = a
        arrays[name] = out
    return Growable(arrays, 0)


_FILL: Final[dict[str, float]] = {
    **{name: np.nan for name in BOOK_FIELDS},
    **{name: np.nan for name in ("close", "raw_close", "volume", "split")},
    "left_out": float(LO_NO_CLOSE),
    "n_closes": 0.0,
}


@dataclass(frozen=True)
class PanelFrames:
    """The four dates x tickers frames the engine and the book read (``close`` is adjusted)."""

    close: pd.DataFrame
    raw_close: pd.DataFrame
    volume: pd.DataFrame
    split: pd.DataFrame


def splice_panel(
    old: PanelFrames,
    bars: pd.DataFrame,
    first_dates: Mapping[str, dt.date],
    space: Growable | None = None,
) -> tuple[PanelFrames, Growable] | None:
    """The panel after replacing each changed ticker's bars from its first changed date on,
    and the arrays holding it.

    ``bars``: long rows (``date``, ``ticker``, ``close``, ``adj_close``, ``volume``, ``split``)
    holding every stored bar of each ticker of ``first_dates`` on or after its date. Cells of a
    changed ticker from that date on are cleared, then filled from ``bars``; new tickers become
    columns (kept sorted), new dates rows. Days appended after the last one go into ``space``'s
    spare rows when it holds ``old`` (see ``Growable``); anything else is written to a copy.
    None when a new date falls before the last date of ``old`` (it would insert a row:
    rebuild in full).
    """
    index = pd.DatetimeIndex(old.close.index)
    n_old = len(index)
    new_dates = pd.DatetimeIndex(bars["date"].unique()).difference(index)
    if n_old and len(new_dates) and new_dates.min() < index[-1]:
        return None
    dates = index.append(new_dates.sort_values())
    tickers = pd.Index(sorted(set(old.close.columns) | set(bars["ticker"]) | set(first_dates)))
    rows = dates.get_indexer(pd.DatetimeIndex(bars["date"]))
    cols = tickers.get_indexer(pd.Index(bars["ticker"]))
    first_row = {
        t: int(dates.searchsorted(pd.Timestamp(d), side="left")) for t, d in first_dates.items()
    }
    n_rows = len(dates)
    appends = all(r >= n_old for r in first_row.values())
    if space is None or not appends or not space.can_append(n_old, n_rows, len(tickers)):
        keep = tickers.get_indexer(old.close.columns)
        olds = {
            name: getattr(old, name).to_numpy(dtype=np.float64, na_value=np.nan, copy=False)
            for name in PANEL_FIELDS
        }
        space = _allocate(olds, n_rows, keep, len(tickers))
    out = {}
    for name in PANEL_FIELDS:
        values = space.view(name, n_rows)
        values[n_old:] = np.nan
        for t, r in first_row.items():
            values[r:, tickers.get_loc(t)] = np.nan
        values[rows, cols] = bars[PANEL_COLUMNS[name]].to_numpy(dtype=np.float64)
        out[name] = pd.DataFrame(values, index=dates, columns=tickers, copy=False)
    space.rows = n_rows
    return PanelFrames(**out), space


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


def rescore(
    old: BookFrames,
    panel: PanelFrames,
    benchmarks: Mapping[str, str],
    weights: CompositeWeights,
    starts: Mapping[str, int],
    space: Growable | None = None,
) -> tuple[BookFrames, Growable]:
    """The frames of ``panel``: ``old``'s values where nothing changed, the engine's values on
    the rows ``≥ starts[t]`` of each ticker ``t`` named (see the module's rules); and the
    arrays holding them (``space``'s spare rows when only appended rows are computed and
    ``space`` holds ``old``, else a copy).

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
    appends = all(r >= n_old for r in starts.values())
    if space is None or not appends or not space.can_append(n_old, n_rows, len(tickers)):
        keep = np.array([position[t] for t in old.tickers], dtype=np.int64)
        fields = (*BOOK_FIELDS, "left_out", "n_closes")
        space = _allocate({n: getattr(old, n) for n in fields}, n_rows, keep, len(tickers))
    arrays = {name: space.view(name, n_rows) for name in BOOK_FIELDS}
    left_out, n_closes = space.view("left_out", n_rows), space.view("n_closes", n_rows)
    for name in BOOK_FIELDS:
        arrays[name][n_old:] = np.nan
    left_out[n_old:] = LO_NO_CLOSE
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
        sub = with_benchmarks(names, benchmarks, position)
        every = sub == tickers  # the whole panel: no column selection (a copy of everything)
        part = score_panel(
            panel.close if every else panel.close[sub],
            panel.volume if every else panel.volume[sub],
            panel.split if every else panel.split[sub],
            {t: benchmarks.get(t, DEFAULT_BENCHMARK) for t in sub},
            weights=weights,
            rows=list(range(first, n_rows)) if fast else None,
        )
        offset = first if fast else 0
        # One assignment per field for the tickers that start on the same row.
        by_start: dict[int, list[int]] = {}
        for k, t in enumerate(names):
            by_start.setdefault(group[t], []).append(k)
        for r, ks in by_start.items():
            src = np.asarray(ks, dtype=np.int64)
            dst = np.asarray([position[names[k]] for k in ks], dtype=np.int64)
            lo = r - offset
            for name in BOOK_FIELDS:
                arrays[name][r:, dst] = getattr(part, name)[lo:, src]
            left_out[r:, dst] = part.left_out[lo:, src]
            n_closes[r:, dst] = part.n_closes[lo:, src]
    space.rows = n_rows
    frames = BookFrames(
        dates=dates,
        tickers=tickers,
        n_closes=n_closes,
        left_out=left_out,
        **arrays,
    )
    return frames, space
