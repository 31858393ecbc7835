"""plan_rebalance: hand-worked plans and randomized properties (fixed seed)."""

from __future__ import annotations

import math
import random

import pytest

from backend.portfolios.analysis import UNCATEGORISED, CategoryTarget, ticker_categories
from backend.portfolios.rebalance import (
    LIMITED_BY_CASH,
    NO_PRICED_MEMBER,
    NO_SCORED_MEMBER,
    NOT_TRADED,
    NOTHING_TO_SELL,
    UNDEFINED,
    WITHIN,
    RebalancePlan,
    affordable_shares,
    plan_rebalance,
    shares_for,
    whole_shares,
)
from backend.reference.seed import SEED_CATEGORIES, SEED_MODEL_HOLDINGS

pytestmark = pytest.mark.unit

A = CategoryTarget("A", 0.5, frozenset({"A1", "A2", "A3"}))
B = CategoryTarget("B", 0.5, frozenset({"B1", "B2"}))
PRICES: dict[str, float | None] = {"A1": 120.0, "A2": 45.0, "A3": None, "B1": 20.0, "B2": 10.0}
SCORES: dict[str, float | None] = {"A1": 90.0, "A2": 70.0, "A3": 99.0, "B1": 30.0, "B2": 60.0}


def by_ticker(plan: RebalancePlan) -> dict[str, tuple[str, int, float]]:
    return {t.ticker: (t.side, t.shares, t.amount) for t in plan.trades}


def test_hand_worked_plan() -> None:
    """A1 5 @ 120 = 600, B1 100 @ 20 = 2000, B2 10 @ 10 = 100, cash 500.
    V = 600 + 2000 + 100 + 500 = 3200; T_A = T_B = 0.5 * 3200 = 1600.
    B = 2100: excess 500, sell the lowest score first: B1 (30 < 60), ⌊500/20⌋ = 25 -> 500.
    A = 600: deficit 1000, cash 500 + 500 = 1000; A3 (99) has no price, so A1 (90):
    ⌊1000/120⌋ = 8 -> 960, 40 left; A2 (45): ⌊40/45⌋ = 0. A = 1560, 40 under (< 120).
    cash after = 1000 - 960 = 40."""
    plan = plan_rebalance({"A1": 5, "B1": 100, "B2": 10}, PRICES, SCORES, [A, B], 500.0, 0.0)
    assert by_ticker(plan) == {"B1": ("sell", 25, 500.0), "A1": ("buy", 8, 960.0)}
    assert [t.side for t in plan.trades] == ["sell", "buy"]  # sells first
    assert plan.total_value == pytest.approx(3200.0)
    assert plan.sold == pytest.approx(500.0) and plan.bought == pytest.approx(960.0)
    assert plan.cash_after == pytest.approx(40.0)
    assert plan.cash_weight_before == pytest.approx(500 / 3200)
    assert plan.cash_weight_after == pytest.approx(40 / 3200)
    a, b = plan.categories
    assert (a.value_before, a.value_after) == (pytest.approx(600.0), pytest.approx(1560.0))
    assert a.weight_before == pytest.approx(0.1875) and a.weight_after == pytest.approx(0.4875)
    assert a.drift_before == pytest.approx(-0.3125) and a.drift_after == pytest.approx(-0.0125)
    assert a.deviation_after == pytest.approx(-40.0)
    assert a.tolerance == 120.0 and a.status == WITHIN
    assert (b.value_before, b.value_after) == (pytest.approx(2100.0), pytest.approx(1600.0))
    assert b.weight_after == pytest.approx(0.5) and b.status == WITHIN
    assert b.tolerance == 20.0  # the dearest sellable holding: B1 at 20
    # A3 has the best score but no price: never bought, reported
    skipped = {s.ticker: s.reason for s in plan.skipped}
    assert skipped == {"A3": "no price: cannot be bought"}


def test_min_trade_blocks_small_trades() -> None:
    """Same portfolio, min_trade 600.
    B: selling ⌊500/20⌋ = 25 B1 = 500 < 600 and the excess 500 < 600: no sell (and B2's 100 too).
    A: deficit 1000, cash 500: A1 ⌊500/120⌋ = 4 = 480 < 600, 5 shares = 600 > cash 500;
    A2 ⌊500/45⌋ = 11 = 495 < 600, 12 = 540 > 500: nothing bought, limited by cash."""
    plan = plan_rebalance({"A1": 5, "B1": 100, "B2": 10}, PRICES, SCORES, [A, B], 500.0, 600.0)
    assert plan.trades == ()
    assert plan.cash_after == 500.0
    a, b = plan.categories
    assert a.status == LIMITED_BY_CASH and a.tolerance == 600.0
    assert b.status == WITHIN and b.deviation_after == pytest.approx(500.0)
    assert "cash ran out before reaching the target of: A" in plan.notes


def test_buy_rounds_up_to_meet_min_trade() -> None:
    """Target 0.5 of V = 400 -> 200 in A. A1 at 120: ⌊200/120⌋ = 1 share = 120 < min 150, but
    the deficit 200 ≥ max(120, 150), so 2 shares (240, overshoot 40 < one share) are bought."""
    cat = CategoryTarget("A", 0.5, frozenset({"A1"}))
    plan = plan_rebalance({}, {"A1": 120.0}, {"A1": 50.0}, [cat], 400.0, 150.0)
    assert by_ticker(plan) == {"A1": ("buy", 2, 240.0)}
    assert plan.categories[0].deviation_after == pytest.approx(40.0)
    assert plan.categories[0].status == WITHIN
    assert plan.cash_after == pytest.approx(160.0)


def test_sell_rounds_up_to_meet_min_trade_and_never_buys_back() -> None:
    """A1 10 @ 100 = 1000, cash 0, target 0.25 -> 250; excess 750. ⌊750/100⌋ = 7 = 700 < 720,
    excess ≥ 720, so 8 shares (800) are sold: A is 50 under (< one share) and does not buy back."""
    cat = CategoryTarget("A", 0.25, frozenset({"A1", "A2"}))
    plan = plan_rebalance({"A1": 10}, {"A1": 100.0, "A2": 1.0}, {"A2": 99.0}, [cat], 0.0, 720.0)
    assert by_ticker(plan) == {"A1": ("sell", 8, 800.0)}
    assert plan.categories[0].deviation_after == pytest.approx(-50.0)
    assert plan.categories[0].status == WITHIN
    assert plan.cash_after == pytest.approx(800.0)


def test_unscored_holdings_are_sold_first_and_fractions_kept() -> None:
    """B1 2.5 @ 20 (no score) = 50, B2 30 @ 10 (score 60) = 300; V = 350, target 0.2 -> 70.
    Excess 280: B1 first (no score), only its 2 whole shares (40); then B2 ⌊240/10⌋ = 24."""
    cat = CategoryTarget("B", 0.2, frozenset({"B1", "B2"}))
    plan = plan_rebalance({"B1": 2.5, "B2": 30}, PRICES, {"B2": 60.0}, [cat], 0.0, 0.0)
    assert by_ticker(plan) == {"B1": ("sell", 2, 40.0), "B2": ("sell", 24, 240.0)}
    assert plan.categories[0].value_after == pytest.approx(70.0)


def test_nothing_left_to_sell() -> None:
    """B1 0.5 share @ 20 (no whole share) and an unpriced holding: nothing can be sold."""
    cat = CategoryTarget("B", 0.0, frozenset({"B1", "B9"}))
    plan = plan_rebalance({"B1": 0.5, "B9": 3}, PRICES, SCORES, [cat], 10.0, 0.0)
    assert plan.trades == ()
    (b,) = plan.categories
    assert b.status == NOTHING_TO_SELL and b.tolerance is None
    assert b.unpriced == ("B9",)
    assert plan.skipped[0].ticker == "B9"
    assert plan.notes[0] == "held without a price, left out of the total value: B9"


def test_sale_below_min_trade_reports_nothing_left() -> None:
    """Target 0. B1 3 @ 20 = 60 < min_trade 100: not sold, and within max(20, 100) anyway.
    B1 30 @ 20 = 600 and B2 15 @ 10 = 150 with min_trade 700: excess 750 ≥ 700, but each
    holding's whole position is below 700: nothing can be sold."""
    cat = CategoryTarget("B", 0.0, frozenset({"B1", "B2"}))
    plan = plan_rebalance({"B1": 3}, PRICES, SCORES, [cat], 1000.0, 100.0)
    assert plan.trades == ()
    assert plan.categories[0].status == WITHIN
    plan = plan_rebalance({"B1": 30, "B2": 15}, PRICES, SCORES, [cat], 0.0, 700.0)
    assert plan.trades == ()
    assert plan.categories[0].status == NOTHING_TO_SELL


def test_categories_without_priced_or_scored_members_are_reported() -> None:
    no_price = CategoryTarget("NoPrice", 0.3, frozenset({"X1", "X2"}))
    no_score = CategoryTarget("NoScore", 0.3, frozenset({"Y1"}))
    plan = plan_rebalance(
        {"Z1": 10}, {"Y1": 10.0, "Z1": 50.0}, {"Z1": 80.0}, [no_price, no_score], 1000.0, 0.0
    )
    assert plan.trades == ()  # nothing invented; Z1 is in no category: not traded
    p, s, unc = plan.categories
    assert p.status == NO_PRICED_MEMBER and s.status == NO_SCORED_MEMBER
    assert unc.name == UNCATEGORISED and unc.uncategorised and unc.status == NOT_TRADED
    assert unc.weight_before == pytest.approx(500 / 1500) == unc.weight_after
    reasons = {(s.ticker, s.reason) for s in plan.skipped}
    assert reasons == {
        ("X1", "no price: cannot be bought"),
        ("X2", "no price: cannot be bought"),
        ("Y1", "no momentum score: not chosen for buying"),
        ("Z1", NOT_TRADED),
    }


def test_unpriced_uncategorised_holding_is_noted() -> None:
    plan = plan_rebalance({"Q": 1}, {}, {}, [A], 100.0, 0.0)
    assert "held in no category and without a price: Q" in plan.notes
    assert [c.name for c in plan.categories] == ["A"]


def test_zero_total_value() -> None:
    plan = plan_rebalance({"A1": 0}, PRICES, SCORES, [A, B], 0.0, 0.0)
    assert plan.trades == () and plan.total_value == 0.0
    assert all(c.status == UNDEFINED and c.weight_before is None for c in plan.categories)
    assert plan.notes == ("total value is not positive: nothing to rebalance",)


def test_empty_category_at_zero_target_is_within() -> None:
    cat = CategoryTarget("Z", 0.0, frozenset({"Q1"}))
    plan = plan_rebalance({}, {}, {}, [cat], 100.0, 0.0)
    assert plan.categories[0].status == WITHIN and plan.categories[0].tolerance is None


def test_short_cash_is_shared_between_categories() -> None:
    """Two empty categories of 0.5 each and only 300 in cash (V = 300: each target 150).
    Cash suffices here. With targets 0.5 each on V = 300 and prices 100 / 40:
    C1 ⌊150/100⌋ = 1 (100), C2 ⌊150/40⌋ = 3 (120); pass 2: C1 50 left < 100, C2 30 < 40."""
    c1 = CategoryTarget("C1", 0.5, frozenset({"P"}))
    c2 = CategoryTarget("C2", 0.5, frozenset({"Q"}))
    plan = plan_rebalance({}, {"P": 100.0, "Q": 40.0}, {"P": 1.0, "Q": 2.0}, [c1, c2], 300.0, 0.0)
    assert by_ticker(plan) == {"P": ("buy", 1, 100.0), "Q": ("buy", 3, 120.0)}
    assert plan.cash_after == pytest.approx(80.0)


def test_scarce_cash_is_split_in_proportion_first() -> None:
    """A1 held 10 @ 100 = 1000 in an uncategorised-free setup where C1 and C2 (targets 0.4 each)
    are empty and cash is 100: V = 1100, deficits 440 each, scale = 100 / 880.
    Pass 1 budgets 50 each: C1 (P at 30) 1 share = 30, C2 (Q at 40) 1 share = 40. Pass 2, the
    larger remaining deficit first (C1: 410 > C2: 400): P ⌊30/30⌋ = 1 more. Cash left 0."""
    c0 = CategoryTarget("C0", 0.2, frozenset({"A1"}))
    c1 = CategoryTarget("C1", 0.4, frozenset({"P"}))
    c2 = CategoryTarget("C2", 0.4, frozenset({"Q"}))
    prices: dict[str, float | None] = {"A1": 100.0, "P": 30.0, "Q": 40.0}
    scores: dict[str, float | None] = {"A1": 10.0, "P": 1.0, "Q": 2.0}
    # C0 is over-weight (1000 vs 220): sells ⌊780/100⌋ = 7 of A1 -> 700, so cash = 800 then.
    plan = plan_rebalance({"A1": 10}, prices, scores, [c0, c1, c2], 100.0, 0.0)
    assert by_ticker(plan)["A1"] == ("sell", 7, 700.0)
    # now cash 800 vs deficits 440 + 440 = 880: budgets 400 each.
    # C1: ⌊400/30⌋ = 13 (390); C2: ⌊400/40⌋ = 10 (400). Left 10; pass 2: C1 needs 50, P at 30 > 10.
    assert by_ticker(plan)["P"] == ("buy", 13, 390.0)
    assert by_ticker(plan)["Q"] == ("buy", 10, 400.0)
    assert plan.cash_after == pytest.approx(10.0)
    statuses = [c.status for c in plan.categories]
    assert statuses == [WITHIN, LIMITED_BY_CASH, LIMITED_BY_CASH]


def test_targets_may_sum_to_one_within_the_api_tolerance() -> None:
    """1.0005 is accepted (the API allows 1 ± 0.001); the plan still never overspends."""
    a = CategoryTarget("A", 0.5005, A.tickers)
    plan = plan_rebalance({}, PRICES, SCORES, [a, B], 1000.0, 0.0)
    assert plan.cash_after >= 0 and plan.bought <= 1000.0
    with pytest.raises(ValueError, match="sum to 1.002"):
        plan_rebalance({}, PRICES, SCORES, [CategoryTarget("A", 0.502, A.tickers), B], 1.0, 0.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"cash": -1.0}, "cash must be finite"),
        ({"cash": float("nan")}, "cash must be finite"),
        ({"min_trade": -5.0}, "min_trade"),
        ({"min_trade": float("inf")}, "min_trade"),
        ({"categories": [A, CategoryTarget("B", 0.6, frozenset())]}, "sum to"),
        ({"shares": {"A1": -2}}, "share count"),
        ({"categories": [A, CategoryTarget("X", 0.1, frozenset({"A1"}))]}, "two categories"),
    ],
)
def test_invalid_input_is_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "shares": {"A1": 1},
        "prices": PRICES,
        "scores": SCORES,
        "categories": [A, B],
        "cash": 0.0,
        "min_trade": 0.0,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        plan_rebalance(**args)  # type: ignore[arg-type]


def test_share_helpers() -> None:
    assert whole_shares(2.9999999999) == 3
    assert whole_shares(2.5) == 2
    assert whole_shares(-1.0) == 0
    assert shares_for(0.3, 0.1) == 3  # 0.3 / 0.1 = 2.9999999999999996
    assert shares_for(-1.0, 10.0) == 0
    assert affordable_shares(0.3, 0.1) == 2  # 3 * 0.1 = 0.30000000000000004 > 0.3
    assert affordable_shares(0.0, 1.0) == 0
    # 15619.89 / 109.23 rounds to 143.0 but 143 * 109.23 = 15619.890000000001 > 15619.89
    assert 143 * 109.23 > 15619.89 and math.floor(15619.89 / 109.23) == 143
    assert affordable_shares(15619.89, 109.23) == 142
    assert affordable_shares(10.0, 3.0) == 3


def test_model_portfolio_plan_is_consistent() -> None:
    rng = random.Random(7)
    cats = [CategoryTarget(c.name, c.target, frozenset(c.tickers)) for c in SEED_CATEGORIES]
    prices: dict[str, float | None] = {
        t: round(rng.uniform(5, 500), 2) for c in SEED_CATEGORIES for t in c.tickers
    }
    scores: dict[str, float | None] = {t: rng.uniform(0, 100) for t in prices}
    plan = plan_rebalance(SEED_MODEL_HOLDINGS, prices, scores, cats, 10_000.0, 100.0)
    check_properties(SEED_MODEL_HOLDINGS, prices, scores, cats, 10_000.0, 100.0, plan)
    assert all(c.status == WITHIN for c in plan.categories)


# ------------------------------------------------------------------------------------ properties


def check_properties(
    shares: dict[str, float] | dict[str, int],
    prices: dict[str, float | None],
    scores: dict[str, float | None],
    cats: list[CategoryTarget],
    cash: float,
    min_trade: float,
    plan: RebalancePlan,
) -> None:
    """The guarantees of plan_rebalance, checked independently of its implementation."""
    tol = 1e-6
    cat_of = ticker_categories(cats)
    # cash never negative, never more spent than cash + proceeds
    assert plan.cash_after >= 0
    assert plan.bought <= cash + plan.sold + tol
    assert plan.cash_after == pytest.approx(cash + plan.sold - plan.bought, abs=tol)
    after = {t: float(n) for t, n in shares.items()}
    for trade in plan.trades:
        price = prices.get(trade.ticker)
        assert price is not None and price > 0  # unpriced never traded
        assert trade.ticker in cat_of  # uncategorised never traded
        assert isinstance(trade.shares, int) and trade.shares >= 1  # whole shares
        assert trade.amount == pytest.approx(trade.shares * price)
        assert trade.amount >= min_trade - tol  # min_trade respected
        if trade.side == "sell":
            assert trade.shares <= math.floor(after.get(trade.ticker, 0.0) + 1e-9)
            after[trade.ticker] -= trade.shares
        else:
            assert scores.get(trade.ticker) is not None
            after[trade.ticker] = after.get(trade.ticker, 0.0) + trade.shares
    assert len({t.ticker for t in plan.trades}) == len(plan.trades)

    def value(held: dict[str, float], cat: CategoryTarget) -> float:
        return sum(
            n * (prices.get(t) or 0.0)
            for t, n in held.items()
            if t in cat.tickers and prices.get(t)
        )

    priced_total = sum(n * p for t, n in shares.items() if (p := prices.get(t)))
    total = priced_total + cash
    assert plan.total_value == pytest.approx(total)
    if total <= 0:
        assert plan.trades == ()
        return
    reports = {c.name: c for c in plan.categories}
    for cat in cats:
        rep = reports[cat.name]
        target = cat.target * total
        before = value({t: float(n) for t, n in shares.items()}, cat)
        dev = value(after, cat) - target
        assert rep.value_after == pytest.approx(dev + target, abs=tol)
        cat_trades = [t for t in plan.trades if t.category == cat.name]
        if before > target + tol:
            assert all(t.side == "sell" for t in cat_trades)
            sellable = [
                t for t in cat.tickers if prices.get(t) and whole_shares(shares.get(t, 0)) >= 1
            ]
            bound = max([prices[t] or 0.0 for t in sellable] + [min_trade])
            assert dev > -bound  # never undershoots by a share or more
            if dev >= bound:  # not within one share: nothing more can be sold
                assert rep.status == NOTHING_TO_SELL
                for t in sellable:
                    left = whole_shares(after[t])
                    assert left == 0 or left * (prices[t] or 0.0) < min_trade
            else:
                assert rep.status == WITHIN
        elif before < target - tol:
            assert all(t.side == "buy" for t in cat_trades)
            candidates = sorted(
                (t for t in cat.tickers if prices.get(t) and scores.get(t) is not None),
                key=lambda t: (-(scores[t] or 0.0), t),
            )
            if not candidates:
                assert cat_trades == []
                continue
            p_top = prices[candidates[0]] or 0.0
            p_max = max(prices[t] or 0.0 for t in candidates)
            assert dev < p_max  # never overshoots by a share or more
            if abs(dev) >= max(p_top, min_trade):  # not within one share: cash ran out
                assert plan.cash_after < -dev + p_top
                assert rep.status == LIMITED_BY_CASH
            else:
                assert rep.status == WITHIN
        else:
            assert cat_trades == []


def random_case(
    rng: random.Random,
) -> tuple[
    dict[str, float],
    dict[str, float | None],
    dict[str, float | None],
    list[CategoryTarget],
    float,
    float,
]:
    n_cats = rng.randint(1, 5)
    weights = [rng.random() + 0.05 for _ in range(n_cats)]
    scale = rng.choice([1.0, 1.0, 0.9, 0.7, 0.3])
    cats: list[CategoryTarget] = []
    shares: dict[str, float] = {}
    prices: dict[str, float | None] = {}
    scores: dict[str, float | None] = {}
    for i in range(n_cats):
        tickers = [f"C{i}T{j}" for j in range(rng.randint(1, 6))]
        cats.append(CategoryTarget(f"C{i}", scale * weights[i] / sum(weights), frozenset(tickers)))
        for t in tickers:
            prices[t] = None if rng.random() < 0.1 else round(rng.uniform(1, 800), 2)
            scores[t] = None if rng.random() < 0.15 else rng.uniform(0, 100)
            if rng.random() < 0.6:
                shares[t] = rng.choice([rng.randint(1, 200), round(rng.uniform(0, 50), 3)])
    if rng.random() < 0.3:
        shares["UNCAT"] = rng.randint(1, 50)
        prices["UNCAT"] = rng.choice([None, 25.0])
    cash = rng.choice([0.0, rng.uniform(0, 5_000), rng.uniform(0, 100_000)])
    min_trade = rng.choice([0.0, 0.0, 50.0, 250.0, 1_000.0, 20_000.0])
    return shares, prices, scores, cats, cash, min_trade


def test_randomized_properties() -> None:
    rng = random.Random(20240601)
    statuses: set[str] = set()
    for _ in range(500):
        shares, prices, scores, cats, cash, min_trade = random_case(rng)
        plan = plan_rebalance(shares, prices, scores, cats, cash, min_trade)
        check_properties(shares, prices, scores, cats, cash, min_trade, plan)
        statuses.update(c.status for c in plan.categories)
    # the random cases reach every outcome
    assert {WITHIN, LIMITED_BY_CASH, NOTHING_TO_SELL, NO_SCORED_MEMBER} <= statuses
