"""The price store: securities, daily bars and aliases in the database.

Writes are upserts keyed on (ticker, date) and are atomic; any write that changes a bar bumps
the store's data version in the same transaction. Reads return the whole store as a panel
(dates x tickers), which is what the momentum engine consumes.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, func, insert, select, text, update
from sqlalchemy.orm import Session

from backend.db.models import DailyBar, Security, StoreState, TickerAlias
from backend.market_data.bar_writer import BAR_FIELDS as _BAR_FIELDS
from backend.market_data.bar_writer import bar_columns, tickers_with_bars, write_bars
from backend.market_data.categories import (
    CategoryRepository,
    CategorySnapshot,
    ChangeSet,
    bump_data_version,
    read_changes,
    read_data_version,
    read_snapshot,
)
from backend.reference.panel import PANEL_COLUMNS


@dataclass(frozen=True)
class UpsertResult:
    """What an upsert did: rows it inserted or changed, rows already identical, per ticker."""

    rows: int
    written: int
    unchanged: int
    written_by_ticker: dict[str, int] = field(default_factory=dict)
    data_version: int = 0

    @property
    def tickers(self) -> int:
        return len(self.written_by_ticker)


@dataclass(frozen=True)
class PricePanel:
    """Every stored bar as dates x tickers frames (NaN where a ticker has no bar that day)."""

    close: pd.DataFrame  # adjusted close: what the model scores
    raw_close: pd.DataFrame  # close as traded (NaN where the source had none)
    volume: pd.DataFrame
    split: pd.DataFrame
    securities: pd.DataFrame  # index ticker; name, sector, category, is_fixed_income, data_source
    data_version: int
    # The categories and model holdings read with the bars (universes, the benchmark choice).
    categories: CategorySnapshot = field(default_factory=lambda: CategorySnapshot(0))

    @property
    def tickers(self) -> list[str]:
        return list(self.close.columns)


@dataclass(frozen=True)
class PanelUpdate:
    """The bars data versions `changes.since`+1..`changes.version` changed (long: date, ticker,
    close, adj_close, volume, split; each changed ticker from its first changed date on), with
    the securities and categories at `changes.version`."""

    changes: ChangeSet
    bars: pd.DataFrame
    securities: pd.DataFrame
    categories: CategorySnapshot

    @property
    def data_version(self) -> int:
        return self.changes.version


@dataclass(frozen=True)
class StoreStats:
    securities: int
    bars: int
    newest_bar: dt.date | None
    oldest_bar: dt.date | None
    data_version: int
    last_refresh_at: dt.datetime | None
    last_refresh_outcome: str | None


_SECURITY_FIELDS = ("ticker", "name", "sector", "category", "is_fixed_income", "data_source")


def _classified(rows: Iterable[Any], snapshot: CategorySnapshot) -> list[dict[str, Any]]:
    """Security rows (ticker, name, sector, data_source, ...) with the category and the
    fixed-income flag of the category tables, the one place they are kept."""
    owner = snapshot.by_ticker()
    out = []
    for row in rows:
        values = row._asdict()
        category = owner.get(values["ticker"])
        values["category"] = category.name if category is not None else None
        values["is_fixed_income"] = category.is_fixed_income if category is not None else False
        out.append(values)
    return out


def _clean(value: Any) -> Any:
    """numpy scalars and NaN -> plain Python values and None, as the DB-API wants them."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    return value


_PANEL_COLUMNS = "date, ticker, close, adj_close, volume, split"
PANEL_CHUNK = 250_000  # rows read at a time by load_panel
# The panel's frames and the bar column each is read from.
_IN_CHUNK = 500  # tickers per IN (...) list: well under SQLite's bound on parameters


def _raw_rows(conn: Connection, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Rows through SQLAlchemy's text() but read as plain tuples: several times faster than
    Row objects for the whole store."""
    result = conn.execute(text(sql), params)
    return list(result.cursor.fetchall()) if result.cursor is not None else []


def _chunks(conn: Connection, sql: str) -> Iterator[list[Any]]:
    """The rows of `sql` (constants only) `PANEL_CHUNK` at a time, as the driver's tuples. On
    PostgreSQL a server-side cursor, so the server sends a chunk at a time; SQLite steps
    through its result anyway."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    server_side = conn.dialect.name == "postgresql"
    cursor = raw.cursor(name="av_load_panel") if server_side else raw.cursor()
    try:
        cursor.execute(sql)
        while True:
            rows = cursor.fetchmany(PANEL_CHUNK)
            if not rows:
                return
            yield list(rows)
    finally:
        cursor.close()


def _long_bars(rows: Sequence[Any]) -> pd.DataFrame:
    bars = pd.DataFrame(rows, columns=["date", "ticker", "close", "adj_close", "volume", "split"])
    bars["date"] = pd.to_datetime(bars["date"].astype(str), format="%Y-%m-%d")
    for column in ("close", "adj_close", "volume", "split"):
        bars[column] = bars[column].astype("float64")
    return bars


def _securities_frame(conn: Connection, categories: CategorySnapshot) -> pd.DataFrame:
    sec = conn.execute(
        select(Security.ticker, Security.name, Security.sector, Security.data_source)
    ).all()
    return pd.DataFrame(_classified(sec, categories), columns=list(_SECURITY_FIELDS)).set_index(
        "ticker"
    )


class PriceStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.categories = CategoryRepository(engine)

    # ----------------------------------------------------------------- reads

    def data_version(self) -> int:
        with Session(self.engine) as s:
            return read_data_version(s)

    def is_empty(self) -> bool:
        with Session(self.engine) as s:
            return s.scalar(select(DailyBar.ticker).limit(1)) is None

    def resolve(self, ticker: str) -> str | None:
        """The stored ticker for `ticker`, following aliases in either direction (META <-> FB);
        None when neither it nor an alias of it has bars."""
        with Session(self.engine) as s:
            names = [ticker]
            rows = s.execute(
                select(TickerAlias.alias, TickerAlias.ticker).where(
                    (TickerAlias.alias == ticker) | (TickerAlias.ticker == ticker)
                )
            ).all()
            names += [b if a == ticker else a for a, b in rows]
            for name in names:
                if s.scalar(select(DailyBar.ticker).where(DailyBar.ticker == name).limit(1)):
                    return name
        return None

    def alias_pairs(self) -> list[tuple[str, str]]:
        """(alias, ticker) rows: two names of one security."""
        with Session(self.engine) as s:
            return [(a, t) for a, t in s.execute(select(TickerAlias.alias, TickerAlias.ticker))]

    def last_bar_dates(self, tickers: Iterable[str] | None = None) -> dict[str, dt.date]:
        stmt = select(DailyBar.ticker, func.max(DailyBar.date)).group_by(DailyBar.ticker)
        if tickers is not None:
            stmt = stmt.where(DailyBar.ticker.in_(list(tickers)))
        with Session(self.engine) as s:
            return {t: d for t, d in s.execute(stmt).all()}

    def stats(self) -> StoreStats:
        with Session(self.engine) as s:
            n_sec = s.scalar(select(func.count()).select_from(Security)) or 0
            n_bars, newest, oldest = s.execute(
                select(func.count(), func.max(DailyBar.date), func.min(DailyBar.date))
            ).one()
            state = s.get(StoreState, 1)
        return StoreStats(
            securities=int(n_sec),
            bars=int(n_bars or 0),
            newest_bar=newest,
            oldest_bar=oldest,
            data_version=state.data_version if state else 0,
            last_refresh_at=state.last_refresh_at if state else None,
            last_refresh_outcome=state.last_refresh_outcome if state else None,
        )

    def bars(
        self, ticker: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> list[dict[str, Any]]:
        """The stored bars of one (stored) ticker between start and end inclusive, oldest
        first, as plain dicts with every bar field."""
        stmt = select(DailyBar).where(DailyBar.ticker == ticker).order_by(DailyBar.date)
        if start is not None:
            stmt = stmt.where(DailyBar.date >= start)
        if end is not None:
            stmt = stmt.where(DailyBar.date <= end)
        with Session(self.engine) as s:
            return [
                {"date": b.date, **{f: getattr(b, f) for f in _BAR_FIELDS}} for b in s.scalars(stmt)
            ]

    def dividends(self, tickers: Iterable[str]) -> pd.DataFrame:
        """The stored cash dividends (per share, on the ex-date) of ``tickers``: the rows with
        a dividend above 0, as a long frame ``date, ticker, dividend`` (dates as Timestamps).
        The panel leaves them out (the scores never read them); the strategy backtest pays them."""
        names = list(tickers)
        stmt = (
            select(DailyBar.date, DailyBar.ticker, DailyBar.dividend)
            .where(DailyBar.ticker.in_(names), DailyBar.dividend > 0)
            .order_by(DailyBar.date, DailyBar.ticker)
        )
        with Session(self.engine) as s:
            rows = s.execute(stmt).all() if names else []
        frame = pd.DataFrame([tuple(r) for r in rows], columns=["date", "ticker", "dividend"])
        frame["date"] = pd.to_datetime(frame["date"])
        frame["dividend"] = frame["dividend"].astype("float64")
        return frame

    def securities(self, tickers: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Securities (all, or those named) with their metadata (the category from the category
        tables), first and last bar date and number of bars, by ticker."""
        names = None if tickers is None else list(tickers)
        counts_stmt = select(
            DailyBar.ticker.label("ticker"),
            func.count().label("bars"),
            func.min(DailyBar.date).label("first_date"),
            func.max(DailyBar.date).label("last_date"),
        ).group_by(DailyBar.ticker)
        if names is not None:
            counts_stmt = counts_stmt.where(DailyBar.ticker.in_(names))
        counts = counts_stmt.subquery()
        stmt = (
            select(
                Security.ticker,
                Security.name,
                Security.sector,
                Security.data_source,
                counts.c.bars,
                counts.c.first_date,
                counts.c.last_date,
            )
            .outerjoin(counts, counts.c.ticker == Security.ticker)
            .order_by(Security.ticker)
        )
        if names is not None:
            stmt = stmt.where(Security.ticker.in_(names))
        with Session(self.engine) as s:
            rows = s.execute(stmt).all()
        return [
            {**row, "bars": int(row["bars"] or 0)}
            for row in _classified(rows, self.categories.current())
        ]

    def load_panel(self) -> PricePanel:
        """All bars as dates x tickers frames. Days a ticker has no bar stay NaN.

        Read in chunks of `PANEL_CHUNK` rows straight into the wide arrays, so memory holds the
        panel and one chunk, not every row as a Python object (a few GB at 30 million bars)."""
        with self.engine.connect() as conn:
            version = read_data_version(conn)
            tickers = pd.Index(
                sorted(conn.execute(text("SELECT DISTINCT ticker FROM daily_bars")).scalars())
            )
            days = conn.execute(text("SELECT DISTINCT date FROM daily_bars")).scalars().all()
            dates = pd.DatetimeIndex(
                pd.to_datetime(pd.Series(days, dtype=object).astype(str), format="%Y-%m-%d")
            ).sort_values()
            shape = (len(dates), len(tickers))
            wide = {name: np.full(shape, np.nan, order="F") for name in PANEL_COLUMNS}
            for rows in _chunks(conn, f"SELECT {_PANEL_COLUMNS} FROM daily_bars"):
                chunk = _long_bars(rows)
                r = dates.get_indexer(pd.DatetimeIndex(chunk["date"]))
                c = tickers.get_indexer(pd.Index(chunk["ticker"]))
                for name, column in PANEL_COLUMNS.items():
                    wide[name][r, c] = chunk[column].to_numpy()
            categories = read_snapshot(conn, version)
            securities = _securities_frame(conn, categories)

        def frame(name: str) -> pd.DataFrame:
            return pd.DataFrame(wide[name], index=dates, columns=tickers, copy=False)

        return PricePanel(
            close=frame("close"),
            raw_close=frame("raw_close"),
            volume=frame("volume"),
            split=frame("split"),
            securities=securities.reindex(tickers),
            data_version=version,
            categories=categories,
        )

    def load_update(self, since: int) -> PanelUpdate | None:
        """What changed after data version `since`: the bars of each ticker the change log names,
        from its first changed date on, with every security and the categories as they are now.
        None when the log cannot say (a version older than the log kept): load the panel."""
        with self.engine.connect() as conn:
            version = read_data_version(conn)
            changes = read_changes(conn, since, version)
            if changes is None:
                return None
            frames = [_long_bars([])]
            names = sorted(changes.first_dates)
            for k in range(0, len(names), _IN_CHUNK):
                chunk = names[k : k + _IN_CHUNK]
                # One range for the chunk (its earliest date), trimmed per ticker below.
                since_date = min(changes.first_dates[t] for t in chunk)
                marks = ", ".join(f":t{i}" for i in range(len(chunk)))
                params: dict[str, Any] = {f"t{i}": t for i, t in enumerate(chunk)}
                params["d"] = since_date
                sql = (
                    f"SELECT {_PANEL_COLUMNS} FROM daily_bars "  # nosec B608: constants only
                    f"WHERE date >= :d AND ticker IN ({marks})"
                )
                frames.append(_long_bars(_raw_rows(conn, sql, params)))
            categories = read_snapshot(conn, version)
            securities = _securities_frame(conn, categories)
        bars = pd.concat(frames, ignore_index=True)
        first = pd.to_datetime(bars["ticker"].map(changes.first_dates).astype(str))
        bars = bars[bars["date"] >= first].reset_index(drop=True)
        return PanelUpdate(changes, bars, securities, categories)

    # ---------------------------------------------------------------- writes

    def upsert_securities(self, rows: Iterable[dict[str, Any]]) -> int:
        """Insert securities or update the fields given (None leaves a field as it is). A
        security's category and fixed-income flag are not its own: they are read from the
        category tables."""
        count = 0
        with Session(self.engine) as s, s.begin():
            for row in rows:
                ticker = row["ticker"]
                sec = s.get(Security, ticker)
                if sec is None:
                    sec = Security(ticker=ticker, is_fixed_income=False)
                    s.add(sec)
                for key in ("name", "sector", "data_source"):
                    value = _clean(row.get(key))
                    if value is not None:
                        setattr(sec, key, value)
                count += 1
        return count

    def upsert_bars(
        self,
        bars: pd.DataFrame,
        source: str,
        progress: Callable[[int, int], None] | None = None,
    ) -> UpsertResult:
        """Write canonical bars in one transaction: new (ticker, date) rows are inserted, rows
        whose values differ are updated, identical rows are left alone. Securities that do not
        exist yet are created; every ticker written records `source` as its data source.

        The engine-specific bulk paths are in `bar_writer`: each counts per ticker the rows it
        inserted or changed in the statement that writes them, and a ticker with no stored bar
        yet takes a plain insert. `progress(done, total)` follows the rows sent.
        """
        total = len(bars)
        if total == 0:
            return UpsertResult(0, 0, 0, {}, self.data_version())
        columns = bar_columns(bars)
        tickers = columns.tickers
        now = dt.datetime.now(dt.timezone.utc)
        with self.engine.begin() as conn:
            existing = set(
                conn.execute(select(Security.ticker).where(Security.ticker.in_(tickers))).scalars()
            )
            missing = [t for t in tickers if t not in existing]
            if missing:
                conn.execute(
                    insert(Security),
                    [{"ticker": t, "is_fixed_income": False} for t in missing],
                )
            stored = tickers_with_bars(conn, [t for t in tickers if t in existing])
            written, first_changed = write_bars(conn, columns, stored, progress)
            conn.execute(
                update(Security)
                .where(Security.ticker.in_(tickers))
                .values(data_source=source, updated_at=now)
            )
            n_written = int(sum(written.values()))
            if n_written:
                bump_data_version(conn, first_changed)
            version = read_data_version(conn)
        return UpsertResult(
            rows=total,
            written=n_written,
            unchanged=total - n_written,
            written_by_ticker={t: int(written.get(t, 0)) for t in tickers},
            data_version=version,
        )

    def record_refresh(self, outcome: str) -> None:
        with Session(self.engine) as s, s.begin():
            s.execute(
                update(StoreState)
                .where(StoreState.id == 1)
                .values(
                    last_refresh_at=dt.datetime.now(dt.timezone.utc), last_refresh_outcome=outcome
                )
            )
