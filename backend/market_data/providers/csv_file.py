"""Read a daily price file (CSV, plain or gzip) into canonical bars.

Two layouts are recognised from the header (names are matched case-insensitively):

* **long** -- one row per (ticker, date), as in `../shared/data` beside the repository:
  `date,ticker,open,high,low,close,adj_close,volume,dividend,split`. `date` and `ticker` are
  required, plus `adj_close` or `close`; every other column is optional.
* **Yahoo** -- Yahoo Finance's download of one ticker: `Date,Open,High,Low,Close,Adj Close,Volume`
  (`Date` plus `Close` or `Adj Close` required). The file does not say which ticker it holds,
  so the caller must pass it.

What is filled in when the file does not say:

* no `adj_close` column: the close **is used as the adjusted close** (correct only when the file
  holds no splits or dividends, or its closes are already adjusted); with the column, an
  empty cell is an error (the store needs every row's adjusted close);
* no `open`/`high`/`low`/`close`/`volume` column, or an empty cell in one: NaN;
* no `dividend` column or an empty cell: 0.0 (no dividend recorded);
* no `split` column or an empty cell: 1.0 (no split recorded).

Validation is all-or-nothing: the first bad line raises `PriceFileError` whose `line` is the
1-based line in the file (the header is line 1). Blank lines are skipped. The happy path is
vectorised (pandas' C parser reads 100k-line chunks, rules are checked as array masks); only
once a rule fails is the offending line looked up to word the reason.

Whatever the bytes, the outcome is the bars or a `PriceFileError` with the reason (and the line
where there is one), never another exception:

* line endings may be `\n`, `\r\n` or `\r` alone, mixed in one file (each ends a line);
* text must be UTF-8 (a UTF-8 byte-order mark is skipped; UTF-16 is named as such);
* no control characters (U+0000-U+001F but the line break, U+007F-U+009F: a NUL, an escape
  sequence), no line longer than `MAX_LINE_BYTES`;
* a gzip file must be whole, and at most `MAX_DECOMPRESSED_BYTES` once decompressed;
* a volume fits the store's 64-bit integer.

The decompressed file is held in memory while it is read (about 45 MB for the 650k-row shared
S&P 500 file).
"""

from __future__ import annotations

import csv
import gzip
import re
import zlib
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from backend.errors import InvalidInput, PriceFileError
from backend.market_data.bars import BAR_COLUMNS, PRICE_COLUMNS
from backend.reference.tickers import TICKER_RULE, normalize_ticker
from backend.validation import CONTROL_RULE

CHUNK_ROWS = 100_000
GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# A price line is under 200 bytes; anything far longer is not a price file (and would meet
# the csv module's field limit).
MAX_LINE_BYTES = 4096
# A gzip file that decompresses past this is refused (a "zip bomb" must not fill the memory).
MAX_DECOMPRESSED_BYTES = 2 * 1024**3
# The store keeps volumes as 64-bit integers.
MAX_VOLUME = 2**63 - 1

LONG_FORMAT = "long"
YAHOO_FORMAT = "yahoo"

# Lower-cased header name -> canonical column.
LONG_HEADER: dict[str, str] = {name: name for name in BAR_COLUMNS}
YAHOO_HEADER: dict[str, str] = {
    "date": "date",
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "adj close": "adj_close",
    "volume": "volume",
}
# Names only the long format uses: a header with one of them is a long file.
LONG_ONLY = {"ticker", "adj_close", "dividend", "split"}
NUMERIC_COLUMNS: list[str] = [c for c in BAR_COLUMNS if c not in ("date", "ticker")]

_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))
_DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PARSER_LINE = re.compile(r"line (\d+)")

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class _Layout:
    kind: str
    header: list[str]  # names as written in the file
    columns: list[str]  # canonical name per header position

    def label(self, column: str) -> str:
        """The file's own name for a canonical column (e.g. 'Adj Close')."""
        return self.header[self.columns.index(column)]


@dataclass
class _Lines:
    """Where each line of the file starts and ends (byte offsets, end exclusive, without the
    line break; line breaks are all '\n' by now)."""

    raw: bytes
    starts: np.ndarray
    ends: np.ndarray
    blank: np.ndarray  # per line: empty

    def text(self, line: int) -> str:
        """Line `line` (1-based) as text, without its line break."""
        i = line - 1
        return self.raw[self.starts[i] : self.ends[i]].decode("utf-8")

    def field(self, line: int, position: int) -> str:
        fields = next(csv.reader([self.text(line)]), [])
        return fields[position] if position < len(fields) else ""


@dataclass
class _Parsed:
    """Valid rows gathered so far, in file order."""

    lines: list[np.ndarray] = field(default_factory=list)
    tickers: list[np.ndarray] = field(default_factory=list)
    days: list[np.ndarray] = field(default_factory=list)
    numbers: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(
        self,
        lines: np.ndarray,
        tickers: np.ndarray,
        days: np.ndarray,
        numbers: dict[str, np.ndarray],
    ) -> None:
        self.lines.append(lines)
        self.tickers.append(tickers)
        self.days.append(days)
        for name, values in numbers.items():
            self.numbers.setdefault(name, []).append(values)


def read_price_file(
    path: str | Path,
    ticker: str | None = None,
    progress: ProgressCallback | None = None,
) -> pd.DataFrame:
    """Canonical bars (`BAR_COLUMNS`, `date` as `datetime.date`, sorted by ticker then date)
    from a long-format or Yahoo-format CSV file, gzip-compressed or not.

    `ticker` is required for a Yahoo-format file (it names the one ticker the file holds); for
    a long-format file it keeps only that ticker's rows, and it is an error if there are none.
    `progress(done, total)` is called after each chunk of `CHUNK_ROWS` lines with the number of
    data lines parsed so far and the number in the file.

    Raises `PriceFileError` (with `line`, the 1-based line number, header = 1) for a file that
    cannot be imported and `InvalidInput` for a malformed `ticker` argument. See the module
    docstring for the layouts and the values filled in when the file does not give them.
    """
    path = Path(path)
    wanted = _wanted_ticker(ticker)
    raw = _read_bytes(path)
    lines = _split_lines(raw, path)
    _check_characters(lines, path)
    layout = _parse_header(lines.text(1), path)
    if layout.kind == YAHOO_FORMAT and wanted is None:
        raise PriceFileError(
            "this is a Yahoo-format file (Date,Open,High,Low,Close,Adj Close,Volume) with no "
            "ticker column: the ticker it holds must be given",
            path=str(path),
        )
    data_lines = len(lines.starts) - 1
    if data_lines == 0 or lines.blank[1:].all():
        raise PriceFileError("the file has a header but no data rows", path=str(path))

    structure_error = _first_structure_error(lines, len(layout.header))
    parse_rows = data_lines if structure_error is None else structure_error[0] - 2
    parsed = _Parsed()
    if parse_rows > 0:
        fixed = wanted if layout.kind == YAHOO_FORMAT else None
        _parse(lines, layout, parse_rows, data_lines, fixed, parsed, path, progress)
    duplicate = _first_duplicate(parsed)
    if duplicate is not None:
        raise PriceFileError(duplicate[1], line=duplicate[0], path=str(path))
    if structure_error is not None:
        raise PriceFileError(structure_error[1], line=structure_error[0], path=str(path))
    return _assemble(parsed, layout, wanted, path)


def _wanted_ticker(ticker: str | None) -> str | None:
    if ticker is None:
        return None
    normalized = normalize_ticker(ticker)
    if normalized is None:
        raise InvalidInput(
            f"ticker {ticker!r} is malformed: it must be {TICKER_RULE}", {"ticker": ticker}
        )
    return normalized


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PriceFileError("no such file", path=str(path)) from None
    except IsADirectoryError:
        raise PriceFileError("this is a directory, not a file", path=str(path)) from None
    except OSError as exc:
        raise PriceFileError(f"cannot read the file: {exc.strerror}", path=str(path)) from exc
    if raw[:2] == GZIP_MAGIC:
        try:
            with gzip.GzipFile(fileobj=BytesIO(raw)) as packed:
                raw = packed.read(MAX_DECOMPRESSED_BYTES + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise PriceFileError(
                f"the gzip data is corrupt or truncated ({exc})", path=str(path)
            ) from exc
        if len(raw) > MAX_DECOMPRESSED_BYTES:
            raise PriceFileError(
                f"the file decompresses to more than {MAX_DECOMPRESSED_BYTES} bytes",
                path=str(path),
            )
    elif path.name.lower().endswith(".gz"):
        raise PriceFileError(
            "the file name ends in .gz but its content is not gzip-compressed", path=str(path)
        )
    if raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM) :]
    elif raw.startswith(UTF16_BOMS):
        raise PriceFileError("the file is UTF-16 text; save it as UTF-8", line=1, path=str(path))
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise PriceFileError(
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be decoded)",
            line=line,
            path=str(path),
        ) from None
    if not raw.strip():
        raise PriceFileError("the file is empty", path=str(path))
    return raw


def _split_lines(raw: bytes, path: Path) -> _Lines:
    # Every line-ending style ends a line: '\r\n' (Windows), '\r' alone (old Macintosh),
    # '\n', mixed in one file as spreadsheets and hand edits leave them.
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    buf = np.frombuffer(raw, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 0x0A)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(raw)]))
    if starts[-1] == len(raw):  # the file ends with a line break
        starts, ends = starts[:-1], ends[:-1]
    length = ends - starts
    too_long = np.flatnonzero(length > MAX_LINE_BYTES)
    if len(too_long):
        index = int(too_long[0])
        raise PriceFileError(
            f"the line is {int(length[index])} bytes long; a line of a price file is at most "
            f"{MAX_LINE_BYTES}",
            line=index + 1,
            path=str(path),
        )
    return _Lines(raw=raw, starts=starts, ends=ends, blank=length == 0)


def _check_characters(lines: _Lines, path: Path) -> None:
    """Refuse control characters (CONTROL_RULE; the line break aside), naming the line and,
    past the header, the column."""
    # Fast path: with every printable ASCII byte deleted (one C pass), a clean ASCII file
    # leaves only its line breaks; anything else is searched byte by byte below.
    rest = lines.raw.translate(None, _PRINTABLE_ASCII)
    if rest.count(b"\n") == len(rest):
        return
    buf = np.frombuffer(lines.raw, dtype=np.uint8)
    c0 = ((buf < 0x20) & (buf != 0x0A)) | (buf == 0x7F)
    # U+0080-U+009F are 0xC2 0x80-0x9F in UTF-8 (the text is known to be valid UTF-8).
    c1 = np.zeros(len(buf), dtype=bool)
    c1[:-1] = (buf[:-1] == 0xC2) & (buf[1:] >= 0x80) & (buf[1:] <= 0x9F)
    found = np.flatnonzero(c0 | c1)
    if not len(found):
        return
    offset = int(found[0])
    index = int(np.searchsorted(lines.starts, offset, side="right")) - 1
    start = int(lines.starts[index])
    text = lines.raw[start : int(lines.ends[index])].decode("utf-8")
    position = len(lines.raw[start:offset].decode("utf-8"))
    char = text[position]
    where = "" if index == 0 else f" in field {text[:position].count(',') + 1}"
    raise PriceFileError(
        f"a control character (U+{ord(char):04X}){where}; {CONTROL_RULE}",
        line=index + 1,
        path=str(path),
    )


def _parse_header(text: str, path: Path) -> _Layout:
    header = [name.strip() for name in next(csv.reader([text]), [])]
    if not any(header):
        raise PriceFileError("the header line is empty", line=1, path=str(path))
    keys = [name.lower() for name in header]
    if "ticker" in keys or set(keys) & LONG_ONLY:
        kind, known = LONG_FORMAT, LONG_HEADER
        expected = ",".join(BAR_COLUMNS)
    elif "date" in keys:
        kind, known = YAHOO_FORMAT, YAHOO_HEADER
        expected = "Date,Open,High,Low,Close,Adj Close,Volume"
    else:
        raise PriceFileError(
            f"unrecognised header {text.strip()!r}: expected the long format "
            f"({','.join(BAR_COLUMNS)}) or Yahoo's (Date,Open,High,Low,Close,Adj Close,Volume)",
            line=1,
            path=str(path),
        )
    for position, (name, key) in enumerate(zip(header, keys), start=1):
        if not name:
            raise PriceFileError(f"header column {position} has no name", line=1, path=str(path))
        if key not in known:
            raise PriceFileError(
                f"unknown column {name!r} for the {kind} format; the columns are {expected}",
                line=1,
                path=str(path),
            )
        if keys.index(key) != position - 1:
            raise PriceFileError(f"column {name!r} appears twice", line=1, path=str(path))
    columns = [known[key] for key in keys]
    for required in ("date", "ticker") if kind == LONG_FORMAT else ("date",):
        if required not in columns:
            raise PriceFileError(f"missing required column {required!r}", line=1, path=str(path))
    if "close" not in columns and "adj_close" not in columns:
        names = "'adj_close' or 'close'" if kind == LONG_FORMAT else "'Adj Close' or 'Close'"
        raise PriceFileError(f"missing required column: {names}", line=1, path=str(path))
    return _Layout(kind=kind, header=header, columns=columns)


def _first_structure_error(lines: _Lines, n_fields: int) -> tuple[int, str] | None:
    """The first data line whose field count differs from the header's, as (line, reason)."""
    buf = np.frombuffer(lines.raw, dtype=np.uint8)
    commas = np.flatnonzero(buf == 0x2C)
    counts = np.searchsorted(commas, lines.ends) - np.searchsorted(commas, lines.starts) + 1
    quotes = np.flatnonzero(buf == 0x22)
    unbalanced = np.zeros(len(lines.starts), dtype=bool)
    if len(quotes):
        per_line = np.searchsorted(quotes, lines.ends) - np.searchsorted(quotes, lines.starts)
        unbalanced = per_line % 2 == 1
    suspect = (~lines.blank) & ((counts != n_fields) | unbalanced)
    suspect[0] = False  # the header defines the count
    for index in np.flatnonzero(suspect):
        line = int(index) + 1
        if unbalanced[index]:
            return line, "unbalanced double quote (fields spanning lines are not supported)"
        if len(quotes):  # commas inside quotes are not separators: count properly
            found = len(next(csv.reader([lines.text(line)]), []))
            if found == n_fields:
                continue
        else:
            found = int(counts[index])
        return line, f"expected {n_fields} fields as in the header, found {found}"
    return None


def _parse(
    lines: _Lines,
    layout: _Layout,
    parse_rows: int,
    data_lines: int,
    fixed_ticker: str | None,
    parsed: _Parsed,
    path: Path,
    progress: ProgressCallback | None,
) -> None:
    # Text, not "category": categories would be type-inferred ("1E3" read as 1000.0).
    dtypes = {c: "str" for c in ("date", "ticker") if c in layout.columns}
    reader = pd.read_csv(
        BytesIO(lines.raw),
        header=0,
        names=layout.columns,
        dtype=dtypes,
        keep_default_na=False,
        na_values=[""],
        skip_blank_lines=False,
        chunksize=CHUNK_ROWS,
        nrows=parse_rows,
        encoding="utf-8",
        engine="c",
    )
    first_row = 0
    try:
        for chunk in reader:
            _check_chunk(chunk, first_row, lines, layout, fixed_ticker, parsed, path)
            first_row += len(chunk)
            if progress is not None:
                progress(first_row, data_lines)
    except pd.errors.ParserError as exc:
        match = _PARSER_LINE.search(str(exc))
        raise PriceFileError(
            f"malformed CSV: {exc}".strip(),
            line=int(match.group(1)) if match else None,
            path=str(path),
        ) from exc
    finally:
        reader.close()


def _check_chunk(
    chunk: pd.DataFrame,
    first_row: int,
    lines: _Lines,
    layout: _Layout,
    fixed_ticker: str | None,
    parsed: _Parsed,
    path: Path,
) -> None:
    """Validate one chunk; add its rows to `parsed` or raise for its first bad line."""
    size = len(chunk)
    line_numbers = np.arange(first_row + 2, first_row + 2 + size, dtype=np.int64)
    live = ~lines.blank[first_row + 1 : first_row + 1 + size]

    # (column or None, rule, rows breaking it); a row's reason is the first rule it breaks.
    rules: list[tuple[str | None, str, np.ndarray]] = []
    date_codes, date_ok, date_days = _categories(chunk["date"], _parse_dates)
    rules.append(("date", "date", live & ~date_ok[date_codes]))
    days = date_days[date_codes]
    if fixed_ticker is None:
        ticker_codes, ticker_ok, ticker_values = _categories(chunk["ticker"], _parse_tickers)
        rules.append(("ticker", "ticker", live & ~ticker_ok[ticker_codes]))
        tickers = ticker_values[ticker_codes]
    else:
        tickers = np.full(size, fixed_ticker, dtype=object)

    numbers: dict[str, np.ndarray] = {}
    for column in layout.columns:
        if column not in NUMERIC_COLUMNS:
            continue
        values, not_number = _numbers(chunk[column])
        numbers[column] = values
        rules.append((column, "number", live & not_number))
        rules.append((column, "finite", live & np.isinf(values)))
        if column in PRICE_COLUMNS or column == "split":
            rules.append((column, "positive", live & (values <= 0)))
        else:  # volume, dividend
            rules.append((column, "non_negative", live & (values < 0)))
        if column == "volume":
            rules.append((column, "too_large", live & (values > MAX_VOLUME)))
    no_close = live.copy()
    for column in ("close", "adj_close"):
        if column in numbers:
            no_close &= np.isnan(numbers[column])
    rules.append((None, "close", no_close))
    if "adj_close" in numbers:  # the store needs it; never filled from the close per cell
        rules.append(("adj_close", "adj_close", live & np.isnan(numbers["adj_close"])))

    broken = [int(np.argmax(mask)) for _, _, mask in rules if mask.any()]
    keep = live.copy()
    if broken:
        row = min(broken)
        keep[row:] = False
    parsed.add(
        line_numbers[keep],
        tickers[keep],
        days[keep],
        {column: values[keep] for column, values in numbers.items()},
    )
    if not broken:
        return
    line = int(line_numbers[row])
    duplicate = _first_duplicate(parsed)
    if duplicate is not None and duplicate[0] < line:
        raise PriceFileError(duplicate[1], line=duplicate[0], path=str(path))
    broken_column, rule = next((c, r) for c, r, mask in rules if mask[row])
    reason = _reason(lines, layout, line, broken_column, rule)
    raise PriceFileError(reason, line=line, path=str(path))


def _categories(
    series: pd.Series, parse: Callable[[pd.Index], tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate a text column once per distinct value.

    Returns per-row codes, and per code whether it is valid and its parsed value; empty cells
    get the extra last code, which is never valid."""
    codes, uniques = pd.factorize(series)
    codes = codes.astype(np.int64)
    codes[codes < 0] = len(uniques)
    ok, values = parse(pd.Index(uniques))
    filler = np.array([None if values.dtype == object else 0], dtype=values.dtype)
    return codes, np.append(ok, False), np.concatenate((values, filler))


def _parse_dates(categories: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    text = pd.Series(categories, dtype=object).astype(str).str.strip()
    shaped = text.str.fullmatch(_DATE_SHAPE.pattern).to_numpy(dtype=bool)
    parsed = pd.to_datetime(text.where(shaped), format="%Y-%m-%d", errors="coerce")
    ok = parsed.notna().to_numpy(dtype=bool)
    days = np.zeros(len(text), dtype=np.int64)
    days[ok] = parsed[ok].to_numpy().astype("datetime64[D]").astype(np.int64)
    return ok, days


def _parse_tickers(categories: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    values = np.array([normalize_ticker(str(raw)) for raw in categories], dtype=object)
    ok = np.array([value is not None for value in values], dtype=bool)
    return ok, values


def _numbers(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Float values of a column and which cells are not numbers (an empty cell is NaN)."""
    if series.dtype.kind in "iuf":
        values = series.to_numpy(dtype=np.float64)
        return values, np.zeros(len(values), dtype=bool)
    if series.dtype.kind == "b":  # every cell of this chunk read as true/false
        return np.full(len(series), np.nan), np.ones(len(series), dtype=bool)
    coerced = pd.to_numeric(series, errors="coerce")
    values = coerced.to_numpy(dtype=np.float64, na_value=np.nan)
    return values, (coerced.isna() & series.notna()).to_numpy(dtype=bool)


def _reason(lines: _Lines, layout: _Layout, line: int, column: str | None, rule: str) -> str:
    """The words for the rule `rule` broken by `column` on line `line`."""
    if column is None:
        if "close" in layout.columns and "adj_close" in layout.columns:
            names = f"{layout.label('close')!r} and {layout.label('adj_close')!r} are both"
        else:
            present = "close" if "close" in layout.columns else "adj_close"
            names = f"{layout.label(present)!r} is"
        return f"{names} empty: a row needs a close or an adjusted close"
    label = layout.label(column)
    raw = lines.field(line, layout.columns.index(column)).strip()
    if rule == "date":
        if not raw:
            return f"column {label!r} is empty"
        if not _DATE_SHAPE.fullmatch(raw):
            return f"column {label!r}: {raw!r} is not a date in YYYY-MM-DD form"
        return f"column {label!r}: {raw!r} is not a real calendar date"
    if rule == "ticker":
        if not raw:
            return f"column {label!r} is empty"
        return f"column {label!r}: {raw!r} is not a valid ticker ({TICKER_RULE})"
    if rule == "number":
        return f"column {label!r}: {raw!r} is not a number"
    if rule == "finite":
        return f"column {label!r}: {raw!r} is not a finite number"
    if rule == "adj_close":
        close = f"{layout.label('close')!r} " if "close" in layout.columns else "the close "
        return (
            f"column {label!r} is empty: the adjusted close is what is scored and stored, and "
            f"{close}does not stand in for it cell by cell (leave the column out for that)"
        )
    if rule == "too_large":
        return f"column {label!r}: {raw} is larger than the largest volume stored ({MAX_VOLUME})"
    if rule == "positive":
        what = "split coefficient" if column == "split" else "price"
        return f"column {label!r}: {raw} is not a valid {what}; it must be greater than 0"
    return f"column {label!r}: {raw} is negative; it must be 0 or more"


def _first_duplicate(parsed: _Parsed) -> tuple[int, str] | None:
    """The earliest line repeating a (ticker, date) seen on an earlier line, with the reason."""
    if not parsed.lines:
        return None
    lines = np.concatenate(parsed.lines)
    if len(lines) < 2:
        return None
    tickers = np.concatenate(parsed.tickers)
    days = np.concatenate(parsed.days)
    codes, _ = pd.factorize(tickers)
    order = np.lexsort((lines, days, codes))
    codes, days_sorted, lines_sorted = codes[order], days[order], lines[order]
    same = (codes[1:] == codes[:-1]) & (days_sorted[1:] == days_sorted[:-1])
    if not same.any():
        return None
    repeats = np.flatnonzero(same) + 1
    at = int(repeats[np.argmin(lines_sorted[repeats])])
    start = at
    while start > 0 and same[start - 1]:
        start -= 1
    ticker = tickers[order][at]
    day = np.datetime64(int(days_sorted[at]), "D")
    first = int(lines_sorted[start])
    return (
        int(lines_sorted[at]),
        f"duplicate row: {ticker} on {day} is already on line {first}",
    )


def _assemble(parsed: _Parsed, layout: _Layout, wanted: str | None, path: Path) -> pd.DataFrame:
    tickers = np.concatenate(parsed.tickers)
    days = np.concatenate(parsed.days)
    numbers = {column: np.concatenate(parts) for column, parts in parsed.numbers.items()}
    if wanted is not None and layout.kind == LONG_FORMAT:
        keep = tickers == wanted
        if not keep.any():
            found = sorted(set(tickers.tolist()))
            shown = ", ".join(found[:10]) + (
                f" and {len(found) - 10} more" if len(found) > 10 else ""
            )
            raise PriceFileError(
                f"no rows for ticker {wanted}; the file holds {shown}", path=str(path)
            )
        tickers, days = tickers[keep], days[keep]
        numbers = {column: values[keep] for column, values in numbers.items()}

    codes, _ = pd.factorize(tickers, sort=True)
    order = np.lexsort((days, codes))
    unique_days, inverse = np.unique(days[order], return_inverse=True)
    dates = unique_days.astype("datetime64[D]").astype(object)[inverse]
    size = len(order)
    nan = np.full(size, np.nan)
    columns: dict[str, np.ndarray] = {"date": dates, "ticker": tickers[order]}
    for column in PRICE_COLUMNS + ["volume"]:
        columns[column] = numbers[column][order] if column in numbers else nan.copy()
    if "adj_close" not in numbers:
        columns["adj_close"] = columns["close"].copy()
    dividend = numbers["dividend"][order] if "dividend" in numbers else nan.copy()
    split = numbers["split"][order] if "split" in numbers else nan.copy()
    columns["dividend"] = np.where(np.isnan(dividend), 0.0, dividend)
    columns["split"] = np.where(np.isnan(split), 1.0, split)
    frame = pd.DataFrame({column: columns[column] for column in BAR_COLUMNS})
    return frame.astype({"date": "object", "ticker": "object"})
