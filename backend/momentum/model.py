"""The AlphaVelocity momentum model (``alphavelocity-v1``) as small pure numeric functions.

Each function implements one formula of ``docs/momentum-model.md`` and states it in its
docstring. No I/O, no state, no rounding.

Conventions
-----------
* Series functions take 2-D float64 arrays shaped ``(time, series)`` (1-D arrays work too): axis 0
  is one security's **own** trading days, oldest first, so ``x[t - n]`` is the close ``n`` rows
  before ``x[t]``. Callers compact each security's closes (no forward fill); days without a close
  are simply not rows. ``NaN`` means "no value": padding before a security's first or after its
  last close, or a missing volume.
* A value that needs an unavailable input is ``NaN`` (never 0, never a default).
* Elementwise functions accept arrays of any shape and broadcast.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

# The model's percentile rank is the panel operation (re-exported with the model's formulas).
from backend.momentum.panel import FloatArray, as_float, lag
from backend.momentum.panel import percentile_rank as percentile_rank  # noqa: F401

# Trend points and weights of the model (the composite weights are settings, see the engine).
TREND_POINTS: Final = (7.0, 6.0, 7.0)  # C > SMA_20, C > SMA_50, C > SMA_200
RETURN_WEIGHTS: Final = (0.4, 0.3, 0.2, 0.1)  # r(21), r(63), r(126), r(252)
TECHNICAL_WEIGHTS: Final = (0.4, 0.3, 0.3)  # S_rsi, S_vol, S_roc
TIE_TOLERANCE: Final = 1e-14  # relative; ~45 ulps, above the few-ulp rounding of a mean
RSI_PERIOD: Final = 14
VOLUME_WINDOW: Final = 30
ROC_PERIOD: Final = 10
_COLUMN_BLOCK: Final = 64  # columns per block in wilder_averages_last (fits in cache)
SLOPE_LAG: Final = 10
RATINGS: Final = ((80.0, "Strong Buy"), (65.0, "Buy"), (50.0, "Hold"), (35.0, "Weak Hold"))
LOWEST_RATING: Final = "Sell"


def period_return(close: npt.ArrayLike, n: int) -> FloatArray:
    """The n-day return ``r(n) = C_t / C_{t-n} - 1`` (needs n + 1 closes)."""
    c = as_float(close)
    with np.errstate(divide="ignore", invalid="ignore"):
        return c / lag(c, n) - 1.0


def rolling_mean(x: npt.ArrayLike, window: int) -> FloatArray:
    """``mean(x[t−window+1] … x[t])`` along axis 0; ``NaN`` unless all ``window`` values exist.

    Each window is summed directly (``sliding_window_view`` over a column-major copy, so numpy
    sums each contiguous window pairwise), not as a difference of running sums: the rounding
    error stays within a few ulps of the mean whatever the history length.
    """
    a = np.asfortranarray(as_float(x))
    if window < 1:
        raise ValueError("rolling_mean needs window >= 1")
    out = np.full_like(a, np.nan)
    if window <= a.shape[0]:
        out[window - 1 :] = sliding_window_view(a, window, axis=0).sum(axis=-1) / window
    return out


def sma(close: npt.ArrayLike, k: int) -> FloatArray:
    """``SMA_k(t)``: the mean of the last ``k`` closes ending at ``t`` (needs k closes)."""
    return rolling_mean(close, k)


def trend_score(
    close: npt.ArrayLike, sma20: npt.ArrayLike, sma50: npt.ArrayLike, sma200: npt.ArrayLike
) -> FloatArray:
    """Trend ``D`` (0-20): ``7·[C > SMA_20] + 6·[C > SMA_50] + 7·[C > SMA_200]``.

    When ``SMA_200`` is unavailable (fewer than 200 closes) its 7 points are left out and the points
    earned are rescaled to the points possible: ``D = 20 · earned / possible`` (possible = 13).
    ``NaN`` when the close, ``SMA_20`` or ``SMA_50`` is missing.

    Ties: ``C`` counts as above an SMA only when ``C − SMA > TIE_TOLERANCE·|C|`` (1e-14). Prices
    are decimals and a mean of them can equal today's close exactly (real data: DISCK on
    2016-11-08, 20 closes in cents averaging to 25.06, the close); in binary floating point that
    mean carries a few ulps of rounding either way, which must not earn the points. Genuine gaps
    in the real data go down to ~2e-13 relative (NWSA 2020-04-15) and are kept.
    """
    c, s20, s50, s200 = (as_float(v) for v in (close, sma20, sma50, sma200))
    p20, p50, p200 = TREND_POINTS
    margin = TIE_TOLERANCE * np.abs(c)
    has200 = np.isfinite(s200)
    earned = (
        p20 * (c - s20 > margin)
        + p50 * (c - s50 > margin)
        + np.where(has200, p200 * (c - s200 > margin), 0.0)
    )
    possible = np.where(has200, p20 + p50 + p200, p20 + p50)
    known = np.isfinite(c) & np.isfinite(s20) & np.isfinite(s50)
    out: FloatArray = np.where(known, 20.0 * earned / possible, np.nan)
    return out


def rescaled_weighted_sum(
    required: Sequence[tuple[float, npt.ArrayLike]],
    optional: Sequence[tuple[float, npt.ArrayLike]] = (),
) -> FloatArray:
    """``Σ w_i·x_i`` over the available terms, weights rescaled to sum to 1 when any is left out.

    Every ``required`` term must be present (else ``NaN``); an ``optional`` term that is ``NaN`` is
    left out and the result becomes ``Σ_avail w_i·x_i / Σ_avail w_i``. With nothing left out it is
    the plain ``Σ w_i·x_i`` of the formula (the weights already sum to 1).
    """
    total: FloatArray | None = None
    weight: FloatArray | float = 0.0
    complete: npt.NDArray[np.bool_] | bool = True
    for w, x in required:
        term = w * as_float(x)
        total = term if total is None else total + term
        weight = weight + w
    if total is None:
        raise ValueError("rescaled_weighted_sum needs at least one required term")
    for w, x in optional:
        a = as_float(x)
        present = np.isfinite(a)
        total = total + np.where(present, w * a, 0.0)
        weight = weight + np.where(present, w, 0.0)
        complete = complete & present
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.where(complete, total, total / weight)
    return out


def weighted_return(
    r21: npt.ArrayLike, r63: npt.ArrayLike, r126: npt.ArrayLike, r252: npt.ArrayLike
) -> FloatArray:
    """``WR = 0.4·r(21) + 0.3·r(63) + 0.2·r(126) + 0.1·r(252)``.

    ``r(126)`` and ``r(252)`` are left out when the history is too short, and the remaining weights
    rescaled to sum to 1 (e.g. ``(0.4·r21 + 0.3·r63) / 0.7``). ``NaN`` without r(21) and r(63).
    """
    w21, w63, w126, w252 = RETURN_WEIGHTS
    return rescaled_weighted_sum([(w21, r21), (w63, r63)], [(w126, r126), (w252, r252)])


def magnitude_score(wr: npt.ArrayLike) -> FloatArray:
    """Magnitude ``M = clamp(20 + 80·WR, 0, 40)``."""
    return np.clip(20.0 + 80.0 * as_float(wr), 0.0, 40.0)


def acceleration(r21: npt.ArrayLike, r63: npt.ArrayLike) -> FloatArray:
    """``acc = (1 + r(21))^12 − (1 + r(63))^4`` (annualised 1-month against annualised 3-month)."""
    return (1.0 + as_float(r21)) ** 12 - (1.0 + as_float(r63)) ** 4


def sma_slope(sma20: npt.ArrayLike, sma20_lag10: npt.ArrayLike) -> FloatArray:
    """``slope = (SMA_20(t) / SMA_20(t−10) − 1) · 25.2``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (as_float(sma20) / as_float(sma20_lag10) - 1.0) * 25.2


def acceleration_score(acc: npt.ArrayLike, slope: npt.ArrayLike) -> FloatArray:
    """Acceleration ``A = clamp(20 + 30·(0.7·acc + 0.3·slope), 0, 40)``."""
    return np.clip(20.0 + 30.0 * (0.7 * as_float(acc) + 0.3 * as_float(slope)), 0.0, 40.0)


def price_score(trend: npt.ArrayLike, magnitude: npt.ArrayLike, accel: npt.ArrayLike) -> FloatArray:
    """Price momentum ``P = D + M + A`` (0-100)."""
    return as_float(trend) + as_float(magnitude) + as_float(accel)


def wilder_averages(
    close: npt.ArrayLike, period: int = RSI_PERIOD
) -> tuple[FloatArray, FloatArray]:
    """Wilder's average gain and average loss as TA-Lib computes them, over the whole history.

    With changes ``d_i = C_i − C_{i−1}``, gains ``max(d, 0)`` and losses ``max(−d, 0)``: the first
    averages (on row ``period``) are the simple means of the first ``period`` changes; after that
    ``avg_t = ((period − 1)·avg_{t−1} + x_t) / period``, a first-order IIR filter run with
    ``scipy.signal.lfilter`` down axis 0 for all columns at once.

    Each column must be *left-aligned*: its first close on row 0 and no ``NaN`` before its last
    close (trailing ``NaN`` padding is fine and stays ``NaN``). ``NaN`` on rows before ``period``.
    """
    # Imported here: scipy.signal costs ~1.4 s to import, which would delay the process's
    # first answer (/health/live); the first score book pays it instead, in its thread.
    from scipy.signal import lfilter

    c = as_float(close)
    c2 = c.reshape(c.shape[0], -1) if c.ndim == 1 else c
    rows = c2.shape[0]
    results: list[FloatArray] = []
    change = np.diff(c2, axis=0) if rows > period else np.empty((0,) + c2.shape[1:])
    a = (period - 1) / period
    for sign in (1.0, -1.0):
        avg = np.full(c2.shape, np.nan, order="F")
        if rows > period:
            x = np.maximum(sign * change, 0.0)  # change[i - 1] = C_i − C_{i−1}
            seed = x[:period].mean(axis=0)
            avg[period] = seed
            if rows > period + 1:
                zi = (a * seed)[np.newaxis]
                avg[period + 1 :] = lfilter([1.0 / period], [1.0, -a], x[period:], axis=0, zi=zi)[0]
        results.append(avg.reshape(c.shape))
    return results[0], results[1]


def wilder_averages_last(
    close: npt.ArrayLike, period: int = RSI_PERIOD
) -> tuple[FloatArray, FloatArray]:
    """Wilder's average gain and loss on the **last row** only, in closed form (no recursion).

    Unrolling ``avg_t = a·avg_{t−1} + x_t / p`` (``a = (p − 1)/p``, ``p = period``) from the seed
    ``avg_s = mean(x_{s−p+1} … x_s)`` on the seed row ``s``:
    ``avg_K = a^{K−s}·seed + Σ_{s<i≤K} a^{K−i}·x_i / p``, i.e. one dot product of the gains (losses)
    with geometric weights, the same for every column apart from its ``p`` seed changes. Equal to
    the recursion of ``wilder_averages`` up to float rounding (~1e-15 relative).

    Each column must be *right-aligned*: ``NaN`` before its first close, then closes without gaps
    up to the last row. Returns ``(avg_gain, avg_loss)`` per column, ``NaN`` with fewer than
    ``period + 1`` closes.
    """
    c = as_float(close)
    c2 = c.reshape(c.shape[0], -1) if c.ndim == 1 else c
    rows, cols = c2.shape
    out_gain = np.full(cols, np.nan)
    out_loss = np.full(cols, np.nan)
    if rows > period:
        a = (period - 1) / period
        last = rows - 2  # the last change row; change row r = C_{r+1} − C_r
        weight = a ** np.arange(last, -1, -1, dtype=np.float64) / period  # a^{last − r} / p
        for lo in range(0, cols, _COLUMN_BLOCK):  # blocks of columns stay in cache
            hi = min(cols, lo + _COLUMN_BLOCK)
            gain, loss = _closed_form_block(c2[:, lo:hi], weight, a, period)
            out_gain[lo:hi], out_loss[lo:hi] = gain, loss
    shape = c.shape[1:]
    return out_gain.reshape(shape), out_loss.reshape(shape)


def _closed_form_block(
    block: FloatArray, weight: FloatArray, a: float, period: int
) -> tuple[FloatArray, FloatArray]:
    """``wilder_averages_last`` on a block of columns (``weight[r] = a^{last − r} / p``)."""
    rows, cols = block.shape
    present = np.isfinite(block)
    first = np.where(present.any(axis=0), np.argmax(present, axis=0), rows)
    enough = rows - first >= period + 1  # at least period + 1 closes
    gain = np.full(cols, np.nan)
    loss = np.full(cols, np.nan)
    if enough.any():
        change = block[1:] - block[:-1]  # NaN before the first close
        f = np.where(enough, first, 0)
        seed_rows = f[np.newaxis, :] + np.arange(period)[:, np.newaxis]  # the first p changes
        seed_weight = a ** (rows - 2 - (f + period - 1)).astype(np.float64) / period
        extra = seed_weight[np.newaxis, :] - weight[seed_rows]
        picked = np.arange(cols)[np.newaxis, :]
        ups = np.fmax(change, 0.0)  # gains; fmax/fmin count NaN (no change) as 0
        downs = np.fmin(change, 0.0)  # −losses (negation is exact)
        g = weight @ ups + (ups[seed_rows, picked] * extra).sum(axis=0)
        d = weight @ downs + (downs[seed_rows, picked] * extra).sum(axis=0)
        gain[enough], loss[enough] = g[enough], -d[enough]
    return gain, loss


def rsi_from_averages(avg_gain: npt.ArrayLike, avg_loss: npt.ArrayLike) -> FloatArray:
    """``RSI = 100 − 100 / (1 + avg_gain / avg_loss)``; 100 when ``avg_loss = 0`` (50 when both
    averages are 0)."""
    gain, loss = as_float(avg_gain), as_float(avg_loss)
    with np.errstate(divide="ignore", invalid="ignore"):
        rsi = 100.0 - 100.0 / (1.0 + gain / loss)
    out: FloatArray = np.where(loss == 0.0, np.where(gain == 0.0, 50.0, 100.0), rsi)
    return out


def wilder_rsi(close: npt.ArrayLike, period: int = RSI_PERIOD) -> FloatArray:
    """Wilder's ``period``-day RSI as TA-Lib computes it (``TA_RSI``), over each column's whole
    history: ``rsi_from_averages(*wilder_averages(close, period))``. Columns left-aligned (see
    ``wilder_averages``); ``NaN`` on rows before ``period``."""
    return rsi_from_averages(*wilder_averages(close, period))


def rsi_score(rsi: npt.ArrayLike) -> FloatArray:
    """``S_rsi``: 0 below 30; ``5·(RSI − 30)`` from 30 to 50; 100 from 50 to 70;
    ``100 − 5·(RSI − 70)`` from 70 to 90; 0 above 90 (continuous).

    Written as ``clamp(min(5·(RSI − 30), 100 − 5·(RSI − 70)), 0, 100)``, which is the same function.
    """
    r = as_float(rsi)
    return np.clip(np.minimum(5.0 * (r - 30.0), 100.0 - 5.0 * (r - 70.0)), 0.0, 100.0)


def split_adjusted_volume(volume: npt.ArrayLike, split: npt.ArrayLike) -> FloatArray:
    """As-traded volume on a split-consistent scale without look-ahead: ``V_s / Π_{u ≤ s} k_u``.

    ``k_u`` is the split coefficient on row ``u`` (4.0 for a 4-for-1 split, 1.0 otherwise; ``NaN``
    or non-positive counts as 1). For rows ``s ≤ t`` the ratio of two such values equals the ratio
    of the volumes adjusted as of ``t`` (``V_s · Π_{s < u ≤ t} k_u``: volume before a 4:1 split
    times 4), so ratios like ``V_t / mean(V_{t−30..t−1})`` are exactly those of the model and never
    use a split after ``t``.
    """
    k = as_float(split)
    k = np.where(np.isfinite(k) & (k > 0.0), k, 1.0)
    return as_float(volume) / np.cumprod(k, axis=0)


def volume_ratio(adjusted_volume: npt.ArrayLike, window: int = VOLUME_WINDOW) -> FloatArray:
    """``ratio = V_t / mean(V_{t−30} … V_{t−1})`` (the 30 sessions before ``t``), on split-adjusted
    volume. ``NaN`` (S_vol unavailable) when ``V_t`` or any of the 30 is missing, or the mean is 0.
    """
    v = as_float(adjusted_volume)
    prior = lag(rolling_mean(v, window), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = v / prior
    out[~(prior != 0.0)] = np.nan
    return out


def volume_score(ratio: npt.ArrayLike) -> FloatArray:
    """``S_vol = min(100, 50·ratio)``."""
    return np.minimum(100.0, 50.0 * as_float(ratio))


def rate_of_change(close: npt.ArrayLike, n: int = ROC_PERIOD) -> FloatArray:
    """``roc = (C_t / C_{t−10} − 1) · 100``."""
    return period_return(close, n) * 100.0


def roc_score(roc: npt.ArrayLike) -> FloatArray:
    """``S_roc = clamp(50 + 10·roc, 0, 100)``."""
    return np.clip(50.0 + 10.0 * as_float(roc), 0.0, 100.0)


def technical_score(s_rsi: npt.ArrayLike, s_vol: npt.ArrayLike, s_roc: npt.ArrayLike) -> FloatArray:
    """Technical momentum ``T = 0.4·S_rsi + 0.3·S_vol + 0.3·S_roc``.

    When ``S_vol`` is unavailable: ``T = (0.4·S_rsi + 0.3·S_roc) / 0.7``.
    """
    w_rsi, w_vol, w_roc = TECHNICAL_WEIGHTS
    return rescaled_weighted_sum([(w_rsi, s_rsi), (w_roc, s_roc)], [(w_vol, s_vol)])


def relative_gap(r21: npt.ArrayLike, benchmark_r21: npt.ArrayLike) -> FloatArray:
    """``g = r(21) − r_B(21)``, the benchmark's 21-day return ending at its last close ≤ ``t``."""
    return as_float(r21) - as_float(benchmark_r21)


def relative_score(g: npt.ArrayLike) -> FloatArray:
    """Relative momentum ``R = min(100, 50 + 1000·g)`` when ``g ≥ 0``, else
    ``max(0, 50 + 500·g)``."""
    gap = as_float(g)
    return np.where(
        gap >= 0.0, np.minimum(100.0, 50.0 + 1000.0 * gap), np.maximum(0.0, 50.0 + 500.0 * gap)
    )


def composite_score(
    price: npt.ArrayLike,
    technical: npt.ArrayLike,
    relative: npt.ArrayLike,
    weights: tuple[float, float, float] = (0.50, 0.35, 0.15),
) -> FloatArray:
    """``overall = w_P·P + w_T·T + w_R·R`` (defaults 0.50, 0.35, 0.15).

    When ``R`` is unavailable: ``(w_P·P + w_T·T) / (w_P + w_T)``.
    """
    w_p, w_t, w_r = weights
    return rescaled_weighted_sum([(w_p, price), (w_t, technical)], [(w_r, relative)])


def rating(score: float) -> str:
    """The rating of an (unrounded) overall score: ≥ 80 Strong Buy, ≥ 65 Buy, ≥ 50 Hold,
    ≥ 35 Weak Hold, else Sell."""
    value = float(score)
    if math.isnan(value):
        raise ValueError("rating needs a score, got NaN")
    for floor, name in RATINGS:
        if value >= floor:
            return name
    return LOWEST_RATING
