"""Reader of Yahoo Finance's raw options answer (`/v7/finance/options/{ticker}`, the JSON that
yfinance's `Ticker.option_chain` parses).

Shape: `{"optionChain": {"result": [{"underlyingSymbol", "expirationDates": [epoch, ...],
"quote": {"regularMarketPrice", "regularMarketTime", ...}, "options": [{"expirationDate",
"calls": [contract, ...], "puts": [...]}]}], "error": null}}`, a contract being
`{"contractSymbol", "strike", "lastPrice", "bid", "ask", "volume", "openInterest",
"impliedVolatility", "expiration", "lastTradeDate", "inTheMoney", ...}`. Times are Unix epochs
(seconds, UTC); an expiry's epoch is 00:00 UTC of its date.

All or nothing: a malformed answer raises `OptionFileError`. A JSON syntax error names its line;
a value that breaks a rule is named by its JSON path (Yahoo's answers are one line long, so a
line number would say nothing), e.g. `optionChain.result[0].options[0].calls[3].bid`. JSON's
`NaN`/`Infinity`, duplicate keys and control characters in kept text are refused; fields the
reader does not use are ignored; a contract's missing bid, ask, last price, volume, open
interest or implied volatility is NaN (Yahoo leaves some out), never 0.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from backend.options._text import Source, check_ticker, decode_text, quoted, read_source
from backend.options.errors import OptionFileError, OptionInputError
from backend.validation import CONTROL_RE

CONTRACT_COLUMNS = [
    "contract_symbol",
    "expiry",
    "strike",
    "right",
    "last",
    "bid",
    "ask",
    "volume",
    "open_interest",
    "vendor_iv",
    "last_trade_time",
]
# Epochs outside 1970..2100 are not times of an options answer.
MAX_EPOCH = 4_102_444_800
MAX_TEXT = 64


@dataclass(frozen=True)
class YahooChain:
    ticker: str
    quote_time: dt.datetime  # regularMarketTime, UTC: when `spot` was the price
    spot: float  # regularMarketPrice
    expiries: tuple[dt.date, ...]  # every listed expiry (the answer's chains cover some)
    earnings: tuple[dt.datetime, ...]  # earningsTimestamp/-Start/-End when given, sorted
    contracts: pd.DataFrame  # CONTRACT_COLUMNS


class _Bad(Exception):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")


def read_yahoo_options(source: Source, ticker: str | None = None) -> YahooChain:
    """The chain(s) of a Yahoo options answer (bytes or a path); with `ticker`, the answer
    must be that underlying's."""
    wanted = None if ticker is None else check_ticker(ticker)
    raw, path = read_source(source)
    text = decode_text(raw, path)
    if not text.strip():
        raise OptionFileError(None, "the file is empty", path)
    try:
        document = json.loads(
            text, parse_constant=_refuse_constant, object_pairs_hook=_no_duplicates
        )
    except json.JSONDecodeError as exc:
        raise OptionFileError(
            exc.lineno, f"not valid JSON: {exc.msg} (column {exc.colno})", path
        ) from None
    except _Bad as exc:
        raise OptionFileError(None, str(exc), path) from None
    except RecursionError:
        raise OptionFileError(None, "the JSON is nested too deeply", path) from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise OptionFileError(None, f"not valid JSON: {exc}", path) from None
    try:
        chain = _chain(document)
    except _Bad as exc:
        raise OptionFileError(None, str(exc), path) from None
    if wanted is not None and chain.ticker != wanted:
        raise OptionInputError("ticker", f"the answer is for {chain.ticker}, not {wanted}")
    return chain


def _refuse_constant(name: str) -> Any:
    raise _Bad("JSON", f"{name} is not a number (only finite numbers are accepted)")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Bad("JSON", f"key {quoted(key)} appears twice in one object")
        out[key] = value
    return out


def _get(obj: Any, key: str, path: str) -> Any:
    if not isinstance(obj, dict):
        raise _Bad(path, f"expected an object, found {_kind(obj)}")
    if key not in obj:
        raise _Bad(f"{path}.{key}" if path else key, "missing")
    return obj[key]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "true/false"}.get(
        type(value), "a number"
    )


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Bad(path, f"expected an array, found {_kind(value)}")
    return value


def _number(value: Any, path: str, minimum: float | None = None, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad(path, f"expected a number, found {_kind(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise _Bad(path, "not a finite number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise _Bad(path, "not a finite number")
    if minimum is not None and (number <= minimum if strict else number < minimum):
        raise _Bad(
            path, f"{number:g} must be {'greater than' if strict else 'at least'} {minimum:g}"
        )
    return number


def _optional_number(obj: dict[str, Any], key: str, path: str) -> float:
    if key not in obj or obj[key] is None:
        return float("nan")
    return _number(obj[key], f"{path}.{key}", minimum=0.0)


def _epoch(value: Any, path: str) -> dt.datetime:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(path, f"expected a Unix time in whole seconds, found {_kind(value)}")
    if not 0 <= value <= MAX_EPOCH:
        raise _Bad(path, f"{value} is not a Unix time between 1970 and 2100")
    return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _Bad(path, f"expected a string, found {_kind(value)}")
    if len(value) > MAX_TEXT:
        raise _Bad(path, f"longer than {MAX_TEXT} characters")
    found = CONTROL_RE.search(value)
    if found is not None:
        raise _Bad(path, f"a control character (U+{ord(found.group()):04X})")
    return value


def _chain(document: Any) -> YahooChain:
    root = _get(document, "optionChain", "")
    error = root.get("error") if isinstance(root, dict) else None
    if error is not None:
        raise _Bad("optionChain.error", f"Yahoo answered an error: {quoted(json.dumps(error))}")
    results = _list(_get(root, "result", "optionChain"), "optionChain.result")
    if len(results) != 1:
        raise _Bad("optionChain.result", f"expected one result, found {len(results)}")
    base = "optionChain.result[0]"
    result = results[0]
    symbol = _text(_get(result, "underlyingSymbol", base), f"{base}.underlyingSymbol")
    try:
        ticker = check_ticker(symbol)
    except OptionInputError as exc:
        raise _Bad(f"{base}.underlyingSymbol", exc.reason) from None
    quote = _get(result, "quote", base)
    spot = _number(
        _get(quote, "regularMarketPrice", f"{base}.quote"),
        f"{base}.quote.regularMarketPrice",
        minimum=0.0,
        strict=True,
    )
    quote_time = _epoch(
        _get(quote, "regularMarketTime", f"{base}.quote"), f"{base}.quote.regularMarketTime"
    )
    earnings = sorted(
        _epoch(quote[key], f"{base}.quote.{key}")
        for key in ("earningsTimestamp", "earningsTimestampStart", "earningsTimestampEnd")
        if isinstance(quote, dict) and quote.get(key) is not None
    )
    listed = _list(_get(result, "expirationDates", base), f"{base}.expirationDates")
    expiries = tuple(
        _epoch(value, f"{base}.expirationDates[{i}]").date() for i, value in enumerate(listed)
    )
    rows: list[tuple[object, ...]] = []
    seen: dict[tuple[object, ...], str] = {}
    options = _list(_get(result, "options", base), f"{base}.options")
    for i, option in enumerate(options):
        where = f"{base}.options[{i}]"
        expiry = _epoch(_get(option, "expirationDate", where), f"{where}.expirationDate").date()
        for side, right in (("calls", "C"), ("puts", "P")):
            contracts = _list(_get(option, side, where), f"{where}.{side}")
            for j, contract in enumerate(contracts):
                row = _contract(contract, f"{where}.{side}[{j}]", expiry, right)
                key = (row[1], row[2], row[3])
                if key in seen:
                    raise _Bad(f"{where}.{side}[{j}]", f"the same contract as {seen[key]}")
                seen[key] = f"{where}.{side}[{j}]"
                rows.append(row)
    if not rows:
        raise _Bad(f"{base}.options", "the answer holds no contracts")
    contracts_frame = pd.DataFrame.from_records(rows, columns=CONTRACT_COLUMNS)
    return YahooChain(
        ticker=ticker,
        quote_time=quote_time,
        spot=spot,
        expiries=expiries,
        earnings=tuple(earnings),
        contracts=contracts_frame,
    )


def _contract(contract: Any, path: str, expiry: dt.date, right: str) -> tuple[object, ...]:
    if not isinstance(contract, dict):
        raise _Bad(path, f"expected an object, found {_kind(contract)}")
    symbol = _text(_get(contract, "contractSymbol", path), f"{path}.contractSymbol")
    strike = _number(_get(contract, "strike", path), f"{path}.strike", minimum=0.0, strict=True)
    if contract.get("expiration") is not None:
        own = _epoch(contract["expiration"], f"{path}.expiration").date()
        if own != expiry:
            raise _Bad(f"{path}.expiration", f"{own} differs from its chain's expiry {expiry}")
    traded = contract.get("lastTradeDate")
    last_trade = None if traded is None else _epoch(traded, f"{path}.lastTradeDate")
    return (
        symbol,
        expiry,
        strike,
        right,
        _optional_number(contract, "lastPrice", path),
        _optional_number(contract, "bid", path),
        _optional_number(contract, "ask", path),
        _optional_number(contract, "volume", path),
        _optional_number(contract, "openInterest", path),
        _optional_number(contract, "impliedVolatility", path),
        last_trade,
    )
