"""Writing canonical bars in bulk: the engine-specific fast paths behind `PriceStore.upsert_bars`.

Each engine counts, per ticker, the rows inserted or changed by the statement that writes them
(no separate counting join over the staged rows and the stored ones):

* **SQLite**: one `executemany` per ticker straight into `daily_bars`, an
  `INSERT ... ON CONFLICT DO UPDATE ... WHERE <a value differs>`; an identical row is neither
  inserted nor updated, so the statement's row count is exactly the rows written.
  No staging table: the rows go from Python to the table once. (A larger page cache for the
  write was measured and did not help: rows arrive in key order, so the pages touched are few.)
* **PostgreSQL**: the rows are sent with a binary `COPY` (fixed-width fields built by numpy in
  one pass, no text formatting of floats) into a temporary staging table dropped at commit, then
  one `INSERT ... SELECT ... ON CONFLICT DO UPDATE ... WHERE <a value differs> RETURNING ticker`
  counts what it wrote.

A ticker with no stored bar yet (a new security: the common case of a bulk import) takes a plain
`INSERT` with no conflict handling, every one of its rows counted as written. The security rows
of the tickers written are locked first (PostgreSQL: `FOR UPDATE`, which also holds off any other
writer's foreign-key check on them; SQLite: the database's single write lock), so no other
writer can add bars for such a ticker between the check and the insert.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from typing import Any, Callable

import numpy as np
import pandas as pd
from sqlalchemy import Connection

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


def write_bars(
    conn: Connection,
    columns: BarColumns,
    stored: set[str],
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write the bars in the caller's transaction; the rows inserted or changed per ticker.

    `stored`: the tickers that already have bars (the others take the plain-insert path)."""
    if conn.dialect.name == "postgresql":
        return _write_postgres(conn, columns, stored, progress)
    return _write_sqlite(conn, columns, stored, progress)


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


def _copy_buffer(columns: BarColumns, lo: int, hi: int) -> BytesIO:
    """Rows lo:hi in PostgreSQL's binary COPY format: one numpy record per tuple."""
    rows = np.empty(hi - lo, dtype=_COPY_DTYPE)
    rows["count"] = len(_PG_FIELDS)
    for name, kind, _ in _PG_FIELDS:
        rows[f"{name}_len"] = np.dtype(kind).itemsize
    rows["tid"] = columns.codes[lo:hi] + 1  # PostgreSQL arrays are 1-based
    rows["date"] = columns.days[lo:hi].astype(np.int64) - _PG_EPOCH_DAYS
    for name, values in columns.floats.items():
        rows[name] = values[lo:hi]
    rows["volume"] = columns.volume[lo:hi]
    rows["volume_missing"] = columns.volume_missing[lo:hi]
    return BytesIO(_COPY_HEADER + rows.tobytes() + _COPY_TRAILER)


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
) -> dict[str, int]:
    fields = ", ".join(f"{name} {pg}" for name, _, pg in _PG_FIELDS)
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {_STAGING} ({fields}) ON COMMIT DROP")
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    names = ", ".join(name for name, _, _ in _PG_FIELDS)
    copy = f"COPY {_STAGING} ({names}) FROM STDIN WITH (FORMAT binary)"
    total = len(columns)
    for lo in range(0, total, COPY_CHUNK):
        hi = min(lo + COPY_CHUNK, total)
        cursor.copy_expert(copy, _copy_buffer(columns, lo, hi))
        if progress is not None:
            progress(hi, total)
    cursor.close()
    ids_new = [i + 1 for i, t in enumerate(columns.tickers) if t not in stored]
    ids_old = [i + 1 for i, t in enumerate(columns.tickers) if t in stored]
    params = {"tickers": columns.tickers}
    written: dict[str, int] = {}
    if ids_new:
        conn.exec_driver_sql(
            f"INSERT INTO daily_bars ({_COLS}) " + _select_staged("s.tid = ANY(%(ids)s)"),
            {**params, "ids": ids_new},
        )
        counts = np.diff(columns.bounds())
        written.update({columns.tickers[i - 1]: int(counts[i - 1]) for i in ids_new})
    if ids_old:
        rows = conn.exec_driver_sql(
            f"WITH written AS (INSERT INTO daily_bars ({_COLS}) "  # nosec B608 -- constants
            + _select_staged("s.tid = ANY(%(ids)s)")
            + f" {_ON_CONFLICT} RETURNING ticker) "
            "SELECT ticker, COUNT(*) FROM written GROUP BY ticker",
            {**params, "ids": ids_old},
        )
        written.update({t: int(n) for t, n in rows})
    return written
