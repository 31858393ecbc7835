"""The price store: upserts, the data version, atomicity and the panel."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from sqlalchemy.exc import IntegrityError

from backend.market_data.bars import BAR_COLUMNS
from backend.market_data.store import PriceStore

pytestmark = [pytest.mark.unit, pytest.mark.database]


def bars(rows: list[tuple]) -> pd.DataFrame:
    """rows of (ticker, 'YYYY-MM-DD', adj_close, volume) with the other columns filled in."""
    out = []
    for ticker, day, adj, vol in rows:
        out.append(
            {
                "date": dt.date.fromisoformat(day),
                "ticker": ticker,
                "open": adj,
                "high": adj,
                "low": adj,
                "close": adj,
                "adj_close": adj,
                "volume": vol,
                "dividend": 0.0,
                "split": 1.0,
            }
        )
    return pd.DataFrame(out, columns=BAR_COLUMNS)


def test_upsert_inserts_then_leaves_identical_rows_alone(empty_store: PriceStore) -> None:
    frame = bars([("AAA", "2021-01-04", 10.0, 100), ("AAA", "2021-01-05", 11.0, 200)])
    assert empty_store.data_version() == 0
    first = empty_store.upsert_bars(frame, source="test")
    assert (first.rows, first.written, first.unchanged) == (2, 2, 0)
    assert first.written_by_ticker == {"AAA": 2}
    assert first.data_version == 1
    again = empty_store.upsert_bars(frame, source="test")
    assert (again.written, again.unchanged) == (0, 2)
    assert again.data_version == 1, "re-importing the same rows must not bump the version"
    assert empty_store.stats().bars == 2


def test_changed_value_is_updated_and_bumps_version(empty_store: PriceStore) -> None:
    empty_store.upsert_bars(bars([("AAA", "2021-01-04", 10.0, 100)]), source="a")
    changed = empty_store.upsert_bars(
        bars([("AAA", "2021-01-04", 10.5, 100), ("BBB", "2021-01-04", 5.0, None)]), source="b"
    )
    assert changed.written_by_ticker == {"AAA": 1, "BBB": 1}
    assert changed.data_version == 2
    panel = empty_store.load_panel()
    assert panel.close.loc["2021-01-04", "AAA"] == 10.5
    assert math.isnan(panel.volume.loc["2021-01-04", "BBB"]), "missing volume stays missing"
    assert panel.securities.loc["BBB", "data_source"] == "b"


def test_a_bad_row_writes_nothing(empty_store: PriceStore) -> None:
    empty_store.upsert_bars(bars([("AAA", "2021-01-04", 10.0, 100)]), source="a")
    bad = bars([("AAA", "2021-01-05", 11.0, 100), ("AAA", "2021-01-06", 12.0, 100)])
    bad.loc[1, "adj_close"] = float("nan")  # violates NOT NULL
    with pytest.raises(IntegrityError):
        empty_store.upsert_bars(bad, source="a")
    assert empty_store.stats().bars == 1
    assert empty_store.data_version() == 1


def test_panel_keeps_missing_days_missing(empty_store: PriceStore) -> None:
    empty_store.upsert_bars(
        bars(
            [
                ("AAA", "2021-01-04", 10.0, 100),
                ("AAA", "2021-01-06", 12.0, 100),
                ("BBB", "2021-01-05", 5.0, 50),
            ]
        ),
        source="t",
    )
    panel = empty_store.load_panel()
    assert list(panel.close.index.strftime("%Y-%m-%d")) == [
        "2021-01-04",
        "2021-01-05",
        "2021-01-06",
    ]
    assert panel.tickers == ["AAA", "BBB"]
    assert math.isnan(panel.close.loc["2021-01-05", "AAA"]), "no forward fill"
    assert panel.split.loc["2021-01-05", "BBB"] == 1.0


def test_stats_and_last_bar_dates(empty_store: PriceStore) -> None:
    assert empty_store.is_empty()
    empty_store.upsert_bars(
        bars([("AAA", "2021-01-04", 10.0, 1), ("AAA", "2021-01-08", 10.0, 1)]), source="t"
    )
    stats = empty_store.stats()
    assert (stats.securities, stats.bars) == (1, 2)
    assert stats.newest_bar == dt.date(2021, 1, 8)
    assert stats.oldest_bar == dt.date(2021, 1, 4)
    assert empty_store.last_bar_dates() == {"AAA": dt.date(2021, 1, 8)}
    empty_store.record_refresh("updated 1, unchanged 0, failed 0")
    assert empty_store.stats().last_refresh_outcome == "updated 1, unchanged 0, failed 0"


def test_alias_pairs_are_seeded(empty_store: PriceStore) -> None:
    assert ("META", "FB") in empty_store.alias_pairs()


def test_upsert_securities_keeps_fields_not_given(empty_store: PriceStore) -> None:
    empty_store.upsert_securities([{"ticker": "AAA", "name": "Alpha", "sector": "Tech"}])
    empty_store.upsert_securities([{"ticker": "AAA", "name": None, "sector": None}])
    empty_store.upsert_bars(bars([("AAA", "2021-01-04", 10.0, 1)]), source="t")
    sec = empty_store.load_panel().securities.loc["AAA"]
    assert (sec["name"], sec["sector"]) == ("Alpha", "Tech")


def test_category_and_fixed_income_come_from_the_category_tables(empty_store: PriceStore) -> None:
    # A security's own columns are not read: a caller cannot make AAA fixed income.
    empty_store.upsert_securities([{"ticker": "AAA", "is_fixed_income": True, "category": "X"}])
    empty_store.upsert_bars(
        bars([("AAA", "2021-01-04", 10.0, 1), ("SHY", "2021-01-04", 86.0, 1)]), source="t"
    )
    panel = empty_store.load_panel()
    rows = {r["ticker"]: r for r in empty_store.securities()}
    for ticker, category, fixed in [
        ("AAA", None, False),
        ("SHY", "Tactical Fixed Income", True),  # seeded by migration 0002
    ]:
        assert (rows[ticker]["category"], rows[ticker]["is_fixed_income"]) == (category, fixed)
        sec = panel.securities.loc[ticker]
        got = None if pd.isna(sec["category"]) else sec["category"]  # a frame holds None as NaN
        assert (got, bool(sec["is_fixed_income"])) == (category, fixed)
    assert panel.categories.data_version == panel.data_version
    assert panel.categories.by_ticker()["SHY"].slug == "tactical-fixed-income"


def test_counts_per_ticker_for_new_and_stored_tickers(empty_store: PriceStore) -> None:
    """A batch of a new ticker, then one mixing a new ticker with a stored one: each ticker's
    count is its new or changed rows only."""
    first = empty_store.upsert_bars(
        bars([("AAA", "2021-01-04", 10.0, 1), ("AAA", "2021-01-05", 11.0, 1)]), source="a"
    )
    assert (first.written, first.written_by_ticker, first.data_version) == (2, {"AAA": 2}, 1)
    mixed = empty_store.upsert_bars(
        bars(
            [
                ("AAA", "2021-01-04", 10.0, 1),  # identical
                ("AAA", "2021-01-06", 12.0, 1),  # new day
                ("BBB", "2021-01-04", 5.0, 1),  # new ticker
            ]
        ),
        source="a",
    )
    assert mixed.written_by_ticker == {"AAA": 1, "BBB": 1} and mixed.unchanged == 1
    assert mixed.data_version == 2 and empty_store.stats().bars == 4
