"""analyze_holdings against a hand-worked portfolio, and its flags."""

from __future__ import annotations

import math

import pytest

from backend.portfolios.analysis import (
    UNCATEGORISED,
    CategoryTarget,
    PortfolioAnalysis,
    analyze_holdings,
    category_targets,
    safe_ratio,
    ticker_categories,
    usable_price,
    usable_score,
    value_weighted_score,
)
from backend.reference.seed import SEED_CATEGORIES, SEED_MODEL_HOLDINGS

pytestmark = pytest.mark.unit

TECH = CategoryTarget("Tech", 0.6, frozenset({"AAA", "BBB", "EEE"}))
BONDS = CategoryTarget("Bonds", 0.3, frozenset({"CCC", "DDD"}))


def worked_example() -> PortfolioAnalysis:
    """Hand-worked portfolio:

    AAA 10 @ 50  = 500 (cost 400, score 80)       Tech
    BBB  5 @ 40  = 200 (cost 250, score 60)       Tech
    EEE  4, no price, no cost (score 90)          Tech   -> not valued
    CCC 20, no price, cost 300 -> 300 at cost     Bonds  (no score)
    ZZZ  3 @ 100 = 300 (no cost, score 40)        in no category
    QQQ  0 shares                                 closed -> left out
    cash 700
    invested = 500 + 200 + 300 + 300 = 1300; total = 2000
    """
    return analyze_holdings(
        shares={"AAA": 10, "BBB": 5, "EEE": 4, "CCC": 20, "ZZZ": 3, "QQQ": 0},
        prices={"AAA": 50.0, "BBB": 40.0, "EEE": None, "CCC": float("nan"), "ZZZ": 100.0},
        cost_basis={"AAA": 400.0, "BBB": 250.0, "CCC": 300.0},
        scores={"AAA": 80.0, "BBB": 60.0, "EEE": 90.0, "CCC": None, "ZZZ": 40.0},
        ratings={"AAA": "Strong Buy", "BBB": "Hold"},
        categories=[TECH, BONDS],
        cash=700.0,
    )


def test_totals_and_cash_line() -> None:
    a = worked_example()
    assert a.holdings_value == pytest.approx(1300.0)
    assert a.total_value == pytest.approx(2000.0)
    assert a.market_valued == pytest.approx(1000.0)  # AAA + BBB + ZZZ
    assert a.cost_valued == pytest.approx(300.0)  # CCC
    assert a.cash == 700.0
    assert a.weights_include_cash is True
    assert a.cash_weight == pytest.approx(0.35)  # 700 / 2000
    assert a.cash_target == pytest.approx(0.1)  # 1 - (0.6 + 0.3)
    assert a.cash_drift == pytest.approx(0.25)
    assert a.notes == ("closed positions (0 shares) left out: QQQ",)


def test_holdings_values_weights_and_flags() -> None:
    a = worked_example()
    by = {h.ticker: h for h in a.holdings}
    assert set(by) == {"AAA", "BBB", "CCC", "EEE", "ZZZ"}
    # largest value first, the unvalued last; ties by ticker (CCC and ZZZ are both 300)
    assert [h.ticker for h in a.holdings] == ["AAA", "CCC", "ZZZ", "BBB", "EEE"]

    aaa = by["AAA"]
    assert (aaa.market_value, aaa.value, aaa.valuation, aaa.priced) == (
        500.0,
        500.0,
        "market",
        True,
    )
    assert aaa.weight == pytest.approx(0.25)  # 500 / 2000
    assert aaa.invested_weight == pytest.approx(500 / 1300)
    assert aaa.unrealised_gain == pytest.approx(100.0)
    assert (aaa.score, aaa.rating, aaa.category, aaa.reasons) == (80.0, "Strong Buy", "Tech", ())

    ccc = by["CCC"]  # NaN price: valued at cost, flagged
    assert ccc.price is None and ccc.market_value is None
    assert (ccc.value, ccc.valuation, ccc.priced) == (300.0, "cost_basis", False)
    assert ccc.weight == pytest.approx(0.15)
    assert ccc.unrealised_gain is None
    assert ccc.reasons == ("no price: valued at cost basis", "no momentum score")

    eee = by["EEE"]  # neither price nor cost: no value, never 0
    assert eee.value is None and eee.weight is None and eee.invested_weight is None
    assert eee.valuation == "none"
    assert eee.reasons == ("no price and no cost basis: not valued, left out of totals",)

    zzz = by["ZZZ"]
    assert zzz.category == UNCATEGORISED
    assert zzz.cost_basis is None and zzz.unrealised_gain is None
    assert zzz.rating is None
    assert zzz.reasons == ("in no category",)


def test_categories_actual_vs_target() -> None:
    a = worked_example()
    assert [c.name for c in a.categories] == ["Tech", "Bonds", UNCATEGORISED]
    tech, bonds, unc = a.categories
    # Tech: AAA 500 + BBB 200 (EEE not valued) = 700 -> 0.35 of 2000, drift 0.35 - 0.6 = -0.25
    assert tech.value == pytest.approx(700.0)
    assert tech.weight == pytest.approx(0.35)
    assert tech.drift == pytest.approx(-0.25)
    assert tech.invested_weight == pytest.approx(700 / 1300)  # 0.538...
    assert tech.invested_drift == pytest.approx(700 / 1300 - 0.6)
    assert tech.tickers == ("AAA", "BBB", "EEE")
    assert tech.unpriced == ("EEE",) and tech.unvalued == ("EEE",)
    # Bonds: CCC at cost 300 -> 0.15, drift -0.15; DDD not held
    assert bonds.weight == pytest.approx(0.15)
    assert bonds.drift == pytest.approx(-0.15)
    assert bonds.unpriced == ("CCC",) and bonds.unvalued == ()
    # Uncategorised: target 0, ZZZ 300 -> drift +0.15
    assert unc.uncategorised and unc.target == 0.0
    assert unc.weight == pytest.approx(0.15) and unc.drift == pytest.approx(0.15)
    # category weights + cash weight add up to 1
    assert sum(c.weight or 0 for c in a.categories) + (a.cash_weight or 0) == pytest.approx(1.0)


def test_score_and_gain_say_what_they_left_out() -> None:
    a = worked_example()
    # (500*80 + 200*60 + 300*40) / (500 + 200 + 300) = 64000 / 1000 = 64
    assert a.momentum_score == pytest.approx(64.0)
    assert a.score_left_out == ("CCC", "EEE")  # no score / no value
    assert a.score_coverage == pytest.approx(1000 / 1300)
    # AAA +100, BBB -50 -> +50 on a cost of 650
    assert a.unrealised_gain == pytest.approx(50.0)
    assert a.unrealised_gain_pct == pytest.approx(50 / 650)
    assert a.gain_left_out == ("CCC", "EEE", "ZZZ")
    assert a.unpriced == ("CCC", "EEE")
    assert a.unvalued == ("EEE",)
    assert a.uncategorised == ("ZZZ",)


def test_nothing_silently_zero_when_undefined() -> None:
    a = analyze_holdings({}, {}, {}, {}, {}, [TECH], 0.0)
    assert a.total_value == 0.0
    assert a.cash_weight is None and a.cash_drift is None
    assert a.momentum_score is None and a.score_coverage is None
    assert a.unrealised_gain is None and a.unrealised_gain_pct is None
    (tech,) = a.categories  # no Uncategorised bucket when nothing is uncategorised
    assert tech.weight is None and tech.drift is None and tech.invested_weight is None
    assert "total value is not positive: weights are undefined (None)" in a.notes


def test_unpriced_holding_without_cost_is_excluded_from_weights() -> None:
    # the model portfolio has no ledger: cost_basis is {}
    a = analyze_holdings({"AAA": 2, "EEE": 5}, {"AAA": 50.0}, {}, {}, {}, [TECH], 0.0)
    assert a.total_value == 100.0
    by = {h.ticker: h for h in a.holdings}
    assert by["AAA"].weight == 1.0
    assert by["EEE"].value is None and by["EEE"].weight is None
    assert a.categories[0].weight == 1.0
    assert a.unvalued == ("EEE",)
    assert a.momentum_score is None and a.score_left_out == ("AAA", "EEE")


def test_zero_and_negative_prices_are_no_price() -> None:
    a = analyze_holdings({"AAA": 1, "BBB": 1}, {"AAA": 0.0, "BBB": -3.0}, {}, {}, {}, [TECH], 1.0)
    assert all(not h.priced for h in a.holdings)


def test_negative_cash_reduces_total() -> None:
    a = analyze_holdings({"AAA": 10}, {"AAA": 50.0}, {"AAA": 600.0}, {}, {}, [TECH], -100.0)
    assert a.total_value == 400.0
    assert a.holdings[0].weight == pytest.approx(1.25)
    assert a.unrealised_gain == pytest.approx(-100.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"shares": {"AAA": -1}}, "share count"),
        ({"shares": {"AAA": float("nan")}}, "share count"),
        ({"cash": float("inf")}, "cash must be finite"),
        ({"categories": [TECH, CategoryTarget("X", 0.1, frozenset({"AAA"}))]}, "two categories"),
        ({"categories": [TECH, TECH]}, "appears twice"),
        ({"categories": [CategoryTarget(UNCATEGORISED, 0.1, frozenset())]}, "reserved"),
        ({"categories": [CategoryTarget("X", -0.1, frozenset())]}, "invalid target"),
        ({"categories": [CategoryTarget("X", math.nan, frozenset())]}, "invalid target"),
    ],
)
def test_invalid_input_is_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "shares": {"AAA": 1},
        "prices": {},
        "cost_basis": {},
        "scores": {},
        "ratings": {},
        "categories": [TECH],
        "cash": 0.0,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        analyze_holdings(**args)  # type: ignore[arg-type]


def test_helpers() -> None:
    assert usable_price(None) is None
    assert usable_price(float("inf")) is None
    assert usable_price(12) == 12.0
    assert usable_score(float("nan")) is None
    assert usable_score(None) is None
    assert usable_score(55) == 55.0
    assert safe_ratio(1.0, 0.0) is None
    assert safe_ratio(1.0, 4.0) == 0.25
    # (100*50 + 300*70) / 400 = 26000 / 400 = 65; C has no score, D a zero value
    score, left_out = value_weighted_score(
        {"A": 100.0, "B": 300.0, "C": 50.0, "D": 0.0}, {"A": 50.0, "B": 70.0, "D": 90.0}
    )
    assert score == pytest.approx(65.0)
    assert left_out == ("C", "D")
    assert value_weighted_score({"A": 1.0}, {}) == (None, ("A",))


def test_model_portfolio_categories_convert() -> None:
    targets = category_targets(SEED_CATEGORIES)
    assert len(targets) == 9
    assert sum(t.target for t in targets) == pytest.approx(1.0)
    mapping = ticker_categories(targets)
    assert mapping["NVDA"] == "Large-Cap Anchors"
    assert all(t in mapping for t in SEED_MODEL_HOLDINGS)
    # the model portfolio with no prices and no cost: everything flagged, nothing counted
    a = analyze_holdings(SEED_MODEL_HOLDINGS, {}, {}, {}, {}, targets, 0.0)
    assert a.unvalued == tuple(sorted(SEED_MODEL_HOLDINGS))
    assert a.total_value == 0.0 and all(c.weight is None for c in a.categories)
