"""Exact decimals of the ledger: the bounds of what it accepts, parsing, and decimal text.

Pure (no I/O). The ledger's money and quantities are `decimal.Decimal`, never binary floats, so
`0.1 + 0.2` is `0.3` and a cash balance never reads `5065.099999999999`.

Bounds (README "Portfolios"):

- An input (quantity, price, fees) is a finite decimal with at most `SCALE` = 6 decimal places
  and at most `MAX_INPUT` = 999,999,999.999999 in magnitude: exactly what the database's
  `NUMERIC(15, 6)` columns hold. Fifteen significant digits also survive SQLite, which keeps
  NUMERIC values as 64-bit floats (any 15-digit decimal comes back as itself).
- Everything the ledger derives (an entry's amount, shares held, cash, cost basis, gains,
  totals) stays below `MAX_AMOUNT` = 10**15 in magnitude, or the entry is refused. Within these
  bounds every sum and product has at most 15 + 12 digits, far inside `CONTEXT`'s 60, so they
  are exact; the only roundings are divisions (the cost a sale removes, the average cost) and a
  split's new share count, rounded half-even to `DERIVED_SCALE` = 12 decimal places.
- Market values (shares x a stored close, which the price store keeps as a float) are rounded
  half-even to 6 decimal places.
"""

from __future__ import annotations

import math
import re
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from typing import Annotated, Final

from pydantic import PlainSerializer

from backend.reference.amounts import PRECISION as PRECISION
from backend.reference.amounts import SCALE as SCALE

INPUT_QUANTUM: Final = Decimal(1).scaleb(-SCALE)
MAX_INPUT: Final = Decimal(10**PRECISION - 1).scaleb(-SCALE)  # 999999999.999999
DERIVED_SCALE: Final = 12
DERIVED_QUANTUM: Final = Decimal(1).scaleb(-DERIVED_SCALE)
MAX_AMOUNT: Final = Decimal(10) ** 15
MARKET_QUANTUM: Final = INPUT_QUANTUM
ZERO: Final = Decimal(0)
ONE: Final = Decimal(1)

# Ledger arithmetic: wide enough that bounded sums and products are exact; anything that
# cannot be a number (NaN, division by zero, overflow) raises instead of spreading.
CONTEXT: Final = Context(
    prec=60,
    rounding=ROUND_HALF_EVEN,
    Emax=999_999,
    Emin=-999_999,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)

# Number text accepted from a CSV cell: plain or scientific decimal notation, no digit
# separators, no hexadecimal, no "NaN"/"Infinity"; the exponent is bounded so that parsing a
# hostile cell stays cheap.
NUMBER_TEXT: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,4})?")
MAX_NUMBER_TEXT: Final = 64
# Decimal text of a JSON string input: what the bounds allow, written plainly in ASCII digits
# (a schema's `\d` is ASCII, Python's any Unicode digit).
INPUT_TEXT_PATTERN: Final = rf"^[0-9]{{1,{PRECISION - SCALE}}}(\.[0-9]{{1,{SCALE}}})?$"
# The same above 0 (not only zeros), and exactly 0.
POSITIVE_INPUT_TEXT_PATTERN: Final = "^(?![0.]*$)" + INPUT_TEXT_PATTERN[1:]
ZERO_TEXT_PATTERN: Final = rf"^0{{1,{PRECISION - SCALE}}}(\.0{{1,{SCALE}}})?$"
# Decimal text of an answer (`text()`): an optional minus, digits, optional fraction.
OUTPUT_TEXT_PATTERN: Final = r"^-?[0-9]+(\.[0-9]+)?$"


class DecimalRuleError(ValueError):
    """A value that is not an acceptable ledger number; `rule` names the broken rule."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def parse(value: Decimal | float | int | str) -> Decimal:
    """`value` as an exact Decimal: an int as it is, a float by its shortest decimal text
    (`0.1` -> `Decimal("0.1")`, the number the sender wrote), a string by `NUMBER_TEXT`.

    Raises DecimalRuleError("number") for text that is not a number (and for booleans),
    DecimalRuleError("finite") for NaN and infinities."""
    if isinstance(value, bool):
        raise DecimalRuleError("number", f"{value!r} is not a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise DecimalRuleError("finite", f"{value} is not a finite number")
        result = Decimal(repr(value))
    elif isinstance(value, str):
        raw = value.strip()
        if len(raw) > MAX_NUMBER_TEXT or not NUMBER_TEXT.fullmatch(raw):
            shown = raw if len(raw) <= 40 else raw[:40] + "..."
            raise DecimalRuleError("number", f"{shown!r} is not a number")
        result = Decimal(raw)
    else:
        raise DecimalRuleError("number", f"{value!r} is not a number")
    if not result.is_finite():
        raise DecimalRuleError("finite", f"{result} is not a finite number")
    return result


def decimal_places(value: Decimal) -> int:
    """How many decimal places `value` needs (`1.50` -> 1, `1E+3` -> 0)."""
    exponent = value.normalize(CONTEXT).as_tuple().exponent
    assert isinstance(exponent, int)  # finite values only
    return max(0, -exponent)


def check_input(value: Decimal) -> Decimal:
    """`value` when it fits the inputs' bounds (at most 6 decimal places, magnitude at most
    999,999,999.999999), else DecimalRuleError("max_decimals" or "max_magnitude")."""
    if abs(value) > MAX_INPUT:
        raise DecimalRuleError(
            "max_magnitude", f"{shown(value)} is above the largest accepted value {MAX_INPUT}"
        )
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -SCALE and decimal_places(value) > SCALE:
        raise DecimalRuleError(
            "max_decimals", f"{shown(value)} has more than {SCALE} decimal places"
        )
    return value


def within_amount(value: Decimal) -> bool:
    """Whether a derived amount is inside the ledger's bound: |value| < 10**15."""
    return abs(value) < MAX_AMOUNT


def quantize(value: Decimal, quantum: Decimal = DERIVED_QUANTUM) -> Decimal:
    """`value` rounded half-even to the places of `quantum` (12 by default)."""
    return value.quantize(quantum, rounding=ROUND_HALF_EVEN, context=CONTEXT)


def divide(numerator: Decimal, denominator: Decimal) -> Decimal:
    """`numerator / denominator` rounded half-even to 12 decimal places."""
    return quantize(CONTEXT.divide(numerator, denominator))


def price_decimal(price: float) -> Decimal:
    """A stored close (a float) as the decimal it was written as (its shortest text)."""
    return Decimal(repr(float(price)))


def market_value(shares: Decimal, price: float | None) -> Decimal | None:
    """`shares x price` rounded half-even to 6 places; None without a finite price."""
    if price is None or not math.isfinite(price):
        return None
    return quantize(CONTEXT.multiply(shares, price_decimal(price)), MARKET_QUANTUM)


def text(value: Decimal) -> str:
    """The canonical decimal text: no exponent, no trailing zeros, `0` for any zero
    (`Decimal("750.90")` -> `"750.9"`, `Decimal("1E+3")` -> `"1000"`)."""
    if value.is_zero():
        return "0"
    return format(value.normalize(CONTEXT), "f")


def shown(value: Decimal) -> str:
    """`text(value)` for a message, in scientific notation when that would be long."""
    plain = text(value)
    return plain if len(plain) <= 40 else format(value, ".6e")


def to_float(value: Decimal) -> float:
    """For the floating-point views (analysis, rebalance, performance)."""
    return float(value)


def round_amount(value: float | None) -> float | None:
    """A floating-point amount as answered by the views: rounded to 6 decimal places, which
    removes binary residue (`7067.599999999999` -> `7067.6`); None and non-finite stay."""
    if value is None or not math.isfinite(value):
        return value
    rounded = round(value, SCALE)
    return 0.0 if rounded == 0 else rounded


# A floating-point amount of a view: rounded to 6 places in JSON answers (`round_amount`).
Amount = Annotated[float, PlainSerializer(round_amount, return_type=float, when_used="json")]
