"""What an option is worth by its quotes, and how long it has to live.

* The mid quote (bid + ask) / 2 when the quote is two-sided; the last trade's price, flagged
  `last`, when there is no quote at all (or only a bid); nothing when only an ask is quoted
  (a zero bid: nobody buys it, its value lies anywhere from 0 to the ask, and a last trade is
  older than that quote).
* Time to expiry in years of 365 days, to 16:00 New York time on the expiry day (US equity
  options stop trading then; the exchange's time zone, daylight saving included).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from backend.options.bsm import ArrayLike, FloatArray
from backend.options.errors import OptionInputError

NEW_YORK: Final = ZoneInfo("America/New_York")
EXPIRY_TIME: Final = dt.time(16, 0)
SECONDS_PER_DAY: Final = 86_400.0
DAYS_PER_YEAR: Final = 365.0

# Where a contract's price comes from (`Mid.source`).
MID: Final = "mid"
LAST: Final = "last"
# Why it has none (`Mid.reason`).
ZERO_BID: Final = "zero_bid"  # an ask but no bid
CROSSED_QUOTE: Final = "crossed_quote"  # bid > ask
NO_QUOTE: Final = "no_quote"  # no two-sided quote and no last trade


@dataclass(frozen=True)
class Mid:
    """Per contract: `price` (NaN where none), `source` (`mid`, `last` or "") and `reason`
    ("" where there is a price, else `zero_bid`, `crossed_quote` or `no_quote`)."""

    price: FloatArray
    source: npt.NDArray[np.object_]
    reason: npt.NDArray[np.object_]


def mid_quote(bid: ArrayLike, ask: ArrayLike, last: ArrayLike) -> Mid:
    """The price of each contract by its quote.

        two-sided (0 < bid <= ask):         (bid + ask) / 2,  source "mid"
        bid > ask > 0:                      none,             reason "crossed_quote"
        ask > 0, bid 0 or missing:          none,             reason "zero_bid"
        otherwise, last > 0:                last,             source "last"
        otherwise:                          none,             reason "no_quote"

    Missing values are NaN; non-finite or negative ones count as missing."""
    b, a, lp = (np.asarray(x, dtype=np.float64) for x in np.broadcast_arrays(bid, ask, last))
    with np.errstate(invalid="ignore"):
        has_bid = np.isfinite(b) & (b > 0)
        has_ask = np.isfinite(a) & (a > 0)
        has_last = np.isfinite(lp) & (lp > 0)
        two_sided = has_bid & has_ask & (b <= a)
        crossed = has_bid & has_ask & (b > a)
    zero_bid = has_ask & ~has_bid
    use_last = ~two_sided & ~crossed & ~zero_bid & has_last
    price = np.where(two_sided, 0.5 * (b + a), np.where(use_last, lp, np.nan))
    source = np.full(b.shape, "", dtype=object)
    source[two_sided] = MID
    source[use_last] = LAST
    reason = np.full(b.shape, "", dtype=object)
    reason[crossed] = CROSSED_QUOTE
    reason[zero_bid] = ZERO_BID
    reason[~two_sided & ~crossed & ~zero_bid & ~has_last] = NO_QUOTE
    return Mid(price=np.asarray(price, dtype=np.float64), source=source, reason=reason)


def expiry_close(expiry: dt.date) -> dt.datetime:
    """16:00 New York time on `expiry` (timezone-aware)."""
    return dt.datetime.combine(expiry, EXPIRY_TIME, tzinfo=NEW_YORK)


def session_close(day: dt.date) -> dt.datetime:
    """16:00 New York time on `day`: the time of an end-of-day snapshot."""
    return expiry_close(day)


def days_to_expiry(as_of: dt.datetime, expiries: Iterable[dt.date]) -> FloatArray:
    """Days (of 86,400 s) from `as_of` to 16:00 New York time on each expiry day; negative
    once past. `as_of` must carry its time zone (a naive time is ambiguous by hours, which
    moves a short-dated implied volatility by whole points)."""
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise OptionInputError("as_of", "a time without a time zone; give it one (UTC or New York)")
    days = list(expiries)
    # In UTC: Python subtracts two times of the same zone by their wall clocks, which would
    # lose the hour that daylight saving adds or takes in between.
    start = as_of.astimezone(dt.timezone.utc)
    left = {
        day: (expiry_close(day).astimezone(dt.timezone.utc) - start).total_seconds()
        / SECONDS_PER_DAY
        for day in set(days)
    }
    return np.array([left[day] for day in days], dtype=np.float64)


def years_to_expiry(as_of: dt.datetime, expiries: Iterable[dt.date]) -> FloatArray:
    """T per expiry in years of 365 days: `days_to_expiry` / 365."""
    return days_to_expiry(as_of, expiries) / DAYS_PER_YEAR
