"""The momentum API's answers by model (``?model=``): ``alphavelocity-v1``'s from the momentum
service, the other published models' from ``ModelScores``.

Each answer comes with the cache key it is kept under for a data version, so the routes cache
every model alike and read the data version once per request: the key and the computation both
take the version the request read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from backend.cache.keys import response_key, score_key
from backend.momentum.service import MomentumService
from backend.momentum.universes import ALL
from backend.research.models import DEFAULT_MODEL, get_model
from backend.research.serving import ModelScores


@dataclass(frozen=True)
class Answer:
    key: Callable[[int], str]  # the cache key of the answer for a data version
    compute: Callable[[int], BaseModel]  # the answer for a data version (blocking)


class ScoreAnswers:
    def __init__(self, momentum: MomentumService, models: ModelScores, tag: str) -> None:
        self.momentum = momentum
        self.models = models
        self.tag = tag  # alphavelocity-v1's key tag: its model version and composite weights

    def _other(
        self,
        kind: str,
        model: str,
        parts: tuple[object, ...],
        compute: Callable[[ModelScores, int], BaseModel],
    ) -> Answer:
        """Another model's answer, keyed on its model version; an unknown model is a 422
        listing the known ones (before any ticker is looked up)."""
        model_version = get_model(model).model_version
        models = self.models
        return Answer(
            lambda v: response_key(f"model-{kind}", model_version, v, *parts),
            lambda v: compute(models, v),
        )

    def score(self, model: str, ticker: str, as_of: dt.date | None, universe: str) -> Answer:
        if model != DEFAULT_MODEL:
            return self._other(
                "score",
                model,
                (ticker, as_of, universe),
                lambda m, v: m.score(model, ticker, as_of, universe, v),
            )
        return Answer(
            lambda v: score_key(self.tag, v, ticker, as_of, universe),
            lambda v: self.momentum.score(ticker, as_of, universe, v),
        )

    def breakdown(self, model: str, ticker: str, as_of: dt.date | None) -> Answer:
        """alphavelocity-v1's breakdown; another model's score with its signals (universe
        `all`), which is the same answer as its score."""
        if model != DEFAULT_MODEL:
            return self.score(model, ticker, as_of, ALL)
        return Answer(
            lambda v: response_key("breakdown", self.tag, v, ticker, as_of),
            lambda v: self.momentum.breakdown(ticker, as_of, v),
        )

    def history(
        self,
        model: str,
        ticker: str,
        start: dt.date | None,
        end: dt.date | None,
        universe: str,
    ) -> Answer:
        if model != DEFAULT_MODEL:
            return self._other(
                "history",
                model,
                (ticker, start, end, universe),
                lambda m, v: m.history(model, ticker, start, end, universe, v),
            )
        return Answer(
            lambda v: response_key("history", self.tag, v, ticker, start, end, universe),
            lambda v: self.momentum.history(ticker, start, end, universe, v),
        )

    def top(self, model: str, limit: int, universe: str, as_of: dt.date | None) -> Answer:
        if model != DEFAULT_MODEL:
            return self._other(
                "top",
                model,
                (limit, universe, as_of),
                lambda m, v: m.top(model, limit, universe, as_of, v),
            )
        return Answer(
            lambda v: response_key("top", self.tag, v, limit, universe, as_of),
            lambda v: self.momentum.top(limit, universe, as_of, v),
        )
