"""Scores of the published models served like alphavelocity-v1's (``?model=`` on the momentum
API): one score, a breakdown, the history, a batch and the top of a universe.

The scores come from the research service's per-data-version cache (signals once per version,
cross-sectional scores once per universe), so a request is a lookup. Tickers resolve as the
momentum service resolves them (aliases, and the live provider for one it does not hold).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from backend.errors import (
    START_NOT_AFTER_END,
    AppError,
    InsufficientHistory,
    InvalidInput,
    NotFound,
)
from backend.momentum.panel import percentile_rank
from backend.momentum.service import NotStored
from backend.momentum.universes import ALL, not_a_member
from backend.reference.benchmarks import EQUITY_BENCHMARK
from backend.research.models import MomentumModel, get_model
from backend.research.schemas import (
    ModelBatchEntry,
    ModelBatchError,
    ModelBatchResponse,
    ModelHistory,
    ModelHistoryPoint,
    ModelScore,
    ModelTopResponse,
)
from backend.research.service import ResearchService, VersionState


class NoScore(InvalidInput):
    """Enough closes, but an input the model needs is missing (e.g. benchmark prices)."""

    code = "no_score"


def _r2(x: float) -> float:
    return round(float(x), 2)


def _opt(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


class ModelScores:
    def __init__(self, research: ResearchService) -> None:
        self.research = research

    # ------------------------------------------------------------------ lookups

    def _locate(self, ticker: str, version: int | None) -> tuple[VersionState, str, int]:
        """The state, stored ticker (aliases followed) and column of `ticker`; NotStored as
        the momentum service's (the API then asks the live provider for it)."""
        st = self.research.state(version)
        stored = st.book.resolve(ticker)
        if stored is None:
            raise NotStored(ticker)
        return st, stored, st.book.column[stored]

    def _universe(
        self, model: MomentumModel, universe: str, st: VersionState
    ) -> tuple[list[int], dict[str, np.ndarray]]:
        cols, sig = self.research.scores(model, universe, members_only=False, state=st)
        return cols, sig

    def _member(self, cols: list[int], col: int, ticker: str, universe: str) -> int:
        try:
            return cols.index(col)
        except ValueError:
            raise not_a_member(ticker, universe) from None

    def _build(
        self,
        model: MomentumModel,
        st: VersionState,
        requested: str,
        col: int,
        row: int | None,
        universe: str,
        cols: list[int],
        sig: dict[str, np.ndarray],
    ) -> ModelScore:
        book = st.book
        ticker = book.frames.tickers[col]
        k = self._member(cols, col, ticker, universe)
        as_of = None if row is None else str(book.dates[row])
        score = math.nan if row is None else float(sig["score"][row, k])
        if math.isnan(score):
            found = 0 if row is None else int(book.frames.n_closes[row, col])
            if found < model.min_closes:
                raise InsufficientHistory(ticker, found, model.min_closes, as_of)
            reason = "an input the model needs is missing on that date"
            if model.needs_benchmark:
                bench = book.benchmarks.get(ticker, EQUITY_BENCHMARK)
                reason = (
                    f"the benchmark {bench} has fewer than {model.min_closes} closes up to "
                    "that date, or no prices"
                )
            elif "volatility" in sig:
                reason = "its weekly-return volatility is zero or undefined"
            raise NoScore(
                f"no {model.name} score for {ticker} on {as_of}: {reason}",
                {"ticker": ticker, "model": model.name, "as_of": as_of, "reason": reason},
            )
        assert row is not None
        ranks = percentile_rank(sig["score"][row])
        sec = book.panel.securities.loc[ticker]
        raw = float(book.panel.raw_close.values[row, col])
        has_raw = not math.isnan(raw)
        name = sec["name"]
        source = sec["data_source"]
        return ModelScore(
            ticker=ticker,
            requested_ticker=requested,
            name=name if isinstance(name, str) else None,
            model=model.name,
            model_version=model.model_version,
            score=_r2(score),
            score_min=model.score_range[0],
            score_max=model.score_range[1],
            percentile_rank=_r2(ranks[k]),
            universe=universe,
            universe_size=int(np.count_nonzero(np.isfinite(sig["score"][row]))),
            as_of=pd.Timestamp(book.dates[row]).date(),
            current_price=raw if has_raw else float(st.close[row, col]),
            price_basis="close" if has_raw else "adj_close",
            data_source=source if isinstance(source, str) else None,
            closes_used=int(book.frames.n_closes[row, col]),
            closes_needed=model.min_closes,
            signals={key: _opt(float(v[row, k])) for key, v in sig.items() if key != "score"},
        )

    # ------------------------------------------------------------------ answers

    def score(
        self,
        model_name: str,
        ticker: str,
        as_of: dt.date | None = None,
        universe: str = ALL,
        version: int | None = None,
    ) -> ModelScore:
        model = get_model(model_name)
        st, _, col = self._locate(ticker, version)
        cols, sig = self._universe(model, universe, st)
        return self._build(model, st, ticker, col, st.book.row_at(col, as_of), universe, cols, sig)

    def history(
        self,
        model_name: str,
        ticker: str,
        start: dt.date | None = None,
        end: dt.date | None = None,
        universe: str = ALL,
        version: int | None = None,
    ) -> ModelHistory:
        model = get_model(model_name)
        if start is not None and end is not None and start > end:
            raise InvalidInput(
                f"start {start} is after end {end}",
                {"field": "start", "rule": START_NOT_AFTER_END.rule},
            )
        st, stored, col = self._locate(ticker, version)
        cols, sig = self._universe(model, universe, st)
        k = self._member(cols, col, stored, universe)
        book = st.book
        values = sig["score"][:, k]
        scored = np.flatnonzero(np.isfinite(values))
        first = pd.Timestamp(book.dates[scored[0]]).date() if scored.size else None
        if start is not None:
            scored = scored[book.dates[scored] >= np.datetime64(start, "D")]
        if end is not None:
            scored = scored[book.dates[scored] <= np.datetime64(end, "D")]
        ranks = percentile_rank(sig["score"][scored]) if scored.size else np.empty((0, 0))
        points = [
            ModelHistoryPoint(date=d, score=_r2(s), percentile_rank=_r2(p))
            for d, s, p in zip(
                pd.DatetimeIndex(book.dates[scored]).date,
                values[scored].tolist(),
                ranks[:, k].tolist() if scored.size else [],
            )
        ]
        source = book.panel.securities.loc[stored, "data_source"]
        return ModelHistory(
            ticker=stored,
            model=model.name,
            model_version=model.model_version,
            start=start,
            end=end,
            universe=universe,
            data_source=source if isinstance(source, str) else None,
            count=len(points),
            first_scored_date=first,
            points=points,
        )

    def batch(
        self,
        model_name: str,
        tickers: Sequence[str],
        as_of: dt.date | None = None,
        version: int | None = None,
    ) -> ModelBatchResponse:
        model = get_model(model_name)
        results = []
        for ticker in tickers:
            try:
                score = self.score(model.name, ticker, as_of, ALL, version)
                results.append(ModelBatchEntry(ticker=ticker, score=score))
            except AppError as exc:
                results.append(
                    ModelBatchEntry(
                        ticker=ticker,
                        error=ModelBatchError(
                            code=exc.code, message=exc.message, details=exc.details
                        ),
                    )
                )
        ok = sum(1 for r in results if r.score is not None)
        return ModelBatchResponse(
            model=model.name,
            model_version=model.model_version,
            count=len(results),
            succeeded=ok,
            failed=len(results) - ok,
            results=results,
        )

    def batch_in_order(
        self,
        model_name: str,
        count: int,
        valid: list[str],
        malformed: dict[int, tuple[str, str, dict[str, object]]],
        as_of: dt.date | None = None,
        version: int | None = None,
    ) -> ModelBatchResponse:
        """A batch of `count` entries in the order asked: ``malformed`` maps a position to
        (ticker, message, details) of a ticker rejected before scoring (an `invalid_input`
        entry); the ``valid`` tickers are scored in order in the other positions."""
        answer = self.batch(model_name, valid, as_of, version)
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
        return answer.model_copy(
            update={"count": count, "succeeded": ok, "failed": count - ok, "results": results}
        )

    def top(
        self,
        model_name: str,
        limit: int,
        universe: str = ALL,
        as_of: dt.date | None = None,
        version: int | None = None,
    ) -> ModelTopResponse:
        model = get_model(model_name)
        st = self.research.state(version)
        cols, sig = self._universe(model, universe, st)
        book = st.book
        score = sig["score"]
        candidates = np.flatnonzero(np.isfinite(score).any(axis=1)) if cols else np.array([])
        if as_of is not None and candidates.size:
            candidates = candidates[book.dates[candidates] <= np.datetime64(as_of, "D")]
        if candidates.size == 0:
            raise NotFound(
                f"no {model.name} scores in universe {universe!r}"
                + (f" on or before {as_of}" if as_of else ""),
                {"universe": universe, "model": model.name, "as_of": str(as_of) if as_of else None},
            )
        row = int(candidates[-1])
        present = [k for k in range(len(cols)) if math.isfinite(score[row, k])]
        tickers = book.frames.tickers
        present.sort(key=lambda k: (-float(score[row, k]), tickers[cols[k]]))
        results = [
            self._build(model, st, tickers[cols[k]], cols[k], row, universe, cols, sig)
            for k in present[:limit]
        ]
        return ModelTopResponse(
            model=model.name,
            model_version=model.model_version,
            universe=universe,
            as_of=pd.Timestamp(book.dates[row]).date(),
            universe_size=len(present),
            limit=limit,
            results=results,
        )
