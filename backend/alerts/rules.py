"""Alert conditions: pure functions of two states of one ticker, no I/O.

A ticker's *state* at a date is what the score API serves for it that day: its overall score
rounded to 2 places (`score`), the rating of the unrounded score (`rating`), and its percentile
rank in the universe `all` (`percentile`, 0-100). A condition compares the state at the
*previous* date with the state at the *current* date (`backend/alerts/service.py` says which
dates those are) and fires when:

- `rating_change`: the ratings differ;
- `score_crosses_above` (level L): previous score < L <= current score;
- `score_crosses_below` (level L): previous score >= L > current score;
- `enters_top_quintile`: previous percentile < 80 <= current percentile;
- `leaves_top_quintile`: previous percentile >= 80 > current percentile.

A percentile condition with either percentile missing does not fire (nothing to compare).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from enum import StrEnum

TOP_QUINTILE = 80.0  # percentile at or above which a ticker is in the top quintile


class Condition(StrEnum):
    RATING_CHANGE = "rating_change"
    SCORE_CROSSES_ABOVE = "score_crosses_above"
    SCORE_CROSSES_BELOW = "score_crosses_below"
    ENTERS_TOP_QUINTILE = "enters_top_quintile"
    LEAVES_TOP_QUINTILE = "leaves_top_quintile"


# The conditions that need a level (and the only ones that accept one).
NEEDS_LEVEL = frozenset({Condition.SCORE_CROSSES_ABOVE, Condition.SCORE_CROSSES_BELOW})
LEVEL_MIN, LEVEL_MAX = 0.0, 100.0


@dataclass(frozen=True)
class TickerState:
    """A ticker's served score, rating and percentile on one date."""

    date: dt.date
    score: float
    rating: str
    percentile: float | None


def level_problem(condition: Condition, level: float | None) -> str | None:
    """Why `level` does not suit `condition` (None when it does): a score crossing needs a
    finite level in [0, 100]; the other conditions take none."""
    if condition in NEEDS_LEVEL:
        if level is None:
            return f"{condition.value} needs a level"
        if not math.isfinite(level) or not LEVEL_MIN <= level <= LEVEL_MAX:
            return f"level must be a finite number from {LEVEL_MIN:g} to {LEVEL_MAX:g}"
        return None
    if level is not None:
        return f"{condition.value} takes no level"
    return None


def fires(
    condition: Condition, level: float | None, previous: TickerState, current: TickerState
) -> bool:
    """Whether `condition` holds between the two states (the module's docstring has each rule)."""
    if condition is Condition.RATING_CHANGE:
        return previous.rating != current.rating
    if condition is Condition.SCORE_CROSSES_ABOVE:
        assert level is not None
        return previous.score < level <= current.score
    if condition is Condition.SCORE_CROSSES_BELOW:
        assert level is not None
        return previous.score >= level > current.score
    before, after = previous.percentile, current.percentile
    if before is None or after is None:
        return False
    if condition is Condition.ENTERS_TOP_QUINTILE:
        return before < TOP_QUINTILE <= after
    return before >= TOP_QUINTILE > after


def describe(
    ticker: str,
    condition: Condition,
    level: float | None,
    previous: TickerState,
    current: TickerState,
) -> str:
    """One line for a person: what changed, from what to what, between which dates."""
    span = f"({previous.date} → {current.date})"
    if condition is Condition.RATING_CHANGE:
        what = f"rating changed from {previous.rating} to {current.rating}"
    elif condition in NEEDS_LEVEL:
        way = "above" if condition is Condition.SCORE_CROSSES_ABOVE else "below"
        what = f"score crossed {way} {level:g}: {previous.score:.2f} → {current.score:.2f}"
    else:
        way = "entered" if condition is Condition.ENTERS_TOP_QUINTILE else "left"
        what = (
            f"{way} the top quintile: percentile {previous.percentile:.2f} → "
            f"{current.percentile:.2f}"
        )
    return f"{ticker}: {what} {span}"
