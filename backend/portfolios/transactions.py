"""A portfolio's ledger in the database: adding, listing and deleting transactions, and the
CSV import and export.

Each write locks the portfolio's row first (`service.lock`) and re-checks the whole ledger
inside that transaction, so concurrent writers can never leave an inconsistent ledger behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NoReturn

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from backend.db.engine import make_session_factory
from backend.db.models import Transaction
from backend.errors import NotFound
from backend.portfolios import csv_io, ledger
from backend.portfolios.csv_io import ImportRejected
from backend.portfolios.service import as_utc, lock, now, owned

if TYPE_CHECKING:
    from backend.portfolios.idempotency import Claim


def latest_valid_date() -> dt.date:
    """The last date that is not in the future: today where the day starts first (UTC+14), so
    a user's today is accepted in every time zone."""
    return (now() + dt.timedelta(hours=14)).date()


@dataclass(frozen=True)
class TransactionInfo:
    id: int
    date: dt.date
    type: str
    ticker: str | None
    quantity: Decimal
    price: Decimal | None
    fees: Decimal
    note: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class TransactionPage:
    total: int
    limit: int
    offset: int
    items: list[TransactionInfo]


@dataclass(frozen=True)
class TransactionFilter:
    type: str | None = None
    ticker: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None


@dataclass(frozen=True)
class NewTransaction:
    """A transaction as the caller gave it (validated by the ledger before anything is stored)."""

    date: dt.date
    type: str
    quantity: ledger.Number
    ticker: str | None = None
    price: ledger.Number | None = None
    fees: ledger.Number | None = None
    note: str | None = None


def _info(row: Transaction) -> TransactionInfo:
    return TransactionInfo(
        id=row.id,
        date=row.date,
        type=row.type,
        ticker=row.ticker,
        quantity=row.quantity,
        price=row.price,
        fees=row.fees,
        note=row.note,
        created_at=as_utc(row.created_at),
    )


def ledger_entry(row: Transaction) -> ledger.Transaction:
    """A stored row as a ledger entry (stored rows were validated when written)."""
    return ledger.Transaction(
        date=row.date,
        type=ledger.TxType(row.type),
        quantity=row.quantity,
        ticker=row.ticker,
        price=row.price,
        fees=row.fees,
        note=row.note,
        ref=row.id,
    )


def validate_new(tx: NewTransaction, ref: int | str | None = None) -> ledger.Transaction:
    """One caller-given transaction as a ledger entry, or LedgerError naming field and rule."""
    return ledger.make_transaction(
        date=tx.date,
        type=tx.type,
        quantity=tx.quantity,
        ticker=ledger.parse_ticker(tx.ticker, ref),
        price=tx.price,
        fees=tx.fees,
        note=tx.note,
        today=latest_valid_date(),
        ref=ref,
    )


def _stored(s: Session, portfolio_id: int) -> list[Transaction]:
    return list(
        s.scalars(
            select(Transaction)
            .where(Transaction.portfolio_id == portfolio_id)
            .order_by(Transaction.date, Transaction.id)
        ).all()
    )


def _explain(err: ledger.LedgerError, existing: Mapping[int, Transaction], what: str) -> NoReturn:
    """Re-raise a history error caused by a stored transaction, saying which one."""
    if isinstance(err.ref, int) and err.ref in existing:
        row = existing[err.ref]
        raise ledger.LedgerError(
            f"{what} would break transaction {row.id} ({row.type} {row.ticker or ''} on "
            f"{row.date.isoformat()}): {err.message}",
            err.field,
            err.rule,
            err.ref,
        ) from None
    raise err


def _insert(
    s: Session, portfolio_id: int, entries: Sequence[ledger.Transaction]
) -> list[Transaction]:
    created = now()
    rows = [
        Transaction(
            portfolio_id=portfolio_id,
            date=e.date,
            type=e.type.value,
            ticker=e.ticker,
            quantity=e.quantity,
            price=e.price,
            fees=e.fees,
            note=e.note,
            created_at=created,
        )
        for e in entries
    ]
    s.add_all(rows)
    s.flush()
    return rows


class TransactionService:
    def __init__(self, engine: Engine) -> None:
        self.sessions = make_session_factory(engine)

    def ledger_entries(self, user_id: int, portfolio_id: int) -> list[ledger.Transaction]:
        """The portfolio's transactions in ledger order (date, then entry order)."""
        with self.sessions() as s:
            owned(s, user_id, portfolio_id)
            return [ledger_entry(r) for r in _stored(s, portfolio_id)]

    def add_transactions(
        self,
        user_id: int,
        portfolio_id: int,
        new: Sequence[NewTransaction],
        claim: Claim[list[TransactionInfo]] | None = None,
    ) -> list[TransactionInfo]:
        """Validate and store transactions (all or none); the whole ledger is re-checked.
        With a `claim` (an Idempotency-Key), the key is stored in the same transaction: taken
        before the portfolio's lock, so a duplicate waits on the key, not on the ledger."""
        entries = [validate_new(tx, ref=f"new:{i}") for i, tx in enumerate(new)]
        with self.sessions() as s, s.begin():
            if claim is not None:
                claim.take(s)
            lock(s, user_id, portfolio_id)
            stored = _stored(s, portfolio_id)
            try:
                ledger.replay([ledger_entry(r) for r in stored] + entries)
            except ledger.LedgerError as err:
                _explain(err, {r.id: r for r in stored}, "this transaction")
            added = [_info(r) for r in _insert(s, portfolio_id, entries)]
            if claim is not None:
                claim.settle(s, added)
            return added

    def list_transactions(
        self,
        user_id: int,
        portfolio_id: int,
        filters: TransactionFilter,
        limit: int = 100,
        offset: int = 0,
    ) -> TransactionPage:
        conditions: list[Any] = [Transaction.portfolio_id == portfolio_id]
        if filters.type:
            conditions.append(Transaction.type == ledger.parse_type(filters.type).value)
        if filters.ticker:
            conditions.append(Transaction.ticker == ledger.parse_ticker(filters.ticker))
        if filters.start:
            conditions.append(Transaction.date >= filters.start)
        if filters.end:
            conditions.append(Transaction.date <= filters.end)
        with self.sessions() as s:
            owned(s, user_id, portfolio_id)
            total = s.scalar(select(func.count()).select_from(Transaction).where(*conditions))
            rows = s.scalars(
                select(Transaction)
                .where(*conditions)
                .order_by(Transaction.date, Transaction.id)
                .limit(limit)
                .offset(offset)
            ).all()
            return TransactionPage(int(total or 0), limit, offset, [_info(r) for r in rows])

    def delete_transaction(self, user_id: int, portfolio_id: int, transaction_id: int) -> None:
        """Delete one transaction, unless the ledger without it breaks a rule (e.g. a later
        SELL would then sell more than held): 422 and nothing changes."""
        with self.sessions() as s, s.begin():
            lock(s, user_id, portfolio_id)
            stored = _stored(s, portfolio_id)
            by_id = {r.id: r for r in stored}
            if transaction_id not in by_id:
                raise NotFound(
                    f"transaction {transaction_id} not found in portfolio {portfolio_id}",
                    {"portfolio_id": portfolio_id, "transaction_id": transaction_id},
                )
            try:
                ledger.replay([ledger_entry(r) for r in stored if r.id != transaction_id])
            except ledger.LedgerError as err:
                _explain(err, by_id, f"deleting transaction {transaction_id}")
            s.execute(delete(Transaction).where(Transaction.id == transaction_id))

    # ------------------------------------------------------------------ CSV

    def import_csv(self, user_id: int, portfolio_id: int, raw: bytes) -> list[TransactionInfo]:
        """Import a CSV of transactions atomically: every row is checked (on its own, then
        against the ledger in date order); any rejected row rejects the file, and the error
        lists each rejected row with its line number (the header is line 1) and reason."""
        entries, errors = csv_io.parse(raw, latest_valid_date())
        with self.sessions() as s, s.begin():
            lock(s, user_id, portfolio_id)
            stored = _stored(s, portfolio_id)
            if not errors:
                _, history = ledger.check([ledger_entry(r) for r in stored] + entries)
                for err in history:
                    if isinstance(err.ref, str) and err.ref.startswith("line:"):
                        line: int | None = int(err.ref.removeprefix("line:"))
                        reason = err.message
                    else:
                        line, reason = None, f"stored transaction {err.ref}: {err.message}"
                    errors.append(
                        {"line": line, "field": err.field, "rule": err.rule, "reason": reason}
                    )
            if errors:
                errors.sort(key=lambda e: (e["line"] is None, e["line"] or 0))
                raise ImportRejected(
                    f"{len(errors)} row(s) rejected; nothing was imported",
                    {"errors": errors, "rejected": len(errors), "rows": len(entries)},
                )
            return [_info(r) for r in _insert(s, portfolio_id, entries)]

    def export_csv(self, user_id: int, portfolio_id: int) -> str:
        """The ledger as CSV, formulas neutralised (csv_io); it imports back as the same."""
        return csv_io.write(self.ledger_entries(user_id, portfolio_id))
