"""The ledger against hand-worked cases (average cost, realised/unrealised gain, splits,
dividends, fees, implicit deposits) and every rule."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from backend.errors import InvalidInput
from backend.portfolios.ledger import (
    LedgerError,
    LedgerState,
    Transaction,
    TxType,
    check,
    daily_positions,
    holdings_value,
    make_transaction,
    parse_type,
    replay,
)

pytestmark = pytest.mark.unit

D = dt.date
TODAY = D(2024, 6, 28)


def exact(value: float) -> Decimal:
    """A hand-worked figure as the exact decimal the ledger must give (no float tolerance)."""
    return Decimal(repr(value))


def tx(type_: str, day: D, qty: float, ticker: str | None = None, price: float | None = None,
       fees: float = 0.0, ref: int | None = None) -> Transaction:  # fmt: skip
    return make_transaction(
        date=day, type=type_, quantity=qty, ticker=ticker, price=price, fees=fees,
        today=TODAY, ref=ref,
    )  # fmt: skip


def base() -> list[Transaction]:
    """Deposit 5,000; buy 10 @ 100 and 10 @ 120 (average cost 110)."""
    return [
        tx("DEPOSIT", D(2024, 1, 2), 5000),
        tx("BUY", D(2024, 1, 3), 10, "ACME", 100.0),
        tx("BUY", D(2024, 1, 4), 10, "ACME", 120.0),
    ]


def test_buys_at_different_prices_average_the_cost() -> None:
    state = replay(base())
    pos = state.positions["ACME"]
    assert pos.shares == 20
    assert pos.cost_basis == exact(2200.0)
    assert pos.average_cost == exact(110.0)
    assert state.cash == exact(2800.0)
    assert state.deposits == 5000 and state.implicit_deposits == 0
    # Unrealised at 130: 20 * 130 - 2200 = 400.
    assert pos.unrealised_gain(130.0) == exact(400.0)
    assert state.realised_gain == 0


def test_partial_sell_realises_against_average_cost() -> None:
    # Sell 5 @ 130 with 5 fees: cost removed 5 * 110 = 550; proceeds 650 - 5 = 645.
    state = replay(base() + [tx("SELL", D(2024, 2, 1), 5, "ACME", 130.0, fees=5.0)])
    pos = state.positions["ACME"]
    assert pos.shares == 15
    assert pos.cost_basis == exact(1650.0)
    assert pos.average_cost == exact(110.0)  # a sale does not change the average
    assert pos.realised_gain == exact(95.0)
    assert state.realised_gain == exact(95.0)
    assert state.cash == exact(2800.0 + 645.0)
    assert state.fees == exact(5.0)
    assert pos.unrealised_gain(100.0) == exact(15 * 100 - 1650)


def test_four_for_one_split_keeps_cost_and_divides_average() -> None:
    txs = base() + [
        tx("SELL", D(2024, 2, 1), 5, "ACME", 130.0, fees=5.0),
        tx("SPLIT", D(2024, 3, 1), 4, "ACME"),
    ]
    state = replay(txs)
    pos = state.positions["ACME"]
    assert pos.shares == 60
    assert pos.cost_basis == exact(1650.0)
    assert pos.average_cost == exact(27.5)
    # Sell everything @ 30 after the split: 1800 - 1650 = 150 more realised.
    state = replay(txs + [tx("SELL", D(2024, 3, 4), 60, "ACME", 30.0)])
    pos = state.positions["ACME"]
    assert pos.shares == 0 and pos.cost_basis == 0
    assert pos.average_cost is None
    assert pos.realised_gain == exact(245.0)
    assert state.open_positions == {}
    assert state.cash == exact(2800.0 + 645.0 + 1800.0)


def test_reverse_split_and_split_of_nothing_held() -> None:
    state = replay(base() + [tx("SPLIT", D(2024, 3, 1), 0.5, "ACME"),
                             tx("SPLIT", D(2024, 3, 1), 3, "OTHER")])  # fmt: skip
    assert state.positions["ACME"].shares == 10
    assert state.positions["ACME"].average_cost == exact(220.0)
    assert "OTHER" not in state.positions
    assert state.transactions == 5


def test_dividends_are_income_not_cost() -> None:
    # 20 shares paid 0.50 each, 1.00 withheld: cash + 9.00.
    state = replay(base() + [tx("DIVIDEND", D(2024, 3, 15), 20, "ACME", 0.5, fees=1.0)])
    pos = state.positions["ACME"]
    assert pos.dividends == exact(9.0)
    assert state.dividends == exact(9.0)
    assert pos.cost_basis == exact(2200.0)
    assert state.cash == exact(2809.0)
    assert state.fees == exact(1.0)


def test_fees_enter_cost_basis_and_fee_entries_reduce_cash() -> None:
    txs = [
        tx("DEPOSIT", D(2024, 1, 2), 1000),
        tx("BUY", D(2024, 1, 3), 10, "ACME", 50.0, fees=10.0),
        tx("FEE", D(2024, 1, 31), 25),
        tx("FEE", D(2024, 1, 31), 2, "ACME", 1.5),  # 2 x 1.5 = 3, booked against ACME
    ]
    state = replay(txs)
    pos = state.positions["ACME"]
    assert pos.cost_basis == exact(510.0)
    assert pos.average_cost == exact(51.0)
    assert pos.fees == exact(13.0)
    assert state.fees == exact(38.0)
    assert state.cash == exact(1000 - 510 - 25 - 3)


def test_buys_without_cash_are_funded_by_implicit_deposits() -> None:
    txs = [
        tx("DEPOSIT", D(2024, 1, 2), 300),
        tx("BUY", D(2024, 1, 3), 10, "ACME", 100.0, fees=1.0),  # costs 1001: 701 short
    ]
    state = replay(txs)
    assert state.cash == 0
    assert state.implicit_deposits == exact(701.0)
    assert state.net_contributions == exact(1001.0)


def test_withdrawals_and_deposit_fees() -> None:
    txs = [
        tx("DEPOSIT", D(2024, 1, 2), 1000, fees=2.0),
        tx("WITHDRAW", D(2024, 1, 5), 400, fees=1.0),
        tx("WITHDRAW", D(2024, 1, 6), 597),  # exactly what is left
    ]
    state = replay(txs)
    assert state.cash == 0
    assert state.withdrawals == exact(997.0)
    assert state.fees == exact(3.0)
    assert state.net_contributions == exact(3.0)


def test_costs_above_proceeds_are_funded() -> None:
    txs = [
        tx("BUY", D(2024, 1, 3), 1, "ACME", 10.0),
        tx("SELL", D(2024, 1, 4), 1, "ACME", 0.0, fees=2.0),  # worthless, and a fee
        tx("DIVIDEND", D(2024, 1, 5), 1, "ACME", 0.0, fees=1.0),
    ]
    state = replay(txs)
    assert state.cash == 0
    assert state.implicit_deposits == exact(13.0)
    assert state.realised_gain == exact(-12.0)
    assert state.dividends == exact(-1.0)


def test_same_day_entries_apply_in_the_order_given() -> None:
    day = D(2024, 1, 3)
    ok = [tx("BUY", day, 5, "ACME", 10.0), tx("SELL", day, 5, "ACME", 11.0)]
    assert replay(ok).positions["ACME"].realised_gain == exact(5.0)
    with pytest.raises(LedgerError):
        replay(list(reversed(ok)))
    # Earlier dates first, whatever the order given.
    state = replay([tx("SELL", D(2024, 1, 4), 5, "ACME", 11.0), tx("BUY", day, 5, "ACME", 10.0)])
    assert state.positions["ACME"].shares == 0


def test_state_helpers() -> None:
    state = replay(base() + [tx("BUY", D(2024, 1, 5), 1, "ZED", 10.0),
                             tx("SELL", D(2024, 1, 6), 1, "ZED", 12.0)])  # fmt: skip
    assert state.shares() == {"ACME": 20}
    assert state.cost_basis() == {"ACME": exact(2200.0)}
    assert set(state.positions) == {"ACME", "ZED"}  # closed positions keep their gains
    assert holdings_value(state, {"ACME": 50.0}) == {"ACME": 1000.0}
    assert holdings_value(state, {}) == {"ACME": None}
    pos = state.positions["ACME"]
    assert pos.unrealised_gain(None) is None
    assert pos.unrealised_gain(math.nan) is None
    copy = state.copy()
    copy.positions["ACME"].shares = 0
    assert state.positions["ACME"].shares == 20
    assert LedgerState().net_contributions == 0


def test_amount_of_cash_entries() -> None:
    assert tx("DEPOSIT", D(2024, 1, 2), 250).amount == 250
    assert tx("DEPOSIT", D(2024, 1, 2), 2, price=125.0).amount == 250
    assert parse_type(" buy ") is TxType.BUY


# ------------------------------------------------------------------------------ rules


@pytest.mark.parametrize(
    "kwargs, field, rule",
    [
        (dict(type="BUY", quantity=-1, ticker="A", price=1.0), "quantity", "ge_0"),
        (dict(type="BUY", quantity=0, ticker="A", price=1.0), "quantity", "gt_0"),
        (dict(type="BUY", quantity=1, ticker="A", price=-1.0), "price", "ge_0"),
        (dict(type="BUY", quantity=1, ticker="A", price=1.0, fees=-1.0), "fees", "ge_0"),
        (dict(type="BUY", quantity=1, ticker="A"), "price", "required"),
        (dict(type="SELL", quantity=1, price=1.0), "ticker", "required"),
        (dict(type="DIVIDEND", quantity=1, ticker="A"), "price", "required"),
        (dict(type="SPLIT", quantity=0, ticker="A"), "quantity", "gt_0"),
        (dict(type="SPLIT", quantity=-2, ticker="A"), "quantity", "gt_0"),
        (dict(type="SPLIT", quantity=2, ticker="A", price=1.0), "price", "absent"),
        (dict(type="SPLIT", quantity=2, ticker="A", fees=1.0), "fees", "absent"),
        (dict(type="DEPOSIT", quantity=10, ticker="A"), "ticker", "absent"),
        (dict(type="WITHDRAW", quantity=-10), "quantity", "ge_0"),
        (dict(type="TRANSFER", quantity=1), "type", "known"),
        (dict(type="BUY", quantity=math.inf, ticker="A", price=1.0), "quantity", "finite"),
        (dict(type="BUY", quantity=1, ticker="A", price=math.nan), "price", "finite"),
        (dict(type="BUY", quantity=1, ticker="A", price=1.0, date=D(2024, 6, 29)), "date",
         "not_in_future"),
    ],
)  # fmt: skip
def test_rules_of_one_transaction(kwargs: dict[str, object], field: str, rule: str) -> None:
    args = {"date": D(2024, 1, 2), "today": TODAY, "ref": 7, **kwargs}
    with pytest.raises(LedgerError) as err:
        make_transaction(**args)
    assert err.value.field == field
    assert err.value.rule == rule
    assert isinstance(err.value, InvalidInput)  # answered 422
    assert err.value.details == {"field": field, "rule": rule, "ref": 7}


def test_today_may_be_left_out() -> None:
    assert make_transaction(date=D(2999, 1, 1), type="DEPOSIT", quantity=1).quantity == 1


def test_selling_more_than_held_is_refused() -> None:
    with pytest.raises(LedgerError) as err:
        replay(base() + [tx("SELL", D(2024, 2, 1), 21, "ACME", 130.0, ref=4)])
    assert err.value.rule == "not_more_than_held"
    assert err.value.ref == 4
    assert "only 20 held" in err.value.message
    with pytest.raises(LedgerError):
        replay([tx("SELL", D(2024, 2, 1), 1, "NOPE", 1.0)])


def test_withdrawing_more_than_cash_is_refused() -> None:
    with pytest.raises(LedgerError) as err:
        replay([tx("DEPOSIT", D(2024, 1, 2), 100), tx("WITHDRAW", D(2024, 1, 3), 100.5)])
    assert err.value.rule == "not_more_than_cash"


def test_check_collects_every_broken_rule() -> None:
    txs = base() + [
        tx("SELL", D(2024, 2, 1), 50, "ACME", 1.0, ref=5),
        tx("SELL", D(2024, 2, 2), 20, "ACME", 1.0, ref=6),  # fine: the bad one was skipped
        tx("SELL", D(2024, 2, 3), 1, "ACME", 1.0, ref=7),  # nothing left
        tx("WITHDRAW", D(2024, 2, 4), 1e8, ref=8),
    ]
    state, errors = check(txs)
    assert [e.ref for e in errors] == [5, 7, 8]
    assert state.positions["ACME"].shares == 0


# ------------------------------------------------------------------------- daily series


def test_daily_positions_on_a_trading_calendar() -> None:
    dates = pd.bdate_range("2024-01-03", "2024-01-10")  # Wed 3 .. Wed 10
    txs = [
        tx("DEPOSIT", D(2024, 1, 1), 2000),  # before the first date: in flows[0]
        tx("BUY", D(2024, 1, 3), 10, "ACME", 100.0),
        tx("DEPOSIT", D(2024, 1, 6), 500),  # Saturday: counts on Monday the 8th
        tx("SPLIT", D(2024, 1, 8), 2, "ACME"),
        tx("SELL", D(2024, 1, 9), 5, "ACME", 60.0),
        tx("WITHDRAW", D(2024, 1, 10), 100),
        tx("BUY", D(2024, 1, 12), 1, "ZED", 1.0),  # after the last date: left out
    ]
    daily = daily_positions(txs, dates)
    assert list(daily.shares.columns) == ["ACME", "ZED"]
    assert daily.shares["ACME"].tolist() == [10, 10, 10, 20, 15, 15]
    assert daily.shares["ZED"].tolist() == [0] * 6
    assert daily.cash.tolist() == pytest.approx([1000, 1000, 1000, 1500, 1800, 1700])
    assert daily.flows.tolist() == pytest.approx([2000, 0, 0, 500, 0, -100])
    assert daily.cash.index.equals(dates)


def test_daily_positions_counts_implicit_deposits_as_flows() -> None:
    dates = [D(2024, 1, 3), D(2024, 1, 4)]
    daily = daily_positions([tx("BUY", D(2024, 1, 4), 2, "ACME", 10.0, fees=1.0)], dates)
    assert daily.flows.tolist() == [0, 21]
    assert daily.cash.tolist() == [0, 0]


def test_daily_positions_edge_cases() -> None:
    empty = daily_positions([], [])
    assert empty.shares.empty and empty.cash.empty
    with pytest.raises(ValueError):
        daily_positions([], [D(2024, 1, 4), D(2024, 1, 3)])
    with pytest.raises(LedgerError):
        daily_positions([tx("SELL", D(2024, 1, 3), 1, "ACME", 1.0)], [D(2024, 1, 3)])


# ------------------------------------------------------------------------- exact decimals


def test_money_is_exact_decimal() -> None:
    # 0.1 + 0.2 is 0.30000000000000004 in binary floating point; the ledger says 0.3.
    state = replay([tx("DEPOSIT", D(2024, 1, 2), 0.1), tx("DEPOSIT", D(2024, 1, 3), 0.2)])
    assert state.deposits == Decimal("0.3") and state.cash == Decimal("0.3")
    # Deposit 10,000; buy 10 @ 75 and 10 @ 85 (fee 1 each); sell 5 @ 120; 15 shares paid
    # 0.205 each: cash = 10000 - 751 - 851 + 600 + 3.075 = 9001.075, exactly.
    state = replay([
        tx("DEPOSIT", D(2024, 1, 2), 10000),
        tx("BUY", D(2024, 1, 3), 10, "ACME", 75.0, fees=1.0),
        tx("BUY", D(2024, 1, 4), 10, "ACME", 85.0, fees=1.0),
        tx("SELL", D(2024, 1, 5), 5, "ACME", 120.0),
        tx("DIVIDEND", D(2024, 1, 8), 15, "ACME", 0.205),
    ])  # fmt: skip
    assert state.cash == Decimal("9001.075")
    assert state.dividends == Decimal("3.075")
    pos = state.positions["ACME"]
    # Cost 1602 over 20 shares; 5 sold remove 5 * 80.1 = 400.5.
    assert pos.cost_basis == Decimal("1201.5") and pos.average_cost == Decimal("80.1")
    assert pos.realised_gain == Decimal("199.5")


def test_numbers_may_be_decimal_text() -> None:
    t = make_transaction(date=D(2024, 1, 2), type="BUY", quantity="2.5", ticker="A",
                         price="75.09", fees="1e-2")  # fmt: skip
    assert (t.quantity, t.price, t.fees) == (Decimal("2.5"), Decimal("75.09"), Decimal("0.01"))
    assert t.amount == Decimal("187.725")


def test_a_sale_removes_cost_rounded_to_12_places_and_all_of_it_at_the_end() -> None:
    # Cost 3 * 10 + 0.01 = 30.01. Selling 1 of 3 removes 30.01 / 3 = 10.00333... -> 12 places.
    txs = [tx("BUY", D(2024, 1, 2), 3, "ACME", 10.0, fees=0.01),
           tx("SELL", D(2024, 1, 3), 1, "ACME", 11.0)]  # fmt: skip
    pos = replay(txs).positions["ACME"]
    assert pos.cost_basis == Decimal("20.006666666667")
    assert pos.realised_gain == Decimal("0.996666666667")  # 11 - 10.003333333333
    # 20.006666666667 / 2 = 10.0033333333335: half-even to 12 places rounds up to the even 4.
    assert pos.average_cost == Decimal("10.003333333334")
    # Selling the rest removes the whole remaining cost: the gains add up to 33 - 30.01.
    pos = replay(txs + [tx("SELL", D(2024, 1, 4), 2, "ACME", 11.0)]).positions["ACME"]
    assert pos.cost_basis == 0 and pos.realised_gain == Decimal("2.99")


def test_split_share_counts_round_half_even_to_12_places() -> None:
    txs = [tx("BUY", D(2024, 1, 2), 1, "ACME", 10.0)]
    txs += [tx("SPLIT", D(2024, 1, 3 + i), 0.333333, "ACME") for i in range(3)]
    # 0.333333^2 = 0.111110888889 exactly; ^3 = 0.037036925926037037 -> 0.037036925926.
    assert replay(txs[:3]).positions["ACME"].shares == Decimal("0.111110888889")
    assert replay(txs).positions["ACME"].shares == Decimal("0.037036925926")
    # Three shares after a 1-for-3 given as 0.333333 are 0.999999: selling 1 is refused.
    three = [
        tx("BUY", D(2024, 1, 2), 3, "ACME", 10.0),
        tx("SPLIT", D(2024, 1, 3), 0.333333, "ACME"),
    ]
    assert replay(three).positions["ACME"].shares == Decimal("0.999999")
    with pytest.raises(LedgerError):
        replay(three + [tx("SELL", D(2024, 1, 4), 1, "ACME", 30.0)])


@pytest.mark.parametrize(
    "kwargs, field, rule",
    [
        (dict(type="BUY", quantity=1e308, ticker="A", price=1.0), "quantity", "max_magnitude"),
        (dict(type="DEPOSIT", quantity=1e9), "quantity", "max_magnitude"),
        (dict(type="BUY", quantity=1, ticker="A", price="1000000000"), "price", "max_magnitude"),
        (dict(type="BUY", quantity=1, ticker="A", price=1.0, fees=-1e300), "fees",
         "max_magnitude"),
        (dict(type="BUY", quantity=0.1234567, ticker="A", price=1.0), "quantity",
         "max_decimals"),
        (dict(type="BUY", quantity=1, ticker="A", price="0.0000001"), "price", "max_decimals"),
        # Each finite and in bounds, the product is not: 999,999,999 x 999,999,999 > 10^15.
        (dict(type="BUY", quantity=999999999, ticker="A", price=999999999.0), "quantity",
         "max_amount"),
        (dict(type="DEPOSIT", quantity="NaN"), "quantity", "number"),
        (dict(type="DEPOSIT", quantity="0x10"), "quantity", "number"),
        (dict(type="DEPOSIT", quantity="1_000"), "quantity", "number"),
        (dict(type="DEPOSIT", quantity=True), "quantity", "number"),
        (dict(type="DEPOSIT", quantity=-math.inf), "quantity", "finite"),
        (dict(type="DEPOSIT", quantity=1, note="x" * 501), "note", "max_length"),
        (dict(type="DEPOSIT", quantity=1, note="a\x00b"), "note", "no_control_characters"),
        (dict(type="DEPOSIT", quantity=1, note="a\x1bb"), "note", "no_control_characters"),
    ],
)  # fmt: skip
def test_bounds_of_one_transaction(kwargs: dict[str, object], field: str, rule: str) -> None:
    with pytest.raises(LedgerError) as err:
        args: dict[str, Any] = {"date": D(2024, 1, 2), "today": TODAY, **kwargs}
        make_transaction(**args)
    assert (err.value.field, err.value.rule) == (field, rule)


def test_the_largest_inputs_are_accepted_and_exact() -> None:
    t = make_transaction(date=D(2024, 1, 2), type="DEPOSIT", quantity="999999999.999999")
    assert t.amount == Decimal("999999999.999999")
    assert make_transaction(
        date=D(2024, 1, 2), type="DEPOSIT", quantity="1.5000000"
    ).quantity == Decimal("1.5")
    note = make_transaction(date=D(2024, 1, 2), type="DEPOSIT", quantity=1, note="a\tb\r\nc")
    assert note.note == "a\tb\r\nc"
    assert make_transaction(date=D(2024, 1, 2), type="DEPOSIT", quantity=1, note="").note is None


def test_an_amount_past_the_bound_is_refused_and_leaves_the_state_as_it_was() -> None:
    # 10^8 shares, then a 10^8-for-1 split: 10^16 shares, past 10^15.
    txs = [
        tx("BUY", D(2024, 1, 2), 1e8, "ACME", 1.0),
        tx("SPLIT", D(2024, 1, 3), 1e8, "ACME", ref=2),
    ]
    with pytest.raises(LedgerError) as err:
        replay(txs)
    assert (err.value.field, err.value.rule, err.value.ref) == ("quantity", "max_amount", 2)
    assert "ACME shares" in err.value.message
    state, errors = check(txs + [tx("SELL", D(2024, 1, 4), 1, "ACME", 2.0)])
    assert [e.rule for e in errors] == ["max_amount"]
    assert state.positions["ACME"].shares == Decimal(10**8 - 1)
    assert state.cash == 2 and state.implicit_deposits == Decimal(10**8)
    # Cash totals: each deposit in bounds (999,999,999 x 999,999 = 999,998,999,000,001), two
    # of them (1,999,997,998,000,002) are not.
    one = tx("DEPOSIT", D(2024, 1, 2), 999999999, price=999999.0, ref=1)
    state, errors = check([one, replace(one, ref=2)])
    assert [(e.ref, e.rule) for e in errors] == [(2, "max_amount")]
    assert state.deposits == state.cash == Decimal("999998999000001")
    assert "the cash 1999997998000002" in errors[0].message
