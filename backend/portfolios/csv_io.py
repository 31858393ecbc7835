"""The transaction CSV: reading any file a caller sends, and writing one a spreadsheet can open
safely. Pure (no database): bytes in, ledger entries or a list of every rejected line out.

Reading never fails with anything but `ImportRejected` (422 `invalid_import`, each error with
its line, field, rule and reason): wrong encodings (UTF-8 only; a UTF-8 byte order mark is
fine), any line endings (LF, CRLF, CR, mixed), NUL and other control characters, over-long
fields, broken quoting, too many rows or columns.

Writing neutralises formulas (OWASP "CSV injection"): a text cell that starts with `=`, `+`,
`-`, `@`, tab, carriage return or line feed is written with a leading apostrophe, which
spreadsheets read as "this is text"; a cell that starts with an apostrophe gets one more.
Reading removes exactly that one apostrophe (only before one of those characters), so an
exported file imports back as the same ledger: `unescape(escape(v)) == v` for every text.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from backend.errors import ANY_RULE, InvalidInput, Rule
from backend.portfolios import decimals, ledger
from backend.validation import first_control_char

COLUMNS: Final = ["date", "type", "ticker", "quantity", "price", "fees", "note"]
REQUIRED: Final = frozenset({"date", "type", "quantity"})
MAX_ROWS: Final = 20_000
MAX_BYTES: Final = 5 * 1024 * 1024
# Characters that make a spreadsheet read a cell as a formula (and the escape itself).
FORMULA_START: Final = frozenset("=+-@\t\r\n'")
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_OTHER_BOMS: Final = {
    codecs.BOM_UTF32_LE: "UTF-32",
    codecs.BOM_UTF32_BE: "UTF-32",
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
}


class ImportRejected(InvalidInput):
    """A CSV import with rejected rows: nothing was stored; every row's reason is listed."""

    code = "invalid_import"


# The body is text to a schema: its lines are checked here, each rejection listed.
CSV_CONTENT = Rule(
    ImportRejected.code,
    ANY_RULE,
    "the file's encoding, header and rows, each row by the rules of one transaction and of the "
    "ledger's history",
)


def _error(line: int | None, field: str | None, rule: str, reason: str) -> dict[str, Any]:
    return {"line": line, "field": field, "rule": rule, "reason": reason}


def _reject(message: str, *errors: dict[str, Any]) -> ImportRejected:
    return ImportRejected(message, {"errors": list(errors)})


def _shown(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


# ------------------------------------------------------------------------------ escaping


def escape(value: str) -> str:
    """A text cell a spreadsheet shows as text: an apostrophe before a formula start."""
    return "'" + value if value[:1] in FORMULA_START else value


def unescape(value: str) -> str:
    """The inverse of `escape`: one apostrophe before a formula start (or an apostrophe) is
    removed; any other text, including `'hello`, is kept as it is."""
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_START:
        return value[1:]
    return value


# ------------------------------------------------------------------------------ reading


def decode(raw: bytes) -> str:
    """The body as text: UTF-8 (a byte order mark is dropped), else ImportRejected naming the
    line of the first byte that is not UTF-8."""
    for bom, name in _OTHER_BOMS.items():
        if raw.startswith(bom):
            raise _reject(
                f"line 1: the file is {name} text; save it as UTF-8",
                _error(1, None, "utf8", f"{name} byte order mark: the file must be UTF-8"),
            )
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1 if b"\n" in before else before.count(b"\r") + 1
        reason = (
            f"byte 0x{raw[exc.start]:02X} (byte {exc.start}) is not UTF-8; save the file as UTF-8"
        )
        raise _reject(f"line {line}: {reason}", _error(line, None, "utf8", reason)) from None


def parse(raw: bytes, today: dt.date) -> tuple[list[ledger.Transaction], list[dict[str, Any]]]:
    """The rows of a transactions CSV as ledger entries (ref `line:<n>`, the header being line
    1) and every rejected row's error. Raises ImportRejected for what stops the reading: an
    encoding, header or CSV syntax error, too many rows, or a file without rows."""
    if len(raw) > MAX_BYTES:
        raise too_large(len(raw))
    text = decode(raw)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    entries: list[ledger.Transaction] = []
    errors: list[dict[str, Any]] = []
    try:
        header = _header(next(reader, None))
        for row in reader:
            line = reader.line_num
            if len(entries) + len(errors) >= MAX_ROWS:
                raise _reject(
                    f"line {line}: the file has more than {MAX_ROWS} rows; split it",
                    _error(line, None, "max_rows", f"more than {MAX_ROWS} rows"),
                )
            if len(row) > len(header):
                reason = f"{len(row)} values for {len(header)} columns"
                errors.append(_error(line, None, "columns", reason))
                continue
            values = dict(zip(header, row))
            if not any(v.strip() for v in values.values()):
                continue  # a blank line
            try:
                entries.append(_entry(values, today, line))
            except ledger.LedgerError as err:
                errors.append(_error(line, err.field, err.rule, err.message))
    except csv.Error as exc:  # broken quoting, a field past the csv module's limit, ...
        line = reader.line_num
        errors.append(_error(line, None, "csv", f"not readable as CSV: {exc}"))
        raise _reject(
            f"line {line}: not readable as CSV ({exc}); nothing was imported",
            *sorted(errors, key=lambda e: e["line"] or 0),
        ) from None
    if not entries and not errors:
        raise _reject(
            "the file has a header but no transactions",
            _error(2, None, "rows", "no rows"),
        )
    return entries, errors


def too_large(size: int) -> ImportRejected:
    reason = f"the file is larger than {MAX_BYTES} bytes ({size} read)"
    return _reject(f"{reason}; split it", _error(None, None, "max_bytes", reason))


def _header(row: list[str] | None) -> list[str]:
    if not row or not any(cell.strip() for cell in row):
        raise _reject(
            "the file is empty: it needs a header line " + ",".join(COLUMNS),
            _error(1, None, "header", "empty file"),
        )
    header = [cell.strip().lower() for cell in row]
    unknown = [_shown(h) for h in header if h not in COLUMNS]
    missing = sorted(REQUIRED - set(header))
    duplicated = sorted({h for h in header if header.count(h) > 1 and h in COLUMNS})
    problems = (
        ([f"unknown column(s) {', '.join(unknown)}"] if unknown else [])
        + ([f"missing column(s) {', '.join(missing)}"] if missing else [])
        + ([f"repeated column(s) {', '.join(duplicated)}"] if duplicated else [])
    )
    if problems:
        reason = "; ".join(problems)
        raise _reject(
            f"line 1: {reason}; the columns are {','.join(COLUMNS)}",
            _error(1, None, "header", reason),
        )
    return header


def _entry(values: Mapping[str, str], today: dt.date, line: int) -> ledger.Transaction:
    ref = f"line:{line}"
    cells: dict[str, str] = {}
    for name, value in values.items():
        if name == "note":
            cells[name] = unescape(value)  # exact: notes are kept as written
            continue
        index = first_control_char(value)
        if index is not None:
            raise ledger.LedgerError(
                f"{name} has control character U+{ord(value[index]):04X} at position {index}",
                name,
                "no_control_characters",
                ref,
            )
        cells[name] = unescape(value.strip())
    raw_date = cells.get("date", "")
    try:
        if not _DATE.fullmatch(raw_date):
            raise ValueError
        day = dt.date.fromisoformat(raw_date)
    except ValueError:
        raise ledger.LedgerError(
            f"date {_shown(raw_date)} is not a date (YYYY-MM-DD)", "date", "date", ref
        ) from None
    if cells.get("quantity", "") == "":
        raise ledger.LedgerError("quantity is required", "quantity", "required", ref)
    return ledger.make_transaction(
        date=day,
        type=cells.get("type", ""),
        quantity=cells["quantity"],
        ticker=ledger.parse_ticker(cells.get("ticker"), ref),
        price=cells.get("price") or None,
        fees=cells.get("fees") or None,
        note=cells.get("note") or None,
        today=today,
        ref=ref,
    )


# ------------------------------------------------------------------------------ writing


def write(rows: Iterable[ledger.Transaction]) -> str:
    """The ledger as CSV (header first), text cells escaped against formulas."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.date.isoformat(),
                r.type.value,
                escape(r.ticker or ""),
                decimals.text(r.quantity),
                "" if r.price is None else decimals.text(r.price),
                decimals.text(r.fees),
                escape(r.note or ""),
            ]
        )
    return out.getvalue()
