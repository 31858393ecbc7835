"""Black-Scholes-Merton against values worked independently (Hull's examples with their
published numbers), its identities (put-call parity, bounds, derivatives), and the implied
volatility solver (round trip, every reason for no solution, a scalar root finder)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from backend.options.bsm import (
    ABOVE_UPPER_BOUND,
    BELOW_LOWER_BOUND,
    EXPIRED,
    INVALID_INPUT,
    MAX_VOL,
    VOL_ABOVE_MAX,
    VOL_BELOW_MIN,
    bsm_delta,
    bsm_price,
    bsm_vega,
    implied_vol,
    no_arbitrage_bounds,
)
from backend.options.errors import OptionInputError

pytestmark = pytest.mark.unit


# ------------------------------------------------- published values (J. C. Hull, "Options,
# Futures, and Other Derivatives"; the 8th edition's numbering; quoted to the cent, as printed)


def test_hull_example_15_6_call_and_put() -> None:
    """S0 = 42, K = 40, r = 10%, sigma = 20%, T = 0.5: c = 4.76, p = 0.81."""
    assert bsm_price(42, 40, 0.5, 0.10, 0.0, 0.20, True) == pytest.approx(4.76, abs=0.005)
    assert bsm_price(42, 40, 0.5, 0.10, 0.0, 0.20, False) == pytest.approx(0.81, abs=0.005)


def test_hull_example_17_1_index_call_with_a_dividend_yield() -> None:
    """Index 930, K = 900, r = 8%, sigma = 20%, two months, dividend yield 3% a year:
    c = 51.83."""
    assert bsm_price(930, 900, 2 / 12, 0.08, 0.03, 0.20, True) == pytest.approx(51.83, abs=0.005)


def test_hull_implied_volatility_example() -> None:
    """A call worth 1.875 with S0 = 21, K = 20, r = 10%, T = 0.25 implies sigma = 0.235."""
    found = implied_vol(1.875, 21, 20, 0.25, 0.10, 0.0, True)
    assert found.reason == "" and float(found.vol) == pytest.approx(0.235, abs=0.0005)


def test_hull_chapter_19_delta_and_vega() -> None:
    """S0 = 49, K = 50, r = 5%, sigma = 20%, T = 20 weeks: the call is worth about 2.40
    (100,000 of them: $240,000), delta = 0.522, vega = 12.1."""
    t = 20 / 52
    assert bsm_price(49, 50, t, 0.05, 0.0, 0.20, True) == pytest.approx(2.40, abs=0.005)
    assert bsm_delta(49, 50, t, 0.05, 0.0, 0.20, True) == pytest.approx(0.522, abs=0.0005)
    assert bsm_delta(49, 50, t, 0.05, 0.0, 0.20, False) == pytest.approx(0.522 - 1, abs=0.0005)
    assert bsm_vega(49, 50, t, 0.05, 0.0, 0.20) == pytest.approx(12.1, abs=0.05)


# ------------------------------------------------------------------------------ identities

rng = np.random.default_rng(14)
N = 2_000
SPOT = rng.uniform(20, 2000, N)
STRIKE = SPOT * np.exp(rng.normal(0, 0.25, N))
T = rng.uniform(1 / 365, 3, N)
RATE = 0.03
Q = rng.uniform(0, 0.05, N)
VOL = rng.uniform(0.05, 1.5, N)
CALL = rng.random(N) < 0.5


def test_put_call_parity_holds_exactly() -> None:
    """C - P = S e^{-qT} - K e^{-rT} for any sigma."""
    calls = bsm_price(SPOT, STRIKE, T, RATE, Q, VOL, True)
    puts = bsm_price(SPOT, STRIKE, T, RATE, Q, VOL, False)
    carry = SPOT * np.exp(-Q * T) - STRIKE * np.exp(-RATE * T)
    assert np.allclose(calls - puts, carry, rtol=0, atol=1e-9 * SPOT)


def test_prices_lie_inside_the_no_arbitrage_bounds() -> None:
    prices = bsm_price(SPOT, STRIKE, T, RATE, Q, VOL, CALL)
    lower, upper = no_arbitrage_bounds(SPOT, STRIKE, T, RATE, Q, CALL)
    assert (prices >= lower).all() and (prices <= upper).all()


def test_the_bounds_are_the_limits_in_sigma() -> None:
    lower, upper = no_arbitrage_bounds(SPOT, STRIKE, T, RATE, Q, CALL)
    assert np.allclose(bsm_price(SPOT, STRIKE, T, RATE, Q, 1e-9, CALL), lower, atol=1e-9)
    assert np.allclose(bsm_price(SPOT, STRIKE, T, RATE, Q, 0.0, CALL), lower, atol=0)
    assert np.allclose(bsm_price(SPOT, STRIKE, T, RATE, Q, 1e4, CALL), upper, rtol=1e-6)


def test_vega_and_delta_are_the_derivatives_of_the_price() -> None:
    h = 1e-5
    up = bsm_price(SPOT, STRIKE, T, RATE, Q, VOL + h, CALL)
    down = bsm_price(SPOT, STRIKE, T, RATE, Q, VOL - h, CALL)
    assert np.allclose(
        bsm_vega(SPOT, STRIKE, T, RATE, Q, VOL), (up - down) / (2 * h), rtol=1e-5, atol=1e-6
    )
    ds = SPOT * 1e-6
    up = bsm_price(SPOT + ds, STRIKE, T, RATE, Q, VOL, CALL)
    down = bsm_price(SPOT - ds, STRIKE, T, RATE, Q, VOL, CALL)
    assert np.allclose(
        bsm_delta(SPOT, STRIKE, T, RATE, Q, VOL, CALL), (up - down) / (2 * ds), atol=1e-6
    )


def test_expiry_and_negative_inputs() -> None:
    assert bsm_price(110, 100, 0.0, 0.05, 0.0, 0.2, True) == 10.0  # intrinsic at expiry
    assert bsm_price(110, 100, 0.0, 0.05, 0.0, 0.2, False) == 0.0
    assert np.isnan(bsm_price(110, 100, -0.1, 0.05, 0.0, 0.2, True))
    assert np.isnan(bsm_price(110, 100, 0.5, 0.05, 0.0, -0.2, True))


# ------------------------------------------------------------------------- implied volatility


def test_round_trip_over_a_whole_chain_at_once() -> None:
    prices = bsm_price(SPOT, STRIKE, T, RATE, Q, VOL, CALL)
    found = implied_vol(prices, SPOT, STRIKE, T, RATE, Q, CALL)
    solved = found.reason == ""
    # Where the price carries the volatility (vega not lost in rounding), it comes back.
    vega = bsm_vega(SPOT, STRIKE, T, RATE, Q, VOL)
    informative = vega > 1e-6 * SPOT
    assert solved[informative].all()
    assert np.abs(found.vol[informative] - VOL[informative]).max() < 1e-7
    # Everywhere it is solved, the price at the volatility found is the price given.
    repriced = bsm_price(SPOT, STRIKE, T, RATE, Q, found.vol, CALL)
    assert np.allclose(repriced[solved], prices[solved], rtol=1e-9, atol=1e-10)


def test_the_solver_agrees_with_a_scalar_root_finder() -> None:
    """scipy's brentq, one contract at a time, is an independent implementation."""
    prices = bsm_price(SPOT[:200], STRIKE[:200], T[:200], RATE, Q[:200], VOL[:200], CALL[:200])
    found = implied_vol(prices, SPOT[:200], STRIKE[:200], T[:200], RATE, Q[:200], CALL[:200])
    for i in np.flatnonzero(found.reason == ""):

        def excess(sigma: float, i: int = i) -> float:
            return (
                float(bsm_price(SPOT[i], STRIKE[i], T[i], RATE, Q[i], sigma, CALL[i])) - prices[i]
            )

        assert found.vol[i] == pytest.approx(brentq(excess, 1e-4, MAX_VOL, xtol=1e-14), abs=1e-8)


def test_contracts_without_a_solution_keep_their_reason_and_no_number() -> None:
    s, k, t, r = 100.0, 100.0, 0.5, 0.05
    lower, upper = no_arbitrage_bounds(s, k, t, r, 0.0, True)
    cases = {
        "expired": (5.0, s, k, 0.0, True, EXPIRED),
        "zero price": (0.0, s, k, t, True, INVALID_INPUT),
        "nan price": (np.nan, s, k, t, True, INVALID_INPUT),
        "negative strike": (5.0, s, -1.0, t, True, INVALID_INPUT),
        "infinite spot": (5.0, np.inf, k, t, True, INVALID_INPUT),
        "below intrinsic": (float(lower) - 0.01, s, k, t, True, BELOW_LOWER_BOUND),
        "at intrinsic": (float(lower), s, k, t, True, BELOW_LOWER_BOUND),
        "above the spot": (float(upper) + 0.01, s, k, t, True, ABOVE_UPPER_BOUND),
        "put above the strike": (k, s, k, t, False, ABOVE_UPPER_BOUND),
        "needs sigma > 10": (
            float(bsm_price(s, k, t, r, 0, 12.0, True)),
            s,
            k,
            t,
            True,
            VOL_ABOVE_MAX,
        ),
    }
    prices, spots, strikes, times, calls, expected = zip(*cases.values())
    found = implied_vol(prices, spots, strikes, times, r, 0.0, calls)
    for name, want, vol, reason in zip(cases, expected, found.vol, found.reason):
        assert reason == want, name
        assert np.isnan(vol), f"{name}: no number stands in for a missing volatility"


def test_a_price_on_its_bound_to_rounding_has_no_volatility() -> None:
    """GOOG's 2016-01-15 640 call on 2015-12-23: mid 110.40 on a forward of 750.40, i.e. its
    intrinsic value; in floating point 750.4 - 640 = 110.39999999999998, 3e-14 below the price,
    a time value any volatility from 0 to ~0.1 fits. It is left out, not given a number."""
    assert 750.4 - 640 < 110.4
    on_bound = implied_vol(110.4, 750.4, 640, 23 / 365, 0.0, 0.0, True)
    assert on_bound.reason == BELOW_LOWER_BOUND and np.isnan(on_bound.vol)
    a_cent_above = implied_vol(110.41, 750.4, 640, 23 / 365, 0.0, 0.0, True)
    assert a_cent_above.reason == "" and 0 < float(a_cent_above.vol) < 1


def test_a_price_needing_a_tiny_volatility_is_left_out() -> None:
    # At the money (r = q = 0, so the lower bound is 0), sigma = 0.0001 is worth
    # 100 x 0.0001 x sqrt(0.5) x 0.3989 = 0.0028: a price of 0.001 needs sigma ~ 0.000035.
    assert float(bsm_price(100, 100, 0.5, 0.0, 0.0, 1e-4, True)) > 0.001
    found = implied_vol(0.001, 100, 100, 0.5, 0.0, 0.0, True)
    assert found.reason == VOL_BELOW_MIN and np.isnan(found.vol)


def test_shapes_are_kept_and_a_bad_rate_refused() -> None:
    prices = bsm_price(100, [[90, 100], [110, 120]], 0.5, 0.01, 0.0, 0.3, True)
    found = implied_vol(prices, 100, [[90, 100], [110, 120]], 0.5, 0.01, 0.0, True)
    assert found.vol.shape == (2, 2) and np.allclose(found.vol, 0.3)
    with pytest.raises(OptionInputError):
        implied_vol(prices, 100, 100, 0.5, float("nan"), 0.0, True)
