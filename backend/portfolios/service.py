"""A user's portfolios in the database: create, list, read, rename, delete, and the row lock
every write to one portfolio (its own or its ledger's) takes first.

Every read or write names the user: a portfolio of someone else is NotFound, exactly like a
missing one. Writes to one portfolio are serialised on its row (the first statement of each
write transaction bumps `portfolios.version`, which takes the row lock on PostgreSQL and the
write lock on SQLite).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, Engine, delete, func, select, update
from sqlalchemy.orm import Session

from backend.db.engine import make_session_factory
from backend.db.models import Portfolio, Transaction
from backend.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from backend.portfolios.idempotency import Claim


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def as_utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; every stored one is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class PortfolioInfo:
    id: int
    name: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    transactions: int


def not_found(portfolio_id: int) -> NotFound:
    # The same answer whether the portfolio is missing or someone else's.
    return NotFound(f"portfolio {portfolio_id} not found", {"portfolio_id": portfolio_id})


def owned(s: Session, user_id: int, portfolio_id: int) -> Portfolio:
    """The user's portfolio row, or NotFound."""
    row = s.get(Portfolio, portfolio_id)
    if row is None or row.user_id != user_id:
        raise not_found(portfolio_id)
    return row


def lock(s: Session, user_id: int, portfolio_id: int) -> None:
    """Serialise writers of one portfolio: the first statement of the write transaction
    updates its row (PostgreSQL row lock; SQLite write lock), held until commit."""
    result = s.execute(
        update(Portfolio)
        .where(Portfolio.id == portfolio_id, Portfolio.user_id == user_id)
        .values(version=Portfolio.version + 1, updated_at=now())
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        raise not_found(portfolio_id)


def _check_name(name: str) -> str:
    clean = name.strip()
    if not 1 <= len(clean) <= 100:
        raise InvalidInput(
            "name must be 1 to 100 characters (not blank)",
            {"field": "name", "rule": "1 to 100 characters"},
        )
    return clean


def _info(s: Session, row: Portfolio) -> PortfolioInfo:
    count = s.scalar(
        select(func.count()).select_from(Transaction).where(Transaction.portfolio_id == row.id)
    )
    return PortfolioInfo(
        id=row.id,
        name=row.name,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        version=row.version,
        transactions=int(count or 0),
    )


class PortfolioService:
    def __init__(self, engine: Engine) -> None:
        self.sessions = make_session_factory(engine)

    def create(
        self, user_id: int, name: str, claim: Claim[PortfolioInfo] | None = None
    ) -> PortfolioInfo:
        """A new portfolio; with a `claim` (an Idempotency-Key), the key is stored in the same
        transaction."""
        created = now()
        clean = _check_name(name)
        with self.sessions() as s, s.begin():
            if claim is not None:
                claim.take(s)
            row = Portfolio(
                user_id=user_id,
                name=clean,
                version=0,
                created_at=created,
                updated_at=created,
            )
            s.add(row)
            s.flush()
            info = _info(s, row)
            if claim is not None:
                claim.settle(s, info)
            return info

    def list_portfolios(self, user_id: int) -> list[PortfolioInfo]:
        with self.sessions() as s:
            rows = s.scalars(
                select(Portfolio).where(Portfolio.user_id == user_id).order_by(Portfolio.id)
            ).all()
            return [_info(s, r) for r in rows]

    def get(self, user_id: int, portfolio_id: int) -> PortfolioInfo:
        with self.sessions() as s:
            return _info(s, owned(s, user_id, portfolio_id))

    def rename(self, user_id: int, portfolio_id: int, name: str) -> PortfolioInfo:
        clean = _check_name(name)
        with self.sessions() as s, s.begin():
            lock(s, user_id, portfolio_id)
            row = owned(s, user_id, portfolio_id)
            row.name = clean
            s.flush()
            return _info(s, row)

    def delete(self, user_id: int, portfolio_id: int) -> None:
        with self.sessions() as s, s.begin():
            lock(s, user_id, portfolio_id)
            s.execute(delete(Transaction).where(Transaction.portfolio_id == portfolio_id))
            s.execute(delete(Portfolio).where(Portfolio.id == portfolio_id))
