"""The transaction ledger: holdings, cash, cost basis and gains derived from transactions.

Pure functions over in-memory values (no database, no clock: callers pass `today`). Amounts and
quantities are exact decimals (`backend/portfolios/decimals.py`: bounds, roundings); the daily
series handed to the floating-point performance maths are converted at the end.

Conventions (README "Portfolios"):

- Transactions apply in (date, sequence) order; same-day entries in the order they were added.
- BUY  q @ p, fees f: shares += q; cost basis += q*p + f; cash -= q*p + f.
- SELL q @ p, fees f: the cost removed is c = cost * q / shares (rounded half-even to 12
  places; the whole cost basis when q is every share held); cost basis -= c;
  realised gain += q*p - f - c; cash += q*p - f. Selling more than held is refused.
- DIVIDEND q @ p, fees f: q shares paid p per share, f withheld; cash += q*p - f (income,
  counted in the position's `dividends`, not in its cost basis).
- SPLIT q (the ratio: 4 for a 4-for-1 split, 0.5 for a 1-for-2 reverse split): shares *= q
  (rounded half-even to 12 places); cost basis unchanged (the average cost divides by q). A
  ratio of 0 is refused.
- DEPOSIT / WITHDRAW / FEE: a cash amount of q * p (p defaults to 1, so q is the amount).
  DEPOSIT and WITHDRAW are external flows; FEE is a cost. Withdrawing more cash than the
  portfolio holds is refused.
- Cash never goes below zero silently: a BUY or FEE that costs more than the cash held is
  funded by an *implicit deposit* of the shortfall. It counts as an external flow (so returns
  stay time-weighted) and is reported as `implicit_deposits`. A ledger without any DEPOSIT is
  therefore a plain record of trades whose buys bring their own money.
- Bounds: quantity, price and fees have at most 6 decimal places and a magnitude of at most
  999,999,999.999999; every amount derived from them (the entry's amount, shares held, cash,
  cost basis, gains, totals) stays below 10**15, or the entry is refused (`max_amount`) and
  the state is left as it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, localcontext
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from backend.errors import InvalidInput, Rule
from backend.portfolios import decimals
from backend.portfolios.decimals import ONE, ZERO, DecimalRuleError
from backend.reference.tickers import TICKER_RULE, normalize_ticker
from backend.validation import first_control_char

NOTE_MAX_LENGTH = 500

Number = Decimal | float | int | str


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
TICKERLESS_TYPES = frozenset({TxType.DEPOSIT, TxType.WITHDRAW})  # cash movements take none

# What no schema of one transaction can state: the clock, a product of fields, and the history
# before it. Declared by the routes that add, import or delete transactions.
HISTORY_RULES = (
    Rule("ledger_rule", "not_in_future", "a transaction's date must not be after today"),
    Rule(
        "ledger_rule",
        "max_amount",
        f"quantity x price + fees, and every amount derived, stay below {decimals.MAX_AMOUNT:,}",
    ),
    Rule("ledger_rule", "not_more_than_held", "a SELL sells at most the shares held on its date"),
    Rule("ledger_rule", "not_more_than_cash", "a WITHDRAW takes at most the cash held on its date"),
)


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
    quantity: Decimal
    ticker: str | None = None
    price: Decimal | None = None
    fees: Decimal = ZERO
    note: str | None = None
    ref: int | str | None = None

    @property
    def amount(self) -> Decimal:
        """The gross cash amount: q * p (p = 1 for cash entries without a price); exact."""
        price = ONE if self.price is None else self.price
        return decimals.CONTEXT.multiply(self.quantity, price)


def _number(value: Number | None, name: str, ref: int | str | None) -> Decimal | None:
    """A caller's number as an exact Decimal within the inputs' bounds, or LedgerError."""
    if value is None:
        return None
    try:
        return decimals.check_input(decimals.parse(value))
    except DecimalRuleError as exc:
        raise LedgerError(f"{name}: {exc.message}", name, exc.rule, ref) from None


def _note(value: str | None, ref: int | str | None) -> str | None:
    """The note as given (tab, line feed and carriage return allowed); empty is no note."""
    if value is None or value == "":
        return None
    if len(value) > NOTE_MAX_LENGTH:
        raise LedgerError(
            f"note is {len(value)} characters; at most {NOTE_MAX_LENGTH} are accepted",
            "note",
            "max_length",
            ref,
        )
    index = first_control_char(value, multiline=True)
    if index is not None:
        raise LedgerError(
            f"note has control character U+{ord(value[index]):04X} at position {index}: only "
            "tab, line feed and carriage return are allowed",
            "note",
            "no_control_characters",
            ref,
        )
    return value


def parse_ticker(raw: str | None, ref: int | str | None = None) -> str | None:
    """The upper-case ticker; None when blank; LedgerError when it breaks the ticker rule."""
    if raw is None or not raw.strip():
        return None
    ticker = normalize_ticker(raw)
    if ticker is None:
        shown = raw if len(raw) <= 20 else raw[:20] + "..."
        raise LedgerError(
            f"ticker {shown!r} is malformed: it must be {TICKER_RULE}", "ticker", "format", ref
        )
    return ticker


def parse_type(raw: str, ref: int | str | None = None) -> TxType:
    value = raw.strip().upper()
    try:
        return TxType(value)
    except ValueError:
        known = ", ".join(t.value for t in TxType)
        shown = raw if len(raw) <= 20 else raw[:20] + "..."
        raise LedgerError(
            f"unknown transaction type {shown!r}: it must be one of {known}", "type", "known", ref
        ) from None


def make_transaction(
    *,
    date: dt.date,
    type: str | TxType,
    quantity: Number,
    ticker: str | None = None,
    price: Number | None = None,
    fees: Number | None = None,
    note: str | None = None,
    today: dt.date | None = None,
    ref: int | str | None = None,
) -> Transaction:
    """Check one transaction on its own (everything but the rules that need the history).

    Numbers may be Decimals, ints, floats (read as their shortest decimal text) or decimal
    text. `ticker` must already be normalised (upper case) by the caller."""
    kind = type if isinstance(type, TxType) else parse_type(type, ref)
    qty = _number(quantity, "quantity", ref)
    assert qty is not None
    px = _number(price, "price", ref)
    fee = _number(fees, "fees", ref) or ZERO
    text_note = _note(note, ref)
    if today is not None and date > today:
        raise LedgerError(
            f"date {date.isoformat()} is in the future (today is {today.isoformat()})",
            "date",
            "not_in_future",
            ref,
        )
    if kind in TICKER_TYPES and not ticker:
        raise LedgerError(f"a {kind.value} needs a ticker", "ticker", "required", ref)
    if kind in TICKERLESS_TYPES and ticker:
        raise LedgerError(
            f"a {kind.value} is a cash movement and takes no ticker", "ticker", "absent", ref
        )
    if kind == TxType.SPLIT:
        if qty <= 0:
            raise LedgerError(
                f"split ratio must be greater than 0, not {decimals.text(qty)}",
                "quantity",
                "gt_0",
                ref,
            )
        if px is not None:
            raise LedgerError(
                "a SPLIT takes no price (its ratio is the quantity)", "price", "absent", ref
            )
        if fee != 0:
            raise LedgerError("a SPLIT takes no fees", "fees", "absent", ref)
    else:
        if qty < 0:
            raise LedgerError(
                f"quantity must not be negative, not {decimals.text(qty)}", "quantity", "ge_0", ref
            )
        if qty == 0:
            raise LedgerError(f"a {kind.value} needs a quantity above 0", "quantity", "gt_0", ref)
    if px is not None and px < 0:
        raise LedgerError(
            f"price must not be negative, not {decimals.text(px)}", "price", "ge_0", ref
        )
    if kind in PRICED_TYPES and px is None:
        raise LedgerError(f"a {kind.value} needs a price", "price", "required", ref)
    if fee < 0:
        raise LedgerError(
            f"fees must not be negative, not {decimals.text(fee)}", "fees", "ge_0", ref
        )
    tx = Transaction(
        date=date, type=kind, quantity=qty, ticker=ticker or None, price=px, fees=fee,
        note=text_note, ref=ref,
    )  # fmt: skip
    total = tx.amount + fee
    if not decimals.within_amount(total):
        raise LedgerError(
            f"the amount quantity x price + fees = {decimals.shown(total)} is not below the "
            f"largest accepted amount {decimals.MAX_AMOUNT:,}",
            "quantity",
            "max_amount",
            ref,
        )
    return tx


@dataclass
class Position:
    """One ticker's position. `shares` 0 means closed (realised gain and dividends remain)."""

    ticker: str
    shares: Decimal = ZERO
    cost_basis: Decimal = ZERO
    realised_gain: Decimal = ZERO
    dividends: Decimal = ZERO
    fees: Decimal = ZERO

    @property
    def average_cost(self) -> Decimal | None:
        """cost basis / shares, rounded half-even to 12 places; None when closed."""
        return decimals.divide(self.cost_basis, self.shares) if self.shares > 0 else None

    def market_value(self, price: float | None) -> Decimal | None:
        """shares x price (6 places); None without a price (never zero)."""
        return decimals.market_value(self.shares, price)

    def unrealised_gain(self, price: float | None) -> Decimal | None:
        """Market value at `price` minus cost basis; None without a price (never zero)."""
        value = self.market_value(price)
        if value is None:
            return None
        return decimals.CONTEXT.subtract(value, self.cost_basis)


@dataclass
class LedgerState:
    """Everything derived from a ledger: positions, cash and the totals of each kind."""

    positions: dict[str, Position] = field(default_factory=dict)
    cash: Decimal = ZERO
    deposits: Decimal = ZERO
    withdrawals: Decimal = ZERO
    implicit_deposits: Decimal = ZERO
    fees: Decimal = ZERO
    dividends: Decimal = ZERO
    realised_gain: Decimal = ZERO
    transactions: int = 0

    @property
    def open_positions(self) -> dict[str, Position]:
        return {t: p for t, p in self.positions.items() if p.shares > 0}

    @property
    def net_contributions(self) -> Decimal:
        """Deposits (explicit and implicit) less withdrawals: the money put in from outside."""
        with localcontext(decimals.CONTEXT):
            return self.deposits + self.implicit_deposits - self.withdrawals

    def shares(self) -> dict[str, Decimal]:
        return {t: p.shares for t, p in self.open_positions.items()}

    def cost_basis(self) -> dict[str, Decimal]:
        return {t: p.cost_basis for t, p in self.open_positions.items()}

    def copy(self) -> LedgerState:
        return replace(self, positions={t: replace(p) for t, p in self.positions.items()})


_TOTALS = tuple(f.name for f in fields(LedgerState) if f.name not in ("positions", "transactions"))
_POSITION_AMOUNTS = ("shares", "cost_basis", "realised_gain", "dividends", "fees")
_MAX = decimals.MAX_AMOUNT
_MIN = -decimals.MAX_AMOUNT


def _fund(state: LedgerState, cost: Decimal) -> Decimal:
    """Take `cost` from cash; an implicit deposit covers any shortfall. Returns that deposit."""
    shortfall = cost - state.cash
    implicit = shortfall if shortfall > 0 else ZERO
    state.implicit_deposits += implicit
    state.cash = state.cash + implicit - cost
    return implicit


def apply(state: LedgerState, tx: Transaction) -> Decimal:
    """Apply one transaction to `state` in place. Returns its external flow (deposits +,
    withdrawals -, implicit deposits +). Raises LedgerError, leaving `state` unchanged,
    when a rule that depends on the history is broken (including an amount that would leave
    the ledger's bounds)."""
    with localcontext(decimals.CONTEXT):
        return _apply(state, tx)


def _apply(state: LedgerState, tx: Transaction) -> Decimal:
    """`apply` inside the ledger's decimal context (the callers that loop enter it once).
    Written out field by field: it runs once per entry of every replay."""
    totals = (
        state.cash, state.deposits, state.withdrawals, state.implicit_deposits, state.fees,
        state.dividends, state.realised_gain,
    )  # fmt: skip
    pos = state.positions.get(tx.ticker) if tx.ticker is not None else None
    saved = (
        None
        if pos is None
        else (pos.shares, pos.cost_basis, pos.realised_gain, pos.dividends, pos.fees)
    )
    flow = _apply_position(state, tx) if tx.type in TICKER_TYPES else _apply_cash(state, tx)
    pos = state.positions.get(tx.ticker) if tx.ticker is not None else None
    if not _within_bounds(state, pos):
        message = _bounds_message(state, pos, tx)
        (
            state.cash, state.deposits, state.withdrawals, state.implicit_deposits, state.fees,
            state.dividends, state.realised_gain,
        ) = totals  # fmt: skip
        if pos is not None:
            if saved is None:
                del state.positions[pos.ticker]
            else:
                pos.shares, pos.cost_basis, pos.realised_gain, pos.dividends, pos.fees = saved
        raise LedgerError(message, "quantity", "max_amount", tx.ref)
    state.transactions += 1
    return flow


def _within_bounds(state: LedgerState, pos: Position | None) -> bool:
    """Whether every amount of `state` and `pos` is inside (-10**15, 10**15)."""
    hi, lo = _MAX, _MIN
    if not (
        lo < state.cash < hi
        and lo < state.deposits < hi
        and lo < state.withdrawals < hi
        and lo < state.implicit_deposits < hi
        and lo < state.fees < hi
        and lo < state.dividends < hi
        and lo < state.realised_gain < hi
    ):
        return False
    return pos is None or (
        lo < pos.shares < hi
        and lo < pos.cost_basis < hi
        and lo < pos.realised_gain < hi
        and lo < pos.dividends < hi
        and lo < pos.fees < hi
    )


def _bounds_message(state: LedgerState, pos: Position | None, tx: Transaction) -> str:
    """Which amount this entry would take to 10**15 or beyond, in words."""
    named = [(name.replace("_", " "), getattr(state, name)) for name in _TOTALS]
    if pos is not None:
        named += [
            (f"{pos.ticker} {n.replace('_', ' ')}", getattr(pos, n)) for n in _POSITION_AMOUNTS
        ]
    what, value = next((w, v) for w, v in named if not decimals.within_amount(v))
    return (
        f"{tx.type.value} on {tx.date.isoformat()} would make the {what} "
        f"{decimals.shown(value)}, not below the largest accepted amount {_MAX:,}"
    )


def _apply_position(state: LedgerState, tx: Transaction) -> Decimal:
    kind = tx.type
    assert tx.ticker is not None
    pos = state.positions.get(tx.ticker)
    held = pos.shares if pos is not None else ZERO
    if kind == TxType.SELL and tx.quantity > held:
        raise LedgerError(
            f"selling {decimals.text(tx.quantity)} {tx.ticker} on {tx.date.isoformat()} but "
            f"only {decimals.text(held)} held",
            "quantity",
            "not_more_than_held",
            tx.ref,
        )
    if kind == TxType.SPLIT:
        if pos is not None:  # a split of something not held changes nothing
            pos.shares = decimals.quantize(pos.shares * tx.quantity)
        return ZERO
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
        if tx.quantity == pos.shares:
            removed = pos.cost_basis
        else:
            removed = decimals.divide(pos.cost_basis * tx.quantity, pos.shares)
        proceeds = tx.amount - tx.fees
        gain = proceeds - removed
        pos.shares -= tx.quantity
        pos.cost_basis -= removed
        if pos.shares == 0:
            pos.cost_basis = ZERO
        pos.realised_gain += gain
        state.realised_gain += gain
        return _credit(state, proceeds)
    # DIVIDEND
    income = tx.amount - tx.fees
    pos.dividends += income
    state.dividends += income
    return _credit(state, income)


def _credit(state: LedgerState, amount: Decimal) -> Decimal:
    """Add `amount` to cash; a negative amount (fees above proceeds) is a cost."""
    if amount >= 0:
        state.cash += amount
        return ZERO
    return _fund(state, -amount)


def _apply_cash(state: LedgerState, tx: Transaction) -> Decimal:
    kind = tx.type
    if kind == TxType.DEPOSIT:
        state.deposits += tx.amount
        state.fees += tx.fees
        state.cash += tx.amount
        return tx.amount + _fund(state, tx.fees)
    if kind == TxType.WITHDRAW:
        total = tx.amount + tx.fees
        if total > state.cash:
            raise LedgerError(
                f"withdrawing {decimals.text(total)} on {tx.date.isoformat()} but the cash "
                f"held is {decimals.text(state.cash)}",
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
    with localcontext(decimals.CONTEXT):
        for tx in order(transactions):
            _apply(state, tx)
    return state


def check(transactions: Iterable[Transaction]) -> tuple[LedgerState, list[LedgerError]]:
    """Replay, skipping (and collecting) every transaction that breaks a rule, so that one
    bad entry does not hide the others. The state is what the valid entries give."""
    state = LedgerState()
    errors: list[LedgerError] = []
    with localcontext(decimals.CONTEXT):
        for tx in order(transactions):
            try:
                _apply(state, tx)
            except LedgerError as exc:
                errors.append(exc)
    return state, errors


@dataclass(frozen=True)
class DailyLedger:
    """The ledger on a date index: shares held at each day's end, cash, and external flows,
    as floats for the performance maths (exact decimals up to here; within the bounds a
    float holds each to about 1e-16 of its size).

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
        flow = ZERO
        with localcontext(decimals.CONTEXT):
            while k < len(txs) and np.datetime64(txs[k].date, "D") <= day:
                flow += _apply(state, txs[k])
                k += 1
        flows[i] = float(flow)
        cash[i] = float(state.cash)
        for ticker, pos in state.positions.items():
            shares[i, col[ticker]] = float(pos.shares)
    return DailyLedger(
        shares=pd.DataFrame(shares, index=index, columns=pd.Index(tickers, dtype="object")),
        cash=pd.Series(cash, index=index, name="cash"),
        flows=pd.Series(flows, index=index, name="flows"),
    )


def holdings_value(
    state: LedgerState, prices: Mapping[str, float | None]
) -> dict[str, Decimal | None]:
    """Market value per open position (None where there is no price)."""
    return {t: pos.market_value(prices.get(t)) for t, pos in state.open_positions.items()}
