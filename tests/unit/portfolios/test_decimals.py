"""The ledger's decimal rules: parsing, bounds, decimal text, market values, view rounding."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from backend.portfolios import decimals
from backend.portfolios.decimals import DecimalRuleError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "value, expected",
    [(0.1, "0.1"), (75.09, "75.09"), (1e-06, "0.000001"), (10, "10"), ("  2.50 ", "2.50"),
     ("1e3", "1E+3"), (Decimal("7.25"), "7.25"), (123456789.123456, "123456789.123456")],
)  # fmt: skip
def test_parse_reads_what_the_sender_wrote(value: object, expected: str) -> None:
    assert str(decimals.parse(value)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value, rule",
    [(math.nan, "finite"), (math.inf, "finite"), (Decimal("NaN"), "finite"), ("nan", "number"),
     ("Infinity", "number"), ("0x1F", "number"), ("1,5", "number"), ("", "number"),
     (True, "number"), ("9" * 65, "number"), ("1e12345", "number"), (None, "number")],
)  # fmt: skip
def test_parse_refuses_what_is_not_a_finite_number(value: object, rule: str) -> None:
    with pytest.raises(DecimalRuleError) as err:
        decimals.parse(value)  # type: ignore[arg-type]
    assert err.value.rule == rule


def test_bounds_of_inputs() -> None:
    assert decimals.check_input(Decimal("999999999.999999")) == Decimal("999999999.999999")
    assert decimals.check_input(Decimal("-0.000001")) == Decimal("-0.000001")
    assert decimals.check_input(Decimal("1.500000000")) == Decimal("1.500000000")
    for value, rule in ((Decimal("1000000000"), "max_magnitude"), (Decimal("1E+400"),
                        "max_magnitude"), (Decimal("0.0000001"), "max_decimals")):  # fmt: skip
        with pytest.raises(DecimalRuleError) as err:
            decimals.check_input(value)
        assert err.value.rule == rule
    assert decimals.within_amount(Decimal(10**15 - 1)) and not decimals.within_amount(
        Decimal(-(10**15))
    )


@pytest.mark.parametrize(
    "value, text",
    [("750.90", "750.9"), ("1E+3", "1000"), ("-0", "0"), ("0E-12", "0"), ("1.5E-7", "0.00000015"),
     ("-12.340", "-12.34"), ("5065.100000", "5065.1")],
)  # fmt: skip
def test_decimal_text_is_canonical(value: str, text: str) -> None:
    assert decimals.text(Decimal(value)) == text


def test_market_values_and_roundings() -> None:
    # 15 x 133.5 = 2002.5; 3 x 131.94317626953125 = 395.82952880859375 -> 395.829529.
    assert decimals.market_value(Decimal(15), 133.5) == Decimal("2002.5")
    assert decimals.market_value(Decimal(3), 131.94317626953125) == Decimal("395.829529")
    assert decimals.market_value(Decimal(3), None) is None
    assert decimals.market_value(Decimal(3), math.nan) is None
    assert decimals.divide(Decimal(100), Decimal(3)) == Decimal("33.333333333333")
    assert decimals.divide(Decimal(2), Decimal(3)) == Decimal("0.666666666667")
    assert decimals.round_amount(7067.599999999999) == 7067.6
    assert decimals.round_amount(-1e-9) == 0.0 and str(decimals.round_amount(-1e-9)) == "0.0"
    assert decimals.round_amount(None) is None
    assert math.isnan(decimals.round_amount(math.nan) or 0.0)
