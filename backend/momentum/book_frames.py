"""What a score book keeps of the engine's output: the scores requests read, compactly.

The engine (:func:`backend.momentum.engine.score_panel`) gives 26 float64 fields per date and
ticker; score, top, batch and history answers read four of them (overall, price, technical,
relative) and the closes counted and left-out bits. A book keeps those (``n_closes`` as int32,
``left_out`` as int16: its bits stop at 128), about 6x less memory than every field; the
breakdown's intermediates (returns, SMAs, RSI, ...) are recomputed for the one security asked
(:func:`breakdown_frames`). Scores stay float64: they are the exact values the engine computes.

The full build scores the panel in chunks of `CHUNK_COLUMNS` columns, each with the benchmarks
its tickers need, so the engine's intermediate arrays are never held for the whole universe at
once; the values are the same (a column's values depend only on it and its benchmark).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from backend.momentum.engine import (
    DEFAULT_BENCHMARK,
    CompositeWeights,
    ScoreFrames,
    score_panel,
)
from backend.momentum.panel import FloatArray

__all__ = ["BOOK_FIELDS", "BookFrames", "with_benchmarks", "score_book_frames", "breakdown_frames"]

# The float fields a book keeps; with n_closes and left_out, all that requests read.
BOOK_FIELDS: Final = ("overall", "price", "technical", "relative")
COUNT_DTYPE: Final = np.int32
MASK_DTYPE: Final = np.int16
CHUNK_COLUMNS: Final = 64  # tickers scored at once by the full build (bounds its memory)


@dataclass(frozen=True, eq=False)
class BookFrames:
    """The scores of ``dates`` x ``tickers`` a book serves (column-major arrays; NaN where no
    score), as :class:`ScoreFrames` defines them."""

    dates: pd.DatetimeIndex
    tickers: list[str]
    overall: FloatArray
    price: FloatArray
    technical: FloatArray
    relative: FloatArray
    n_closes: npt.NDArray[np.int32]
    left_out: npt.NDArray[np.int16]

    @classmethod
    def of(cls, frames: ScoreFrames) -> BookFrames:
        """The book's part of an engine output."""
        return cls(
            dates=frames.dates,
            tickers=list(frames.tickers),
            n_closes=np.asfortranarray(frames.n_closes, dtype=COUNT_DTYPE),
            left_out=np.asfortranarray(frames.left_out, dtype=MASK_DTYPE),
            **{name: np.asfortranarray(getattr(frames, name)) for name in BOOK_FIELDS},
        )


def with_benchmarks(
    names: list[str], benchmark: Mapping[str, str], columns: Mapping[str, int]
) -> list[str]:
    """`names` followed by the benchmarks they are scored against that are columns of the
    panel and not among them (sorted): a sub-panel whose scores of `names` are the whole
    panel's (a column's values depend only on it and its benchmark)."""
    own = set(names)
    benches = {benchmark.get(t, DEFAULT_BENCHMARK) for t in names}
    return names + sorted(b for b in benches if b in columns and b not in own)


def score_book_frames(
    close: pd.DataFrame,
    volume: pd.DataFrame,
    split: pd.DataFrame,
    benchmark: Mapping[str, str],
    weights: CompositeWeights = CompositeWeights(),
    chunk: int = CHUNK_COLUMNS,
) -> BookFrames:
    """``BookFrames.of(score_panel(close, volume, split, benchmark, weights))``, computed
    ``chunk`` columns at a time (each chunk scored with its tickers' benchmarks beside it)."""
    tickers = [str(t) for t in close.columns]
    n_rows, n_cols = close.shape
    if n_cols <= chunk:
        return BookFrames.of(score_panel(close, volume, split, benchmark, weights))
    position = {t: j for j, t in enumerate(tickers)}
    out: dict[str, np.ndarray] = {
        name: np.empty((n_rows, n_cols), order="F") for name in BOOK_FIELDS
    }
    n_closes = np.empty((n_rows, n_cols), dtype=COUNT_DTYPE, order="F")
    left_out = np.empty((n_rows, n_cols), dtype=MASK_DTYPE, order="F")
    for start in range(0, n_cols, chunk):
        names = tickers[start : start + chunk]
        sub = with_benchmarks(names, benchmark, position)
        part = score_panel(
            close[sub],
            volume[sub],
            split[sub],
            {t: benchmark.get(t, DEFAULT_BENCHMARK) for t in sub},
            weights,
        )
        k = len(names)
        for name in BOOK_FIELDS:
            out[name][:, start : start + k] = getattr(part, name)[:, :k]
        n_closes[:, start : start + k] = part.n_closes[:, :k]
        left_out[:, start : start + k] = part.left_out[:, :k]
    return BookFrames(
        dates=pd.DatetimeIndex(close.index),
        tickers=tickers,
        n_closes=n_closes,
        left_out=left_out,
        **out,
    )


def breakdown_frames(
    close: pd.DataFrame,
    volume: pd.DataFrame,
    split: pd.DataFrame,
    ticker: str,
    benchmark: str,
    row: int,
    weights: CompositeWeights,
) -> ScoreFrames:
    """Every field of the engine for ``ticker`` on date row ``row`` alone: the ticker and its
    benchmark (when stored) scored on that row (the engine's fast path: its values agree with
    the full pass to ~1e-15)."""
    sub = [ticker] + ([benchmark] if benchmark in close.columns and benchmark != ticker else [])
    return score_panel(
        close[sub], volume[sub], split[sub], {ticker: benchmark}, weights, rows=[row]
    )
