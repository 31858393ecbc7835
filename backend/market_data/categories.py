"""The categories of securities and the model portfolio's holdings as the database holds them:
the one source of both at run time (migration 0002 seeded them; admins edit the categories).

A snapshot is read together with the store's data version and kept in process until the version
moves. Every write to these tables bumps that version in its own transaction
(`bump_data_version`), so neither this snapshot nor anything keyed by the version (the score
book, cached scores and top lists) can outlive an edit.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.orm import Session

from backend.db.models import Category, CategoryMember, DataChange, ModelHolding, StoreState


@dataclass(frozen=True)
class CategoryRecord:
    id: int
    name: str
    slug: str
    target: float
    benchmark: str
    is_fixed_income: bool
    tickers: tuple[str, ...]


@dataclass(frozen=True)
class CategorySnapshot:
    """The categories (in display order) and the model holdings at one data version."""

    data_version: int
    categories: tuple[CategoryRecord, ...] = ()
    model_holdings: Mapping[str, float] = field(default_factory=dict)  # ticker -> shares

    def by_ticker(self) -> dict[str, CategoryRecord]:
        """ticker -> its category (a ticker belongs to one category at most)."""
        return {t: c for c in self.categories for t in c.tickers}


def read_data_version(conn: Connection | Session) -> int:
    return int(
        conn.execute(select(StoreState.data_version).where(StoreState.id == 1)).scalar() or 0
    )


# Versions of change log kept: a process whose scores are older than that rebuilds in full.
CHANGE_LOG_VERSIONS = 10_000


def bump_data_version(
    conn: Connection | Session, changed: Mapping[str, dt.date] | None = None
) -> int:
    """Move the data version on, inside the caller's write transaction, and log what moved it:
    `changed` maps each ticker whose bars changed to the first date changed; None logs a
    category edit. Returns the new version."""
    conn.execute(
        update(StoreState)
        .where(StoreState.id == 1)
        .values(data_version=StoreState.data_version + 1)
    )
    version = read_data_version(conn)
    rows: list[dict[str, object]] = (
        [{"data_version": version, "ticker": None, "first_date": None}]
        if changed is None
        else [
            {"data_version": version, "ticker": t, "first_date": d}
            for t, d in sorted(changed.items())
        ]
    )
    if rows:
        conn.execute(insert(DataChange), rows)
    conn.execute(delete(DataChange).where(DataChange.data_version <= version - CHANGE_LOG_VERSIONS))
    return version


@dataclass(frozen=True)
class ChangeSet:
    """What versions `since`+1..`version` changed: the first date changed per ticker, and
    whether the categories were edited."""

    since: int
    version: int
    first_dates: Mapping[str, dt.date]
    categories: bool


def read_changes(conn: Connection | Session, since: int, version: int) -> ChangeSet | None:
    """The changes of versions since+1..version, or None when the log lacks one of them (written
    before the log existed or pruned): then only a full rebuild is exact."""
    rows = conn.execute(
        select(DataChange.data_version, DataChange.ticker, DataChange.first_date).where(
            DataChange.data_version > since, DataChange.data_version <= version
        )
    ).all()
    if len({v for v, _, _ in rows}) != version - since:
        return None
    first: dict[str, dt.date] = {}
    categories = False
    for _, ticker, day in rows:
        if ticker is None:
            categories = True
        elif day is not None and (ticker not in first or day < first[ticker]):
            first[ticker] = day
    return ChangeSet(since, version, first, categories)


def read_categories(conn: Connection | Session) -> tuple[CategoryRecord, ...]:
    cats = conn.execute(
        select(
            Category.id,
            Category.name,
            Category.slug,
            Category.target,
            Category.benchmark,
            Category.is_fixed_income,
        ).order_by(Category.position, Category.id)
    ).all()
    members: dict[int, list[str]] = {c.id: [] for c in cats}
    rows = conn.execute(
        select(CategoryMember.category_id, CategoryMember.ticker).order_by(
            CategoryMember.position, CategoryMember.ticker
        )
    )
    for category_id, ticker in rows:
        members.setdefault(category_id, []).append(ticker)
    return tuple(
        CategoryRecord(
            id=c.id,
            name=c.name,
            slug=c.slug,
            target=c.target,
            benchmark=c.benchmark,
            is_fixed_income=bool(c.is_fixed_income),
            tickers=tuple(members[c.id]),
        )
        for c in cats
    )


def read_model_holdings(conn: Connection | Session) -> dict[str, float]:
    """The model portfolio's shares by ticker (floats: its views are floating-point maths)."""
    rows = conn.execute(
        select(ModelHolding.ticker, ModelHolding.shares).order_by(ModelHolding.ticker)
    )
    return {t: float(n) for t, n in rows}


def read_snapshot(conn: Connection | Session, data_version: int) -> CategorySnapshot:
    return CategorySnapshot(data_version, read_categories(conn), read_model_holdings(conn))


class CategoryRepository:
    """The current snapshot, read again only when the data version has moved."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._snapshot: CategorySnapshot | None = None
        self._lock = threading.Lock()

    def current(self) -> CategorySnapshot:
        with Session(self.engine) as s:
            version = read_data_version(s)
            snapshot = self._snapshot
            if snapshot is not None and snapshot.data_version == version:
                return snapshot
            # Read under the version just read: a later edit moves the version again, so the
            # next call reads afresh (the rows of a snapshot are at least as new as its version).
            snapshot = read_snapshot(s, version)
        with self._lock:
            if self._snapshot is None or self._snapshot.data_version <= version:
                self._snapshot = snapshot
        return snapshot
