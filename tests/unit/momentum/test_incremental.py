"""Incremental scoring against the full path on real prices (the shipped slice of the shared
S&P 500 file, 28 tickers and SPY, 2016-2021): after every kind of change the book brought
forward by the change log equals, to 1e-9, the book a fresh process builds from the store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete

from backend.db.models import DataChange
from backend.market_data.bars import BAR_COLUMNS
from backend.market_data.store import PriceStore
from backend.momentum.book_frames import BOOK_FIELDS, BookFrames
from backend.momentum.incremental import rescore_starts
from backend.momentum.panel import percentile_rank, percentile_within
from backend.momentum.service import MomentumService, ScoreBook
from tests.conftest import make_settings
from tests.support.real_prices import SLICE_PRICES, SLICE_SPY

pytestmark = [pytest.mark.unit, pytest.mark.database]

CUT = dt.date(2021, 3, 1)  # the store starts with the bars up to here; later days arrive one by one


def _real_bars() -> pd.DataFrame:
    bars = pd.read_csv(SLICE_PRICES, dtype={"ticker": str})
    spy = pd.read_csv(SLICE_SPY)
    spy = spy.assign(
        ticker="SPY", open=None, high=None, low=None, close=None, volume=None, dividend=0.0
    )
    spy["split"] = 1.0
    bars = pd.concat([bars, spy[list(BAR_COLUMNS)]], ignore_index=True)
    bars["date"] = pd.to_datetime(bars["date"]).dt.date
    return bars[list(BAR_COLUMNS)]


@pytest.fixture(scope="module")
def real_bars() -> pd.DataFrame:
    return _real_bars()


@pytest.fixture
def service(empty_store: PriceStore, empty_db_url: str) -> Iterator[MomentumService]:
    yield MomentumService(empty_store, make_settings(empty_db_url))


def _fresh(store: PriceStore, url: str) -> ScoreBook:
    """The book a new process builds: the whole store, the full path."""
    other = MomentumService(store, make_settings(url))
    book = other.book()
    assert other.last_build is not None and other.last_build.how == "full"
    return book


def assert_same_frames(a: BookFrames, b: BookFrames) -> None:
    assert a.tickers == b.tickers
    assert a.dates.equals(b.dates)
    np.testing.assert_array_equal(a.n_closes, b.n_closes)
    np.testing.assert_array_equal(a.left_out, b.left_out)
    for name in BOOK_FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        np.testing.assert_array_equal(np.isnan(x), np.isnan(y), err_msg=name)
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-9, equal_nan=True, err_msg=name)


def _incremental(service: MomentumService) -> ScoreBook:
    book = service.book()
    assert service.last_build is not None and service.last_build.how == "incremental"
    return book


def test_appending_days_one_at_a_time_equals_a_full_rebuild(
    service: MomentumService, empty_store: PriceStore, empty_db_url: str, real_bars: pd.DataFrame
) -> None:
    empty_store.upsert_bars(real_bars[real_bars["date"] <= CUT], "test")
    first = service.book()
    assert service.last_build is not None and service.last_build.how == "full"
    later = sorted(d for d in real_bars["date"].unique() if d > CUT)[:15]
    books: list[tuple[ScoreBook, dict[str, np.ndarray]]] = []
    for k, day in enumerate(later):
        empty_store.upsert_bars(real_bars[real_bars["date"] == day], "test")
        book = _incremental(service)
        assert book.dates[-1] == np.datetime64(day, "D")
        if books:  # appended into the spare rows of the arrays the previous book reads
            assert book.frame_space is books[-1][0].frame_space
            assert book.panel_space is books[-1][0].panel_space
        books.append((book, {f: getattr(book.frames, f).copy() for f in BOOK_FIELDS}))
        if k % 5 == 4 or k == len(later) - 1:
            assert_same_frames(book.frames, _fresh(empty_store, empty_db_url).frames)
    for earlier, values in books:  # no later append changed what an earlier book reads
        for name, a in values.items():
            np.testing.assert_array_equal(getattr(earlier.frames, name), a)
        assert earlier.panel.close.shape[0] == len(earlier.frames.dates)
    # the old rows were copied, not recomputed: bit-identical
    n = len(first.frames.dates)
    np.testing.assert_array_equal(book.frames.overall[:n], first.frames.overall)
    # served scores and ranks agree with the full book's
    full = MomentumService(empty_store, make_settings(empty_db_url))
    assert service.top(10) == full.top(10)
    assert service.history("AAPL") == full.history("AAPL")


def test_a_reimported_security_is_rescored_alone(
    service: MomentumService, empty_store: PriceStore, empty_db_url: str, real_bars: pd.DataFrame
) -> None:
    empty_store.upsert_bars(real_bars, "test")
    before = service.book()
    redone = real_bars[(real_bars["ticker"] == "MSFT") & (real_bars["date"] >= dt.date(2019, 6, 3))]
    redone = redone.assign(adj_close=redone["adj_close"] * 1.01, close=redone["close"] * 1.01)
    empty_store.upsert_bars(redone, "test")
    after = _incremental(service)
    assert_same_frames(after.frames, _fresh(empty_store, empty_db_url).frames)
    col = after.column["MSFT"]
    changed = ~np.isclose(
        after.frames.overall, before.frames.overall, rtol=0, atol=0, equal_nan=True
    )
    assert set(np.flatnonzero(changed.any(axis=0))) == {col}  # no other column moved
    first_changed = np.flatnonzero(changed[:, col])[0]
    assert after.dates[first_changed] >= np.datetime64("2019-06-03")


def test_a_split_arriving_late_rewrites_one_history(
    service: MomentumService, empty_store: PriceStore, empty_db_url: str, real_bars: pd.DataFrame
) -> None:
    # First the AAPL history as a provider that missed its 4-for-1 split of 2020-08-31 sends
    # it: adjusted closes before the split not divided, no split coefficient.
    aapl = real_bars["ticker"] == "AAPL"
    split_day = dt.date(2020, 8, 31)
    assert float(real_bars.loc[aapl & (real_bars["date"] == split_day), "split"].iloc[0]) == 4.0
    unadjusted = real_bars.copy()
    pre = aapl & (unadjusted["date"] < split_day)
    unadjusted.loc[pre, "adj_close"] *= 4.0
    unadjusted.loc[aapl & (unadjusted["date"] == split_day), "split"] = 1.0
    empty_store.upsert_bars(unadjusted, "test")
    service.book()
    empty_store.upsert_bars(real_bars[aapl], "test")  # the corrected history arrives
    after = _incremental(service)
    assert_same_frames(after.frames, _fresh(empty_store, empty_db_url).frames)


def test_a_new_security_and_a_changed_benchmark(
    service: MomentumService, empty_store: PriceStore, empty_db_url: str, real_bars: pd.DataFrame
) -> None:
    empty_store.upsert_bars(real_bars[real_bars["ticker"] != "NVDA"], "test")
    service.book()
    empty_store.upsert_bars(real_bars[real_bars["ticker"] == "NVDA"], "test")
    assert "NVDA" in _incremental(service).column
    assert_same_frames(service.book().frames, _fresh(empty_store, empty_db_url).frames)
    # SPY moves from mid-2020: every ticker's relative momentum from then on moves with it
    spy = real_bars[(real_bars["ticker"] == "SPY") & (real_bars["date"] >= dt.date(2020, 7, 1))]
    empty_store.upsert_bars(spy.assign(adj_close=spy["adj_close"] * 0.97), "test")
    assert_same_frames(_incremental(service).frames, _fresh(empty_store, empty_db_url).frames)


def test_without_the_change_log_the_book_is_rebuilt_in_full(
    service: MomentumService, empty_store: PriceStore, real_bars: pd.DataFrame
) -> None:
    empty_store.upsert_bars(real_bars[real_bars["date"] <= CUT], "test")
    service.book()
    empty_store.upsert_bars(real_bars[real_bars["date"] > CUT], "test")
    with empty_store.engine.begin() as conn:
        conn.execute(delete(DataChange))  # e.g. pruned, or written by a release without it
    book = service.book()
    assert service.last_build is not None and service.last_build.how == "full"
    assert book.data_version == empty_store.data_version()


def test_rescore_starts_follow_the_dependencies() -> None:
    dates = pd.DatetimeIndex(pd.bdate_range("2021-01-04", periods=10))
    starts = rescore_starts(
        ["AAA", "BBB", "BND", "CCC", "NEW", "SPY"],
        dates,
        {"SPY": dt.date(2021, 1, 8), "AAA": dt.date(2021, 1, 12), "NEW": dt.date(2021, 1, 4)},
        old_benchmarks={"AAA": "SPY", "BBB": "SPY", "BND": "SPY", "CCC": "AGG"},
        new_benchmarks={"AAA": "SPY", "BBB": "SPY", "BND": "AGG", "CCC": "AGG", "NEW": "SPY"},
        old_tickers=["AAA", "BBB", "BND", "CCC", "SPY"],
    )
    # SPY from its row 4; AAA from its own row 4 (SPY's, earlier than its 6); BBB with SPY;
    # BND's benchmark changed: all rows; NEW is new; CCC depends on nothing that changed.
    assert starts == {"SPY": 4, "AAA": 4, "BBB": 4, "BND": 0, "NEW": 0}


def test_percentile_within_equals_percentile_rank_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    m = np.round(rng.uniform(0, 100, size=(300, 40)), 0)  # rounded: many ties
    m[rng.uniform(size=m.shape) < 0.2] = np.nan
    m[5] = np.nan
    m[6, 1:] = np.nan  # one finite value: 50
    full = percentile_rank(m)
    for k in (0, 1, 17, 39):
        got = percentile_within(m[:, k], m)
        np.testing.assert_array_equal(got, full[:, k])
    assert percentile_within([m[6, 0]], m[6:7])[0] == 50.0


def test_a_history_ranks_each_day_as_that_days_score_does(
    service: MomentumService, empty_store: PriceStore, real_bars: pd.DataFrame
) -> None:
    """History percentiles (ranked in blocks of rows, `rank_path`) equal the single scores' on
    the same days (`rank_row`), across block boundaries, with a gap in the ticker's rows."""
    gappy = real_bars[~((real_bars["ticker"] == "MSFT") & (real_bars["date"].astype(str) < "2017"))]
    gappy = gappy[~((gappy["ticker"] == "MSFT") & (gappy["date"] == dt.date(2019, 3, 1)))]
    empty_store.upsert_bars(gappy, "test")
    for ticker in ("AAPL", "MSFT"):
        points = service.history(ticker).points
        assert len(points) > 600  # several blocks of 256 rows
        for p in points[::97] + points[-3:]:
            assert p.percentile_rank == service.score(ticker, p.date).percentile_rank, p.date
