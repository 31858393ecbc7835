"""A whole-share rebalancing plan toward category target weights (pure functions, no I/O).

``plan_rebalance`` sells from over-weight categories (lowest momentum score first) and buys into
under-weight ones (highest score first), in whole shares, without spending more than the cash plus
the sale proceeds and without any trade below ``min_trade``.

Conventions
-----------
* **Total value** ``V = Σ shares·price`` over the held securities with a usable price (finite, > 0)
  ``+ cash``. Held securities without a price cannot be valued or traded: they are left out of
  ``V``, listed in ``skipped`` and named in ``notes``. A category's **target value** is
  ``T_c = target_c · V``; its **deviation** is ``d_c = value_c − T_c``. Weights (before and after)
  are ``value_c / V``; ``V`` does not change with the trades (they happen at the same prices).
* **Sells.** A category with ``d_c > 0`` sells from its priced holdings ordered by score ascending
  (holdings without a score first: no momentum evidence), ticker as tie-break. Per holding:
  ``n = min(⌊d/p⌋, ⌊held⌋)`` shares (whole shares only; a fractional remainder is never sold).
* **Buys.** The cash available is ``A = cash + proceeds``. A category with ``d_c < 0`` buys its
  priced members that have a score, by score descending (ticker as tie-break), held or not;
  members without a price or a score are never bought (listed in ``skipped``). Pass 1 gives each
  under-weight category the budget ``|d_c| · min(1, A / Σ|d|)`` (a fair share when cash is short)
  and buys ``n = ⌊min(budget, cash left) / p⌋`` of each candidate in turn. Pass 2 spends what is
  left on the categories' remaining deficits, largest first, the same way.
* **Minimum trade.** A trade of ``n·p < min_trade`` is not made. When the remaining deviation is
  at least ``max(p, min_trade)`` but ``⌊d/p⌋`` shares are below ``min_trade``, one more share is
  traded instead (``n+1``: it over- or under-shoots the target by less than one share), cash and
  holdings permitting; for buys only in pass 2.
* **Guarantee.** ``cash_after ≥ 0`` always, every trade is ≥ ``min_trade`` and whole, unpriced
  securities are never traded, and no target is overshot by one share (of the security traded)
  or more. Each category ends within its ``tolerance = max(p, min_trade)`` of its target value
  — ``p`` is the price of its highest-scoring buy candidate (under-weight) or the highest price
  among its sellable holdings (over-weight; 0 if it holds no whole share) — unless its
  ``status`` says why not: ``"limited by cash"`` (then ``cash_after < |deviation| + p``),
  ``"nothing left to sell"`` (every priced holding is sold down to its fractional part, or its
  remaining whole shares are worth less than ``min_trade``), no priced or no scored member.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from backend.portfolios.analysis import (
    UNCATEGORISED,
    CategoryTarget,
    safe_ratio,
    ticker_categories,
    usable_price,
    usable_score,
)
from backend.portfolios.decimals import Amount

Side = Literal["buy", "sell"]

# Slack for float noise in ``⌊x / p⌋`` (2.9999999999 shares of value is 3 shares).
EPS: Final = 1e-9
# How far the targets may sum above 1 before they are refused (the API accepts 1 ± 0.001). Up
# to that, targets are used as given: the cash constraint keeps the plan feasible.
TARGET_SUM_TOLERANCE: Final = 1e-3

WITHIN: Final = "within one share"
LIMITED_BY_CASH: Final = "limited by cash"
NOTHING_TO_SELL: Final = "nothing left to sell"
NO_PRICED_MEMBER: Final = "no priced member"
NO_SCORED_MEMBER: Final = "no priced member with a score"
NOT_TRADED: Final = "not traded: in no category"
UNDEFINED: Final = "total value not positive"


@dataclass(frozen=True)
class Trade:
    """One order: ``amount = shares · price`` (always > 0; ``side`` gives the direction)."""

    ticker: str
    side: Side
    shares: int
    price: float
    amount: Amount
    category: str
    score: float | None


@dataclass(frozen=True)
class SkippedSecurity:
    """A security the plan did not (or could not) trade, and why."""

    ticker: str
    category: str
    reason: str


@dataclass(frozen=True)
class CategoryRebalance:
    """One category before and after the plan.

    ``target_value = target · V``; ``value_*`` are ``Σ shares·price`` over its priced holdings;
    ``weight_* = value_* / V`` and ``drift_* = weight_* − target`` (``None`` if ``V ≤ 0``);
    ``deviation_after = value_after − target_value``; ``tolerance = max(p, min_trade)`` (see the
    module docstring; ``None`` when there is nothing it could trade and no ``min_trade``);
    ``status`` is one of ``"within one share"``, ``"limited by cash"``, ``"nothing left to
    sell"``, ``"no priced member"``, ``"no priced member with a score"``, ``"not traded: in no
    category"`` (the ``"Uncategorised"`` bucket), ``"total value not positive"``. ``unpriced``
    names its held securities left out for lack of a price."""

    name: str
    target: float
    target_value: Amount
    value_before: Amount
    value_after: Amount
    weight_before: float | None
    weight_after: float | None
    drift_before: float | None
    drift_after: float | None
    deviation_after: Amount
    tolerance: Amount | None
    status: str
    bought: Amount
    sold: Amount
    unpriced: tuple[str, ...]
    uncategorised: bool


@dataclass(frozen=True)
class RebalancePlan:
    """The plan: trades (sells first, then buys, each by category order and ticker), the
    categories before/after, skipped securities, and the cash:
    ``cash_after = cash_before + sold − bought ≥ 0``. ``total_value = V`` (priced holdings + cash),
    ``cash_weight_* = cash_* / V``."""

    trades: tuple[Trade, ...]
    categories: tuple[CategoryRebalance, ...]
    skipped: tuple[SkippedSecurity, ...]
    total_value: Amount
    cash_before: Amount
    cash_after: Amount
    cash_weight_before: float | None
    cash_weight_after: float | None
    bought: Amount
    sold: Amount
    min_trade: Amount
    notes: tuple[str, ...]


@dataclass
class _Security:
    ticker: str
    price: float
    score: float | None
    held: float
    delta: int = 0


@dataclass
class _Category:
    name: str
    target: float
    target_value: float
    members: list[_Security] = field(default_factory=list)
    unpriced_held: list[str] = field(default_factory=list)
    bought: float = 0.0
    sold: float = 0.0

    @property
    def value_before(self) -> float:
        return sum(s.held * s.price for s in self.members)

    @property
    def value_after(self) -> float:
        return sum((s.held + s.delta) * s.price for s in self.members)

    def sellable(self) -> list[_Security]:
        """Priced holdings with at least one whole share, lowest score first (None lowest)."""
        held = [s for s in self.members if whole_shares(s.held) >= 1]
        return sorted(held, key=lambda s: (s.score is not None, s.score or 0.0, s.ticker))

    def buyable(self) -> list[_Security]:
        """Priced members with a score, highest score first."""
        scored = [s for s in self.members if s.score is not None]
        return sorted(scored, key=lambda s: (-(s.score or 0.0), s.ticker))


def whole_shares(shares: float) -> int:
    """``⌊shares + ε⌋``: the whole shares in a (possibly fractional) holding."""
    return max(0, math.floor(shares + EPS))


def shares_for(amount: float, price: float) -> int:
    """``⌊amount / price + ε⌋`` (0 when ``amount ≤ 0``): whole shares worth at most ``amount``."""
    return max(0, math.floor(amount / price + EPS)) if amount > 0 else 0


def affordable_shares(cash: float, price: float) -> int:
    """The most whole shares with ``n · price ≤ cash`` exactly (no float slack: cash stays ≥ 0)."""
    if cash <= 0:
        return 0
    n = math.floor(cash / price)
    while n > 0 and n * price > cash:
        n -= 1
    return n


def _sell(cat: _Category, min_trade: float) -> None:
    """Sell ``cat``'s excess ``d = value − target_value`` from its lowest-scoring holdings:
    ``n = min(⌊d/p⌋, ⌊held⌋)``, or ``n + 1`` when ``n·p < min_trade ≤ d`` and ``p ≤ d``."""
    for sec in cat.sellable():
        rem = cat.value_after - cat.target_value
        if rem <= 0:
            break
        p = sec.price
        available = whole_shares(sec.held)
        n = min(shares_for(rem, p), available)
        if n * p < min_trade or n == 0:
            n = n + 1 if rem >= max(p, min_trade) and n + 1 <= available else 0
            if n * p < min_trade:
                n = 0
        if n:
            sec.delta -= n
            cat.sold += n * p


def _buy(cat: _Category, budget: float, cash: float, min_trade: float, round_up: bool) -> float:
    """Spend up to ``budget`` (and never more than ``cash``) on ``cat``'s highest-scoring members:
    ``n = ⌊min(budget, cash)/p⌋`` each in turn; with ``round_up``, ``n + 1`` when
    ``n·p < min_trade ≤ budget`` and ``p ≤ budget`` and cash allows. Returns the cash left."""
    rem = budget
    for sec in cat.buyable():
        if rem <= 0:
            break
        p = sec.price
        n = min(shares_for(rem, p), affordable_shares(cash, p))
        if n * p < min_trade or n == 0:
            can_round = round_up and rem >= max(p, min_trade)
            n = n + 1 if can_round and (n + 1) * p <= cash else 0
            if n * p < min_trade:
                n = 0
        if n:
            cost = n * p
            sec.delta += n
            cat.bought += cost
            rem -= cost
            cash -= cost
    return cash


def _validate(cash: float, min_trade: float, categories: Sequence[CategoryTarget]) -> None:
    if not math.isfinite(cash) or cash < 0:
        raise ValueError(f"cash must be finite and ≥ 0, got {cash!r}")
    if not math.isfinite(min_trade) or min_trade < 0:
        raise ValueError(f"min_trade must be finite and ≥ 0, got {min_trade!r}")
    total = sum(c.target for c in categories)
    if total > 1 + TARGET_SUM_TOLERANCE:
        raise ValueError(f"category targets sum to {total:.6f} > 1")


def plan_rebalance(
    shares: Mapping[str, float],
    prices: Mapping[str, float | None],
    scores: Mapping[str, float | None],
    categories: Sequence[CategoryTarget],
    cash: float,
    min_trade: float,
) -> RebalancePlan:
    """Plan whole-share trades that bring each category toward ``target_c · V``.

    ``shares``: ticker -> shares held (≥ 0, may be fractional); ``prices``: last close (missing,
    ``None``, NaN or ≤ 0 = no price); ``scores``: momentum score (missing/None/NaN = none);
    ``cash``: cash available to invest (≥ 0, e.g. the portfolio's cash plus new money);
    ``min_trade``: smallest trade amount allowed (≥ 0).

    Formulas: ``V = Σ shares·price + cash``; ``T_c = target_c·V``; ``d_c = value_c − T_c``;
    sells ``n = min(⌊d_c/p⌋, ⌊held⌋)`` lowest score first; buys ``n = ⌊min(budget, cash)/p⌋``
    highest score first with ``budget_c = |d_c|·min(1, A/Σ|d|)``, ``A = cash + proceeds``; then
    the leftover cash on the largest remaining deficits. See the module docstring for the
    rounding and ``min_trade`` rules and the guarantee.

    Raises ``ValueError`` for negative/NaN shares, cash or ``min_trade``, targets summing above 1,
    or invalid categories (a ticker in two categories, duplicate names).
    """
    cash = float(cash)
    min_trade = float(min_trade)
    _validate(cash, min_trade, categories)
    cat_of = ticker_categories(categories)
    for ticker, count in shares.items():
        if not math.isfinite(float(count)) or float(count) < 0:
            raise ValueError(f"{ticker}: share count must be finite and ≥ 0, got {count!r}")

    skipped: dict[str, SkippedSecurity] = {}
    notes: list[str] = []
    priced_value = 0.0
    unpriced_held: dict[str, list[str]] = {}
    uncategorised_value = 0.0
    uncategorised: list[str] = []
    for ticker, count in sorted(shares.items()):
        n = float(count)
        if n == 0:
            continue
        price = usable_price(prices.get(ticker))
        cat_name = cat_of.get(ticker, UNCATEGORISED)
        if price is None:
            unpriced_held.setdefault(cat_name, []).append(ticker)
            skipped[ticker] = SkippedSecurity(
                ticker, cat_name, "no price: not traded, left out of the total value"
            )
            continue
        priced_value += n * price
        if cat_name == UNCATEGORISED:
            uncategorised_value += n * price
            uncategorised.append(ticker)
            skipped[ticker] = SkippedSecurity(ticker, cat_name, NOT_TRADED)
    total = priced_value + cash
    if unpriced_held:
        names = sorted(t for ts in unpriced_held.values() for t in ts)
        notes.append("held without a price, left out of the total value: " + ", ".join(names))

    cats: list[_Category] = []
    for c in categories:
        cat = _Category(c.name, c.target, c.target * total)
        cat.unpriced_held = unpriced_held.get(c.name, [])
        for ticker in sorted(c.tickers):
            price = usable_price(prices.get(ticker))
            if price is not None:
                held = float(shares.get(ticker, 0.0))
                cat.members.append(_Security(ticker, price, usable_score(scores.get(ticker)), held))
        cats.append(cat)

    tolerance: dict[str, float | None] = {}
    status: dict[str, str] = {}
    cash_left = cash
    if total > 0:
        for cat in cats:
            if cat.value_before > cat.target_value:
                _sell(cat, min_trade)
                cash_left += cat.sold
        under = [c for c in cats if c.value_before < c.target_value and c.buyable()]
        deficit = sum(c.target_value - c.value_after for c in under)
        scale = min(1.0, cash_left / deficit) if deficit > 0 else 0.0
        for cat in under:
            budget = (cat.target_value - cat.value_after) * scale
            cash_left = _buy(cat, budget, cash_left, min_trade, round_up=False)
        for cat in sorted(under, key=lambda c: (c.value_after - c.target_value, c.name)):
            budget = cat.target_value - cat.value_after
            cash_left = _buy(cat, budget, cash_left, min_trade, round_up=True)
        for spec, cat in zip(categories, cats):
            tolerance[cat.name], status[cat.name] = _outcome(cat, min_trade)
            if cat.value_before < cat.target_value:
                _skip_unbuyable(cat, spec, prices, skipped)
        short = [c.name for c in cats if status[c.name] == LIMITED_BY_CASH]
        if short:
            notes.append("cash ran out before reaching the target of: " + ", ".join(short))
    else:
        notes.append("total value is not positive: nothing to rebalance")

    cat_rows = [
        _report(c, total, tolerance.get(c.name), status.get(c.name, UNDEFINED)) for c in cats
    ]
    if uncategorised:
        weight = safe_ratio(uncategorised_value, total)
        cat_rows.append(
            CategoryRebalance(
                name=UNCATEGORISED,
                target=0.0,
                target_value=0.0,
                value_before=uncategorised_value,
                value_after=uncategorised_value,
                weight_before=weight,
                weight_after=weight,
                drift_before=weight,
                drift_after=weight,
                deviation_after=uncategorised_value,
                tolerance=None,
                status=NOT_TRADED,
                bought=0.0,
                sold=0.0,
                unpriced=tuple(unpriced_held.get(UNCATEGORISED, [])),
                uncategorised=True,
            )
        )
    elif UNCATEGORISED in unpriced_held:
        notes.append(
            "held in no category and without a price: " + ", ".join(unpriced_held[UNCATEGORISED])
        )

    trades = _trades(cats)
    bought = sum(t.amount for t in trades if t.side == "buy")
    sold = sum(t.amount for t in trades if t.side == "sell")
    return RebalancePlan(
        trades=trades,
        categories=tuple(cat_rows),
        skipped=tuple(sorted(skipped.values(), key=lambda s: (s.category, s.ticker))),
        total_value=total,
        cash_before=cash,
        cash_after=cash_left,
        cash_weight_before=safe_ratio(cash, total),
        cash_weight_after=safe_ratio(cash_left, total),
        bought=bought,
        sold=sold,
        min_trade=min_trade,
        notes=tuple(notes),
    )


def _outcome(cat: _Category, min_trade: float) -> tuple[float | None, str]:
    """The category's tolerance ``max(p, min_trade)`` and its status after the trades."""
    dev = cat.value_after - cat.target_value
    if cat.value_before > cat.target_value:
        tol = max([s.price for s in cat.members if whole_shares(s.held) >= 1] + [min_trade])
        if tol <= 0:
            return None, NOTHING_TO_SELL
        return tol, WITHIN if abs(dev) < tol else NOTHING_TO_SELL
    buyable = cat.buyable()
    if not buyable:
        if cat.value_before == cat.target_value:
            return None, WITHIN
        return None, NO_SCORED_MEMBER if cat.members else NO_PRICED_MEMBER
    tol = max(buyable[0].price, min_trade)
    return tol, WITHIN if abs(dev) < tol else LIMITED_BY_CASH


def _skip_unbuyable(
    cat: _Category,
    spec: CategoryTarget,
    prices: Mapping[str, float | None],
    skipped: dict[str, SkippedSecurity],
) -> None:
    """List the members of an under-weight category that could not be bought, and why."""
    for ticker in sorted(spec.tickers):
        if ticker in skipped:
            continue
        if usable_price(prices.get(ticker)) is None:
            skipped[ticker] = SkippedSecurity(ticker, cat.name, "no price: cannot be bought")
    for sec in cat.members:
        if sec.score is None and sec.ticker not in skipped:
            skipped[sec.ticker] = SkippedSecurity(
                sec.ticker, cat.name, "no momentum score: not chosen for buying"
            )


def _report(
    cat: _Category, total: float, tolerance: float | None, status: str
) -> CategoryRebalance:
    before = cat.value_before
    after = cat.value_after
    w_before = safe_ratio(before, total)
    w_after = safe_ratio(after, total)
    return CategoryRebalance(
        name=cat.name,
        target=cat.target,
        target_value=cat.target_value,
        value_before=before,
        value_after=after,
        weight_before=w_before,
        weight_after=w_after,
        drift_before=None if w_before is None else w_before - cat.target,
        drift_after=None if w_after is None else w_after - cat.target,
        deviation_after=after - cat.target_value,
        tolerance=tolerance,
        status=status,
        bought=cat.bought,
        sold=cat.sold,
        unpriced=tuple(cat.unpriced_held),
        uncategorised=False,
    )


def _trades(cats: Sequence[_Category]) -> tuple[Trade, ...]:
    """One trade per security with a non-zero net change: sells first, then buys."""
    sells: list[Trade] = []
    buys: list[Trade] = []
    for cat in cats:
        for sec in cat.members:
            if sec.delta == 0:
                continue
            side: Side = "buy" if sec.delta > 0 else "sell"
            n = abs(sec.delta)
            trade = Trade(sec.ticker, side, n, sec.price, n * sec.price, cat.name, sec.score)
            (buys if side == "buy" else sells).append(trade)
    return tuple(sells + buys)
