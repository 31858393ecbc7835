"""Answer of the strategy backtest of the model rule (`GET /api/v1/research/strategy`)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Literal

import pandas as pd
from pydantic import BaseModel, Field

from backend.portfolios.strategy import Metrics, RebalanceRecord, StrategyResult


def _f(x: float | None) -> float | None:
    """JSON-safe float: NaN and infinities are null (undefined, never 0)."""
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def _day(x: pd.Timestamp | None) -> dt.date | None:
    return None if x is None else pd.Timestamp(x).date()


class StrategyMetricsOut(BaseModel):
    start_value: float
    end_value: float
    twr: float = Field(description="Time-weighted return (fraction): V_end / cash - 1")
    cagr: float | None = Field(description="(V_end / cash)^(1/years) - 1; null over 0 years")
    years: float = Field(description="(last day - first day) / 365.25 days")
    volatility: float | None = Field(description="Annualised stdev of daily returns (ddof 1)")
    sharpe: float | None = Field(description="mean(r - rf_daily) / stdev(r) * sqrt(252)")
    max_drawdown: float = Field(description="min of V_t / running max - 1 (fraction <= 0)")
    drawdown_peak: dt.date
    drawdown_trough: dt.date
    drawdown_recovered: dt.date | None = Field(
        description="First day back at the peak's value after the trough; null: not yet"
    )


def metrics_out(m: Metrics) -> StrategyMetricsOut:
    return StrategyMetricsOut(
        start_value=m.start_value,
        end_value=m.end_value,
        twr=m.twr,
        cagr=_f(m.cagr),
        years=m.years,
        volatility=_f(m.volatility),
        sharpe=_f(m.sharpe),
        max_drawdown=m.max_drawdown,
        drawdown_peak=m.drawdown_peak.date(),
        drawdown_trough=m.drawdown_trough.date(),
        drawdown_recovered=_day(m.drawdown_recovered),
    )


class StrategyPoint(BaseModel):
    date: dt.date
    value: float = Field(description="cash + sum of shares x close, end of day")
    cash: float
    drawdown: float
    benchmark_value: float | None = Field(description="The benchmark scaled to start at cash")


class StrategyTradeOut(BaseModel):
    ticker: str
    side: Literal["buy", "sell"]
    shares: int
    price: float = Field(description="The close of the rebalance day, as traded")
    amount: float
    cost: float
    category: str
    score: float | None


class StrategyRebalanceOut(BaseModel):
    date: dt.date
    cash_before: float
    cash_after: float
    bought: float
    sold: float
    costs: float
    turnover: float | None = Field(description="(bought + sold) / (2 x value before)")
    scored: int = Field(description="Members with a score and a close that day")
    untradable: list[str] = Field(description="Categories with a target but nothing to trade")
    trades: list[StrategyTradeOut]
    notes: list[str]


def rebalance_out(r: RebalanceRecord) -> StrategyRebalanceOut:
    return StrategyRebalanceOut(
        date=r.date.date(),
        cash_before=r.cash_before,
        cash_after=r.cash_after,
        bought=r.bought,
        sold=r.sold,
        costs=r.costs,
        turnover=_f(r.turnover),
        scored=r.scored,
        untradable=list(r.untradable),
        trades=[
            StrategyTradeOut(
                ticker=t.ticker,
                side=t.side,
                shares=t.shares,
                price=t.price,
                amount=t.amount,
                cost=t.cost,
                category=t.category,
                score=_f(t.score),
            )
            for t in r.trades
        ],
        notes=list(r.notes),
    )


class LeftOut(BaseModel):
    ticker: str
    reason: str


class StrategyOut(BaseModel):
    start: dt.date | None = Field(description="As asked (null: the first stored day)")
    end: dt.date | None = Field(description="As asked (null: the newest stored day)")
    first_day: dt.date
    last_day: dt.date
    trading_days: int
    rebalance: Literal["monthly", "quarterly"]
    rebalance_day: str
    cash: float
    cost_bps: float
    min_trade: float
    risk_free: float
    strategy: StrategyMetricsOut
    benchmark: str
    benchmark_metrics: StrategyMetricsOut | None = Field(
        description="Null when the store has no benchmark close on or before the first day"
    )
    costs_paid: float
    dividends_received: float
    splits_applied: int
    turnover: float = Field(description="Sum of the rebalances' turnover after the first")
    annual_turnover: float | None
    left_out: list[LeftOut] = Field(description="Members of the categories not traded, and why")
    missing_closes: int = Field(description="(day, held ticker) valued at an earlier close")
    series: list[StrategyPoint]
    rebalances: list[StrategyRebalanceOut]
    caveats: list[str]
    data_version: int
    data_last_date: dt.date
    data_sources: list[str]


def strategy_out(
    res: StrategyResult, data_version: int, data_last_date: dt.date, sources: list[str]
) -> StrategyOut:
    p, bench = res.params, res.benchmark_values
    days = pd.DatetimeIndex(res.values.index)
    values = res.values.to_numpy().tolist()
    cash = res.cash.to_numpy().tolist()
    dd = res.drawdown.to_numpy().tolist()
    bv = bench.to_numpy().tolist() if bench is not None else [None] * len(days)
    return StrategyOut(
        start=p.start,
        end=p.end,
        first_day=days[0].date(),
        last_day=days[-1].date(),
        trading_days=len(days),
        rebalance=p.rebalance,
        rebalance_day=res.rebalance_day,
        cash=p.cash,
        cost_bps=p.cost_bps,
        min_trade=p.min_trade,
        risk_free=p.risk_free_rate,
        strategy=metrics_out(res.metrics),
        benchmark=res.benchmark_name,
        benchmark_metrics=(
            metrics_out(res.benchmark_metrics) if res.benchmark_metrics is not None else None
        ),
        costs_paid=res.costs_paid,
        dividends_received=res.dividends_received,
        splits_applied=len(res.splits),
        turnover=res.turnover,
        annual_turnover=_f(res.annual_turnover),
        left_out=[LeftOut(ticker=t, reason=why) for t, why in res.left_out.items()],
        missing_closes=len(res.missing_closes),
        series=[
            StrategyPoint(date=d.date(), value=v, cash=c, drawdown=x, benchmark_value=_f(b))
            for d, v, c, x, b in zip(days, values, cash, dd, bv)
        ],
        rebalances=[rebalance_out(r) for r in res.rebalances],
        caveats=list(res.caveats),
        data_version=data_version,
        data_last_date=data_last_date,
        data_sources=sources,
    )
