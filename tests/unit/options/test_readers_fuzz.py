"""Property-based tests of the options file readers (hypothesis): whatever the bytes, a file is
read whole or refused with an OptionFileError naming the reason (and a line the file has, when
it names one); never another exception, never a row dropped or made up.

Files are drawn as valid files in every line-ending style (read whole, value for value), valid
files damaged by random edits (control characters, over-long fields, stray quotes and commas,
bytes cut out, invalid UTF-8), real recorded files damaged the same way, and arbitrary bytes."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import re
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.options.errors import OptionFileError
from backend.options.lean import CHAIN_HEADER, read_lean_chain, read_lean_quotes
from backend.options.vix import read_vix_daily
from backend.options.yahoo import read_yahoo_options
from tests.unit.options.data import GOOG_DIR, GOOG_QUOTES, VIX, YAHOO_AAPL

pytestmark = pytest.mark.unit

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
DAY = dt.date(2015, 12, 23)
endings = st.sampled_from(["\n", "\r\n", "\r"])
prices = st.decimals(min_value=0, max_value=100_000, places=4, allow_nan=False)
DAMAGES = [
    b"\x00",
    b"\x1b[31m",
    b"\x7f",
    b"\xc2\x85",
    b"\t",
    b"\xff\xfe",
    b"\xe9",
    b'"',
    b",",
    b",,",
    b"\r",
    b"\n",
    b"9" * 5000,
    b"x" * 70_000,
    b"1e999",
    b"-1",
    b"nan",
    b"20160230",
    b"\xef\xbb\xbf",
    b"99999999999999999999999",
    b"",
]


def line_count(raw: bytes) -> int:
    """The lines of `raw` as the readers count them (every line-ending style)."""
    return len(re.findall(rb"\r\n|\r|\n", raw)) + 1


def outcome(read: Callable[[bytes], Any], raw: bytes) -> Any:
    """What the reader returns, or the OptionFileError it raises (any other exception fails)."""
    try:
        return read(raw)
    except OptionFileError as exc:
        assert exc.reason, "a refusal names its reason"
        assert not any(ord(ch) < 0x20 for ch in str(exc)), str(exc)
        if exc.line is not None:
            assert 1 <= exc.line <= line_count(raw), (exc.line, exc.reason)
        return exc


@st.composite
def edits(draw: st.DrawFn, raw: bytes) -> bytes:
    """`raw` with 1-3 random edits: damage put at any byte, over a field, bytes cut out or the
    file cut short."""
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(raw)))
        kind = draw(st.sampled_from(["insert", "replace", "cut", "truncate"]))
        damage = draw(st.sampled_from(DAMAGES))
        if kind == "insert":
            raw = raw[:position] + damage + raw[position:]
        elif kind == "replace":
            raw = raw[:position] + damage + raw[position + len(damage) + draw(st.integers(0, 8)) :]
        elif kind == "cut":
            raw = raw[:position] + raw[position + draw(st.integers(1, 40)) :]
        else:
            raw = raw[:position]
    return raw


# --------------------------------------------------------------------------- Lean chains


@st.composite
def chain_files(draw: st.DrawFn) -> tuple[bytes, list[tuple[dt.date, float, str, float]]]:
    """A valid chain (underlying row, 1-25 contracts unique per key) with mixed line endings,
    blank lines and maybe a BOM; and its (expiry, strike, right, close) in order."""
    keys = draw(
        st.lists(
            st.tuples(
                st.dates(DAY, dt.date(2018, 1, 19)),
                st.decimals(min_value="0.5", max_value=5000, places=1),
                st.sampled_from("CP"),
            ),
            min_size=1,
            max_size=25,
            unique=True,
        )
    )
    rows = []
    lines = [CHAIN_HEADER, ",,,750,751,749,750.5,11492,,,,,,,"]
    for expiry, strike, right in keys:
        close = draw(prices)
        iv = draw(st.one_of(st.just(""), st.just("0"), st.decimals(0, 5, places=7).map(str)))
        lines.append(f"{expiry:%Y%m%d},{strike},{right},1,2,0.5,{close},7,,{iv},0.5,0,0,0,0")
        rows.append((expiry, float(strike), right, float(close)))
    text = ""
    for line in lines:
        text += line + draw(endings)
        if draw(st.integers(0, 5)) == 0:
            text += draw(endings)  # a blank line
    if draw(st.booleans()):
        text = text.rstrip("\r\n")
    raw = text.encode()
    return (b"\xef\xbb\xbf" + raw if draw(st.booleans()) else raw), rows


def read_chain(raw: bytes) -> Any:
    return read_lean_chain(raw, "GOOG", DAY)


@FUZZ
@given(chain_files())
def test_valid_chains_in_any_line_ending_style_are_read_whole(
    file: tuple[bytes, list[tuple[dt.date, float, str, float]]],
) -> None:
    raw, rows = file
    contracts = read_chain(raw).contracts
    got = list(
        zip(contracts["expiry"], contracts["strike"], contracts["right"], contracts["close"])
    )
    assert got == rows


@FUZZ
@given(st.data())
def test_damaged_chains_are_read_or_refused_cleanly(data: st.DataObject) -> None:
    raw, _ = data.draw(chain_files())
    outcome(read_chain, data.draw(edits(raw)))


REAL_CHAIN = (GOOG_DIR / "20151222.csv").read_bytes()


@FUZZ
@given(edits(REAL_CHAIN))
def test_a_damaged_real_chain_is_read_or_refused_cleanly(raw: bytes) -> None:
    outcome(read_chain, raw)


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_are_refused_cleanly_as_a_chain(raw: bytes) -> None:
    outcome(read_chain, raw)


# --------------------------------------------------------------------------- VIX


@st.composite
def vix_files(draw: st.DrawFn) -> tuple[bytes, dict[dt.date, float]]:
    days = draw(
        st.lists(
            st.dates(dt.date(1990, 1, 2), dt.date(2030, 1, 1)), min_size=1, max_size=30, unique=True
        )
    )
    closes = {day: float(draw(st.decimals("0.01", 500, places=2))) for day in days}
    text = "DATE,OPEN,HIGH,LOW,CLOSE" + draw(endings)
    for day, close in closes.items():
        shown = day.isoformat() if draw(st.booleans()) else f"{day:%m/%d/%Y}"
        text += f"{shown},1,2,0.5,{close}" + draw(endings)
    return text.encode(), closes


@FUZZ
@given(vix_files())
def test_valid_vix_files_are_read_whole(file: tuple[bytes, dict[dt.date, float]]) -> None:
    raw, closes = file
    vix = read_vix_daily(raw)
    assert dict(zip(vix["date"], vix["close"])) == closes


@FUZZ
@given(st.data())
def test_damaged_vix_files_are_read_or_refused_cleanly(data: st.DataObject) -> None:
    raw, _ = data.draw(vix_files())
    outcome(read_vix_daily, data.draw(edits(raw)))


REAL_VIX = VIX.read_bytes()[:3000]  # the header and the first ~55 days, CRLF


@FUZZ
@given(edits(REAL_VIX))
def test_a_damaged_real_vix_file_is_read_or_refused_cleanly(raw: bytes) -> None:
    outcome(read_vix_daily, raw)


# --------------------------------------------------------------------------- Yahoo JSON

REAL_YAHOO = YAHOO_AAPL.read_bytes()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@FUZZ
@given(edits(REAL_YAHOO))
def test_a_damaged_yahoo_answer_is_read_or_refused_cleanly(raw: bytes) -> None:
    result = outcome(read_yahoo_options, raw)
    if not isinstance(result, OptionFileError):
        prices = result.contracts[["strike", "bid", "ask", "last"]].to_numpy(dtype=float)
        assert not (prices < 0).any() and not (prices == math.inf).any()


@FUZZ
@given(json_values)
def test_any_json_value_is_refused_cleanly_as_a_yahoo_answer(value: Any) -> None:
    raw = json.dumps(value).encode()
    assert isinstance(outcome(read_yahoo_options, raw), OptionFileError)


def replaced_value(document: Any, path: list[Any], value: Any) -> bytes:
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(document).encode()


CONTRACT_PATH = ["optionChain", "result", 0, "options", 0, "puts", 5]


@FUZZ
@given(
    st.sampled_from(["strike", "bid", "ask", "lastPrice", "expiration", "contractSymbol"]),
    json_values,
)
def test_any_value_in_a_contract_field_is_read_or_refused_cleanly(field: str, value: Any) -> None:
    raw = replaced_value(json.loads(REAL_YAHOO), [*CONTRACT_PATH, field], value)
    outcome(read_yahoo_options, raw)


# --------------------------------------------------------------------------- Lean quotes


def small_archive(compression: int) -> bytes:
    """Three real members of the shipped archive in an archive of their own."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(GOOG_QUOTES) as source, zipfile.ZipFile(buffer, "w", compression) as out:
        for name in source.namelist()[:3]:
            out.writestr(name, source.read(name))
    return buffer.getvalue()


ARCHIVES = [small_archive(zipfile.ZIP_STORED), small_archive(zipfile.ZIP_DEFLATED)]


def test_the_small_archives_are_valid() -> None:
    for raw in ARCHIVES:
        assert len(read_lean_quotes(raw, "GOOG")) >= 3


@FUZZ
@given(st.one_of(edits(ARCHIVES[0]), edits(ARCHIVES[1]), st.binary(max_size=500)))
def test_a_damaged_quotes_archive_is_read_or_refused_cleanly(raw: bytes) -> None:
    outcome(lambda data: read_lean_quotes(data, "GOOG"), raw)
