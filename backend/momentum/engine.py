"""The vectorised momentum engine: a whole panel (dates x tickers) scored in one pass.

``score_panel`` turns arrays of adjusted closes, as-traded volumes and split coefficients into
every component of the ``alphavelocity-v1`` model (``docs/momentum-model.md``) for every
ticker and every requested date, using the pure functions of :mod:`backend.momentum.model`.

How it stays exact and vectorised
---------------------------------
A ticker's own trading days define its windows (no forward fill). The closes are *compacted*
(:mod:`backend.momentum.panel`, shared with the research models):
row ``i`` of column ``j`` holds the ``i``-th close of ticker ``j`` (``NaN`` padding after its last
one), and ``order[i, j]`` maps it back to its date row. Every shift and rolling window on that
layout is exact per ticker and still one array operation for the whole universe; Wilder's RSI
seeds on row 14 for every column at once.

* Full path (``rows=None`` or more than ``FAST_PATH_MAX_ROWS`` rows): the series functions run
  once on the compacted arrays (RSI by the Wilder recursion, ``scipy.signal.lfilter``) and the value
  for date row ``t`` is read at position ``n_closes[t] − 1``.
* Fast path (a few rows, e.g. ``rows=[-1]``): for a ticker with no gap since its first close, its
  date rows *are* its trading days, so its right-aligned windows are plain slices of the date
  arrays; the same series functions run on the last 253 rows only (r(252) is the longest horizon)
  and RSI, which depends on the whole history, comes from its closed form (one dot product with
  geometric weights). Tickers with a gap take the compacted path. Both paths agree to ~1e-15.

Nothing after a date influences its score: every input to a value at position ``k`` sits at
positions ``≤ k``, and split adjustment divides by the cumulative split product up to each day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from backend.momentum.model import (
    ROC_PERIOD,
    SLOPE_LAG,
    VOLUME_WINDOW,
    acceleration,
    acceleration_score,
    composite_score,
    magnitude_score,
    period_return,
    price_score,
    rate_of_change,
    rating,
    relative_gap,
    relative_score,
    roc_score,
    rsi_from_averages,
    rsi_score,
    sma,
    sma_slope,
    split_adjusted_volume,
    technical_score,
    trend_score,
    volume_ratio,
    volume_score,
    weighted_return,
    wilder_averages,
    wilder_averages_last,
)
from backend.momentum.panel import (
    FloatArray,
    compaction,
    gather,
    lag,
    percentile_rank,
    valid_positions,
)
from backend.reference.benchmarks import EQUITY_BENCHMARK

__all__ = [
    "MODEL_VERSION",
    "MIN_CLOSES",
    "DEFAULT_BENCHMARK",
    "CompositeWeights",
    "LeftOutReason",
    "LEFT_OUT",
    "LEFT_OUT_REASONS",
    "left_out_names",
    "left_out_reasons",
    "ScoreFrames",
    "FLOAT_FIELDS",
    "score_panel",
    "percentile_rank",
    "rating",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

MODEL_VERSION: Final = "alphavelocity-v1"
MIN_CLOSES: Final = 64
DEFAULT_BENCHMARK: Final = EQUITY_BENCHMARK
BENCHMARK_MIN_CLOSES: Final = 22
MAX_LOOKBACK: Final = 253  # closes needed by the longest horizon, r(252)


@dataclass(frozen=True)
class CompositeWeights:
    """Weights of ``overall = price·P + technical·T + relative·R`` (non-negative, summing to 1)."""

    price: float = 0.50
    technical: float = 0.35
    relative: float = 0.15

    def __post_init__(self) -> None:
        values = (self.price, self.technical, self.relative)
        if any(not np.isfinite(w) or w < 0.0 for w in values):
            raise ValueError(f"composite weights must be finite and >= 0, got {values}")
        if abs(sum(values) - 1.0) > 1e-9:
            raise ValueError(f"composite weights must sum to 1, got {values} (sum {sum(values)})")
        if self.price + self.technical <= 0.0:
            raise ValueError("composite weights: price + technical must be > 0")

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.price, self.technical, self.relative)


class LeftOutReason(NamedTuple):
    name: str
    reason: str


# Bits of ScoreFrames.left_out. Names are stable (clients see them); two bits share the name
# "relative" because relative momentum is left out for two different reasons.
LO_R126: Final = 1
LO_R252: Final = 2
LO_SMA200: Final = 4
LO_VOLUME: Final = 8
LO_RELATIVE_SHORT: Final = 16
LO_RELATIVE_NO_PRICES: Final = 32
LO_HISTORY: Final = 64
LO_NO_CLOSE: Final = 128

LEFT_OUT: Final[Mapping[int, LeftOutReason]] = MappingProxyType(
    {
        LO_R126: LeftOutReason("r126", "r(126) needs 127 closes; its weight in WR was rescaled"),
        LO_R252: LeftOutReason("r252", "r(252) needs 253 closes; its weight in WR was rescaled"),
        LO_SMA200: LeftOutReason(
            "sma200", "SMA_200 needs 200 closes; trend D was rescaled to the points possible"
        ),
        LO_VOLUME: LeftOutReason(
            "volume",
            "volume is missing in the last 31 sessions or its 30-session mean is 0; "
            "the technical weights were rescaled",
        ),
        LO_RELATIVE_SHORT: LeftOutReason(
            "relative",
            "the benchmark has fewer than 22 closes up to this date; "
            "the composite weights were rescaled",
        ),
        LO_RELATIVE_NO_PRICES: LeftOutReason(
            "relative",
            "the benchmark has no prices up to this date; the composite weights were rescaled",
        ),
        LO_HISTORY: LeftOutReason(
            "history", f"fewer than {MIN_CLOSES} closes up to this date: no score"
        ),
        LO_NO_CLOSE: LeftOutReason("close", "no close on this date: no score"),
    }
)

# One reason per name (for "relative" the general one; left_out_reasons(mask) is precise).
LEFT_OUT_REASONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        **{item.name: item.reason for item in LEFT_OUT.values()},
        "relative": (
            "the benchmark has fewer than 22 closes up to this date, or no prices; "
            "the composite weights were rescaled"
        ),
    }
)


def left_out_names(mask: int) -> list[str]:
    """The stable names of what a ``left_out`` bitmask left out, in bit order, without repeats."""
    names: list[str] = []
    for bit, item in LEFT_OUT.items():
        if int(mask) & bit and item.name not in names:
            names.append(item.name)
    return names


def left_out_reasons(mask: int) -> dict[str, str]:
    """``{name: reason}`` for a ``left_out`` bitmask, with the precise reason of each bit."""
    out: dict[str, str] = {}
    for bit, item in LEFT_OUT.items():
        if int(mask) & bit and item.name not in out:
            out[item.name] = item.reason
    return out


FLOAT_FIELDS: Final = (
    "overall",
    "price",
    "technical",
    "relative",
    "trend",
    "magnitude",
    "acceleration",
    "weighted_return",
    "acc",
    "slope",
    "r21",
    "r63",
    "r126",
    "r252",
    "sma20",
    "sma50",
    "sma200",
    "sma20_lag10",
    "rsi",
    "s_rsi",
    "volume_ratio",
    "s_vol",
    "roc",
    "s_roc",
    "benchmark_r21",
    "relative_gap",
)

# What the series stage hands to the elementwise stage, per (date, ticker) pair.
_INDICATORS: Final = (
    "close",
    "r21",
    "r63",
    "r126",
    "r252",
    "sma20",
    "sma50",
    "sma200",
    "sma20_lag10",
    "roc",
    "volume_ratio",
    "avg_gain",
    "avg_loss",
)

# Composite-level values exist only for scored entries (a close that day, >= MIN_CLOSES closes).
_SCORED_ONLY: Final = (
    "overall",
    "price",
    "technical",
    "relative",
    "trend",
    "magnitude",
    "acceleration",
    "weighted_return",
)


@dataclass(frozen=True, eq=False)
class ScoreFrames:
    """Every component for ``dates`` x ``tickers`` (2-D float64 arrays, NaN where not defined).

    ``overall`` (and ``price``, ``technical``, ``relative``, ``trend``, ``magnitude``,
    ``acceleration``, ``weighted_return``) is NaN where the ticker has no close on that date or
    fewer than ``MIN_CLOSES`` closes up to it. Raw indicators (returns, SMAs, RSI, ...) are given
    wherever their own history allows on the ticker's trading days. ``n_closes`` counts the closes
    up to and including each date (0 where none); ``left_out`` is a bitmask over ``LEFT_OUT``.
    The arrays are column-major (Fortran order): one ticker's dates are contiguous.
    """

    dates: pd.DatetimeIndex
    tickers: list[str]
    overall: FloatArray
    price: FloatArray
    technical: FloatArray
    relative: FloatArray
    trend: FloatArray
    magnitude: FloatArray
    acceleration: FloatArray
    weighted_return: FloatArray
    acc: FloatArray
    slope: FloatArray
    r21: FloatArray
    r63: FloatArray
    r126: FloatArray
    r252: FloatArray
    sma20: FloatArray
    sma50: FloatArray
    sma200: FloatArray
    sma20_lag10: FloatArray
    rsi: FloatArray
    s_rsi: FloatArray
    volume_ratio: FloatArray
    s_vol: FloatArray
    roc: FloatArray
    s_roc: FloatArray
    benchmark_r21: FloatArray
    relative_gap: FloatArray
    n_closes: IntArray
    left_out: IntArray
    model_version: str = MODEL_VERSION

    def frame(self, name: str) -> pd.DataFrame:
        """One field as a DataFrame indexed by ``dates`` with ``tickers`` as columns."""
        if name not in FLOAT_FIELDS and name not in ("n_closes", "left_out"):
            raise KeyError(f"ScoreFrames has no field {name!r}")
        values: npt.NDArray[np.generic] = getattr(self, name)
        return pd.DataFrame(values, index=self.dates, columns=pd.Index(self.tickers))

    @property
    def complete(self) -> BoolArray:
        """True where nothing was left out (which implies a score exists)."""
        out: BoolArray = self.left_out == 0
        return out

    @property
    def scored(self) -> BoolArray:
        """True where an overall score exists."""
        out: BoolArray = np.isfinite(self.overall)
        return out


# --------------------------------------------------------------------------- inputs


def _as_panel_array(frame: pd.DataFrame, like: pd.DataFrame, name: str) -> FloatArray:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a DataFrame")
    if not (frame.index.equals(like.index) and frame.columns.equals(like.columns)):
        frame = frame.reindex(index=like.index, columns=like.columns)
    return np.asarray(frame.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def _validate_close(close: pd.DataFrame) -> None:
    if not isinstance(close, pd.DataFrame):
        raise TypeError("close must be a DataFrame (dates x tickers)")
    if not isinstance(close.index, pd.DatetimeIndex):
        raise ValueError("close must have a DatetimeIndex")
    if not close.index.is_monotonic_increasing or not close.index.is_unique:
        raise ValueError("close's dates must be sorted and unique")
    if not close.columns.is_unique:
        raise ValueError("close's tickers must be unique")


def _output_rows(rows: Sequence[int] | None, n_dates: int) -> IntArray:
    every = np.arange(n_dates, dtype=np.int64)
    if rows is None:
        return every
    picked = np.asarray(list(rows), dtype=np.int64).reshape(-1)
    if picked.size and (picked.min() < -n_dates or picked.max() >= n_dates):
        raise IndexError(f"rows {list(rows)} out of range for {n_dates} dates")
    return every[picked]


# --------------------------------------------------------------------------- indicators


def _series_indicators(
    close: FloatArray, volume: FloatArray, split: FloatArray, last_only: bool = False
) -> dict[str, FloatArray]:
    """The window-based indicators on compacted ``(time, series)`` arrays: every row, or with
    ``last_only`` just the last row, each computed from the shortest tail that it needs."""

    def tail(x: FloatArray, need: int) -> FloatArray:
        return x[-need:] if last_only else x

    s20 = sma(tail(close, 20 + SLOPE_LAG), 20)
    out = {
        "close": close,
        "r21": period_return(tail(close, 22), 21),
        "r63": period_return(tail(close, 64), 63),
        "r126": period_return(tail(close, 127), 126),
        "r252": period_return(tail(close, 253), 252),
        "sma20": s20,
        "sma50": sma(tail(close, 50), 50),
        "sma200": sma(tail(close, 200), 200),
        "sma20_lag10": lag(s20, SLOPE_LAG),
        "roc": rate_of_change(tail(close, ROC_PERIOD + 1), ROC_PERIOD),
        "volume_ratio": volume_ratio(
            split_adjusted_volume(tail(volume, VOLUME_WINDOW + 1), tail(split, VOLUME_WINDOW + 1))
        ),
    }
    if last_only:
        return {name: np.ascontiguousarray(a[-1]) for name, a in out.items()}
    return out


def _compacted_indicators(
    c: FloatArray, v: FloatArray, s: FloatArray, mask: BoolArray, pos: IntArray, col: IntArray
) -> dict[str, FloatArray]:
    """Indicators of the pairs (``pos[m]``-th close of column ``col[m]``) from the whole panel:
    each series function runs once on the compacted arrays; RSI by the Wilder recursion."""
    order, n_total = compaction(mask)
    valid = valid_positions(order, n_total)
    compact_close = gather(c, order, valid)
    full = _series_indicators(compact_close, gather(v, order, valid), gather(s, order, valid))
    full["avg_gain"], full["avg_loss"] = wilder_averages(compact_close)
    flat = pos + order.shape[0] * col  # column-major flat index of (pos, col)
    return {name: _take_fortran(a, flat, pos, col) for name, a in full.items()}


def _take_fortran(a: FloatArray, flat: IntArray, pos: IntArray, col: IntArray) -> FloatArray:
    """``a[pos, col]``, through a flat index when ``a`` is column-major (much faster)."""
    if a.flags.f_contiguous:
        return np.take(a.ravel(order="F"), flat)
    out: FloatArray = a[pos, col]
    return out


def _latest_indicators(
    c: FloatArray, v: FloatArray, s: FloatArray, mask: BoolArray, t: int, col: IntArray
) -> dict[str, FloatArray]:
    """Indicators on date row ``t`` of columns ``col`` that have a close on ``t`` and no gap
    since their first close: their date rows are their own trading days, so the right-aligned
    windows are plain slices of the date arrays (NaN before the first close), and RSI comes from
    the closed form on the last row."""
    lo = max(0, t - MAX_LOOKBACK + 1)
    vlo = max(0, t - VOLUME_WINDOW)
    traded = mask[vlo : t + 1]
    out = _series_indicators(
        c[lo : t + 1],
        np.where(traded, v[vlo : t + 1], np.nan),
        np.where(traded, s[vlo : t + 1], np.nan),
        last_only=True,
    )
    out["avg_gain"], out["avg_loss"] = wilder_averages_last(c[: t + 1])
    return {name: a[col] for name, a in out.items()}


def _fast_indicators(
    c: FloatArray,
    v: FloatArray,
    s: FloatArray,
    mask: BoolArray,
    out_rows: IntArray,
    n_at: IntArray,
    pair_row: IntArray,
    pair_col: IntArray,
    pos: IntArray,
) -> dict[str, FloatArray]:
    """Indicators of the pairs for a few output rows: slices and the closed-form RSI for gap-free
    histories (the usual case); the compacted path for the columns with a gap."""
    n_dates = c.shape[0]
    first = np.where(mask.any(axis=0), np.argmax(mask, axis=0), n_dates)
    gap_free = n_at[pair_row, pair_col] == out_rows[pair_row] - first[pair_col] + 1
    result = {name: np.full(pair_col.shape, np.nan) for name in _INDICATORS}

    def put(sel: IntArray, values: Mapping[str, FloatArray]) -> None:
        for name, a in values.items():
            result[name][sel] = a

    for q, t in enumerate(out_rows.tolist()):
        sel = np.flatnonzero((pair_row == q) & gap_free)
        if sel.size:
            put(sel, _latest_indicators(c, v, s, mask, t, pair_col[sel]))
    gappy = np.flatnonzero(~gap_free)
    if gappy.size:
        cols = np.unique(pair_col[gappy])
        local = np.searchsorted(cols, pair_col[gappy]).astype(np.int64)
        part = _compacted_indicators(
            c[:, cols], v[:, cols], s[:, cols], mask[:, cols], pos[gappy], local
        )
        put(gappy, part)
    return result


def _benchmark_returns(
    c: FloatArray,
    mask: BoolArray,
    n_at: IntArray,
    bench_col: IntArray,
    pair_row: IntArray,
    pair_col: IntArray,
) -> tuple[FloatArray, IntArray]:
    """``(r_B(21), left-out bits)`` per pair: the benchmark's 21-day return on its own closes,
    ending on its last close at or before the pair's date (needs 22 closes up to then)."""
    b = bench_col[pair_col]
    known = b >= 0
    count = np.where(known, n_at[pair_row, np.maximum(b, 0)], 0)
    ok = count >= BENCHMARK_MIN_CLOSES
    r21 = np.full(pair_col.shape, np.nan)
    if ok.any():
        used = np.unique(b[ok])
        order, n_total = compaction(mask[:, used])
        closes = gather(c[:, used], order, valid_positions(order, n_total))
        k, local = count[ok] - 1, np.searchsorted(used, b[ok])
        with np.errstate(divide="ignore", invalid="ignore"):
            r21[ok] = closes[k, local] / closes[k - 21, local] - 1.0
    bits = np.where(count == 0, LO_RELATIVE_NO_PRICES, np.where(ok, 0, LO_RELATIVE_SHORT))
    return r21, bits.astype(np.int64)


def _counts_at(mask: BoolArray, out_rows: IntArray, few: bool) -> IntArray:
    """Closes up to and including each output row, per ticker."""
    if few:
        counts = [mask[: r + 1].sum(axis=0, dtype=np.int64) for r in out_rows.tolist()]
        return np.stack(counts) if counts else np.zeros((0, mask.shape[1]), dtype=np.int64)
    return np.cumsum(mask, axis=0, dtype=np.int64)[out_rows]


# --------------------------------------------------------------------------- the engine

FAST_PATH_MAX_ROWS: Final = 4


def score_panel(
    close: pd.DataFrame,
    volume: pd.DataFrame,
    split: pd.DataFrame,
    benchmark: Mapping[str, str],
    weights: CompositeWeights = CompositeWeights(),
    rows: Sequence[int] | None = None,
) -> ScoreFrames:
    """Score every ticker of a panel on every date (or only on ``rows``) in one pass.

    ``close``: dates x tickers adjusted closes (sorted DatetimeIndex, NaN where no bar; a
    non-positive close counts as no bar). ``volume``: as-traded volumes, ``split``: split
    coefficients (4.0 on the day of a 4-for-1 split, 1.0 otherwise), both aligned with ``close``
    (re-indexed to it if not). ``benchmark``: ticker -> benchmark ticker (``"SPY"`` when absent);
    a benchmark that is not a column of ``close`` has no prices, so relative momentum is left out.
    ``rows``: date positions to compute and return (negative positions count from the end); up to
    ``FAST_PATH_MAX_ROWS`` rows take the fast path.
    """
    _validate_close(close)
    c = _as_panel_array(close, close, "close")
    v = _as_panel_array(volume, close, "volume")
    s = _as_panel_array(split, close, "split")
    n_dates, n_tickers = c.shape
    tickers = [str(t) for t in close.columns.tolist()]
    out_rows = _output_rows(rows, n_dates)
    n_out = out_rows.size

    with np.errstate(invalid="ignore"):
        not_positive = c <= 0.0
    if not_positive.any():
        c = np.where(not_positive, np.nan, c)
    mask = np.isfinite(c)

    fast = rows is not None and n_out <= FAST_PATH_MAX_ROWS
    n_at = _counts_at(mask, out_rows, few=fast)
    # (date, ticker) pairs with a close, ticker-major so that reads of the compacted (column-major)
    # arrays and writes of the column-major outputs run sequentially
    pair_col, pair_row = (a.astype(np.int64) for a in np.nonzero(mask[out_rows].T))
    pos = n_at[pair_row, pair_col] - 1
    if fast:
        ind = _fast_indicators(c, v, s, mask, out_rows, n_at, pair_row, pair_col, pos)
    else:
        ind = _compacted_indicators(c, v, s, mask, pos, pair_col)

    position = {t: j for j, t in enumerate(tickers)}
    bench_col = np.array(
        [position.get(benchmark.get(t, DEFAULT_BENCHMARK), -1) for t in tickers], dtype=np.int64
    )
    bench_r21, bench_bits = _benchmark_returns(c, mask, n_at, bench_col, pair_row, pair_col)

    values = _combine(ind, bench_r21, weights)
    scored = pos + 1 >= MIN_CLOSES
    for name in _SCORED_ONLY:
        values[name] = np.where(scored, values[name], np.nan)

    bits = bench_bits
    bits |= np.where(np.isnan(values["r126"]), LO_R126, 0)
    bits |= np.where(np.isnan(values["r252"]), LO_R252, 0)
    bits |= np.where(np.isnan(values["sma200"]), LO_SMA200, 0)
    bits |= np.where(np.isnan(values["volume_ratio"]), LO_VOLUME, 0)
    bits |= np.where(scored, 0, LO_HISTORY)

    flat = pair_col * n_out + pair_row  # column-major flat index of (row, ticker)
    block = np.full((len(FLOAT_FIELDS), n_tickers, n_out), np.nan)
    for i, name in enumerate(FLOAT_FIELDS):
        np.put(block[i], flat, values[name])
    left_out = np.full((n_tickers, n_out), LO_NO_CLOSE, dtype=np.int64)
    np.put(left_out, flat, bits)

    return ScoreFrames(
        dates=pd.DatetimeIndex(close.index[out_rows]),
        tickers=tickers,
        n_closes=n_at,
        left_out=left_out.T,
        **{name: block[i].T for i, name in enumerate(FLOAT_FIELDS)},
    )


def _combine(
    ind: Mapping[str, FloatArray], bench_r21: FloatArray, weights: CompositeWeights
) -> dict[str, FloatArray]:
    """Every component from the indicators of each (date, ticker) pair (elementwise)."""
    c = ind["close"]
    r21, r63, r126, r252 = ind["r21"], ind["r63"], ind["r126"], ind["r252"]
    trend = trend_score(c, ind["sma20"], ind["sma50"], ind["sma200"])
    wr = weighted_return(r21, r63, r126, r252)
    magnitude = magnitude_score(wr)
    acc = acceleration(r21, r63)
    slope = sma_slope(ind["sma20"], ind["sma20_lag10"])
    accel = acceleration_score(acc, slope)
    price = price_score(trend, magnitude, accel)
    rsi = rsi_from_averages(ind["avg_gain"], ind["avg_loss"])
    s_rsi = rsi_score(rsi)
    s_vol = volume_score(ind["volume_ratio"])
    s_roc = roc_score(ind["roc"])
    technical = technical_score(s_rsi, s_vol, s_roc)
    gap = relative_gap(r21, bench_r21)
    relative = relative_score(gap)
    overall = composite_score(price, technical, relative, weights.as_tuple())
    return {
        "overall": overall,
        "price": price,
        "technical": technical,
        "relative": relative,
        "trend": trend,
        "magnitude": magnitude,
        "acceleration": accel,
        "weighted_return": wr,
        "acc": acc,
        "slope": slope,
        "r21": r21,
        "r63": r63,
        "r126": r126,
        "r252": r252,
        "sma20": ind["sma20"],
        "sma50": ind["sma50"],
        "sma200": ind["sma200"],
        "sma20_lag10": ind["sma20_lag10"],
        "rsi": rsi,
        "s_rsi": s_rsi,
        "volume_ratio": ind["volume_ratio"],
        "s_vol": s_vol,
        "roc": ind["roc"],
        "s_roc": s_roc,
        "benchmark_r21": bench_r21,
        "relative_gap": gap,
    }
