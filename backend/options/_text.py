"""Bytes to checked lines and fields: the rules every options file reader shares.

Whatever the bytes, a reader either returns its whole result or raises `OptionFileError` naming
the line (1-based, every line-ending style counted) and the reason; nothing else escapes:

* a file is at most `MAX_FILE_BYTES`, a line at most `MAX_LINE_CHARS` characters;
* text is UTF-8 (a UTF-8 byte-order mark is skipped; UTF-16 is named as such);
* line endings may be `\\n`, `\\r\\n` or `\\r` alone, mixed in one file;
* no control characters (`backend.validation.CONTROL_RULE`) anywhere but the line breaks;
* numbers are plain decimals (no `nan`, `inf`, `1_000`, hex) and finite.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from pathlib import Path

from backend.options.errors import OptionFileError, OptionInputError
from backend.validation import CONTROL_RE, CONTROL_RULE

# The largest options file is a Lean chain of ~2,000 contracts (~230 kB) or the VIX history
# (~500 kB): 64 MiB is far beyond any real one and bounds the memory a hostile file can take.
MAX_FILE_BYTES = 64 * 1024**2
# A line of these files is under 200 characters; a far longer one is not such a file.
MAX_LINE_CHARS = 4096
# Longest text of a field quoted back in an error message.
MAX_QUOTED = 40
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
MAX_INT64 = 2**63 - 1

Source = bytes | str | os.PathLike[str]

_BREAK = re.compile(r"\r\n|\r|\n")
_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,4})?")
_INTEGER = re.compile(r"[+-]?\d{1,20}")
# 1-15 of A-Z 0-9 . - ^ = : the store's ticker rule (backend/market_data/bars.py), restated
# here so that this package depends on no other part of the service.
_TICKER = re.compile(r"[A-Za-z0-9.\-^=]{1,15}")
TICKER_RULE = "1 to 15 characters from A-Z, 0-9, '.', '-', '^', '='"


def quoted(text: str) -> str:
    """`text` as Python would quote it, cut to `MAX_QUOTED` characters (messages stay short)."""
    if len(text) > MAX_QUOTED:
        return repr(text[:MAX_QUOTED]) + "..."
    return repr(text)


def check_ticker(ticker: str) -> str:
    """The upper-case ticker; OptionInputError when it breaks `TICKER_RULE`."""
    value = ticker.strip() if isinstance(ticker, str) else ""
    if not _TICKER.fullmatch(value):
        raise OptionInputError("ticker", f"{quoted(str(ticker))} is not a ticker ({TICKER_RULE})")
    return value.upper()


def read_source(source: Source) -> tuple[bytes, str | None]:
    """The bytes of `source` (bytes as given, or a path to read) and the path's name for
    messages. The size is bounded before the file is read whole."""
    if isinstance(source, bytes):
        if len(source) > MAX_FILE_BYTES:
            raise OptionFileError(None, f"the data is larger than {MAX_FILE_BYTES} bytes")
        return source, None
    path = Path(source)
    name = str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise OptionFileError(None, "no such file", name) from None
    except IsADirectoryError:
        raise OptionFileError(None, "this is a directory, not a file", name) from None
    except OSError as exc:
        raise OptionFileError(None, f"cannot read the file: {exc.strerror}", name) from None
    if len(raw) > MAX_FILE_BYTES:
        raise OptionFileError(None, f"the file is larger than {MAX_FILE_BYTES} bytes", name)
    return raw, name


def decode_text(raw: bytes, path: str | None) -> str:
    """`raw` as text: UTF-8 (its byte-order mark dropped), with the line of the first byte
    that is not."""
    if raw.startswith(UTF16_BOMS):
        raise OptionFileError(1, "the file is UTF-16 text; save it as UTF-8", path)
    if raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM) :]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = len(_BREAK_BYTES.findall(raw, 0, exc.start)) + 1
        raise OptionFileError(
            line,
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be decoded)",
            path,
        ) from None


def check_characters(text: str, line: int, path: str | None, separator: str = ",") -> None:
    """Refuse a control character in one line's text, naming its field."""
    found = CONTROL_RE.search(text)
    if found is None:
        return
    position = found.start()
    field = text[:position].count(separator) + 1
    raise OptionFileError(
        line,
        f"a control character (U+{ord(found.group()):04X}) in field {field}; {CONTROL_RULE}",
        path,
    )


def text_lines(raw: bytes, path: str | None) -> list[str]:
    """The lines of a text file, checked (encoding, length, control characters); the i-th
    element is line i + 1. A final line break does not start another line."""
    text = decode_text(raw, path)
    if not text.strip():
        raise OptionFileError(None, "the file is empty", path)
    lines = _BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE_CHARS:
            raise OptionFileError(
                number,
                f"the line is {len(line)} characters long; a line of this file is at most "
                f"{MAX_LINE_CHARS}",
                path,
            )
        check_characters(line, number, path)
    return lines


def split_fields(text: str, line: int, path: str | None, expected: int) -> list[str]:
    """The comma-separated fields of one line (CSV quoting allowed), stripped of spaces;
    exactly `expected` of them."""
    try:
        fields = next(csv.reader([text], strict=True), [])
    except csv.Error as exc:
        raise OptionFileError(line, f"malformed CSV ({exc})", path) from None
    if len(fields) != expected:
        raise OptionFileError(
            line, f"expected {expected} fields as in the layout, found {len(fields)}", path
        )
    return [field.strip() for field in fields]


def parse_number(text: str, column: str, line: int, path: str | None) -> float:
    """A finite decimal number written plainly; the column and text named when it is not."""
    if not _NUMBER.fullmatch(text):
        raise OptionFileError(line, f"column {column!r}: {quoted(text)} is not a number", path)
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise OptionFileError(
            line, f"column {column!r}: {quoted(text)} is not a finite number", path
        )
    return value


def parse_optional_number(text: str, column: str, line: int, path: str | None) -> float:
    """`parse_number`, an empty field being NaN (not given)."""
    return float("nan") if text == "" else parse_number(text, column, line, path)


def parse_count(text: str, column: str, line: int, path: str | None) -> int:
    """A whole number from 0 to 2**63 - 1 (volumes, open interest, sizes)."""
    if not _INTEGER.fullmatch(text):
        raise OptionFileError(
            line, f"column {column!r}: {quoted(text)} is not a whole number", path
        )
    value = int(text)
    if value < 0:
        raise OptionFileError(line, f"column {column!r}: {value} is negative", path)
    if value > MAX_INT64:
        raise OptionFileError(line, f"column {column!r}: {value} is larger than {MAX_INT64}", path)
    return value


def require_positive(value: float, column: str, line: int, path: str | None) -> float:
    if not value > 0:
        raise OptionFileError(line, f"column {column!r}: {value:g} must be greater than 0", path)
    return value


def require_non_negative(value: float, column: str, line: int, path: str | None) -> float:
    """`value` unchanged unless negative (NaN, an empty field, passes)."""
    if value < 0:
        raise OptionFileError(line, f"column {column!r}: {value:g} is negative", path)
    return value


_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def parse_date(text: str, column: str, line: int, path: str | None, form: str) -> dt.date:
    """A calendar date in one of the forms `yyyymmdd`, `iso` (yyyy-mm-dd) or `us`
    (mm/dd/yyyy, CBOE's own files); `iso|us` accepts either."""
    year = month = day = None
    for name, pattern, order in (
        ("yyyymmdd", _COMPACT_DATE, (1, 2, 3)),
        ("iso", _ISO_DATE, (1, 2, 3)),
        ("us", _US_DATE, (3, 1, 2)),
    ):
        if name in form.split("|"):
            match = pattern.fullmatch(text)
            if match:
                year, month, day = (int(match.group(i)) for i in order)
                break
    if year is None or month is None or day is None:
        shapes = {"yyyymmdd": "yyyymmdd", "iso": "yyyy-mm-dd", "us": "mm/dd/yyyy"}
        wanted = " or ".join(shapes[name] for name in form.split("|"))
        raise OptionFileError(
            line, f"column {column!r}: {quoted(text)} is not a date in {wanted} form", path
        )
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise OptionFileError(
            line, f"column {column!r}: {quoted(text)} is not a real calendar date", path
        ) from None
