"""Forward, ATM volatility, term structure and constant maturity, against numbers worked by hand
and a chain priced by the model itself (so every answer is known)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from backend.options.bsm import bsm_delta, bsm_price, bsm_vega
from backend.options.chain import (
    EXPIRED_EXPIRY,
    NO_FORWARD,
    NO_STRIKES_NEAR_FORWARD,
    TermPoint,
    analyse_chain,
    atm_iv,
    constant_maturity_iv,
    implied_dividend_yield,
    parity_forward,
    term_structure,
)
from backend.options.errors import OptionInputError
from backend.options.quotes import LAST, MID, NO_QUOTE, ZERO_BID, session_close

pytestmark = pytest.mark.unit


# ------------------------------------------------------------------------------ by hand


def test_parity_forward_by_hand() -> None:
    """r = 0: F_K = K + (C - P). Strikes 90..110 with C - P = 10.6, 5.4, 0.5, -4.7, -9.2:
    F = 100.6, 100.4, 100.5, 100.3, 100.8; the three nearest the spot 100.2 are 95, 100, 105:
    median(100.4, 100.5, 100.3) = 100.4."""
    strikes = np.array([90.0, 95.0, 100.0, 105.0, 110.0])
    calls = np.array([11.0, 6.0, 2.5, 0.6, 0.2])
    puts = np.array([0.4, 0.6, 2.0, 5.3, 9.4])
    forward, used = parity_forward(strikes, calls, puts, 0.25, 0.0, 100.2, strikes_used=3)
    assert forward == pytest.approx(100.4)
    assert used == (95.0, 100.0, 105.0)


def test_parity_forward_discounts_with_the_rate() -> None:
    """K + e^{rT}(C - P) with r = 5%, T = 1, one strike: 100 + e^{0.05} x 2 = 102.10254."""
    forward, _ = parity_forward(np.array([100.0]), np.array([7.0]), np.array([5.0]), 1.0, 0.05, 100)
    assert forward == pytest.approx(100 + math.exp(0.05) * 2)
    with pytest.raises(OptionInputError):
        parity_forward(np.array([]), np.array([]), np.array([]), 1.0, 0.0, 100.0)


def test_dividend_yield_from_the_forward() -> None:
    """F = S e^{(r-q)T}: S = 100, F = 101, r = 3%, T = 0.5 -> q = 0.03 - 2 ln(1.01) = 0.0100993."""
    assert implied_dividend_yield(101, 100, 0.5, 0.03) == pytest.approx(0.03 - 2 * math.log(1.01))
    with pytest.raises(OptionInputError):
        implied_dividend_yield(101, 0, 0.5, 0.03)


def test_atm_volatility_by_hand() -> None:
    """F = 100; the out-of-the-money neighbours are the 95 put (25%) and the 105 call (21%):
    k = ln(0.95) = -0.051293, ln(1.05) = 0.048790; weight 0.051293 / 0.100083 = 0.512507;
    sigma = 0.25 - 0.04 x 0.512507 = 0.229500. In-the-money contracts (the 95 call, the 105
    put) and far strikes do not enter."""
    strikes = np.array([80, 95, 95, 105, 105, 130.0])
    calls = np.array([True, True, False, True, False, True])
    ivs = np.array([0.9, 0.5, 0.25, 0.21, 0.7, 0.3])
    level, lo, hi = atm_iv(strikes, calls, ivs, 100.0)
    assert level == pytest.approx(0.25 - 0.04 * math.log(100 / 95) / math.log(105 / 95))
    assert level == pytest.approx(0.229500, abs=1e-6)
    assert (lo, hi) == (2, 3)


def test_atm_volatility_at_a_strike_and_when_none() -> None:
    strikes = np.array([95.0, 100.0, 105.0])
    calls = np.array([False, True, True])
    assert atm_iv(strikes, calls, np.array([0.3, 0.2, 0.25]), 100.0)[0] == 0.2
    # Nothing out of the money below the forward: no number.
    assert atm_iv(strikes, np.array([True, True, True]), np.array([0.3, 0.2, 0.25]), 102.0) == (
        None,
        None,
        None,
    )
    # Neighbours farther than 10% in log-moneyness: no number.
    assert (
        atm_iv(np.array([80.0, 125.0]), np.array([False, True]), np.array([0.3, 0.2]), 100.0)[0]
        is None
    )


def point(days: float, iv: float | None) -> TermPoint:
    return TermPoint(
        dt.date(2016, 1, 1) + dt.timedelta(days=int(days)), days, iv, None if iv else "x"
    )


def test_constant_maturity_by_hand() -> None:
    """23 days at 20% and 37 days at 30%: total variances 0.04 x 23/365 and 0.09 x 37/365;
    at 30 days, halfway: (0.92 + 3.33) / 2 / 365 = 2.125/365; sigma = sqrt(2.125/30) = 0.266146."""
    result = constant_maturity_iv((point(9, 0.5), point(23, 0.20), point(37, 0.30), point(60, 0.1)))
    assert result.iv == pytest.approx(math.sqrt(2.125 / 30))
    assert result.iv == pytest.approx(0.266146, abs=1e-6)
    assert result.near is not None and result.near.days == 23
    assert result.far is not None and result.far.days == 37


def test_constant_maturity_on_an_expiry_and_never_extrapolated() -> None:
    assert constant_maturity_iv((point(23, 0.2), point(30, 0.25), point(37, 0.3))).iv == 0.25
    short = constant_maturity_iv((point(9, 0.2), point(23, 0.25)))
    assert short.iv is None and "on or after 30 days" in (short.reason or "")
    long = constant_maturity_iv((point(37, 0.2), point(60, 0.25)))
    assert long.iv is None and "on or before 30 days" in (long.reason or "")
    # An expiry without an ATM volatility is skipped, not counted as 0.
    gap = constant_maturity_iv((point(23, 0.2), point(30, None), point(37, 0.3)))
    assert (
        gap.near is not None and gap.near.days == 23 and gap.far is not None and gap.far.days == 37
    )


# ----------------------------------------------------------- a chain priced by the model

# Tuesday 16:00 EST; daylight saving starts on 2016-03-13, so the expiries after it are an
# hour nearer than their calendar days.
AS_OF = session_close(dt.date(2016, 3, 1)).astimezone(dt.timezone.utc)
HOUR = 1 / 24
SPOT, RATE, Q = 200.0, 0.02, 0.015
EXPIRIES = [
    dt.date(2016, 3, 1),
    dt.date(2016, 3, 4),
    dt.date(2016, 3, 18),
    dt.date(2016, 4, 15),
    dt.date(2017, 3, 17),
]


def smile(strike: np.ndarray, t: np.ndarray) -> np.ndarray:
    return 0.2 + 0.3 * np.log(strike / SPOT) ** 2 + 0.02 * t


def model_chain() -> pd.DataFrame:
    rows = []
    for expiry in EXPIRIES:
        for strike in np.arange(150, 255, 5.0):
            for right in "CP":
                rows.append((expiry, strike, right))
    frame = pd.DataFrame(rows, columns=["expiry", "strike", "right"])
    t = np.array(
        [(session_close(e) - AS_OF).total_seconds() / 86400 / 365 for e in frame["expiry"]]
    )
    sigma = smile(frame["strike"].to_numpy(), t)
    value = bsm_price(
        SPOT, frame["strike"], np.maximum(t, 0), RATE, Q, sigma, frame["right"] == "C"
    )
    # A spread of 2% either side: the mid is the model's price.
    return frame.assign(bid=0.98 * value, ask=1.02 * value, last=value, true_iv=sigma)


def test_a_model_chain_gives_back_its_forwards_and_volatilities() -> None:
    chain = model_chain()
    view = analyse_chain(chain, AS_OF, SPOT, RATE)
    contracts = view.contracts
    for expiry in view.expiries:
        if expiry.days <= 0:
            assert expiry.forward is None and expiry.reason == EXPIRED_EXPIRY
            continue
        assert expiry.forward is not None and expiry.forward.source == MID
        assert expiry.forward.forward == pytest.approx(
            SPOT * math.exp((RATE - Q) * expiry.t), rel=1e-9
        )
        assert expiry.dividend_yield == pytest.approx(Q, abs=1e-7)
        # Linear interpolation in log-moneyness of a smile that is quadratic in it: close.
        assert expiry.atm_iv == pytest.approx(
            float(smile(np.array([SPOT]), np.array([expiry.t]))[0]), abs=2e-3
        )
        assert expiry.atm_source == MID
    live = contracts["t"] > 0
    solved = contracts["reason"] == ""
    # Where the price carries the volatility (vega not lost in rounding), it comes back.
    vega = bsm_vega(SPOT, contracts["strike"], contracts["t"], RATE, Q, contracts["true_iv"])
    informative = live & (vega > 1e-3)
    assert solved[informative].all()
    assert np.allclose(
        contracts.loc[informative, "iv"], contracts.loc[informative, "true_iv"], atol=1e-6
    )
    assert (contracts.loc[~live, "reason"] == EXPIRED_EXPIRY).all()
    assert contracts.loc[~solved, "iv"].isna().all(), "no number where there is no solution"
    delta = bsm_delta(
        SPOT,
        contracts["strike"],
        contracts["t"],
        RATE,
        Q,
        contracts["iv"],
        contracts["right"] == "C",
    )
    assert np.allclose(contracts.loc[solved, "delta"], delta[solved.to_numpy()], atol=1e-6)


def test_the_term_structure_and_the_30_day_volatility_of_the_model_chain() -> None:
    view = analyse_chain(model_chain(), AS_OF, SPOT, RATE)
    points = term_structure(view.expiries)
    # Of 2016-03-01 (0 days), 03-04 (3), 03-18 (17), 04-15 (45) and 2017-03-17 (381), the
    # ones from 7 to 365 days.
    assert [p.expiry for p in points] == [dt.date(2016, 3, 18), dt.date(2016, 4, 15)]
    every = [p.days for p in term_structure(view.expiries, 0.5, 400)]
    assert every == pytest.approx([3.0, 17 - HOUR, 45 - HOUR, 381 - HOUR])
    thirty = constant_maturity_iv(points)
    assert thirty.near is not None and thirty.far is not None
    assert thirty.near.atm_iv is not None and thirty.far.atm_iv is not None
    t1, t2 = (17 - HOUR) / 365, (45 - HOUR) / 365
    w1, w2 = thirty.near.atm_iv**2 * t1, thirty.far.atm_iv**2 * t2
    variance = w1 + (w2 - w1) * (30 / 365 - t1) / (t2 - t1)
    assert thirty.iv == pytest.approx(math.sqrt(variance / (30 / 365)))


def test_reasons_of_a_chain_without_quotes_or_forwards() -> None:
    chain = model_chain()
    march = chain["expiry"] == dt.date(2016, 3, 18)
    chain.loc[march & (chain["right"] == "P"), ["bid", "ask", "last"]] = np.nan  # no puts priced
    april = chain["expiry"] == dt.date(2016, 4, 15)
    chain.loc[april & (chain["strike"] == 200) & (chain["right"] == "C"), "bid"] = 0.0
    view = analyse_chain(chain, AS_OF, SPOT, RATE)
    by_expiry = {e.expiry: e for e in view.expiries}
    assert by_expiry[dt.date(2016, 3, 18)].forward is None
    assert by_expiry[dt.date(2016, 3, 18)].reason == NO_FORWARD
    contracts = view.contracts
    march_calls = contracts[march & (contracts["right"] == "C")]
    assert (march_calls["reason"] == NO_FORWARD).all() and march_calls["iv"].isna().all()
    zero = contracts[april & (contracts["strike"] == 200) & (contracts["right"] == "C")]
    assert zero["reason"].tolist() == [ZERO_BID] and zero["iv"].isna().all()
    # F = 200 e^{0.005 x 45/365} = 200.12: the 200 call is in the money and the ATM volatility
    # is read from the 200 put and the 205 call, unaffected.
    assert by_expiry[dt.date(2016, 4, 15)].atm_iv is not None


def test_last_prices_are_used_and_flagged_when_there_is_no_quote() -> None:
    chain = model_chain().assign(bid=np.nan, ask=np.nan)
    view = analyse_chain(chain, AS_OF, SPOT, RATE)
    live = [e for e in view.expiries if e.days > 0]
    assert all(e.forward is not None and e.forward.source == LAST for e in live)
    assert all(e.atm_source == LAST for e in live)
    contracts = view.contracts[view.contracts["t"] > 0]
    priced = contracts["last"] > 0
    assert (contracts.loc[priced, "price_source"] == LAST).all()
    assert (contracts.loc[~priced, "reason"] == NO_QUOTE).all()


def test_an_expiry_with_no_strike_near_the_forward_has_no_atm_volatility() -> None:
    chain = model_chain()
    chain = chain[
        (chain["expiry"] != dt.date(2016, 4, 15))
        | (chain["strike"] >= 240)
        | (chain["strike"] <= 160)
    ]
    # The forward still comes from the far strikes' parity; the ATM strikes are gone.
    view = analyse_chain(chain, AS_OF, SPOT, RATE)
    april = next(e for e in view.expiries if e.expiry == dt.date(2016, 4, 15))
    assert april.forward is not None and april.atm_iv is None
    assert april.reason == NO_STRIKES_NEAR_FORWARD


def test_bad_chain_input_is_refused() -> None:
    chain = model_chain()
    for broken, field in (
        (chain.drop(columns="bid"), "contracts"),
        (chain.assign(right="X"), "right"),
        (chain.assign(strike=-1.0), "strike"),
        (pd.concat([chain, chain.iloc[:1]]), "contracts"),
        (chain.assign(expiry=pd.Timestamp("2016-04-15")), "expiry"),
    ):
        with pytest.raises(OptionInputError) as info:
            analyse_chain(broken, AS_OF, SPOT, RATE)
        assert info.value.field == field
    with pytest.raises(OptionInputError):
        analyse_chain(chain, AS_OF, float("nan"), RATE)
