"""Momentum endpoints: validate, call the service, return its model."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query

from backend.api.deps import MomentumDep
from backend.market_data.bars import TICKER_PATTERN, TICKER_RULE, normalize_ticker
from backend.momentum.schemas import (
    BatchEntry,
    BatchError,
    BatchRequest,
    BatchResponse,
    MomentumBreakdown,
    MomentumHistory,
    MomentumScore,
    TopResponse,
)
from backend.momentum.universes import ALL

router = APIRouter(prefix="/momentum", tags=["momentum"])

Ticker = Annotated[
    str, Path(pattern=TICKER_PATTERN, description=f"Ticker symbol: {TICKER_RULE}; any case")
]
AsOf = Annotated[
    dt.date | None,
    Query(description="Score as of this date (YYYY-MM-DD): the last close on or before it"),
]
Universe = Annotated[
    str, Query(description="all, model-portfolio, or a category slug (large-cap-anchors, ...)")
]


@router.get("/top", response_model=TopResponse)
def top_scores(
    service: MomentumDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 10,
    universe: Universe = ALL,
    as_of: AsOf = None,
) -> TopResponse:
    """The strongest scores of a universe on its latest scored date (or as of a date)."""
    return service.top(limit, universe, as_of)


@router.post("/batch", response_model=BatchResponse)
def batch_scores(body: BatchRequest, service: MomentumDep, as_of: AsOf = None) -> BatchResponse:
    """Scores for 1 to 500 tickers; a bad ticker gets its own error, never failing the batch."""
    valid: list[str] = []
    errors: dict[int, BatchEntry] = {}
    for i, raw in enumerate(body.tickers):
        ticker = normalize_ticker(raw)
        if ticker is None:
            errors[i] = BatchEntry(
                ticker=raw,
                error=BatchError(
                    code="invalid_input",
                    message=f"ticker {raw!r} is malformed: it must be {TICKER_RULE}",
                    details={"field": f"tickers.{i}", "rule": TICKER_RULE},
                ),
            )
        else:
            valid.append(ticker)
    scored = iter(service.batch(valid, as_of).results)
    results = [errors[i] if i in errors else next(scored) for i in range(len(body.tickers))]
    ok = sum(1 for r in results if r.score is not None)
    return BatchResponse(
        count=len(results), succeeded=ok, failed=len(results) - ok, results=results
    )


@router.get("/{ticker}", response_model=MomentumScore)
def momentum_score(
    ticker: Ticker, service: MomentumDep, as_of: AsOf = None, universe: Universe = ALL
) -> MomentumScore:
    """The momentum score of one ticker (latest, or as of a past date)."""
    return service.score(ticker.upper(), as_of, universe)


@router.get("/{ticker}/breakdown", response_model=MomentumBreakdown)
def momentum_breakdown(
    ticker: Ticker, service: MomentumDep, as_of: AsOf = None
) -> MomentumBreakdown:
    """Every intermediate of the model behind a score."""
    return service.breakdown(ticker.upper(), as_of)


@router.get("/{ticker}/history", response_model=MomentumHistory)
def momentum_history(
    ticker: Ticker,
    service: MomentumDep,
    start: Annotated[dt.date | None, Query(description="First date (YYYY-MM-DD)")] = None,
    end: Annotated[dt.date | None, Query(description="Last date (YYYY-MM-DD)")] = None,
    universe: Universe = ALL,
) -> MomentumHistory:
    """The daily score series of one ticker."""
    return service.history(ticker.upper(), start, end, universe)
