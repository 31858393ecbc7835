"""The shipped offline sample: what it holds, that it reads fast, and that it rebuilds exactly."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pandas as pd
import pytest

from backend.market_data import sample
from backend.market_data.bars import BAR_COLUMNS
from backend.market_data.providers.csv_file import read_price_file
from backend.market_data.sample import (
    SAMPLE_CONSTITUENTS,
    SAMPLE_DIR,
    SAMPLE_PRICES,
    SAMPLE_SOURCE,
    SampleBuildError,
    build_sample,
    read_sample_securities,
)
from tests.support.real_prices import NEEDS_SHARED, SHARED_DATA, SHARED_PRICES

pytestmark = pytest.mark.unit

needs_shared = pytest.mark.skipif(
    not SHARED_PRICES.is_file(),
    reason=f"rebuilding the sample {NEEDS_SHARED}: {SHARED_PRICES} not found",
)

FIRST, LAST = dt.date(2019, 4, 1), dt.date(2021, 4, 21)
# Real later listings/spin-offs in the source (first bar after the window opens).
LATE_STARTS = {
    "AMCR": dt.date(2019, 6, 11),
    "CARR": dt.date(2020, 3, 19),
    "CTVA": dt.date(2019, 5, 24),
    "OTIS": dt.date(2020, 3, 19),
    "VTRS": dt.date(2020, 11, 16),
}


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return read_price_file(SAMPLE_PRICES)


def test_the_sample_files_are_shipped() -> None:
    assert SAMPLE_SOURCE == "sample"
    assert SAMPLE_PRICES.parent == SAMPLE_DIR == SAMPLE_CONSTITUENTS.parent
    for name in ("prices.csv.gz", "constituents.csv", "PROVENANCE.md"):
        assert (SAMPLE_DIR / name).is_file(), name
    size = SAMPLE_PRICES.stat().st_size
    assert 1_000_000 < size < 10_000_000, f"{size:,} bytes"
    with SAMPLE_PRICES.open("rb") as handle:
        assert handle.read(2) == b"\x1f\x8b"


def test_the_sample_reads_well_under_five_seconds() -> None:
    # CPU time, not wall time: on a loaded machine the wall clock measures the neighbours.
    started = time.process_time()
    frame = read_price_file(SAMPLE_PRICES)
    elapsed = time.process_time() - started
    assert len(frame) == 261_105
    assert elapsed < 5.0, f"reading the sample took {elapsed:.1f} s of CPU"


def test_505_tickers_including_spy_over_the_window(bars: pd.DataFrame) -> None:
    assert list(bars.columns) == BAR_COLUMNS
    tickers = set(bars["ticker"])
    assert len(tickers) == 505 and "SPY" in tickers and "AAPL" in tickers
    assert bars["date"].min() == FIRST and bars["date"].max() == LAST


def test_every_ticker_has_two_years_except_real_short_histories(bars: pd.DataFrame) -> None:
    spans = bars.groupby("ticker")["date"].agg(["min", "max", "count"])
    short = spans[(spans["max"] - spans["min"]).map(lambda d: d.days) < 730]
    assert set(short.index) == set(LATE_STARTS)
    for ticker, first in LATE_STARTS.items():
        assert spans.loc[ticker, "min"] == first
        assert spans.loc[ticker, "max"] == LAST
    longer = spans.drop(index=list(LATE_STARTS))
    assert (longer["count"] >= 500).all()


def test_aapl_split_and_msft_dividend_are_in_the_sample(bars: pd.DataFrame) -> None:
    aapl = bars[bars["ticker"] == "AAPL"]
    split_day = aapl["date"] == dt.date(2020, 8, 31)
    assert aapl[split_day]["split"].tolist() == [4.0]
    assert aapl[split_day]["close"].tolist() == [129.04]
    assert (aapl[~split_day]["split"] == 1.0).all()
    msft = bars[bars["ticker"] == "MSFT"]
    assert msft[msft["dividend"] > 0]["date"].tolist() == [
        dt.date(2019, 5, 15),
        dt.date(2019, 8, 14),
        dt.date(2019, 11, 20),
        dt.date(2020, 2, 19),
        dt.date(2020, 5, 20),
        dt.date(2020, 8, 19),
        dt.date(2020, 11, 18),
        dt.date(2021, 2, 17),
    ]
    assert msft[msft["date"] == dt.date(2020, 8, 19)]["dividend"].tolist() == [0.51]


def test_spy_has_only_its_adjusted_close(bars: pd.DataFrame) -> None:
    spy = bars[bars["ticker"] == "SPY"]
    assert len(spy) == 519
    assert spy.iloc[0]["date"] == FIRST and spy.iloc[0]["adj_close"] == 262.0999755859375
    assert spy["adj_close"].notna().all()
    assert spy[["open", "high", "low", "close", "volume"]].isna().all().all()
    # The SPY file records no dividends or splits: read as "none recorded".
    assert (spy["dividend"] == 0.0).all() and (spy["split"] == 1.0).all()
    # Same trading days as the stocks.
    assert set(spy["date"]) == set(bars[bars["ticker"] == "AAPL"]["date"])


def test_securities_are_the_constituents_plus_spy(bars: pd.DataFrame) -> None:
    securities = read_sample_securities()
    assert list(securities.columns) == ["ticker", "name", "sector"]
    assert len(securities) == 506 and securities["ticker"].is_unique
    spy = securities[securities["ticker"] == "SPY"].iloc[0]
    assert (spy["name"], spy["sector"]) == ("SPDR S&P 500 ETF Trust", "ETF")
    aapl = securities[securities["ticker"] == "AAPL"].iloc[0]
    assert (aapl["name"], aapl["sector"]) == ("Apple Inc.", "Information Technology")
    # Every priced ticker is named; BF.B is listed although the source has no prices for it.
    assert set(bars["ticker"]) - set(securities["ticker"]) == set()
    assert set(securities["ticker"]) - set(bars["ticker"]) == {"BF.B"}


def test_a_bad_constituents_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "constituents.csv"
    path.write_text("Symbol,Name\nAAPL,Apple Inc.\n")
    with pytest.raises(ValueError, match="expected the columns"):
        read_sample_securities(path)
    path.write_text("Symbol,Name,Sector\nAA PL,Apple Inc.,Information Technology\n")
    with pytest.raises(ValueError, match="line 2: bad constituent 'AA PL'"):
        read_sample_securities(path)


def test_provenance_says_what_was_cut_and_how() -> None:
    text = (SAMPLE_DIR / "PROVENANCE.md").read_text()
    assert "python -m backend.market_data.sample build --shared" in text
    assert "260,586 rows, 504 tickers, 2019-04-01 to 2021-04-21" in text
    assert "Pooksoft/PooksoftSP500EquityPriceDataSet" in text
    assert "robertmartin8/PyPortfolioOpt" in text
    assert "AMCR, CARR, CTVA, OTIS, VTRS" in text
    assert "(`../shared/data`)" in text  # relative to the repository, no machine's path


@needs_shared
def test_rebuilding_from_the_shared_data_gives_the_same_files(tmp_path: Path) -> None:
    shipped = (SAMPLE_DIR / "PROVENANCE.md").read_text(encoding="utf-8")
    command = "python -m backend.market_data.sample build --shared ../shared/data"
    summary = build_sample(SHARED_DATA, tmp_path, command=command)
    assert (tmp_path / "PROVENANCE.md").read_text(encoding="utf-8") == shipped
    assert summary["rows"] == 261_105 and summary["tickers"] == 505
    assert (tmp_path / "prices.csv.gz").read_bytes() == SAMPLE_PRICES.read_bytes()
    assert (tmp_path / "constituents.csv").read_bytes() == SAMPLE_CONSTITUENTS.read_bytes()
    assert (SHARED_DATA / "sp500_constituents.csv").read_bytes() == SAMPLE_CONSTITUENTS.read_bytes()


def test_build_refuses_missing_inputs_and_bad_start(tmp_path: Path) -> None:
    with pytest.raises(SampleBuildError, match="missing shared data file"):
        build_sample(tmp_path / "nowhere", tmp_path / "out")
    with pytest.raises(SampleBuildError, match="'2019-13-01' is not a YYYY-MM-DD date"):
        build_sample(tmp_path, tmp_path / "out", start="2019-13-01")


def test_command_line_reports_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = sample.main(["build", "--shared", str(tmp_path), "--out", str(tmp_path / "out")])
    assert code == 1
    assert "error: missing shared data file" in capsys.readouterr().err
