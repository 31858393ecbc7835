"""A backtest of the model rule: follow the project's rebalance planner through history (pure).

``run_strategy`` starts with cash, and on each rebalance date hands the holdings, that day's
closes and the momentum scores *as of that day* to ``rebalance.plan_rebalance`` (the planner
the service uses for the model portfolio), executes its whole-share trades at that day's close,
pays the costs, applies the splits and dividends of the bars, and values the portfolio every
trading day. No I/O: the caller passes the bars, a score source and the categories.

Conventions
-----------
* **Trading days** are the dates of ``bars.close`` within ``[start, end]`` on which at least one
  member of the categories has a close. A member's split or dividend dated on a day without any
  close is still applied on that day (valued at the last closes, never a rebalance).
* **Rebalance dates: the first trading day of each month (or calendar quarter)**, plus the first
  trading day of the window, which invests the starting cash. The first day is chosen (rather
  than the last) because it is known from the dates already seen: a day is the first of its
  period when the trading day before it was in an earlier period, so the schedule never needs
  to know whether another trading day follows.
* **No look-ahead.** On day ``t`` the loop reads row ``t`` of the bars and ``scores(t)``, nothing
  later; a score frame is wrapped in :class:`AsOfScores`, which only answers the row of the last
  date ``≤ t``. The trades of a rebalance on ``t`` execute at the close of ``t`` — the close the
  scores were computed from (a market-on-close order; a caveat of the answer).
* **Order of a day:** (1) splits: ``n ← n·k`` for a held ticker with split coefficient ``k ≠ 1``;
  the fraction of a share is paid in cash at that day's close (*cash in lieu*), so holdings stay
  whole (a split on a day without a close keeps the fraction as a fractional share);
  (2) dividends: ``cash += n·d`` for the shares held entering the day (the ex-date's holders; a
  dividend on a split's day is paid on the shares after the split); (3) on a rebalance date, the
  planner's trades at the close, then their costs; (4) valuation at the close.
* **Costs.** Each executed trade pays ``cost = amount · cost_bps / 10⁴`` from cash. The planner
  never spends more than the cash plus the sales, but it does not know the costs: when
  ``cash_after_plan < Σ cost`` the buys are trimmed, lowest score first (ticker as tie-break), by
  ``⌈shortfall / (p·(1 + cost_bps/10⁴))⌉`` shares (the whole trade when what is left would be
  below ``min_trade``) until the cash covers the costs. So ``cash ≥ 0`` every day. The trims are
  listed with each rebalance.
* **Daily value** ``V_t = cash_t + Σ_k n_{t,k} · C_{t,k}`` with the end-of-day shares and the close
  as traded; a held ticker without a close on ``t`` is valued at its last earlier close (listed in
  ``missing_closes``), and the planner cannot trade it that day (it has no price).
* **Returns.** ``r_t = V_t / V_{t−1} − 1`` with ``V_{before first} = cash₀`` (the first day's
  return is the cost of the first purchase); no external flows, so
  ``TWR = Π(1 + r_t) − 1 = V_end / cash₀ − 1``.
* **CAGR** ``= (V_end / cash₀)^(1/y) − 1`` with ``y = (last day − first day) / 365.25 days``
  (None when ``y = 0``).
* **Volatility** ``σ = stdev(r_t, ddof=1) · √252``; **Sharpe**
  ``= mean(r_t − r_f) / stdev(r_t, ddof=1) · √252`` with the daily risk-free rate
  ``r_f = (1 + risk_free_rate)^(1/252) − 1`` (None with fewer than two returns or σ = 0).
* **Drawdown** ``DD_t = V_t / max_{u≤t} V_u − 1`` over the end-of-day values; the maximum drawdown
  is ``min DD_t`` with its peak and trough days, and the first day after the trough when the
  value is back at the peak's (``recovered``, None when it never is).
* **Turnover** of a rebalance ``k``: ``(bought_k + sold_k) / (2·V_k)``, ``V_k`` the planner's total
  value (priced holdings + cash before the trades). ``turnover`` sums it over the rebalances
  after the first (the first only invests the starting cash); ``annual_turnover = turnover / y``.
* **Benchmark**: its adjusted closes (dividends reinvested), forward-filled onto the trading days,
  scaled to start at ``cash₀``: ``B_t · cash₀ / B_first``; the same figures are computed for it.
* **Categories without a tradable member** (no member with a close and a score that day): their
  target stays in cash — the planner's own answer — unless ``redistribute_unpriced``, which
  spreads it over the tradable categories in proportion to their targets (``t'_c = t_c · S /
  S_tradable``; a category that still holds priced shares counts as tradable).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from backend.portfolios.analysis import (
    CategoryTarget,
    safe_ratio,
    ticker_categories,
    usable_price,
    usable_score,
)
from backend.portfolios.performance import annualised_volatility, drawdown_series
from backend.portfolios.rebalance import EPS, RebalancePlan, Side, plan_rebalance
from backend.reference.benchmarks import EQUITY_BENCHMARK

FloatArray = npt.NDArray[np.float64]
Frequency = Literal["monthly", "quarterly"]
ScoresAsOf = Callable[[pd.Timestamp], Mapping[str, float | None]]

REBALANCE_FREQUENCIES: Final[tuple[Frequency, ...]] = ("monthly", "quarterly")
REBALANCE_DAY: Final = "first trading day of the period"
_PERIOD: Final = {"monthly": "M", "quarterly": "Q"}
PERIODS_PER_YEAR: Final = 252
DAYS_PER_YEAR: Final = 365.25
COST_BPS_RANGE: Final = (0.0, 1000.0)
MAX_CASH: Final = 1e12
RISK_FREE_RANGE: Final = (-0.5, 1.0)


class StrategyParameterError(ValueError):
    """A parameter outside its rule; ``field``, ``value`` and ``rule`` name it (the API's 422)."""

    def __init__(self, field: str, value: object, rule: str) -> None:
        super().__init__(f"{field} {value!r} is invalid: {rule}")
        self.field = field
        self.value = value
        self.rule = rule


class StrategyDataError(ValueError):
    """The data cannot support a run (e.g. no member has a close in the window); ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class StrategyParams:
    """What a run is asked: the window, the schedule, the money and the costs."""

    start: dt.date | None = None
    end: dt.date | None = None
    rebalance: Frequency = "monthly"
    cash: float = 100_000.0
    cost_bps: float = 0.0
    min_trade: float = 0.0
    risk_free_rate: float = 0.0
    redistribute_unpriced: bool = False

    def validate(self) -> None:
        """``StrategyParameterError`` naming the first parameter that breaks its rule."""
        if self.rebalance not in REBALANCE_FREQUENCIES:
            rule = "one of " + ", ".join(REBALANCE_FREQUENCIES)
            raise StrategyParameterError("rebalance", self.rebalance, rule)
        if not (math.isfinite(self.cash) and 0 < self.cash <= MAX_CASH):
            raise StrategyParameterError("cash", self.cash, f"above 0 and at most {MAX_CASH:g}")
        lo, hi = COST_BPS_RANGE
        if not (math.isfinite(self.cost_bps) and lo <= self.cost_bps <= hi):
            raise StrategyParameterError("cost_bps", self.cost_bps, f"from {lo:g} to {hi:g}")
        if not (math.isfinite(self.min_trade) and 0 <= self.min_trade <= self.cash):
            raise StrategyParameterError("min_trade", self.min_trade, "from 0 to the cash")
        rlo, rhi = RISK_FREE_RANGE
        if not (math.isfinite(self.risk_free_rate) and rlo <= self.risk_free_rate <= rhi):
            rule = f"a yearly rate from {rlo:g} to {rhi:g}"
            raise StrategyParameterError("risk_free_rate", self.risk_free_rate, rule)
        if self.start is not None and self.end is not None and self.start > self.end:
            raise StrategyParameterError("start", str(self.start), "start_not_after_end")


def _date_index(index: pd.Index, what: str) -> pd.DatetimeIndex:
    out = pd.DatetimeIndex(pd.to_datetime(index)).normalize()
    if out.has_duplicates or not out.is_monotonic_increasing:
        raise ValueError(f"{what} must have sorted, unique dates")
    return out


@dataclass(frozen=True, eq=False)
class StrategyBars:
    """Daily bars, dates x tickers: ``close`` as traded (NaN, ±inf or ≤ 0: no bar), ``dividend``
    (cash per share on the ex-date; NaN: none; refused when negative or infinite) and ``split``
    (the coefficient on the split day, 4.0 for a 4-for-1; NaN, ±inf or ≤ 0 count as 1).
    ``dividend`` and ``split`` are aligned to ``close`` (re-indexed when they are not)."""

    close: pd.DataFrame
    dividend: pd.DataFrame
    split: pd.DataFrame

    def __post_init__(self) -> None:
        close = self.close.astype(np.float64)
        close.index = _date_index(self.close.index, "close")
        if not close.columns.is_unique:
            raise ValueError("close's tickers must be unique")
        close = close.where(np.isfinite(close) & (close > 0))
        div = self._aligned(self.dividend, close, "dividend").fillna(0.0)
        if not np.isfinite(div.to_numpy()).all() or (div.to_numpy() < 0).any():
            raise ValueError("dividends must be finite and ≥ 0")
        split = self._aligned(self.split, close, "split")
        split = split.where(np.isfinite(split) & (split > 0), 1.0)
        object.__setattr__(self, "close", close)
        object.__setattr__(self, "dividend", div)
        object.__setattr__(self, "split", split)

    @staticmethod
    def _aligned(frame: pd.DataFrame, like: pd.DataFrame, what: str) -> pd.DataFrame:
        out = frame.astype(np.float64)
        out.index = _date_index(frame.index, what)
        return out.reindex(index=like.index, columns=like.columns)

    @classmethod
    def from_long(cls, frame: pd.DataFrame) -> StrategyBars:
        """From the long format ``date, ticker, close[, dividend][, split]`` (the price files' and
        the store's columns; a missing ``dividend`` column means none, a missing ``split`` 1).
        Refuses a (date, ticker) given twice."""
        need = {"date", "ticker", "close"}
        if not need <= set(frame.columns):
            raise ValueError(f"long bars need the columns {sorted(need)}")
        rows = frame.assign(date=pd.to_datetime(frame["date"]).dt.normalize())
        if rows.duplicated(["date", "ticker"]).any():
            raise ValueError("a (date, ticker) appears twice")

        def wide(column: str, default: float) -> pd.DataFrame:
            if column not in rows.columns:
                values = rows.assign(**{column: default})
            else:
                values = rows
            out = values.pivot(index="date", columns="ticker", values=column).sort_index()
            return out.rename_axis(index=None, columns=None).astype(np.float64)

        return cls(wide("close", math.nan), wide("dividend", 0.0), wide("split", 1.0))


class AsOfScores:
    """A score frame (dates x tickers, NaN: no score) that only answers as of a date: the row of
    the last date ``≤ t`` (none before its first date). The frame must itself be free of
    look-ahead, as the momentum engine's is (each score reads closes up to its own date)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._dates = _date_index(frame.index, "scores")
        self._tickers = [str(t) for t in frame.columns]
        self._values = frame.to_numpy(dtype=np.float64, na_value=np.nan)

    def __call__(self, date: pd.Timestamp) -> dict[str, float | None]:
        row = int(self._dates.searchsorted(pd.Timestamp(date), side="right")) - 1
        if row < 0:
            return {}
        values: list[float] = self._values[row].tolist()
        return {t: (v if math.isfinite(v) else None) for t, v in zip(self._tickers, values)}


@dataclass(frozen=True)
class StrategyTrade:
    """An executed trade: ``amount = shares · price``, ``cost = amount · cost_bps / 10⁴``."""

    date: pd.Timestamp
    ticker: str
    side: Side
    shares: int
    price: float
    amount: float
    cost: float
    category: str
    score: float | None


@dataclass(frozen=True)
class Trim:
    """Shares taken off a planned buy so that the cash covers the costs."""

    ticker: str
    planned: int
    executed: int


@dataclass(frozen=True)
class RebalanceRecord:
    """One rebalance: the planner's answer (``plan``, before any trim), the trades executed,
    ``cash_before``/``cash_after`` (after the costs), ``bought``/``sold``/``costs`` of the executed
    trades, ``turnover = (bought + sold) / (2·plan.total_value)``, the targets used (changed only
    by ``redistribute_unpriced``), ``untradable`` (categories with a target but no member with a
    close and a score, nor a priced holding), ``scored`` (members with a score and a close that
    day) and ``notes`` (the planner's, trims, redistribution)."""

    date: pd.Timestamp
    plan: RebalancePlan
    trades: tuple[StrategyTrade, ...]
    trims: tuple[Trim, ...]
    cash_before: float
    cash_after: float
    bought: float
    sold: float
    costs: float
    turnover: float | None
    targets: Mapping[str, float]
    untradable: tuple[str, ...]
    scored: int
    notes: tuple[str, ...]


@dataclass(frozen=True)
class SplitEvent:
    """A split applied to a holding; ``cash_in_lieu`` pays the fraction of a share."""

    date: pd.Timestamp
    ticker: str
    coefficient: float
    shares_before: float
    shares_after: float
    cash_in_lieu: float


@dataclass(frozen=True)
class DividendEvent:
    """A dividend credited: ``amount = shares · per_share``."""

    date: pd.Timestamp
    ticker: str
    per_share: float
    shares: float
    amount: float


@dataclass(frozen=True)
class MissingClose:
    """A held ticker without a close on ``date``, valued at the close of ``filled_from``."""

    date: pd.Timestamp
    ticker: str
    filled_from: pd.Timestamp


@dataclass(frozen=True)
class Metrics:
    """The figures of one value series (see the module docstring for the formulas)."""

    start_value: float
    end_value: float
    twr: float
    cagr: float | None
    years: float
    volatility: float | None
    sharpe: float | None
    max_drawdown: float
    drawdown_peak: pd.Timestamp
    drawdown_trough: pd.Timestamp
    drawdown_recovered: pd.Timestamp | None


@dataclass(frozen=True)
class StrategyResult:
    """The run: daily series on the trading days (``values``, ``cash``, ``holdings_value``,
    ``returns``, ``drawdown``, ``positions`` = end-of-day shares, dates x tickers), the benchmark's
    scaled series (or None), the figures of both, every rebalance with its trades, the splits and
    dividends applied, the costs and dividends in total, turnover, the members left out and
    ``caveats`` in words."""

    params: StrategyParams
    rebalance_day: str
    values: pd.Series
    cash: pd.Series
    holdings_value: pd.Series
    returns: pd.Series
    drawdown: pd.Series
    positions: pd.DataFrame
    metrics: Metrics
    benchmark_name: str
    benchmark_values: pd.Series | None
    benchmark_metrics: Metrics | None
    rebalances: tuple[RebalanceRecord, ...]
    splits: tuple[SplitEvent, ...]
    dividends: tuple[DividendEvent, ...]
    missing_closes: tuple[MissingClose, ...]
    costs_paid: float
    dividends_received: float
    turnover: float
    annual_turnover: float | None
    left_out: Mapping[str, str]
    caveats: tuple[str, ...]


# --------------------------------------------------------------------------- schedule


def rebalance_mask(days: pd.DatetimeIndex, frequency: Frequency) -> npt.NDArray[np.bool_]:
    """True on the first of ``days`` and on each day whose month (quarter) differs from the
    previous day's: the first trading day of each period, decided from past dates only."""
    if frequency not in _PERIOD:
        raise ValueError(f"unknown rebalance frequency {frequency!r}")
    keys = np.asarray(days.to_period(_PERIOD[frequency]).asi8)
    out: npt.NDArray[np.bool_] = np.ones(len(days), dtype=bool)
    out[1:] = keys[1:] != keys[:-1]
    return out


# --------------------------------------------------------------------------- figures


def series_metrics(values: pd.Series, start_value: float, risk_free_rate: float = 0.0) -> Metrics:
    """TWR, CAGR, volatility, Sharpe and drawdown of end-of-day ``values`` (positive, on
    ascending days) that started from ``start_value`` before the first day (module docstring)."""
    v = values.to_numpy(dtype=np.float64)
    days = pd.DatetimeIndex(values.index)
    returns = values / np.concatenate([[start_value], v[:-1]]) - 1.0
    twr = float(v[-1] / start_value - 1.0)
    years = (days[-1] - days[0]).days / DAYS_PER_YEAR
    cagr = (1.0 + twr) ** (1.0 / years) - 1.0 if years > 0 and twr > -1.0 else None
    vol = annualised_volatility(returns, PERIODS_PER_YEAR)
    sharpe = None
    if vol is not None and vol > 0:
        rf_daily = (1.0 + risk_free_rate) ** (1.0 / PERIODS_PER_YEAR) - 1.0
        excess = float((returns - rf_daily).mean())
        sharpe = excess / float(returns.std(ddof=1)) * math.sqrt(PERIODS_PER_YEAR)
    dd = drawdown_series(values).to_numpy(dtype=np.float64)
    trough = int(np.argmin(dd))
    peak = int(np.argmax(v[: trough + 1]))
    back = np.flatnonzero(v[trough:] >= v[peak])
    recovered = days[trough + int(back[0])] if dd[trough] < 0 and back.size else None
    return Metrics(
        start_value=float(start_value),
        end_value=float(v[-1]),
        twr=twr,
        cagr=cagr,
        years=years,
        volatility=vol,
        sharpe=sharpe,
        max_drawdown=float(dd[trough]),
        drawdown_peak=days[peak],
        drawdown_trough=days[trough],
        drawdown_recovered=recovered,
    )


# --------------------------------------------------------------------------- the run


@dataclass
class _Book:
    """The portfolio while the loop runs."""

    tickers: list[str]
    shares: FloatArray
    cash: float
    cost_rate: float

    def held(self) -> dict[str, float]:
        return {self.tickers[j]: float(self.shares[j]) for j in np.flatnonzero(self.shares)}


def _targets_for_day(
    categories: Sequence[CategoryTarget],
    prices: Mapping[str, float | None],
    scores: Mapping[str, float | None],
    held: Mapping[str, float],
    redistribute: bool,
) -> tuple[list[CategoryTarget], tuple[str, ...], list[str]]:
    """The categories handed to the planner, the untradable ones (target > 0, no member with a
    close and a score, no priced holding) and notes. With ``redistribute`` the untradable ones
    get target 0 and the others ``t_c · S / S_tradable``."""

    def tradable(c: CategoryTarget) -> bool:
        return any(
            prices.get(t) is not None and (scores.get(t) is not None or held.get(t, 0.0) > 0)
            for t in c.tickers
        )

    idle = tuple(c.name for c in categories if c.target > 0 and not tradable(c))
    total = sum(c.target for c in categories)
    live = sum(c.target for c in categories if c.name not in idle)
    if not redistribute or not idle or live <= 0:
        return list(categories), idle, []
    scale = total / live
    out = [
        CategoryTarget(c.name, 0.0 if c.name in idle else c.target * scale, c.tickers)
        for c in categories
    ]
    note = (
        f"targets of {', '.join(idle)} (no tradable member) spread over the others (x{scale:.4f})"
    )
    return out, idle, [note]


def _trim_for_costs(
    plan: RebalancePlan, cash: float, cost_rate: float, min_trade: float
) -> tuple[dict[str, int], list[Trim]]:
    """Executed shares per traded ticker after trimming buys (lowest score first) until
    ``cash + sold − bought − cost_rate·(bought + sold) ≥ 0``."""
    executed = {t.ticker: t.shares for t in plan.trades}
    price = {t.ticker: t.price for t in plan.trades}
    sides = {t.ticker: t.side for t in plan.trades}

    def shortfall() -> float:
        sold = sum(executed[k] * price[k] for k in executed if sides[k] == "sell")
        bought = sum(executed[k] * price[k] for k in executed if sides[k] == "buy")
        return (bought + sold) * cost_rate - (cash + sold - bought)

    trims: list[Trim] = []
    buys = sorted(
        (t for t in plan.trades if t.side == "buy"),
        key=lambda t: (t.score is not None, t.score or 0.0, t.ticker),
    )
    for trade in buys:
        short = shortfall()
        if short <= 0:
            break
        p = trade.price
        drop = min(trade.shares, max(1, math.ceil(short / (p * (1.0 + cost_rate)) - EPS)))
        left = trade.shares - drop
        if left and left * p < min_trade:
            left = 0
        executed[trade.ticker] = left
        while executed[trade.ticker] > 0 and shortfall() > 0:  # float residue: one more share
            executed[trade.ticker] -= 1
            if executed[trade.ticker] * p < min_trade:
                executed[trade.ticker] = 0
        trims.append(Trim(trade.ticker, trade.shares, executed[trade.ticker]))
    if shortfall() > 0:  # impossible with cost_rate < 1: sales pay their own cost
        raise AssertionError("costs cannot be covered")
    return executed, trims


def _rebalance(
    day: pd.Timestamp,
    book: _Book,
    prices: Mapping[str, float | None],
    scores: Mapping[str, float | None],
    categories: Sequence[CategoryTarget],
    params: StrategyParams,
) -> RebalanceRecord:
    held = book.held()
    cats, idle, notes = _targets_for_day(
        categories, prices, scores, held, params.redistribute_unpriced
    )
    plan = plan_rebalance(held, prices, scores, cats, book.cash, params.min_trade)
    executed, trims = _trim_for_costs(plan, book.cash, book.cost_rate, params.min_trade)
    column = {t: j for j, t in enumerate(book.tickers)}
    trades: list[StrategyTrade] = []
    cash_before = book.cash
    for t in plan.trades:
        n = executed[t.ticker]
        if n == 0:
            continue
        amount = n * t.price
        cost = amount * book.cost_rate
        book.shares[column[t.ticker]] += n if t.side == "buy" else -n
        book.cash += (amount if t.side == "sell" else -amount) - cost
        trades.append(
            StrategyTrade(day, t.ticker, t.side, n, t.price, amount, cost, t.category, t.score)
        )
    for trim in trims:
        notes.append(
            f"{trim.ticker}: buy cut from {trim.planned} to {trim.executed} shares to pay the costs"
        )
    bought = sum(t.amount for t in trades if t.side == "buy")
    sold = sum(t.amount for t in trades if t.side == "sell")
    scored = sum(1 for t, s in scores.items() if s is not None and prices.get(t) is not None)
    return RebalanceRecord(
        date=day,
        plan=plan,
        trades=tuple(trades),
        trims=tuple(trims),
        cash_before=cash_before,
        cash_after=book.cash,
        bought=bought,
        sold=sold,
        costs=sum(t.cost for t in trades),
        turnover=safe_ratio(bought + sold, 2.0 * plan.total_value),
        targets={c.name: c.target for c in cats},
        untradable=idle,
        scored=scored,
        notes=tuple(plan.notes) + tuple(notes),
    )


def _split(day: pd.Timestamp, j: int, k: float, close: float, book: _Book) -> SplitEvent:
    """``n ← n·k``, the fraction of a share paid at ``close`` (cash in lieu); without a close the
    fraction is kept (nothing to price it at, and nothing is lost)."""
    before = float(book.shares[j])
    after = before * k
    lieu = 0.0
    if math.isfinite(close):
        whole = float(math.floor(after + EPS))
        lieu = max(0.0, after - whole) * close
        after = whole
    book.shares[j] = after
    book.cash += lieu
    return SplitEvent(day, book.tickers[j], k, before, after, lieu)


def run_strategy(
    bars: StrategyBars,
    scores: ScoresAsOf | pd.DataFrame,
    categories: Sequence[CategoryTarget],
    params: StrategyParams,
    benchmark: pd.Series | None = None,
    benchmark_name: str = EQUITY_BENCHMARK,
) -> StrategyResult:
    """Follow the model rule from ``params.start`` to ``params.end`` (see the module docstring).

    ``bars``: closes as traded, dividends and splits. ``scores``: ``scores(t)`` -> ticker ->
    score as of the close of ``t`` (None or absent: no score), or a score frame (wrapped in
    :class:`AsOfScores`). ``categories``: targets and members (``analysis.CategoryTarget``).
    ``benchmark``: the benchmark's adjusted closes (or None).

    Per day: splits ``n ← n·k`` (fraction paid in cash), dividends ``cash += n·d``, on rebalance
    days ``plan_rebalance(shares, closes_t, scores(t), categories, cash, min_trade)`` executed at
    ``C_t`` with ``cost = |amount|·bps/10⁴``, then ``V_t = cash_t + Σ n·C_t``.

    Raises ``StrategyParameterError`` for a bad parameter, ``StrategyDataError`` when no member
    has a close in the window, ``ValueError`` for invalid categories.
    """
    params.validate()
    cat_of = ticker_categories(categories)
    source: ScoresAsOf
    if isinstance(scores, pd.DataFrame):
        source = AsOfScores(scores.reindex(columns=sorted(cat_of)))
    else:
        source = scores

    close_all = bars.close
    lo = pd.Timestamp(params.start) if params.start is not None else close_all.index.min()
    hi = pd.Timestamp(params.end) if params.end is not None else close_all.index.max()
    in_window = (close_all.index >= lo) & (close_all.index <= hi)
    known = [t for t in sorted(cat_of) if t in close_all.columns]
    has_close = close_all.loc[in_window, known].notna().any(axis=0)
    priced = [t for t in known if bool(has_close[t])]
    left_out = {t: "no stored prices" for t in sorted(cat_of) if t not in close_all.columns}
    left_out.update({t: "no close between the start and the end" for t in known if t not in priced})
    if not priced:
        raise StrategyDataError("no member of the categories has a close in the window")
    member_close = close_all[priced]
    all_divs = bars.dividend[priced].to_numpy(dtype=np.float64)
    all_splits = bars.split[priced].to_numpy(dtype=np.float64)
    any_close = member_close.notna().any(axis=1).to_numpy()
    # a split or dividend dated on a day without any close still happens (never a rebalance)
    any_event = ((all_splits != 1.0) | (all_divs > 0)).any(axis=1)
    days_mask = in_window & (any_close | any_event)
    days = pd.DatetimeIndex(close_all.index[days_mask])

    closes = member_close.to_numpy(dtype=np.float64)[days_mask]
    filled = member_close.ffill().to_numpy(dtype=np.float64)[days_mask]
    divs, splits, event_day = all_divs[days_mask], all_splits[days_mask], any_event[days_mask]
    trading = any_close[days_mask]
    rebalance = np.zeros(len(days), dtype=bool)
    rebalance[trading] = rebalance_mask(days[trading], params.rebalance)

    book = _Book(priced, np.zeros(len(priced)), float(params.cash), params.cost_bps / 1e4)
    shares_hist = np.zeros((len(days), len(priced)))
    cash_hist = np.zeros(len(days))
    records: list[RebalanceRecord] = []
    split_events: list[SplitEvent] = []
    dividend_events: list[DividendEvent] = []
    for i, day in enumerate(days):
        if event_day[i]:
            held = book.shares > 0
            for j in np.flatnonzero(held & (splits[i] != 1.0)):
                split_events.append(_split(day, int(j), float(splits[i, j]), closes[i, j], book))
            for j in np.flatnonzero((book.shares > 0) & (divs[i] > 0)):
                n, d = float(book.shares[j]), float(divs[i, j])
                book.cash += n * d
                dividend_events.append(DividendEvent(day, priced[j], d, n, n * d))
        if rebalance[i]:
            prices = {t: usable_price(float(closes[i, j])) for j, t in enumerate(priced)}
            as_of = source(day)
            day_scores = {t: usable_score(as_of.get(t)) for t in cat_of}
            records.append(_rebalance(day, book, prices, day_scores, categories, params))
        shares_hist[i] = book.shares
        cash_hist[i] = book.cash

    held_hist = shares_hist != 0
    holdings = np.where(held_hist, shares_hist * np.nan_to_num(filled), 0.0).sum(axis=1)
    values = pd.Series(holdings + cash_hist, index=days, dtype=np.float64)
    missing = _missing_closes(days, priced, member_close, held_hist & np.isnan(closes))
    metrics = series_metrics(values, params.cash, params.risk_free_rate)
    bench_values = _benchmark_values(benchmark, days, params.cash)
    bench_metrics = (
        series_metrics(bench_values, params.cash, params.risk_free_rate)
        if bench_values is not None
        else None
    )
    later = [r.turnover for r in records[1:] if r.turnover is not None]
    turnover = float(sum(later))
    positions = pd.DataFrame(shares_hist, index=days, columns=pd.Index(priced))
    return StrategyResult(
        params=params,
        rebalance_day=REBALANCE_DAY,
        values=values,
        cash=pd.Series(cash_hist, index=days, dtype=np.float64),
        holdings_value=pd.Series(holdings, index=days, dtype=np.float64),
        returns=values / np.concatenate([[params.cash], values.to_numpy()[:-1]]) - 1.0,
        drawdown=drawdown_series(values),
        positions=positions.loc[:, positions.ne(0).any(axis=0)],
        metrics=metrics,
        benchmark_name=benchmark_name,
        benchmark_values=bench_values,
        benchmark_metrics=bench_metrics,
        rebalances=tuple(records),
        splits=tuple(split_events),
        dividends=tuple(dividend_events),
        missing_closes=missing,
        costs_paid=float(sum(r.costs for r in records)),
        dividends_received=float(sum(e.amount for e in dividend_events)),
        turnover=turnover,
        annual_turnover=turnover / metrics.years if metrics.years > 0 else None,
        left_out=left_out,
        caveats=_caveats(params, left_out, records, missing, bench_values, benchmark_name),
    )


def _missing_closes(
    days: pd.DatetimeIndex,
    tickers: list[str],
    close: pd.DataFrame,
    missing: npt.NDArray[np.bool_],
) -> tuple[MissingClose, ...]:
    """Each (day, held ticker) without a close, with the day of the close it was valued at."""
    if not missing.any():
        return ()
    out = []
    for i, j in zip(*np.nonzero(missing)):
        past = close[tickers[j]].loc[: days[i]].dropna()
        out.append(MissingClose(days[i], tickers[j], pd.Timestamp(past.index[-1])))
    return tuple(out)


def _benchmark_values(
    benchmark: pd.Series | None, days: pd.DatetimeIndex, cash: float
) -> pd.Series | None:
    """``cash · B_t / B_first`` on ``days``, forward-filled; None without a close on or before
    the first day."""
    if benchmark is None:
        return None
    bench = benchmark.astype(np.float64)
    bench.index = _date_index(benchmark.index, "benchmark")
    bench = bench[np.isfinite(bench) & (bench > 0)]
    on_days = bench.reindex(bench.index.union(days)).ffill().reindex(days)
    if not math.isfinite(float(on_days.iloc[0])):
        return None
    return on_days / float(on_days.iloc[0]) * cash


def _caveats(
    params: StrategyParams,
    left_out: Mapping[str, str],
    records: Sequence[RebalanceRecord],
    missing: Sequence[MissingClose],
    bench_values: pd.Series | None,
    benchmark_name: str,
) -> tuple[str, ...]:
    out = [
        "survivorship: the categories' members are today's lists and the price data holds "
        "today's constituents; securities that were dropped or delisted are missing, which "
        "flatters past results",
        "trades execute at the close the scores were computed from (market-on-close), with no "
        "cost beyond cost_bps",
        "dividends are credited in cash on the ex-date and invested at the next rebalance; the "
        "benchmark's adjusted close reinvests them at once",
    ]
    if left_out:
        names = ", ".join(f"{t} ({why})" for t, why in left_out.items())
        out.append(f"members left out, no prices: {names}")
    unscored = [r.date for r in records if r.scored == 0]
    if unscored:
        out.append(
            f"{len(unscored)} of {len(records)} rebalances had no member with a score and a close "
            f"(history shorter than the model needs), first {unscored[0].date()}: nothing traded"
        )
    idle: dict[str, int] = {}
    for r in records:
        if r.scored:
            for name in r.untradable:
                idle[name] = idle.get(name, 0) + 1
    if idle:
        fate = (
            "spread over the other categories" if params.redistribute_unpriced else "held in cash"
        )
        scored = sum(1 for r in records if r.scored)
        names = ", ".join(f"{n} ({k} of {scored})" for n, k in idle.items())
        out.append(
            f"categories without a tradable member (a close and a score) on the rebalances with "
            f"scores, their target {fate}: {names}"
        )
    if missing:
        names = ", ".join(sorted({m.ticker for m in missing}))
        out.append(f"held without a close on some days, valued at the last close: {names}")
    if bench_values is None:
        out.append(f"no {benchmark_name} close on or before the first day: no benchmark")
    return tuple(out)
