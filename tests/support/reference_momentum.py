"""A deliberately simple reference implementation of the momentum model ``alphavelocity-v1``.

One security at a time, written straight from ``docs/momentum-model.md`` with plain Python
loops over that security's own trading days: no vectorisation and no code shared with
``backend.momentum``. Every score as of a day is computed from the closes up to that day only (the
RSI list is built by one causal loop: its i-th value reads closes 0..i). Tests compare the engine
with it, and the benchmark uses it as the per-ticker baseline.

Conventions shared with the engine's contract: a day "has a close" when the adjusted close is a
positive number; volume and split are read on those days only; a missing or non-positive split
coefficient counts as 1.
"""

from __future__ import annotations

import bisect
import decimal
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

MIN_CLOSES = 64
NAN = float("nan")


def _finite(x: Any) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def own_days(
    close: pd.Series, volume: pd.Series | None = None, split: pd.Series | None = None
) -> tuple[list[pd.Timestamp], list[float], list[float], list[float]]:
    """The security's own trading days: (dates, closes, volumes, splits), gaps skipped."""
    closes = close[close.notna() & (close > 0)].astype(float)
    days = closes.index
    if volume is not None:
        volumes = volume.reindex(days).astype(float).tolist()
    else:
        volumes = [NAN] * len(days)
    if split is not None:
        splits = [k if _finite(k) and k > 0 else 1.0 for k in split.reindex(days).tolist()]
    else:
        splits = [1.0] * len(days)
    return list(pd.DatetimeIndex(days)), closes.tolist(), volumes, splits


def rsi_list(closes: Sequence[float], period: int = 14) -> list[float]:
    """Wilder's RSI, TA-Lib style, for every day (NaN until ``period`` changes exist)."""
    out = [NAN] * len(closes)
    avg_gain = avg_loss = 0.0
    for i in range(1, len(closes)):
        change = closes[i] - closes[i - 1]
        gain = change if change > 0 else 0.0
        loss = -change if change < 0 else 0.0
        if i < period:
            avg_gain += gain
            avg_loss += loss
            continue
        if i == period:
            avg_gain = (avg_gain + gain) / period
            avg_loss = (avg_loss + loss) / period
        else:
            avg_gain = ((period - 1) * avg_gain + gain) / period
            avg_loss = ((period - 1) * avg_loss + loss) / period
        if avg_loss == 0:
            out[i] = 50.0 if avg_gain == 0 else 100.0
        else:
            out[i] = 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
    return out


def _ret(closes: Sequence[float], i: int, n: int) -> float:
    return closes[i] / closes[i - n] - 1.0 if i >= n else NAN


def _mean_ending(values: Sequence[float], end: int, k: int) -> float:
    if end - k + 1 < 0:
        return NAN
    return math.fsum(values[end - k + 1 : end + 1]) / k


class _ExactSums:
    """Exact running sums of the closes as written (decimal), to decide C_t > SMA_k(t) exactly:
    a mean of prices in cents can equal today's close exactly, and then the close is not above."""

    def __init__(self, closes: Sequence[float]) -> None:
        self.context = decimal.Context(prec=60)
        self.values = [decimal.Decimal(repr(x)) for x in closes]
        self.prefix = [decimal.Decimal(0)]
        for value in self.values:
            self.prefix.append(self.context.add(self.prefix[-1], value))

    def above(self, i: int, k: int) -> bool:
        window = self.context.subtract(self.prefix[i + 1], self.prefix[i + 1 - k])
        return self.context.multiply(self.values[i], k) > window


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, x))


def _volume_ratio(volumes: Sequence[float], splits: Sequence[float], i: int) -> float:
    """V_t / mean(V_{t-30} ... V_{t-1}), volumes adjusted for the splits up to day i."""
    if i < 30:
        return NAN
    adjusted = []
    factor = 1.0  # product of the split coefficients on the days after s, up to i
    for s in range(i, i - 31, -1):
        if not _finite(volumes[s]):
            return NAN
        adjusted.append(volumes[s] * factor)
        factor *= splits[s]
    today, before = adjusted[0], adjusted[1:]
    mean = math.fsum(before) / 30
    if mean == 0:
        return NAN
    return today / mean


def _score_day(
    i: int,
    closes: Sequence[float],
    exact: _ExactSums,
    volumes: Sequence[float],
    splits: Sequence[float],
    rsi: float,
    bench: tuple[list[pd.Timestamp], list[float]] | None,
    day: pd.Timestamp,
    weights: tuple[float, float, float],
) -> dict[str, Any]:
    n = i + 1
    c = closes[i]
    r21, r63, r126, r252 = (_ret(closes, i, h) for h in (21, 63, 126, 252))
    sma20, sma50, sma200 = (_mean_ending(closes, i, k) for k in (20, 50, 200))
    sma20_lag10 = _mean_ending(closes, i - 10, 20) if i >= 10 else NAN
    left_out: list[str] = []

    # Price momentum
    trend = NAN
    if _finite(sma20) and _finite(sma50):
        earned = (7 if exact.above(i, 20) else 0) + (6 if exact.above(i, 50) else 0)
        possible = 13
        if _finite(sma200):
            earned += 7 if exact.above(i, 200) else 0
            possible += 7
        trend = 20.0 * earned / possible
    wr = NAN
    if _finite(r21) and _finite(r63):
        terms = [(0.4, r21), (0.3, r63)]
        if _finite(r126):
            terms.append((0.2, r126))
        if _finite(r252):
            terms.append((0.1, r252))
        wr = sum(w * r for w, r in terms)
        if len(terms) < 4:
            wr /= sum(w for w, _ in terms)
    magnitude = _clamp(20 + 80 * wr, 0, 40) if _finite(wr) else NAN
    acc = (1 + r21) ** 12 - (1 + r63) ** 4 if _finite(r63) else NAN
    slope = (sma20 / sma20_lag10 - 1) * 25.2 if _finite(sma20_lag10) else NAN
    accel = (
        _clamp(20 + 30 * (0.7 * acc + 0.3 * slope), 0, 40)
        if _finite(acc) and _finite(slope)
        else NAN
    )
    price = trend + magnitude + accel

    # Technical momentum
    if _finite(rsi):
        if rsi < 30 or rsi > 90:
            s_rsi = 0.0
        elif rsi < 50:
            s_rsi = 5 * (rsi - 30)
        elif rsi <= 70:
            s_rsi = 100.0
        else:
            s_rsi = 100 - 5 * (rsi - 70)
    else:
        s_rsi = NAN
    ratio = _volume_ratio(volumes, splits, i)
    s_vol = min(100.0, 50 * ratio) if _finite(ratio) else NAN
    roc = (c / closes[i - 10] - 1) * 100 if i >= 10 else NAN
    s_roc = _clamp(50 + 10 * roc, 0, 100) if _finite(roc) else NAN
    if _finite(s_vol):
        technical = 0.4 * s_rsi + 0.3 * s_vol + 0.3 * s_roc
    else:
        technical = (0.4 * s_rsi + 0.3 * s_roc) / 0.7
        left_out.append("volume")

    # Relative momentum
    bench_r21 = NAN
    bench_count = 0
    if bench is not None:
        b_dates, b_closes = bench
        bench_count = bisect.bisect_right(b_dates, day)
        if bench_count >= 22:
            j = bench_count - 1
            bench_r21 = b_closes[j] / b_closes[j - 21] - 1
    gap = r21 - bench_r21 if _finite(r21) and _finite(bench_r21) else NAN
    if not _finite(gap):
        relative = NAN
    elif gap >= 0:
        relative = min(100.0, 50 + 1000 * gap)
    else:
        relative = max(0.0, 50 + 500 * gap)
    if not _finite(bench_r21):
        left_out.append("relative")

    w_p, w_t, w_r = weights
    if _finite(relative):
        overall = w_p * price + w_t * technical + w_r * relative
    else:
        overall = (w_p * price + w_t * technical) / (w_p + w_t)

    for name, value in (("r126", r126), ("r252", r252), ("sma200", sma200)):
        if not _finite(value):
            left_out.append(name)
    scored = n >= MIN_CLOSES
    if not scored:
        left_out.append("history")
        overall = price = technical = relative = trend = magnitude = accel = wr = NAN

    return {
        "date": day,
        "n_closes": n,
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
        "sma20": sma20,
        "sma50": sma50,
        "sma200": sma200,
        "sma20_lag10": sma20_lag10,
        "rsi": rsi,
        "s_rsi": s_rsi,
        "volume_ratio": ratio,
        "s_vol": s_vol,
        "roc": roc,
        "s_roc": s_roc,
        "benchmark_r21": bench_r21,
        "relative_gap": gap,
        "benchmark_closes": bench_count,
        "left_out": tuple(sorted(left_out)),
        "complete": not left_out,
    }


def reference_scores(
    close: pd.Series,
    volume: pd.Series | None = None,
    split: pd.Series | None = None,
    benchmark_close: pd.Series | None = None,
    weights: tuple[float, float, float] = (0.50, 0.35, 0.15),
    last: int | None = None,
) -> pd.DataFrame:
    """Every component as of each of the security's own trading days (only the ``last`` ones if
    given), indexed by date. ``benchmark_close`` is the benchmark's adjusted close (None: the
    benchmark has no prices). Components that are not defined are NaN."""
    dates, closes, volumes, splits = own_days(close, volume, split)
    bench = None
    if benchmark_close is not None:
        b_dates, b_closes, _, _ = own_days(benchmark_close)
        bench = (b_dates, b_closes)
    rsi = rsi_list(closes)
    exact = _ExactSums(closes)
    start = 0 if last is None else max(0, len(closes) - last)
    records = [
        _score_day(i, closes, exact, volumes, splits, rsi[i], bench, dates[i], weights)
        for i in range(start, len(closes))
    ]
    if not records:
        return pd.DataFrame()
    return pd.DataFrame.from_records(records).set_index("date")
