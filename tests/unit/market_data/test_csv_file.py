"""read_price_file: both layouts, gzip, defaults, and one specific error per broken rule."""

from __future__ import annotations

import datetime as dt
import gzip
import math
import time
from pathlib import Path

import pytest

from backend.errors import InvalidInput, PriceFileError
from backend.market_data.bars import BAR_COLUMNS
from backend.market_data.providers import csv_file
from backend.market_data.providers.csv_file import read_price_file
from tests.support.real_prices import NEEDS_SHARED, SHARED_PRICES

pytestmark = pytest.mark.unit


LONG_HEADER = "date,ticker,open,high,low,close,adj_close,volume,dividend,split"
# Real rows from ../shared/data/sp500_daily_2016_2021.csv.gz (AAPL's 4-for-1 split).
AAPL_0828 = "2020-08-28,AAPL,504.05,505.77,498.31,499.23,124.405824223,46907479,0.0,1.0"
AAPL_0831 = "2020-08-31,AAPL,127.58,131.0,126.0,129.04,128.624702503,223505733,0.0,4.0"
MSFT_0819 = "2020-08-19,MSFT,211.49,212.1,209.25,209.7,208.666618477,27627561,0.51,1.0"
# Ten consecutive real AAPL rows (2020-08-17 .. 2020-08-28), for tests that span chunks.
AAPL_AUGUST = [
    "2020-08-17,AAPL,464.25,464.35,455.8501,458.43,114.23865152,29431414,0.0,1.0",
    "2020-08-18,AAPL,457.41,464.0,456.03,462.25,115.190577984,26408385,0.0,1.0",
    "2020-08-19,AAPL,463.933,468.65,462.44,462.83,115.335111321,36384502,0.0,1.0",
    "2020-08-20,AAPL,463.0,473.568,462.9335,473.1,117.894348176,31726797,0.0,1.0",
    "2020-08-21,AAPL,477.05,499.472,477.0,497.48,123.969732256,84513660,0.0,1.0",
    "2020-08-24,AAPL,514.79,515.14,495.745,503.43,125.452444942,86484442,0.0,1.0",
    "2020-08-25,AAPL,498.79,500.7172,492.21,499.3,124.423267901,52873947,0.0,1.0",
    "2020-08-26,AAPL,504.7165,507.97,500.33,506.09,126.115304731,40755567,0.0,1.0",
    "2020-08-27,AAPL,508.57,509.94,495.33,500.04,124.607672504,38888096,0.0,1.0",
    AAPL_0828,
]
# The same AAPL days as Yahoo's download layout would carry them (values from the shared file).
YAHOO_HEADER = "Date,Open,High,Low,Close,Adj Close,Volume"
YAHOO_0828 = "2020-08-28,504.05,505.77,498.31,499.23,124.405824223,46907479"
YAHOO_0831 = "2020-08-31,127.58,131.0,126.0,129.04,128.624702503,223505733"


def write(tmp_path: Path, *lines: str, name: str = "prices.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def error_of(path: Path, **kwargs: object) -> PriceFileError:
    with pytest.raises(PriceFileError) as info:
        read_price_file(path, **kwargs)  # type: ignore[arg-type]
    return info.value


# --- the happy paths -------------------------------------------------------------------------


def test_long_format_gives_canonical_bars_sorted_by_ticker_then_date(tmp_path: Path) -> None:
    path = write(tmp_path, LONG_HEADER, MSFT_0819, AAPL_0831, AAPL_0828)
    bars = read_price_file(path)

    assert list(bars.columns) == BAR_COLUMNS
    assert list(zip(bars["ticker"], bars["date"])) == [
        ("AAPL", dt.date(2020, 8, 28)),
        ("AAPL", dt.date(2020, 8, 31)),
        ("MSFT", dt.date(2020, 8, 19)),
    ]
    assert all(type(d) is dt.date for d in bars["date"])
    assert bars["ticker"].dtype == object and bars["date"].dtype == object
    split_day = bars.iloc[1]
    assert split_day["close"] == 129.04 and split_day["adj_close"] == 128.624702503
    assert split_day["split"] == 4.0 and split_day["volume"] == 223505733
    assert bars.iloc[2]["dividend"] == 0.51
    assert list(bars.index) == [0, 1, 2]


def test_tickers_are_upper_cased_and_dates_may_have_spaces(tmp_path: Path) -> None:
    path = write(
        tmp_path, "date,ticker,close", " 2020-08-28 ,aapl,499.23", "2020-08-28,brk.b,218.55"
    )
    bars = read_price_file(path)
    assert list(bars["ticker"]) == ["AAPL", "BRK.B"]
    assert list(bars["date"]) == [dt.date(2020, 8, 28)] * 2


def test_gzip_is_detected_by_magic_bytes_whatever_the_name(tmp_path: Path) -> None:
    text = "\n".join([LONG_HEADER, AAPL_0828, AAPL_0831]) + "\n"
    plain_name = tmp_path / "prices.csv"
    plain_name.write_bytes(gzip.compress(text.encode()))
    gz_name = tmp_path / "prices.csv.gz"
    gz_name.write_bytes(gzip.compress(text.encode()))
    for path in (plain_name, gz_name):
        bars = read_price_file(path)
        assert list(bars["split"]) == [1.0, 4.0]


def test_gz_name_without_gzip_content_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, LONG_HEADER, AAPL_0828, name="prices.csv.gz")
    err = error_of(path)
    assert "not gzip-compressed" in err.reason and err.line is None


def test_truncated_gzip_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv.gz"
    path.write_bytes(gzip.compress(("\n".join([LONG_HEADER, AAPL_0828]) + "\n").encode())[:30])
    assert "corrupt or truncated" in error_of(path).reason


def test_only_adj_close_given(tmp_path: Path) -> None:
    bars = read_price_file(
        write(tmp_path, "date,ticker,adj_close", "2020-08-28,AAPL,124.405824223")
    )
    row = bars.iloc[0]
    assert row["adj_close"] == 124.405824223
    for column in ("open", "high", "low", "close", "volume"):
        assert math.isnan(row[column])
    assert row["dividend"] == 0.0 and row["split"] == 1.0


def test_without_adj_close_the_close_is_the_adjusted_close(tmp_path: Path) -> None:
    bars = read_price_file(write(tmp_path, "date,ticker,close", "2020-08-28,AAPL,499.23"))
    assert bars.iloc[0]["adj_close"] == 499.23


def test_empty_cells_mean_missing_prices_and_no_dividend_or_split(tmp_path: Path) -> None:
    # The shape of the SPY rows in the shipped sample: only the adjusted close is known.
    bars = read_price_file(write(tmp_path, LONG_HEADER, "2019-04-01,SPY,,,,,262.0999755859375,,,"))
    row = bars.iloc[0]
    assert (
        row["adj_close"] == 262.0999755859375
        and math.isnan(row["close"])
        and math.isnan(row["volume"])
    )
    assert row["dividend"] == 0.0 and row["split"] == 1.0


def test_an_empty_adj_close_cell_is_not_filled_from_close(tmp_path: Path) -> None:
    # Not filled (nothing is made up), and not let through: the store needs it (NOT NULL).
    err = error_of(write(tmp_path, "date,ticker,close,adj_close", "2020-08-28,AAPL,499.23,"))
    assert err.line == 2 and err.reason.startswith("column 'adj_close' is empty: the adjusted")


def test_header_is_case_insensitive_and_columns_may_come_in_any_order(tmp_path: Path) -> None:
    bars = read_price_file(write(tmp_path, "Ticker,CLOSE,Date", "AAPL,499.23,2020-08-28"))
    assert bars.iloc[0]["close"] == 499.23 and bars.iloc[0]["date"] == dt.date(2020, 8, 28)


def test_ticker_argument_filters_a_long_file(tmp_path: Path) -> None:
    path = write(tmp_path, LONG_HEADER, AAPL_0828, MSFT_0819, AAPL_0831)
    bars = read_price_file(path, ticker="msft")
    assert list(bars["ticker"]) == ["MSFT"] and bars.iloc[0]["dividend"] == 0.51


def test_ticker_argument_with_no_rows_is_an_error(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, LONG_HEADER, AAPL_0828), ticker="TSLA")
    assert err.reason == "no rows for ticker TSLA; the file holds AAPL"


def test_the_whole_file_is_validated_even_when_filtering(tmp_path: Path) -> None:
    bad_msft = MSFT_0819.replace("209.7", "abc")
    err = error_of(write(tmp_path, LONG_HEADER, AAPL_0828, bad_msft), ticker="AAPL")
    assert err.line == 3 and "'abc' is not a number" in err.reason


def test_malformed_ticker_argument_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="'AA PL' is malformed"):
        read_price_file(write(tmp_path, LONG_HEADER, AAPL_0828), ticker="AA PL")


def test_yahoo_format_needs_and_uses_the_ticker_argument(tmp_path: Path) -> None:
    path = write(tmp_path, YAHOO_HEADER, YAHOO_0831, YAHOO_0828)
    bars = read_price_file(path, ticker="aapl")
    assert list(bars.columns) == BAR_COLUMNS
    assert list(bars["ticker"]) == ["AAPL", "AAPL"]
    assert list(bars["date"]) == [dt.date(2020, 8, 28), dt.date(2020, 8, 31)]
    assert list(bars["close"]) == [499.23, 129.04]
    assert list(bars["adj_close"]) == [124.405824223, 128.624702503]
    assert list(bars["volume"]) == [46907479, 223505733]
    # Yahoo's download layout carries no dividends or splits.
    assert list(bars["dividend"]) == [0.0, 0.0] and list(bars["split"]) == [1.0, 1.0]

    err = error_of(path)
    assert "Yahoo-format" in err.reason and "ticker" in err.reason
    # A header of only Date and Close is read as Yahoo's layout too.
    assert "Yahoo-format" in error_of(write(tmp_path, "date,close", "2020-08-28,499.23")).reason


def test_yahoo_errors_use_the_files_own_column_names(tmp_path: Path) -> None:
    path = write(tmp_path, YAHOO_HEADER, YAHOO_0828.replace("124.405824223", "-1"))
    err = error_of(path, ticker="AAPL")
    assert err.line == 2 and err.reason.startswith("column 'Adj Close': -1 ")


def test_crlf_line_endings_bom_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    text = "\r\n".join([LONG_HEADER, AAPL_0828, "", AAPL_0831, "", ""])
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    bars = read_price_file(path)
    assert list(bars["split"]) == [1.0, 4.0]


def test_blank_lines_do_not_shift_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, LONG_HEADER, AAPL_0828, "", "", AAPL_0831.replace("127.58", "x"))
    assert error_of(path).line == 5


def test_quoted_fields_are_read(tmp_path: Path) -> None:
    bars = read_price_file(write(tmp_path, "date,ticker,close", '"2020-08-28","AAPL","499.23"'))
    assert bars.iloc[0]["close"] == 499.23


def test_progress_reports_lines_parsed_per_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_file, "CHUNK_ROWS", 2)
    calls: list[tuple[int, int]] = []
    bars = read_price_file(
        write(tmp_path, LONG_HEADER, *AAPL_AUGUST[:5]), progress=lambda d, t: calls.append((d, t))
    )
    assert len(bars) == 5
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_errors_are_found_in_later_chunks_with_the_right_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_file, "CHUNK_ROWS", 3)
    rows = list(AAPL_AUGUST)
    rows[7] = rows[7].replace(",506.09,", ",0,")
    err = error_of(write(tmp_path, LONG_HEADER, *rows))
    assert err.line == 9
    assert err.reason == "column 'close': 0 is not a valid price; it must be greater than 0"


def test_duplicates_across_chunks_name_both_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_file, "CHUNK_ROWS", 2)
    path = write(tmp_path, LONG_HEADER, AAPL_0828, MSFT_0819, AAPL_0831, AAPL_0828)
    err = error_of(path)
    assert err.line == 5
    assert err.reason == "duplicate row: AAPL on 2020-08-28 is already on line 2"


def test_the_earliest_problem_wins_between_a_duplicate_and_a_bad_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_file, "CHUNK_ROWS", 2)
    bad = MSFT_0819.replace("0.51", "-0.51")
    dup_first = write(tmp_path, LONG_HEADER, AAPL_0828, AAPL_0831, AAPL_0828, bad)
    assert error_of(dup_first).line == 4
    bad_first = write(tmp_path, LONG_HEADER, AAPL_0828, bad, AAPL_0828, name="b.csv")
    err = error_of(bad_first)
    assert (
        err.line == 3 and err.reason == "column 'dividend': -0.51 is negative; it must be 0 or more"
    )


def test_a_structural_error_is_reported_after_earlier_bad_values(tmp_path: Path) -> None:
    path = write(tmp_path, LONG_HEADER, AAPL_0828.replace("2020-08-28", "2020-13-01"), "x,y")
    assert error_of(path).line == 2
    path = write(tmp_path, LONG_HEADER, AAPL_0828, "2020-08-31,AAPL,1", name="b.csv")
    err = error_of(path)
    assert err.line == 3 and err.reason == "expected 10 fields as in the header, found 3"


@pytest.mark.skipif(
    not SHARED_PRICES.is_file(), reason=f"{NEEDS_SHARED}: {SHARED_PRICES} not found"
)
def test_the_full_shared_file_reads_fast_and_whole() -> None:
    # CPU time, not wall time: on a loaded machine the wall clock measures the neighbours.
    started = time.process_time()
    bars = read_price_file(SHARED_PRICES)
    elapsed = time.process_time() - started
    assert len(bars) == 662_162 and bars["ticker"].nunique() == 504
    assert elapsed < 5.0, f"reading took {elapsed:.1f} s of CPU"
    tsla = bars[(bars["ticker"] == "TSLA") & (bars["date"] == dt.date(2020, 8, 31))]
    assert tsla["split"].tolist() == [5.0]


# --- one specific error per rule -------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (
            AAPL_0828.replace("2020-08-28", "2020/08/28"),
            "column 'date': '2020/08/28' is not a date in YYYY-MM-DD form",
        ),
        (
            AAPL_0828.replace("2020-08-28", "2021-02-30"),
            "column 'date': '2021-02-30' is not a real calendar date",
        ),
        (AAPL_0828.replace("2020-08-28", ""), "column 'date' is empty"),
        (
            AAPL_0828.replace("AAPL", "AA PL"),
            "column 'ticker': 'AA PL' is not a valid ticker "
            "(1 to 15 characters from A-Z, 0-9, '.', '-', '^', '=')",
        ),
        (AAPL_0828.replace("AAPL", ""), "column 'ticker' is empty"),
        (AAPL_0828.replace("505.77", "5o5.77"), "column 'high': '5o5.77' is not a number"),
        (AAPL_0828.replace("505.77", "NaN"), "column 'high': 'NaN' is not a number"),
        (AAPL_0828.replace("505.77", "inf"), "column 'high': 'inf' is not a finite number"),
        (
            AAPL_0828.replace("504.05", "-504.05"),
            "column 'open': -504.05 is not a valid price; it must be greater than 0",
        ),
        (
            AAPL_0828.replace("498.31", "0"),
            "column 'low': 0 is not a valid price; it must be greater than 0",
        ),
        (
            AAPL_0828.replace("46907479", "-5"),
            "column 'volume': -5 is negative; it must be 0 or more",
        ),
        (
            AAPL_0828.replace("0.0,1.0", "-0.2,1.0"),
            "column 'dividend': -0.2 is negative; it must be 0 or more",
        ),
        (
            AAPL_0828.replace("0.0,1.0", "0.0,0"),
            "column 'split': 0 is not a valid split coefficient; it must be greater than 0",
        ),
        (
            AAPL_0828.replace("499.23,124.405824223", ","),
            "'close' and 'adj_close' are both empty: a row needs a close or an adjusted close",
        ),
        (AAPL_0828 + ",7", "expected 10 fields as in the header, found 11"),
        (AAPL_0828.rsplit(",", 2)[0], "expected 10 fields as in the header, found 8"),
        (AAPL_0828.replace("AAPL", '"AAPL'), "unbalanced double quote"),
    ],
)
def test_bad_row_is_reported_with_its_line_and_rule(tmp_path: Path, row: str, reason: str) -> None:
    path = write(tmp_path, LONG_HEADER, AAPL_0831, row, MSFT_0819)
    err = error_of(path)
    assert err.line == 3
    assert err.reason.startswith(reason)
    assert err.details["path"] == str(path) and err.details["line"] == 3
    assert err.message.startswith("line 3: ")


def test_a_column_of_only_true_false_is_not_read_as_numbers(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, "date,ticker,close,split", "2020-08-28,AAPL,499.23,TRUE"))
    assert err.line == 2 and err.reason == "column 'split': 'TRUE' is not a number"


def test_only_close_present_and_empty(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, "date,ticker,close", "2020-08-28,AAPL,"))
    assert err.reason == "'close' is empty: a row needs a close or an adjusted close"


def test_duplicate_in_a_yahoo_file(tmp_path: Path) -> None:
    path = write(tmp_path, YAHOO_HEADER, YAHOO_0828, YAHOO_0831, YAHOO_0828)
    err = error_of(path, ticker="AAPL")
    assert err.line == 4 and err.reason == "duplicate row: AAPL on 2020-08-28 is already on line 2"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes((LONG_HEADER + "\n" + AAPL_0828 + "\n").encode() + b"2020-08-31,\xff\n")
    err = error_of(path)
    assert err.line == 3 and "not UTF-8" in err.reason


@pytest.mark.parametrize(
    "breaks",
    [["\r", "\r", "\r"], ["\n", "\r", "\r\n"], ["\r\n", "\r", "\n"], ["\r\n", "\r\n", "\r"]],
)
def test_every_line_ending_style_and_mixes_of_them_import_whole(
    tmp_path: Path, breaks: list[str]
) -> None:
    path = tmp_path / "prices.csv"
    lines = [LONG_HEADER, AAPL_0828, AAPL_0831, MSFT_0819]
    path.write_bytes("".join(line + end for line, end in zip(lines, breaks + [""])).encode())
    bars = read_price_file(path)
    assert list(bars["ticker"]) == ["AAPL", "AAPL", "MSFT"]
    assert list(bars["split"]) == [1.0, 4.0, 1.0]


def test_a_lone_carriage_return_counts_as_a_line_for_the_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes(f"{LONG_HEADER}\r{AAPL_0828}\r\n{AAPL_0831}\rbad,AAPL,1\n".encode())
    err = error_of(path)
    assert err.line == 4 and err.reason.startswith("expected 10 fields")


@pytest.mark.parametrize(
    ("data", "line", "reason"),
    [
        (f"{LONG_HEADER}\n2020-08-28,AA\x00PL,1,1,1,1,1,1,0,1\n".encode(), 2, "U+0000) in field 2"),
        (
            f"{LONG_HEADER}\n{AAPL_0828}\n2020-08-31,AAPL,1,1,1,1,1\x1b[31m,1,0,1\n".encode(),
            3,
            "U+001B) in field 7",
        ),
        ("date,tic\x7fker,close\n".encode(), 1, "(U+007F);"),
        (f"{LONG_HEADER}\n2020-08-28,AAPL,1,1,1,1,1,1,0,1\u0085\n".encode(), 2, "(U+0085) in"),
        (f"{LONG_HEADER}\n{AAPL_0828}\t\n".encode(), 2, "(U+0009) in field 10"),
    ],
)
def test_control_characters_are_refused_with_line_and_field(
    tmp_path: Path, data: bytes, line: int, reason: str
) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes(data)
    err = error_of(path)
    assert err.line == line and reason in err.reason, err.reason
    assert "no control characters" in err.reason


def test_an_over_long_line_is_refused_with_its_line(tmp_path: Path) -> None:
    long_field = "9" * 200_000  # past the csv module's own field limit (131072)
    err = error_of(
        write(tmp_path, LONG_HEADER, AAPL_0828, f"2020-08-31,AAPL,{long_field},1,1,1,1,1,0,1")
    )
    assert err.line == 3 and err.reason.startswith("the line is 200030 bytes long;")
    err = error_of(write(tmp_path, "date,ticker,close," + "x" * 5000, AAPL_0828))
    assert err.line == 1 and "at most 4096" in err.reason


def test_utf16_is_named(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes(f"{LONG_HEADER}\n{AAPL_0828}\n".encode("utf-16"))
    err = error_of(path)
    assert err.line == 1 and err.reason == "the file is UTF-16 text; save it as UTF-8"


def test_latin1_text_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes(
        f"{LONG_HEADER}\n{AAPL_0828}\n2020-08-31,CAFÉ,1,1,1,1,1,1,0,1\n".encode("latin-1")
    )
    err = error_of(path)
    assert err.line == 3 and "not UTF-8 text (byte 0xc9" in err.reason


def test_a_volume_past_the_stores_integer_is_refused(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, LONG_HEADER, "2020-08-28,AAPL,1,1,1,1,1,1e19,0,1"))
    assert err.line == 2 and "larger than the largest volume stored" in err.reason


def test_a_gzip_bomb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_file, "MAX_DECOMPRESSED_BYTES", 10_000)
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress((LONG_HEADER + "\n").encode() + b"\n" * 50_000))
    assert error_of(path).reason == "the file decompresses to more than 10000 bytes"


def test_a_gzip_of_several_members_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "two.csv.gz"
    first = gzip.compress(f"{LONG_HEADER}\n{AAPL_0828}\n".encode())
    path.write_bytes(first + gzip.compress(f"{AAPL_0831}\n".encode()))
    assert len(read_price_file(path)) == 2


# --- whole-file errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("date,adj_close", "missing required column 'ticker'"),
        ("date,close,split", "missing required column 'ticker'"),
        ("ticker,close", "missing required column 'date'"),
        ("date,ticker,open", "missing required column: 'adj_close' or 'close'"),
        ("Date,Open,Volume", "missing required column: 'Adj Close' or 'Close'"),
        ("date,ticker,close,price", "unknown column 'price' for the long format"),
        ("date,ticker,close,Close", "column 'Close' appears twice"),
        ("date,ticker,,close", "header column 3 has no name"),
        ("symbol,day,price", "unrecognised header 'symbol,day,price'"),
    ],
)
def test_bad_header_is_line_1(tmp_path: Path, header: str, reason: str) -> None:
    err = error_of(write(tmp_path, header, "2020-08-28,AAPL,499.23"))
    assert err.line == 1 and err.reason.startswith(reason)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert error_of(path).reason == "the file is empty"
    path.write_bytes(b"\n \n")
    assert error_of(path).reason == "the file is empty"
    gz = tmp_path / "empty.csv.gz"
    gz.write_bytes(gzip.compress(b""))
    assert error_of(gz).reason == "the file is empty"


def test_header_without_rows(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, LONG_HEADER, ""))
    assert err.reason == "the file has a header but no data rows" and err.line is None


def test_missing_file(tmp_path: Path) -> None:
    err = error_of(tmp_path / "nope.csv")
    assert err.reason == "no such file" and err.details["path"] == str(tmp_path / "nope.csv")


def test_number_like_tickers_and_dates_keep_their_text(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, "date,ticker,close", "20200828,1E3,499.23"))
    assert err.reason == "column 'date': '20200828' is not a date in YYYY-MM-DD form"
    bars = read_price_file(write(tmp_path, "date,ticker,close", "2020-08-28,1E3,499.23"))
    assert list(bars["ticker"]) == ["1E3"]
