"""The store's read views for the price endpoints: one ticker's bars, and the securities."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.market_data.store import PriceStore
from tests.unit.market_data.test_store import bars

pytestmark = [pytest.mark.unit, pytest.mark.database]


@pytest.fixture
def store(empty_store: PriceStore) -> PriceStore:
    empty_store.upsert_bars(
        bars(
            [
                ("AAA", "2021-01-06", 12.0, 300),
                ("AAA", "2021-01-04", 10.0, 100),
                ("AAA", "2021-01-05", 11.0, None),
                ("BBB", "2021-01-05", 5.0, 50),
            ]
        ),
        source="test",
    )
    empty_store.upsert_securities(
        [{"ticker": "AAA", "name": "Triple A", "sector": "Energy"}, {"ticker": "CCC"}]
    )
    return empty_store


def test_bars_of_one_ticker_oldest_first_with_every_field(store: PriceStore) -> None:
    rows = store.bars("AAA")
    assert [r["date"] for r in rows] == [
        dt.date(2021, 1, 4),
        dt.date(2021, 1, 5),
        dt.date(2021, 1, 6),
    ]
    assert [r["adj_close"] for r in rows] == [10.0, 11.0, 12.0]
    assert rows[1]["volume"] is None, "a missing volume stays missing"
    assert set(rows[0]) == {
        "date",
        "open",
        "high",
        "low",
        "close",
        "adj_close",
        "volume",
        "dividend",
        "split",
    }


def test_bars_between_dates_inclusive(store: PriceStore) -> None:
    rows = store.bars("AAA", dt.date(2021, 1, 5), dt.date(2021, 1, 6))
    assert [r["adj_close"] for r in rows] == [11.0, 12.0]
    assert store.bars("AAA", start=dt.date(2021, 1, 6))[0]["adj_close"] == 12.0
    assert [r["adj_close"] for r in store.bars("AAA", end=dt.date(2021, 1, 4))] == [10.0]
    assert store.bars("AAA", start=dt.date(2022, 1, 1)) == []
    assert store.bars("ZZZ") == []


def test_securities_with_their_span_of_bars(store: PriceStore) -> None:
    by_ticker = {s["ticker"]: s for s in store.securities()}
    assert list(by_ticker) == ["AAA", "BBB", "CCC"]
    aaa = by_ticker["AAA"]
    assert (aaa["name"], aaa["sector"], aaa["data_source"]) == ("Triple A", "Energy", "test")
    assert (aaa["bars"], aaa["first_date"], aaa["last_date"]) == (
        3,
        dt.date(2021, 1, 4),
        dt.date(2021, 1, 6),
    )
    assert by_ticker["BBB"]["bars"] == 1
    ccc = by_ticker["CCC"]
    assert (ccc["bars"], ccc["first_date"], ccc["last_date"]) == (0, None, None)


def test_securities_named(store: PriceStore) -> None:
    assert [s["ticker"] for s in store.securities(["BBB", "ZZZ"])] == ["BBB"]
    assert store.securities([]) == []
