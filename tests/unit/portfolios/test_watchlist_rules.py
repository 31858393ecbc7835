"""The momentum watchlist's pure rules: gap, priority, candidate selection, score change."""

from __future__ import annotations

import pytest

from backend.portfolios.watchlist_rules import (
    Scored,
    allocation_gap,
    priority,
    score_change,
    select_candidates,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("target", "weight", "gap", "expected"),
    [
        (0.20, 0.10, 0.10, "high"),
        (0.20, 0.17, 0.03, "high"),
        (0.20, 0.18, 0.02, "medium"),  # exactly two points is not more than two
        (0.20, 0.19, 0.01, "medium"),
        (0.20, 0.20, 0.0, "low"),  # on target
        (0.20, 0.35, -0.15, "low"),
        (0.05, 0.0, 0.05, "high"),
    ],
)
def test_gap_and_priority(target: float, weight: float, gap: float, expected: str) -> None:
    got = allocation_gap(target, weight)
    assert got == pytest.approx(gap)
    # 0.2 - 0.18 is 0.020000000000000018 in binary: still exactly two points, "medium".
    assert priority(got) == expected


def test_undefined_weight_has_no_gap_and_no_priority() -> None:
    assert allocation_gap(0.2, None) is None
    assert priority(None) is None


def test_priority_boundaries_exactly() -> None:
    assert priority(0.0200001) == "high"
    assert priority(0.02 + 1e-12) == "medium"  # binary residue, not a real difference
    assert priority(0.02) == "medium"
    assert priority(1e-6) == "medium"
    assert priority(1e-12) == "low"  # residue of an on-target category
    assert priority(0.0) == "low"
    assert priority(-0.5) == "low"


def test_candidates_leave_out_held_unscored_and_weak_then_sort_and_cut() -> None:
    members = [
        Scored("AAA", 80.0),
        Scored("BBB", 91.5),
        Scored("CCC", None),  # no score: never a candidate
        Scored("DDD", 69.99),  # below the floor
        Scored("EEE", 70.0),  # at the floor: in
        Scored("FFF", 95.0),  # held
        Scored("GGG", 80.0),  # ties AAA: by ticker
    ]
    picked, qualified = select_candidates(members, {"FFF"}, 70.0, 3)
    assert [m.ticker for m in picked] == ["BBB", "AAA", "GGG"]
    assert qualified == 4
    everything, n = select_candidates(members, set(), 0.0, 100)
    assert [m.ticker for m in everything] == ["FFF", "BBB", "AAA", "GGG", "EEE", "DDD"]
    assert n == 6
    assert select_candidates(members, set(), 0.0, 0) == ([], 6)
    assert select_candidates([], set(), 0.0, 5) == ([], 0)


def test_score_change() -> None:
    assert score_change(94.38, 71.0) == 23.38
    assert score_change(60.1, 70.3) == -10.2
    assert score_change(None, 70.0) is None
    assert score_change(70.0, None) is None
