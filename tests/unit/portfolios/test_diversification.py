"""Diversification figures and the two-portfolio comparison, worked by hand."""

from __future__ import annotations

import pytest

from backend.portfolios.analysis import CategoryTarget, PortfolioAnalysis, analyze_holdings
from backend.portfolios.diversification import (
    AllocationRow,
    PositionWeight,
    SectorWeight,
    compare_allocations,
    compare_holdings,
    diversification,
    diversification_of,
)

pytestmark = pytest.mark.unit

CATS = [
    CategoryTarget("C1", 0.5, frozenset({"AAA", "BBB"})),
    CategoryTarget("C2", 0.3, frozenset({"CCC"})),
]
PRICES: dict[str, float | None] = {"AAA": 30.0, "BBB": 20.0, "CCC": 50.0, "ZZZ": 10.0}
SCORES: dict[str, float | None] = {"AAA": 81.0, "BBB": 40.0, "CCC": 66.0, "ZZZ": None}
SECTORS: dict[str, str | None] = {"AAA": "Tech", "BBB": "Tech", "CCC": "Utilities"}


def analysed(
    shares: dict[str, float], cash: float, cats: list[CategoryTarget] = CATS
) -> PortfolioAnalysis:
    return analyze_holdings(shares, PRICES, {}, SCORES, {}, cats, cash)


# A: AAA 10 @ 30 = 300, BBB 5 @ 20 = 100, CCC 4 @ 50 = 200, cash 400: total 1,000.
# B: AAA 2 @ 30 = 60, CCC 10 @ 50 = 500, ZZZ (in no category) 4 @ 10 = 40, cash 400: 1,000.
A = analysed({"AAA": 10, "BBB": 5, "CCC": 4}, 400.0)
B = analysed({"AAA": 2, "CCC": 10, "ZZZ": 4}, 400.0)


def test_figures_of_one_portfolio() -> None:
    """Invested 600: w = 300/600 = ½ (AAA), 200/600 = ⅓ (CCC), 100/600 = ⅙ (BBB).
    HHI = (9 + 4 + 1)/36 = 14/36; effective positions 36/14; top 5 = all = 1; largest AAA ½;
    sectors: Tech ½ + ⅙ = ⅔ (AAA, BBB), Utilities ⅓."""
    d = diversification_of(A, SECTORS)
    assert d.positions == 3 and d.invested_value == pytest.approx(600.0)
    assert d.herfindahl == pytest.approx(14 / 36)
    assert d.effective_positions == pytest.approx(36 / 14)
    assert d.top5_weight == pytest.approx(1.0)
    assert d.largest == PositionWeight("AAA", pytest.approx(0.5))  # type: ignore[arg-type]
    assert d.sectors_held == 2
    assert d.sectors == (
        SectorWeight("Tech", pytest.approx(2 / 3), ("AAA", "BBB")),  # type: ignore[arg-type]
        SectorWeight("Utilities", pytest.approx(1 / 3), ("CCC",)),  # type: ignore[arg-type]
    )
    assert d.no_sector == () and d.left_out == ()


def test_top_five_of_seven_and_what_is_left_out() -> None:
    """Values 30, 20, 15, 10, 10, 10, 5 (total 100): the five largest are 30, 20, 15 and two of
    the 10s (ticker order: D, E; F is sixth): 0.85. HHI = 0.09 + 0.04 + 0.0225 + 3·0.01 +
    0.0025 = 0.185. N has no value, Z is worth 0: left out. G has no sector."""
    values = {"A": 30.0, "B": 20.0, "C": 15.0, "D": 10.0, "E": 10.0, "F": 10.0, "G": 5.0}
    sectors = {t: "S1" if t < "D" else "S2" for t in values} | {"G": " "}
    d = diversification({**values, "N": None, "Z": 0.0}, sectors)
    assert d.top5_weight == pytest.approx(0.85)
    assert [p.ticker for p in d.top5] == ["A", "B", "C", "D", "E"]
    assert d.herfindahl == pytest.approx(0.185)
    assert d.left_out == ("N", "Z") and d.no_sector == ("G",)
    assert [(s.sector, s.weight) for s in d.sectors] == [
        ("S1", pytest.approx(0.65)),
        ("S2", pytest.approx(0.30)),
    ]


def test_nothing_valued_has_no_figures() -> None:
    d = diversification({"A": None}, {})
    assert (d.positions, d.herfindahl, d.top5_weight, d.largest) == (0, None, None, None)
    assert d.left_out == ("A",)


def test_allocations_side_by_side() -> None:
    """Weights of total value (1,000 each). A: C1 400 -> 0.4 (gap −0.1), C2 200 -> 0.2 (−0.1),
    cash 0.4 (target 1 − 0.8 = 0.2, gap +0.2). B: C1 60 -> 0.06 (−0.44), C2 500 -> 0.5 (+0.2),
    Uncategorised 40 -> 0.04 (A: 0), cash 0.4. Differences B − A: −0.34, +0.3, +0.04, 0."""
    rows = compare_allocations(A, B)
    x = pytest.approx
    assert rows == (
        AllocationRow("C1", 0.5, x(0.4), x(0.06), x(-0.1), x(-0.44), x(-0.34)),
        AllocationRow("C2", 0.3, x(0.2), x(0.5), x(-0.1), x(0.2), x(0.3)),
        AllocationRow("Uncategorised", 0.0, 0.0, x(0.04), 0.0, x(0.04), x(0.04)),
        AllocationRow("Cash", x(0.2), x(0.4), x(0.4), x(0.2), x(0.2), x(0.0), True),
    )


def test_different_targets_are_refused() -> None:
    other = analysed({"AAA": 1}, 0.0, [CATS[0], CategoryTarget("C2", 0.4, frozenset({"CCC"}))])
    with pytest.raises(ValueError, match="different category targets"):
        compare_allocations(A, other)


def test_holdings_side_by_side() -> None:
    """A: AAA 0.3, BBB 0.1, CCC 0.2; B: AAA 0.06, CCC 0.5, ZZZ 0.04 (of 1,000 each); a ticker not
    held weighs 0. Largest weight first: CCC, AAA, BBB, ZZZ."""
    rows = compare_holdings(A, B)
    assert [(r.ticker, r.category, r.weight_a, r.weight_b, r.score) for r in rows] == [
        ("CCC", "C2", pytest.approx(0.2), pytest.approx(0.5), 66.0),
        ("AAA", "C1", pytest.approx(0.3), pytest.approx(0.06), 81.0),
        ("BBB", "C1", pytest.approx(0.1), 0.0, 40.0),
        ("ZZZ", "Uncategorised", 0.0, pytest.approx(0.04), None),
    ]
