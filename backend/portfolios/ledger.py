"""The transaction ledger: holdings, cash, cost basis and gains derived from transactions.

Pure functions over in-memory values (no database, no clock: callers pass `today`).

Conventions (README "Portfolios"):

- Transactions apply in (date, sequence) order; same-day entries in the order they were added.
- BUY  q @ p, fees f: shares += q; cost basis += q*p + f; cash -= q*p + f.
- SELL q @ p, fees f: the position's average cost a = cost/shares; cost basis -= a*q;
  realised gain += q*p - f - a*q; cash += q*p - f. Selling more than held is refused.
- DIVIDEND q @ p, fees f: q shares paid p per share, f withheld; cash += q*p - f (income,
  counted in the position's `dividends`, not in its cost basis).
- SPLIT q (the ratio: 4 for a 4-for-1 split, 0.5 for a 1-for-2 reverse split): shares *= q;
  cost basis unchanged (the average cost divides by q). A ratio of 0 is refused.
- DEPOSIT / WITHDRAW / FEE: a cash amount of q * p (p defaults to 1, so q is the amount).
  DEPOSIT and WITHDRAW are external flows; FEE is a cost. Withdrawing more cash than the
  portfolio holds is refused.
- Cash never goes below zero silently: a BUY or FEE that costs more than the cash held is
  funded by an *implicit deposit* of the shortfall. It counts as an external flow (so returns
  stay time-weighted) and is reported as `implicit_deposits`. A ledger without any DEPOSIT is
  therefore a plain record of trades whose buys bring their own money.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from backend.errors import InvalidInput

# Below this many shares (or currency units) a value is rounding noise and counts as zero.
EPSILON = 1e-9


class TxType(StrEnum):
    BUY = "BUY"
    SELL = "SELL"
    DIVIDEND = "DIVIDEND"
    SPLIT = "SPLIT"
    DEPOSIT = "DEPOSIT"
    WITHDRAW = "WITHDRAW"
    FEE = "FEE"


TICKER_TYPES = frozenset({TxType.BUY, TxType.SELL, TxType.DIVIDEND, TxType.SPLIT})
PRICED_TYPES = frozenset({TxType.BUY, TxType.SELL, TxType.DIVIDEND})
CASH_TYPES = frozenset({TxType.DEPOSIT, TxType.WITHDRAW, TxType.FEE})


class LedgerError(InvalidInput):
    """A transaction that breaks a ledger rule. Nothing is stored when one is raised.

    `details` names the field, the rule, and `ref` (the transaction id or CSV line)."""

    code = "ledger_rule"

    def __init__(
        self, message: str, field_name: str, rule: str, ref: int | str | None = None
    ) -> None:
        details: dict[str, Any] = {"field": field_name, "rule": rule}
        if ref is not None:
            details["ref"] = ref
        super().__init__(message, details)
        self.field = field_name
        self.rule = rule
        self.ref = ref


@dataclass(frozen=True)
class Transaction:
    """One validated ledger entry. `ref` identifies it in errors (an id or a CSV line)."""

    date: dt.date
    type: TxType
    quantity: float
    ticker: str | None = None
    price: float | None = None
    fees: float = 0.0
    note: str | None = None
    ref: int | str | None = None

    @property
    def amount(self) -> float:
        """The gross cash amount: q * p (p = 1 for cash entries without a price)."""
        price = 1.0 if self.price is None else self.price
        return self.quantity * price


def _finite(value: float | None, name: str, ref: int | str | None) -> None:
    if value is not None and not math.isfinite(value):
        raise LedgerError(f"{name} must be a finite number", name, "finite", ref)


def parse_type(raw: str, ref: int | str | None = None) -> TxType:
    value = raw.strip().upper()
    try:
        return TxType(value)
    except ValueError:
        known = ", ".join(t.value for t in TxType)
        raise LedgerError(
            f"unknown transaction type {raw!r}: it must be one of {known}", "type", "known", ref
        ) from None


def make_transaction(
    *,
    date: dt.date,
    type: str | TxType,
    quantity: float,
    ticker: str | None = None,
    price: float | None = None,
    fees: float | None = None,
    note: str | None = None,
    today: dt.date | None = None,
    ref: int | str | None = None,
) -> Transaction:
    """Check one transaction on its own (everything but the rules that need the history).

    `ticker` must already be normalised (upper case) by the caller."""
    kind = type if isinstance(type, TxType) else parse_type(type, ref)
    _finite(quantity, "quantity", ref)
    _finite(price, "price", ref)
    _finite(fees, "fees", ref)
    fee = 0.0 if fees is None else float(fees)
    if today is not None and date > today:
        raise LedgerError(
            f"date {date.isoformat()} is in the future (today is {today.isoformat()})",
            "date",
            "not_in_future",
            ref,
        )
    if kind in TICKER_TYPES and not ticker:
        raise LedgerError(f"a {kind.value} needs a ticker", "ticker", "required", ref)
    if kind in (TxType.DEPOSIT, TxType.WITHDRAW) and ticker:
        raise LedgerError(
            f"a {kind.value} is a cash movement and takes no ticker", "ticker", "absent", ref
        )
    if kind == TxType.SPLIT:
        if quantity <= 0:
            raise LedgerError(
                f"split ratio must be greater than 0, not {quantity:g}", "quantity", "gt_0", ref
            )
        if price is not None:
            raise LedgerError(
                "a SPLIT takes no price (its ratio is the quantity)", "price", "absent", ref
            )
        if fee != 0:
            raise LedgerError("a SPLIT takes no fees", "fees", "absent", ref)
    else:
        if quantity < 0:
            raise LedgerError(
                f"quantity must not be negative, not {quantity:g}", "quantity", "ge_0", ref
            )
        if quantity == 0:
            raise LedgerError(f"a {kind.value} needs a quantity above 0", "quantity", "gt_0", ref)
    if price is not None and price < 0:
        raise LedgerError(f"price must not be negative, not {price:g}", "price", "ge_0", ref)
    if kind in PRICED_TYPES and price is None:
        raise LedgerError(f"a {kind.value} needs a price", "price", "required", ref)
    if fee < 0:
        raise LedgerError(f"fees must not be negative, not {fee:g}", "fees", "ge_0", ref)
    return Transaction(
        date=date,
        type=kind,
        quantity=float(quantity),
        ticker=ticker or None,
        price=None if price is None else float(price),
        fees=fee,
        note=note,
        ref=ref,
    )


@dataclass
class Position:
    """One ticker's position. `shares` 0 means closed (realised gain and dividends remain)."""

    ticker: str
    shares: float = 0.0
    cost_basis: float = 0.0
    realised_gain: float = 0.0
    dividends: float = 0.0
    fees: float = 0.0

    @property
    def average_cost(self) -> float | None:
        return self.cost_basis / self.shares if self.shares > EPSILON else None

    def unrealised_gain(self, price: float | None) -> float | None:
        """Market value at `price` minus cost basis; None without a price (never zero)."""
        if price is None or (isinstance(price, float) and math.isnan(price)):
            return None
        return self.shares * price - self.cost_basis


@dataclass
class LedgerState:
    """Everything derived from a ledger: positions, cash and the totals of each kind."""

    positions: dict[str, Position] = field(default_factory=dict)
    cash: float = 0.0
    deposits: float = 0.0
    withdrawals: float = 0.0
    implicit_deposits: float = 0.0
    fees: float = 0.0
    dividends: float = 0.0
    realised_gain: float = 0.0
    transactions: int = 0

    @property
    def open_positions(self) -> dict[str, Position]:
        return {t: p for t, p in self.positions.items() if p.shares > EPSILON}

    @property
    def net_contributions(self) -> float:
        """Deposits (explicit and implicit) less withdrawals: the money put in from outside."""
        return self.deposits + self.implicit_deposits - self.withdrawals

    def shares(self) -> dict[str, float]:
        return {t: p.shares for t, p in self.open_positions.items()}

    def cost_basis(self) -> dict[str, float]:
        return {t: p.cost_basis for t, p in self.open_positions.items()}

    def copy(self) -> LedgerState:
        return replace(self, positions={t: replace(p) for t, p in self.positions.items()})


def _fund(state: LedgerState, cost: float) -> float:
    """Take `cost` from cash; an implicit deposit covers any shortfall. Returns that deposit."""
    shortfall = cost - state.cash
    implicit = shortfall if shortfall > EPSILON else 0.0
    state.implicit_deposits += implicit
    state.cash = state.cash + implicit - cost
    if abs(state.cash) < EPSILON:
        state.cash = 0.0
    return implicit


def apply(state: LedgerState, tx: Transaction) -> float:
    """Apply one transaction to `state` in place. Returns its external flow (deposits +,
    withdrawals -, implicit deposits +). Raises LedgerError, leaving `state` unchanged,
    when a rule that depends on the history is broken."""
    flow = _apply_position(state, tx) if tx.type in TICKER_TYPES else _apply_cash(state, tx)
    state.transactions += 1
    return flow


def _apply_position(state: LedgerState, tx: Transaction) -> float:
    kind = tx.type
    assert tx.ticker is not None
    pos = state.positions.get(tx.ticker)
    held = pos.shares if pos is not None else 0.0
    if kind == TxType.SELL and tx.quantity > held + EPSILON:
        raise LedgerError(
            f"selling {tx.quantity:g} {tx.ticker} on {tx.date.isoformat()} but only "
            f"{held:g} held",
            "quantity",
            "not_more_than_held",
            tx.ref,
        )
    if kind == TxType.SPLIT:
        if pos is not None:  # a split of something not held changes nothing
            pos.shares *= tx.quantity
        return 0.0
    if pos is None:
        pos = state.positions[tx.ticker] = Position(tx.ticker)
    pos.fees += tx.fees
    state.fees += tx.fees
    if kind == TxType.BUY:
        cost = tx.amount + tx.fees
        pos.shares += tx.quantity
        pos.cost_basis += cost
        return _fund(state, cost)
    if kind == TxType.SELL:
        quantity = min(tx.quantity, pos.shares)
        removed = pos.cost_basis * (quantity / pos.shares)
        proceeds = tx.amount - tx.fees
        gain = proceeds - removed
        pos.shares -= quantity
        pos.cost_basis -= removed
        if pos.shares <= EPSILON:
            pos.shares = 0.0
            pos.cost_basis = 0.0
        pos.realised_gain += gain
        state.realised_gain += gain
        return _credit(state, proceeds)
    # DIVIDEND
    income = tx.amount - tx.fees
    pos.dividends += income
    state.dividends += income
    return _credit(state, income)


def _credit(state: LedgerState, amount: float) -> float:
    """Add `amount` to cash; a negative amount (fees above proceeds) is a cost."""
    if amount >= 0:
        state.cash += amount
        return 0.0
    return _fund(state, -amount)


def _apply_cash(state: LedgerState, tx: Transaction) -> float:
    kind = tx.type
    if kind == TxType.DEPOSIT:
        state.deposits += tx.amount
        state.fees += tx.fees
        state.cash += tx.amount
        return tx.amount + _fund(state, tx.fees)
    if kind == TxType.WITHDRAW:
        total = tx.amount + tx.fees
        if total > state.cash + EPSILON:
            raise LedgerError(
                f"withdrawing {total:g} on {tx.date.isoformat()} but the cash held is "
                f"{state.cash:g}",
                "quantity",
                "not_more_than_cash",
                tx.ref,
            )
        state.withdrawals += tx.amount
        state.fees += tx.fees
        _fund(state, total)  # never funds anything: total <= cash
        return -tx.amount
    # FEE
    cost = tx.amount + tx.fees
    state.fees += cost
    if tx.ticker and tx.ticker in state.positions:
        state.positions[tx.ticker].fees += cost
    return _fund(state, cost)


def order(transactions: Iterable[Transaction]) -> list[Transaction]:
    """Ledger order: by date, keeping the given order within a day (a stable sort)."""
    return sorted(transactions, key=lambda t: t.date)


def replay(transactions: Iterable[Transaction]) -> LedgerState:
    """The state after every transaction, in ledger order. Raises the first LedgerError."""
    state = LedgerState()
    for tx in order(transactions):
        apply(state, tx)
    return state


def check(transactions: Iterable[Transaction]) -> tuple[LedgerState, list[LedgerError]]:
    """Replay, skipping (and collecting) every transaction that breaks a rule, so that one
    bad entry does not hide the others. The state is what the valid entries give."""
    state = LedgerState()
    errors: list[LedgerError] = []
    for tx in order(transactions):
        try:
            apply(state, tx)
        except LedgerError as exc:
            errors.append(exc)
    return state, errors


@dataclass(frozen=True)
class DailyLedger:
    """The ledger on a date index: shares held at each day's end, cash, and external flows.

    `flows[i]` is the net external money (deposits and implicit deposits +, withdrawals -)
    dated after `dates[i-1]` and on or before `dates[i]`; `flows[0]` holds everything on or
    before the first date (the money behind the starting value). Entries dated on a day
    missing from the index count on the next date of the index; entries after its last date
    are left out."""

    shares: pd.DataFrame  # dates x tickers
    cash: pd.Series
    flows: pd.Series


def daily_positions(
    transactions: Iterable[Transaction], dates: Sequence[dt.date] | pd.DatetimeIndex
) -> DailyLedger:
    """Shares per ticker, cash and external flows at the end of each date of `dates`
    (ascending). Raises LedgerError like `replay`."""
    index = pd.DatetimeIndex(pd.to_datetime(list(dates))).normalize()
    if len(index) and not index.is_monotonic_increasing:
        raise ValueError("dates must be ascending")
    txs = order(transactions)
    tickers = sorted({t.ticker for t in txs if t.ticker is not None and t.type in TICKER_TYPES})
    col = {t: i for i, t in enumerate(tickers)}
    shares = np.zeros((len(index), len(tickers)))
    cash = np.zeros(len(index))
    flows = np.zeros(len(index))
    state = LedgerState()
    day_numbers = index.values.astype("datetime64[D]")
    k = 0
    for i, day in enumerate(day_numbers):
        while k < len(txs) and np.datetime64(txs[k].date, "D") <= day:
            flows[i] += apply(state, txs[k])
            k += 1
        cash[i] = state.cash
        for ticker, pos in state.positions.items():
            shares[i, col[ticker]] = pos.shares
    return DailyLedger(
        shares=pd.DataFrame(shares, index=index, columns=pd.Index(tickers, dtype="object")),
        cash=pd.Series(cash, index=index, name="cash"),
        flows=pd.Series(flows, index=index, name="flows"),
    )


def holdings_value(
    state: LedgerState, prices: Mapping[str, float | None]
) -> dict[str, float | None]:
    """Market value per open position (None where there is no price)."""
    out: dict[str, float | None] = {}
    for ticker, pos in state.open_positions.items():
        price = prices.get(ticker)
        out[ticker] = None if price is None else pos.shares * price
    return out
