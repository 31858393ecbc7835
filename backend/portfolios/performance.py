"""Portfolio performance from daily positions and prices (pure functions, no I/O).

``portfolio_performance`` values the portfolio every day, chains a time-weighted return with the
external cash flows neutralised, and reports the benchmark's return over the same days, the
maximum drawdown and the annualised volatility.

Conventions
-----------
* **Daily value.** ``V_t = Σ_k shares[t, k] · price[t, k] + cash_t`` with the shares and cash held
  at the *end* of day ``t`` and that day's close.
* **Missing prices are forward-filled and flagged.** When a held ticker (``shares ≠ 0``) has no
  close on day ``t`` (no row, NaN or ≤ 0), its last earlier close is used — the usual convention —
  and ``(t, ticker, date of the close used)`` goes into ``missing_prices`` with
  ``forward_filled=True``. When there is no earlier close at all the day cannot be valued:
  ``V_t`` is NaN, the day is in ``unvalued_days`` (its ``MissingPrice.filled_from`` is None) and
  the return is chained over it (the next sub-period starts at the last valued day).
* **Flows at the end of the day.** ``flows`` are external money (deposits +, withdrawals −),
  dated; a flow dated ``d`` is in the value of the first valued day on or after ``d``. The
  sub-period return between consecutive valued days ``s < t`` is
  ``r_t = (V_t − F_(s,t]) / V_s − 1`` where ``F_(s,t]`` sums the flows dated after ``s`` and on or
  before ``t``: the flow did not earn anything on its day. Flows dated on or before the start are
  part of the starting value; flows after the last day are left out (both noted).
* **Window.** The return window starts at the first valued day with ``V > 0`` (leading days with
  no money are not a return). A later sub-period that starts from ``V_s ≤ 0`` (everything
  withdrawn) has no defined return: it is skipped (index flat) and listed in ``skipped_periods``.
* **TWR.** ``I_start = 1``, ``I_t = I_s · (1 + r_t)``; ``twr = I_end − 1``.
* **Drawdown** on the TWR index, so deposits are not gains nor withdrawals losses:
  ``DD_t = I_t / max_{u ≤ t} I_u − 1``; ``max_drawdown = min_t DD_t`` (a fraction ≤ 0).
* **Volatility** ``= stdev(r_t, ddof=1) · √periods_per_year`` over the defined sub-period returns.
  A sub-period chained over an unvalued day counts as one period.
* **Benchmark** over the same days: ``B`` is forward-filled to each window day (flagged in
  ``benchmark_filled``), ``benchmark_return = B_end / B_start − 1``, ``active_return = twr −
  benchmark_return``.
* **Gain** ``= V_end − V_start − Σ flows in (start, end]`` (money made over the window).

Dates are normalised to midnight ``pd.Timestamp`` values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

FLOW_CONVENTION: Final = (
    "flows at end of day: r_t = (V_t - F_t) / V_{t-1} - 1, a flow dated on a day without a "
    "valuation counts on the next valued day"
)


@dataclass(frozen=True)
class MissingPrice:
    """A held ticker without a close on ``date``: valued at the close of ``filled_from`` (the last
    earlier close), or not valued at all when ``filled_from`` is None."""

    date: pd.Timestamp
    ticker: str
    filled_from: pd.Timestamp | None


@dataclass(frozen=True)
class PerformanceReport:
    """The performance of a portfolio over its date index (see the module docstring).

    Series on every date of the index: ``values`` (``V_t``, NaN where not valued),
    ``holdings_value`` (``Σ shares·price``), ``cash``. Series on the window's valued days:
    ``flows`` (``F`` of the sub-period ending that day, 0 on the first), ``returns`` (``r_t``, from
    the second day, skipped periods absent), ``twr_index`` (``I_t``), ``drawdown`` (``DD_t``),
    ``benchmark_index`` (``B_t / B_start``, or None). Scalars are None when undefined (too few
    days, no benchmark price at the start). ``start``/``end`` bound the return window;
    ``periods`` counts the defined returns; ``net_flows`` sums the flows in ``(start, end]``.
    ``missing_prices`` lists every (day, held ticker) without a close, ``missing_tickers`` the
    tickers concerned; ``forward_filled`` says whether any value used a forward-filled close.
    ``flow_convention`` states the flow timing; ``notes`` explain every flag in words."""

    values: pd.Series
    holdings_value: pd.Series
    cash: pd.Series
    flows: pd.Series
    returns: pd.Series
    twr_index: pd.Series
    drawdown: pd.Series
    benchmark_index: pd.Series | None
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    periods: int
    periods_per_year: int
    twr: float | None
    benchmark_return: float | None
    active_return: float | None
    max_drawdown: float | None
    drawdown_peak: pd.Timestamp | None
    drawdown_trough: pd.Timestamp | None
    volatility: float | None
    gain: float | None
    net_flows: float
    missing_prices: tuple[MissingPrice, ...]
    missing_tickers: tuple[str, ...]
    forward_filled: bool
    unvalued_days: tuple[pd.Timestamp, ...]
    benchmark_filled: tuple[pd.Timestamp, ...]
    skipped_periods: tuple[pd.Timestamp, ...]
    flow_convention: str
    notes: tuple[str, ...]


def _dates(index: pd.Index, what: str, unique: bool = True) -> pd.DatetimeIndex:
    """``index`` as normalised timestamps; refuses duplicates when ``unique``."""
    out = pd.DatetimeIndex(pd.to_datetime(index)).normalize()
    if unique and out.has_duplicates:
        raise ValueError(f"{what} has duplicate dates")
    return out


def _valid_prices(frame: pd.DataFrame) -> pd.DataFrame:
    """Prices as floats on a sorted date index; NaN, ±inf and ≤ 0 become NaN (no close)."""
    out = frame.astype(float)
    out.index = _dates(frame.index, "prices")
    out = out.sort_index()
    return out.where(np.isfinite(out) & (out > 0))


def time_weighted_returns(
    values: pd.Series, flows: pd.Series
) -> tuple[pd.Series, pd.Series, tuple[pd.Timestamp, ...]]:
    """Sub-period returns ``r_t = (V_t − F_t) / V_s − 1`` between consecutive entries ``s < t`` of
    ``values`` (valued days, ascending, ``V`` finite) with ``F_t`` the flows of ``flows`` dated in
    ``(s, t]``. Periods with ``V_s ≤ 0`` are undefined and skipped.

    Returns the returns (indexed by ``t``), the flow per day (0 on the first) and the skipped
    period ends."""
    days = pd.DatetimeIndex(values.index)
    flow_days = pd.DatetimeIndex(flows.index)
    cum = np.concatenate([[0.0], np.cumsum(flows.to_numpy(dtype=float))])
    # Σ flows dated ≤ day, for each day
    upto = cum[flow_days.searchsorted(days, side="right")]
    period_flow = np.diff(upto, prepend=upto[0]) if len(days) else upto
    v = values.to_numpy(dtype=float)
    rets: dict[pd.Timestamp, float] = {}
    skipped: list[pd.Timestamp] = []
    for i in range(1, len(days)):
        if v[i - 1] > 0:
            rets[days[i]] = (v[i] - period_flow[i]) / v[i - 1] - 1.0
        else:
            skipped.append(days[i])
    returns = pd.Series(rets, index=pd.DatetimeIndex(list(rets), dtype=days.dtype), dtype=float)
    return returns, pd.Series(period_flow, index=days, dtype=float), tuple(skipped)


def split_adjusted_shares(shares: float, splits: pd.Series, dates: pd.DatetimeIndex) -> pd.Series:
    """The share count on each day of ``dates`` of a holding that is ``shares`` after the last
    day of ``splits`` (its share count *today*), valued at closes as traded.

    ``n_t = shares / Π_{s > t} k_s`` where ``k_s`` is the split coefficient of day ``s`` in
    ``splits`` (4 on the day of a 4-for-1 split; missing, NaN or ≤ 0 count as 1): before a
    4-for-1 split the holding had a quarter of the shares, at four times the price. ``dates``
    must lie within ``splits``' (ascending) index span or before it."""
    coef = splits.astype(float)
    coef.index = _dates(splits.index, "splits")
    coef = coef.sort_index()
    coef = coef.where(np.isfinite(coef) & (coef > 0), 1.0)
    # Π_{s > t} k_s for each day t of the index: the product of everything after it.
    after = coef.iloc[::-1].cumprod().iloc[::-1].shift(-1, fill_value=1.0)
    days = _dates(dates, "dates", unique=False)
    position = coef.index.searchsorted(days, side="right")  # first split day after t
    total_after = np.append(after.to_numpy() * coef.to_numpy(), 1.0)[position]
    return pd.Series(shares / total_after, index=days, dtype=float)


def drawdown_series(index: pd.Series) -> pd.Series:
    """``DD_t = I_t / max_{u ≤ t} I_u − 1`` (≤ 0) for a positive index ``I``."""
    return index / index.cummax() - 1.0


def annualised_volatility(returns: pd.Series, periods_per_year: int) -> float | None:
    """``stdev(r, ddof=1) · √periods_per_year``; None with fewer than two returns."""
    if len(returns) < 2:
        return None
    return float(returns.std(ddof=1)) * math.sqrt(periods_per_year)


def _benchmark(
    benchmark: pd.Series, days: pd.DatetimeIndex
) -> tuple[pd.Series | None, tuple[pd.Timestamp, ...]]:
    """``B_t / B_start`` on ``days`` (forward-filled, the filled days listed); None without a
    close on or before the first day."""
    bench = benchmark.astype(float)
    bench.index = _dates(benchmark.index, "benchmark")
    bench = bench.sort_index()
    bench = bench[np.isfinite(bench) & (bench > 0)]
    if not len(days):
        return None, ()
    exact = bench.reindex(days)
    filled = bench.reindex(bench.index.union(days)).ffill().reindex(days)
    filled_days = tuple(d for d in days[exact.isna() & filled.notna()])
    first = filled.iloc[0]
    if not math.isfinite(first):
        return None, filled_days
    return filled / first, filled_days


def _missing_prices(
    px: pd.DataFrame, dates: pd.DatetimeIndex, missing: npt.NDArray[np.bool_]
) -> tuple[MissingPrice, ...]:
    """One ``MissingPrice`` per ``missing[i, j]`` (held, no close on ``dates[i]``) with the date of
    the last close of column ``j`` of ``px`` on or before ``dates[i]`` (None when there is none).
    ``px`` is indexed by a sorted superset of ``dates``."""
    rows = np.arange(len(px.index))[:, None]
    last_row = np.maximum.accumulate(np.where(px.notna().to_numpy(), rows, -1), axis=0)
    at = last_row[px.index.get_indexer(dates)]
    days: list[pd.Timestamp] = list(dates)
    px_days: list[pd.Timestamp] = list(pd.DatetimeIndex(px.index))
    names = [str(c) for c in px.columns]
    out: list[MissingPrice] = []
    for i, j in zip(*np.nonzero(missing)):
        k = int(at[i, j])
        filled_from = px_days[k] if k >= 0 else None
        out.append(MissingPrice(date=days[i], ticker=names[j], filled_from=filled_from))
    return tuple(out)


def portfolio_performance(
    shares: pd.DataFrame,
    cash: pd.Series,
    flows: pd.Series,
    prices: pd.DataFrame,
    benchmark: pd.Series | None,
    periods_per_year: int = 252,
) -> PerformanceReport:
    """Performance of a portfolio given its end-of-day positions.

    ``shares``: dates x tickers, shares held at the end of each day (the date index of the
    report; ascending, no NaN). ``cash``: cash at the end of each day (must cover every date of
    ``shares``). ``flows``: external flows, dated (deposits +, withdrawals −; several per day are
    summed; any dates). ``prices``: dates x tickers closes (may start earlier, for the forward
    fill). ``benchmark``: the benchmark's closes, or None.

    ``V_t = Σ shares·price + cash``; ``r_t = (V_t − F_t)/V_{t−1} − 1`` (flows at end of day);
    ``TWR = Π(1 + r_t) − 1``; ``MDD = min(I_t / max_{u≤t} I_u − 1)`` on the TWR index;
    ``σ = stdev(r)·√periods_per_year``; ``benchmark_return = B_end/B_start − 1``. Missing closes of
    held tickers are forward-filled and listed (see the module docstring).
    """
    if periods_per_year <= 0:
        raise ValueError("periods_per_year must be positive")
    dates = _dates(shares.index, "shares")
    if not dates.is_monotonic_increasing:
        raise ValueError("shares must be indexed by ascending dates")
    held_shares = shares.astype(float)
    held_shares.index = dates
    if not np.isfinite(held_shares.to_numpy()).all():
        raise ValueError("shares has NaN or infinite entries")

    cash_s = cash.astype(float)
    cash_s.index = _dates(cash.index, "cash")
    cash_s = cash_s.reindex(dates)
    if cash_s.isna().any():
        bad = ", ".join(str(d.date()) for d in dates[cash_s.isna().to_numpy()][:5])
        raise ValueError(f"cash is missing (or NaN) on {bad}")

    flow_s = flows.astype(float)
    flow_s.index = _dates(flows.index, "flows", unique=False)
    if not np.isfinite(flow_s.to_numpy()).all():
        raise ValueError("flows has NaN or infinite entries")
    flow_s = flow_s.groupby(level=0).sum().sort_index() if len(flow_s) else flow_s

    # prices of the held tickers, exact and forward-filled onto the date index
    held = held_shares != 0
    tickers = [t for t in held_shares.columns if held[t].any()]
    px = _valid_prices(prices).reindex(columns=tickers)
    union = px.index.union(dates)
    px_u = px.reindex(union)
    exact = px_u.reindex(dates)
    filled = px_u.ffill().reindex(dates)
    held_t = held[tickers]
    missing = (held_t & exact.isna()).to_numpy()
    unvaluable = (held_t & filled.isna()).to_numpy()
    missing_prices = _missing_prices(px_u, dates, missing)
    holdings = (held_shares[tickers] * filled).where(held_t, 0.0).sum(axis=1)
    bad_day = np.asarray(unvaluable.any(axis=1), dtype=bool)
    holdings = holdings.where(~bad_day)
    values = holdings + cash_s
    unvalued_days = tuple(dates[bad_day])

    notes: list[str] = []
    valued = values.dropna()
    positive = valued[valued > 0]
    window = valued.loc[positive.index[0] :] if len(positive) else valued.iloc[:0]
    if len(window) and window.index[0] != valued.index[0]:
        notes.append("days before the first positive value are not part of the return window")
    returns, period_flows, skipped = time_weighted_returns(window, flow_s)
    twr_index = pd.Series(1.0, index=window.index, dtype=float)
    if len(window):
        twr_index = (1.0 + returns).reindex(window.index, fill_value=1.0).cumprod()
    drawdown = drawdown_series(twr_index)

    start = window.index[0] if len(window) else None
    end = window.index[-1] if len(window) else None
    defined = len(returns) > 0
    twr = float(twr_index.iloc[-1] - 1.0) if defined else None
    if len(window) >= 2:
        trough = int(np.argmin(drawdown.to_numpy()))
        max_dd: float | None = float(drawdown.iloc[trough])
        peak: pd.Timestamp | None = window.index[int(np.argmax(twr_index.to_numpy()[: trough + 1]))]
        trough_day: pd.Timestamp | None = window.index[trough]
    else:
        max_dd, peak, trough_day = None, None, None
    if start is not None and end is not None:
        inside = flow_s[(flow_s.index > start) & (flow_s.index <= end)]
        net_flows = float(inside.sum())
        gain: float | None = float(window.iloc[-1] - window.iloc[0]) - net_flows
        before = flow_s[flow_s.index <= start]
        after = flow_s[flow_s.index > end]
        if len(before) and before.sum() != 0:
            notes.append("flows dated on or before the start are part of the starting value")
        if len(after) and after.sum() != 0:
            notes.append("flows dated after the last day are left out")
    else:
        net_flows, gain = 0.0, None
        notes.append("no valued day with a positive value: no return")

    bench_index: pd.Series | None = None
    bench_filled: tuple[pd.Timestamp, ...] = ()
    bench_ret: float | None = None
    if benchmark is not None:
        bench_index, bench_filled = _benchmark(benchmark, pd.DatetimeIndex(window.index))
        if bench_index is None:
            if len(window):
                notes.append("benchmark has no close on or before the start: no benchmark return")
        elif len(window) >= 2:
            bench_ret = float(bench_index.iloc[-1] - 1.0)
    if missing_prices:
        notes.append("missing closes of held tickers were forward-filled: see missing_prices")
    if unvalued_days:
        notes.append("some days could not be valued (no close yet): see unvalued_days")
    if skipped:
        notes.append("periods starting from a value ≤ 0 have no return: see skipped_periods")

    return PerformanceReport(
        values=values,
        holdings_value=holdings,
        cash=cash_s,
        flows=period_flows,
        returns=returns,
        twr_index=twr_index,
        drawdown=drawdown,
        benchmark_index=bench_index,
        start=start,
        end=end,
        periods=len(returns),
        periods_per_year=periods_per_year,
        twr=twr,
        benchmark_return=bench_ret,
        active_return=twr - bench_ret if twr is not None and bench_ret is not None else None,
        max_drawdown=max_dd,
        drawdown_peak=peak,
        drawdown_trough=trough_day,
        volatility=annualised_volatility(returns, periods_per_year),
        gain=gain,
        net_flows=net_flows,
        missing_prices=missing_prices,
        missing_tickers=tuple(sorted({m.ticker for m in missing_prices})),
        forward_filled=any(m.filled_from is not None for m in missing_prices),
        unvalued_days=unvalued_days,
        benchmark_filled=bench_filled,
        skipped_periods=skipped,
        flow_convention=FLOW_CONVENTION,
        notes=tuple(notes),
    )
