"""Response models of the research API (backtests, comparisons, the model registry)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field, RootModel

from backend.momentum.schemas import (
    BatchResponse,
    MomentumBreakdown,
    MomentumHistory,
    MomentumScore,
    TopResponse,
)


class ModelInfo(BaseModel):
    name: str = Field(description="What ?model= takes")
    model_version: str
    title: str
    summary: str
    min_closes: int = Field(description="Closes a security needs up to a date to have a score")
    score_min: float
    score_max: float
    doc: str = Field(description="The model's document in the repository")


class ModelList(BaseModel):
    default: str
    models: list[ModelInfo]


class QuantileReturn(BaseModel):
    quantile: int = Field(description="1 = lowest scores ... quantiles = highest scores")
    mean_forward_return: float | None = Field(
        description="Equal-weighted mean forward return over the horizon, averaged over the "
        "evaluated rebalance dates (a fraction: 0.01 = 1%)"
    )
    mean_count: float = Field(description="Mean number of securities in the quantile")


class MeanStatistic(BaseModel):
    mean: float | None
    t_stat: float | None = Field(description="mean / (sd / sqrt(n)), sd with ddof 1")
    observations: int


class InformationCoefficient(MeanStatistic):
    hit_rate: float | None = Field(description="Share of evaluated dates with IC > 0")


class GrowthSummary(BaseModel):
    first_date: dt.date
    last_date: dt.date
    top_quantile: float | None = Field(description="Growth of 1, equal-weighted, no costs")
    top_quantile_after_costs: float | None = Field(
        description="Growth of 1 after cost_bps on traded notional (equal to top_quantile "
        "when cost_bps is 0)"
    )
    universe_equal_weight: float | None = Field(
        description="Growth of 1 of every ranked security, equal-weighted, no costs"
    )
    benchmark: float | None = Field(description="Growth of 1 of the benchmark (null: no prices)")
    benchmark_ticker: str
    top_quantile_cagr: float | None
    top_quantile_after_costs_cagr: float | None
    universe_equal_weight_cagr: float | None
    benchmark_cagr: float | None


class RebalancePoint(BaseModel):
    date: dt.date
    ranked: int = Field(description="Securities with a score and a close on the date")
    evaluated: bool = Field(description="The forward horizon ends on or before the period's end")
    ic: float | None
    spread: float | None = Field(description="Top-quantile minus bottom-quantile forward return")
    top_forward_return: float | None
    top_turnover: float | None = Field(description="Share of the top quantile replaced")
    growth_top_quantile: float | None
    growth_top_quantile_after_costs: float | None
    growth_universe_equal_weight: float | None
    growth_benchmark: float | None


class BacktestResponse(BaseModel):
    model: str
    model_version: str
    universe: str
    universe_size: int = Field(description="Securities ranked on at least one rebalance date")
    benchmark: str
    start: dt.date | None = Field(description="start as asked (null: the store's first date)")
    end: dt.date | None = Field(description="end as asked (null: the store's last date)")
    first_rebalance: dt.date
    last_rebalance: dt.date
    rebalance: str
    horizon: int = Field(description="Forward-return horizon in trading days")
    quantiles: int
    cost_bps: float
    rebalance_dates: int = Field(description="Rebalance dates with enough ranked securities")
    evaluated_dates: int = Field(description="Rebalance dates whose forward horizon is complete")
    skipped_dates: int = Field(description="Rebalance dates with fewer scores than quantiles")
    quantile_returns: list[QuantileReturn]
    spread: MeanStatistic = Field(description="Top-minus-bottom forward return per date")
    ic: InformationCoefficient = Field(description="Spearman rank IC of score vs forward return")
    top_turnover: float | None = Field(description="Mean share of the top quantile replaced")
    growth: GrowthSummary
    series: list[RebalancePoint]
    caveats: list[str]
    data_version: int
    data_last_date: dt.date = Field(description="The store's last date")


class CompareRow(BaseModel):
    model: str
    model_version: str
    evaluated_dates: int
    ic_mean: float | None
    ic_t_stat: float | None
    ic_hit_rate: float | None
    spread_mean: float | None
    spread_t_stat: float | None
    top_turnover: float | None
    growth_top_quantile: float | None
    growth_top_quantile_after_costs: float | None
    growth_universe_equal_weight: float | None
    growth_benchmark: float | None


class CompareResponse(BaseModel):
    universe: str
    start: dt.date | None
    end: dt.date | None
    rebalance: str
    horizon: int
    quantiles: int
    cost_bps: float
    summary: list[CompareRow] = Field(description="One row per model, in the order asked")
    results: list[BacktestResponse]
    caveats: list[str]
    data_version: int


# ------------------------------------------------------------------ scores of other models


class ModelScore(BaseModel):
    """A score of a model other than alphavelocity-v1 (``?model=`` on the momentum API)."""

    ticker: str = Field(description="The stored ticker the score is for")
    requested_ticker: str
    name: str | None = None
    model: str
    model_version: str
    score: float = Field(description="The model's score, rounded to 2 decimals")
    score_min: float
    score_max: float
    percentile_rank: float = Field(description="0-100 among the universe on the same date")
    universe: str
    universe_size: int = Field(description="Securities with a score in the universe that date")
    as_of: dt.date = Field(description="Date of the last close used")
    current_price: float = Field(description="The close on as_of, as traded")
    price_basis: str = Field(description="'close' (as traded) or 'adj_close'")
    data_source: str | None
    closes_used: int
    closes_needed: int = Field(description="The model's minimum history")
    signals: dict[str, float | None] = Field(
        description="The model's inputs and cross-sectional steps on as_of (unrounded), "
        "as its document in docs/models/ names them"
    )


class ModelHistoryPoint(BaseModel):
    date: dt.date
    score: float
    percentile_rank: float


class ModelHistory(BaseModel):
    ticker: str
    model: str
    model_version: str
    start: dt.date | None
    end: dt.date | None
    universe: str
    data_source: str | None
    count: int
    first_scored_date: dt.date | None
    points: list[ModelHistoryPoint]


class ModelTopResponse(BaseModel):
    model: str
    model_version: str
    universe: str
    as_of: dt.date
    universe_size: int
    limit: int
    results: list[ModelScore]


class ModelBatchError(BaseModel):
    code: str
    message: str
    details: dict[str, object] = Field(default_factory=dict)


class ModelBatchEntry(BaseModel):
    ticker: str
    score: ModelScore | None = None
    error: ModelBatchError | None = None


class ModelBatchResponse(BaseModel):
    model: str
    model_version: str
    count: int
    succeeded: int
    failed: int
    results: list[ModelBatchEntry]


# ------------------------------------------------------------------ answers of ?model=
# The momentum endpoints answer in alphavelocity-v1's shape by default and in the model's own
# shape for another ?model=; these named unions document both in the OpenAPI schema.


class ScoreAnswer(RootModel[MomentumScore | ModelScore]):
    """MomentumScore (alphavelocity-v1) or ModelScore (another ?model=)."""


class BreakdownAnswer(RootModel[MomentumBreakdown | ModelScore]):
    """MomentumBreakdown (alphavelocity-v1) or ModelScore with its signals (another ?model=)."""


class HistoryAnswer(RootModel[MomentumHistory | ModelHistory]):
    """MomentumHistory (alphavelocity-v1) or ModelHistory (another ?model=)."""


class TopAnswer(RootModel[TopResponse | ModelTopResponse]):
    """TopResponse (alphavelocity-v1) or ModelTopResponse (another ?model=)."""


class BatchAnswer(RootModel[BatchResponse | ModelBatchResponse]):
    """BatchResponse (alphavelocity-v1) or ModelBatchResponse (another ?model=)."""
