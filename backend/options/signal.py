"""Is option premium rich or cheap? A signal read off the IV rank, that waits out earnings.

    earnings within `earnings_days` days (0 to 7 by default, the day itself included):
                          "earnings_soon"  (volatility is about to be repriced either way)
    else IV rank >= 50:   "sell_premium"
    else IV rank <  30:   "cheap_hedge"
    else:                 "neutral"

With no IV rank (too short a history) and no earnings near, there is no signal (None) and the
reason says why. Every answer carries the inputs it was read from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final, Literal

from backend.options.rank import IVRank

SELL_AT: Final = 50.0
HEDGE_BELOW: Final = 30.0
EARNINGS_DAYS: Final = 7

Signal = Literal["sell_premium", "cheap_hedge", "neutral", "earnings_soon"]


@dataclass(frozen=True)
class PremiumSignal:
    signal: Signal | None
    reason: str  # the rule that decided, in words
    as_of: dt.date
    iv: float | None
    iv_rank: float | None
    iv_percentile: float | None
    history: int  # snapshots behind the rank
    earnings_date: dt.date | None
    days_to_earnings: int | None
    sell_at: float
    hedge_below: float
    earnings_days: int


def premium_signal(
    rank: IVRank,
    earnings_date: dt.date | None = None,
    sell_at: float = SELL_AT,
    hedge_below: float = HEDGE_BELOW,
    earnings_days: int = EARNINGS_DAYS,
) -> PremiumSignal:
    """The signal of the module docstring for `rank.asked` (the day the rank was asked for);
    an earnings date before that day does not count."""
    as_of = rank.asked
    days = None if earnings_date is None else (earnings_date - as_of).days
    signal: Signal | None
    if days is not None and 0 <= days <= earnings_days:
        signal = "earnings_soon"
        reason = f"earnings on {earnings_date}, {days} days away (within {earnings_days})"
    elif rank.rank is None:
        signal = None
        reason = f"no IV rank: {rank.reason}"
    elif rank.rank >= sell_at:
        signal = "sell_premium"
        reason = f"IV rank {rank.rank:.1f} >= {sell_at:g}"
    elif rank.rank < hedge_below:
        signal = "cheap_hedge"
        reason = f"IV rank {rank.rank:.1f} < {hedge_below:g}"
    else:
        signal = "neutral"
        reason = f"IV rank {rank.rank:.1f} between {hedge_below:g} and {sell_at:g}"
    return PremiumSignal(
        signal=signal,
        reason=reason,
        as_of=as_of,
        iv=rank.iv,
        iv_rank=rank.rank,
        iv_percentile=rank.percentile,
        history=rank.history,
        earnings_date=earnings_date,
        days_to_earnings=days,
        sell_at=sell_at,
        hedge_below=hedge_below,
        earnings_days=earnings_days,
    )
