"""Research endpoints: does a score predict returns? Backtests and model comparisons."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from backend.api.deps import ResearchDep
from backend.api.errors import beyond_schema
from backend.api.v1.params import Universe
from backend.errors import NO_DATA, START_NOT_AFTER_END
from backend.momentum.universes import ALL
from backend.research.backtest import COST_RANGE, HORIZON_RANGE, QUANTILE_RANGE, BacktestParams
from backend.research.models import (
    DEFAULT_MODEL,
    MODEL_ONCE,
    MODELS_PATTERN,
    MODELS_RULE,
    model_names,
)
from backend.research.schemas import BacktestResponse, CompareResponse, ModelList
from backend.research.service import model_list
from backend.validation import INT_TEXT, NUMBER_TEXT, IsoDate

router = APIRouter(prefix="/research", tags=["research"])

Model = Annotated[
    str,
    Query(
        description=f"One of: {', '.join(model_names())}",
        json_schema_extra={"enum": model_names()},
    ),
]
Start = Annotated[
    IsoDate | None, Query(description="First rebalance date on or after (YYYY-MM-DD)")
]
End = Annotated[
    IsoDate | None,
    Query(description="Last date used (YYYY-MM-DD): rebalance dates and forward returns"),
]
Rebalance = Annotated[
    Literal["weekly", "monthly", "quarterly"],
    Query(description="Rebalance on the last stored date of each week, month or quarter"),
]
Horizon = Annotated[
    int,
    Query(
        ge=HORIZON_RANGE[0],
        le=HORIZON_RANGE[1],
        description="Forward-return horizon (trading days)",
    ),
    INT_TEXT,
]
Quantiles = Annotated[int, Query(ge=QUANTILE_RANGE[0], le=QUANTILE_RANGE[1]), INT_TEXT]
CostBps = Annotated[
    float,
    Query(
        ge=COST_RANGE[0],
        le=COST_RANGE[1],
        description="Cost in basis points charged on the top quantile's traded notional",
    ),
    NUMBER_TEXT,
]


@router.get("/models", response_model=ModelList)
def research_models() -> ModelList:
    """The models ?model= takes, with their versions, minimum history and documents."""
    return model_list()


@router.get(
    "/backtest",
    response_model=BacktestResponse,
    openapi_extra=beyond_schema(START_NOT_AFTER_END, NO_DATA),
)
def backtest(
    service: ResearchDep,
    model: Model = DEFAULT_MODEL,
    universe: Universe = ALL,
    start: Start = None,
    end: End = None,
    rebalance: Rebalance = "monthly",
    horizon: Horizon = 21,
    quantiles: Quantiles = 5,
    cost_bps: CostBps = 0.0,
) -> BacktestResponse:
    """Rank the universe by the model's score on each rebalance date (only data up to that
    date), form quantiles and measure what followed: quantile returns, top-minus-bottom spread,
    IC, top-quantile turnover and growth of 1 against the equal-weighted universe and SPY."""
    params = BacktestParams(start, end, rebalance, horizon, quantiles, cost_bps)
    return service.backtest(model, universe, params)


@router.get(
    "/compare",
    response_model=CompareResponse,
    openapi_extra=beyond_schema(START_NOT_AFTER_END, NO_DATA, MODEL_ONCE),
)
def compare(
    service: ResearchDep,
    models: Annotated[
        str,
        Query(
            description=f"Comma-separated model names (each at most once): {MODELS_RULE}",
            json_schema_extra={"pattern": MODELS_PATTERN},
        ),
    ] = ",".join(model_names()),
    universe: Universe = ALL,
    start: Start = None,
    end: End = None,
    rebalance: Rebalance = "monthly",
    horizon: Horizon = 21,
    quantiles: Quantiles = 5,
    cost_bps: CostBps = 0.0,
) -> CompareResponse:
    """The same backtest for several models, side by side over the same rebalance dates."""
    params = BacktestParams(start, end, rebalance, horizon, quantiles, cost_bps)
    return service.compare(models, universe, params)
