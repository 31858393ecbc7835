"""Changing prices after a date changes nothing on or before it: scores, ranks, quantiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backend.research.backtest import BacktestParams, run_backtest
from backend.research.models import MODELS, ModelInput

pytestmark = pytest.mark.unit

CUT = 560  # the rebalance-date row after which prices are rewritten


def panel(seed: int) -> ModelInput:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2018-01-01", periods=700)
    cols = [f"S{i}" for i in range(11)] + ["SPY"]
    close = pd.DataFrame(
        30.0 * np.exp(np.cumsum(rng.normal(0.0003, 0.02, (700, 12)), axis=0)),
        index=dates,
        columns=cols,
    )
    volume = pd.DataFrame(rng.integers(1_000, 9_000, (700, 12)).astype(float), dates, cols)
    split = pd.DataFrame(1.0, index=dates, columns=cols)
    return ModelInput(close=close, volume=volume, split=split)


def shifted_future(inp: ModelInput) -> ModelInput:
    """Every price after row CUT multiplied by a random factor, and one security's future gone."""
    rng = np.random.default_rng(99)
    close = inp.close.copy()
    close.iloc[CUT + 1 :] *= rng.uniform(0.5, 2.0, close.iloc[CUT + 1 :].shape)
    close.iloc[CUT + 1 :, 3] = np.nan
    volume = inp.volume.copy() if inp.volume is not None else None
    if volume is not None:
        volume.iloc[CUT + 1 :] *= 3.0
    return ModelInput(close=close, volume=volume, split=inp.split)


@pytest.mark.parametrize("name", list(MODELS))
def test_future_prices_change_no_score_up_to_the_date(name: str) -> None:
    inp = panel(1)
    model = MODELS[name]
    universe = list(range(11))  # SPY is the benchmark, not a member
    before = model.scores(inp, universe)["score"]
    after = model.scores(shifted_future(inp), universe)["score"]
    assert np.isfinite(before[CUT]).sum() >= 5
    np.testing.assert_array_equal(before[: CUT + 1], after[: CUT + 1])
    assert not np.array_equal(before[CUT + 1 :], after[CUT + 1 :], equal_nan=True)


@pytest.mark.parametrize("name", ["jt-12-1", "alphavelocity-v1"])
def test_future_prices_change_no_ranking_before_the_date(name: str) -> None:
    original, changed = panel(2), None
    changed = shifted_future(original)
    model = MODELS[name]
    params = BacktestParams(quantiles=3, horizon=5)
    runs = []
    for inp in (original, changed):
        s = model.scores(inp, list(range(11)))["score"]
        runs.append(run_backtest(s, inp.close_array()[:, :11], inp.close.index, params))
    a, b = runs
    cut_date = original.close.index[CUT]
    k = int((a.dates <= cut_date).sum())
    assert k >= 3
    assert a.dates[:k].equals(b.dates[:k])
    assert [m.tolist() for m in a.top_members[:k]] == [m.tolist() for m in b.top_members[:k]]
    np.testing.assert_array_equal(a.n_ranked[:k], b.n_ranked[:k])
    np.testing.assert_array_equal(a.turnover[:k], b.turnover[:k])
    # Outcomes that end on or before the cut are the same too.
    done = a.rows[:k] + params.horizon <= CUT
    np.testing.assert_array_equal(a.ic[:k][done], b.ic[:k][done])
