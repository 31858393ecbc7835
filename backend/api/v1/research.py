"""Research endpoints: does a score predict returns? Backtests and model comparisons."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from backend.api.errors import beyond_schema
from backend.cache.keys import response_key
from backend.cache.service import ScoreCache
from backend.errors import NO_DATA, START_NOT_AFTER_END
from backend.momentum.universes import ALL, universe_names
from backend.research.backtest import COST_RANGE, HORIZON_RANGE, QUANTILE_RANGE, BacktestParams
from backend.research.models import (
    DEFAULT_MODEL,
    MODEL_ONCE,
    MODELS_PATTERN,
    MODELS_RULE,
    get_model,
    model_names,
)
from backend.research.schemas import (
    BacktestResponse,
    CompareResponse,
    ModelBatchEntry,
    ModelBatchError,
    ModelList,
)
from backend.research.service import ResearchService, model_list
from backend.research.serving import ModelScores
from backend.validation import INT_TEXT, NUMBER_TEXT, IsoDate

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


def get_model_scores(request: Request) -> ModelScores:
    """Scores of the published models, served like alphavelocity-v1's (``?model=``)."""
    state = request.app.state
    scores: ModelScores | None = getattr(state, "model_scores", None)
    if scores is None:
        research = get_research(request)
        with _create_lock:
            scores = getattr(state, "model_scores", None)
            if scores is None:
                scores = ModelScores(research)
                state.model_scores = scores
    return scores


ModelScoresDep = Annotated[ModelScores, Depends(get_model_scores)]

# The names the server accepts, declared as the schema's enum (the same registries check them).
ModelParam = Annotated[
    str,
    Query(
        description=f"The model: {', '.join(model_names())} (GET /api/v1/research/models). "
        "Other models than alphavelocity-v1 answer with their own score shape.",
        json_schema_extra={"enum": model_names()},
    ),
]


async def serve_model(
    cache: ScoreCache,
    kind: str,
    model: str,
    parts: tuple[object, ...],
    compute: Callable[[], BaseModel],
) -> Response:
    """A score answer of a model other than alphavelocity-v1, cached like the momentum answers
    (keyed on the model version, the data version and the parameters). An unknown model is a
    422 listing the known ones."""
    version = get_model(model).model_version
    body, hit = await cache.cached(
        lambda v: response_key(f"model-{kind}", version, v, *parts), compute
    )
    return Response(
        body, media_type="application/json", headers={"X-Cache": "hit" if hit else "miss"}
    )


Model = Annotated[
    str,
    Query(
        description=f"One of: {', '.join(model_names())}",
        json_schema_extra={"enum": model_names()},
    ),
]
Universe = Annotated[
    str,
    Query(
        description="all, model-portfolio, or a category slug (large-cap-anchors, ...)",
        json_schema_extra={"enum": universe_names()},
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


async def serve_model_batch(
    scores: ModelScores,
    model: str,
    count: int,
    valid: list[str],
    malformed: dict[int, tuple[str, str, dict[str, object]]],
    as_of: dt.date | None,
) -> Response:
    """A batch of another model's scores: ``malformed`` maps a position to (ticker, message,
    details) of a ticker rejected before scoring; the others are scored in order."""
    get_model(model)
    answer = await run_in_threadpool(scores.batch, model, valid, as_of)
    scored = iter(answer.results)
    results = [
        (
            ModelBatchEntry(
                ticker=malformed[i][0],
                error=ModelBatchError(
                    code="invalid_input", message=malformed[i][1], details=malformed[i][2]
                ),
            )
            if i in malformed
            else next(scored)
        )
        for i in range(count)
    ]
    ok = sum(1 for r in results if r.score is not None)
    out = answer.model_copy(
        update={"count": count, "succeeded": ok, "failed": count - ok, "results": results}
    )
    return Response(out.model_dump_json(), media_type="application/json")


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
