"""Portfolios over the database: categories, user portfolios and their ledgers, and the views
(analysis, rebalance, performance) computed by the pure modules from the ledger, the price
store and the momentum scores.

Every read or write of a user's portfolio names the user: a portfolio of someone else is
NotFound, exactly like a missing one. Writes to one portfolio are serialised on its row (the
first statement of each write transaction bumps `portfolios.version`, which takes the row lock
on PostgreSQL and the write lock on SQLite), and the whole ledger is re-checked inside that
transaction, so concurrent writers can never leave an inconsistent ledger behind.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NoReturn, cast

import numpy as np
import pandas as pd
from sqlalchemy import CursorResult, Engine, delete, func, select, update
from sqlalchemy.orm import Session

from backend.db.engine import make_session_factory
from backend.db.models import Category, CategoryMember, Portfolio, Transaction
from backend.errors import START_NOT_AFTER_END, InvalidInput, NotFound, Rule
from backend.market_data.categories import CategoryRecord as CategoryInfo
from backend.market_data.categories import bump_data_version, read_categories
from backend.momentum.engine import MIN_CLOSES, rating
from backend.momentum.service import MomentumService, ScoreBook
from backend.portfolios import csv_io, ledger
from backend.portfolios.analysis import (
    CategoryTarget,
    PortfolioAnalysis,
    analyze_holdings,
    category_targets,
    value_weighted_score,
)
from backend.portfolios.csv_io import ImportRejected
from backend.portfolios.performance import (
    PerformanceReport,
    portfolio_performance,
    split_adjusted_shares,
)
from backend.portfolios.rebalance import RebalancePlan, plan_rebalance
from backend.reference.tickers import TICKER_RULE, normalize_ticker

TARGET_TOLERANCE = 0.001
# The rules of these views and edits that no schema can state (declared by their routes).
TARGETS_SUM = Rule(
    "invalid_input",
    f"category targets must sum to 1 (within {TARGET_TOLERANCE})",
    f"after the change, the category targets must sum to 1 (within {TARGET_TOLERANCE})",
)
ONE_CATEGORY = Rule(
    "invalid_input", "a ticker belongs to one category", "a ticker belongs to one category only"
)
LISTED_ONCE = Rule("invalid_input", "unique", "each ticker at most once, whatever its case")
STORED_DAYS = Rule(
    "invalid_input",
    "the period must contain stored trading days",
    "the period asked for must contain trading days of the price store",
)
STORED_PRICES = Rule(
    "invalid_input", "the store must hold prices", "the price store must hold prices"
)
__all__ = ["ImportRejected", "PortfolioService"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; every stored one is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


def latest_valid_date() -> dt.date:
    """The last date that is not in the future: today where the day starts first (UTC+14), so
    a user's today is accepted in every time zone."""
    return (_now() + dt.timedelta(hours=14)).date()


# ------------------------------------------------------------------------ plain results


@dataclass(frozen=True)
class Quote:
    """What the store and the momentum service say about one ticker now."""

    ticker: str
    stored_ticker: str | None
    price: float | None
    price_date: dt.date | None
    price_basis: str | None  # "close" (as traded) or "adj_close"
    score: float | None
    rating: str | None
    note: str | None = None  # why price or score is missing


@dataclass(frozen=True)
class CategoryReport:
    category: CategoryInfo
    scored: list[Quote]  # highest score first
    unscored: list[Quote]
    average_score: float | None
    value_weighted_score: float | None
    value_weighted_over: list[str]
    benchmark: Quote


@dataclass(frozen=True)
class PortfolioInfo:
    id: int
    name: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    transactions: int


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


@dataclass(frozen=True)
class Holdings:
    """A portfolio's ledger state with the current quotes of its positions."""

    state: ledger.LedgerState
    quotes: dict[str, Quote]


@dataclass(frozen=True)
class PerformanceInputs:
    shares: pd.DataFrame
    cash: pd.Series
    flows: pd.Series
    prices: pd.DataFrame
    benchmark: pd.Series | None
    benchmark_ticker: str
    price_basis: dict[str, str | None]
    notes: list[str] = field(default_factory=list)


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
        created_at=_utc(row.created_at),
    )


def _ledger_tx(row: Transaction) -> ledger.Transaction:
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


def _floats(values: Mapping[str, Decimal | float]) -> dict[str, float]:
    """Exact ledger quantities for the floating-point views."""
    return {k: float(v) for k, v in values.items()}


class PortfolioService:
    def __init__(self, engine: Engine, momentum: MomentumService) -> None:
        self.engine = engine
        self.momentum = momentum
        self.sessions = make_session_factory(engine)

    # ================================================================== categories

    def categories(self) -> list[CategoryInfo]:
        return list(self.momentum.store.categories.current().categories)

    def category(self, name: str) -> CategoryInfo:
        """A category by slug (`large-cap-anchors`) or name, case-insensitive."""
        return self._find(self.categories(), name)

    @staticmethod
    def _find(cats: Sequence[CategoryInfo], name: str) -> CategoryInfo:
        key = name.strip().lower()
        for c in cats:
            if key in (c.slug, c.name.lower()):
                return c
        raise NotFound(
            f"no category {name!r}",
            {"category": name, "known": [c.slug for c in cats]},
        )

    def category_targets(self) -> tuple[CategoryTarget, ...]:
        return category_targets(self.categories())

    @staticmethod
    def _check_targets_sum(targets: Mapping[str, float]) -> None:
        total = sum(targets.values())
        if abs(total - 1.0) > TARGET_TOLERANCE:
            rule = TARGETS_SUM.rule
            raise InvalidInput(
                f"{rule}; with this change they sum to {total:.6g}",
                {"field": "target", "rule": rule, "sum": total, "targets": dict(targets)},
            )

    @staticmethod
    def _check_target(value: float, name: str) -> None:
        if not math.isfinite(value) or not 0.0 <= value <= 1.0:
            raise InvalidInput(
                f"target of {name!r} must be between 0 and 1, not {value}",
                {"field": "target", "rule": "0 <= target <= 1", "category": name},
            )

    def update_category(
        self,
        name: str,
        target: float | None = None,
        benchmark: str | None = None,
        tickers: Sequence[str] | None = None,
    ) -> CategoryInfo:
        """Change one category (admin). Targets must still sum to 1 within 0.001; a ticker
        may belong to one category only."""
        with self.sessions() as s, s.begin():
            # Every category edit moves the data version: the score book, its universes and
            # every cached score are keyed by it.
            bump_data_version(s)
            cats = read_categories(s)
            cat = self._find(cats, name)
            row = s.get(Category, cat.id)
            assert row is not None
            if target is not None:
                self._check_target(target, cat.name)
                self._check_targets_sum(
                    {c.name: (target if c.id == cat.id else c.target) for c in cats}
                )
                row.target = target
            if benchmark is not None:
                bench = normalize_ticker(benchmark)
                if bench is None:
                    raise InvalidInput(
                        f"benchmark {benchmark!r} is malformed: it must be {TICKER_RULE}",
                        {"field": "benchmark", "rule": TICKER_RULE},
                    )
                row.benchmark = bench
            if tickers is not None:
                self._set_members(s, cats, cat, tickers)
        return self.category(cat.slug)

    @staticmethod
    def _set_members(
        s: Session, cats: Sequence[CategoryInfo], cat: CategoryInfo, raw: Sequence[str]
    ) -> None:
        owner = {t: c for c in cats if c.id != cat.id for t in c.tickers}
        tickers: list[str] = []
        for i, value in enumerate(raw):
            ticker = normalize_ticker(value)
            if ticker is None:
                raise InvalidInput(
                    f"ticker {value!r} is malformed: it must be {TICKER_RULE}",
                    {"field": f"tickers.{i}", "rule": TICKER_RULE},
                )
            if ticker in owner:
                raise InvalidInput(
                    f"{ticker} already belongs to category {owner[ticker].name!r}; a ticker "
                    "belongs to one category only (remove it there first)",
                    {
                        "field": f"tickers.{i}",
                        "rule": ONE_CATEGORY.rule,
                        "ticker": ticker,
                        "category": owner[ticker].slug,
                    },
                )
            if ticker in tickers:
                raise InvalidInput(
                    f"{ticker} is listed twice",
                    {"field": f"tickers.{i}", "rule": LISTED_ONCE.rule, "ticker": ticker},
                )
            tickers.append(ticker)
        s.execute(delete(CategoryMember).where(CategoryMember.category_id == cat.id))
        s.flush()
        s.add_all(
            CategoryMember(ticker=t, category_id=cat.id, position=k) for k, t in enumerate(tickers)
        )

    def update_targets(self, targets: Mapping[str, float]) -> list[CategoryInfo]:
        """Set several targets at once (admin); the categories not named keep theirs."""
        with self.sessions() as s, s.begin():
            bump_data_version(s)
            cats = read_categories(s)
            new = {c.name: c.target for c in cats}
            rows: dict[int, float] = {}
            for key, value in targets.items():
                cat = self._find(cats, key)
                self._check_target(value, cat.name)
                new[cat.name] = value
                rows[cat.id] = value
            self._check_targets_sum(new)
            for cat_id, value in rows.items():
                s.execute(update(Category).where(Category.id == cat_id).values(target=value))
        return self.categories()

    # ================================================================== quotes

    def _book(self) -> ScoreBook | None:
        """The momentum service's scores, or None while the price store is empty."""
        if self.momentum.store.is_empty():
            return None
        return self.momentum.book()

    def _require_book(self) -> ScoreBook:
        book = self._book()
        if book is None:
            raise InvalidInput(
                "the price store is empty: there are no prices to value a portfolio with",
                {"field": "prices", "rule": STORED_PRICES.rule},
            )
        return book

    def quotes(self, tickers: Iterable[str]) -> dict[str, Quote]:
        """The last stored close and the current momentum score of each ticker, from the
        momentum service's book (never asks a live provider). Missing data is None with a
        note, never zero."""
        book = self._book()
        if book is None:
            return {
                t: Quote(t, None, None, None, None, None, None, "the price store is empty")
                for t in tickers
            }
        panel = book.panel
        raw_close = panel.raw_close.values
        adj_close = panel.close.values
        out: dict[str, Quote] = {}
        for ticker in tickers:
            stored = book.resolve(ticker)
            if stored is None:
                out[ticker] = Quote(
                    ticker, None, None, None, None, None, None, "no prices stored for this ticker"
                )
                continue
            col = book.column[stored]
            row = book.row_at(col, None)
            if row is None:
                out[ticker] = Quote(
                    ticker, stored, None, None, None, None, None, "no closes stored for this ticker"
                )
                continue
            raw = float(raw_close[row, col])
            has_raw = not math.isnan(raw)
            price = raw if has_raw else float(adj_close[row, col])
            overall = float(book.frames.overall[row, col])
            note = None
            if math.isnan(overall):
                found = int(book.frames.n_closes[row, col])
                note = f"no momentum score: {found} closes stored, the model needs {MIN_CLOSES}"
            out[ticker] = Quote(
                ticker=ticker,
                stored_ticker=stored,
                price=price,
                price_date=pd.Timestamp(book.dates[row]).date(),
                price_basis="close" if has_raw else "adj_close",
                score=None if math.isnan(overall) else round(overall, 2),
                rating=None if math.isnan(overall) else rating(overall),
                note=note,
            )
        return out

    # ================================================================== portfolios

    @staticmethod
    def _not_found(portfolio_id: int) -> NotFound:
        # The same answer whether the portfolio is missing or someone else's.
        return NotFound(f"portfolio {portfolio_id} not found", {"portfolio_id": portfolio_id})

    def _owned(self, s: Session, user_id: int, portfolio_id: int) -> Portfolio:
        row = s.get(Portfolio, portfolio_id)
        if row is None or row.user_id != user_id:
            raise self._not_found(portfolio_id)
        return row

    def _lock(self, s: Session, user_id: int, portfolio_id: int) -> None:
        """Serialise writers of one portfolio: the first statement of the write transaction
        updates its row (PostgreSQL row lock; SQLite write lock), held until commit."""
        result = s.execute(
            update(Portfolio)
            .where(Portfolio.id == portfolio_id, Portfolio.user_id == user_id)
            .values(version=Portfolio.version + 1, updated_at=_now())
        )
        if cast(CursorResult[Any], result).rowcount != 1:
            raise self._not_found(portfolio_id)

    @staticmethod
    def _check_name(name: str) -> str:
        clean = name.strip()
        if not 1 <= len(clean) <= 100:
            raise InvalidInput(
                "name must be 1 to 100 characters (not blank)",
                {"field": "name", "rule": "1 to 100 characters"},
            )
        return clean

    def _portfolio_info(self, s: Session, row: Portfolio) -> PortfolioInfo:
        count = s.scalar(
            select(func.count()).select_from(Transaction).where(Transaction.portfolio_id == row.id)
        )
        return PortfolioInfo(
            id=row.id,
            name=row.name,
            created_at=_utc(row.created_at),
            updated_at=_utc(row.updated_at),
            version=row.version,
            transactions=int(count or 0),
        )

    def create(self, user_id: int, name: str) -> PortfolioInfo:
        now = _now()
        with self.sessions() as s, s.begin():
            row = Portfolio(
                user_id=user_id,
                name=self._check_name(name),
                version=0,
                created_at=now,
                updated_at=now,
            )
            s.add(row)
            s.flush()
            return self._portfolio_info(s, row)

    def list_portfolios(self, user_id: int) -> list[PortfolioInfo]:
        with self.sessions() as s:
            rows = s.scalars(
                select(Portfolio).where(Portfolio.user_id == user_id).order_by(Portfolio.id)
            ).all()
            return [self._portfolio_info(s, r) for r in rows]

    def get(self, user_id: int, portfolio_id: int) -> PortfolioInfo:
        with self.sessions() as s:
            return self._portfolio_info(s, self._owned(s, user_id, portfolio_id))

    def rename(self, user_id: int, portfolio_id: int, name: str) -> PortfolioInfo:
        clean = self._check_name(name)
        with self.sessions() as s, s.begin():
            self._lock(s, user_id, portfolio_id)
            row = self._owned(s, user_id, portfolio_id)
            row.name = clean
            s.flush()
            return self._portfolio_info(s, row)

    def delete(self, user_id: int, portfolio_id: int) -> None:
        with self.sessions() as s, s.begin():
            self._lock(s, user_id, portfolio_id)
            s.execute(delete(Transaction).where(Transaction.portfolio_id == portfolio_id))
            s.execute(delete(Portfolio).where(Portfolio.id == portfolio_id))

    # ================================================================== transactions

    @staticmethod
    def _stored(s: Session, portfolio_id: int) -> list[Transaction]:
        return list(
            s.scalars(
                select(Transaction)
                .where(Transaction.portfolio_id == portfolio_id)
                .order_by(Transaction.date, Transaction.id)
            ).all()
        )

    def ledger_entries(self, user_id: int, portfolio_id: int) -> list[ledger.Transaction]:
        with self.sessions() as s:
            self._owned(s, user_id, portfolio_id)
            return [_ledger_tx(r) for r in self._stored(s, portfolio_id)]

    @staticmethod
    def _explain(
        err: ledger.LedgerError, existing: Mapping[int, Transaction], what: str
    ) -> NoReturn:
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

    def add_transactions(
        self, user_id: int, portfolio_id: int, new: Sequence[NewTransaction]
    ) -> list[TransactionInfo]:
        """Validate and store transactions (all or none); the whole ledger is re-checked."""
        entries = [validate_new(tx, ref=f"new:{i}") for i, tx in enumerate(new)]
        with self.sessions() as s, s.begin():
            self._lock(s, user_id, portfolio_id)
            stored = self._stored(s, portfolio_id)
            try:
                ledger.replay([_ledger_tx(r) for r in stored] + entries)
            except ledger.LedgerError as err:
                self._explain(err, {r.id: r for r in stored}, "this transaction")
            rows = self._insert(s, portfolio_id, entries)
            return [_info(r) for r in rows]

    @staticmethod
    def _insert(
        s: Session, portfolio_id: int, entries: Sequence[ledger.Transaction]
    ) -> list[Transaction]:
        now = _now()
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
                created_at=now,
            )
            for e in entries
        ]
        s.add_all(rows)
        s.flush()
        return rows

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
            self._owned(s, user_id, portfolio_id)
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
            self._lock(s, user_id, portfolio_id)
            stored = self._stored(s, portfolio_id)
            by_id = {r.id: r for r in stored}
            if transaction_id not in by_id:
                raise NotFound(
                    f"transaction {transaction_id} not found in portfolio {portfolio_id}",
                    {"portfolio_id": portfolio_id, "transaction_id": transaction_id},
                )
            try:
                ledger.replay([_ledger_tx(r) for r in stored if r.id != transaction_id])
            except ledger.LedgerError as err:
                self._explain(err, by_id, f"deleting transaction {transaction_id}")
            s.execute(delete(Transaction).where(Transaction.id == transaction_id))

    # ================================================================== CSV

    def import_csv(self, user_id: int, portfolio_id: int, raw: bytes) -> list[TransactionInfo]:
        """Import a CSV of transactions atomically: every row is checked (on its own, then
        against the ledger in date order); any rejected row rejects the file, and the error
        lists each rejected row with its line number (the header is line 1) and reason."""
        entries, errors = csv_io.parse(raw, latest_valid_date())
        with self.sessions() as s, s.begin():
            self._lock(s, user_id, portfolio_id)
            stored = self._stored(s, portfolio_id)
            if not errors:
                _, history = ledger.check([_ledger_tx(r) for r in stored] + entries)
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
            rows = self._insert(s, portfolio_id, entries)
            return [_info(r) for r in rows]

    def export_csv(self, user_id: int, portfolio_id: int) -> str:
        """The ledger as CSV, formulas neutralised (csv_io); it imports back as the same."""
        return csv_io.write(self.ledger_entries(user_id, portfolio_id))

    # ================================================================== derived views

    def holdings(self, user_id: int, portfolio_id: int) -> Holdings:
        state = ledger.replay(self.ledger_entries(user_id, portfolio_id))
        return Holdings(state=state, quotes=self.quotes(sorted(state.positions)))

    def model_holdings(self) -> dict[str, float]:
        """The model portfolio's shares today (floats: its views are floating-point maths)."""
        return dict(self.momentum.store.categories.current().model_holdings)

    def trading_dates(self, start: dt.date | None, end: dt.date | None) -> pd.DatetimeIndex:
        index = pd.DatetimeIndex(self._require_book().panel.close.index)
        if start is not None:
            index = index[index >= pd.Timestamp(start)]
        if end is not None:
            index = index[index <= pd.Timestamp(end)]
        return index

    def performance_inputs(
        self,
        entries: Sequence[ledger.Transaction] | None,
        constant_shares: Mapping[str, float] | None,
        start: dt.date | None,
        end: dt.date | None,
        benchmark: str,
    ) -> PerformanceInputs:
        """Daily shares, cash and flows on the store's trading days in [start, end] (from the
        ledger, or constant shares without cash for the model portfolio), the closes of the
        held tickers up to `end` (as traded; adjusted where the store has no as-traded close)
        and the benchmark's adjusted close (a total return). For constant shares, tickers
        without any stored price are left out (and named in `notes`)."""
        if start is not None and end is not None and start > end:
            raise InvalidInput(
                f"start {start} is after end {end}",
                {"field": "start", "rule": START_NOT_AFTER_END.rule},
            )
        book = self._require_book()
        panel = book.panel
        dates = self.trading_dates(start, end)
        if len(dates) == 0:
            raise InvalidInput(
                f"the price store has no trading days between {start or 'its start'} and "
                f"{end or 'its end'}",
                {"field": "start", "rule": STORED_DAYS.rule},
            )
        history = pd.DatetimeIndex(panel.close.index)
        history = history[history <= dates[-1]]
        notes: list[str] = []
        resolved: dict[str, str | None] = {}
        if entries is not None:
            daily = ledger.daily_positions(entries, dates)
            shares, cash, flows = daily.shares, daily.cash, daily.flows
            resolved = {str(t): book.resolve(str(t)) for t in shares.columns}
        else:
            held = {t: n for t, n in (constant_shares or {}).items() if n}
            resolved = {t: book.resolve(t) for t in sorted(held)}
            missing = [t for t, stored in resolved.items() if stored is None]
            if missing:
                notes.append(
                    "left out, no prices stored: " + ", ".join(missing) + " (the value series "
                    "is that of the other holdings)"
                )
            tickers = [t for t in sorted(held) if resolved[t] is not None]
            shares = pd.DataFrame(
                {
                    t: self._model_shares(panel, str(resolved[t]), held[t], dates, history)
                    for t in tickers
                },
                index=dates,
                columns=pd.Index(tickers, dtype="object"),
                dtype="float64",
            )
            cash = pd.Series(0.0, index=dates, name="cash")
            flows = pd.Series(0.0, index=dates, name="flows")
        columns: dict[str, pd.Series] = {}
        basis: dict[str, str | None] = {}
        for ticker in shares.columns:
            stored = resolved.get(str(ticker))
            if stored is None:
                columns[str(ticker)] = pd.Series(np.nan, index=history)
                basis[str(ticker)] = None
                notes.append(f"{ticker}: no prices stored, so days it is held cannot be valued")
                continue
            raw = panel.raw_close[stored].reindex(history)
            use_raw = bool(raw.notna().any())
            columns[str(ticker)] = raw if use_raw else panel.close[stored].reindex(history)
            basis[str(ticker)] = "close" if use_raw else "adj_close"
            if not use_raw:
                notes.append(f"{ticker}: no as-traded closes stored; adjusted closes used")
        prices = pd.DataFrame(columns, index=history, dtype="float64")
        bench_stored = book.resolve(benchmark)
        bench: pd.Series | None = None
        if bench_stored is None:
            notes.append(f"benchmark {benchmark}: no prices stored, so no benchmark return")
        else:
            bench = panel.close[bench_stored].reindex(history).rename(benchmark)
        return PerformanceInputs(
            shares=shares,
            cash=cash,
            flows=flows,
            prices=prices,
            benchmark=bench,
            benchmark_ticker=benchmark,
            price_basis=basis,
            notes=notes,
        )

    @staticmethod
    def _model_shares(
        panel: Any, stored: str, shares: float, dates: pd.DatetimeIndex, history: pd.DatetimeIndex
    ) -> np.ndarray:
        """The model holds `shares` today; valued at closes as traded, it held fewer before a
        split (AAPL 4 today was 1 before its 4-for-1 of 2020-08-31). At adjusted closes (no
        as-traded close stored) the share count is constant: the closes already carry splits."""
        if not bool(panel.raw_close[stored].reindex(history).notna().any()):
            return np.full(len(dates), float(shares))
        return split_adjusted_shares(shares, panel.split[stored], dates).to_numpy()

    def performance(self, inputs: PerformanceInputs) -> PerformanceReport:
        try:
            return portfolio_performance(
                inputs.shares, inputs.cash, inputs.flows, inputs.prices, inputs.benchmark
            )
        except ValueError as exc:
            raise InvalidInput(f"cannot compute the performance: {exc}") from None

    def rebalance(
        self, shares: Mapping[str, Decimal | float], cash: Decimal | float, min_trade: float
    ) -> RebalancePlan:
        """A whole-share plan toward the category targets with the store's prices and scores."""
        quotes = self.quotes(sorted(shares) + [t for c in self.categories() for t in c.tickers])
        try:
            return plan_rebalance(
                _floats(shares),
                {t: q.price for t, q in quotes.items()},
                {t: q.score for t, q in quotes.items()},
                self.category_targets(),
                float(cash),
                min_trade,
            )
        except ValueError as exc:
            raise InvalidInput(f"cannot plan a rebalance: {exc}") from None

    # ================================================================== analysis

    def analyze(
        self,
        shares: Mapping[str, Decimal | float],
        cost_basis: Mapping[str, Decimal | float],
        cash: Decimal | float,
    ) -> tuple[PortfolioAnalysis, dict[str, Quote]]:
        """Holdings against the categories, with the store's prices and current scores
        (floating-point maths: exact ledger figures are converted here)."""
        quotes = self.quotes(sorted(shares))
        result = analyze_holdings(
            _floats(shares),
            {t: q.price for t, q in quotes.items()},
            _floats(cost_basis),
            {t: q.score for t, q in quotes.items()},
            {t: q.rating for t, q in quotes.items()},
            self.category_targets(),
            float(cash),
        )
        return result, quotes

    def category_analysis(self, name: str) -> CategoryReport:
        cat = self.category(name)
        quotes = self.quotes(cat.tickers)
        bench = self.quotes([cat.benchmark])[cat.benchmark]
        scored = sorted(
            (q for q in quotes.values() if q.score is not None),
            key=lambda q: (-(q.score or 0.0), q.ticker),
        )
        model = {t: n for t, n in self.model_holdings().items() if t in cat.tickers}
        values = {
            t: n * q.price
            for t, n in model.items()
            if (q := quotes[t]).price is not None and q.score is not None
        }
        weighted, _ = value_weighted_score(values, {t: quotes[t].score for t in values})
        return CategoryReport(
            category=cat,
            scored=scored,
            unscored=[q for q in quotes.values() if q.score is None],
            average_score=(
                sum(q.score for q in scored if q.score is not None) / len(scored)
                if scored
                else None
            ),
            value_weighted_score=weighted,
            value_weighted_over=sorted(values),
            benchmark=bench,
        )
