"""IV rank and percentile on the real VIX history (a one-year high, a quiet day worked by hand),
their refusals (short or flat history), no look-ahead, and the premium signal."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.options.errors import OptionInputError
from backend.options.rank import MIN_HISTORY, WINDOW, IVRank, iv_rank
from backend.options.signal import premium_signal
from tests.unit.options.data import VIX, vix_closes

pytestmark = pytest.mark.unit


def test_vix_on_2020_03_16_is_at_the_top_of_its_year() -> None:
    """82.69, the highest close of the 252 sessions to 2020-03-16 (from 2019-03-18)."""
    result = iv_rank(vix_closes(), dt.date(2020, 3, 16))
    assert (result.iv, result.high, result.as_of) == (82.69, 82.69, dt.date(2020, 3, 16))
    assert result.rank == 100.0 and result.percentile == 100.0
    assert result.history == WINDOW == 252 and result.reason is None
    assert result.low == 11.54  # 2019-11-26


def test_vix_on_a_quiet_day_by_hand() -> None:
    """2017-06-30, VIX 11.18. Its window, the 252 sessions 2016-07-01 .. 2017-06-30 (in the
    file: 2016-07-01,15.59,15.86,14.61,14.77 ... 2017-06-30,11.74,11.85,10.40,11.18), holds
    the low 9.75 (2017-06-02) and the high 22.51 (2016-11-04, the Friday before the US
    election):

        rank = 100 (11.18 - 9.75) / (22.51 - 9.75) = 100 x 1.43 / 12.76 = 11.2069

    and 53 of the 251 sessions before it closed below 11.18: percentile 100 x 53/251 = 21.1155."""
    result = iv_rank(vix_closes(), dt.date(2017, 6, 30))
    assert (result.iv, result.low, result.high) == (11.18, 9.75, 22.51)
    assert result.rank == pytest.approx(100 * 1.43 / 12.76)
    assert result.rank == pytest.approx(11.2069, abs=1e-4)
    assert result.percentile == pytest.approx(100 * 53 / 251)
    # The 53, counted again from the file's text by the csv module alone.
    with VIX.open(newline="") as handle:
        rows = [(r["DATE"], float(r["CLOSE"])) for r in csv.DictReader(handle)]
    window = [close for day, close in rows if "2016-07-01" <= day <= "2017-06-30"]
    assert len(window) == 252 and window[-1] == 11.18
    assert sum(close < 11.18 for close in window[:-1]) == 53
    assert premium_signal(result).signal == "cheap_hedge"


def test_a_short_history_gives_no_number_but_its_count() -> None:
    vix = vix_closes()
    start = list(vix.index).index(dt.date(2020, 3, 16))
    short = vix.iloc[start - MIN_HISTORY + 2 : start + 1]  # 59 snapshots up to 2020-03-16
    result = iv_rank(short, dt.date(2020, 3, 16))
    assert result.history == 59 and result.rank is None and result.percentile is None
    assert result.reason == "59 snapshots in the window; at least 60 needed"
    enough = iv_rank(vix.iloc[start - MIN_HISTORY + 1 : start + 1], dt.date(2020, 3, 16))
    assert enough.history == 60 and enough.rank == 100.0
    assert iv_rank(short, dt.date(2020, 3, 16), min_history=30).rank == 100.0


def test_no_snapshot_yet_and_a_flat_history() -> None:
    vix = vix_closes()
    before = iv_rank(vix, dt.date(2014, 12, 31))
    assert before.as_of is None and before.history == 0 and before.rank is None
    assert before.reason == "no snapshot on or before 2014-12-31"
    days = pd.Index([dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(80)])
    flat = iv_rank(pd.Series(0.25, index=days), days[-1])
    assert flat.rank is None and flat.reason == "all 80 snapshots in the window are equal"


def test_a_day_between_snapshots_uses_the_latest_before_it() -> None:
    saturday = iv_rank(vix_closes(), dt.date(2017, 7, 1))
    friday = iv_rank(vix_closes(), dt.date(2017, 6, 30))
    assert saturday.as_of == dt.date(2017, 6, 30) and saturday.asked == dt.date(2017, 7, 1)
    assert dataclasses.replace(saturday, asked=friday.asked) == friday


def test_missing_snapshots_are_skipped_not_counted() -> None:
    vix = vix_closes().copy()
    day = dt.date(2017, 6, 30)
    holed = vix.copy()
    holed[dt.date(2016, 11, 4)] = np.nan  # the window's high goes missing
    result = iv_rank(holed, day)
    assert result.history == 252 and result.high != 22.51  # the window reaches one day further
    assert result.high == pytest.approx(
        float(
            vix[(vix.index > dt.date(2016, 6, 29)) & (vix.index <= day)]
            .drop(dt.date(2016, 11, 4))
            .max()
        )
    )


def test_no_look_ahead_whatever_comes_after() -> None:
    """The rank of a day is the same whether the history stops there or goes on, whatever
    later values are (here: the future shifted, and a spike of 500 the next day)."""
    vix = vix_closes()
    for day in (dt.date(2017, 6, 30), dt.date(2018, 2, 5), dt.date(2020, 3, 16)):
        alone = iv_rank(vix[vix.index <= day], day)
        assert iv_rank(vix, day) == alone
        shifted = vix.copy()
        later = shifted.index > day
        shifted[later] = shifted[later].to_numpy()[::-1] * 3
        shifted[shifted.index[later][0]] = 500.0
        assert iv_rank(shifted, day) == alone


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(st.floats(0.01, 5.0), min_size=1, max_size=400), st.integers(2, 300))
def test_rank_and_percentile_stay_in_0_to_100(values: list[float], window: int) -> None:
    days = pd.Index([dt.date(2000, 1, 3) + dt.timedelta(days=i) for i in range(len(values))])
    result = iv_rank(pd.Series(values, index=days), days[-1], window=window, min_history=2)
    assert result.history == min(len(values), window)
    if result.rank is not None:
        assert 0 <= result.rank <= 100 and result.percentile is not None
        assert 0 <= result.percentile <= 100
        recent = values[-window:]
        assert result.rank == pytest.approx(
            100 * (recent[-1] - min(recent)) / (max(recent) - min(recent))
        )


def test_bad_histories_and_windows_are_refused() -> None:
    day = dt.date(2020, 1, 2)
    with pytest.raises(OptionInputError):
        iv_rank(pd.Series([0.2, 0.3], index=[day, day]), day)
    with pytest.raises(OptionInputError):
        iv_rank(pd.Series([0.2, -0.3], index=[day, day + dt.timedelta(days=1)]), day)
    with pytest.raises(OptionInputError):
        iv_rank(pd.Series([0.2, np.inf], index=[day, day + dt.timedelta(days=1)]), day)
    with pytest.raises(OptionInputError):
        iv_rank(vix_closes(), day, window=50, min_history=60)


# ------------------------------------------------------------------------------ the signal


def ranked(rank: float | None, asked: dt.date = dt.date(2020, 6, 1)) -> IVRank:
    return IVRank(
        asked=asked,
        as_of=asked,
        iv=0.3,
        rank=rank,
        percentile=None if rank is None else 40.0,
        history=252 if rank is not None else 12,
        window=252,
        min_history=60,
        low=0.1,
        high=0.5,
        reason=None if rank is not None else "12 snapshots in the window; at least 60 needed",
    )


@pytest.mark.parametrize(
    ("rank", "signal"),
    [
        (100.0, "sell_premium"),
        (50.0, "sell_premium"),
        (49.99, "neutral"),
        (30.0, "neutral"),
        (29.99, "cheap_hedge"),
        (0.0, "cheap_hedge"),
    ],
)
def test_the_signal_follows_the_rank(rank: float, signal: str) -> None:
    result = premium_signal(ranked(rank))
    assert result.signal == signal
    assert (result.iv_rank, result.iv_percentile, result.history, result.iv) == (
        rank,
        40.0,
        252,
        0.3,
    )
    assert (result.sell_at, result.hedge_below, result.earnings_days) == (50.0, 30.0, 7)


@pytest.mark.parametrize(
    ("earnings", "rank", "signal"),
    [
        (dt.date(2020, 6, 1), 80.0, "earnings_soon"),  # today
        (dt.date(2020, 6, 8), 80.0, "earnings_soon"),  # 7 days away
        (dt.date(2020, 6, 9), 80.0, "sell_premium"),  # 8 days away
        (dt.date(2020, 5, 31), 10.0, "cheap_hedge"),  # already past
        (dt.date(2020, 6, 4), None, "earnings_soon"),  # no rank needed to wait out earnings
        (None, None, None),
    ],
)
def test_earnings_within_seven_days_override(
    earnings: dt.date | None, rank: float | None, signal: str | None
) -> None:
    result = premium_signal(ranked(rank), earnings)
    assert result.signal == signal
    assert result.earnings_date == earnings
    if earnings is not None:
        assert result.days_to_earnings == (earnings - dt.date(2020, 6, 1)).days
    if signal is None:
        assert result.reason == "no IV rank: 12 snapshots in the window; at least 60 needed"
        assert result.iv_rank is None and result.history == 12


def test_the_signal_on_the_vix_of_march_2020() -> None:
    result = premium_signal(iv_rank(vix_closes(), dt.date(2020, 3, 16)))
    assert result.signal == "sell_premium" and result.reason == "IV rank 100.0 >= 50"
