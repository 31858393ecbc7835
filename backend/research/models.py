"""Momentum models as pure functions over a dates x tickers panel, and their registry.

Every model is split in two steps, so that the expensive part is computed once per data version
and the cheap part once per universe:

* ``signals(panel)`` — per-security values (returns, volatilities, ...) that depend only on the
  security's own history (and its benchmark's). Arrays are ``dates x tickers``, ``NaN`` where a
  value is not defined: no close on that date, or fewer closes than the model needs.
* ``normalise(signals)`` — the cross-sectional step (z-scores, percentiles, 1-99 ranks) over the
  columns given, row by row: the score of a date uses only that date's values of that universe.

No look-ahead: a value on date row ``t`` is computed from closes on rows ``<= t`` only. As in
``alphavelocity-v1`` (``docs/momentum-model.md``), a security's windows are counted on its *own*
trading days: ``C_{t-n}`` is the close ``n`` of its closes before ``C_t`` (no forward fill), and a
security without a close on ``t`` has no value on ``t``.

The formulas are documented one model per file in ``docs/models/``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from backend.errors import InvalidInput, Rule
from backend.momentum.engine import MODEL_VERSION as ENGINE_MODEL_VERSION
from backend.momentum.engine import score_panel
from backend.momentum.panel import (
    FloatArray,
    IntArray,
    compact,
    forward_fill,
    has_close,
    lag,
    percentile_rank,
)
from backend.reference.benchmarks import EQUITY_BENCHMARK
from backend.validation import comma_list_pattern

Signals = dict[str, FloatArray]

DEFAULT_MODEL: Final = "alphavelocity-v1"
DEFAULT_BENCHMARK: Final = EQUITY_BENCHMARK

MONTH: Final = 21  # trading days in a month
JT_FORMATION: Final = 252  # jt-12-1: return from t-252 to t-21
RA_SHORT: Final = 126  # risk-adjusted: 6-month return ...
RA_LONG: Final = 252  # ... and 12-month return, both ending at t-21
WEEK: Final = 5  # trading days in a week (weekly returns)
WEEKS_PER_YEAR: Final = 52
RA_VOL_WEEKS_LONG: Final = 156  # 3 years of weekly returns
RA_VOL_WEEKS_SHORT: Final = 52  # 1 year, when 3 years are not available
WINSOR: Final = 3.0
RS_HORIZONS: Final = (63, 126, 189, 252)
RS_WEIGHTS: Final = (0.4, 0.2, 0.2, 0.2)

JT_MIN_CLOSES: Final = JT_FORMATION + 1  # 253
RA_MIN_CLOSES: Final = MONTH + RA_LONG + 1  # 274
RS_MIN_CLOSES: Final = max(RS_HORIZONS) + 1  # 253


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class ModelInput:
    """What the models read: adjusted closes (dates x tickers, sorted DatetimeIndex, NaN where a
    ticker has no bar; a non-positive close counts as no bar), and for ``alphavelocity-v1`` the
    as-traded volume and split coefficients. ``benchmark`` maps a ticker to its benchmark's
    ticker (``SPY`` when absent); a benchmark that is not a column has no prices."""

    close: pd.DataFrame
    volume: pd.DataFrame | None = None
    split: pd.DataFrame | None = None
    benchmark: Mapping[str, str] = field(default_factory=dict)

    def close_array(self) -> FloatArray:
        return np.asarray(self.close.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


# --------------------------------------------------------------------------- cross-section


def zscore(x: FloatArray) -> FloatArray:
    """Row-wise ``(x − mean) / std`` over the finite values (population std, ddof 0). A row
    whose values are all equal (or a single value) gets z = 0; NaN stays NaN."""
    a = np.asarray(x, dtype=np.float64)
    present = np.isfinite(a)
    n = present.sum(axis=-1, keepdims=True)
    filled = np.where(present, a, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = filled.sum(axis=-1, keepdims=True) / n
        dev = np.where(present, a - mean, 0.0)
        std = np.sqrt((dev * dev).sum(axis=-1, keepdims=True) / n)
        z = np.where(std > 0.0, dev / std, 0.0)
    return np.where(present, z, np.nan)


def rank_1_99(x: FloatArray) -> FloatArray:
    """Row-wise ranks into 1-99: ``1 + round(98 · percentile / 100)`` (half up), so the weakest
    gets 1, the strongest 99, and a lone value 50."""
    pr = percentile_rank(x)
    return np.floor(1.0 + 0.98 * pr + 0.5)


# --------------------------------------------------------------------------- jt-12-1


def jt_12_1_signals(inp: ModelInput) -> Signals:
    """``r_12_1 = C_{t−21} / C_{t−252} − 1`` on the security's own closes (253 closes)."""
    cp = compact(inp.close_array())
    r = lag(cp.values, MONTH) / lag(cp.values, JT_FORMATION) - 1.0
    return {"r_12_1": cp.expand(r)}


def jt_12_1_normalise(signals: Signals) -> Signals:
    """score = the cross-sectional percentile (0-100) of ``r_12_1``."""
    return {"score": percentile_rank(signals["r_12_1"])}


# --------------------------------------------------------------------------- risk-adjusted


def weekly_volatility(compact_close: FloatArray) -> FloatArray:
    """Annualised volatility ``sqrt(52) · std(w)`` (ddof 1) of the weekly returns
    ``w_k = C_{t−5k} / C_{t−5(k+1)} − 1`` ending at each position: the last 156 (3 years) when
    the security has at least 781 closes, else the last 52 (1 year; 261 closes), else NaN.

    Computed for every position at once from running sums within each residue class mod 5."""
    w = compact_close / lag(compact_close, WEEK) - 1.0
    finite = np.isfinite(w)
    w0 = np.where(finite, w, 0.0)
    s1 = np.zeros_like(w0)
    s2 = np.zeros_like(w0)
    for r in range(WEEK):
        s1[r::WEEK] = np.cumsum(w0[r::WEEK], axis=0)
        s2[r::WEEK] = np.cumsum(w0[r::WEEK] ** 2, axis=0)
    pos = np.arange(compact_close.shape[0], dtype=np.float64)[:, np.newaxis]
    out = np.full(w.shape, np.nan)
    for weeks in (RA_VOL_WEEKS_SHORT, RA_VOL_WEEKS_LONG):
        span = WEEK * weeks
        a1 = s1 - lag(s1, span)
        a2 = s2 - lag(s2, span)
        # Rows < span: no full window (the shift is NaN there anyway).
        var = (a2 - a1 * a1 / weeks) / (weeks - 1)
        vol = np.sqrt(np.maximum(var, 0.0) * WEEKS_PER_YEAR)
        # The window's oldest weekly return w_{i-5(K-1)} needs position >= 5K, and every
        # weekly return in it must exist (no NaN inside the security's history).
        ok = (pos >= span) & np.isfinite(compact_close)
        out = np.where(ok & np.isfinite(vol), vol, out)
    return out


def risk_adjusted_signals(inp: ModelInput) -> Signals:
    """6- and 12-month returns ending one month before t, each over the annualised volatility
    of weekly returns (3 years, 1 year if less is available). Needs 274 closes."""
    cp = compact(inp.close_array())
    c = cp.values
    end = lag(c, MONTH)
    r6 = end / lag(c, MONTH + RA_SHORT) - 1.0
    r12 = end / lag(c, MONTH + RA_LONG) - 1.0
    vol = weekly_volatility(c)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = np.isfinite(r12) & np.isfinite(r6) & (vol > 0.0)
        ra6 = np.where(ok, r6 / vol, np.nan)
        ra12 = np.where(ok, r12 / vol, np.nan)
    return {
        "r6": cp.expand(r6),
        "r12": cp.expand(r12),
        "volatility": cp.expand(np.where(np.isfinite(r12), vol, np.nan)),
        "ra6": cp.expand(ra6),
        "ra12": cp.expand(ra12),
    }


def risk_adjusted_normalise(signals: Signals) -> Signals:
    """z-score each risk-adjusted return across the universe, average the two, z-score again,
    winsorise at ±3; score = the cross-sectional percentile (0-100) of that final z."""
    both = np.isfinite(signals["ra6"]) & np.isfinite(signals["ra12"])
    z6 = zscore(np.where(both, signals["ra6"], np.nan))
    z12 = zscore(np.where(both, signals["ra12"], np.nan))
    z = np.clip(zscore(0.5 * (z6 + z12)), -WINSOR, WINSOR)
    return {"z6": z6, "z12": z12, "z": z, "score": percentile_rank(z)}


# --------------------------------------------------------------------------- rs-rating


def benchmark_columns(tickers: Sequence[str], benchmark: Mapping[str, str]) -> IntArray:
    position = {t: j for j, t in enumerate(tickers)}
    return np.array(
        [position.get(benchmark.get(t, DEFAULT_BENCHMARK), -1) for t in tickers], dtype=np.int64
    )


def rs_signals(inp: ModelInput) -> Signals:
    """``RS = 0.4·q(63) + 0.2·q(126) + 0.2·q(189) + 0.2·q(252)``, ``q(n) = (1 + r(n)) / (1 +
    r_B(n))``: the security's n-day growth over its benchmark's, the benchmark's return ending on
    its last close at or before t. Needs 253 closes of the security and of the benchmark."""
    close = inp.close_array()
    cp = compact(close)
    present = has_close(close)
    bench = benchmark_columns([str(t) for t in inp.close.columns], inp.benchmark)
    known = bench >= 0
    used = np.unique(bench[known])  # the benchmark columns
    where = np.searchsorted(used, bench[known])
    out: Signals = {}
    rs = np.zeros(close.shape)
    for n, weight in zip(RS_HORIZONS, RS_WEIGHTS):
        growth = cp.expand(cp.values / lag(cp.values, n))
        # Benchmark growth as of each row: its last close at or before the row.
        own = forward_fill(growth[:, used], present[:, used])
        b = np.full(close.shape, np.nan)
        b[:, known] = own[:, where]
        q = growth / b
        out[f"q{n}"] = q
        rs = rs + weight * q
    out["rs"] = rs
    return out


def rs_normalise(signals: Signals) -> Signals:
    """RS ranked into 1-99 across the universe (99 = strongest)."""
    return {"score": rank_1_99(signals["rs"])}


# --------------------------------------------------------------------------- alphavelocity-v1


def alphavelocity_signals(inp: ModelInput) -> Signals:
    """The engine's overall score (``docs/momentum-model.md``), every ticker, every date."""
    if inp.volume is None or inp.split is None:
        raise ValueError("alphavelocity-v1 needs volume and split frames")
    frames = score_panel(inp.close, inp.volume, inp.split, dict(inp.benchmark))
    return {"overall": frames.overall}


def alphavelocity_normalise(signals: Signals) -> Signals:
    """The score is absolute (0-100): no cross-sectional step."""
    return {"score": signals["overall"]}


# --------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class MomentumModel:
    name: str
    model_version: str
    title: str
    summary: str
    min_closes: int
    score_range: tuple[float, float]
    doc: str
    signals: Callable[[ModelInput], Signals]
    normalise: Callable[[Signals], Signals]
    needs_benchmark: bool = False

    def scores(self, inp: ModelInput, columns: Sequence[int] | None = None) -> Signals:
        """Signals and normalised values (``score`` among them) over ``columns`` (all if None)."""
        sig = self.signals(inp)
        if columns is not None:
            cols = np.asarray(list(columns), dtype=np.int64)
            sig = {k: v[:, cols] for k, v in sig.items()}
        return {**sig, **self.normalise(sig)}


MODELS: Final[Mapping[str, MomentumModel]] = {
    m.name: m
    for m in (
        MomentumModel(
            name=DEFAULT_MODEL,
            model_version=ENGINE_MODEL_VERSION,
            title="AlphaVelocity momentum score, version 1",
            summary="price trend, return magnitude and acceleration, RSI, volume, rate of "
            "change and strength against a benchmark; absolute 0-100",
            min_closes=64,
            score_range=(0.0, 100.0),
            doc="docs/models/alphavelocity-v1.md",
            signals=alphavelocity_signals,
            normalise=alphavelocity_normalise,
        ),
        MomentumModel(
            name="jt-12-1",
            model_version="jt-12-1/v1",
            title="Jegadeesh-Titman 12-1 momentum",
            summary="compound return from t-252 to t-21 trading days; cross-sectional "
            "percentile 0-100",
            min_closes=JT_MIN_CLOSES,
            score_range=(0.0, 100.0),
            doc="docs/models/jt-12-1.md",
            signals=jt_12_1_signals,
            normalise=jt_12_1_normalise,
        ),
        MomentumModel(
            name="risk-adjusted",
            model_version="risk-adjusted/v1",
            title="Risk-adjusted momentum (MSCI-style)",
            summary="6- and 12-month returns ending a month before t over weekly-return "
            "volatility, z-scored, averaged, re-z-scored, winsorised at 3; percentile 0-100",
            min_closes=RA_MIN_CLOSES,
            score_range=(0.0, 100.0),
            doc="docs/models/risk-adjusted.md",
            signals=risk_adjusted_signals,
            normalise=risk_adjusted_normalise,
        ),
        MomentumModel(
            name="rs-rating",
            model_version="rs-rating/v1",
            title="Relative strength rating (IBD-style)",
            summary="0.4 q(63) + 0.2 q(126) + 0.2 q(189) + 0.2 q(252), growth over the "
            "benchmark's; ranked 1-99",
            min_closes=RS_MIN_CLOSES,
            score_range=(1.0, 99.0),
            doc="docs/models/rs-rating.md",
            signals=rs_signals,
            normalise=rs_normalise,
            needs_benchmark=True,
        ),
    )
}


def model_names() -> list[str]:
    return list(MODELS)


# What `parse_models` takes as text (declared as the schema's pattern of ?models=). The names are
# lower-case letters, digits and '-': nothing in them needs escaping.
MODELS_PATTERN = comma_list_pattern("|".join(MODELS))
MODELS_RULE = "known model names separated by commas (spaces around them allowed), each once"
MODEL_ONCE = Rule("invalid_input", "each model at most once", "each model named at most once")


def get_model(name: str, field_name: str = "model") -> MomentumModel:
    """The model called ``name``; InvalidInput (422) listing the known ones otherwise."""
    model = MODELS.get(name)
    if model is None:
        raise InvalidInput(
            f"unknown model {name!r}; known models: {', '.join(MODELS)}",
            {
                "field": field_name,
                "value": name,
                "rule": "one of the known models",
                "known": model_names(),
            },
        )
    return model


def parse_models(raw: str | Sequence[str], field_name: str = "models") -> list[MomentumModel]:
    """A comma-separated list (or a sequence) of model names, each known and listed once."""
    parts = raw.split(",") if isinstance(raw, str) else list(raw)
    names = [p.strip() for p in parts if p.strip()]
    if not names:
        raise InvalidInput(
            "no model named; give one or more of: " + ", ".join(MODELS),
            {
                "field": field_name,
                "value": raw,
                "rule": "at least one model",
                "known": model_names(),
            },
        )
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidInput(
                f"model {name!r} is named twice",
                {"field": field_name, "value": name, "rule": MODEL_ONCE.rule},
            )
        seen.add(name)
    models = [get_model(n, field_name) for n in names]
    if isinstance(raw, str) and not re.fullmatch(MODELS_PATTERN, raw):
        raise InvalidInput(
            f"{field_name} must be {MODELS_RULE}",
            {"field": field_name, "value": raw, "rule": MODELS_RULE, "known": model_names()},
        )
    return models
