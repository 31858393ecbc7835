"""A stored ticker's score now and some trading days earlier, as `GET /momentum/{ticker}`
answers them (the same service, one score book): shared by the momentum watchlist and the
named watchlists. A missing score is None with the reason, never 0."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from backend.errors import AppError
from backend.momentum.engine import MIN_CLOSES
from backend.momentum.schemas import MomentumScore
from backend.momentum.service import MomentumService, ScoreBook

CHANGE_DAYS = 20


@dataclass(frozen=True)
class Earlier:
    """The score `days` closes before the last one (None with `note` when there is none)."""

    date: dt.date | None
    score: float | None
    note: str | None


def current(momentum: MomentumService, book: ScoreBook, ticker: str) -> MomentumScore | str:
    """The score of `ticker` (or the ticker it is an alias of) at its last close, or why
    there is none."""
    if book.resolve(ticker) is None:
        return "no prices stored for this ticker"
    try:
        return momentum.score(ticker, version=book.data_version)
    except AppError as exc:
        return exc.message


def earlier(
    momentum: MomentumService, book: ScoreBook, stored: str, days: int = CHANGE_DAYS
) -> Earlier:
    """The score of `stored` on its close `days` closes before its last one."""
    col = book.column[stored]
    rows = book.close_rows(col)
    if rows.size <= days:
        return Earlier(None, None, f"{stored} has {rows.size} closes: none {days} closes earlier")
    day = pd.Timestamp(book.dates[rows[-1 - days]]).date()
    try:
        then = momentum.score(stored, as_of=day, version=book.data_version)
    except AppError:
        return Earlier(
            day,
            None,
            f"no score on {day}, {days} closes earlier (the model needs {MIN_CLOSES} closes)",
        )
    return Earlier(day, then.overall_momentum_score, None)
