"""The alert conditions on hand-made states: each fires exactly at its boundary."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.alerts.rules import Condition, TickerState, describe, fires, level_problem

pytestmark = pytest.mark.unit

D0, D1 = dt.date(2021, 4, 20), dt.date(2021, 4, 21)


def st(score: float, rating: str = "Buy", pct: float | None = 50.0, d: dt.date = D1) -> TickerState:
    return TickerState(date=d, score=score, rating=rating, percentile=pct)


@pytest.mark.parametrize(
    "before, after, level, up, down",
    [
        (69.99, 70.0, 70.0, True, False),  # reaching the level is crossing up
        (70.0, 70.01, 70.0, False, False),  # already at it: no crossing
        (70.0, 69.99, 70.0, False, True),  # from the level to below: crossing down
        (69.0, 69.5, 70.0, False, False),
        (80.0, 60.0, 70.0, False, True),
        (60.0, 80.0, 70.0, True, False),
        (0.0, 100.0, 0.0, False, False),  # nothing is below 0
        (99.0, 100.0, 100.0, True, False),
    ],
)
def test_score_crossings(before: float, after: float, level: float, up: bool, down: bool) -> None:
    prev, cur = st(before, d=D0), st(after)
    assert fires(Condition.SCORE_CROSSES_ABOVE, level, prev, cur) is up
    assert fires(Condition.SCORE_CROSSES_BELOW, level, prev, cur) is down


@pytest.mark.parametrize(
    "before, after, enters, leaves",
    [
        (79.99, 80.0, True, False),
        (80.0, 79.99, False, True),
        (80.0, 95.0, False, False),
        (10.0, 79.0, False, False),
        (None, 90.0, False, False),  # no percentile before: nothing to compare
        (90.0, None, False, False),
    ],
)
def test_top_quintile(
    before: float | None, after: float | None, enters: bool, leaves: bool
) -> None:
    prev, cur = st(50, pct=before, d=D0), st(50, pct=after)
    assert fires(Condition.ENTERS_TOP_QUINTILE, None, prev, cur) is enters
    assert fires(Condition.LEAVES_TOP_QUINTILE, None, prev, cur) is leaves


def test_rating_change() -> None:
    assert fires(Condition.RATING_CHANGE, None, st(64.9, "Hold", d=D0), st(65.0, "Buy"))
    assert not fires(Condition.RATING_CHANGE, None, st(66, "Buy", d=D0), st(79, "Buy"))


@pytest.mark.parametrize(
    "condition, level, ok",
    [
        (Condition.SCORE_CROSSES_ABOVE, 50.0, True),
        (Condition.SCORE_CROSSES_ABOVE, None, False),
        (Condition.SCORE_CROSSES_BELOW, 100.5, False),
        (Condition.SCORE_CROSSES_BELOW, -0.1, False),
        (Condition.SCORE_CROSSES_BELOW, float("nan"), False),
        (Condition.SCORE_CROSSES_BELOW, float("inf"), False),
        (Condition.RATING_CHANGE, None, True),
        (Condition.RATING_CHANGE, 50.0, False),
        (Condition.ENTERS_TOP_QUINTILE, 80.0, False),
    ],
)
def test_level_rules(condition: Condition, level: float | None, ok: bool) -> None:
    assert (level_problem(condition, level) is None) is ok


def test_describe_says_what_changed_and_when() -> None:
    text = describe("AAPL", Condition.SCORE_CROSSES_ABOVE, 70, st(69.5, d=D0), st(71.25))
    assert text == "AAPL: score crossed above 70: 69.50 → 71.25 (2021-04-20 → 2021-04-21)"
    text = describe("MSFT", Condition.LEAVES_TOP_QUINTILE, None, st(1, pct=85, d=D0), st(1, pct=7))
    assert "left the top quintile: percentile 85.00 → 7.00" in text
