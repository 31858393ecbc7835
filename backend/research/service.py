"""Research over the price store: model scores per universe and backtests, cached per data
version like the momentum ScoreBook.

The panel is the momentum service's own (``MomentumService.book()``): one load of the store
per data version for scores and research alike, and ``alphavelocity-v1``'s scores are the
ScoreBook's, never recomputed. The published models' per-security signals are computed once per
data version; their cross-sectional scores once per universe; backtest answers are kept for the
last few parameter sets. When the store's data version moves, everything is dropped.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from backend.momentum.panel import FloatArray, has_close
from backend.momentum.service import MomentumService, ScoreBook
from backend.momentum.universes import ALL
from backend.reference.benchmarks import EQUITY_BENCHMARK, FIXED_INCOME_BENCHMARK
from backend.research.backtest import (
    REBALANCE_SPACING,
    BacktestParams,
    BacktestResult,
    NotEnoughData,
    cagr,
    rebalance_rows,
    run_backtest,
)
from backend.research.models import (
    DEFAULT_MODEL,
    MODELS,
    ModelInput,
    MomentumModel,
    Signals,
    get_model,
    parse_models,
)
from backend.research.schemas import (
    BacktestResponse,
    CompareResponse,
    CompareRow,
    GrowthSummary,
    InformationCoefficient,
    MeanStatistic,
    ModelInfo,
    ModelList,
    QuantileReturn,
    RebalancePoint,
)

BENCHMARK_TICKERS = (EQUITY_BENCHMARK, FIXED_INCOME_BENCHMARK)
RESULT_CACHE_SIZE = 32

Progress = Callable[[str, int, int], None]


def _f(x: float | np.floating | None) -> float | None:
    """JSON-safe float: NaN and infinities become null."""
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


@dataclass
class VersionState:
    """Everything computed for one data version of the store."""

    book: ScoreBook
    close: FloatArray
    dates: pd.DatetimeIndex
    lock: threading.Lock = field(default_factory=threading.Lock)
    signals: dict[str, Signals] = field(default_factory=dict)
    scores: dict[tuple[str, str, bool], tuple[list[int], Signals]] = field(default_factory=dict)
    results: OrderedDict[tuple[object, ...], BacktestResponse] = field(default_factory=OrderedDict)

    @property
    def data_version(self) -> int:
        return self.book.data_version


def model_list() -> ModelList:
    return ModelList(
        default=DEFAULT_MODEL,
        models=[
            ModelInfo(
                name=m.name,
                model_version=m.model_version,
                title=m.title,
                summary=m.summary,
                min_closes=m.min_closes,
                score_min=m.score_range[0],
                score_max=m.score_range[1],
                doc=m.doc,
            )
            for m in MODELS.values()
        ],
    )


class ResearchService:
    def __init__(self, momentum: MomentumService) -> None:
        self.momentum = momentum
        self._state: VersionState | None = None
        self._state_lock = threading.Lock()

    # ------------------------------------------------------------------ state

    def state(self, version: int | None = None) -> VersionState:
        """What is computed for data version `version` or newer (the momentum service's book;
        the store's version now when None)."""
        book = self.momentum.book(version)
        state = self._state
        if state is not None and state.book is book:
            return state
        with self._state_lock:
            state = self._state
            if state is None or state.book is not book:
                close = np.asarray(
                    book.panel.close.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64
                )
                state = VersionState(
                    book=book, close=close, dates=pd.DatetimeIndex(book.panel.close.index)
                )
                self._state = state
        return state

    def signals(self, model: MomentumModel, state: VersionState | None = None) -> Signals:
        """A model's per-security signals over the whole store (once per data version)."""
        st = state or self.state()
        cached = st.signals.get(model.name)
        if cached is not None:
            return cached
        with st.lock:
            cached = st.signals.get(model.name)
            if cached is None:
                if model.name == DEFAULT_MODEL:
                    cached = {"overall": st.book.frames.overall}
                else:
                    panel = st.book.panel
                    cached = model.signals(
                        ModelInput(
                            close=panel.close,
                            volume=panel.volume,
                            split=panel.split,
                            benchmark=st.book.benchmarks,
                        )
                    )
                st.signals[model.name] = cached
        return cached

    def universe_columns(
        self, universe: str, state: VersionState | None = None, members_only: bool = False
    ) -> list[int]:
        """Columns of a universe's stored members. ``members_only`` leaves out the benchmarks
        (SPY, AGG): backtests measure against them, not with them."""
        st = state or self.state()
        cols = st.book.universe_columns(universe)
        if members_only:
            tickers = st.book.frames.tickers
            cols = [c for c in cols if tickers[c] not in BENCHMARK_TICKERS]
        return cols

    def scores(
        self,
        model: MomentumModel,
        universe: str = ALL,
        members_only: bool = False,
        state: VersionState | None = None,
    ) -> tuple[list[int], Signals]:
        """(columns, signals and normalised values over those columns): ``score`` is the
        model's score of every member on every date, ranked within the universe."""
        st = state or self.state()
        key = (model.name, universe, members_only)
        cached = st.scores.get(key)
        if cached is not None:
            return cached
        cols = self.universe_columns(universe, st, members_only)
        sig = self.signals(model, st)
        idx = np.asarray(cols, dtype=np.int64)
        sub = {k: v[:, idx] for k, v in sig.items()}
        if model.name == DEFAULT_MODEL:
            # The score is absolute: no cross-sectional step, and no rank the backtest needs.
            out: Signals = {**sub, "score": sub["overall"]}
        else:
            out = {**sub, **model.normalise(sub)}
        with st.lock:
            st.scores[key] = (cols, out)
        return cols, out

    # ------------------------------------------------------------------ backtests

    def backtest(
        self,
        model_name: str,
        universe: str = ALL,
        params: BacktestParams | None = None,
        progress: Progress | None = None,
    ) -> BacktestResponse:
        params = params or BacktestParams()
        params.validate()
        model = get_model(model_name)
        return self._backtest(model, universe, params, self.state(), progress)

    def _backtest(
        self,
        model: MomentumModel,
        universe: str,
        params: BacktestParams,
        st: VersionState,
        progress: Progress | None,
        note: str | None = None,
    ) -> BacktestResponse:
        key = (model.name, universe, params, note)
        cached = st.results.get(key)
        if cached is not None:
            return cached
        if progress is not None:
            progress(f"{model.name}: scores", 0, 1)
        cols, sc = self.scores(model, universe, members_only=True, state=st)
        if progress is not None:
            progress(f"{model.name}: scores", 1, 1)
        if not cols:
            raise NotEnoughData(
                f"universe {universe!r} has no stored members",
                {"field": "universe", "value": universe, "rule": "a universe with stored prices"},
            )
        idx = np.asarray(cols, dtype=np.int64)
        bench_col = st.book.column.get(EQUITY_BENCHMARK)
        bench = st.close[:, bench_col] if bench_col is not None else None
        step: Callable[[int, int], None] | None = None
        if progress is not None:
            report, name = progress, f"{model.name}: rebalance dates"

            def _step(done: int, total: int) -> None:
                report(name, done, total)

            step = _step
        result = run_backtest(sc["score"], st.close[:, idx], st.dates, params, bench, step)
        response = self._response(model, universe, params, st, result, sc["score"], idx, note)
        with st.lock:
            st.results[key] = response
            while len(st.results) > RESULT_CACHE_SIZE:
                st.results.popitem(last=False)
        return response

    def compare(
        self,
        models: str | Sequence[str],
        universe: str = ALL,
        params: BacktestParams | None = None,
        progress: Progress | None = None,
    ) -> CompareResponse:
        """The same backtest for several models, over the same rebalance dates: the period
        starts on the first rebalance date on which every model has enough scores."""
        params = params or BacktestParams()
        params.validate()
        chosen = parse_models(models)
        st = self.state()
        candidates = rebalance_rows(st.dates, params.rebalance, params.start, params.end)
        first_common = 0
        for model in chosen:
            cols, sc = self.scores(model, universe, members_only=True, state=st)
            if not cols or candidates.size == 0:
                break  # the backtest below raises the precise error
            idx = np.asarray(cols, dtype=np.int64)
            scorable = np.isfinite(sc["score"][candidates]) & has_close(
                st.close[candidates][:, idx]
            )
            ok = np.flatnonzero(scorable.sum(axis=1) >= params.quantiles)
            if ok.size == 0:
                break
            first_common = max(first_common, int(candidates[ok[0]]))
        aligned = params
        note = None
        if first_common and (params.start is None or st.dates[first_common].date() > params.start):
            aligned = BacktestParams(
                start=st.dates[first_common].date(),
                end=params.end,
                rebalance=params.rebalance,
                horizon=params.horizon,
                quantiles=params.quantiles,
                cost_bps=params.cost_bps,
            )
            note = (
                f"Compared over the same rebalance dates: from {aligned.start}, the first on "
                f"which every model compared has a score for at least {params.quantiles} "
                "securities (the models need different histories)."
            )
        results = [self._backtest(m, universe, aligned, st, progress, note) for m in chosen]
        caveats: list[str] = []
        for r in results:
            for c in r.caveats:
                if c not in caveats:
                    caveats.append(c)
        return CompareResponse(
            universe=universe,
            start=aligned.start,
            end=aligned.end,
            rebalance=params.rebalance,
            horizon=params.horizon,
            quantiles=params.quantiles,
            cost_bps=params.cost_bps,
            summary=[
                CompareRow(
                    model=r.model,
                    model_version=r.model_version,
                    evaluated_dates=r.evaluated_dates,
                    ic_mean=r.ic.mean,
                    ic_t_stat=r.ic.t_stat,
                    ic_hit_rate=r.ic.hit_rate,
                    spread_mean=r.spread.mean,
                    spread_t_stat=r.spread.t_stat,
                    top_turnover=r.top_turnover,
                    growth_top_quantile=r.growth.top_quantile,
                    growth_top_quantile_after_costs=r.growth.top_quantile_after_costs,
                    growth_universe_equal_weight=r.growth.universe_equal_weight,
                    growth_benchmark=r.growth.benchmark,
                )
                for r in results
            ],
            results=results,
            caveats=caveats,
            data_version=st.data_version,
        )

    # ------------------------------------------------------------------ the answer

    def _caveats(
        self,
        universe: str,
        params: BacktestParams,
        st: VersionState,
        idx: np.ndarray,
        has_benchmark: bool,
        note: str | None,
    ) -> list[str]:
        sources = st.book.panel.securities["data_source"].iloc[idx]
        out = [
            f"Universe {universe!r} is its members as listed in the store today, not as they "
            "were on each date: securities that were delisted, merged or dropped before the "
            "data was collected are missing (survivorship bias), which flatters every "
            "strategy and the equal-weighted universe alike.",
        ]
        if (sources == "sample").any():
            out.append(
                "The shipped sample holds the S&P 500 constituents of April 2021 (and SPY): "
                "every company in it survived to April 2021, so the past looks better than it "
                "was."
            )
        out.append(
            "Prices are adjusted closes (splits and dividends as the source adjusts them), so "
            "returns are total returns; trades happen at the close of the rebalance date, the "
            "same close the score uses (no execution lag)."
        )
        if params.cost_bps > 0:
            out.append(
                f"Costs: {params.cost_bps:g} bps are charged on the top quantile's traded "
                "notional at each rebalance (the first purchase included); the equal-weighted "
                "universe and the benchmark are shown without costs. Taxes and market impact "
                "are not modelled."
            )
        else:
            out.append(
                "No transaction costs, taxes or market impact are charged (cost_bps=0); give "
                "cost_bps to charge a cost on the top quantile's turnover."
            )
        out.append(
            f"Forward returns and IC use {params.horizon}-day horizons; growth of 1 holds each "
            "top-quantile portfolio from one rebalance date to the next, equal-weighted at "
            "formation. Benchmarks (SPY, AGG) are not ranked as members."
        )
        if params.horizon > REBALANCE_SPACING[params.rebalance]:
            out.append(
                f"The {params.horizon}-day horizon is longer than the {params.rebalance} "
                "rebalance spacing: forward windows overlap, so the t-statistics overstate "
                "significance (they are not adjusted for overlap)."
            )
        if not has_benchmark:
            out.append(f"{EQUITY_BENCHMARK} has no prices in the store: no benchmark growth.")
        if note:
            out.append(note)
        return out

    def _response(
        self,
        model: MomentumModel,
        universe: str,
        params: BacktestParams,
        st: VersionState,
        r: BacktestResult,
        score: FloatArray,
        idx: np.ndarray,
        note: str | None,
    ) -> BacktestResponse:
        close = st.close[:, idx]
        ranked_ever = (np.isfinite(score[r.rows]) & has_close(close[r.rows])).any(axis=0)
        first, last = r.dates[0].date(), r.dates[-1].date()
        q = params.quantiles
        top_fwd = r.quantile_mean[:, q - 1]
        gb = r.growth_benchmark
        points = [
            RebalancePoint(
                date=d.date(),
                ranked=int(r.n_ranked[k]),
                evaluated=bool(r.evaluated[k]),
                ic=_f(r.ic[k]),
                spread=_f(r.spread[k]),
                top_forward_return=_f(top_fwd[k]),
                top_turnover=_f(r.turnover[k]),
                growth_top_quantile=_f(r.growth_top[k]),
                growth_top_quantile_after_costs=_f(r.growth_top_net[k]),
                growth_universe_equal_weight=_f(r.growth_universe[k]),
                growth_benchmark=_f(gb[k]) if gb is not None else None,
            )
            for k, d in enumerate(r.dates)
        ]

        def end_value(g: FloatArray | None) -> float | None:
            return _f(g[-1]) if g is not None and g.size else None

        def end_cagr(g: FloatArray | None) -> float | None:
            v = end_value(g)
            return _f(cagr(v, first, last)) if v is not None else None

        return BacktestResponse(
            model=model.name,
            model_version=model.model_version,
            universe=universe,
            universe_size=int(ranked_ever.sum()),
            benchmark=EQUITY_BENCHMARK,
            start=params.start,
            end=params.end,
            first_rebalance=first,
            last_rebalance=last,
            rebalance=params.rebalance,
            horizon=params.horizon,
            quantiles=q,
            cost_bps=params.cost_bps,
            rebalance_dates=int(r.dates.size),
            evaluated_dates=int(r.evaluated.sum()),
            skipped_dates=r.skipped,
            quantile_returns=[
                QuantileReturn(
                    quantile=j + 1,
                    mean_forward_return=_f(r.mean_quantile_return[j]),
                    mean_count=float(r.mean_quantile_count[j]),
                )
                for j in range(q)
            ],
            spread=MeanStatistic(
                mean=_f(r.spread_stat.mean),
                t_stat=_f(r.spread_stat.t_stat),
                observations=r.spread_stat.n,
            ),
            ic=InformationCoefficient(
                mean=_f(r.ic_stat.mean),
                t_stat=_f(r.ic_stat.t_stat),
                observations=r.ic_stat.n,
                hit_rate=_f(r.ic_hit_rate),
            ),
            top_turnover=_f(r.mean_turnover),
            growth=GrowthSummary(
                first_date=first,
                last_date=last,
                top_quantile=end_value(r.growth_top),
                top_quantile_after_costs=end_value(r.growth_top_net),
                universe_equal_weight=end_value(r.growth_universe),
                benchmark=end_value(gb),
                benchmark_ticker=EQUITY_BENCHMARK,
                top_quantile_cagr=end_cagr(r.growth_top),
                top_quantile_after_costs_cagr=end_cagr(r.growth_top_net),
                universe_equal_weight_cagr=end_cagr(r.growth_universe),
                benchmark_cagr=end_cagr(gb),
            ),
            series=points,
            caveats=self._caveats(universe, params, st, idx, gb is not None, note),
            data_version=st.data_version,
            data_last_date=st.dates[-1].date(),
        )
