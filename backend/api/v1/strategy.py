"""The strategy backtest of the model rule: what following the model portfolio's rebalancing
rule through the stored history would have earned (`GET /api/v1/research/strategy`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from backend.api.deps import StrategyDep
from backend.api.errors import beyond_schema, error_responses
from backend.auth.ratelimit import RateLimit
from backend.errors import START_NOT_AFTER_END
from backend.portfolios.quotes import STORED_PRICES
from backend.portfolios.strategy import COST_BPS_RANGE, MAX_CASH, RISK_FREE_RANGE, StrategyParams
from backend.portfolios.strategy_schemas import StrategyOut
from backend.portfolios.strategy_service import MIN_TRADE_RULE, STRATEGY_DATA
from backend.validation import NUMBER_TEXT, IsoDate

router = APIRouter(prefix="/research", tags=["research"])


@router.get(
    "/strategy",
    response_model=StrategyOut,
    dependencies=[RateLimit("strategy", "rate_limit_expensive")],
    responses=error_responses(422, 429, 503),
    openapi_extra=beyond_schema(START_NOT_AFTER_END, MIN_TRADE_RULE, STRATEGY_DATA, STORED_PRICES),
)
def strategy(
    service: StrategyDep,
    start: Annotated[IsoDate | None, Query(description="Default: the first stored day")] = None,
    end: Annotated[IsoDate | None, Query(description="Default: the newest stored day")] = None,
    rebalance: Annotated[
        Literal["monthly", "quarterly"],
        Query(description="On the first trading day of each month or quarter"),
    ] = "monthly",
    cash: Annotated[
        float, Query(gt=0, le=MAX_CASH, description="Starting cash"), NUMBER_TEXT
    ] = 100_000.0,
    cost_bps: Annotated[
        float,
        Query(
            ge=COST_BPS_RANGE[0],
            le=COST_BPS_RANGE[1],
            description="Cost of each trade in basis points of its amount",
        ),
        NUMBER_TEXT,
    ] = 0.0,
    min_trade: Annotated[
        float,
        Query(ge=0, le=MAX_CASH, description="Smallest trade amount (at most cash)"),
        NUMBER_TEXT,
    ] = 0.0,
    risk_free: Annotated[
        float,
        Query(
            ge=RISK_FREE_RANGE[0],
            le=RISK_FREE_RANGE[1],
            description="Yearly risk-free rate of the Sharpe ratio (0.02: 2%)",
        ),
        NUMBER_TEXT,
    ] = 0.0,
) -> StrategyOut:
    """Start with `cash`; on the first trading day of each month (or quarter) apply the model
    portfolio's rebalance planner with the category targets and the momentum scores as of
    that close (nothing later), in whole shares at that close, paying `cost_bps`; splits and
    dividends from the stored bars; valued every day. Answers the daily value beside SPY,
    TWR, CAGR, volatility, Sharpe, maximum drawdown with its dates, turnover, costs, every
    rebalance's trades and the caveats (survivorship; members without prices, named)."""
    params = StrategyParams(start, end, rebalance, cash, cost_bps, min_trade, risk_free)
    return service.run(params)
