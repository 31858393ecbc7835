"""The bulk write paths of `PriceStore.upsert_bars` (bar_writer), on SQLite and PostgreSQL:
the plain-insert path of a new ticker and the upsert path of a stored one write the same rows
and count the same; identical rows count 0 and leave the data version; a changed bar counts 1."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.exc import IntegrityError

from backend.db.engine import make_engine
from backend.db.migrate import upgrade_to_head
from backend.market_data import bar_writer
from backend.market_data.bars import BAR_COLUMNS
from backend.market_data.providers.csv_file import read_price_file
from backend.market_data.sample import SAMPLE_PRICES
from backend.market_data.store import PriceStore
from tests.conftest import fresh_pg_database

pytestmark = [pytest.mark.unit, pytest.mark.database]

TICKERS = ["AAPL", "JPM", "XOM"]


@pytest.fixture(scope="module")
def real_bars() -> pd.DataFrame:
    """Real bars of three tickers from the shipped sample, with a few values made missing
    (open) so NULL handling is exercised; volumes as int64."""
    bars = read_price_file(SAMPLE_PRICES)
    bars = bars[bars["ticker"].isin(TICKERS)].reset_index(drop=True)
    bars.loc[[3, 400], "open"] = np.nan
    bars["volume"] = bars["volume"].astype("int64")
    return bars


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/store.db"
    else:
        with fresh_pg_database() as url:
            yield url


@contextmanager
def second_database(url: str) -> Iterator[str]:
    """Another empty database of `url`'s engine: a new SQLite file, or a new PostgreSQL one."""
    if url.startswith("sqlite"):
        yield url.replace("store.db", "second.db")
    else:
        with fresh_pg_database() as second:
            yield second


def _store(url: str) -> PriceStore:
    engine = make_engine(url)
    upgrade_to_head(engine)
    return PriceStore(engine)


def _stored(store: PriceStore, ticker: str) -> pd.DataFrame:
    return pd.DataFrame(store.bars(ticker)).set_index("date")


def _assert_stored_equals(store: PriceStore, bars: pd.DataFrame) -> None:
    """What the store holds equals the frame, value for value (NaN as missing)."""
    for ticker, expected in bars.groupby("ticker"):
        got = _stored(store, str(ticker))
        want = expected.set_index("date").drop(columns="ticker")
        assert list(got.index) == list(want.index)
        for column in want.columns:
            a = got[column].to_numpy(dtype=np.float64, na_value=np.nan)
            b = want[column].to_numpy(dtype=np.float64, na_value=np.nan)
            np.testing.assert_array_equal(a, b, err_msg=f"{ticker} {column}")


def test_new_ticker_path_matches_the_upsert_path(
    store_url: str, real_bars: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same bars written once as new tickers (plain INSERT) and once forced through the
    upsert path give the same rows and the same counts."""
    plain = _store(store_url)
    first = plain.upsert_bars(real_bars, source="t")
    counts = real_bars["ticker"].value_counts().to_dict()
    assert first.written_by_ticker == counts
    assert (first.rows, first.written, first.unchanged) == (len(real_bars), len(real_bars), 0)
    _assert_stored_equals(plain, real_bars)
    plain.engine.dispose()

    with second_database(store_url) as second_url:
        forced = _store(second_url)
        monkeypatch.setattr(
            "backend.market_data.store.tickers_with_bars", lambda conn, tickers: set(tickers)
        )
        via_upsert = forced.upsert_bars(real_bars, source="t")
        assert via_upsert.written_by_ticker == counts
        assert via_upsert.data_version == first.data_version == 1
        _assert_stored_equals(forced, real_bars)
        forced.engine.dispose()


def test_reimport_counts_nothing_and_keeps_the_version(
    store_url: str, real_bars: pd.DataFrame
) -> None:
    store = _store(store_url)
    store.upsert_bars(real_bars, source="t")
    again = store.upsert_bars(real_bars, source="t")
    assert (again.written, again.unchanged) == (0, len(real_bars))
    assert again.written_by_ticker == {t: 0 for t in TICKERS}
    assert again.data_version == 1 == store.data_version()
    _assert_stored_equals(store, real_bars)
    store.engine.dispose()


def test_changed_bar_counts_one_and_mixed_new_and_stored_tickers(
    store_url: str, real_bars: pd.DataFrame
) -> None:
    store = _store(store_url)
    stored = real_bars[real_bars["ticker"] != "XOM"]
    store.upsert_bars(stored, source="t")
    changed = real_bars.copy()
    row = changed.index[(changed["ticker"] == "JPM")][10]
    changed.loc[row, "close"] = changed.loc[row, "close"] + 0.01
    result = store.upsert_bars(changed, source="t2")  # XOM new, AAPL same, JPM one change
    xom = int((real_bars["ticker"] == "XOM").sum())
    assert result.written_by_ticker == {"AAPL": 0, "JPM": 1, "XOM": xom}
    assert (result.written, result.unchanged) == (1 + xom, len(real_bars) - 1 - xom)
    assert result.data_version == 2
    _assert_stored_equals(store, changed)
    assert {s["ticker"]: s["data_source"] for s in store.securities()} == {
        "AAPL": "t2",
        "JPM": "t2",
        "XOM": "t2",
    }
    store.engine.dispose()


def test_volumes_and_missing_values_round_trip(store_url: str) -> None:
    """A volume past 2^53 is stored exactly (no trip through a float); a missing open or
    volume is stored as missing and re-importing it counts as unchanged."""
    big = 2**62 + 1
    frame = pd.DataFrame(
        [
            ("2021-01-04", "AAA", np.nan, 1.0, 1.0, 1.0, 1.0, big, 0.0, 1.0),
            ("2021-01-05", "AAA", 1.0, 1.0, 1.0, np.nan, 1.5, 7, 0.25, 2.0),
        ],
        columns=BAR_COLUMNS,
    )
    frame["date"] = [dt.date(2021, 1, 4), dt.date(2021, 1, 5)]
    store = _store(store_url)
    assert store.upsert_bars(frame, source="t").written == 2
    rows = store.bars("AAA")
    assert rows[0]["volume"] == big
    assert rows[0]["open"] is None and rows[1]["close"] is None
    assert (rows[1]["dividend"], rows[1]["split"], rows[1]["adj_close"]) == (0.25, 2.0, 1.5)
    with_missing_volume = frame.astype({"volume": "float64"})
    with_missing_volume.loc[1, "volume"] = np.nan
    result = store.upsert_bars(with_missing_volume, source="t")
    # Row 1 lost its volume (a change); row 0's volume went through a float (2^62 + 1 is not
    # a float64), so it changed too: exactly what int(float(v)) gave before.
    assert result.written_by_ticker == {"AAA": 2}
    assert store.bars("AAA")[1]["volume"] is None
    assert store.upsert_bars(with_missing_volume, source="t").written == 0
    store.engine.dispose()


def test_progress_reaches_the_total(store_url: str, real_bars: pd.DataFrame) -> None:
    seen: list[tuple[int, int]] = []
    store = _store(store_url)
    store.upsert_bars(real_bars, source="t", progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (len(real_bars), len(real_bars))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    store.engine.dispose()


def test_volume_beyond_64_bits_is_refused_and_writes_nothing(empty_store: PriceStore) -> None:
    frame = pd.DataFrame(
        [(dt.date(2021, 1, 4), "AAA", 1.0, 1.0, 1.0, 1.0, 1.0, 2.0**63, 0.0, 1.0)],
        columns=BAR_COLUMNS,
    )
    with pytest.raises(OverflowError):
        empty_store.upsert_bars(frame, source="t")
    assert empty_store.stats().bars == 0 and empty_store.data_version() == 0


def test_bar_columns_group_by_ticker_keeping_order() -> None:
    frame = pd.DataFrame(
        {
            "date": [dt.date(2021, 1, d) for d in (5, 4, 6, 4)],
            "ticker": ["BBB", "AAA", "BBB", "BBB"],
            **{c: [1.0, 2.0, 3.0, 4.0] for c in BAR_COLUMNS[2:]},
        }
    )
    cols = bar_writer.bar_columns(frame)
    assert cols.tickers == ["AAA", "BBB"]
    assert cols.codes.tolist() == [0, 1, 1, 1]
    assert cols.bounds().tolist() == [0, 1, 4]
    assert [str(d) for d in cols.days] == ["2021-01-04", "2021-01-05", "2021-01-06", "2021-01-04"]
    assert cols.floats["open"].tolist() == [2.0, 1.0, 3.0, 4.0]
    assert cols.volume.tolist() == [2, 1, 3, 4] and not cols.volume_missing.any()


@pytest.mark.parametrize("stored_first", [False, True], ids=["new-ticker", "stored-ticker"])
def test_a_missing_adjusted_close_writes_nothing(store_url: str, stored_first: bool) -> None:
    """NOT NULL holds on both paths (PostgreSQL's direct COPY sends NaN as NULL): the write
    fails as an IntegrityError and leaves the store as it was."""
    frame = pd.DataFrame(
        [
            (dt.date(2021, 1, 4), "AAA", 1.0, 1.0, 1.0, 1.0, 1.0, 5, 0.0, 1.0),
            (dt.date(2021, 1, 5), "AAA", 1.0, 1.0, 1.0, 1.0, np.nan, 5, 0.0, 1.0),
        ],
        columns=BAR_COLUMNS,
    )
    store = _store(store_url)
    if stored_first:
        store.upsert_bars(frame.iloc[:1], source="t")
    before = (store.stats().bars, store.data_version())
    with pytest.raises(IntegrityError):
        store.upsert_bars(frame, source="t")
    assert (store.stats().bars, store.data_version()) == before
    store.engine.dispose()
