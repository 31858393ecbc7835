"""Where today's implied volatility stands in its own recent history: IV rank and percentile.

The history is one snapshot per trading day (an ATM or 30-day volatility, or an index such as
the VIX: both are scale-free). Only snapshots dated on or before the day asked about are read,
so a result never depends on what came after it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import pandas as pd

from backend.options.errors import OptionInputError

WINDOW: Final = 252  # snapshots: about one year of trading days
MIN_HISTORY: Final = 60  # fewer snapshots than this: no rank, no percentile


@dataclass(frozen=True)
class IVRank:
    """`rank` and `percentile` (0-100) are None, with `reason`, when the window holds fewer
    than `min_history` snapshots or they are all equal; `history` is always the count."""

    asked: dt.date  # the day asked about
    as_of: dt.date | None  # the latest snapshot on or before it (None: there is none)
    iv: float | None  # that snapshot's value
    rank: float | None
    percentile: float | None
    history: int  # snapshots in the window, the one of `as_of` included
    window: int
    min_history: int
    low: float | None  # the window's lowest and highest values
    high: float | None
    reason: str | None


def iv_rank(
    history: pd.Series,
    as_of: dt.date,
    window: int = WINDOW,
    min_history: int = MIN_HISTORY,
) -> IVRank:
    """IV rank and IV percentile of the latest snapshot on or before `as_of`, over the window
    of the last `window` snapshots up to it (itself included), values x_1..x_n, x_n today:

        rank       = 100 (x_n - min x) / (max x - min x)
        percentile = 100 #{i < n : x_i < x_n} / (n - 1)     (share of the other days below)

    `history` is indexed by date (`datetime.date`), one value per snapshot; NaN values are
    days without a snapshot and are skipped. With n < `min_history`, or max = min, both are
    None with the reason, never a number."""
    if window < 2 or min_history < 2 or min_history > window:
        raise OptionInputError(
            "window", f"need 2 <= min_history ({min_history}) <= window ({window})"
        )
    values = _checked(history)
    past = values[values.index <= as_of]
    empty = IVRank(as_of, None, None, None, None, 0, window, min_history, None, None, None)
    if past.empty:
        return replace(empty, reason=f"no snapshot on or before {as_of}")
    recent = past.iloc[-window:]
    x = recent.to_numpy(dtype=np.float64)
    today = float(x[-1])
    low, high = float(x.min()), float(x.max())
    found = IVRank(
        asked=as_of,
        as_of=recent.index[-1],
        iv=today,
        rank=None,
        percentile=None,
        history=len(x),
        window=window,
        min_history=min_history,
        low=low,
        high=high,
        reason=None,
    )
    if len(x) < min_history:
        return replace(
            found, reason=f"{len(x)} snapshots in the window; at least {min_history} needed"
        )
    if high == low:
        return replace(found, reason=f"all {len(x)} snapshots in the window are equal")
    rank = 100.0 * ((today - low) / (high - low))  # 100 exactly at the high
    percentile = 100.0 * float(np.count_nonzero(x[:-1] < today)) / (len(x) - 1)
    return replace(found, rank=rank, percentile=percentile)


def _checked(history: pd.Series) -> pd.Series:
    """The snapshots in date order, NaN dropped; dates unique, values finite and > 0."""
    values = history.dropna()
    if not values.index.is_unique:
        raise OptionInputError("history", "a day appears twice")
    numbers = values.to_numpy(dtype=np.float64)
    if not (np.isfinite(numbers) & (numbers > 0)).all():
        raise OptionInputError("history", "every snapshot must be a finite number > 0")
    return values.sort_index()
