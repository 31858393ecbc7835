"""The ledger against hand-worked cases (average cost, realised/unrealised gain, splits,
dividends, fees, implicit deposits) and every rule."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

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
    assert pos.cost_basis == pytest.approx(2200.0)
    assert pos.average_cost == pytest.approx(110.0)
    assert state.cash == pytest.approx(2800.0)
    assert state.deposits == 5000 and state.implicit_deposits == 0
    # Unrealised at 130: 20 * 130 - 2200 = 400.
    assert pos.unrealised_gain(130.0) == pytest.approx(400.0)
    assert state.realised_gain == 0


def test_partial_sell_realises_against_average_cost() -> None:
    # Sell 5 @ 130 with 5 fees: cost removed 5 * 110 = 550; proceeds 650 - 5 = 645.
    state = replay(base() + [tx("SELL", D(2024, 2, 1), 5, "ACME", 130.0, fees=5.0)])
    pos = state.positions["ACME"]
    assert pos.shares == 15
    assert pos.cost_basis == pytest.approx(1650.0)
    assert pos.average_cost == pytest.approx(110.0)  # a sale does not change the average
    assert pos.realised_gain == pytest.approx(95.0)
    assert state.realised_gain == pytest.approx(95.0)
    assert state.cash == pytest.approx(2800.0 + 645.0)
    assert state.fees == pytest.approx(5.0)
    assert pos.unrealised_gain(100.0) == pytest.approx(15 * 100 - 1650)


def test_four_for_one_split_keeps_cost_and_divides_average() -> None:
    txs = base() + [
        tx("SELL", D(2024, 2, 1), 5, "ACME", 130.0, fees=5.0),
        tx("SPLIT", D(2024, 3, 1), 4, "ACME"),
    ]
    state = replay(txs)
    pos = state.positions["ACME"]
    assert pos.shares == 60
    assert pos.cost_basis == pytest.approx(1650.0)
    assert pos.average_cost == pytest.approx(27.5)
    # Sell everything @ 30 after the split: 1800 - 1650 = 150 more realised.
    state = replay(txs + [tx("SELL", D(2024, 3, 4), 60, "ACME", 30.0)])
    pos = state.positions["ACME"]
    assert pos.shares == 0 and pos.cost_basis == 0
    assert pos.average_cost is None
    assert pos.realised_gain == pytest.approx(245.0)
    assert state.open_positions == {}
    assert state.cash == pytest.approx(2800.0 + 645.0 + 1800.0)


def test_reverse_split_and_split_of_nothing_held() -> None:
    state = replay(base() + [tx("SPLIT", D(2024, 3, 1), 0.5, "ACME"),
                             tx("SPLIT", D(2024, 3, 1), 3, "OTHER")])  # fmt: skip
    assert state.positions["ACME"].shares == 10
    assert state.positions["ACME"].average_cost == pytest.approx(220.0)
    assert "OTHER" not in state.positions
    assert state.transactions == 5


def test_dividends_are_income_not_cost() -> None:
    # 20 shares paid 0.50 each, 1.00 withheld: cash + 9.00.
    state = replay(base() + [tx("DIVIDEND", D(2024, 3, 15), 20, "ACME", 0.5, fees=1.0)])
    pos = state.positions["ACME"]
    assert pos.dividends == pytest.approx(9.0)
    assert state.dividends == pytest.approx(9.0)
    assert pos.cost_basis == pytest.approx(2200.0)
    assert state.cash == pytest.approx(2809.0)
    assert state.fees == pytest.approx(1.0)


def test_fees_enter_cost_basis_and_fee_entries_reduce_cash() -> None:
    txs = [
        tx("DEPOSIT", D(2024, 1, 2), 1000),
        tx("BUY", D(2024, 1, 3), 10, "ACME", 50.0, fees=10.0),
        tx("FEE", D(2024, 1, 31), 25),
        tx("FEE", D(2024, 1, 31), 2, "ACME", 1.5),  # 2 x 1.5 = 3, booked against ACME
    ]
    state = replay(txs)
    pos = state.positions["ACME"]
    assert pos.cost_basis == pytest.approx(510.0)
    assert pos.average_cost == pytest.approx(51.0)
    assert pos.fees == pytest.approx(13.0)
    assert state.fees == pytest.approx(38.0)
    assert state.cash == pytest.approx(1000 - 510 - 25 - 3)


def test_buys_without_cash_are_funded_by_implicit_deposits() -> None:
    txs = [
        tx("DEPOSIT", D(2024, 1, 2), 300),
        tx("BUY", D(2024, 1, 3), 10, "ACME", 100.0, fees=1.0),  # costs 1001: 701 short
    ]
    state = replay(txs)
    assert state.cash == 0
    assert state.implicit_deposits == pytest.approx(701.0)
    assert state.net_contributions == pytest.approx(1001.0)


def test_withdrawals_and_deposit_fees() -> None:
    txs = [
        tx("DEPOSIT", D(2024, 1, 2), 1000, fees=2.0),
        tx("WITHDRAW", D(2024, 1, 5), 400, fees=1.0),
        tx("WITHDRAW", D(2024, 1, 6), 597),  # exactly what is left
    ]
    state = replay(txs)
    assert state.cash == 0
    assert state.withdrawals == pytest.approx(997.0)
    assert state.fees == pytest.approx(3.0)
    assert state.net_contributions == pytest.approx(3.0)


def test_costs_above_proceeds_are_funded() -> None:
    txs = [
        tx("BUY", D(2024, 1, 3), 1, "ACME", 10.0),
        tx("SELL", D(2024, 1, 4), 1, "ACME", 0.0, fees=2.0),  # worthless, and a fee
        tx("DIVIDEND", D(2024, 1, 5), 1, "ACME", 0.0, fees=1.0),
    ]
    state = replay(txs)
    assert state.cash == 0
    assert state.implicit_deposits == pytest.approx(13.0)
    assert state.realised_gain == pytest.approx(-12.0)
    assert state.dividends == pytest.approx(-1.0)


def test_same_day_entries_apply_in_the_order_given() -> None:
    day = D(2024, 1, 3)
    ok = [tx("BUY", day, 5, "ACME", 10.0), tx("SELL", day, 5, "ACME", 11.0)]
    assert replay(ok).positions["ACME"].realised_gain == pytest.approx(5.0)
    with pytest.raises(LedgerError):
        replay(list(reversed(ok)))
    # Earlier dates first, whatever the order given.
    state = replay([tx("SELL", D(2024, 1, 4), 5, "ACME", 11.0), tx("BUY", day, 5, "ACME", 10.0)])
    assert state.positions["ACME"].shares == 0


def test_state_helpers() -> None:
    state = replay(base() + [tx("BUY", D(2024, 1, 5), 1, "ZED", 10.0),
                             tx("SELL", D(2024, 1, 6), 1, "ZED", 12.0)])  # fmt: skip
    assert state.shares() == {"ACME": 20}
    assert state.cost_basis() == {"ACME": pytest.approx(2200.0)}
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
    assert err.value.status_code == 422
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
        tx("WITHDRAW", D(2024, 2, 4), 1e9, ref=8),
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
