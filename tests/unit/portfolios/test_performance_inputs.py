"""The series a performance report is computed from, prepared from a hand-made score book of
five days (no database): which closes, which share counts, which notes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from backend.errors import InvalidInput
from backend.market_data.store import PricePanel
from backend.momentum.book_frames import BookFrames
from backend.momentum.engine import CompositeWeights, score_panel
from backend.momentum.service import ScoreBook, benchmarks_for
from backend.portfolios import ledger
from backend.portfolios.performance_inputs import performance_inputs, trading_dates

pytestmark = pytest.mark.unit

DATES = pd.bdate_range("2021-03-01", periods=5)  # Mon 1 .. Fri 5 March


def book() -> ScoreBook:
    cols = ["AAA", "BBB", "SPY"]
    adj = pd.DataFrame(
        {"AAA": [50.0, 51, 52, 53, 54], "BBB": [10.0, 11, 12, 13, 14], "SPY": [100.0] * 5},
        index=DATES,
    )
    # AAA traded at twice its price before its 2-for-1 split on the 3rd; BBB has no close
    # as traded (only adjusted closes stored).
    raw = pd.DataFrame(
        {"AAA": [100.0, 102, 52, 53, 54], "BBB": [np.nan] * 5, "SPY": [100.0] * 5}, index=DATES
    )
    split = pd.DataFrame(1.0, index=DATES, columns=cols)
    split.loc[DATES[2], "AAA"] = 2.0
    volume = pd.DataFrame(1000.0, index=DATES, columns=cols)
    securities = pd.DataFrame(
        {"name": None, "sector": None, "category": None, "is_fixed_income": False},
        index=pd.Index(cols, name="ticker"),
    )
    panel = PricePanel(adj, raw, volume, split, securities, 1)
    benchmarks = benchmarks_for(securities)
    frames = score_panel(adj, volume, split, benchmarks)
    return ScoreBook(panel, BookFrames.of(frames), CompositeWeights(), {}, benchmarks)


def test_constant_shares_hold_fewer_before_a_split_at_closes_as_traded() -> None:
    got = performance_inputs(book(), None, {"AAA": 10, "BBB": 5, "ZZZ": 1}, None, None, "SPY")
    # n_t = 10 / (product of the split coefficients after t): 5 before the 3rd, 10 from it.
    assert got.shares["AAA"].tolist() == [5.0, 5.0, 10.0, 10.0, 10.0]
    # BBB has adjusted closes only: they carry the splits, so the count is constant.
    assert got.shares["BBB"].tolist() == [5.0] * 5
    assert got.price_basis == {"AAA": "close", "BBB": "adj_close"}
    assert got.prices["AAA"].tolist() == [100.0, 102, 52, 53, 54]
    assert got.prices["BBB"].tolist() == [10.0, 11, 12, 13, 14]
    assert list(got.shares.columns) == ["AAA", "BBB"]  # ZZZ has no prices: left out
    assert got.notes[0].startswith("left out, no prices stored: ZZZ")
    assert "BBB: no as-traded closes stored; adjusted closes used" in got.notes
    assert got.cash.tolist() == [0.0] * 5 and got.flows.tolist() == [0.0] * 5
    assert got.benchmark is not None and got.benchmark.tolist() == [100.0] * 5


def test_a_ledger_is_replayed_on_the_days_asked_for() -> None:
    entries = [
        ledger.make_transaction(date=dt.date(2021, 3, 1), type="DEPOSIT", quantity=1000),
        ledger.make_transaction(
            date=dt.date(2021, 3, 2), type="BUY", ticker="AAA", quantity=2, price=102
        ),
    ]
    got = performance_inputs(book(), entries, None, dt.date(2021, 3, 2), None, "QQQ")
    assert list(got.shares.index) == list(DATES[1:])
    assert got.shares["AAA"].tolist() == [2.0, 2.0, 2.0, 2.0]  # no SPLIT entry in this ledger
    assert got.cash.iloc[0] == pytest.approx(1000 - 2 * 102)
    assert got.benchmark is None
    assert got.notes == ["benchmark QQQ: no prices stored, so no benchmark return"]


def test_periods_outside_the_store_or_backwards_are_refused() -> None:
    b = book()
    assert list(trading_dates(b, dt.date(2021, 3, 4), None)) == list(DATES[3:])
    with pytest.raises(InvalidInput, match="after end"):
        performance_inputs(b, None, {"AAA": 1}, dt.date(2021, 3, 5), dt.date(2021, 3, 1), "SPY")
    with pytest.raises(InvalidInput, match="no trading days"):
        performance_inputs(b, None, {"AAA": 1}, dt.date(2021, 4, 1), None, "SPY")
