"""The engine against the simple one-security reference, and against TA-Lib, on real prices.

Every component on every date of several real tickers must agree to 1e-9: long histories (AAPL,
MSFT, XOM), TSLA and AAPL across their 2020-08-31 splits, late starters (VTRS, OTIS), a ticker whose
20-day mean ties its close exactly (DISCK) and SPY against itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

from backend.momentum.engine import FLOAT_FIELDS, CompositeWeights, left_out_names, score_panel
from backend.momentum.model import wilder_rsi
from tests.support.reference_momentum import reference_scores
from tests.unit.momentum.conftest import Panel, PanelMaker

pytestmark = pytest.mark.unit

TICKERS = ["AAPL", "MSFT", "XOM", "TSLA", "VTRS", "OTIS", "DISCK"]
TOL = 1e-9


@pytest.fixture(scope="module")
def panel(make_panel: PanelMaker) -> Panel:
    return make_panel(TICKERS)


def assert_matches_reference(
    frames_values: dict[str, np.ndarray],
    n_closes: np.ndarray,
    left_out: np.ndarray,
    ref: pd.DataFrame,
    label: str,
) -> None:
    for name in FLOAT_FIELDS:
        got, want = frames_values[name], ref[name].to_numpy(dtype=np.float64)
        assert np.array_equal(np.isnan(got), np.isnan(want)), f"{label} {name}: NaN pattern"
        np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL, err_msg=f"{label} {name}")
    np.testing.assert_array_equal(n_closes, ref["n_closes"].to_numpy(), err_msg=label)
    names = [tuple(sorted(left_out_names(int(mask)))) for mask in left_out]
    assert names == list(ref["left_out"]), f"{label}: left_out"


def compare_column(
    close: pd.DataFrame,
    volume: pd.DataFrame,
    split: pd.DataFrame,
    ticker: str,
    weights: CompositeWeights = CompositeWeights(),
    benchmark: str = "SPY",
) -> None:
    frames = score_panel(close, volume, split, {ticker: benchmark}, weights=weights)
    ref = reference_scores(
        close[ticker],
        volume[ticker],
        split[ticker],
        close[benchmark] if benchmark in close else None,
        weights=weights.as_tuple(),
    )
    rows = close.index.get_indexer(ref.index)
    j = frames.tickers.index(ticker)
    values = {name: getattr(frames, name)[rows, j] for name in FLOAT_FIELDS}
    assert_matches_reference(
        values, frames.n_closes[rows, j], frames.left_out[rows, j], ref, ticker
    )
    # and nothing on the dates without a close
    others = np.setdiff1d(np.arange(len(close)), rows)
    assert np.isnan(frames.overall[others, j]).all()


@pytest.mark.parametrize("ticker", TICKERS + ["SPY"])
def test_every_date_matches_the_reference(panel: Panel, ticker: str) -> None:
    compare_column(*panel, ticker)


def test_late_starters_have_the_right_history(panel: Panel) -> None:
    close, volume, split = panel
    frames = score_panel(close, volume, split, {})
    n_total = frames.frame("n_closes").iloc[-1]
    assert n_total["VTRS"] == 107 and n_total["OTIS"] == 275  # real short histories
    scored = frames.frame("overall").notna().sum()
    assert scored["VTRS"] == 107 - 63 and scored["OTIS"] == 275 - 63


def test_spy_scores_itself_at_fifty(panel: Panel) -> None:
    frames = score_panel(*panel, benchmark={})
    rel = frames.frame("relative")["SPY"].dropna()
    assert len(rel) > 1000 and (rel == 50.0).all()
    assert (frames.frame("relative_gap")["SPY"].dropna() == 0.0).all()


def test_custom_weights_match_the_reference(panel: Panel) -> None:
    compare_column(*panel, "MSFT", weights=CompositeWeights(0.6, 0.3, 0.1))


def test_missing_benchmark_leaves_relative_out(panel: Panel) -> None:
    close, volume, split = panel
    compare_column(close, volume, split, "XOM", benchmark="AGG")  # AGG is not in the panel
    frames = score_panel(close, volume, split, {"XOM": "AGG"}, rows=[-1])
    j = frames.tickers.index("XOM")
    assert "relative" in left_out_names(int(frames.left_out[0, j]))
    assert np.isnan(frames.relative[0, j]) and not frames.complete[0, j]
    p, t = frames.price[0, j], frames.technical[0, j]
    assert frames.overall[0, j] == pytest.approx((0.5 * p + 0.35 * t) / 0.85, rel=1e-12)


def test_aapl_split_day_volume_score_by_hand(panel: Panel, sp500_bars: pd.DataFrame) -> None:
    """AAPL 4-for-1 on 2020-08-31: the 30 sessions before count 4x, so the ratio stays sane."""
    rows = sp500_bars[sp500_bars["ticker"] == "AAPL"].reset_index(drop=True)
    day = rows.index[rows["date"] == pd.Timestamp("2020-08-31")][0]
    assert rows.loc[day, "split"] == 4.0
    today = rows.loc[day, "volume"]
    before = rows.loc[day - 30 : day - 1, "volume"].to_numpy()
    assert len(before) == 30
    ratio = today / (4.0 * before).mean()
    by_hand = min(100.0, 50.0 * ratio)
    naive = min(100.0, 50.0 * today / before.mean())
    assert 0.5 < ratio < 3.0 and naive == 100.0  # unadjusted, the split would look like a spike

    frames = score_panel(*panel, benchmark={})
    got = frames.frame("s_vol").loc["2020-08-31", "AAPL"]
    assert got == pytest.approx(by_hand, rel=1e-12)
    assert frames.frame("volume_ratio").loc["2020-08-31", "AAPL"] == pytest.approx(ratio, rel=1e-12)
    # the day after: 29 pre-split sessions (x4) and the split day itself (x1)
    nxt = rows.loc[day + 1, "volume"]
    window = np.concatenate([4.0 * rows.loc[day - 29 : day - 1, "volume"].to_numpy(), [today]])
    got_next = frames.frame("volume_ratio").loc[rows.loc[day + 1, "date"], "AAPL"]
    assert got_next == pytest.approx(nxt / window.mean(), rel=1e-12)


@pytest.mark.parametrize("ticker", ["AAPL", "TSLA", "MSFT", "XOM"])
def test_rsi_equals_talib(panel: Panel, ticker: str) -> None:
    close = panel[0][ticker].dropna()
    expected = talib.RSI(close.to_numpy(dtype=np.float64), timeperiod=14)
    assert np.isnan(expected[:14]).all() and np.isfinite(expected[14:]).all()
    np.testing.assert_allclose(wilder_rsi(close.to_numpy()), expected, rtol=1e-12, atol=1e-10)

    frames = score_panel(*panel, benchmark={})
    got = frames.frame("rsi")[ticker].reindex(close.index).to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-10)
    latest = score_panel(*panel, benchmark={}, rows=[-1]).frame("rsi")[ticker].iloc[-1]
    assert latest == pytest.approx(expected[-1], rel=1e-12)
