"""A deliberately plain reference of the strategy backtest: one day at a time, one ticker at a
time, pandas ``.at`` look-ups and dicts, written from the rules in words (README, issue 13), not
from ``backend/portfolios/strategy.py``. The tests and ``bench/strategy_bench.py`` hold the
vectorised run to it.

Rules: first trading day of the window and of each month/quarter; split ``n ← n·k`` with the
fraction paid at the close; dividends on the shares held entering the day; the planner's trades
at the close, buys cut one share at a time (lowest score first) until the cash pays
``bps/10⁴`` of every trade; value = cash + Σ shares × last close.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from backend.portfolios.analysis import CategoryTarget
from backend.portfolios.rebalance import plan_rebalance


@dataclass
class ReferenceRun:
    values: pd.Series
    cash: pd.Series
    trades: list[tuple[pd.Timestamp, str, str, int, float]]  # date, ticker, side, shares, price


def _valid(x: float) -> bool:
    return isinstance(x, float) and math.isfinite(x) and x > 0


def reference_strategy(
    close: pd.DataFrame,
    dividend: pd.DataFrame,
    split: pd.DataFrame,
    scores_at: Callable[[pd.Timestamp], Mapping[str, float | None]],
    categories: Sequence[CategoryTarget],
    start: pd.Timestamp,
    end: pd.Timestamp,
    frequency: str,
    cash: float,
    cost_bps: float,
    min_trade: float,
) -> ReferenceRun:
    rate = cost_bps / 10_000
    members = sorted(t for c in categories for t in c.tickers if t in close.columns)
    days = [
        d
        for d in close.index
        if start <= d <= end and any(_valid(float(close.at[d, t])) for t in members)
    ]
    shares: dict[str, float] = {}
    last_close: dict[str, float] = {}
    values, cash_days, trades = [], [], []
    previous_period = None
    for d in days:
        for t in members:
            c = float(close.at[d, t])
            if _valid(c):
                last_close[t] = c
        for t in list(shares):
            k = float(split.at[d, t]) if t in split.columns else 1.0
            if _valid(k) and k != 1.0 and shares[t] > 0:
                new = shares[t] * k
                whole = math.floor(new + 1e-9)
                c = float(close.at[d, t])
                if _valid(c):
                    cash += (new - whole) * c
                shares[t] = whole
        for t in list(shares):
            dv = float(dividend.at[d, t]) if t in dividend.columns else 0.0
            if shares[t] > 0 and _valid(dv):
                cash += shares[t] * dv
        period = (d.year, d.month if frequency == "monthly" else (d.month - 1) // 3)
        if period != previous_period:
            prices: dict[str, float | None] = {}
            for t in members:
                c = float(close.at[d, t])
                prices[t] = c if _valid(c) else None
            all_scores = scores_at(d)
            scores = {t: all_scores.get(t) for t in members}
            plan = plan_rebalance(dict(shares), prices, scores, categories, cash, min_trade)
            n = {t.ticker: t.shares for t in plan.trades}

            def short() -> float:
                amount = sum(n[t.ticker] * t.price for t in plan.trades)
                sold = sum(n[t.ticker] * t.price for t in plan.trades if t.side == "sell")
                bought = amount - sold
                return amount * rate - (cash + sold - bought)

            for trade in sorted(
                (t for t in plan.trades if t.side == "buy"),
                key=lambda t: (t.score is not None, t.score or 0.0, t.ticker),
            ):
                while short() > 0 and n[trade.ticker] > 0:
                    n[trade.ticker] -= 1
                if n[trade.ticker] * trade.price < min_trade:
                    n[trade.ticker] = 0
            for trade in plan.trades:
                q = n[trade.ticker]
                if q == 0:
                    continue
                amount = q * trade.price
                if trade.side == "buy":
                    shares[trade.ticker] = shares.get(trade.ticker, 0.0) + q
                    cash -= amount + amount * rate
                else:
                    shares[trade.ticker] -= q
                    cash += amount - amount * rate
                trades.append((d, trade.ticker, trade.side, q, trade.price))
        previous_period = period
        values.append(cash + sum(q * last_close[t] for t, q in shares.items() if q))
        cash_days.append(cash)
    index = pd.DatetimeIndex(days)
    return ReferenceRun(pd.Series(values, index=index), pd.Series(cash_days, index=index), trades)
