"""The price a contract is valued at (mid, last, or none with the reason) and the time to its
expiry (16:00 New York, years of 365 days)."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from backend.options.errors import OptionInputError
from backend.options.quotes import (
    CROSSED_QUOTE,
    LAST,
    MID,
    NO_QUOTE,
    ZERO_BID,
    days_to_expiry,
    expiry_close,
    mid_quote,
    years_to_expiry,
)

pytestmark = pytest.mark.unit
NAN = math.nan
UTC = dt.timezone.utc


@pytest.mark.parametrize(
    ("bid", "ask", "last", "price", "source", "reason"),
    [
        (1.00, 1.10, 0.90, 1.05, MID, ""),  # two-sided: the mid, whatever the last trade
        (2.00, 2.00, NAN, 2.00, MID, ""),  # a locked quote is two-sided
        (0.00, 0.05, 0.03, NAN, "", ZERO_BID),  # nobody bids: left out
        (NAN, 0.05, 0.03, NAN, "", ZERO_BID),
        (1.20, 1.10, 1.00, NAN, "", CROSSED_QUOTE),
        (NAN, NAN, 3.50, 3.50, LAST, ""),  # no quote at all: the last trade, flagged
        (0.00, 0.00, 3.50, 3.50, LAST, ""),
        (1.00, NAN, 0.95, 0.95, LAST, ""),  # only a bid: not two-sided
        (NAN, NAN, 0.00, NAN, "", NO_QUOTE),  # Lean writes 0 for "no trade"
        (NAN, NAN, NAN, NAN, "", NO_QUOTE),
        (np.inf, 1.0, 0.5, NAN, "", ZERO_BID),  # a non-finite bid counts as none
        (-1.0, -1.0, -1.0, NAN, "", NO_QUOTE),
    ],
)
def test_mid_quote_rules(
    bid: float, ask: float, last: float, price: float, source: str, reason: str
) -> None:
    got = mid_quote([bid], [ask], [last])
    assert (got.source[0], got.reason[0]) == (source, reason)
    if math.isnan(price):
        assert math.isnan(got.price[0]), "no price is made up"
    else:
        assert got.price[0] == pytest.approx(price)


def test_the_expiry_is_at_four_in_the_afternoon_new_york_time() -> None:
    summer = expiry_close(dt.date(2016, 9, 9))  # EDT, UTC-4
    winter = expiry_close(dt.date(2015, 12, 24))  # EST, UTC-5
    assert summer.astimezone(UTC) == dt.datetime(2016, 9, 9, 20, 0, tzinfo=UTC)
    assert winter.astimezone(UTC) == dt.datetime(2015, 12, 24, 21, 0, tzinfo=UTC)


def test_years_to_expiry_from_the_yahoo_quote_time() -> None:
    """regularMarketTime 1473192000 (Tuesday 2016-09-06, 16:00 EDT) to Friday's 16:00: three
    days exactly, 3/365 of a year."""
    as_of = dt.datetime.fromtimestamp(1473192000, tz=UTC)
    assert days_to_expiry(as_of, [dt.date(2016, 9, 9)])[0] == 3.0
    assert years_to_expiry(as_of, [dt.date(2016, 9, 9)])[0] == pytest.approx(3 / 365, abs=1e-15)


def test_time_zones_and_daylight_saving_are_honoured() -> None:
    new_york = ZoneInfo("America/New_York")
    as_of = dt.datetime(2016, 11, 4, 16, 0, tzinfo=new_york)  # Friday, EDT
    # The clocks went back on Sunday 6 November: Monday 16:00 EST is 3 days and 1 hour later.
    assert days_to_expiry(as_of, [dt.date(2016, 11, 7)])[0] == pytest.approx(3 + 1 / 24)
    same_moment = as_of.astimezone(ZoneInfo("Asia/Tokyo"))
    assert days_to_expiry(same_moment, [dt.date(2016, 11, 7)])[0] == pytest.approx(3 + 1 / 24)
    # Past the expiry the time is negative, not clipped to 0.
    assert days_to_expiry(as_of, [dt.date(2016, 11, 3)])[0] == pytest.approx(-1.0)


def test_every_contract_gets_its_expiry_time() -> None:
    as_of = dt.datetime(2015, 12, 23, 21, 0, tzinfo=UTC)  # 16:00 EST
    days = [dt.date(2016, 1, 22), dt.date(2015, 12, 24), dt.date(2016, 1, 22)]
    assert days_to_expiry(as_of, days).tolist() == [30.0, 1.0, 30.0]


def test_a_time_without_a_time_zone_is_refused() -> None:
    with pytest.raises(OptionInputError) as info:
        years_to_expiry(dt.datetime(2016, 9, 6, 16, 0), [dt.date(2016, 9, 9)])
    assert info.value.field == "as_of"
