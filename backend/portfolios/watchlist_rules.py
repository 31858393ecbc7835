"""The rules of the momentum watchlist (pure functions, no I/O): a category's allocation gap
and priority, which members are candidates, a score's change.

* ``gap = target − weight`` (weights of total value, cash included, as the portfolio analysis
  measures them): positive means the category is under its target.
* ``priority``: ``"high"`` when ``gap > 0.02`` (more than two percentage points under target),
  ``"medium"`` when ``0 < gap ≤ 0.02``, ``"low"`` otherwise; ``None`` when the gap is undefined
  (a portfolio without value has no weights).
* Candidates: the members not held whose score is at least ``min_score``, by score (highest
  first, then ticker), at most ``limit``; a member without a score is never a candidate.
* ``change = score_now − score_then`` (both as answered, rounded to 2 places).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Final, Literal

HIGH_PRIORITY_GAP: Final = 0.02
Priority = Literal["high", "medium", "low"]


def allocation_gap(target: float, weight: float | None) -> float | None:
    """``target − weight``; ``None`` when the weight is undefined."""
    return None if weight is None else target - weight


def priority(gap: float | None) -> Priority | None:
    """``"high"`` if ``gap > HIGH_PRIORITY_GAP``, ``"medium"`` if ``gap > 0``, else ``"low"``;
    ``None`` for an undefined gap. The gap is compared rounded to 9 places, so binary residue
    (0.2 − 0.18 = 0.020000000000000018) does not move a category across a boundary."""
    if gap is None:
        return None
    gap = round(gap, 9)
    if gap > HIGH_PRIORITY_GAP:
        return "high"
    return "medium" if gap > 0 else "low"


@dataclass(frozen=True)
class Scored:
    """A category member by its stored ticker, with its score (``None``: it has none)."""

    ticker: str
    score: float | None


def select_candidates(
    members: Iterable[Scored], held: Collection[str], min_score: float, limit: int
) -> tuple[list[Scored], int]:
    """The members not in ``held`` scoring ``≥ min_score``, highest score first (ties by
    ticker), cut to ``limit``; with how many qualified before the cut."""
    qualified = sorted(
        (
            m
            for m in members
            if m.ticker not in held and m.score is not None and m.score >= min_score
        ),
        key=lambda m: (-(m.score or 0.0), m.ticker),
    )
    return qualified[: max(limit, 0)], len(qualified)


def score_change(now: float | None, then: float | None) -> float | None:
    """``now − then`` rounded to 2 places; ``None`` when either is missing."""
    if now is None or then is None:
        return None
    return round(now - then, 2)
