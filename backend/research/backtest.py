"""Backtest statistics of a score: pure functions over dates x tickers arrays.

On each rebalance date ``t`` the securities that have a score on ``t`` and a close on ``t`` are
ranked by score and cut into quantiles (1 = lowest scores, ``q`` = highest). Then:

* **Forward returns** over ``horizon`` trading days: ``P[t+h] / C[t] − 1``, ``P`` being the last
  close at or before row ``t+h`` (rows of the panel's dates). A date is *evaluated* only when
  ``t+h`` is on or before the last date of the period, so nothing after ``end`` is used.
* **Mean forward return per quantile**: the equal-weighted mean in each quantile on each
  evaluated date, averaged over the evaluated dates.
* **Spread**: top-quantile mean minus bottom-quantile mean per date; its mean and t-statistic
  ``mean / (sd / sqrt(n))`` (sd with ddof 1).
* **IC**: the Spearman rank correlation of score and forward return per date (average ranks for
  ties); its mean, t-statistic and hit rate (share of dates with IC > 0).
* **Turnover** of the top quantile at each rebalance after the first: ``½ Σ |w_k − w_{k−1}|`` with
  equal weights at formation (the share of the portfolio replaced; drift is ignored).
* **Growth of 1** from the first rebalance date to the last, holding each portfolio from one
  rebalance date to the next (not over ``horizon``): the top quantile equal-weighted, the
  equal-weighted ranked universe, and the benchmark. ``cost_bps`` is charged on the top
  quantile's traded notional ``Σ |w_k − w_{k−1}|`` (``w_{−1} = 0``: the first purchase counts):
  ``g_{k+1} = g_k · (1 − cost_bps/10⁴ · traded_k) · (1 + R_k)``.

No look-ahead: ranks on ``t`` read scores and closes on row ``t`` only; returns read rows after
``t`` only as outcomes. Scores themselves must be free of look-ahead (``models.py``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from backend.errors import START_NOT_AFTER_END, InvalidInput
from backend.momentum.panel import (
    BoolArray,
    FloatArray,
    IntArray,
    average_rank,
    forward_fill,
    has_close,
)

REBALANCE_FREQUENCIES: Final = ("weekly", "monthly", "quarterly")
_PERIOD: Final = {"weekly": "W", "monthly": "M", "quarterly": "Q"}
# Trading days between rebalance dates, roughly: a horizon longer than this overlaps.
REBALANCE_SPACING: Final = {"weekly": 5, "monthly": 21, "quarterly": 63}
HORIZON_RANGE: Final = (1, 252)
QUANTILE_RANGE: Final = (2, 10)
COST_RANGE: Final = (0.0, 1000.0)


@dataclass(frozen=True)
class BacktestParams:
    start: dt.date | None = None
    end: dt.date | None = None
    rebalance: str = "monthly"
    horizon: int = 21
    quantiles: int = 5
    cost_bps: float = 0.0

    def validate(self) -> None:
        """InvalidInput (422) naming the field and the rule of the first bad parameter."""

        def bad(name: str, value: object, rule: str) -> InvalidInput:
            return InvalidInput(
                f"{name} {value!r} is invalid: {rule}",
                {"field": name, "value": value, "rule": rule},
            )

        if self.rebalance not in REBALANCE_FREQUENCIES:
            raise bad("rebalance", self.rebalance, f"one of {', '.join(REBALANCE_FREQUENCIES)}")
        lo, hi = HORIZON_RANGE
        if not lo <= self.horizon <= hi:
            raise bad("horizon", self.horizon, f"trading days from {lo} to {hi}")
        qlo, qhi = QUANTILE_RANGE
        if not qlo <= self.quantiles <= qhi:
            raise bad("quantiles", self.quantiles, f"from {qlo} to {qhi}")
        clo, chi = COST_RANGE
        if not (math.isfinite(self.cost_bps) and clo <= self.cost_bps <= chi):
            raise bad("cost_bps", self.cost_bps, f"basis points from {clo:g} to {chi:g}")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise InvalidInput(
                f"start {self.start} is after end {self.end}",
                {"field": "start", "value": str(self.start), "rule": START_NOT_AFTER_END.rule},
            )


def rebalance_rows(
    dates: pd.DatetimeIndex,
    frequency: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> IntArray:
    """Rows of the last date of each week (Mon-Sun), month or quarter within ``[start, end]``.
    The period's last date counts as a rebalance date even when its week/month is incomplete."""
    if frequency not in _PERIOD:
        raise ValueError(f"unknown rebalance frequency {frequency!r}")
    rows = np.arange(len(dates), dtype=np.int64)
    keep = np.ones(len(dates), dtype=bool)
    if start is not None:
        keep &= dates >= pd.Timestamp(start)
    if end is not None:
        keep &= dates <= pd.Timestamp(end)
    rows = rows[keep]
    if rows.size == 0:
        return rows
    keys = np.asarray(dates[rows].to_period(_PERIOD[frequency]).asi8)
    last = np.append(keys[1:] != keys[:-1], True)
    out: IntArray = rows[last]
    return out


def quantile_labels(scores: FloatArray, quantiles: int) -> IntArray:
    """Row-wise ``floor(q · (rank − 1) / N) + 1`` with average ranks over the ``N`` finite scores
    of each row: 1 = lowest, ``q`` = highest; tied scores share a quantile; 0 where a score is
    NaN (not ranked). A 1-D array is one row."""
    ranks = average_rank(scores)
    n = np.isfinite(scores).sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        labels = np.floor(quantiles * (ranks - 1.0) / n) + 1.0
    return np.where(np.isfinite(ranks), labels, 0.0).astype(np.int64)


def pearson(a: FloatArray, b: FloatArray) -> float:
    """Pearson correlation; NaN if either side is constant or there are fewer than 2 pairs."""
    if a.size < 2:
        return math.nan
    da, db = a - a.mean(), b - b.mean()
    den = math.sqrt(float((da * da).sum()) * float((db * db).sum()))
    return float((da * db).sum()) / den if den > 0.0 else math.nan


def spearman(a: FloatArray, b: FloatArray) -> float:
    """Spearman rank correlation: the Pearson correlation of the average ranks."""
    return float(spearman_rows(a[np.newaxis, :], b[np.newaxis, :])[0])


def spearman_rows(a: FloatArray, b: FloatArray) -> FloatArray:
    """Row-wise ``spearman`` over the pairs finite on both sides (each row ranked once, all rows
    in one call); NaN for a row with fewer than 2 pairs or a constant side."""
    both = np.isfinite(a) & np.isfinite(b)
    ranks_a = average_rank(np.where(both, a, np.nan))
    ranks_b = average_rank(np.where(both, b, np.nan))
    return np.array(
        [pearson(ranks_a[k, both[k]], ranks_b[k, both[k]]) for k in range(a.shape[0])],
        dtype=np.float64,
    )


@dataclass(frozen=True)
class MeanStat:
    mean: float
    t_stat: float
    n: int


def mean_t(x: FloatArray) -> MeanStat:
    """Mean of the finite values and its t-statistic ``mean / (sd / sqrt(n))`` (ddof 1)."""
    v = x[np.isfinite(x)]
    n = int(v.size)
    if n == 0:
        return MeanStat(math.nan, math.nan, 0)
    m = float(v.mean())
    if n < 2:
        return MeanStat(m, math.nan, n)
    sd = float(v.std(ddof=1))
    t = m / (sd / math.sqrt(n)) if sd > 0.0 else math.nan
    return MeanStat(m, t, n)


def cagr(growth: float, first: dt.date, last: dt.date) -> float:
    years = (last - first).days / 365.25
    if years <= 0 or not math.isfinite(growth) or growth <= 0:
        return math.nan
    return float(growth ** (1.0 / years) - 1.0)


@dataclass(frozen=True)
class BacktestResult:
    """Per rebalance date (``dates``, the kept ones) and the summary statistics."""

    dates: pd.DatetimeIndex
    rows: IntArray  # panel rows of ``dates``
    skipped: int  # rebalance dates with fewer ranked securities than quantiles
    n_ranked: IntArray
    evaluated: BoolArray  # forward horizon complete within the period
    quantile_mean: FloatArray  # dates x quantiles, NaN when not evaluated or empty
    quantile_count: IntArray  # dates x quantiles
    spread: FloatArray
    ic: FloatArray
    turnover: FloatArray  # NaN on the first date
    traded: FloatArray  # Σ|Δw| charged at each date (1.0 on the first)
    top_members: list[IntArray]  # column indices of the top quantile on each date
    period_top: FloatArray  # holding-period returns between consecutive dates (len - 1)
    period_universe: FloatArray
    period_benchmark: FloatArray | None
    growth_top: FloatArray  # growth of 1 on each date (starts at 1)
    growth_top_net: FloatArray
    growth_universe: FloatArray
    growth_benchmark: FloatArray | None
    mean_quantile_return: FloatArray  # per quantile, over evaluated dates
    mean_quantile_count: FloatArray
    spread_stat: MeanStat
    ic_stat: MeanStat
    ic_hit_rate: float
    mean_turnover: float
    params: BacktestParams


class NotEnoughData(InvalidInput):
    """No rebalance date has enough ranked securities: there is nothing to measure."""

    code = "insufficient_history"


def _growth(period: FloatArray, charge: FloatArray | None = None) -> FloatArray:
    factors = 1.0 + period
    if charge is not None:
        factors = factors * (1.0 - charge)
    return np.concatenate([[1.0], np.cumprod(factors)])


def run_backtest(
    scores: FloatArray,
    close: FloatArray,
    dates: pd.DatetimeIndex,
    params: BacktestParams,
    benchmark_close: FloatArray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Backtest ``scores`` (dates x tickers, NaN where none) against adjusted ``close`` (same
    shape). ``benchmark_close`` (one column on the same dates) gives the benchmark's growth."""
    params.validate()
    if scores.shape != close.shape or scores.shape[0] != len(dates):
        raise ValueError("scores, close and dates must be aligned (dates x tickers)")
    q, h = params.quantiles, params.horizon
    candidates = rebalance_rows(dates, params.rebalance, params.start, params.end)
    if candidates.size == 0:
        raise NotEnoughData(
            "no stored dates between start and end",
            {
                "field": "start",
                "rule": "the period must hold stored dates",
                "start": str(params.start) if params.start else None,
                "end": str(params.end) if params.end else None,
            },
        )
    in_period = np.ones(len(dates), dtype=bool)
    if params.end is not None:
        in_period &= dates <= pd.Timestamp(params.end)
    last_row = int(np.flatnonzero(in_period)[-1])

    present = has_close(close)
    ff = forward_fill(np.where(present, close, np.nan), present)
    scorable = np.isfinite(scores) & present

    kept: list[int] = []
    for t in candidates.tolist():
        if int(scorable[t].sum()) >= q:
            kept.append(t)
    skipped = int(candidates.size - len(kept))
    if not kept:
        most = int(scorable[candidates].sum(axis=1).max())
        raise NotEnoughData(
            f"no rebalance date between {dates[candidates[0]].date()} and "
            f"{dates[candidates[-1]].date()} has {q} securities with a score "
            f"(at most {most}): too little history or too small a universe",
            {
                "field": "quantiles",
                "rule": "each rebalance date needs at least one security "
                "with a score per quantile",
                "needed": q,
                "most_scored_on_a_date": most,
            },
        )
    rows = np.asarray(kept, dtype=np.int64)
    n = rows.size
    n_cols = scores.shape[1]

    n_ranked = np.zeros(n, dtype=np.int64)
    evaluated = np.zeros(n, dtype=bool)
    qmean = np.full((n, q), np.nan)
    qcount = np.zeros((n, q), dtype=np.int64)
    spread = np.full(n, np.nan)
    turnover = np.full(n, np.nan)
    traded = np.zeros(n)
    top_members: list[IntArray] = []
    period_top = np.full(max(n - 1, 0), np.nan)
    period_universe = np.full(max(n - 1, 0), np.nan)
    prev_w = np.zeros(n_cols)

    # Every rebalance date at once (row-wise, NaN where not ranked): the scores' quantiles, and
    # the IC of the dates whose horizon is complete (their forward returns; NaN elsewhere).
    ranked = scorable[rows]
    ranked_scores = np.where(ranked, scores[rows], np.nan)
    all_labels = quantile_labels(ranked_scores, q)
    exits = rows + h
    complete = exits <= last_row
    fwd_all = np.full((n, n_cols), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        fwd_all[complete] = ff[exits[complete]] / close[rows[complete]] - 1.0
    ic = spearman_rows(ranked_scores, np.where(ranked, fwd_all, np.nan))

    for k, t in enumerate(rows.tolist()):
        cols = np.flatnonzero(ranked[k])
        n_ranked[k] = cols.size
        labels = all_labels[k, cols]
        top = cols[labels == q]
        top_members.append(top)
        w = np.zeros(n_cols)
        if top.size:
            w[top] = 1.0 / top.size
        traded[k] = float(np.abs(w - prev_w).sum())
        if k > 0:
            turnover[k] = 0.5 * traded[k]
        prev_w = w

        if complete[k]:
            evaluated[k] = True
            fwd = fwd_all[k, cols]
            sums = np.bincount(labels - 1, weights=fwd, minlength=q)
            counts = np.bincount(labels - 1, minlength=q)
            qcount[k] = counts
            with np.errstate(invalid="ignore", divide="ignore"):
                qmean[k] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
            spread[k] = qmean[k, q - 1] - qmean[k, 0]

        if k + 1 < n:
            t_next = int(rows[k + 1])
            held = ff[t_next, cols] / close[t, cols] - 1.0
            period_universe[k] = float(held.mean())
            # An empty top quantile (every score tied below it) holds cash for the period.
            period_top[k] = float(held[labels == q].mean()) if top.size else 0.0
        if progress is not None:
            progress(k + 1, n)

    cost = params.cost_bps / 10_000.0
    growth_top = _growth(period_top)
    growth_top_net = _growth(period_top, cost * traded[:-1]) if n > 0 else growth_top
    growth_universe = _growth(period_universe)

    period_benchmark: FloatArray | None = None
    growth_benchmark: FloatArray | None = None
    if benchmark_close is not None:
        b = np.asarray(benchmark_close, dtype=np.float64).reshape(-1, 1)
        bp = has_close(b)
        bff = forward_fill(np.where(bp, b, np.nan), bp)[:, 0]
        at = bff[rows]
        if np.isfinite(at).all():
            period_benchmark = at[1:] / at[:-1] - 1.0
            growth_benchmark = _growth(period_benchmark)

    with np.errstate(invalid="ignore"):
        ev = evaluated
        if ev.any():
            mean_q = np.array(
                [
                    float(np.nanmean(qmean[ev, j])) if np.isfinite(qmean[ev, j]).any() else math.nan
                    for j in range(q)
                ]
            )
            mean_count = qcount[ev].mean(axis=0).astype(np.float64)
        else:
            mean_q = np.full(q, np.nan)
            mean_count = np.zeros(q)
    finite_ic = ic[np.isfinite(ic)]
    hit = float((finite_ic > 0).mean()) if finite_ic.size else math.nan
    finite_turn = turnover[np.isfinite(turnover)]
    return BacktestResult(
        dates=pd.DatetimeIndex(dates[rows]),
        rows=rows,
        skipped=skipped,
        n_ranked=n_ranked,
        evaluated=evaluated,
        quantile_mean=qmean,
        quantile_count=qcount,
        spread=spread,
        ic=ic,
        turnover=turnover,
        traded=traded,
        top_members=top_members,
        period_top=period_top,
        period_universe=period_universe,
        period_benchmark=period_benchmark,
        growth_top=growth_top,
        growth_top_net=growth_top_net,
        growth_universe=growth_universe,
        growth_benchmark=growth_benchmark,
        mean_quantile_return=mean_q,
        mean_quantile_count=mean_count,
        spread_stat=mean_t(spread),
        ic_stat=mean_t(ic),
        ic_hit_rate=hit,
        mean_turnover=float(finite_turn.mean()) if finite_turn.size else math.nan,
        params=params,
    )
