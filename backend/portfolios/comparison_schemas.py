"""Answers of the portfolio comparison and the correlation of holdings."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from backend.portfolios.diversification import AllocationRow, Diversification, HoldingRow


class SideOut(BaseModel):
    kind: Literal["model", "portfolio"]
    portfolio_id: int | None = Field(description="Null for the model portfolio")
    name: str
    prices_as_of: dt.date | None
    total_value: float = Field(description="Holdings (market value, or cost when unpriced) + cash")
    cash_weight: float | None
    momentum_score: float | None = Field(description="Value-weighted score of the holdings")


class PerformanceSummary(BaseModel):
    """One side's figures over the common window (null with `reason` when it has none)."""

    start: dt.date | None
    end: dt.date | None
    periods: int | None
    twr: float | None
    benchmark_return: float | None
    active_return: float | None
    max_drawdown: float | None
    drawdown_peak: dt.date | None
    drawdown_trough: dt.date | None
    volatility: float | None
    notes: list[str]
    reason: str | None = Field(description="Why there are no figures (null when there are)")


class CommonPerformance(BaseModel):
    start: dt.date = Field(description="First day of the common window")
    end: dt.date | None = Field(description="Last day (null: the newest stored day)")
    benchmark: str
    window_rule: str
    a: PerformanceSummary
    b: PerformanceSummary


class CompareOut(BaseModel):
    a: SideOut
    b: SideOut
    allocations: list[AllocationRow] = Field(
        description="Per category (then cash): target, both weights (of total value), gaps"
    )
    holdings: list[HoldingRow] = Field(description="Every ticker held by either, both weights")
    performance: CommonPerformance
    diversification_a: Diversification
    diversification_b: Diversification
    weight_basis: str


class PairOut(BaseModel):
    a: str
    b: str
    correlation: float | None
    observations: int = Field(description="Overlapping daily returns")
    reason: str | None = Field(description="Why the correlation is null")


class DiversificationRatioOut(BaseModel):
    ratio: float | None = Field(description="sum(w_i sigma_i) / sqrt(w' Sigma w)")
    weighted_volatility: float | None = Field(description="Daily")
    portfolio_volatility: float | None = Field(description="Daily")
    observations: int = Field(description="Days on which every weighted holding has a return")
    weights: dict[str, float] = Field(description="Of the holdings used, normalised to 1")
    left_out: dict[str, str]
    reason: str | None


class LeftOutHolding(BaseModel):
    ticker: str
    reason: str


class CorrelationOut(BaseModel):
    portfolio_id: int | None = Field(description="Null for the model portfolio")
    name: str
    start: dt.date = Field(description="First stored day of the window")
    end: dt.date = Field(description="Last stored day of the window")
    days: int = Field(description="Stored trading days in the window")
    price_basis: Literal["adj_close"]
    min_observations: int = Field(description="CORRELATION_MIN_OBSERVATIONS")
    tickers: list[str]
    matrix: list[list[float | None]] = Field(
        description="Pearson correlation of daily returns, rows and columns in `tickers` order"
    )
    observations: list[list[int]] = Field(description="Overlapping daily returns per pair")
    pairs: list[PairOut] = Field(description="Every pair once, with the reason when null")
    average_correlation: float | None = Field(description="Mean of the defined pairs")
    pairs_defined: int
    pairs_undefined: int
    returns_per_ticker: dict[str, int]
    diversification_ratio: DiversificationRatioOut
    left_out: list[LeftOutHolding] = Field(description="Holdings not in the matrix, and why")
    weights_from: str
    data_version: int
