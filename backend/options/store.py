"""Daily options snapshots in the database (tables `option_snapshots`, `option_contracts`).

One snapshot per (ticker, New York day): writing a snapshot of a day already stored replaces it
and its contracts (an upsert at the snapshot's grain), in one transaction. A batch of snapshots
is written all or nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Iterable

import pandas as pd
from sqlalchemy import Engine, Table, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from backend.db.models import OptionContract, OptionSnapshot
from backend.options.snapshot import CONTRACT_COLUMNS, Snapshot

_CONTRACTS: Table = OptionContract.__table__  # type: ignore[assignment]
_SNAPSHOTS: Table = OptionSnapshot.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class StoredSnapshot:
    """A snapshot read back: its header and its contracts (`snapshot.CONTRACT_COLUMNS`)."""

    ticker: str
    day: dt.date
    taken_at: dt.datetime
    spot: float
    rate: float
    source: str
    earnings_date: dt.date | None
    atm_iv_30d: float | None
    atm_reason: str | None
    contracts: pd.DataFrame


@dataclass(frozen=True)
class HistoryPoint:
    day: dt.date
    taken_at: dt.datetime
    atm_iv_30d: float | None
    atm_reason: str | None
    source: str


@dataclass(frozen=True)
class WriteResult:
    snapshots: int
    replaced: int  # of which a snapshot of the same day was already stored
    contracts: int


def _value(value: Any) -> Any:
    """NaN and pandas' missing markers as NULL; numpy scalars as Python ones."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    return value


def _utc(at: dt.datetime) -> dt.datetime:
    # SQLite drops the zone: read times back as UTC, which is how they are written.
    return at.replace(tzinfo=dt.timezone.utc) if at.tzinfo is None else at


class OptionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def write(self, snapshots: Iterable[Snapshot]) -> WriteResult:
        """Store every snapshot (replacing any of the same ticker and day), all or nothing."""
        count = replaced = contracts = 0
        with self.engine.begin() as conn:
            for snapshot in snapshots:
                replaced += self._write_one(conn, snapshot)
                count += 1
                contracts += len(snapshot.contracts)
        return WriteResult(count, replaced, contracts)

    def _write_one(self, conn: Connection, snapshot: Snapshot) -> int:
        header = {
            "ticker": snapshot.ticker,
            "day": snapshot.day,
            "taken_at": snapshot.as_of.astimezone(dt.timezone.utc),
            "spot": snapshot.spot,
            "rate": snapshot.rate,
            "source": snapshot.source[:200],
            "earnings_date": snapshot.earnings_date,
            "atm_iv_30d": snapshot.atm_iv_30d,
            "atm_reason": snapshot.atm_reason,
            "contracts": len(snapshot.contracts),
        }
        found = conn.execute(
            select(_SNAPSHOTS.c.id).where(
                _SNAPSHOTS.c.ticker == snapshot.ticker, _SNAPSHOTS.c.day == snapshot.day
            )
        ).scalar_one_or_none()
        if found is None:
            created = conn.execute(insert(_SNAPSHOTS).values(**header)).inserted_primary_key
            assert created is not None
            snapshot_id = created[0]
        else:
            snapshot_id = found
            conn.execute(update(_SNAPSHOTS).where(_SNAPSHOTS.c.id == found).values(**header))
            conn.execute(delete(_CONTRACTS).where(_CONTRACTS.c.snapshot_id == found))
        columns = list(CONTRACT_COLUMNS)
        rows = [
            {"snapshot_id": snapshot_id, **{c: _value(v) for c, v in zip(columns, values)}}
            for values in snapshot.contracts[columns].itertuples(index=False, name=None)
        ]
        if rows:
            conn.execute(insert(_CONTRACTS), rows)
        return 0 if found is None else 1

    def latest(self, ticker: str, on_or_before: dt.date | None = None) -> StoredSnapshot | None:
        """The ticker's latest snapshot (on or before a day when given), with its contracts."""
        query = select(_SNAPSHOTS).where(_SNAPSHOTS.c.ticker == ticker)
        if on_or_before is not None:
            query = query.where(_SNAPSHOTS.c.day <= on_or_before)
        with self.engine.connect() as conn:
            head = conn.execute(query.order_by(_SNAPSHOTS.c.day.desc()).limit(1)).first()
            if head is None:
                return None
            rows = conn.execute(
                select(*(_CONTRACTS.c[c] for c in CONTRACT_COLUMNS))
                .where(_CONTRACTS.c.snapshot_id == head.id)
                .order_by(_CONTRACTS.c.expiry, _CONTRACTS.c.strike, _CONTRACTS.c.right)
            ).all()
        contracts = pd.DataFrame([tuple(r) for r in rows], columns=list(CONTRACT_COLUMNS))
        for column in ("strike", "bid", "ask", "last", "vendor_iv", "iv"):
            contracts[column] = pd.to_numeric(contracts[column], errors="coerce").astype(float)
        return StoredSnapshot(
            ticker=head.ticker,
            day=head.day,
            taken_at=_utc(head.taken_at),
            spot=head.spot,
            rate=head.rate,
            source=head.source,
            earnings_date=head.earnings_date,
            atm_iv_30d=head.atm_iv_30d,
            atm_reason=head.atm_reason,
            contracts=contracts,
        )

    def history(
        self, ticker: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> list[HistoryPoint]:
        """The ticker's daily 30-day ATM volatility, oldest first, between two days inclusive."""
        query = select(
            _SNAPSHOTS.c.day,
            _SNAPSHOTS.c.taken_at,
            _SNAPSHOTS.c.atm_iv_30d,
            _SNAPSHOTS.c.atm_reason,
            _SNAPSHOTS.c.source,
        ).where(_SNAPSHOTS.c.ticker == ticker)
        if start is not None:
            query = query.where(_SNAPSHOTS.c.day >= start)
        if end is not None:
            query = query.where(_SNAPSHOTS.c.day <= end)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(_SNAPSHOTS.c.day)).all()
        return [
            HistoryPoint(r.day, _utc(r.taken_at), r.atm_iv_30d, r.atm_reason, r.source)
            for r in rows
        ]

    def latest_days(self, tickers: Iterable[str]) -> dict[str, dt.date]:
        """The day of each ticker's latest snapshot, for those of `tickers` that have one (one
        query for the lot)."""
        names = sorted(set(tickers))
        if not names:
            return {}
        query = (
            select(_SNAPSHOTS.c.ticker, func.max(_SNAPSHOTS.c.day))
            .where(_SNAPSHOTS.c.ticker.in_(names))
            .group_by(_SNAPSHOTS.c.ticker)
        )
        with self.engine.connect() as conn:
            return {t: d for t, d in conn.execute(query)}

    def tickers(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(_SNAPSHOTS.c.ticker).distinct().order_by(_SNAPSHOTS.c.ticker)
                ).scalars()
            )
