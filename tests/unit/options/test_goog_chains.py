"""The chain maths on QuantConnect Lean's recorded GOOG chains of 2015-12-22 .. 2015-12-31.

Each day is valued at its close (16:00 New York) against GOOG's official close of the day.
Bid and ask are recorded for 2015-12-23 and 2015-12-24 only: those days use mid quotes; the
others use each contract's last trade of the day (flagged `last`; stale prices, so noisier).
The chain file of 2015-12-31 is Lean's copy of 2015-12-30 (the same bytes): its numbers are
the 30th's prices one day later, and are reported as such. The file of 2015-12-22 lists one
expiry only (2 days away): it has no 30-day volatility, and says why."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy.optimize import brentq

from backend.options.bsm import bsm_price
from backend.options.chain import (
    NO_FORWARD,
    ChainView,
    ConstantMaturity,
    constant_maturity_iv,
    term_structure,
)
from backend.options.quotes import LAST, MID, NO_QUOTE
from tests.unit.options.data import (
    GOOG_DAYS,
    GOOG_DIR,
    QUOTE_DAYS,
    goog_daily,
    goog_view,
    vix_closes,
)

pytestmark = pytest.mark.unit


def thirty_day(view: ChainView) -> ConstantMaturity:
    return constant_maturity_iv(term_structure(view.expiries))


def test_put_call_parity_holds_within_the_spread_for_the_forward_used() -> None:
    """For every expiry of the quoted days and every strike within 5% of the forward where both
    the call and the put have a two-sided quote:

        C_bid - P_ask <= e^{-rT} (F - K) <= C_ask - P_bid."""
    for day in sorted(QUOTE_DAYS):
        view = goog_view(day)
        contracts = view.contracts
        for expiry in view.expiries:
            if expiry.forward is None:
                continue
            assert expiry.forward.source == MID
            rows = contracts[contracts["expiry"] == expiry.expiry]
            calls = rows[rows["right"] == "C"][["strike", "bid", "ask"]]
            puts = rows[rows["right"] == "P"][["strike", "bid", "ask"]]
            pairs = calls.merge(puts, on="strike", suffixes=("", "_put")).set_index("strike")
            pairs = pairs.dropna()
            pairs = pairs[(pairs["bid"] > 0) & (pairs["bid_put"] > 0)]
            pairs = pairs[np.abs(np.log(pairs.index / expiry.forward.forward)) <= 0.05]
            parity = np.exp(-view.rate * expiry.t) * (expiry.forward.forward - pairs.index)
            low, high = pairs["bid"] - pairs["ask_put"], pairs["ask"] - pairs["bid_put"]
            inside = (low <= parity) & (parity <= high)
            print(
                f"{day} {expiry.expiry}: F = {expiry.forward.forward:.2f}, parity inside the "
                f"spread at {int(inside.sum())} of {len(pairs)} strikes within 5%"
            )
            assert len(pairs) >= 3
            assert inside.all(), list(pairs.index[~inside])


def test_the_forward_is_the_official_close_carried_on_the_quoted_days() -> None:
    """GOOG paid no dividend and short rates were a fraction of a percent: up to 90 days the
    forward F = S e^{(r-q)T} is within 0.2% of the day's close (carry and half a spread); the
    long expiries' forwards lie above it (positive carry: 2018-01-19's implies ~0.5-0.7% a
    year)."""
    for day in sorted(QUOTE_DAYS):
        close = float(goog_daily().loc[day, "close"])
        for expiry in goog_view(day).expiries:
            if expiry.forward is None:
                continue
            print(
                f"{day} {expiry.expiry}: F / close - 1 = {expiry.forward.forward / close - 1:+.5f}"
            )
            if expiry.days <= 90:
                assert expiry.forward.forward == pytest.approx(close, rel=0.002)
            elif expiry.days > 150:
                assert expiry.forward.forward > close


def test_atm_volatility_of_every_expiry_is_finite_and_positive() -> None:
    for day in GOOG_DAYS:
        view = goog_view(day)
        contracts = view.contracts
        shown = []
        for point in term_structure(view.expiries, min_days=0.5):
            if point.atm_iv is None:
                # Only an expiry of which nothing was priced (newly listed, not yet traded or
                # quoted) goes without: never a number made up for it.
                assert point.reason == NO_FORWARD
                rows = contracts[contracts["expiry"] == point.expiry]
                assert (rows["reason"] == NO_QUOTE).all()
                shown.append(f"{point.expiry}: none ({point.reason})")
                continue
            assert np.isfinite(point.atm_iv) and 0 < point.atm_iv < 2
            shown.append(f"{point.expiry} ({point.days:.0f} d): {point.atm_iv:.4f}")
        print(f"{day} ATM by expiry: " + "; ".join(shown))
        assert any("d):" in text for text in shown)


def test_30_day_atm_volatility_beside_vix_of_the_same_day() -> None:
    vix = vix_closes()
    print("\nday         GOOG 30-day ATM IV   VIX/100   source  expiries used")
    for day in GOOG_DAYS:
        view = goog_view(day)
        thirty = thirty_day(view)
        index = vix[day] / 100
        if thirty.iv is None:
            print(f"{day}  none ({thirty.reason})   {index:.4f}")
            # One expiry, two days out: below the term structure's 7 days, and nothing beyond.
            assert day == dt.date(2015, 12, 22)
            assert thirty.reason == "no expiry with an ATM volatility on either side of 30 days"
            continue
        assert thirty.near is not None and thirty.far is not None
        source = MID if day in QUOTE_DAYS else LAST
        print(
            f"{day}  {thirty.iv:.4f}               {index:.4f}    {source:5s}   "
            f"{thirty.near.expiry} .. {thirty.far.expiry}"
        )
        # The same order of magnitude: a single stock's volatility against the index's.
        assert index / 3 < thirty.iv < index * 3
        near_expiries = [
            e for e in view.expiries if e.expiry in (thirty.near.expiry, thirty.far.expiry)
        ]
        assert all(e.atm_source == source for e in near_expiries)


def test_the_last_chain_is_the_one_before_it_valued_a_day_later() -> None:
    assert (GOOG_DIR / "20151231.csv").read_bytes() == (GOOG_DIR / "20151230.csv").read_bytes()
    stale, before = goog_view(dt.date(2015, 12, 31)), goog_view(dt.date(2015, 12, 30))
    by_expiry = {e.expiry: e for e in before.expiries}
    for expiry in stale.expiries:
        if expiry.atm_iv is not None and by_expiry[expiry.expiry].atm_iv is not None:
            # Same prices, one day less to expiry: a little more volatility per unit of time.
            assert expiry.days == by_expiry[expiry.expiry].days - 1


def test_results_hardly_move_with_the_rate() -> None:
    """The forward is implied, so r only discounts: 0% against 1% moves the 30-day volatility by
    less than 0.001 on every day that has one."""
    for day in GOOG_DAYS[1:]:
        zero, one = thirty_day(goog_view(day, 0.0)), thirty_day(goog_view(day, 0.01))
        assert zero.iv is not None and one.iv is not None
        assert abs(zero.iv - one.iv) < 0.001


def test_the_vectorised_solver_agrees_with_brentq_on_a_real_chain() -> None:
    view = goog_view(dt.date(2015, 12, 23))
    solved = view.contracts[view.contracts["reason"] == ""]
    assert len(solved) > 500
    sample = solved.iloc[:: max(len(solved) // 150, 1)]
    columns = ["forward", "strike", "t", "right", "price", "iv"]
    for forward, strike, t, right, price, iv in sample[columns].itertuples(index=False):

        def excess(sigma: float) -> float:
            value = bsm_price(forward, strike, t, view.rate, view.rate, sigma, right == "C")
            return float(value) - price  # noqa: B023 (used at once, in this iteration)

        assert iv == pytest.approx(brentq(excess, 1e-4, 10.0, xtol=1e-14), abs=1e-8)
