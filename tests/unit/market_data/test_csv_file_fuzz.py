"""Property-based tests of the price file reader (hypothesis): whatever the bytes, the file is
imported whole or refused with a PriceFileError naming the reason (and a real line of the file
when it names one); never another exception, never a row silently dropped or made up.

Files are drawn three ways: valid files in every line-ending style (imported whole, value for
value), valid files damaged by a random edit (NUL and other control bytes, over-long fields,
stray quotes and commas, bytes cut out, invalid UTF-8, a truncated or corrupt gzip), and
arbitrary bytes."""

from __future__ import annotations

import datetime as dt
import gzip
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.db.engine import make_engine
from backend.db.migrate import upgrade_to_head
from backend.errors import PriceFileError
from backend.market_data.bars import BAR_COLUMNS, PRICE_COLUMNS
from backend.market_data.providers.csv_file import read_price_file
from backend.market_data.store import PriceStore

pytestmark = pytest.mark.unit

HEADER = ",".join(BAR_COLUMNS)
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)

tickers = st.sampled_from(["AAPL", "MSFT", "BRK.B", "^GSPC", "ES=F", "X-1"])
prices = st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False)
endings = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def rows(draw: st.DrawFn) -> list[dict[str, object]]:
    """1-30 valid rows, unique per (ticker, date)."""
    keys = draw(
        st.lists(
            st.tuples(tickers, st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31))),
            min_size=1,
            max_size=30,
            unique=True,
        )
    )
    out = []
    for ticker, day in keys:
        row: dict[str, object] = {"date": day.isoformat(), "ticker": ticker}
        for column in PRICE_COLUMNS:
            row[column] = (
                draw(st.one_of(st.none(), prices)) if column != "adj_close" else draw(prices)
            )
        row["volume"] = draw(st.one_of(st.none(), st.integers(0, 10**12)))
        row["dividend"] = draw(st.one_of(st.none(), st.floats(0, 10, allow_nan=False)))
        row["split"] = draw(st.one_of(st.none(), st.sampled_from([0.5, 1.0, 2.0, 4.0])))
        out.append(row)
    return out


def cell(value: object) -> str:
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


@st.composite
def valid_files(draw: st.DrawFn) -> tuple[bytes, list[dict[str, object]]]:
    """A valid long-format file (each line with its own line ending, blank lines, a BOM or
    not) and its rows."""
    data = draw(rows())
    lines = [HEADER] + [",".join(cell(r[c]) for c in BAR_COLUMNS) for r in data]
    parts = []
    for line in lines:
        parts.append(line + draw(endings))
        if draw(st.booleans()) and draw(st.booleans()):
            parts.append(draw(endings))  # a blank line
    text = "".join(parts)
    if draw(st.booleans()):
        text = text.rstrip("\r\n")  # no line break at the end
    raw = text.encode()
    if draw(st.booleans()):
        raw = b"\xef\xbb\xbf" + raw
    return raw, data


def read(raw: bytes, name: str = "prices.csv") -> pd.DataFrame | PriceFileError:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(raw)
        try:
            return read_price_file(path)
        except PriceFileError as exc:
            return exc


def text_lines(raw: bytes) -> int:
    """How many lines the file has, as the reader counts them (every line-ending style)."""
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except Exception:
            return 0
    raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)


def assert_clean(outcome: pd.DataFrame | PriceFileError, raw: bytes) -> None:
    """A refusal names its reason, and a line the file has; bars that are returned are
    canonical and valid."""
    if isinstance(outcome, PriceFileError):
        assert outcome.reason and outcome.code == "invalid_price_file"
        if outcome.line is not None:
            assert 1 <= outcome.line <= max(text_lines(raw), 1), (outcome.line, outcome.reason)
            assert outcome.message == f"line {outcome.line}: {outcome.reason}"
        assert not any(ord(ch) < 0x20 for ch in outcome.message), outcome.message
        return
    bars = outcome
    assert list(bars.columns) == BAR_COLUMNS and len(bars) > 0
    assert not bars.duplicated(["ticker", "date"]).any()
    adj = bars["adj_close"].to_numpy(dtype=float)
    assert np.isfinite(adj).all() and (adj > 0).all()
    for column in PRICE_COLUMNS + ["volume", "dividend", "split"]:
        values = bars[column].to_numpy(dtype=float)
        assert not np.isinf(values).any()
    assert all(isinstance(d, dt.date) for d in bars["date"])


@FUZZ
@given(valid_files())
def test_valid_files_in_any_line_ending_style_are_imported_whole(
    file: tuple[bytes, list[dict[str, object]]],
) -> None:
    raw, data = file
    bars = read(raw)
    assert isinstance(bars, pd.DataFrame), bars
    assert len(bars) == len(data)
    got = {(r.ticker, r.date.isoformat()): r for r in bars.itertuples()}
    for row in data:
        stored = got[(str(row["ticker"]), str(row["date"]))]
        assert math.isclose(stored.adj_close, float(row["adj_close"]))  # type: ignore[arg-type]
        for column in ("open", "high", "low", "close"):
            value = getattr(stored, column)
            if row[column] is None:
                assert math.isnan(value), "an empty cell stays missing, never made up"
            else:
                assert math.isclose(value, float(row[column]))  # type: ignore[arg-type]
        assert stored.split == (1.0 if row["split"] is None else row["split"])


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
    b"x" * 200_000,
    b"1e999",
    b"-1",
    b"nan",
    b"2020-02-30",
    b"\xef\xbb\xbf",
    b"1e19",
    b'"' + b"x" * 200_000 + b'"',
    b"",
]
DAMAGE = st.sampled_from(DAMAGES)


@st.composite
def damaged_files(draw: st.DrawFn) -> bytes:
    """A valid file with 1-3 random edits: a field replaced by damage, damage inserted at any
    byte, bytes cut out or overwritten, the file cut short."""
    raw, _ = draw(valid_files())
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(raw)))
        kind = draw(st.sampled_from(["field", "field", "insert", "cut", "replace", "truncate"]))
        if kind == "field":
            lines = raw.split(b"\n")
            at = draw(st.integers(0, len(lines) - 1))
            fields = lines[at].split(b",")
            fields[draw(st.integers(0, len(fields) - 1))] = draw(DAMAGE)
            lines[at] = b",".join(fields)
            raw = b"\n".join(lines)
        elif kind == "insert":
            raw = raw[:position] + draw(DAMAGE) + raw[position:]
        elif kind == "cut":
            raw = raw[:position] + raw[position + draw(st.integers(1, 40)) :]
        elif kind == "replace":
            raw = raw[:position] + draw(st.binary(min_size=1, max_size=8)) + raw[position + 1 :]
        else:
            raw = raw[:position]
    return raw


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PriceStore]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'store.db'}")
    upgrade_to_head(engine)
    yield PriceStore(engine)
    engine.dispose()


@FUZZ
@given(raw=damaged_files())
def test_damaged_files_are_refused_cleanly_or_imported_whole(raw: bytes, store: PriceStore) -> None:
    outcome = read(raw)
    assert_clean(outcome, raw)
    if isinstance(outcome, pd.DataFrame):  # what is read can be stored, every row of it
        result = store.upsert_bars(outcome, source="fuzz")
        assert result.rows == len(outcome)


@FUZZ
@given(valid_files(), st.integers(0, 10_000), st.sampled_from(["truncate", "flip", "whole"]))
def test_gzip_files_whole_truncated_or_corrupt(
    file: tuple[bytes, list[dict[str, object]]], where: int, how: str
) -> None:
    raw, data = file
    packed = gzip.compress(raw)
    if how == "truncate":
        packed = packed[: 2 + where % (len(packed) - 2)]
    elif how == "flip":
        at = 10 + where % (len(packed) - 10)
        packed = packed[:at] + bytes([packed[at] ^ 0xFF]) + packed[at + 1 :]
    outcome = read(packed, "prices.csv.gz")
    assert_clean(outcome, packed)
    if how == "whole":
        assert isinstance(outcome, pd.DataFrame) and len(outcome) == len(data)
    if how == "truncate":
        assert isinstance(outcome, PriceFileError)


@FUZZ
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_crash(raw: bytes) -> None:
    assert_clean(read(raw), raw)


@FUZZ
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=1500))
def test_arbitrary_text_after_a_valid_header_never_crashes(text: str) -> None:
    raw = (HEADER + "\n" + text).encode()
    assert_clean(read(raw), raw)


def test_every_damage_in_every_field_of_the_header_and_a_row(store: PriceStore) -> None:
    """The same damage list, exhaustively: each token in each field of the header, of the
    first row and of the last row."""
    lines = [
        HEADER.encode(),
        b"2020-08-28,AAPL,504.05,505.77,498.31,499.23,124.405824223,46907479,0.0,1.0",
        b"2020-08-31,AAPL,127.58,131.0,126.0,129.04,128.624702503,223505733,0.0,4.0",
    ]
    for at in range(len(lines)):
        for field in range(len(BAR_COLUMNS)):
            for damage in DAMAGES:
                fields = lines[at].split(b",")
                fields[field] = damage
                raw = b"\n".join(lines[:at] + [b",".join(fields)] + lines[at + 1 :]) + b"\n"
                outcome = read(raw)
                assert_clean(outcome, raw)
                if isinstance(outcome, pd.DataFrame):
                    assert store.upsert_bars(outcome, source="fuzz").rows == len(outcome)
