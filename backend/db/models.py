"""The database schema (SQLAlchemy 2 declarative). Alembic migrations create it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backend.reference.amounts import PRECISION, SCALE

# Ledger quantities and money: exact decimals (migration 0003). SQLite keeps NUMERIC values as
# 64-bit floats, which hold any 15-digit decimal exactly; SQLAlchemy reads them back as Decimal.
LedgerNumber = Numeric(PRECISION, SCALE, asdecimal=True)


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


class DataChange(Base):
    """What one data version changed (migration 0004): a row per ticker whose bars changed, with
    the first date changed, or one row with no ticker for an edit of the categories.

    Written in the transaction that bumps the version, so a process holding scores of version
    v can bring them to version w by recomputing only what versions v+1..w name (incremental
    scoring); a version with no row here (older than the log kept) means a full rebuild."""

    __tablename__ = "data_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    data_version: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    ticker: Mapped[str | None] = mapped_column(String(16))
    first_date: Mapped[dt.date | None] = mapped_column(Date)


class ScoreSnapshotPart(Base):
    """One part of a score book materialised for a data version (migration 0009;
    backend/momentum/snapshots.py): part 0 is the JSON header, the others arrays in `.npy`
    form. `tag` names what computed the scores (model version and weights)."""

    __tablename__ = "score_snapshots"

    tag: Mapped[str] = mapped_column(String(120), primary_key=True)
    data_version: Mapped[int] = mapped_column(Integer, primary_key=True)
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    payload: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


# --------------------------------------------------------------------------- portfolios


class User(Base):
    """A person who logs in and owns portfolios. Passwords are stored as Argon2 hashes."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class RefreshToken(Base):
    """One issued refresh token (by its JWT id). Single use: refreshing marks it used and
    issues the next one of the same family; presenting a used one revokes the whole family."""

    __tablename__ = "refresh_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    family: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Category(Base):
    """A portfolio category with its target weight and comparison benchmark."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    slug: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    target: Mapped[float] = mapped_column(Float, nullable=False)
    benchmark: Mapped[str] = mapped_column(String(16), nullable=False)
    is_fixed_income: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class CategoryMember(Base):
    """A ticker's category: each ticker belongs to at most one category."""

    __tablename__ = "category_members"

    ticker: Mapped[str] = mapped_column(String(16), primary_key=True)
    category_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("categories.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class ModelHolding(Base):
    """The built-in model portfolio: shares per ticker (docs/model-portfolio.md)."""

    __tablename__ = "model_holdings"

    ticker: Mapped[str] = mapped_column(String(16), primary_key=True)
    shares: Mapped[Decimal] = mapped_column(LedgerNumber, nullable=False)


class Portfolio(Base):
    """A user's portfolio. Holdings, cash and cost basis are derived from its transactions;
    `version` goes up with every write, which is also how writers serialise on the row."""

    __tablename__ = "portfolios"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Transaction(Base):
    """One ledger entry. Ordered by (date, id): same-day entries apply in insertion order."""

    __tablename__ = "transactions"
    __table_args__ = (Index("ix_transactions_portfolio_date", "portfolio_id", "date", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    portfolio_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("portfolios.id", ondelete="CASCADE"), nullable=False
    )
    date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    type: Mapped[str] = mapped_column(String(10), nullable=False)
    ticker: Mapped[str | None] = mapped_column(String(16))
    quantity: Mapped[Decimal] = mapped_column(LedgerNumber, nullable=False)
    price: Mapped[Decimal | None] = mapped_column(LedgerNumber)
    fees: Mapped[Decimal] = mapped_column(LedgerNumber, nullable=False, default=Decimal(0))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


# --------------------------------------------------------------------------- options


class OptionSnapshot(Base):
    """One ticker's option chain on one trading day (New York date of `taken_at`): a later
    snapshot of the same day replaces it (upsert). `atm_iv_30d` is our 30-day ATM implied
    volatility (null with `atm_reason` when there is none): the series IV rank reads."""

    __tablename__ = "option_snapshots"
    __table_args__ = (UniqueConstraint("ticker", "day", name="uq_option_snapshots_ticker_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticker: Mapped[str] = mapped_column(String(16), nullable=False)
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    taken_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    spot: Mapped[float] = mapped_column(Float, nullable=False)
    rate: Mapped[float] = mapped_column(Float, nullable=False)
    # "lean:<file name>", "yahoo-json:<file name>" or "yfinance".
    source: Mapped[str] = mapped_column(String(200), nullable=False)
    earnings_date: Mapped[dt.date | None] = mapped_column(Date)
    atm_iv_30d: Mapped[float | None] = mapped_column(Float)
    atm_reason: Mapped[str | None] = mapped_column(Text)
    contracts: Mapped[int] = mapped_column(Integer, nullable=False)


class OptionContract(Base):
    """One contract of a snapshot; `iv` is ours (null with `iv_reason` when it has no
    solution), `vendor_iv` the source's when it gave one."""

    __tablename__ = "option_contracts"

    snapshot_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("option_snapshots.id", ondelete="CASCADE"), primary_key=True
    )
    expiry: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    strike: Mapped[float] = mapped_column(Float, primary_key=True)
    right: Mapped[str] = mapped_column(String(1), primary_key=True)
    bid: Mapped[float | None] = mapped_column(Float)
    ask: Mapped[float | None] = mapped_column(Float)
    last: Mapped[float | None] = mapped_column(Float)
    volume: Mapped[int | None] = mapped_column(BigInteger)
    open_interest: Mapped[int | None] = mapped_column(BigInteger)
    vendor_iv: Mapped[float | None] = mapped_column(Float)
    iv: Mapped[float | None] = mapped_column(Float)
    iv_reason: Mapped[str | None] = mapped_column(String(40))


# --------------------------------------------------------------------------- watchlists


class Watchlist(Base):
    """A user's named list of tickers to watch; names are unique per user."""

    __tablename__ = "watchlists"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_watchlists_user_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class WatchlistItem(Base):
    """One ticker of a watchlist (the stored ticker when added by an alias), with its score
    when it was added (null, with the reason, when it had none)."""

    __tablename__ = "watchlist_items"
    __table_args__ = (
        UniqueConstraint("watchlist_id", "ticker", name="uq_watchlist_items_list_ticker"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    watchlist_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("watchlists.id", ondelete="CASCADE"), nullable=False, index=True
    )
    ticker: Mapped[str] = mapped_column(String(16), nullable=False)
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    added_score: Mapped[float | None] = mapped_column(Float)
    added_score_date: Mapped[dt.date | None] = mapped_column(Date)
    added_note: Mapped[str | None] = mapped_column(Text)


# --------------------------------------------------------------------------- alerts


class AlertRule(Base):
    """A user's alert rule: a condition (backend/alerts/rules.py) on a target: a list of tickers
    (`tickers`, comma-separated), the holdings of one of the user's portfolios (`portfolio_id`)
    or the tickers of one of the user's watchlists (`watchlist_id`); deleting the portfolio or
    the watchlist deletes its rules."""

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    target_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    tickers: Mapped[str | None] = mapped_column(Text)
    portfolio_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("portfolios.id", ondelete="CASCADE"), index=True
    )
    watchlist_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("watchlists.id", ondelete="CASCADE"), index=True
    )
    condition: Mapped[str] = mapped_column(String(32), nullable=False)
    level: Mapped[float | None] = mapped_column(Float)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class AlertWebhook(Base):
    """The webhook a user's firings are posted to (one per user)."""

    __tablename__ = "alert_webhooks"

    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class AlertEvaluation(Base):
    """One evaluation of every rule, at one data version. The primary key makes it once per
    version; `previous_version` is unique too, so evaluations form one chain and no change
    between two versions is ever reported by two evaluations (replicas racing)."""

    __tablename__ = "alert_evaluations"

    data_version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    previous_version: Mapped[int] = mapped_column(Integer, nullable=False, unique=True)
    reference_date: Mapped[dt.date | None] = mapped_column(Date)
    last_date: Mapped[dt.date | None] = mapped_column(Date)
    rules: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    firings: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    evaluated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class AlertDelivery(Base):
    """One webhook post: the firings of one user at one data version, and how it went."""

    __tablename__ = "alert_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    data_version: Mapped[int] = mapped_column(Integer, nullable=False)
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AlertFiring(Base):
    """A rule that fired for one ticker at one data version: both states compared."""

    __tablename__ = "alert_firings"
    __table_args__ = (
        UniqueConstraint("rule_id", "data_version", "ticker", name="uq_alert_firings_once"),
        Index("ix_alert_firings_user_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    data_version: Mapped[int] = mapped_column(Integer, nullable=False)
    ticker: Mapped[str] = mapped_column(String(16), nullable=False)
    condition: Mapped[str] = mapped_column(String(32), nullable=False)
    level: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(String(500), nullable=False)
    previous_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    previous_score: Mapped[float] = mapped_column(Float, nullable=False)
    previous_rating: Mapped[str] = mapped_column(String(32), nullable=False)
    previous_percentile: Mapped[float | None] = mapped_column(Float)
    current_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    current_score: Mapped[float] = mapped_column(Float, nullable=False)
    current_rating: Mapped[str] = mapped_column(String(32), nullable=False)
    current_percentile: Mapped[float | None] = mapped_column(Float)
    delivery_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("alert_deliveries.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


# --------------------------------------------------------------------------- idempotency


class IdempotencyKey(Base):
    """A write sent with an `Idempotency-Key` header and the answer it got, so a repeat of the
    same request is answered the same without writing again (backend/portfolios/idempotency.py).
    Written in the write's own transaction: a key exists exactly when its write committed.
    One key per user (the unique index is what decides between concurrent duplicates)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        Index("uq_idempotency_keys_user_key", "user_id", "key", unique=True),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    # "POST /portfolios/12/transactions": a key names one request to one route
    route: Mapped[str] = mapped_column(String(200), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[int] = mapped_column(Integer, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
