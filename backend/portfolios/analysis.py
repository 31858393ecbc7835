"""Analysis of a set of holdings against category targets (pure functions, no I/O).

``analyze_holdings`` values every holding, groups the holdings into the categories, measures each
category's weight against its target and summarises the portfolio (total value, cash,
value-weighted momentum score, unrealised gain).

Conventions
-----------
* **Value.** A holding with a usable price (finite and > 0) is worth ``shares · price`` and is
  *priced*. A holding without one is valued at its **total cost basis** (the cost of the whole
  position, not per share), flagged ``priced=False`` with a reason. A holding with neither a price
  nor a cost basis has no value (``value is None``): it is listed in ``unvalued`` and left out of
  every total and weight, never counted as 0.
* **Weights include cash.** ``weight = value / total_value`` where
  ``total_value = Σ holding values + cash``. Category drift is ``weight − target`` on that basis,
  so cash held is under-investment: with targets summing to 1 every category shows a share of
  the cash as negative drift. The same figures over invested value only
  (``invested_weight = value / Σ holding values``, ``invested_drift``) are reported beside them.
  The cash line has ``cash_target = max(0, 1 − Σ targets)`` and ``cash_drift``.
* **Undefined is None, not 0.** A weight with a zero or negative denominator, a score that cannot
  be computed, a gain without a price or cost basis: all are ``None`` and the tickers left out
  are listed.
* Holdings with exactly 0 shares are closed positions: they are left out and named in ``notes``.
  Negative or non-finite share counts are refused (``ValueError``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final, Literal, Protocol

from backend.portfolios.decimals import Amount

UNCATEGORISED: Final = "Uncategorised"

Valuation = Literal["market", "cost_basis", "none"]


@dataclass(frozen=True)
class CategoryTarget:
    """A category: its name, its target weight (a fraction of total value) and its tickers."""

    name: str
    target: float
    tickers: frozenset[str]


class _CategoryLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def target(self) -> float: ...

    @property
    def tickers(self) -> Iterable[str]: ...


def category_targets(categories: Iterable[_CategoryLike]) -> tuple[CategoryTarget, ...]:
    """``CategoryTarget`` for each object with ``name``, ``target`` and ``tickers`` (e.g. the
    ``reference.seed.SEED_CATEGORIES``), in the same order."""
    return tuple(CategoryTarget(c.name, float(c.target), frozenset(c.tickers)) for c in categories)


def ticker_categories(categories: Sequence[CategoryTarget]) -> dict[str, str]:
    """Map ticker -> category name. Raises ``ValueError`` when a ticker is in two categories, two
    categories share a name, a category is named ``"Uncategorised"`` (reserved), or a target is
    negative or not finite."""
    out: dict[str, str] = {}
    names: set[str] = set()
    for cat in categories:
        if cat.name == UNCATEGORISED:
            raise ValueError(f"category name {UNCATEGORISED!r} is reserved")
        if cat.name in names:
            raise ValueError(f"category {cat.name!r} appears twice")
        names.add(cat.name)
        if not math.isfinite(cat.target) or cat.target < 0:
            raise ValueError(f"category {cat.name!r} has an invalid target {cat.target!r}")
        for ticker in cat.tickers:
            if ticker in out:
                raise ValueError(f"{ticker} is in two categories: {out[ticker]!r} and {cat.name!r}")
            out[ticker] = cat.name
    return out


def usable_price(price: float | None) -> float | None:
    """``price`` when it is a finite number > 0, else ``None`` (no usable price)."""
    if price is None:
        return None
    value = float(price)
    return value if math.isfinite(value) and value > 0 else None


def usable_score(score: float | None) -> float | None:
    """``score`` when it is a finite number, else ``None`` (NaN means no score)."""
    if score is None:
        return None
    value = float(score)
    return value if math.isfinite(value) else None


def safe_ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``, or ``None`` when ``denominator ≤ 0`` (undefined, not 0)."""
    return numerator / denominator if denominator > 0 else None


def value_weighted_score(
    values: Mapping[str, float], scores: Mapping[str, float | None]
) -> tuple[float | None, tuple[str, ...]]:
    """``Σ vᵢ·sᵢ / Σ vᵢ`` over the tickers with a value ``vᵢ > 0`` and a finite score ``sᵢ``.

    Returns the score (``None`` when no ticker qualifies) and the tickers left out, sorted."""
    num = 0.0
    den = 0.0
    left_out: list[str] = []
    for ticker, value in values.items():
        score = usable_score(scores.get(ticker))
        if score is None or not value > 0:
            left_out.append(ticker)
            continue
        num += value * score
        den += value
    return (num / den if den > 0 else None), tuple(sorted(left_out))


@dataclass(frozen=True)
class HoldingAnalysis:
    """One holding.

    ``market_value = shares · price`` (``None`` without a usable price); ``value`` is the market
    value, or the cost basis when unpriced (``valuation`` says which), or ``None`` with neither.
    ``weight = value / total_value`` (cash included), ``invested_weight = value / holdings_value``.
    ``unrealised_gain = market_value − cost_basis`` (``None`` unless both are known).
    ``reasons`` explains every flag (no price, no score, no category, ...)."""

    ticker: str
    shares: float
    price: float | None
    market_value: Amount | None
    cost_basis: Amount | None
    value: Amount | None
    valuation: Valuation
    priced: bool
    weight: float | None
    invested_weight: float | None
    score: float | None
    rating: str | None
    category: str
    unrealised_gain: Amount | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class CategoryAnalysis:
    """One category (or the ``"Uncategorised"`` bucket, target 0, ``uncategorised=True``).

    ``value = Σ`` holding values in it; ``weight = value / total_value`` (cash included),
    ``drift = weight − target``; ``invested_weight = value / holdings_value``,
    ``invested_drift = invested_weight − target``. ``unpriced`` names its holdings without a usable
    price (valued at cost, or unvalued); ``unvalued`` the subset with no cost basis either, left
    out of ``value``."""

    name: str
    target: float
    value: Amount
    weight: float | None
    drift: float | None
    invested_weight: float | None
    invested_drift: float | None
    tickers: tuple[str, ...]
    unpriced: tuple[str, ...]
    unvalued: tuple[str, ...]
    uncategorised: bool


@dataclass(frozen=True)
class PortfolioAnalysis:
    """The whole portfolio.

    ``holdings_value = Σ`` holding values (market or cost; no cash), ``total_value =
    holdings_value + cash``, ``market_valued = Σ shares·price`` over the priced holdings,
    ``cost_valued = Σ`` cost basis of the unpriced holdings valued at cost (so ``holdings_value =
    market_valued + cost_valued``). ``cash_weight = cash / total_value``,
    ``cash_target = max(0, 1 − Σ targets)``, ``cash_drift = cash_weight − cash_target``.
    ``momentum_score = Σ value·score / Σ value`` over the holdings with a value and a score
    (``score_left_out`` names the others, ``score_coverage`` is the share of invested value it
    covers). ``unrealised_gain = Σ (market_value − cost_basis)`` over priced holdings with a cost
    basis; ``unrealised_gain_pct`` divides it by their cost; ``gain_left_out`` names the others.
    ``unpriced`` names the holdings without a usable price (valued at cost, or unvalued),
    ``unvalued`` those with no value at all, ``uncategorised`` those in no category.
    ``weights_include_cash`` is always True (documents the weight basis)."""

    holdings: tuple[HoldingAnalysis, ...]
    categories: tuple[CategoryAnalysis, ...]
    total_value: Amount
    holdings_value: Amount
    market_valued: Amount
    cost_valued: Amount
    cash: Amount
    cash_weight: float | None
    cash_target: float
    cash_drift: float | None
    weights_include_cash: bool
    momentum_score: float | None
    score_left_out: tuple[str, ...]
    score_coverage: float | None
    unrealised_gain: Amount | None
    unrealised_gain_pct: float | None
    gain_left_out: tuple[str, ...]
    unpriced: tuple[str, ...]
    unvalued: tuple[str, ...]
    uncategorised: tuple[str, ...]
    notes: tuple[str, ...]


def _check_shares(shares: Mapping[str, float]) -> tuple[dict[str, float], list[str]]:
    """Open positions (shares > 0) and the closed ones (exactly 0); refuses negatives and NaN."""
    held: dict[str, float] = {}
    closed: list[str] = []
    for ticker, count in shares.items():
        n = float(count)
        if not math.isfinite(n) or n < 0:
            raise ValueError(f"{ticker}: share count must be finite and ≥ 0, got {count!r}")
        if n == 0:
            closed.append(ticker)
        else:
            held[ticker] = n
    return held, sorted(closed)


def _analyze_one(
    ticker: str,
    n: float,
    price: float | None,
    basis_raw: float | None,
    score: float | None,
    rating: str | None,
    category: str,
) -> HoldingAnalysis:
    """A holding without its weights (filled in once the totals are known)."""
    reasons: list[str] = []
    basis = None
    if basis_raw is not None and math.isfinite(float(basis_raw)):
        basis = float(basis_raw)
    market = n * price if price is not None else None
    valuation: Valuation
    if market is not None:
        value: float | None = market
        valuation = "market"
    elif basis is not None:
        value = basis
        valuation = "cost_basis"
        reasons.append("no price: valued at cost basis")
    else:
        value = None
        valuation = "none"
        reasons.append("no price and no cost basis: not valued, left out of totals")
    if score is None:
        reasons.append("no momentum score")
    if category == UNCATEGORISED:
        reasons.append("in no category")
    gain = market - basis if market is not None and basis is not None else None
    return HoldingAnalysis(
        ticker=ticker,
        shares=n,
        price=price,
        market_value=market,
        cost_basis=basis,
        value=value,
        valuation=valuation,
        priced=market is not None,
        weight=None,
        invested_weight=None,
        score=score,
        rating=rating,
        category=category,
        unrealised_gain=gain,
        reasons=tuple(reasons),
    )


def analyze_holdings(
    shares: Mapping[str, float],
    prices: Mapping[str, float | None],
    cost_basis: Mapping[str, float],
    scores: Mapping[str, float | None],
    ratings: Mapping[str, str | None],
    categories: Sequence[CategoryTarget],
    cash: float,
) -> PortfolioAnalysis:
    """Analyse ``shares`` (ticker -> count) against ``categories``.

    ``prices``: last close per ticker (missing, ``None``, NaN or ≤ 0 = no price).
    ``cost_basis``: **total** cost of each position (shares × average cost), used to value an
    unpriced holding and for the unrealised gain. ``scores``/``ratings``: momentum score and
    rating per ticker (missing or ``None`` = none). ``cash`` may be any finite number.

    Formulas (see the module docstring for the conventions):
    ``value_i = shares_i · price_i`` (else cost basis), ``V = Σ value_i + cash``,
    ``w_i = value_i / V``, ``W_c = Σ_{i∈c} value_i / V``, ``drift_c = W_c − target_c``,
    ``score = Σ value_i·s_i / Σ value_i`` over scored holdings,
    ``unrealised = Σ (shares_i·price_i − cost_i)`` over priced holdings with a cost.

    Holdings are returned by value (largest first, unvalued last), then ticker; categories in
    the given order with ``"Uncategorised"`` last, present only when some holding is in no
    category. Raises ``ValueError`` on negative/NaN shares, non-finite cash or invalid categories.
    """
    if not math.isfinite(float(cash)):
        raise ValueError(f"cash must be finite, got {cash!r}")
    cash = float(cash)
    cat_of = ticker_categories(categories)
    held, closed = _check_shares(shares)

    rows = [
        _analyze_one(
            ticker,
            n,
            usable_price(prices.get(ticker)),
            cost_basis.get(ticker),
            usable_score(scores.get(ticker)),
            ratings.get(ticker),
            cat_of.get(ticker, UNCATEGORISED),
        )
        for ticker, n in held.items()
    ]
    values = {r.ticker: r.value for r in rows if r.value is not None}
    invested = sum(values.values())
    total = invested + cash
    rows = [
        replace(
            r,
            weight=None if r.value is None else safe_ratio(r.value, total),
            invested_weight=None if r.value is None else safe_ratio(r.value, invested),
        )
        for r in rows
    ]
    rows.sort(key=lambda r: (r.value is None, -(r.value or 0.0), r.ticker))

    buckets: list[tuple[str, float, bool]] = [(c.name, c.target, False) for c in categories]
    uncategorised = tuple(sorted(r.ticker for r in rows if r.category == UNCATEGORISED))
    if uncategorised:
        buckets.append((UNCATEGORISED, 0.0, True))
    cat_rows = []
    for name, target, is_uncat in buckets:
        members = [r for r in rows if r.category == name]
        value = sum(r.value for r in members if r.value is not None)
        weight = safe_ratio(value, total)
        inv_weight = safe_ratio(value, invested)
        cat_rows.append(
            CategoryAnalysis(
                name=name,
                target=target,
                value=value,
                weight=weight,
                drift=None if weight is None else weight - target,
                invested_weight=inv_weight,
                invested_drift=None if inv_weight is None else inv_weight - target,
                tickers=tuple(r.ticker for r in members),
                unpriced=tuple(sorted(r.ticker for r in members if not r.priced)),
                unvalued=tuple(sorted(r.ticker for r in members if r.valuation == "none")),
                uncategorised=is_uncat,
            )
        )

    momentum, score_left_out = value_weighted_score(
        {r.ticker: r.value if r.value is not None else math.nan for r in rows},
        {r.ticker: r.score for r in rows},
    )
    scored_value = sum(v for t, v in values.items() if t not in score_left_out)
    gain_rows = [r for r in rows if r.unrealised_gain is not None]
    gain = sum(r.unrealised_gain for r in gain_rows if r.unrealised_gain is not None)
    gain_cost = sum(r.cost_basis for r in gain_rows if r.cost_basis is not None)
    cash_weight = safe_ratio(cash, total)
    cash_target = max(0.0, 1.0 - sum(c.target for c in categories))
    notes = []
    if closed:
        notes.append("closed positions (0 shares) left out: " + ", ".join(closed))
    if total <= 0:
        notes.append("total value is not positive: weights are undefined (None)")
    return PortfolioAnalysis(
        holdings=tuple(rows),
        categories=tuple(cat_rows),
        total_value=total,
        holdings_value=invested,
        market_valued=sum(r.market_value for r in rows if r.market_value is not None),
        cost_valued=sum(r.cost_basis or 0.0 for r in rows if r.valuation == "cost_basis"),
        cash=cash,
        cash_weight=cash_weight,
        cash_target=cash_target,
        cash_drift=None if cash_weight is None else cash_weight - cash_target,
        weights_include_cash=True,
        momentum_score=momentum,
        score_left_out=score_left_out,
        score_coverage=safe_ratio(scored_value, invested),
        unrealised_gain=gain if gain_rows else None,
        unrealised_gain_pct=safe_ratio(gain, gain_cost) if gain_rows else None,
        gain_left_out=tuple(sorted(r.ticker for r in rows if r.unrealised_gain is None)),
        unpriced=tuple(sorted(r.ticker for r in rows if not r.priced)),
        unvalued=tuple(sorted(r.ticker for r in rows if r.valuation == "none")),
        uncategorised=uncategorised,
        notes=tuple(notes),
    )
