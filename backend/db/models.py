"""The database schema (SQLAlchemy 2 declarative). Alembic migrations create it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Security(Base):
    """A stock or ETF the store holds prices for."""

    __tablename__ = "securities"

    ticker: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    sector: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str | None] = mapped_column(String(100))
    is_fixed_income: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # Where its prices last came from: "sample", "csv:<file name>", "yfinance".
    data_source: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class DailyBar(Base):
    """One trading day of one security; unique per (ticker, date)."""

    __tablename__ = "daily_bars"

    ticker: Mapped[str] = mapped_column(
        String(16), ForeignKey("securities.ticker", ondelete="CASCADE"), primary_key=True
    )
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    open: Mapped[float | None] = mapped_column(Float)
    high: Mapped[float | None] = mapped_column(Float)
    low: Mapped[float | None] = mapped_column(Float)
    close: Mapped[float | None] = mapped_column(Float)
    adj_close: Mapped[float] = mapped_column(Float, nullable=False)
    volume: Mapped[int | None] = mapped_column(BigInteger)
    dividend: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    split: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)


class TickerAlias(Base):
    """Another name for a stored security (a renamed listing: META was FB)."""

    __tablename__ = "ticker_aliases"

    alias: Mapped[str] = mapped_column(String(16), primary_key=True)
    ticker: Mapped[str] = mapped_column(String(16), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)


class StoreState(Base):
    """One row: the price store's data version and the last refresh.

    The data version goes up in the same transaction as any change to bars, so every cache
    keyed on it stops serving values computed from older prices."""

    __tablename__ = "store_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    data_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_refresh_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_refresh_outcome: Mapped[str | None] = mapped_column(Text)
