"""The options file readers on the real recorded files, and their refusals of bad input with the
line and the reason (all or nothing)."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

from backend.options.errors import OptionFileError, OptionInputError
from backend.options.lean import (
    CHAIN_COLUMNS,
    CHAIN_HEADER,
    QUOTE_COLUMNS,
    read_lean_chain,
    read_lean_equity_daily,
    read_lean_quotes,
)
from backend.options.vix import VIX_COLUMNS, read_vix_daily
from backend.options.yahoo import CONTRACT_COLUMNS, read_yahoo_options
from tests.unit.options.data import (
    GOOG_DAILY,
    GOOG_DIR,
    GOOG_QUOTES,
    VIX,
    YAHOO_AAPL,
    goog_chain,
    goog_quotes,
    vix_closes,
    yahoo_aapl,
)

pytestmark = pytest.mark.unit

DAY = dt.date(2015, 12, 23)
UNDERLYING = ",,,749.5500,749.9900,748.5400,748.5400,11492,,,,,,,"
CONTRACT = "20160115,750,C,15.4000,15.4000,11.9000,13.7000,345,889,0.2,0.5,0.01,0.9,-0.1,0.4"


def chain_bytes(*rows: str, header: str = CHAIN_HEADER, ending: str = "\n") -> bytes:
    return ending.join([header, *rows]).encode() + ending.encode()


def refusal(call: object) -> OptionFileError:
    with pytest.raises(OptionFileError) as info:
        call()  # type: ignore[operator]
    return info.value


# --------------------------------------------------------------------------- Lean chains


def test_every_shipped_goog_chain_is_read_whole() -> None:
    for path in sorted(GOOG_DIR.glob("*.csv")):
        chain = read_lean_chain(path, "goog")  # the day from the name, the ticker normalised
        lines = path.read_text().splitlines()
        assert chain.ticker == "GOOG"
        assert chain.day == dt.datetime.strptime(path.stem, "%Y%m%d").date()
        assert list(chain.contracts.columns) == CHAIN_COLUMNS
        assert len(chain.contracts) == len(lines) - 2  # header and underlying row
        assert chain.contracts["line"].tolist() == list(range(3, len(lines) + 1))
        assert set(chain.contracts["right"]) == {"C", "P"}
        assert (chain.contracts["expiry"] >= chain.day).all()


def test_a_chain_row_is_read_value_for_value() -> None:
    chain = goog_chain(DAY)
    assert chain.underlying.close == 748.54 and chain.underlying.volume == 11492
    row = chain.contracts[
        (chain.contracts["expiry"] == dt.date(2016, 1, 15))
        & (chain.contracts["strike"] == 750)
        & (chain.contracts["right"] == "C")
    ].iloc[0]
    # 20160115,750,C,15.4000,15.4000,11.9000,13.7000,345,889,0,0.9999314,0,0,-0.0181977,0.4517824
    assert (row["open"], row["high"], row["low"], row["close"]) == (15.4, 15.4, 11.9, 13.7)
    assert (row["volume"], row["open_interest"]) == (345, 889)
    assert math.isnan(row["vendor_iv"]), "the vendor's 0 means no volatility, never 0%"
    assert row["vendor_delta"] == 0.9999314 and row["vendor_rho"] == 0.4517824


def test_an_empty_open_interest_stays_missing() -> None:
    raw = chain_bytes(UNDERLYING, CONTRACT.replace(",889,", ",,"))
    contracts = read_lean_chain(raw, "GOOG", DAY).contracts
    assert math.isnan(contracts["open_interest"].iloc[0])


def test_line_endings_of_every_style_and_a_bom_read_the_same() -> None:
    expected = read_lean_chain(chain_bytes(UNDERLYING, CONTRACT), "GOOG", DAY).contracts
    for ending in ("\r\n", "\r"):
        raw = b"\xef\xbb\xbf" + chain_bytes(UNDERLYING, "", CONTRACT, ending=ending)
        got = read_lean_chain(raw, "GOOG", DAY).contracts
        assert got.drop(columns="line").equals(expected.drop(columns="line"))
        assert got["line"].tolist() == [4]  # the blank line is counted, not read


def test_the_day_is_required_when_the_name_does_not_give_it(tmp_path: Path) -> None:
    with pytest.raises(OptionInputError, match="does not carry its date"):
        read_lean_chain(chain_bytes(UNDERLYING, CONTRACT), "GOOG")
    path = tmp_path / "chain.csv"
    path.write_bytes(chain_bytes(UNDERLYING, CONTRACT))
    with pytest.raises(OptionInputError, match="does not carry its date"):
        read_lean_chain(path, "GOOG")
    assert read_lean_chain(path, "GOOG", DAY).day == DAY


def test_a_malformed_ticker_is_refused() -> None:
    for ticker in ("", "GO OG", "GOOG\x00", "X" * 16):
        with pytest.raises(OptionInputError) as info:
            read_lean_chain(chain_bytes(UNDERLYING, CONTRACT), ticker, DAY)
        assert info.value.field == "ticker"


@pytest.mark.parametrize(
    ("rows", "line", "reason"),
    [
        ((UNDERLYING, CONTRACT.replace("20160115", "20160230")), 3, "not a real calendar date"),
        ((UNDERLYING, CONTRACT.replace("20160115", "2016-01-15")), 3, "yyyymmdd"),
        ((UNDERLYING, CONTRACT.replace("20160115", "20151222")), 3, "before the chain's day"),
        ((UNDERLYING, CONTRACT.replace(",750,", ",0,")), 3, "'strike': 0 must be greater"),
        ((UNDERLYING, CONTRACT.replace(",C,", ",X,")), 3, "neither C (call) nor P (put)"),
        ((UNDERLYING, CONTRACT.replace(",13.7000,", ",-1,")), 3, "'close': -1 is negative"),
        ((UNDERLYING, CONTRACT.replace(",13.7000,", ",nan,")), 3, "'close': 'nan' is not"),
        ((UNDERLYING, CONTRACT.replace(",13.7000,", ",1e999,")), 3, "not a finite number"),
        ((UNDERLYING, CONTRACT.replace(",345,", ",3.5,")), 3, "'volume': '3.5' is not a whole"),
        ((UNDERLYING, CONTRACT.replace(",0.2,", ",-0.2,")), 3, "'implied_volatility': -0.2"),
        ((UNDERLYING, CONTRACT + ",1"), 3, "expected 15 fields"),
        (
            (UNDERLYING, CONTRACT, CONTRACT),
            4,
            "duplicate contract C 750 expiring 2016-01-15: already on line 3",
        ),
        ((CONTRACT,), 2, "the first data row must be the underlying's bar"),
        ((UNDERLYING, CONTRACT, UNDERLYING), 4, "after the first data row"),
        ((UNDERLYING.replace("749.5500", "0"), CONTRACT), 2, "'open': 0 must be greater"),
        ((UNDERLYING + "1", CONTRACT), 2, "'rho' of the underlying's row must be empty"),
        ((UNDERLYING, 'x,"unclosed'), 3, "malformed CSV"),
    ],
)
def test_a_bad_chain_line_is_named_with_its_reason(
    rows: tuple[str, ...], line: int, reason: str
) -> None:
    error = refusal(lambda: read_lean_chain(chain_bytes(*rows), "GOOG", DAY))
    assert error.line == line
    assert reason in error.reason, error.reason
    assert str(error) == f"line {line}: {error.reason}"


@pytest.mark.parametrize(
    ("raw", "line", "reason"),
    [
        (b"", None, "the file is empty"),
        (b" \n\n", None, "the file is empty"),
        (CHAIN_HEADER.encode(), None, "no data rows"),
        (chain_bytes(UNDERLYING), None, "no contracts"),
        (b"expiry,strike\n", 1, "unexpected header"),
        (b"\xff\xfe#\x00e\x00", 1, "UTF-16"),
        (chain_bytes(UNDERLYING, CONTRACT).replace(b"750,C", b"7\xe950,C"), 3, "not UTF-8"),
        (
            chain_bytes(UNDERLYING, CONTRACT).replace(b"750,C", b"750\x00,C"),
            3,
            "U+0000) in field 2",
        ),
        (
            chain_bytes(UNDERLYING, CONTRACT).replace(b"750,C", b"750,\xc2\x85C"),
            3,
            "U+0085) in field 3",
        ),
        (chain_bytes(UNDERLYING, CONTRACT + "9" * 5000), 3, "5"),
    ],
)
def test_a_bad_chain_file_is_refused_cleanly(raw: bytes, line: int | None, reason: str) -> None:
    error = refusal(lambda: read_lean_chain(raw, "GOOG", DAY))
    assert error.line == line and reason in error.reason, (error.line, error.reason)


def test_an_over_long_line_names_its_length() -> None:
    error = refusal(lambda: read_lean_chain(chain_bytes(UNDERLYING, "1" * 5000), "GOOG", DAY))
    assert error.line == 3 and "5000 characters" in error.reason


def test_a_missing_path_or_a_directory_is_a_file_error(tmp_path: Path) -> None:
    assert (
        refusal(lambda: read_lean_chain(tmp_path / "20151223.csv", "GOOG")).reason == "no such file"
    )
    folder = tmp_path / "20151223.csv"
    folder.mkdir()
    assert "directory" in refusal(lambda: read_lean_chain(folder, "GOOG")).reason


# --------------------------------------------------------------------------- Lean quotes


def test_the_shipped_quotes_archive_is_read_whole() -> None:
    quotes = goog_quotes()
    with zipfile.ZipFile(GOOG_QUOTES) as archive:
        members = archive.namelist()
        rows = sum(len(archive.read(name).splitlines()) for name in members)
    assert list(quotes.columns) == QUOTE_COLUMNS
    assert len(quotes) == rows and quotes["member"].nunique() == len(members) == 710
    assert set(quotes["date"]) == {dt.date(2015, 12, 23), dt.date(2015, 12, 24)}
    both = quotes["bid"].notna()
    assert (quotes.loc[both, "bid"] <= quotes.loc[both, "ask"]).all()
    assert (quotes.loc[~both, "bid_size"] == 0).all(), "an empty bid has size 0: no bid"


def test_a_quote_row_is_read_in_dollars() -> None:
    quotes = goog_quotes()
    row = quotes[
        (quotes["member"] == "goog_quote_american_call_7500000_20160115.csv")
        & (quotes["date"] == DAY)
    ].iloc[0]
    # 20151223 00:00,161000,162000,115000,137000,33,177000,177000,119000,141000,15
    assert (row["strike"], row["right"], row["expiry"]) == (750.0, "C", dt.date(2016, 1, 15))
    assert (row["bid"], row["ask"], row["bid_size"], row["ask_size"]) == (13.7, 14.1, 33, 15)


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


GOOD_MEMBER = "goog_quote_american_put_7500000_20160115.csv"
GOOD_ROW = b"20151223 00:00,119000,177000,119000,133000,3,135000,181000,131000,140000,34"


@pytest.mark.parametrize(
    ("members", "path", "line", "reason"),
    [
        ({"other.csv": GOOD_ROW}, "other.csv", None, "is not named goog_quote_american_"),
        ({GOOD_MEMBER.replace("goog", "aapl"): GOOD_ROW}, None, None, "is not named goog_"),
        ({GOOD_MEMBER.replace("20160115", "20160230"): GOOD_ROW}, None, None, "not a date"),
        ({GOOD_MEMBER: GOOD_ROW + b"\n" + GOOD_ROW}, GOOD_MEMBER, 2, "already on line 1"),
        ({GOOD_MEMBER: GOOD_ROW.replace(b"133000", b"145000")}, GOOD_MEMBER, 1, "crossed quote"),
        (
            {GOOD_MEMBER: GOOD_ROW.replace(b",133000,", b",,")},
            GOOD_MEMBER,
            1,
            "empty but its size is 3",
        ),
        ({GOOD_MEMBER: GOOD_ROW.replace(b" 00:00", b"")}, GOOD_MEMBER, 1, "'yyyymmdd 00:00'"),
        ({GOOD_MEMBER: b"\n"}, GOOD_MEMBER, None, "the file is empty"),
    ],
)
def test_a_bad_quotes_member_is_named(
    members: dict[str, bytes], path: str | None, line: int | None, reason: str
) -> None:
    error = refusal(lambda: read_lean_quotes(zipped(members), "GOOG"))
    assert error.line == line and reason in error.reason, (error.line, error.reason)
    if path is not None:
        assert error.path == path


def test_a_member_past_its_size_bound_is_refused_before_it_is_unpacked() -> None:
    padded = GOOD_ROW + b"\n" * 1_100_000  # compresses to a few kB
    error = refusal(lambda: read_lean_quotes(zipped({GOOD_MEMBER: padded}), "GOOG"))
    assert error.path == GOOD_MEMBER and "more than 1048576" in error.reason


def test_a_bad_archive_is_refused() -> None:
    assert (
        "not a readable zip" in refusal(lambda: read_lean_quotes(b"PK\x03\x04junk", "GOOG")).reason
    )
    assert "is empty" in refusal(lambda: read_lean_quotes(zipped({}), "GOOG")).reason
    whole = GOOG_QUOTES.read_bytes()
    cut = refusal(lambda: read_lean_quotes(whole[: len(whole) // 2], "GOOG"))
    assert "zip" in cut.reason


# --------------------------------------------------------------------------- Lean daily bars


def test_the_goog_daily_bars_are_read_in_dollars() -> None:
    bars = read_lean_equity_daily(GOOG_DAILY)
    assert len(bars) == 22 and bars["date"].iloc[0] == dt.date(2015, 12, 1)
    last = bars.iloc[-1]  # 20151231 00:00,7695000,7700000,7583000,7588800,1411330
    assert (last["open"], last["close"], last["volume"]) == (769.5, 758.88, 1411330)


# --------------------------------------------------------------------------- Yahoo


def test_the_recorded_yahoo_answer_is_read_whole() -> None:
    chain = yahoo_aapl()
    document = json.loads(YAHOO_AAPL.read_text())["optionChain"]["result"][0]
    assert chain.ticker == "AAPL" and chain.spot == 107.68
    assert chain.quote_time == dt.datetime(2016, 9, 6, 20, 0, tzinfo=dt.timezone.utc)
    assert len(chain.expiries) == 15 and chain.expiries[0] == dt.date(2016, 9, 9)
    assert list(chain.contracts.columns) == CONTRACT_COLUMNS
    calls = document["options"][0]["calls"]
    assert len(chain.contracts) == len(calls) + len(document["options"][0]["puts"]) == 76
    first = chain.contracts.iloc[0]
    assert first["contract_symbol"] == calls[0]["contractSymbol"]
    assert (first["strike"], first["bid"], first["ask"]) == (80.0, 25.55, 28.4)
    assert first["vendor_iv"] == calls[0]["impliedVolatility"]
    assert chain.earnings[-1].date() == dt.date(2016, 11, 1)


def yahoo_with(change: object) -> bytes:
    document = json.loads(YAHOO_AAPL.read_text())
    change(document["optionChain"]["result"][0])  # type: ignore[operator]
    return json.dumps(document).encode()


def first_call(result: dict[str, object]) -> dict[str, object]:
    return result["options"][0]["calls"][0]  # type: ignore[index, no-any-return]


@pytest.mark.parametrize(
    ("change", "where", "reason"),
    [
        (lambda r: first_call(r).update(strike="80"), "calls[0].strike", "expected a number"),
        (lambda r: first_call(r).update(strike=0), "calls[0].strike", "greater than 0"),
        (lambda r: first_call(r).update(bid=-1), "calls[0].bid", "at least 0"),
        (lambda r: first_call(r).update(bid=True), "calls[0].bid", "true/false"),
        (lambda r: first_call(r).pop("strike"), "calls[0].strike", "missing"),
        (lambda r: first_call(r).update(contractSymbol="A\x1bB"), "contractSymbol", "U+001B"),
        (lambda r: first_call(r).update(expiration=1473984000), "calls[0].expiration", "differs"),
        (lambda r: r["quote"].update(regularMarketPrice=None), "regularMarketPrice", "null"),
        (lambda r: r["quote"].update(regularMarketTime=1.5), "regularMarketTime", "whole seconds"),
        (lambda r: r.update(underlyingSymbol="A B"), "underlyingSymbol", "not a ticker"),
        (
            lambda r: r["options"][0]["calls"].append(r["options"][0]["calls"][0]),
            "calls[38]",
            "same contract",
        ),
        (lambda r: r["options"][0].update(calls=[], puts=[]), "options", "no contracts"),
    ],
)
def test_a_bad_yahoo_value_is_named_by_its_json_path(
    change: object, where: str, reason: str
) -> None:
    error = refusal(lambda: read_yahoo_options(yahoo_with(change)))
    assert where in error.reason and reason in error.reason, error.reason


@pytest.mark.parametrize(
    ("raw", "line", "reason"),
    [
        (b'{"optionChain":\n {"result": [}', 2, "not valid JSON"),
        (b'{"optionChain": {"result": [], "error": null}}', None, "expected one result"),
        (b'{"optionChain": {"result": null, "error": {"code": "Not Found"}}}', None, "Not Found"),
        (b'{"optionChain": NaN}', None, "NaN is not a number"),
        (b'{"a": 1, "a": 2}', None, "appears twice"),
        (b"[" * 100_000 + b"]" * 100_000, None, "nested too deeply"),
        (b'{"x": ' + b"9" * 5000 + b"}", None, "not valid JSON"),
        (b"", None, "the file is empty"),
        (b"\xff\xfe{", 1, "UTF-16"),
        (b'["\xe9"]', 1, "not UTF-8"),
    ],
)
def test_a_bad_yahoo_document_is_refused(raw: bytes, line: int | None, reason: str) -> None:
    error = refusal(lambda: read_yahoo_options(raw))
    assert error.line == line and reason in error.reason, (error.line, error.reason)


def test_a_yahoo_answer_for_another_ticker_is_refused() -> None:
    with pytest.raises(OptionInputError, match="for AAPL, not MSFT"):
        read_yahoo_options(YAHOO_AAPL, "MSFT")


def test_missing_yahoo_quotes_stay_missing() -> None:
    def drop(result: dict[str, object]) -> None:
        for key in ("bid", "ask", "volume", "impliedVolatility"):
            first_call(result).pop(key)

    first = read_yahoo_options(yahoo_with(drop)).contracts.iloc[0]
    assert all(math.isnan(first[c]) for c in ("bid", "ask", "volume", "vendor_iv"))


# --------------------------------------------------------------------------- VIX


def test_the_vix_slice_is_read_whole_with_its_crlf_endings() -> None:
    raw = VIX.read_bytes()
    assert b"\r\n" in raw
    vix = read_vix_daily(VIX)
    assert list(vix.columns) == VIX_COLUMNS and len(vix) == 1511
    assert vix["date"].is_monotonic_increasing
    assert vix_closes()[dt.date(2020, 3, 16)] == 82.69


def test_cboe_dates_and_any_order_are_read() -> None:
    raw = b"Date,Open,High,Low,Close\n03/17/2020,79.2,84.8,73.5,75.9\n03/16/2020,1,2,0.5,82.69\n"
    vix = read_vix_daily(raw)
    assert vix["date"].tolist() == [dt.date(2020, 3, 16), dt.date(2020, 3, 17)]
    assert np.allclose(vix["close"], [82.69, 75.9])


@pytest.mark.parametrize(
    ("raw", "line", "reason"),
    [
        (b"DATE,OPEN,HIGH,LOW\n", 1, "unexpected header"),
        (b"DATE,OPEN,HIGH,LOW,CLOSE\n", None, "no data rows"),
        (b"DATE,OPEN,HIGH,LOW,CLOSE\n2020-01-02,1,2,1,0\n", 2, "'CLOSE': 0 must be greater"),
        (b"DATE,OPEN,HIGH,LOW,CLOSE\n2020-13-02,1,2,1,1\n", 2, "not a real calendar date"),
        (
            b"DATE,OPEN,HIGH,LOW,CLOSE\n2020-01-02,1,2,1,1\r\n2020-01-02,1,2,1,1\n",
            3,
            "already on line 2",
        ),
        (
            b"DATE,OPEN,HIGH,LOW,CLOSE\r\r2020-01-02,1,2,1,inf\n",
            3,
            "'CLOSE': 'inf' is not a number",
        ),
        (b"DATE,OPEN,HIGH,LOW,CLOSE\n2020-01-02,1,2,1\n", 2, "expected 5 fields"),
    ],
)
def test_a_bad_vix_line_is_named(raw: bytes, line: int | None, reason: str) -> None:
    error = refusal(lambda: read_vix_daily(raw))
    assert error.line == line and reason in error.reason, (error.line, error.reason)
