"""The scale data generator (bench/scale_data.py) on a tiny source: three real tickers of the
tests' slice (AAPL with its 2020 split, TSLA, and CARR, listed in 2020)."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest

from backend.market_data.bars import BAR_COLUMNS
from backend.market_data.providers.csv_file import read_price_file
from backend.reference.tickers import normalize_ticker
from bench import scale_data
from tests.support.real_prices import SLICE_PRICES

pytestmark = pytest.mark.unit

BASES = ["AAPL", "CARR", "TSLA"]
YEARS = 12  # 2009-04-21 -> 2021-04-21: the file and two copies back in time


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("shared")
    bars = pd.read_csv(SLICE_PRICES, dtype={"date": str, "ticker": str})
    bars = bars[bars["ticker"].isin(BASES)]
    with gzip.open(directory / scale_data.SOURCE_FILE, "wt", newline="") as out:
        bars.to_csv(out, index=False)
    return directory


@pytest.fixture(scope="module")
def source(source_dir: Path) -> pd.DataFrame:
    return scale_data.load_source(source_dir)


@pytest.fixture(scope="module")
def generated(source_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("scale") / "scale.csv.gz"
    plan, paths, bars = scale_data.generate(out, securities=7, years=YEARS, shared=source_dir)
    assert paths == [out]
    frame = read_price_file(out)  # what `import-prices` reads
    assert len(frame) == bars
    return frame


def _closes(frame: pd.DataFrame, ticker: str, column: str = "adj_close") -> pd.Series:
    rows = frame[frame["ticker"] == ticker]
    return pd.Series(rows[column].to_numpy(), index=pd.to_datetime(rows["date"]))


def test_tickers_are_valid_unique_copies_in_source_order(generated: pd.DataFrame) -> None:
    tickers = sorted(generated["ticker"].unique())
    expected = ["AAPL.X0", "CARR.X0", "TSLA.X0", "AAPL.X1", "CARR.X1", "TSLA.X1", "AAPL.X2"]
    assert tickers == sorted(expected)
    assert all(normalize_ticker(t) == t for t in tickers)
    assert list(generated.columns) == BAR_COLUMNS


def test_row_counts(source: pd.DataFrame, generated: pd.DataFrame) -> None:
    first = dt.date(2009, 4, 21)  # a Tuesday session: 12 years before the last date
    calendar = xcals.get_calendar("XNYS", start="2009-01-01", end="2021-04-30")
    span = calendar.sessions_in_range("2009-04-21", "2021-04-21")
    aapl = _closes(generated, "AAPL.X0")
    assert aapl.index[0].date() == first and len(aapl) == len(span)  # every session once
    carr = source[source["ticker"] == "CARR"]
    assert len(_closes(generated, "CARR.X1")) == len(carr)  # listed 2020: no copies back
    counts = generated["ticker"].value_counts()
    assert counts["AAPL.X2"] == counts["AAPL.X0"] == counts["AAPL.X1"]


def test_dates_are_sessions_strictly_increasing(generated: pd.DataFrame) -> None:
    calendar = xcals.get_calendar("XNYS", start="2009-01-01", end="2021-04-30")
    for ticker in ("AAPL.X0", "TSLA.X1"):
        days = _closes(generated, ticker).index
        assert days.is_monotonic_increasing and days.is_unique
        assert days.isin(calendar.sessions).all()


def test_seams_are_continuous_and_copies_keep_the_source_returns(
    source: pd.DataFrame, generated: pd.DataFrame
) -> None:
    for column in ("adj_close", "close"):
        real = _closes(source.assign(date=source["date"].dt.date), "AAPL", column)
        out = _closes(generated, "AAPL.X1", column)
        seam_return = real[pd.Timestamp("2021-01-04")] / real[pd.Timestamp("2020-12-31")]
        first = out.index.get_loc(pd.Timestamp("2016-01-04"))
        unit = 1259  # sessions of 2016-2020
        for seam in (first, first - unit):  # the two seams before 2016
            assert out.iloc[seam] / out.iloc[seam - 1] == pytest.approx(seam_return, rel=1e-12)
        # inside a copy, every day's return is the source's on the matching day
        copy = out.iloc[first - unit : first].to_numpy()
        original = real[: pd.Timestamp("2020-12-31")].to_numpy()
        assert len(copy) == len(original) == unit
        np.testing.assert_allclose(copy[1:] / copy[:-1], original[1:] / original[:-1], rtol=1e-12)
        # the file itself is copied unchanged
        np.testing.assert_array_equal(out.iloc[first:].to_numpy(), real.to_numpy())


def test_splits_and_volumes_are_kept(source: pd.DataFrame, generated: pd.DataFrame) -> None:
    aapl = generated[generated["ticker"] == "AAPL.X0"].set_index("date")
    splits = aapl[aapl["split"] != 1.0]["split"]
    # AAPL's 4-for-1 of 2020-08-31 recurs in each copy, 1,259 sessions earlier each time
    assert dt.date(2020, 8, 31) in splits.index and (splits == 4.0).all() and len(splits) == 3
    real_volume = source[source["ticker"] == "AAPL"]["volume"].to_numpy()
    assert (aapl["volume"].to_numpy()[-len(real_volume) :] == real_volume).all()


def test_same_arguments_same_bytes(source_dir: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv.gz", tmp_path / "b.csv.gz"
    scale_data.generate(a, securities=4, years=7, shared=source_dir)
    scale_data.generate(b, securities=4, years=7, shared=source_dir)
    assert a.read_bytes() == b.read_bytes()


def test_per_file_splits_the_securities(source_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "scale.csv.gz"
    _, paths, bars = scale_data.generate(out, securities=5, years=6, per_file=2, shared=source_dir)
    assert [p.name for p in paths] == ["scale-001.csv.gz", "scale-002.csv.gz", "scale-003.csv.gz"]
    frames = [read_price_file(p) for p in paths]
    assert [f["ticker"].nunique() for f in frames] == [2, 2, 1]
    assert sum(len(f) for f in frames) == bars


def test_a_large_set_is_split_into_files_the_importer_reads() -> None:
    # 30 M bars x 150 bytes = 4.5 GB: three files of at most 2 GiB, 1,667 securities each
    assert scale_data.importable_per_file(30_000_000, 5000) == 1667
    assert scale_data.importable_per_file(1_000_000, 200) == 200  # 150 MB: one file
