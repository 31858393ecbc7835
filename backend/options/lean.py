"""Readers of QuantConnect Lean's option data (`Data/option/usa/...`) and its daily equity bars.

* **Chain** (`universes/{ticker}/{yyyymmdd}.csv`): header
  `#expiry,strike,right,open,high,low,close,volume,open_interest,implied_volatility,delta,gamma,
  vega,theta,rho`; the first data row (expiry, strike and right empty) is the underlying's bar of
  the day; then one row per contract, `expiry` yyyymmdd, `right` C or P, prices in dollars. The
  file carries neither its ticker nor its date: the ticker is an argument, the date an argument
  or the file's name. `close` is the contract's last trade of the day (0: none); the vendor's
  implied volatility is noisy and 0 stands for "none" (read as NaN).
* **Quotes** (`daily/{ticker}_{year}_quote_american.zip`): one CSV per contract named
  `{ticker}_quote_american_{call|put}_{strike x 10,000}_{expiry yyyymmdd}.csv`, rows
  `yyyymmdd 00:00,bid open,bid high,bid low,bid close,bid size,ask open,ask high,ask low,
  ask close,ask size`, prices x 10,000; an empty bid (size 0) means no bid.
* **Daily equity bars** (`equity/usa/daily/{ticker}.zip`, unzipped): rows
  `yyyymmdd 00:00,open,high,low,close,volume`, prices x 10,000, not split-adjusted.

Each reader returns everything or raises `OptionFileError` for the first bad line (module
`_text` lists the rules every file obeys).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from backend.options._text import (
    MAX_FILE_BYTES,
    Source,
    check_ticker,
    parse_count,
    parse_date,
    parse_number,
    parse_optional_number,
    quoted,
    read_source,
    require_non_negative,
    require_positive,
    split_fields,
    text_lines,
)
from backend.options.errors import OptionFileError, OptionInputError

CHAIN_HEADER = (
    "#expiry,strike,right,open,high,low,close,volume,open_interest,implied_volatility,"
    "delta,gamma,vega,theta,rho"
)
CHAIN_FIELDS = CHAIN_HEADER.split(",")
GREEKS = ["delta", "gamma", "vega", "theta", "rho"]
# Columns of `LeanChain.contracts`, in order.
CHAIN_COLUMNS = [
    "expiry",
    "strike",
    "right",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "open_interest",
    "vendor_iv",
    *(f"vendor_{greek}" for greek in GREEKS),
    "line",
]
QUOTE_COLUMNS = [
    "expiry",
    "strike",
    "right",
    "date",
    "bid",
    "ask",
    "bid_size",
    "ask_size",
    "member",
    "line",
]
BAR_COLUMNS = ["date", "open", "high", "low", "close", "volume"]
# Lean writes prices of quote and equity files as integers: dollars x 10,000.
PRICE_SCALE = 10_000.0
# A quotes archive of one underlying and year holds a few thousand small members.
MAX_ZIP_MEMBERS = 100_000
MAX_MEMBER_BYTES = 1024**2

# What a damaged archive makes the zipfile module raise (a bad header, a bad CRC, a negative
# seek from a corrupt offset, a truncated struct, encryption or an unknown compression).
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,
    RuntimeError,
    NotImplementedError,
    struct.error,
    zlib.error,
)
_CHAIN_NAME = re.compile(r"(\d{8})\.csv")
_BAR_TIME = re.compile(r"(\d{8}) 00:00")


@dataclass(frozen=True)
class UnderlyingBar:
    """The underlying's bar as the chain file gives it (an intraday-style bar, not
    necessarily the official close)."""

    open: float
    high: float
    low: float
    close: float
    volume: int


@dataclass(frozen=True)
class LeanChain:
    ticker: str
    day: dt.date
    underlying: UnderlyingBar
    contracts: pd.DataFrame  # CHAIN_COLUMNS, in file order


def read_lean_chain(source: Source, ticker: str, day: dt.date | None = None) -> LeanChain:
    """The option chain of one day from a Lean universe file (bytes or a path).

    `ticker` names the underlying (the file does not); `day` is the chain's date, taken from
    a file named `yyyymmdd.csv` when not given. Contracts expiring before `day`, a contract
    listed twice, a second underlying row or none at all are errors."""
    symbol = check_ticker(ticker)
    raw, path = read_source(source)
    if day is None:
        day = _day_from_name(source)
    lines = text_lines(raw, path)
    if lines[0].strip().lower() != CHAIN_HEADER:
        raise OptionFileError(
            1,
            f"unexpected header {quoted(lines[0])}: a Lean chain starts with {CHAIN_HEADER}",
            path,
        )
    underlying: UnderlyingBar | None = None
    rows: list[tuple[object, ...]] = []
    seen: dict[tuple[object, ...], int] = {}
    for number, text in enumerate(lines[1:], start=2):
        if not text.strip():
            continue
        fields = split_fields(text, number, path, len(CHAIN_FIELDS))
        if fields[0] == "" and fields[1] == "" and fields[2] == "":
            if underlying is not None or rows:
                raise OptionFileError(
                    number,
                    "an underlying row (empty expiry, strike and right) after the first data "
                    "row; the underlying's bar comes first, once",
                    path,
                )
            underlying = _underlying(fields, number, path)
            continue
        if underlying is None:
            raise OptionFileError(
                number,
                "the first data row must be the underlying's bar (empty expiry, strike and "
                "right)",
                path,
            )
        row = _contract(fields, number, path, day)
        key = (row[0], row[1], row[2])
        if key in seen:
            raise OptionFileError(
                number,
                f"duplicate contract {row[2]} {row[1]:g} expiring {row[0]}: already on line "
                f"{seen[key]}",
                path,
            )
        seen[key] = number
        rows.append(row)
    if underlying is None:
        raise OptionFileError(None, "the file has a header but no data rows", path)
    if not rows:
        raise OptionFileError(None, "the file holds the underlying's bar but no contracts", path)
    contracts = pd.DataFrame.from_records(rows, columns=CHAIN_COLUMNS)
    contracts = contracts.astype({"volume": "int64", "line": "int64"})
    return LeanChain(ticker=symbol, day=day, underlying=underlying, contracts=contracts)


def _day_from_name(source: Source) -> dt.date:
    if not isinstance(source, bytes):
        match = _CHAIN_NAME.fullmatch(Path(source).name)
        if match:
            try:
                return dt.datetime.strptime(match.group(1), "%Y%m%d").date()
            except ValueError:
                pass
    raise OptionInputError(
        "day",
        "a Lean chain file does not carry its date: give it, or read a file named yyyymmdd.csv",
    )


def _underlying(fields: list[str], line: int, path: str | None) -> UnderlyingBar:
    prices = [
        require_positive(
            parse_number(fields[i], CHAIN_FIELDS[i], line, path), CHAIN_FIELDS[i], line, path
        )
        for i in range(3, 7)
    ]
    volume = parse_count(fields[7], "volume", line, path)
    for i in range(8, len(fields)):
        if fields[i]:
            raise OptionFileError(
                line, f"column {CHAIN_FIELDS[i]!r} of the underlying's row must be empty", path
            )
    return UnderlyingBar(prices[0], prices[1], prices[2], prices[3], volume)


def _contract(fields: list[str], line: int, path: str | None, day: dt.date) -> tuple[object, ...]:
    expiry = parse_date(fields[0], "expiry", line, path, "yyyymmdd")
    if expiry < day:
        raise OptionFileError(
            line, f"column 'expiry': {expiry} is before the chain's day {day}", path
        )
    strike = require_positive(parse_number(fields[1], "strike", line, path), "strike", line, path)
    right = fields[2].upper()
    if right not in ("C", "P"):
        raise OptionFileError(
            line, f"column 'right': {quoted(fields[2])} is neither C (call) nor P (put)", path
        )
    prices = [
        require_non_negative(
            parse_number(fields[i], CHAIN_FIELDS[i], line, path), CHAIN_FIELDS[i], line, path
        )
        for i in range(3, 7)
    ]
    volume = parse_count(fields[7], "volume", line, path)
    interest = (
        float("nan")
        if fields[8] == ""
        else float(parse_count(fields[8], "open_interest", line, path))
    )
    iv = require_non_negative(
        parse_optional_number(fields[9], "implied_volatility", line, path),
        "implied_volatility",
        line,
        path,
    )
    greeks = [parse_optional_number(fields[i], CHAIN_FIELDS[i], line, path) for i in range(10, 15)]
    return (
        expiry,
        strike,
        right,
        *prices,
        volume,
        interest,
        float("nan") if iv == 0 else iv,  # the vendor writes 0 for "none"
        *greeks,
        line,
    )


_QUOTE_MEMBER = re.compile(
    r"([a-z0-9.\-^=]{1,15})_quote_american_(call|put)_(\d{1,12})_(\d{8})\.csv"
)
QUOTE_FIELDS = [
    "time",
    "bid open",
    "bid high",
    "bid low",
    "bid close",
    "bid size",
    "ask open",
    "ask high",
    "ask low",
    "ask close",
    "ask size",
]


def read_lean_quotes(source: Source, ticker: str) -> pd.DataFrame:
    """Daily closing bid and ask of every contract of a Lean quotes archive (a zip of one CSV
    per contract), `QUOTE_COLUMNS`, sorted by expiry, right, strike and date.

    `bid` is NaN where there was no bid (empty cells, size 0). A member whose name is not a
    contract of `ticker`, a day listed twice in a member, or a member or archive past its size
    bound (`MAX_MEMBER_BYTES`, `MAX_ZIP_MEMBERS`, `MAX_FILE_BYTES` in all) is an error."""
    symbol = check_ticker(ticker)
    raw, path = read_source(source)
    archive_name = path or "the archive"
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except ZIP_ERRORS as exc:
        raise OptionFileError(None, f"not a readable zip archive ({exc})", path) from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise OptionFileError(
                None, f"{len(members)} members; an archive holds at most {MAX_ZIP_MEMBERS}", path
            )
        if not members:
            raise OptionFileError(None, f"{archive_name} is empty", path)
        total = sum(member.file_size for member in members)
        if total > MAX_FILE_BYTES:
            raise OptionFileError(
                None, f"the archive unpacks to {total} bytes, more than {MAX_FILE_BYTES}", path
            )
        frames = []
        unpacked = 0  # the sizes an archive declares may lie: count what is really unpacked
        for member in members:
            frame, size = _quote_member(archive, member, symbol)
            unpacked += size
            if unpacked > MAX_FILE_BYTES:
                raise OptionFileError(
                    None, f"the archive unpacks to more than {MAX_FILE_BYTES} bytes", path
                )
            frames.append(frame)
    quotes = pd.concat(frames, ignore_index=True)
    quotes = quotes.sort_values(["expiry", "right", "strike", "date"], kind="stable")
    return quotes.reset_index(drop=True)


def _quote_member(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, symbol: str
) -> tuple[pd.DataFrame, int]:
    """One member's rows and its unpacked size."""
    name = member.filename
    match = _QUOTE_MEMBER.fullmatch(name)
    if match is None or match.group(1).upper() != symbol:
        raise OptionFileError(
            None,
            f"member {quoted(name)} is not named {symbol.lower()}_quote_american_"
            "{call|put}_{strike x 10,000}_{expiry yyyymmdd}.csv",
            name,
        )
    if member.file_size > MAX_MEMBER_BYTES:
        raise OptionFileError(
            None, f"the member is {member.file_size} bytes, more than {MAX_MEMBER_BYTES}", name
        )
    try:
        with archive.open(member) as handle:
            data = handle.read(MAX_MEMBER_BYTES + 1)
    except ZIP_ERRORS as exc:
        raise OptionFileError(None, f"the member cannot be unpacked ({exc})", name) from None
    if len(data) > MAX_MEMBER_BYTES:
        raise OptionFileError(None, f"the member unpacks past {MAX_MEMBER_BYTES} bytes", name)
    right = "C" if match.group(2) == "call" else "P"
    strike = int(match.group(3)) / PRICE_SCALE
    if strike <= 0:
        raise OptionFileError(None, "the strike in the member's name is 0", name)
    try:
        expiry = dt.datetime.strptime(match.group(4), "%Y%m%d").date()
    except ValueError:
        raise OptionFileError(
            None, f"the expiry {match.group(4)} in the member's name is not a date", name
        ) from None
    rows: list[tuple[object, ...]] = []
    seen: dict[dt.date, int] = {}
    for number, text in enumerate(text_lines(data, name), start=1):
        if not text.strip():
            continue
        fields = split_fields(text, number, name, len(QUOTE_FIELDS))
        day = _bar_day(fields[0], number, name)
        if day in seen:
            raise OptionFileError(number, f"{day} is already on line {seen[day]}", name)
        seen[day] = number
        bid_size = parse_count(fields[5], "bid size", number, name)
        ask_size = parse_count(fields[10], "ask size", number, name)
        bid = _quote_price(fields[4], "bid close", bid_size, number, name)
        ask = _quote_price(fields[9], "ask close", ask_size, number, name)
        if not np.isnan(bid) and not np.isnan(ask) and bid > ask:
            raise OptionFileError(
                number, f"crossed quote: bid close {bid:g} is above ask close {ask:g}", name
            )
        rows.append((expiry, strike, right, day, bid, ask, bid_size, ask_size, name, number))
    if not rows:
        raise OptionFileError(None, "the member holds no rows", name)
    frame = pd.DataFrame.from_records(rows, columns=QUOTE_COLUMNS)
    return frame.astype({"bid_size": "int64", "ask_size": "int64", "line": "int64"}), len(data)


def _bar_day(text: str, line: int, path: str | None) -> dt.date:
    match = _BAR_TIME.fullmatch(text)
    if match is None:
        raise OptionFileError(
            line, f"column 'time': {quoted(text)} is not a day in 'yyyymmdd 00:00' form", path
        )
    return parse_date(match.group(1), "time", line, path, "yyyymmdd")


def _quote_price(text: str, column: str, size: int, line: int, path: str | None) -> float:
    """A side's closing price in dollars; NaN when the side is empty with size 0 (no quote)."""
    if text == "":
        if size:
            raise OptionFileError(line, f"column {column!r} is empty but its size is {size}", path)
        return float("nan")
    value = parse_number(text, column, line, path) / PRICE_SCALE
    return require_non_negative(value, column, line, path)


def read_lean_equity_daily(source: Source) -> pd.DataFrame:
    """Daily bars of a Lean equity file (`BAR_COLUMNS`, prices in dollars, not adjusted for
    splits), in file order; a day listed twice is an error."""
    raw, path = read_source(source)
    rows: list[tuple[object, ...]] = []
    seen: dict[dt.date, int] = {}
    for number, text in enumerate(text_lines(raw, path), start=1):
        if not text.strip():
            continue
        fields = split_fields(text, number, path, 6)
        day = _bar_day(fields[0], number, path)
        if day in seen:
            raise OptionFileError(number, f"{day} is already on line {seen[day]}", path)
        seen[day] = number
        prices = [
            require_positive(parse_number(fields[i], name, number, path), name, number, path)
            / PRICE_SCALE
            for i, name in enumerate(BAR_COLUMNS[1:5], start=1)
        ]
        rows.append((day, *prices, parse_count(fields[5], "volume", number, path)))
    if not rows:
        raise OptionFileError(None, "the file is empty", path)
    return pd.DataFrame.from_records(rows, columns=BAR_COLUMNS).astype({"volume": "int64"})
