"""Writing canonical bars in bulk: the engine-specific fast paths behind `PriceStore.upsert_bars`.

Each engine counts, per ticker, the rows inserted or changed by the statement that writes them
(no separate counting join over the staged rows and the stored ones):

* **SQLite**: one `executemany` per ticker straight into `daily_bars`, an
  `INSERT ... ON CONFLICT DO UPDATE ... WHERE <a value differs>`; an identical row is neither
  inserted nor updated, so the statement's row count is exactly the rows written.
  No staging table: the rows go from Python to the table once. (A larger page cache for the
  write was measured and did not help: rows arrive in key order, so the pages touched are few.)
* **PostgreSQL**: binary `COPY` (fixed-width fields built by numpy, no text formatting of
  floats). The rows of new tickers are copied straight into `daily_bars`; those of stored
  tickers into a temporary staging table dropped at commit, then one
  `INSERT ... SELECT ... ON CONFLICT DO UPDATE ... WHERE <a value differs> RETURNING ticker`
  counts what it wrote. (The foreign-key check of each inserted row is most of what is left:
  measured, an insert into `daily_bars` takes about three times as long with it as without.)

A ticker with no stored bar yet (a new security: the common case of a bulk import) takes a
plain insert (SQLite `INSERT`, PostgreSQL `COPY`) with no conflict handling, every one of its
rows counted as written. The security rows of the tickers written are locked first
(PostgreSQL: `FOR UPDATE`, which also holds off any other writer's foreign-key check on them;
SQLite: the database's single write lock), so no other writer can add bars for such a ticker
between the check and the insert.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from io import BytesIO
from typing import Any, Callable

import numpy as np
import pandas as pd
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from backend.market_data.bars import BAR_COLUMNS

Progress = Callable[[int, int], None]

BAR_FIELDS = [c for c in BAR_COLUMNS if c not in ("ticker", "date")]
FLOAT_FIELDS = [c for c in BAR_FIELDS if c != "volume"]
COPY_CHUNK = 200_000  # rows per binary COPY buffer (~23 MB): bounds the memory of a write
_INT64_LIMIT = 2.0**63
_PG_EPOCH_DAYS = 10_957  # 2000-01-01, PostgreSQL's date zero, in days since 1970-01-01
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)


@dataclass(frozen=True)
class BarColumns:
    """Bars as arrays, rows ordered by ticker (then as given), ready for either engine."""

    tickers: list[str]  # distinct, sorted
    codes: np.ndarray  # per row: index into `tickers` (non-decreasing)
    days: np.ndarray  # datetime64[D]
    floats: dict[str, np.ndarray]  # float64; NaN is a missing value (stored as NULL)
    volume: np.ndarray  # int64 (0 where missing)
    volume_missing: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.codes)

    def bounds(self) -> np.ndarray:
        """Row offsets where each ticker's rows start, plus the end: ticker i is
        rows bounds[i]:bounds[i+1]."""
        return np.searchsorted(self.codes, np.arange(len(self.tickers) + 1))


def bar_columns(bars: pd.DataFrame) -> BarColumns:
    """Arrays of canonical bars grouped by ticker (a stable sort keeps each ticker's order)."""
    codes, uniques = pd.factorize(bars["ticker"], sort=True)
    order = np.argsort(codes, kind="stable")
    days = np.asarray(pd.to_datetime(bars["date"]).to_numpy()[order], dtype="datetime64[D]")
    floats = {c: bars[c].to_numpy(dtype=np.float64, na_value=np.nan)[order] for c in FLOAT_FIELDS}
    raw_volume = bars["volume"]
    if raw_volume.dtype.kind in "iu":  # exact integers: no trip through float
        volume = raw_volume.to_numpy(dtype=np.int64)[order]
        missing = np.zeros(len(volume), dtype=bool)
    else:
        as_float = raw_volume.to_numpy(dtype=np.float64, na_value=np.nan)[order]
        missing = np.isnan(as_float)
        finite = as_float[~missing]
        if len(finite) and (np.abs(finite).max() >= _INT64_LIMIT or not np.isfinite(finite).all()):
            raise OverflowError("a volume does not fit a 64-bit integer")
        volume = np.where(missing, 0.0, as_float).astype(np.int64)  # truncates, as int() does
    return BarColumns(
        tickers=[str(t) for t in uniques],
        codes=codes[order].astype(np.int64),
        days=days,
        floats=floats,
        volume=volume,
        volume_missing=missing,
    )


def _changed(table: str, other: str) -> str:
    return " OR ".join(f"{table}.{c} IS DISTINCT FROM {other}.{c}" for c in BAR_FIELDS)


_COLS = ", ".join(BAR_COLUMNS)
_SETS = ", ".join(f"{c} = excluded.{c}" for c in BAR_FIELDS)
_ON_CONFLICT = (
    f"ON CONFLICT (ticker, date) DO UPDATE SET {_SETS} WHERE {_changed('daily_bars', 'excluded')}"
)


def tickers_with_bars(conn: Connection, tickers: list[str]) -> set[str]:
    """Which of `tickers` (whose security rows exist) have at least one stored bar.

    On PostgreSQL their security rows are locked `FOR UPDATE` first, in ticker order."""
    if not tickers:
        return set()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "SELECT ticker FROM securities WHERE ticker = ANY(%(t)s) ORDER BY ticker FOR UPDATE",
            {"t": tickers},
        )
        rows = conn.exec_driver_sql(
            "SELECT t FROM unnest(%(t)s::varchar[]) AS t "
            "WHERE EXISTS (SELECT 1 FROM daily_bars b WHERE b.ticker = t)",
            {"t": tickers},
        )
        return {r[0] for r in rows}
    found: set[str] = set()
    for ticker in tickers:
        if conn.exec_driver_sql(
            "SELECT 1 FROM daily_bars WHERE ticker = ? LIMIT 1", (ticker,)
        ).first():
            found.add(ticker)
    return found


Written = tuple[dict[str, int], dict[str, dt.date]]


def write_bars(
    conn: Connection,
    columns: BarColumns,
    stored: set[str],
    progress: Progress | None = None,
) -> Written:
    """Write the bars in the caller's transaction; the rows inserted or changed per ticker, and
    for each ticker written a date on or before its first changed row (the data-change log's,
    for incremental scoring): the exact first changed date on PostgreSQL and for new tickers;
    on SQLite, whose upsert counts but does not say which rows, the first date given.

    `stored`: the tickers that already have bars (the others take the plain-insert path)."""
    if conn.dialect.name == "postgresql":
        written, first = _write_postgres(conn, columns, stored, progress)
    else:
        written = _write_sqlite(conn, columns, stored, progress)
        first = {}
    bounds = columns.bounds().tolist()
    for index, ticker in enumerate(columns.tickers):
        if written.get(ticker) and ticker not in first:
            lo, hi = bounds[index], bounds[index + 1]
            first[ticker] = _date(columns.days[lo:hi].min())
    return written, first


def _date(day: Any) -> dt.date:
    return dt.date.fromisoformat(str(day)[:10])


# ---------------------------------------------------------------------------------- SQLite


def _write_sqlite(
    conn: Connection, columns: BarColumns, stored: set[str], progress: Progress | None
) -> dict[str, int]:
    marks = ", ".join("?" for _ in BAR_COLUMNS)
    insert = f"INSERT INTO daily_bars ({_COLS}) VALUES ({marks})"  # nosec B608 -- constants
    upsert = f"{insert} {_ON_CONFLICT}"
    # DB-API values: dates as ISO text (what SQLite stores), NaN stays NaN (SQLite binds a NaN
    # as NULL), volumes as int or None.
    days, day_index = np.unique(columns.days, return_inverse=True)  # a few thousand days
    dates = np.array([str(d) for d in days], dtype=object)[day_index].tolist()
    floats = {c: v.tolist() for c, v in columns.floats.items()}
    volume: list[Any] = columns.volume.tolist()
    if columns.volume_missing.any():
        volume = [None if m else v for v, m in zip(volume, columns.volume_missing.tolist())]
    fields = [floats[c] if c != "volume" else volume for c in BAR_FIELDS]
    bounds = columns.bounds().tolist()
    written: dict[str, int] = {}
    for index, ticker in enumerate(columns.tickers):
        lo, hi = bounds[index], bounds[index + 1]
        rows = list(zip(dates[lo:hi], [ticker] * (hi - lo), *(f[lo:hi] for f in fields)))
        # Through SQLAlchemy (not the raw cursor) so errors arrive as its exceptions. The
        # rowcount sums sqlite3_changes() over the rows: direct changes only, none a trigger
        # makes (total_changes would count those too).
        result = conn.exec_driver_sql(upsert if ticker in stored else insert, rows)
        written[ticker] = int(result.rowcount)
        if progress is not None:
            progress(hi, len(columns))
    return written


# ------------------------------------------------------------------------------ PostgreSQL

_STAGING = "staging_bars"
# Fixed-width binary COPY fields: (name, numpy big-endian type, PostgreSQL type).
_PG_FIELDS: list[tuple[str, str, str]] = (
    [("tid", ">i4", "integer"), ("date", ">i4", "date")]
    + [(c, ">f8", "double precision") for c in FLOAT_FIELDS if c not in ("dividend", "split")]
    + [("volume", ">i8", "bigint"), ("volume_missing", "?", "boolean")]
    + [(c, ">f8", "double precision") for c in ("dividend", "split")]
)
_COPY_DTYPE = np.dtype(
    [("count", ">i2")]
    + [item for name, kind, _ in _PG_FIELDS for item in ((f"{name}_len", ">i4"), (name, kind))]
)


def _copy_buffer(columns: BarColumns, rows: np.ndarray) -> BytesIO:
    """The rows (indices) for the staging table in PostgreSQL's binary COPY format: one
    fixed-width numpy record per tuple."""
    out = np.empty(len(rows), dtype=_COPY_DTYPE)
    out["count"] = len(_PG_FIELDS)
    for name, kind, _ in _PG_FIELDS:
        out[f"{name}_len"] = np.dtype(kind).itemsize
    out["tid"] = columns.codes[rows] + 1  # PostgreSQL arrays are 1-based
    out["date"] = columns.days[rows].astype(np.int64) - _PG_EPOCH_DAYS
    for name, values in columns.floats.items():
        out[name] = values[rows]
    out["volume"] = columns.volume[rows]
    out["volume_missing"] = columns.volume_missing[rows]
    return BytesIO(_COPY_HEADER + out.tobytes() + _COPY_TRAILER)


def _direct_tuples(columns: BarColumns, index: int, lo: int, hi: int) -> bytes:
    """Rows lo:hi (all of ticker `index`) as binary COPY tuples of daily_bars itself.

    A missing value (NaN, a missing volume) is sent as NULL, so a NOT NULL column refuses it
    as an INSERT would. A NULL has no data bytes, so rows are built in groups that share
    which fields are NULL (nearly always one group: none), each group fixed-width."""
    name = columns.tickers[index].encode("utf-8")
    missing = {c: np.isnan(v[lo:hi]) for c, v in columns.floats.items()}
    missing["volume"] = columns.volume_missing[lo:hi]
    pattern = np.zeros(hi - lo, dtype=np.int64)
    for bit, c in enumerate(BAR_FIELDS):
        pattern |= missing[c].astype(np.int64) << bit
    parts = []
    for nulls in np.unique(pattern).tolist():
        rows = np.flatnonzero(pattern == nulls) + lo
        spec = [("count", ">i2"), ("date_len", ">i4"), ("date", ">i4")]
        spec += [("ticker_len", ">i4"), ("ticker", f"S{len(name)}")]
        for bit, c in enumerate(BAR_FIELDS):
            spec.append((f"{c}_len", ">i4"))
            if not nulls >> bit & 1:
                spec.append((c, ">i8" if c == "volume" else ">f8"))
        out = np.empty(len(rows), dtype=spec)
        out["count"] = len(BAR_COLUMNS)
        out["date_len"] = 4
        out["date"] = columns.days[rows].astype(np.int64) - _PG_EPOCH_DAYS
        out["ticker_len"] = len(name)
        out["ticker"] = name
        for bit, c in enumerate(BAR_FIELDS):
            if nulls >> bit & 1:
                out[f"{c}_len"] = -1
            else:
                out[f"{c}_len"] = 8
                out[c] = columns.volume[rows] if c == "volume" else columns.floats[c][rows]
        parts.append(out.tobytes())
    return b"".join(parts)


def _copy(conn: Connection, sql: str, buffer: BytesIO) -> None:
    """COPY through the driver's cursor; its errors raised as SQLAlchemy's, as an execute's."""
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.copy_expert(sql, buffer)
    except dbapi.Error as exc:
        raise DBAPIError.instance(sql, None, exc, dbapi.Error, dialect=conn.dialect) from exc
    finally:
        cursor.close()


def _select_staged(where: str) -> str:
    """The staged rows as daily_bars values: NaN -> NULL, the ticker from its index."""
    values = {
        "date": "s.date",
        "ticker": "(%(tickers)s::varchar[])[s.tid]",
        "volume": "CASE WHEN s.volume_missing THEN NULL ELSE s.volume END",
    }
    exprs = [values.get(c, f"NULLIF(s.{c}, 'NaN'::float8)") for c in BAR_COLUMNS]
    return f"SELECT {', '.join(exprs)} FROM {_STAGING} s WHERE {where}"  # nosec B608


def _write_postgres(
    conn: Connection, columns: BarColumns, stored: set[str], progress: Progress | None
) -> Written:
    total = len(columns)
    bounds = columns.bounds().tolist()
    written: dict[str, int] = {}
    done = 0
    # New tickers: COPY straight into daily_bars (no staging, no conflict handling).
    direct = f"COPY daily_bars ({_COLS}) FROM STDIN WITH (FORMAT binary)"
    parts: list[bytes] = []
    pending = 0
    new = [i for i, t in enumerate(columns.tickers) if t not in stored]
    for position, index in enumerate(new):
        lo, hi = bounds[index], bounds[index + 1]
        parts.append(_direct_tuples(columns, index, lo, hi))
        written[columns.tickers[index]] = hi - lo
        pending += hi - lo
        if pending >= COPY_CHUNK or position == len(new) - 1:
            _copy(conn, direct, BytesIO(_COPY_HEADER + b"".join(parts) + _COPY_TRAILER))
            done += pending
            parts, pending = [], 0
            if progress is not None:
                progress(done, total)
    old = [i for i, t in enumerate(columns.tickers) if t in stored]
    if not old:
        return written, {}
    # Stored tickers: stage, then one upsert that counts what it wrote.
    fields = ", ".join(f"{name} {pg}" for name, _, pg in _PG_FIELDS)
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {_STAGING} ({fields}) ON COMMIT DROP")
    names = ", ".join(name for name, _, _ in _PG_FIELDS)
    staged = f"COPY {_STAGING} ({names}) FROM STDIN WITH (FORMAT binary)"
    rows = np.concatenate([np.arange(bounds[i], bounds[i + 1]) for i in old])
    for start in range(0, len(rows), COPY_CHUNK):
        chunk = rows[start : start + COPY_CHUNK]
        _copy(conn, staged, _copy_buffer(columns, chunk))
        done += len(chunk)
        if progress is not None:
            progress(done, total)
    counted = conn.exec_driver_sql(
        f"WITH written AS (INSERT INTO daily_bars ({_COLS}) "  # nosec B608 -- constants
        + _select_staged("true")
        + f" {_ON_CONFLICT} RETURNING ticker, date) "
        "SELECT ticker, COUNT(*), MIN(date) FROM written GROUP BY ticker",
        {"tickers": columns.tickers},
    )
    first: dict[str, dt.date] = {}
    for ticker, n, day in counted:
        written[ticker] = int(n)
        first[ticker] = day
    return written, first
