"""A chain's implied volatilities, forwards, at-the-money volatility and term structure.

`analyse_chain` takes the contracts of one underlying at one time (every expiry), prices them
by their quotes (`quotes.mid_quote`), implies each expiry's forward from put-call parity,
solves every implied volatility of the chain in one vectorised call (`bsm.implied_vol`, on the
forward, so neither the dividend yield nor a stale spot enters it), and interpolates each
expiry's at-the-money volatility. `term_structure` and `constant_maturity_iv` read the result.

Nothing is filled in: an expiry without a put and a call priced at one strike has no forward
and so no volatilities (reason `no_forward`); a contract with no solution keeps its reason; an
expiry without out-of-the-money volatilities on both sides of the forward has no ATM volatility.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from backend.options.bsm import FloatArray, bsm_delta, implied_vol
from backend.options.errors import OptionInputError
from backend.options.quotes import DAYS_PER_YEAR, LAST, MID, days_to_expiry, mid_quote

CHAIN_INPUT_COLUMNS: Final = ("expiry", "strike", "right", "bid", "ask", "last")

# Why an expiry has no forward or no at-the-money volatility (`ExpiryView.reason`), or a
# contract no volatility besides `bsm.NO_SOLUTION_REASONS` and the quote's reasons.
NO_FORWARD: Final = "no_forward"  # no strike with both a call and a put priced
NO_STRIKES_NEAR_FORWARD: Final = "no_strikes_near_forward"
EXPIRED_EXPIRY: Final = "expired"


@dataclass(frozen=True)
class Forward:
    """F = median over `strikes` of K + e^{rT} (C - P); `source` is `mid` when every price
    used was a two-sided mid quote, else `last`."""

    forward: float
    strikes: tuple[float, ...]
    source: str


@dataclass(frozen=True)
class ExpiryView:
    expiry: dt.date
    t: float  # years of 365 days to 16:00 New York on the expiry day
    days: float  # days (of 24 h) to 16:00 New York on the expiry day; t = days / 365
    forward: Forward | None
    dividend_yield: float | None  # implied by the forward and the spot
    atm_iv: float | None
    atm_source: str  # `mid` when both strikes around the forward were priced by mids
    reason: str | None  # why there is no forward or no ATM volatility


@dataclass(frozen=True)
class ChainView:
    as_of: dt.datetime
    spot: float
    rate: float
    # The input's columns and per contract: days, t, price, price_source, forward, iv, reason (""
    # where there is an iv), delta.
    contracts: pd.DataFrame
    expiries: tuple[ExpiryView, ...]


def parity_forward(
    strike: np.ndarray,
    call_price: np.ndarray,
    put_price: np.ndarray,
    t: float,
    rate: float,
    spot: float,
    strikes_used: int = 5,
) -> tuple[float, tuple[float, ...]]:
    """The forward implied by put-call parity, C - P = e^{-rT} (F - K), at the strikes where
    both are priced:

        F = median over the `strikes_used` strikes nearest the spot (in |ln(K/S)|) of
            K + e^{rT} (C - P),

    near the money, where both sides trade most and a stale price of a far strike (deep
    calls and puts can show C = P by accident) cannot enter. Returns (F, the strikes used,
    ascending); the arrays must hold at least one strike."""
    k = np.asarray(strike, dtype=np.float64)
    difference = np.asarray(call_price, dtype=np.float64) - np.asarray(put_price, dtype=np.float64)
    if len(k) == 0:
        raise OptionInputError("strike", "no strike with both a call and a put price")
    nearest = np.argsort(np.abs(np.log(k / spot)), kind="stable")[: max(strikes_used, 1)]
    implied = k[nearest] + np.exp(rate * t) * difference[nearest]
    return float(np.median(implied)), tuple(sorted(float(x) for x in k[nearest]))


def implied_dividend_yield(forward: float, spot: float, t: float, rate: float) -> float:
    """The continuous dividend yield q for which F = S e^{(r - q)T}: q = r - ln(F/S) / T."""
    if not (forward > 0 and spot > 0 and t > 0):
        raise OptionInputError("forward", "forward, spot and t must be greater than 0")
    return float(rate - np.log(forward / spot) / t)


def atm_iv(
    strike: np.ndarray,
    is_call: np.ndarray,
    iv: np.ndarray,
    forward: float,
    max_distance: float = 0.1,
) -> tuple[float | None, int | None, int | None]:
    """At-the-money volatility of one expiry: the out-of-the-money volatilities (puts below
    the forward, calls at or above it) at the strikes around F, linearly interpolated in
    log-moneyness k = ln(K/F) to k = 0:

        sigma_ATM = sigma_lo + (sigma_hi - sigma_lo) (0 - k_lo) / (k_hi - k_lo),

    or the call's volatility when a strike equals F. Both strikes must lie within
    `max_distance` of k = 0. Returns (sigma_ATM, index of the lower contract, index of the
    upper one), or (None, None, None) when there are no such strikes."""
    k = np.log(np.asarray(strike, dtype=np.float64) / forward)
    call = np.asarray(is_call, dtype=np.bool_)
    vol = np.asarray(iv, dtype=np.float64)
    near = np.isfinite(vol) & (np.abs(k) <= max_distance)
    below = np.flatnonzero(near & ~call & (k < 0))
    above = np.flatnonzero(near & call & (k >= 0))
    if len(above) and k[above].min() == 0:
        at = int(above[np.argmin(k[above])])
        return float(vol[at]), at, at
    if not len(below) or not len(above):
        return None, None, None
    lo = int(below[np.argmax(k[below])])
    hi = int(above[np.argmin(k[above])])
    weight = (0.0 - k[lo]) / (k[hi] - k[lo])
    return float(vol[lo] + (vol[hi] - vol[lo]) * weight), lo, hi


def analyse_chain(
    contracts: pd.DataFrame,
    as_of: dt.datetime,
    spot: float,
    rate: float,
    strikes_used: int = 5,
    max_atm_distance: float = 0.1,
) -> ChainView:
    """Prices, forwards, implied volatilities, deltas and ATM volatilities of a chain.

    `contracts` has `CHAIN_INPUT_COLUMNS` (`right` "C" or "P"; bid, ask, last NaN where
    missing), one row per (expiry, strike, right); `as_of` is when the quotes were taken
    (timezone-aware); `spot` the underlying's price then; `rate` the continuously compounded
    risk-free rate.

    Per expiry: the forward from put-call parity (`parity_forward`) using two-sided mids
    where any strike has both, else last prices (flagged `last`); the implied dividend yield
    q = r - ln(F/S)/T. Per contract: sigma with S = F and q = r (the forward form), and the
    delta against the spot, e^{-qT} N(d1) (calls) or -e^{-qT} N(-d1) (puts)."""
    _check_chain_input(contracts, spot, rate)
    frame = contracts.reset_index(drop=True).copy()
    strike = frame["strike"].to_numpy(dtype=np.float64)
    is_call = (frame["right"] == "C").to_numpy()
    quote = mid_quote(frame["bid"].to_numpy(), frame["ask"].to_numpy(), frame["last"].to_numpy())
    days = days_to_expiry(as_of, frame["expiry"].tolist())
    t = days / DAYS_PER_YEAR
    groups = _expiry_groups(frame)
    forward_of = np.full(len(frame), np.nan)
    forwards: list[tuple[Forward | None, str | None]] = []
    for _, rows in groups:
        found = _expiry_forward(
            strike[rows],
            is_call[rows],
            quote.price[rows],
            quote.source[rows],
            float(t[rows[0]]),
            rate,
            spot,
            strikes_used,
        )
        forwards.append(found)
        if found[0] is not None:
            forward_of[rows] = found[0].forward

    solved = implied_vol(quote.price, forward_of, strike, t, rate, rate, is_call)
    # The most basic cause wins: expired, then the quote, then the missing forward.
    reason = solved.reason.copy()
    reason[~np.isfinite(forward_of)] = NO_FORWARD
    reason[quote.reason != ""] = quote.reason[quote.reason != ""]
    reason[t <= 0] = EXPIRED_EXPIRY
    vol = np.where(reason == "", solved.vol, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        carry = np.where(t > 0, forward_of * np.exp(-rate * t) / spot, np.nan)  # e^{-qT}
        div_yield = -np.log(carry) / t
    frame["days"] = days
    frame["t"] = t
    frame["price"] = quote.price
    frame["price_source"] = quote.source
    frame["forward"] = forward_of
    frame["iv"] = vol
    frame["reason"] = reason
    frame["delta"] = bsm_delta(spot, strike, t, rate, div_yield, vol, is_call)

    views = []
    for (expiry, rows), (forward, why) in zip(groups, forwards):
        view = ExpiryView(
            expiry=expiry,
            t=float(t[rows[0]]),
            days=float(days[rows[0]]),
            forward=forward,
            dividend_yield=None,
            atm_iv=None,
            atm_source="",
            reason=why,
        )
        if forward is not None:
            view = _with_atm(
                view,
                forward,
                strike[rows],
                is_call[rows],
                vol[rows],
                quote.source[rows],
                spot,
                rate,
                max_atm_distance,
            )
        views.append(view)
    return ChainView(as_of=as_of, spot=spot, rate=rate, contracts=frame, expiries=tuple(views))


def _expiry_groups(frame: pd.DataFrame) -> list[tuple[dt.date, npt.NDArray[np.intp]]]:
    """(expiry, its rows' positions) in expiry order."""
    groups: list[tuple[dt.date, npt.NDArray[np.intp]]] = []
    for expiry, rows in frame.groupby("expiry").indices.items():
        if not isinstance(expiry, dt.date):  # checked on input; this tells the type checker
            raise OptionInputError("expiry", f"{expiry!r} is not a day")
        groups.append((expiry, np.asarray(rows, dtype=np.intp)))
    return sorted(groups, key=lambda group: group[0])


def _check_chain_input(contracts: pd.DataFrame, spot: float, rate: float) -> None:
    missing = [c for c in CHAIN_INPUT_COLUMNS if c not in contracts.columns]
    if missing:
        raise OptionInputError("contracts", f"missing columns {missing}")
    if not np.isfinite(spot) or spot <= 0:
        raise OptionInputError("spot", f"{spot} is not a price greater than 0")
    if not np.isfinite(rate):
        raise OptionInputError("rate", f"{rate} is not a finite number")
    rights = set(contracts["right"].unique().tolist())
    if not rights <= {"C", "P"}:
        raise OptionInputError("right", f"{sorted(map(str, rights - {'C', 'P'}))} are not C or P")
    strikes = contracts["strike"].to_numpy(dtype=np.float64)
    if not (np.isfinite(strikes) & (strikes > 0)).all():
        raise OptionInputError("strike", "every strike must be a finite number greater than 0")
    expiries = contracts["expiry"].unique().tolist()
    if not all(isinstance(x, dt.date) and not isinstance(x, dt.datetime) for x in expiries):
        raise OptionInputError("expiry", "every expiry must be a datetime.date (a day)")
    if contracts.duplicated(["expiry", "strike", "right"]).any():
        raise OptionInputError("contracts", "a contract (expiry, strike, right) is listed twice")


def _expiry_forward(
    strike: FloatArray,
    is_call: npt.NDArray[np.bool_],
    price: FloatArray,
    source: npt.NDArray[np.object_],
    t: float,
    rate: float,
    spot: float,
    strikes_used: int,
) -> tuple[Forward | None, str | None]:
    """One expiry's forward from the strikes where a call and a put are both priced (by mids
    when any strike has two mids, else by whatever prices there are, flagged `last`)."""
    if t <= 0:
        return None, EXPIRED_EXPIRY
    priced = np.isfinite(price)
    calls, puts = np.flatnonzero(priced & is_call), np.flatnonzero(priced & ~is_call)
    # One call and one put per strike at most (checked on input).
    common, at_call, at_put = np.intersect1d(
        strike[calls], strike[puts], assume_unique=True, return_indices=True
    )
    if not len(common):
        return None, NO_FORWARD
    call_rows, put_rows = calls[at_call], puts[at_put]
    both_mid = (source[call_rows] == MID) & (source[put_rows] == MID)
    if both_mid.any():
        common, call_rows, put_rows = common[both_mid], call_rows[both_mid], put_rows[both_mid]
    forward, used = parity_forward(
        common, price[call_rows], price[put_rows], t, rate, spot, strikes_used
    )
    if not forward > 0:
        return None, NO_FORWARD
    return Forward(forward=forward, strikes=used, source=MID if both_mid.any() else LAST), None


def _with_atm(
    view: ExpiryView,
    forward: Forward,
    strike: FloatArray,
    is_call: npt.NDArray[np.bool_],
    vol: FloatArray,
    source: npt.NDArray[np.object_],
    spot: float,
    rate: float,
    max_atm_distance: float,
) -> ExpiryView:
    """`view` with its implied dividend yield and ATM volatility (or the reason for none)."""
    q = implied_dividend_yield(forward.forward, spot, view.t, rate)
    level, lo, hi = atm_iv(strike, is_call, vol, forward.forward, max_atm_distance)
    if level is None or lo is None or hi is None:
        return replace(view, dividend_yield=q, reason=NO_STRIKES_NEAR_FORWARD)
    atm_source = MID if source[lo] == MID and source[hi] == MID else LAST
    return replace(view, dividend_yield=q, atm_iv=level, atm_source=atm_source)


@dataclass(frozen=True)
class TermPoint:
    expiry: dt.date
    days: float
    atm_iv: float | None
    reason: str | None


def term_structure(
    expiries: tuple[ExpiryView, ...], min_days: float = 7.0, max_days: float = 365.0
) -> tuple[TermPoint, ...]:
    """The ATM volatility of every expiry from `min_days` to `max_days` away (inclusive),
    nearest first; an expiry without one keeps its reason."""
    return tuple(
        TermPoint(view.expiry, view.days, view.atm_iv, view.reason)
        for view in sorted(expiries, key=lambda v: v.t)
        if min_days <= view.days <= max_days
    )


@dataclass(frozen=True)
class ConstantMaturity:
    days: float
    iv: float | None
    near: TermPoint | None  # the expiry at or before `days`
    far: TermPoint | None  # the expiry at or after `days`
    reason: str | None


def constant_maturity_iv(points: tuple[TermPoint, ...], days: float = 30.0) -> ConstantMaturity:
    """ATM volatility at a constant maturity, interpolated linearly in total variance
    w = sigma^2 T between the nearest expiries with an ATM volatility at or before (T1) and at
    or after (T2) the target T = days / 365:

        sigma_T = sqrt( [w1 + (w2 - w1) (T - T1) / (T2 - T1)] / T ),

    sigma of the expiry itself when one falls on T. Never extrapolated: without an expiry on
    each side the answer is None with the reason."""
    usable = [(p, p.atm_iv) for p in points if p.atm_iv is not None]
    before = [(p, iv) for p, iv in usable if p.days <= days]
    after = [(p, iv) for p, iv in usable if p.days >= days]
    if not before or not after:
        side = (
            "on either side of"
            if not before and not after
            else ("on or before" if not before else "on or after")
        )
        return ConstantMaturity(
            days,
            None,
            max(before, key=lambda x: x[0].days)[0] if before else None,
            min(after, key=lambda x: x[0].days)[0] if after else None,
            f"no expiry with an ATM volatility {side} {days:g} days",
        )
    near, near_iv = max(before, key=lambda x: x[0].days)
    far, far_iv = min(after, key=lambda x: x[0].days)
    if near.days == far.days:
        return ConstantMaturity(days, near_iv, near, far, None)
    t1, t2, target = near.days / DAYS_PER_YEAR, far.days / DAYS_PER_YEAR, days / DAYS_PER_YEAR
    w1, w2 = near_iv**2 * t1, far_iv**2 * t2
    variance = w1 + (w2 - w1) * (target - t1) / (t2 - t1)
    return ConstantMaturity(days, float(np.sqrt(variance / target)), near, far, None)
