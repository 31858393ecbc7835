"""Research endpoints: does a score predict returns? Backtests and model comparisons."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from backend.momentum.universes import ALL
from backend.research.backtest import COST_RANGE, HORIZON_RANGE, QUANTILE_RANGE, BacktestParams
from backend.research.models import DEFAULT_MODEL, model_names
from backend.research.schemas import BacktestResponse, CompareResponse, ModelList
from backend.research.service import ResearchService, model_list

router = APIRouter(prefix="/research", tags=["research"])

_create_lock = threading.Lock()


def get_research(request: Request) -> ResearchService:
    """The app's research service, made on first use over its momentum service."""
    state = request.app.state
    service: ResearchService | None = getattr(state, "research", None)
    if service is None:
        with _create_lock:
            service = getattr(state, "research", None)
            if service is None:
                service = ResearchService(state.momentum)
                state.research = service
    return service


ResearchDep = Annotated[ResearchService, Depends(get_research)]

Model = Annotated[str, Query(description=f"One of: {', '.join(model_names())}")]
Universe = Annotated[
    str, Query(description="all, model-portfolio, or a category slug (large-cap-anchors, ...)")
]
Start = Annotated[
    dt.date | None, Query(description="First rebalance date on or after (YYYY-MM-DD)")
]
End = Annotated[
    dt.date | None,
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
]
Quantiles = Annotated[int, Query(ge=QUANTILE_RANGE[0], le=QUANTILE_RANGE[1])]
CostBps = Annotated[
    float,
    Query(
        ge=COST_RANGE[0],
        le=COST_RANGE[1],
        description="Cost in basis points charged on the top quantile's traded notional",
    ),
]


@router.get("/models", response_model=ModelList)
def research_models() -> ModelList:
    """The models ?model= takes, with their versions, minimum history and documents."""
    return model_list()


@router.get("/backtest", response_model=BacktestResponse)
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


@router.get("/compare", response_model=CompareResponse)
def compare(
    service: ResearchDep,
    models: Annotated[
        str, Query(description="Comma-separated model names (each at most once)")
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
