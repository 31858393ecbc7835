"""Correlation of holdings and the diversification ratio, from adjusted closes (pure functions).

Conventions
-----------
* **Daily return** of ticker ``i`` on row ``t`` of the price frame: ``r_{t,i} = P_{t,i} /
  P_{t−1,i} − 1`` with ``P`` the adjusted close (dividends and splits in it) and ``t − 1`` the
  previous row of the frame; NaN when either close is missing (NaN, ±inf or ≤ 0). Nothing is
  filled: a missing close removes the returns on both sides of it.
* **Pearson correlation** of ``i`` and ``j`` over their *overlapping* returns (rows where both
  are defined), ``n_ij`` of them:
  ``ρ_ij = Σ (x − x̄)(y − ȳ) / √(Σ (x − x̄)² · Σ (y − ȳ)²)`` with the means over the overlap.
  It is None, with the reason, when ``n_ij < min_observations`` or either side does not vary
  over the overlap. The diagonal is 1 where the ticker itself qualifies. This is what
  ``DataFrame.pct_change(fill_method=None).corr(min_periods=min_observations)`` computes.
* **Average pairwise correlation** ``= mean(ρ_ij)`` over the pairs ``i < j`` that have one.
* **Diversification ratio** ``DR = Σ wᵢσᵢ / σ_p`` with ``σ_p = √(wᵀ Σ w)``: the weighted mean of
  the holdings' volatilities over the portfolio's volatility (1 when every pair is perfectly
  correlated, higher the more the holdings offset each other; ``√N`` for ``N`` uncorrelated
  holdings of equal volatility and weight). ``w`` are the holdings' weights normalised to sum 1;
  ``σᵢ`` and the covariance ``Σ`` (ddof 1) are taken over the **common** days, where every
  weighted holding has a return, so that ``Σ`` is a true covariance matrix; the ratio is
  scale-free (daily or annualised volatilities give the same number).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]

# Below this spread (relative to the returns' own size) a series counts as not varying: its
# centred sums are float residue, not a variance.
FLAT: Final = 1e-10


@dataclass(frozen=True)
class PairCorrelation:
    """One pair ``a < b`` (in the frame's order): ``correlation`` over ``observations``
    overlapping daily returns, or None with ``reason``."""

    a: str
    b: str
    correlation: float | None
    observations: int
    reason: str | None


@dataclass(frozen=True)
class CorrelationMatrix:
    """``matrix``: tickers x tickers, NaN where undefined; ``observations``: overlapping returns
    per pair; ``pairs``: every pair ``i < j`` with its reason when undefined; ``average``: the
    mean of the defined pairs (None without any); ``returns_per_ticker``: each ticker's own
    count of returns; ``min_observations``: the threshold used."""

    tickers: tuple[str, ...]
    matrix: pd.DataFrame
    observations: pd.DataFrame
    pairs: tuple[PairCorrelation, ...]
    average: float | None
    pairs_defined: int
    pairs_undefined: int
    returns_per_ticker: Mapping[str, int]
    min_observations: int


@dataclass(frozen=True)
class DiversificationRatio:
    """``ratio = weighted_volatility / portfolio_volatility`` (None with ``reason``), both daily,
    over ``observations`` common days; ``weights`` as used (normalised to 1); ``left_out``: the
    holdings not used and why."""

    ratio: float | None
    weighted_volatility: float | None
    portfolio_volatility: float | None
    observations: int
    weights: Mapping[str, float]
    left_out: Mapping[str, str]
    reason: str | None


def daily_returns(adj_close: pd.DataFrame) -> pd.DataFrame:
    """``r_t = P_t / P_{t−1} − 1`` between consecutive rows; NaN unless both closes are finite
    and > 0. Rows must be in ascending date order."""
    if not adj_close.index.is_monotonic_increasing:
        raise ValueError("prices must be in ascending date order")
    p = adj_close.astype(np.float64)
    p = p.where(np.isfinite(p) & (p > 0))
    return p / p.shift(1) - 1.0


def _check_min(min_observations: int) -> None:
    if isinstance(min_observations, bool) or int(min_observations) != min_observations:
        raise ValueError(f"min_observations must be an integer, got {min_observations!r}")
    if min_observations < 2:
        raise ValueError(f"min_observations must be at least 2, got {min_observations}")


def correlation_matrix(adj_close: pd.DataFrame, min_observations: int) -> CorrelationMatrix:
    """Pearson correlations of the daily returns of every pair of columns of ``adj_close``
    (dates x tickers), over their overlapping days; pairs with fewer than ``min_observations``
    overlapping returns (≥ 2) or a side that does not vary are None with the reason.

    One pass for all pairs: with ``M`` the mask of defined returns and ``X`` the returns
    centred on each column's mean (zero where undefined; a shift leaves ρ unchanged),
    ``n = MᵀM``, ``Sx = XᵀM``, ``Sxx = (X∘X)ᵀM``, ``Sxy = XᵀX``, then
    ``cov = Sxy − Sx·Sxᵀ/n`` and ``var_x = Sxx − Sx²/n`` per pair."""
    _check_min(min_observations)
    if not adj_close.columns.is_unique:
        raise ValueError("tickers must be unique")
    tickers = tuple(str(t) for t in adj_close.columns)
    r = daily_returns(adj_close).to_numpy(dtype=np.float64)
    mask = np.isfinite(r)
    m = mask.astype(np.float64)
    counts = m.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = np.where(counts > 0, np.nansum(r, axis=0) / counts, 0.0)
    x = np.where(mask, r - centre, 0.0)
    scale = np.where(mask, np.abs(r), 0.0).max(axis=0, initial=0.0)
    n = m.T @ m
    sx = x.T @ m  # sx[i, j] = Σ over the overlap of x_i
    sxx = (x * x).T @ m
    sxy = x.T @ x
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy - sx * sx.T / n
        var_x = sxx - sx * sx / n
        var_y = var_x.T
        flat_x = var_x <= n * (FLAT * scale[:, None]) ** 2
        flat_y = flat_x.T
        rho = np.clip(cov / np.sqrt(var_x * var_y), -1.0, 1.0)
    defined = (n >= min_observations) & ~flat_x & ~flat_y
    rho = np.where(defined, rho, np.nan)
    np.fill_diagonal(rho, np.where(np.diag(defined), 1.0, np.nan))

    iu, ju = np.triu_indices(len(tickers), 1)
    pairs: list[PairCorrelation] = []
    for i, j, obs, value, fx, fy in zip(
        iu.tolist(),
        ju.tolist(),
        n[iu, ju].astype(np.int64).tolist(),
        rho[iu, ju].tolist(),
        flat_x[iu, ju].tolist(),
        flat_y[iu, ju].tolist(),
    ):
        reason = None
        if obs < min_observations:
            reason = f"{obs} overlapping daily returns, fewer than the {min_observations} needed"
        elif fx or fy:
            reason = f"{tickers[i] if fx else tickers[j]}'s returns do not vary over the overlap"
        pairs.append(
            PairCorrelation(tickers[i], tickers[j], None if reason else value, obs, reason)
        )
    values = [p.correlation for p in pairs if p.correlation is not None]
    index = pd.Index(tickers)
    return CorrelationMatrix(
        tickers=tickers,
        matrix=pd.DataFrame(rho, index=index, columns=index),
        observations=pd.DataFrame(n.astype(np.int64), index=index, columns=index),
        pairs=tuple(pairs),
        average=float(np.mean(values)) if values else None,
        pairs_defined=len(values),
        pairs_undefined=len(pairs) - len(values),
        returns_per_ticker={t: int(c) for t, c in zip(tickers, counts)},
        min_observations=int(min_observations),
    )


def diversification_ratio(
    adj_close: pd.DataFrame, weights: Mapping[str, float], min_observations: int
) -> DiversificationRatio:
    """``DR = Σ wᵢσᵢ / √(wᵀΣw)`` (module docstring) for the holdings of ``weights`` (ticker ->
    weight or value, ≥ 0; normalised to sum 1 over the tickers used), over the days on which
    every one of them has a daily return. A holding without a price column, with a zero weight
    or without any return is left out (named, the others renormalised); fewer than
    ``min_observations`` common days, or a portfolio volatility of 0, give None with the reason.
    Raises ``ValueError`` for a negative or non-finite weight."""
    _check_min(min_observations)
    left_out: dict[str, str] = {}
    used: dict[str, float] = {}
    returns = daily_returns(adj_close)
    for ticker, w in sorted(weights.items()):
        w = float(w)
        if not math.isfinite(w) or w < 0:
            raise ValueError(f"{ticker}: weight must be finite and ≥ 0, got {w!r}")
        if w == 0:
            left_out[ticker] = "weight 0"
        elif ticker not in returns.columns:
            left_out[ticker] = "no prices"
        elif not returns[ticker].notna().any():
            left_out[ticker] = "no daily return (fewer than two consecutive closes)"
        else:
            used[ticker] = w
    total = sum(used.values())
    norm = {t: w / total for t, w in used.items()} if total > 0 else {}

    def none(reason: str, days: int = 0) -> DiversificationRatio:
        return DiversificationRatio(None, None, None, days, norm, left_out, reason)

    if not norm:
        return none("no holding with a weight and daily returns")
    common = returns[list(norm)].dropna()
    if len(common) < min_observations:
        return none(
            f"{len(common)} days on which every holding has a return, fewer than the "
            f"{min_observations} needed",
            len(common),
        )
    w_vec = np.array(list(norm.values()), dtype=np.float64)
    cov = np.atleast_2d(np.cov(common.to_numpy(dtype=np.float64), rowvar=False, ddof=1))
    sigma = np.sqrt(np.diag(cov))
    weighted = float(w_vec @ sigma)
    port = math.sqrt(max(0.0, float(w_vec @ cov @ w_vec)))
    if port <= FLAT * max(weighted, 1e-300):
        return DiversificationRatio(
            None, weighted, port, len(common), norm, left_out, "the portfolio's returns do not vary"
        )
    return DiversificationRatio(weighted / port, weighted, port, len(common), norm, left_out, None)
