"""Black-Scholes-Merton: price, vega and delta of European options with a continuous dividend
yield, and the implied volatility of a whole chain at once.

Notation (every function, arrays broadcast against one another):
S spot, K strike, T years to expiry, r the continuously compounded risk-free rate, q the
continuous dividend yield, sigma the volatility, N the standard normal distribution function,
phi its density,

    d1 = [ln(S/K) + (r - q + sigma^2/2) T] / (sigma sqrt(T)),    d2 = d1 - sigma sqrt(T).

Working with a forward F = S e^{(r-q)T} instead of (S, q) is the same model: pass S = F and
q = r. The model is European; on American equity options it is exact for calls without
dividends and a close approximation near the money at low rates (the early-exercise premium
is not modelled).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.optimize.elementwise import find_root
from scipy.special import ndtr

from backend.options.errors import OptionInputError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ArrayLike = npt.ArrayLike

# Implied volatilities are sought between these (0.01% and 1,000% a year); a price that needs
# less or more is left out with its reason rather than pinned to an end of the range.
MIN_VOL: Final = 1e-4
MAX_VOL: Final = 10.0
# The solver stops when the volatility is known to within this (far below a quoted 0.0001).
VOL_TOLERANCE: Final = 1e-10
# Volatilities at which every price is tried first, to bracket its solution (doubling from
# 2.5%, ends MIN_VOL and MAX_VOL).
VOL_GRID: Final = np.array([MIN_VOL, *(0.025 * 2.0**i for i in range(9)), MAX_VOL])
# A price within this fraction of S e^{-qT} + K e^{-rT} of a bound is taken as on it: the
# bounds are differences of such terms, known only to ~1e-16 of them, and a time value that
# small fits any volatility (a deep in-the-money mid equal to its intrinsic value).
BOUND_TOLERANCE: Final = 1e-9

# Why a contract has no implied volatility (`ImpliedVol.reason`).
EXPIRED: Final = "expired"  # T <= 0
INVALID_INPUT: Final = "invalid_input"  # a non-finite or non-positive price, spot or strike
# price <= max(0, intrinsic value on the forward), to BOUND_TOLERANCE
BELOW_LOWER_BOUND: Final = "below_lower_bound"
# price >= S e^{-qT} (call) or K e^{-rT} (put), to BOUND_TOLERANCE
ABOVE_UPPER_BOUND: Final = "above_upper_bound"
VOL_BELOW_MIN: Final = "vol_below_min"  # the price needs sigma < MIN_VOL
VOL_ABOVE_MAX: Final = "vol_above_max"  # the price needs sigma > MAX_VOL
NO_CONVERGENCE: Final = "no_convergence"  # the solver stopped without meeting its tolerance
NO_SOLUTION_REASONS: Final = (
    EXPIRED,
    INVALID_INPUT,
    BELOW_LOWER_BOUND,
    ABOVE_UPPER_BOUND,
    VOL_BELOW_MIN,
    VOL_ABOVE_MAX,
    NO_CONVERGENCE,
)


def _floats(value: ArrayLike) -> FloatArray:
    return np.asarray(value, dtype=np.float64)


def _rights(is_call: ArrayLike) -> BoolArray:
    return np.asarray(is_call, dtype=np.bool_)


@dataclass(frozen=True)
class _Terms:
    """The pieces every formula is made of, broadcast: S e^{-qT}, K e^{-rT}, sqrt(T), sigma,
    d1 and d2."""

    growth: FloatArray
    discount: FloatArray
    root_t: FloatArray
    vol: FloatArray
    d1: FloatArray
    d2: FloatArray


def _terms(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike,
    div_yield: ArrayLike,
    vol: ArrayLike,
) -> _Terms:
    s, k, tt, r, q, v = (_floats(x) for x in (spot, strike, t, rate, div_yield, vol))
    with np.errstate(divide="ignore", invalid="ignore"):
        root_t = np.sqrt(tt)
        total = v * root_t
        d1 = (np.log(s / k) + (r - q + 0.5 * v * v) * tt) / total
    return _Terms(
        growth=s * np.exp(-q * tt),
        discount=k * np.exp(-r * tt),
        root_t=root_t,
        vol=v,
        d1=d1,
        d2=d1 - total,
    )


def bsm_price(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike,
    div_yield: ArrayLike,
    vol: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray:
    """Black-Scholes-Merton price.

        call = S e^{-qT} N(d1) - K e^{-rT} N(d2)
        put  = K e^{-rT} N(-d2) - S e^{-qT} N(-d1)

    At sigma sqrt(T) = 0 the limit, the discounted intrinsic value max(0, +/-(S e^{-qT} -
    K e^{-rT})), is returned; T < 0 or sigma < 0 gives NaN."""
    x = _terms(spot, strike, t, rate, div_yield, vol)
    sign = np.where(_rights(is_call), 1.0, -1.0)
    price = sign * (x.growth * ndtr(sign * x.d1) - x.discount * ndtr(sign * x.d2))
    limit = np.maximum(sign * (x.growth - x.discount), 0.0)
    undefined = np.isnan(x.root_t) | (x.vol < 0)  # T < 0 or sigma < 0
    out = np.where(x.vol * x.root_t == 0, limit, price)
    return np.asarray(np.where(undefined, np.nan, out), dtype=np.float64)


def bsm_vega(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike,
    div_yield: ArrayLike,
    vol: ArrayLike,
) -> FloatArray:
    """Sensitivity of the price to sigma (per 1.00 of volatility, calls and puts alike):

    vega = S e^{-qT} phi(d1) sqrt(T)."""
    x = _terms(spot, strike, t, rate, div_yield, vol)
    density = np.exp(-0.5 * x.d1 * x.d1) / np.sqrt(2.0 * np.pi)
    return np.asarray(x.growth * density * x.root_t, dtype=np.float64)


def bsm_delta(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike,
    div_yield: ArrayLike,
    vol: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray:
    """Sensitivity of the price to the spot:

    call: e^{-qT} N(d1),    put: -e^{-qT} N(-d1)."""
    x = _terms(spot, strike, t, rate, div_yield, vol)
    carry = x.growth / _floats(spot)  # e^{-qT}
    delta = np.where(_rights(is_call), carry * ndtr(x.d1), -carry * ndtr(-x.d1))
    return np.asarray(delta, dtype=np.float64)


def no_arbitrage_bounds(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike,
    div_yield: ArrayLike,
    is_call: ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """(lower, upper) bounds of a European price, the BSM limits as sigma -> 0 and -> inf:

    call: max(0, S e^{-qT} - K e^{-rT}) < C < S e^{-qT}
    put:  max(0, K e^{-rT} - S e^{-qT}) < P < K e^{-rT}."""
    x = _terms(spot, strike, t, rate, div_yield, 1.0)
    call = _rights(is_call)
    lower = np.maximum(np.where(call, x.growth - x.discount, x.discount - x.growth), 0.0)
    upper = np.where(call, x.growth, x.discount)
    return np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)


@dataclass(frozen=True)
class ImpliedVol:
    """Per contract: `vol` (NaN where there is none) and `reason` ("" where there is one, else
    one of `NO_SOLUTION_REASONS`)."""

    vol: FloatArray
    reason: npt.NDArray[np.object_]


def _normalised_excess(
    total_vol: FloatArray, moneyness: FloatArray, target: FloatArray, sign: FloatArray
) -> FloatArray:
    """theta [e^x N(theta d1) - N(theta d2)] - target, with x = ln(F/K), v = sigma sqrt(T),
    d1 = x/v + v/2, d2 = d1 - v, theta = +1 for calls and -1 for puts: the BSM price divided by
    K e^{-rT}, less the quoted price so divided; increasing in v."""
    d1 = moneyness / total_vol + 0.5 * total_vol
    d2 = d1 - total_vol
    value = sign * (np.exp(moneyness) * ndtr(sign * d1) - ndtr(sign * d2))
    return np.asarray(value - target, dtype=np.float64)


def implied_vol(
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    rate: float,
    div_yield: ArrayLike,
    is_call: ArrayLike,
) -> ImpliedVol:
    """The sigma at which `bsm_price` equals `price`, for every contract at once.

    A price has one implied volatility exactly when it lies strictly inside
    `no_arbitrage_bounds` (the price rises strictly from the lower bound at sigma = 0 to the
    upper bound as sigma -> inf). Working on the normalised price c = price / (K e^{-rT}) and
    the total volatility v = sigma sqrt(T), with x = ln(F/K) and F = S e^{(r-q)T}:

        call: c = e^x N(x/v + v/2) - N(x/v - v/2),
        put:  c = N(-x/v + v/2) - e^x N(-x/v - v/2),

    solved for v in [MIN_VOL sqrt(T), MAX_VOL sqrt(T)]: every price is first tried on the
    `VOL_GRID`, which brackets its root within an octave, then Chandrupatla's bracketed method
    (`scipy.optimize.elementwise.find_root`: vectorised, interpolating, falling back to
    bisection, so it always converges inside a valid bracket); sigma = v / sqrt(T).

    Contracts with no solution get NaN and their reason: T <= 0 (`expired`), a price, spot or
    strike not finite and positive (`invalid_input`), a price at or outside the bounds (to
    `BOUND_TOLERANCE`), or one that needs a volatility outside [MIN_VOL, MAX_VOL]."""
    if not np.isfinite(rate):
        raise OptionInputError("rate", f"{rate} is not a finite number")
    arrays = np.broadcast_arrays(
        _floats(price),
        _floats(spot),
        _floats(strike),
        _floats(t),
        _floats(div_yield),
        _rights(is_call),
    )
    p, s, k, tt, q = (np.asarray(a, dtype=np.float64).ravel() for a in arrays[:5])
    call = np.asarray(arrays[5], dtype=np.bool_).ravel()
    shape = arrays[0].shape
    reason = np.full(p.shape, "", dtype=object)
    vol = np.full(p.shape, np.nan)

    finite = np.isfinite(p) & np.isfinite(s) & np.isfinite(k) & np.isfinite(tt) & np.isfinite(q)
    valid = finite & (p > 0) & (s > 0) & (k > 0)
    reason[~valid] = INVALID_INPUT
    expired = valid & (tt <= 0)
    reason[expired] = EXPIRED
    live = valid & ~expired
    # Invalid rows (inf, NaN) are already marked; their arithmetic below is not looked at.
    with np.errstate(invalid="ignore", over="ignore"):
        lower, upper = no_arbitrage_bounds(s, k, tt, rate, q, call)
        slack = BOUND_TOLERANCE * (s * np.exp(-q * tt) + k * np.exp(-rate * tt))
        below = live & (p <= lower + slack)
        above = live & (p >= upper - slack)
    reason[below] = BELOW_LOWER_BOUND
    reason[above] = ABOVE_UPPER_BOUND
    todo = np.flatnonzero(live & ~below & ~above)
    if len(todo):
        vol[todo], reason[todo] = _solve(
            p[todo], s[todo], k[todo], tt[todo], rate, q[todo], call[todo]
        )
    return ImpliedVol(vol=vol.reshape(shape), reason=reason.reshape(shape))


def _solve(
    price: FloatArray,
    spot: FloatArray,
    strike: FloatArray,
    t: FloatArray,
    rate: float,
    div_yield: FloatArray,
    call: BoolArray,
) -> tuple[FloatArray, npt.NDArray[np.object_]]:
    root_t = np.sqrt(t)
    moneyness = np.log(spot / strike) + (rate - div_yield) * t
    target = price / (strike * np.exp(-rate * t))
    sign = np.where(call, 1.0, -1.0)
    reason = np.full(price.shape, "", dtype=object)
    vol = np.full(price.shape, np.nan)
    # The price on a grid of volatilities at once narrows each bracket to one octave before
    # the solver starts (a few iterations instead of ~20 from [MIN_VOL, MAX_VOL]), and says
    # which prices need a volatility outside the grid's ends.
    grid = VOL_GRID[:, None] * root_t[None, :]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        excess = _normalised_excess(grid, moneyness, target, sign)
    at_or_above = excess >= 0
    # The excess rises with the volatility: the first grid point where it is >= 0.
    first = np.where(at_or_above.any(axis=0), at_or_above.argmax(axis=0), len(VOL_GRID))
    columns = np.arange(len(price))
    exact = (first < len(VOL_GRID)) & (excess[np.minimum(first, len(VOL_GRID) - 1), columns] == 0)
    too_low = (first == 0) & ~exact
    too_high = first == len(VOL_GRID)
    reason[too_low] = VOL_BELOW_MIN
    reason[too_high] = VOL_ABOVE_MAX
    vol[exact] = VOL_GRID[first[exact]]
    go = np.flatnonzero(~too_low & ~too_high & ~exact)
    if len(go):
        low = grid[first[go] - 1, go]
        high = grid[first[go], go]
        result = find_root(
            _normalised_excess,
            (low, high),
            args=(moneyness[go], target[go], sign[go]),
            tolerances={"xatol": VOL_TOLERANCE * float(root_t[go].min()), "xrtol": 0.0},
        )
        ok = np.asarray(result.success, dtype=np.bool_)
        vol[go] = np.where(ok, np.asarray(result.x, dtype=np.float64) / root_t[go], np.nan)
        reason[go[~ok]] = NO_CONVERGENCE
    return vol, reason
