"""The pure model functions, one formula at a time, against values worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from backend.momentum import model as m

pytestmark = pytest.mark.unit

NAN = np.nan


def test_lag_and_period_return_are_per_row_shifts() -> None:
    c = np.array([[100.0, 10.0], [110.0, 20.0], [121.0, NAN]])
    assert_array_equal(m.lag(c, 1), [[NAN, NAN], [100.0, 10.0], [110.0, 20.0]])
    assert_array_equal(m.lag(c, 5), np.full((3, 2), NAN))
    assert_allclose(m.period_return(c, 2), [[NAN, NAN], [NAN, NAN], [0.21, NAN]], rtol=1e-15)
    assert_allclose(m.period_return(c[:, 0], 1), [NAN, 0.1, 0.1], rtol=1e-15)


def test_rolling_mean_needs_every_value_of_its_window() -> None:
    x = np.array([1.0, 2.0, 3.0, NAN, 5.0, 6.0, 7.0])
    assert_allclose(m.rolling_mean(x, 3), [NAN, NAN, 2.0, NAN, NAN, NAN, 6.0], rtol=1e-15)
    assert_array_equal(m.sma(x, 8), np.full(7, NAN))


def test_rolling_mean_error_does_not_grow_with_history() -> None:
    # A huge early level followed by small prices: differences of running sums would lose ~1e-4.
    x = np.concatenate([np.full(1000, 1e9), np.linspace(1.0, 2.0, 50)])
    got = m.rolling_mean(x, 20)[-1]
    assert got == pytest.approx(math.fsum(x[-20:]) / 20, rel=1e-15)


def test_trend_points_and_rescaling_without_sma200() -> None:
    c = np.array([10.0, 10.0, 10.0, 10.0])
    s20 = np.array([9.0, 11.0, 9.0, 11.0])
    s50 = np.array([9.0, 9.0, 11.0, 11.0])
    s200 = np.array([9.0, 9.0, NAN, NAN])
    # 7+6+7 = 20; 0+6+7 = 13; without SMA_200: 20*(7+0)/13 and 20*0/13
    assert_allclose(m.trend_score(c, s20, s50, s200), [20.0, 13.0, 20 * 7 / 13, 0.0], rtol=1e-15)
    assert math.isnan(m.trend_score(10.0, NAN, 9.0, 9.0))


def test_trend_counts_an_exact_tie_as_not_above() -> None:
    # Real DISCK closes (cents): the mean of these 20 is exactly the last one, 25.06.
    closes = [25.55, 25.02, 24.73, 24.59, 24.5, 24.86, 24.98, 25.9, 25.91, 25.47]
    closes += [25.66, 25.4, 25.17, 25.11, 24.79, 24.37, 24.81, 24.59, 24.73, 25.06]
    s20 = m.sma(np.array(closes), 20)[-1]
    assert abs(s20 - 25.06) < 1e-13
    assert m.trend_score(25.06, s20, 20.0, 20.0) == 13.0  # only the SMA_50 and SMA_200 points
    # the same tie computed in another summation order lands an ulp or two off either way
    for noisy in (np.nextafter(25.06, 0.0), 25.06 - 4e-15, 25.06 + 4e-15):
        assert m.trend_score(25.06, noisy, 20.0, 20.0) == 13.0
    assert m.trend_score(25.06 + 1e-12, s20, 20.0, 20.0) == 20.0  # a real gap still counts


def test_weighted_return_rescales_the_missing_horizons() -> None:
    full = m.weighted_return(0.1, 0.2, 0.3, 0.4)
    assert full == pytest.approx(0.4 * 0.1 + 0.3 * 0.2 + 0.2 * 0.3 + 0.1 * 0.4, rel=1e-15)
    no252 = m.weighted_return(0.1, 0.2, 0.3, NAN)
    assert no252 == pytest.approx((0.04 + 0.06 + 0.06) / 0.9, rel=1e-15)
    short = m.weighted_return(0.1, 0.2, NAN, NAN)
    assert short == pytest.approx((0.04 + 0.06) / 0.7, rel=1e-15)
    assert math.isnan(m.weighted_return(0.1, NAN, 0.3, 0.4))


def test_magnitude_and_acceleration_clamp() -> None:
    assert_allclose(m.magnitude_score([-1.0, 0.0, 0.1, 1.0]), [0.0, 20.0, 28.0, 40.0])
    assert m.acceleration(0.01, 0.03) == pytest.approx(1.01**12 - 1.03**4, rel=1e-14)
    assert m.sma_slope(101.0, 100.0) == pytest.approx(0.01 * 25.2, rel=1e-12)
    assert m.acceleration_score(0.0, 0.0) == 20.0
    assert m.acceleration_score(0.1, 0.2) == pytest.approx(20 + 30 * (0.07 + 0.06), rel=1e-14)
    assert m.acceleration_score(5.0, 0.0) == 40.0
    assert m.acceleration_score(-5.0, 0.0) == 0.0
    assert m.price_score(20.0, 30.0, 25.0) == 75.0


@pytest.mark.parametrize(
    ("rsi", "score"),
    [
        (0.0, 0.0),
        (29.9, 0.0),
        (30.0, 0.0),
        (40.0, 50.0),
        (50.0, 100.0),
        (60.0, 100.0),
        (70.0, 100.0),
        (80.0, 50.0),
        (90.0, 0.0),
        (95.0, 0.0),
        (100.0, 0.0),
    ],
)
def test_rsi_score_is_the_continuous_tent(rsi: float, score: float) -> None:
    assert m.rsi_score(rsi) == pytest.approx(score, abs=1e-12)


def test_wilder_rsi_seed_recursion_and_flat_cases() -> None:
    closes = np.array([10.0 + i for i in range(16)])  # only gains
    rsi = m.wilder_rsi(closes)
    assert np.isnan(rsi[:14]).all() and (rsi[14:] == 100.0).all()
    assert (m.wilder_rsi(np.full(20, 7.0))[14:] == 50.0).all()  # no gain, no loss
    # by hand: changes +1,-1 alternating for 14 changes, then +2
    c = np.cumsum([50.0] + [1.0 if i % 2 == 0 else -1.0 for i in range(14)] + [2.0])
    gain, loss = 7 / 14, 7 / 14
    gain, loss = (13 * gain + 2.0) / 14, (13 * loss + 0.0) / 14
    expected = 100 - 100 / (1 + gain / loss)
    assert m.wilder_rsi(c)[-1] == pytest.approx(expected, rel=1e-14)
    assert m.wilder_rsi(c)[14] == pytest.approx(50.0, rel=1e-14)


def test_closed_form_rsi_equals_the_recursion() -> None:
    rng = np.random.default_rng(7)
    c = 100 * np.cumprod(1 + 0.02 * rng.standard_normal((400, 6)), axis=0)
    gain, loss = m.wilder_averages(c)
    right = c.copy()
    right[:100, 1] = NAN  # a later start: right-aligned, NaN before its first close
    right[:386, 2] = NAN  # exactly 14 closes: not enough
    right[:385, 3] = NAN  # 15 closes: the seed only
    last_gain, last_loss = m.wilder_averages_last(right)
    assert_allclose(last_gain[[0, 4, 5]], gain[-1, [0, 4, 5]], rtol=1e-13)
    assert_allclose(last_loss[[0, 4, 5]], loss[-1, [0, 4, 5]], rtol=1e-13)
    late_gain, late_loss = m.wilder_averages(c[100:, 1])
    assert last_gain[1] == pytest.approx(late_gain[-1], rel=1e-13)
    assert last_loss[1] == pytest.approx(late_loss[-1], rel=1e-13)
    assert np.isnan(last_gain[2]) and np.isnan(last_loss[2])
    seed = np.maximum(np.diff(c[385:, 3]), 0).mean()
    assert last_gain[3] == pytest.approx(seed, rel=1e-14)


def test_split_adjusted_volume_ratio_is_continuous_across_a_split() -> None:
    volume = np.array([100.0] * 30 + [400.0])  # 4-for-1 on the last day: 400 new = 100 old shares
    split = np.array([1.0] * 30 + [4.0])
    ratio = m.volume_ratio(m.split_adjusted_volume(volume, split))
    assert ratio[-1] == pytest.approx(1.0, rel=1e-15)
    assert m.volume_ratio(volume)[-1] == pytest.approx(4.0)  # unadjusted it would jump
    assert np.isnan(ratio[:30]).all()


def test_volume_ratio_unavailable_on_zero_mean_or_missing() -> None:
    v = np.array([0.0] * 30 + [5.0])
    assert np.isnan(m.volume_ratio(v)[-1])
    v = np.array([1.0] * 10 + [NAN] + [1.0] * 20)
    assert np.isnan(m.volume_ratio(v)[-1])
    v = np.array([2.0] * 30 + [3.0])
    assert m.volume_ratio(v)[-1] == pytest.approx(1.5)
    assert_allclose(m.volume_score([0.5, 1.0, 2.0, 3.0]), [25.0, 50.0, 100.0, 100.0])


def test_roc_and_its_score() -> None:
    c = np.array([100.0] + [NAN] * 0 + [101.0] * 9 + [103.0])
    assert m.rate_of_change(c)[-1] == pytest.approx(3.0, rel=1e-12)
    assert_allclose(m.roc_score([-10.0, -1.0, 0.0, 2.5, 10.0]), [0.0, 40.0, 50.0, 75.0, 100.0])


def test_relative_score_branches() -> None:
    g = np.array([-0.2, -0.05, 0.0, 0.02, 0.06, NAN])
    assert_allclose(m.relative_score(g), [0.0, 25.0, 50.0, 70.0, 100.0, NAN], rtol=1e-14)
    assert m.relative_gap(0.03, 0.01) == pytest.approx(0.02)


def test_technical_and_composite_rescale_what_is_missing() -> None:
    assert m.technical_score(80.0, 50.0, 60.0) == pytest.approx(0.4 * 80 + 0.3 * 50 + 0.3 * 60)
    assert m.technical_score(80.0, NAN, 60.0) == pytest.approx((0.4 * 80 + 0.3 * 60) / 0.7)
    assert math.isnan(m.technical_score(NAN, 50.0, 60.0))
    w = (0.5, 0.35, 0.15)
    assert m.composite_score(70.0, 40.0, 90.0, w) == pytest.approx(35 + 14 + 13.5)
    assert m.composite_score(70.0, 40.0, NAN, w) == pytest.approx((35 + 14) / 0.85)
    assert math.isnan(m.composite_score(NAN, 40.0, 90.0, w))


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (100.0, "Strong Buy"),
        (80.0, "Strong Buy"),
        (79.99999999999, "Buy"),
        (65.0, "Buy"),
        (64.999999999, "Hold"),
        (50.0, "Hold"),
        (49.9999999999, "Weak Hold"),
        (35.0, "Weak Hold"),
        (34.99999999, "Sell"),
        (0.0, "Sell"),
    ],
)
def test_rating_boundaries_use_the_unrounded_score(score: float, expected: str) -> None:
    assert m.rating(score) == expected


def test_rating_refuses_a_missing_score() -> None:
    with pytest.raises(ValueError):
        m.rating(NAN)


def test_percentile_rank_ties_nan_and_single() -> None:
    assert_allclose(m.percentile_rank([10.0, 20.0, 20.0, 40.0]), [0.0, 50.0, 50.0, 100.0])
    assert_allclose(m.percentile_rank([NAN, 5.0, 7.0, NAN]), [NAN, 0.0, 100.0, NAN])
    assert_allclose(m.percentile_rank([NAN, 3.0]), [NAN, 50.0])  # N = 1
    rows = np.array([[1.0, 2.0, 3.0], [3.0, 3.0, NAN], [NAN, NAN, NAN]])
    assert_allclose(m.percentile_rank(rows), [[0.0, 50.0, 100.0], [50.0, 50.0, NAN], [NAN] * 3])
    # three-way tie in five: ranks 1, 3, 3, 3, 5 -> 0, 50, 50, 50, 100
    assert_allclose(m.percentile_rank([1.0, 2.0, 2.0, 2.0, 9.0]), [0, 50, 50, 50, 100])
