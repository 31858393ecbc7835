"""Which days a score can be asked for: none that has not begun anywhere yet.

A score is of a close; a date after today has none, and answering the latest score for it would
say something about a day that has not happened. "Today" is the date in UTC+14, the first time
zone to reach a date, so no caller anywhere is told that its own today is in the future.
"""

from __future__ import annotations

import datetime as dt

from pydantic_core import PydanticCustomError

from backend.errors import Rule

EARLIEST_ZONE = dt.timezone(dt.timedelta(hours=14))
FUTURE_RULE = "not after today (the date in UTC+14, the first time zone to reach it)"
# Declared by every route with a date (`beyond_schema`): a schema is fixed, today is not.
NOT_IN_FUTURE = Rule("invalid_input", "not_in_future", f"a date must be {FUTURE_RULE}")


def latest_askable_date(now: dt.datetime | None = None) -> dt.date:
    """Today's date in UTC+14: the latest date that has begun somewhere."""
    moment = now or dt.datetime.now(dt.timezone.utc)
    return moment.astimezone(EARLIEST_ZONE).date()


def is_future(day: dt.date, now: dt.datetime | None = None) -> bool:
    return day > latest_askable_date(now)


def not_in_future(day: dt.date | None) -> dt.date | None:
    """`day` unchanged; a validation error of rule `not_in_future` (a ValueError) when it has
    not begun anywhere yet (a query validator)."""
    if day is not None and is_future(day):
        raise PydanticCustomError(
            NOT_IN_FUTURE.rule,
            f"{day} is in the future: there is no close for it yet; the date must be "
            f"{FUTURE_RULE}, {latest_askable_date()} now",
        )
    return day
