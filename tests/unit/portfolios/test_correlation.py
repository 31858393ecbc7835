"""Correlation matrix and diversification ratio: against pandas and numpy on real prices (the
tests' slice of the shared 2016-2021 S&P 500 file, and the shipped sample), and small cases worked
by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backend.market_data.sample import SAMPLE_PRICES
from backend.portfolios.correlation import (
    correlation_matrix,
    daily_returns,
    diversification_ratio,
)
from tests.support.real_prices import SLICE_PRICES

pytestmark = pytest.mark.unit

# Late listings (CARR, OTIS 2020; CTVA, AMCR 2019), a delisting (VAR) and long histories.
TICKERS = [
    "AAPL", "MSFT", "NVDA", "AMD", "INTC", "DLR", "EQIX", "AMT", "CCI", "IRM", "JCI", "FCX",
    "ALB", "NRG", "XOM", "JPM", "CARR", "OTIS", "CTVA", "AMCR", "VAR", "FOX", "DOW",
]  # fmt: skip


def wide_adj(path: Path) -> pd.DataFrame:
    bars = pd.read_csv(path, usecols=["date", "ticker", "adj_close"], parse_dates=["date"])
    bars = bars[bars["ticker"].isin(TICKERS)]
    out = bars.pivot(index="date", columns="ticker", values="adj_close").sort_index()
    return out.reindex(columns=[t for t in TICKERS if t in out.columns]).rename_axis(
        index=None, columns=None
    )


@pytest.fixture(scope="module")
def shared_adj() -> pd.DataFrame:
    return wide_adj(SLICE_PRICES)


@pytest.fixture(scope="module")
def sample_adj() -> pd.DataFrame:
    return wide_adj(SAMPLE_PRICES)


def holes(frame: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    """``frame`` with a random ``share`` of its closes removed (gaps between overlaps)."""
    rng = np.random.default_rng(seed)
    return frame.mask(rng.random(frame.shape) < share)


def check_against_pandas(adj: pd.DataFrame, min_obs: int) -> None:
    ours = correlation_matrix(adj, min_obs)
    theirs = adj.pct_change(fill_method=None).corr(min_periods=min_obs)
    assert ours.matrix.columns.tolist() == theirs.columns.tolist()
    assert (ours.matrix.isna() == theirs.isna()).all().all()
    assert np.allclose(ours.matrix, theirs, rtol=0, atol=1e-12, equal_nan=True)
    counts = adj.pct_change(fill_method=None).notna().astype(int)
    assert (ours.observations.to_numpy() == (counts.T @ counts).to_numpy()).all()
    upper = theirs.to_numpy()[np.triu_indices(len(theirs), 1)]
    expected = float(np.nanmean(upper)) if np.isfinite(upper).any() else None
    assert ours.average == pytest.approx(expected, abs=1e-12)
    assert ours.pairs_defined == int(np.isfinite(upper).sum())


@pytest.mark.parametrize("min_obs", [2, 250, 1000])
def test_matches_pandas_on_the_shared_file(shared_adj: pd.DataFrame, min_obs: int) -> None:
    """1,333 days, 24 tickers of which several start in 2019-2020 (or stop early): at 1,000
    overlapping returns the late listings' pairs are null; pandas agrees on every entry."""
    check_against_pandas(shared_adj, min_obs)
    check_against_pandas(holes(shared_adj, 0.05, seed=3), min_obs)
    if min_obs == 1000:
        result = correlation_matrix(shared_adj, min_obs)
        carr = [p for p in result.pairs if "CARR" in (p.a, p.b)]
        assert carr and all(p.correlation is None for p in carr)
        assert all("fewer than the 1000 needed" in (p.reason or "") for p in carr)


@pytest.mark.parametrize("min_obs", [2, 60, 400])
def test_matches_pandas_on_the_shipped_sample(sample_adj: pd.DataFrame, min_obs: int) -> None:
    check_against_pandas(sample_adj, min_obs)
    check_against_pandas(holes(sample_adj, 0.2, seed=11), min_obs)


def test_pairs_below_the_minimum_are_null_with_the_reason() -> None:
    """A: 5 closes -> 4 returns; B: 3 closes over the last 3 days -> 2 returns, overlapping A's
    last 2; C constant (0 return every day)."""
    days = pd.date_range("2024-01-01", periods=5, freq="D")
    adj = pd.DataFrame(
        {
            "A": [100.0, 101.0, 99.0, 102.0, 103.0],
            "B": [np.nan, np.nan, 50.0, 51.0, 49.0],
            "C": [10.0] * 5,
        },
        index=days,
    )
    result = correlation_matrix(adj, min_observations=3)
    by_pair = {(p.a, p.b): p for p in result.pairs}
    assert by_pair[("A", "B")].correlation is None and by_pair[("A", "B")].observations == 2
    assert by_pair[("A", "B")].reason == "2 overlapping daily returns, fewer than the 3 needed"
    assert by_pair[("A", "C")].reason == "C's returns do not vary over the overlap"
    assert result.average is None and result.pairs_defined == 0
    assert result.returns_per_ticker == {"A": 4, "B": 2, "C": 4}
    assert math.isnan(result.matrix.loc["B", "B"]) and result.matrix.loc["A", "A"] == 1.0
    with pytest.raises(ValueError, match="at least 2"):
        correlation_matrix(adj, 1)


def test_hand_worked_correlation() -> None:
    """Returns A = (+1%, −1%, +1%), B = (+2%, −2%, +2%): B = 2A, ρ = 1; C = (−1%, +1%, −1%) = −A:
    ρ(A, C) = −1; average over the three pairs (1, −1, −1) = −1/3."""
    days = pd.date_range("2024-01-01", periods=4, freq="D")
    a = 100 * np.cumprod([1, 1.01, 0.99, 1.01])
    b = 100 * np.cumprod([1, 1.02, 0.98, 1.02])
    c = 100 * np.cumprod([1, 0.99, 1.01, 0.99])
    result = correlation_matrix(pd.DataFrame({"A": a, "B": b, "C": c}, index=days), 3)
    assert result.matrix.loc["A", "B"] == pytest.approx(1.0)
    assert result.matrix.loc["A", "C"] == pytest.approx(-1.0)
    assert result.average == pytest.approx(-1 / 3)


def test_diversification_ratio_worked_by_hand() -> None:
    """A = (+a, −a, +a, −a), B = (+a, +a, −a, −a) with a = 1%: both mean 0, same σ, and
    Σ AB = a²(1 − 1 − 1 + 1) = 0, uncorrelated. Weights ½, ½: Σwσ = σ,
    σ_p = √(¼σ² + ¼σ²) = σ/√2, DR = √2. With B = 2A (perfect correlation) DR = 1; with
    B = −A at equal weights the portfolio does not move: no ratio."""
    days = pd.date_range("2024-01-01", periods=5, freq="D")
    step = 0.01

    def prices(signs: list[int]) -> list[float]:
        return list(100 * np.cumprod([1.0] + [1 + s * step for s in signs]))

    a = prices([1, -1, 1, -1])
    adj = pd.DataFrame({"A": a, "B": prices([1, 1, -1, -1])}, index=days)
    dr = diversification_ratio(adj, {"A": 3.0, "B": 3.0}, min_observations=4)
    assert dr.ratio == pytest.approx(math.sqrt(2), rel=1e-12)
    assert dr.weights == {"A": 0.5, "B": 0.5} and dr.observations == 4
    twice = pd.DataFrame({"A": a, "B": prices([2, -2, 2, -2])}, index=days)
    assert diversification_ratio(twice, {"A": 1, "B": 1}, 4).ratio == pytest.approx(1.0)
    mirror = pd.DataFrame({"A": a, "B": prices([-1, 1, -1, 1])}, index=days)
    flat = diversification_ratio(mirror, {"A": 1, "B": 1}, 4)
    assert flat.ratio is None and flat.reason == "the portfolio's returns do not vary"


def test_diversification_ratio_against_numpy_on_real_prices(sample_adj: pd.DataFrame) -> None:
    """The model-like holdings on the sample: Σwσ / √(wᵀΣw) by numpy over the common days;
    CARR starts in 2020, so the common days start there; MISSING and the zero weight are left
    out and named."""
    weights = {"AAPL": 4.0, "MSFT": 2.0, "DLR": 6.0, "CCI": 10.0, "FCX": 16.0, "CARR": 3.0}
    dr = diversification_ratio(sample_adj, {**weights, "MISSING": 1.0, "JPM": 0.0}, 60)
    assert dr.left_out == {"MISSING": "no prices", "JPM": "weight 0"}
    r = daily_returns(sample_adj)[list(weights)].dropna()
    assert r.index[0].year == 2020 and dr.observations == len(r)
    w = np.array(list(weights.values())) / sum(weights.values())
    cov = np.cov(r.to_numpy(), rowvar=False)
    expected = float(w @ np.sqrt(np.diag(cov))) / math.sqrt(float(w @ cov @ w))
    assert dr.ratio == pytest.approx(expected, rel=1e-12)
    assert dr.ratio is not None and 1.0 < dr.ratio < math.sqrt(len(weights))
    short = diversification_ratio(sample_adj, weights, min_observations=len(r) + 1)
    assert short.ratio is None and short.reason is not None and "fewer than" in short.reason
    with pytest.raises(ValueError, match="AAPL"):
        diversification_ratio(sample_adj, {"AAPL": -1.0}, 60)
