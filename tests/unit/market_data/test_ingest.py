"""refresh_prices: incremental refreshes, and a full re-fetch when a split or dividend re-bases
the provider's adjusted closes -- with `FakeProvider`, never the network.

The bars are real (AAPL and MSFT, August-September 2020, from the shared S&P 500 data set): AAPL's
4-for-1 split on 2020-08-31 and MSFT's 0.51 dividend on 2020-08-19. What a provider served *before*
such an action is modelled by putting the older adjusted closes back on the pre-action basis.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import DailyBar
from backend.errors import ProviderUnavailable
from backend.market_data.bars import BAR_COLUMNS
from backend.market_data.ingest import refresh_prices
from backend.market_data.providers.base import FetchResult
from backend.market_data.store import PriceStore
from tests.support.fakes import FakeProvider

pytestmark = [pytest.mark.unit, pytest.mark.database]

# date, ticker, open, high, low, close, adj_close, volume, dividend, split (as traded)
ROWS = [
    ("2020-08-26", "AAPL", 504.7165, 507.97, 500.33, 506.09, 126.115304731, 40755567, 0.0, 1.0),
    ("2020-08-27", "AAPL", 508.57, 509.94, 495.33, 500.04, 124.607672504, 38888096, 0.0, 1.0),
    ("2020-08-28", "AAPL", 504.05, 505.77, 498.31, 499.23, 124.405824223, 46907479, 0.0, 1.0),
    ("2020-08-31", "AAPL", 127.58, 131.0, 126.0, 129.04, 128.624702503, 223505733, 0.0, 4.0),
    ("2020-09-01", "AAPL", 132.76, 134.8, 130.53, 134.18, 133.74816012, 152470142, 0.0, 1.0),
    ("2020-09-02", "AAPL", 137.59, 137.98, 127.0, 131.4, 130.977107168, 200118991, 0.0, 1.0),
    ("2020-08-17", "MSFT", 209.6, 211.1874, 208.915, 210.28, 208.736104531, 20063496, 0.0, 1.0),
    ("2020-08-18", "MSFT", 210.53, 212.36, 209.21, 211.49, 209.937220597, 21336167, 0.0, 1.0),
    ("2020-08-19", "MSFT", 211.49, 212.1, 209.25, 209.7, 208.666618477, 27627561, 0.51, 1.0),
    ("2020-08-20", "MSFT", 209.54, 215.0, 208.91, 214.58, 213.522570304, 26981478, 0.0, 1.0),
]
SPLIT_DAY = dt.date(2020, 8, 31)
DIVIDEND_DAY = dt.date(2020, 8, 19)
# MSFT's dividend factor: 1 - dividend / the close before the ex-date.
DIVIDEND_FACTOR = 1 - 0.51 / 211.49


def real_bars() -> pd.DataFrame:
    """The bars as a provider serves them today (adjusted closes on the latest basis)."""
    frame = pd.DataFrame(ROWS, columns=BAR_COLUMNS)
    frame["date"] = [dt.date.fromisoformat(day) for day in frame["date"]]
    return frame.astype({"volume": "float64"})


def served_before(ticker: str, action_day: dt.date, through: dt.date) -> pd.DataFrame:
    """`ticker`'s bars up to `through` as the provider served them before the action on
    `action_day`: adjusted closes before it not yet re-based (split x4, dividend / factor)."""
    bars = real_bars()
    bars = bars[(bars["ticker"] == ticker) & (bars["date"] <= through)].copy()
    before = bars["date"] < action_day
    factor = 4.0 if ticker == "AAPL" else 1 / DIVIDEND_FACTOR
    bars.loc[before, "adj_close"] = bars.loc[before, "adj_close"] * factor
    return bars.reset_index(drop=True)


def stored(store: PriceStore, ticker: str) -> dict[dt.date, dict[str, float | None]]:
    """The stored bars of `ticker` by date (read straight from the table)."""
    stmt = select(DailyBar).where(DailyBar.ticker == ticker).order_by(DailyBar.date)
    with Session(store.engine) as session:
        return {
            bar.date: {"close": bar.close, "adj_close": bar.adj_close, "split": bar.split}
            for bar in session.scalars(stmt)
        }


def stored_adj_close(store: PriceStore, ticker: str) -> dict[dt.date, float | None]:
    return {day: bar["adj_close"] for day, bar in stored(store, ticker).items()}


class FailingRefetch(FakeProvider):
    """Answers incremental fetches, but is unreachable for a full-history one (start None)."""

    def fetch(
        self, tickers: Sequence[str], start: dt.date | None = None, end: dt.date | None = None
    ) -> FetchResult:
        if start is None:
            self.calls.append((tuple(tickers), start, end))
            raise ProviderUnavailable(self.name, "connection reset")
        return super().fetch(tickers, start, end)


def test_without_a_corporate_action_only_the_new_days_are_fetched(
    empty_store: PriceStore,
) -> None:
    # Stored through the split day itself: the split is not *after* the last bar.
    empty_store.upsert_bars(served_before("AAPL", SPLIT_DAY, SPLIT_DAY), source="fake")
    provider = FakeProvider(real_bars())
    today = dt.date(2020, 9, 2)

    summary = refresh_prices(empty_store, provider, tickers=["AAPL"], today=today)

    assert provider.calls == [(("AAPL",), SPLIT_DAY, today)]
    assert summary.updated == {"AAPL": 2} and summary.unchanged == [] and summary.failed == {}
    assert empty_store.last_bar_dates()["AAPL"] == today
    # Older adjusted closes were not asked for, so they stay as stored.
    assert stored_adj_close(empty_store, "AAPL")[dt.date(2020, 8, 28)] == pytest.approx(
        124.405824223 * 4
    )


def test_a_split_after_the_last_bar_refetches_the_whole_history(
    empty_store: PriceStore,
) -> None:
    empty_store.upsert_bars(served_before("AAPL", SPLIT_DAY, dt.date(2020, 8, 28)), source="fake")
    assert stored_adj_close(empty_store, "AAPL")[dt.date(2020, 8, 26)] == pytest.approx(
        126.115304731 * 4
    )
    provider = FakeProvider(real_bars())
    today = dt.date(2020, 9, 2)

    summary = refresh_prices(empty_store, provider, tickers=["AAPL"], today=today)

    assert provider.calls == [
        (("AAPL",), dt.date(2020, 8, 28), today),  # since the last bar: holds the split
        (("AAPL",), None, today),  # so the whole history again
    ]
    # 3 older rows re-based + 3 new ones (2020-08-28 is counted once).
    assert summary.updated == {"AAPL": 6} and summary.unchanged == [] and summary.failed == {}
    expected = real_bars()
    expected = expected[expected["ticker"] == "AAPL"]
    assert stored_adj_close(empty_store, "AAPL") == dict(
        zip(expected["date"], expected["adj_close"])
    )
    # As-traded prices and the split coefficient are stored as served.
    bars = stored(empty_store, "AAPL")
    assert bars[dt.date(2020, 8, 28)]["close"] == 499.23
    assert bars[SPLIT_DAY]["split"] == 4.0


def test_a_dividend_after_the_last_bar_refetches_the_whole_history(
    empty_store: PriceStore,
) -> None:
    empty_store.upsert_bars(
        served_before("MSFT", DIVIDEND_DAY, dt.date(2020, 8, 18)), source="fake"
    )
    provider = FakeProvider(real_bars())
    today = dt.date(2020, 8, 20)

    summary = refresh_prices(empty_store, provider, tickers=["MSFT"], today=today)

    assert provider.calls == [
        (("MSFT",), dt.date(2020, 8, 18), today),
        (("MSFT",), None, today),
    ]
    assert summary.updated == {"MSFT": 4}
    assert stored_adj_close(empty_store, "MSFT")[dt.date(2020, 8, 17)] == 208.736104531


def test_counts_with_a_refetch_an_unchanged_ticker_and_a_failure(
    empty_store: PriceStore,
) -> None:
    today = dt.date(2020, 9, 2)
    empty_store.upsert_bars(served_before("AAPL", SPLIT_DAY, dt.date(2020, 8, 28)), source="fake")
    msft = real_bars()
    msft = msft[msft["ticker"] == "MSFT"]
    empty_store.upsert_bars(msft, source="fake")  # already up to date
    empty_store.upsert_bars(
        real_bars().assign(ticker="GONE").iloc[:1], source="fake"
    )  # the provider does not know it
    provider = FakeProvider(real_bars())

    summary = refresh_prices(empty_store, provider, today=today)

    assert summary.updated == {"AAPL": 6}
    assert summary.unchanged == ["MSFT"]
    assert summary.failed == {"GONE": "unknown symbol"}
    assert summary.outcome == "updated 1, unchanged 1, failed 1"
    assert empty_store.stats().last_refresh_outcome == "updated 1, unchanged 1, failed 1"
    # The dividend on 2020-08-19 is before MSFT's last bar: no full re-fetch for it.
    assert [call for call in provider.calls if call[0] == ("MSFT",)] == [
        (("MSFT",), dt.date(2020, 8, 20), today)
    ]
    assert [call[1] for call in provider.calls if call[0] == ("AAPL",)] == [
        dt.date(2020, 8, 28),
        None,
    ]


def test_a_failed_refetch_writes_nothing_so_the_next_refresh_tries_again(
    empty_store: PriceStore,
) -> None:
    before = served_before("AAPL", SPLIT_DAY, dt.date(2020, 8, 28))
    empty_store.upsert_bars(before, source="fake")
    today = dt.date(2020, 9, 2)
    flaky = FailingRefetch(real_bars())

    summary = refresh_prices(empty_store, flaky, tickers=["AAPL", "MSFT"], today=today)

    assert summary.updated == {} and summary.unchanged == []
    assert summary.failed["AAPL"] == "provider 'fake' unavailable: connection reset"
    assert summary.failed["MSFT"].startswith("not attempted: provider 'fake' unavailable")
    assert empty_store.last_bar_dates()["AAPL"] == dt.date(2020, 8, 28)  # nothing written
    assert stored_adj_close(empty_store, "AAPL") == dict(zip(before["date"], before["adj_close"]))

    summary = refresh_prices(empty_store, FakeProvider(real_bars()), tickers=["AAPL"], today=today)
    assert summary.updated == {"AAPL": 6}
    assert stored_adj_close(empty_store, "AAPL")[dt.date(2020, 8, 26)] == 126.115304731
