"""A user's named watchlists: create, rename, delete; add and remove tickers; fill one from a
category; read one with each ticker's score now and when it was added.

Every read or write names the user: another user's watchlist is NotFound, exactly like a
missing one. A ticker is stored under the name the price store holds it by (an alias such as
META is kept as FB), with its score and date at the time it was added. Writes to one list
take its row lock first (the limits are checked under it), and a bad request changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.db.engine import make_session_factory
from backend.db.models import User, Watchlist, WatchlistItem
from backend.errors import Conflict, InvalidInput, NotFound, Rule
from backend.momentum.service import MomentumService, ScoreBook
from backend.portfolios import watch_scores
from backend.portfolios.categories import CategoryService
from backend.portfolios.momentum_watchlist import MomentumWatchlist, held_tickers
from backend.portfolios.service import as_utc, now
from backend.portfolios.watchlist_rules import score_change
from backend.portfolios.watchlist_schemas import (
    FillResult,
    SkippedTicker,
    WatchlistDetail,
    WatchlistItemOut,
    WatchlistOut,
)
from backend.reference.tickers import TICKER_RULE, normalize_ticker

# The rules no JSON schema states (declared by the routes that check them).
NAME_LENGTH = Rule(
    "invalid_input",
    "1 to WATCHLIST_NAME_MAX_LENGTH characters (not blank)",
    "a watchlist's name, stripped, is 1 to WATCHLIST_NAME_MAX_LENGTH characters",
)
MAX_LISTS = Rule(
    "invalid_input",
    "at most WATCHLIST_MAX_LISTS watchlists",
    "a user has at most WATCHLIST_MAX_LISTS watchlists",
)
MAX_TICKERS = Rule(
    "invalid_input",
    "at most WATCHLIST_MAX_TICKERS tickers",
    "a watchlist holds at most WATCHLIST_MAX_TICKERS tickers",
)
STORED_TICKER = Rule(
    "invalid_input",
    "a ticker the price store holds",
    "a ticker added must be held by the price store (under its name or an alias)",
)


def not_found(watchlist_id: int) -> NotFound:
    # The same answer whether the watchlist is missing or someone else's.
    return NotFound(f"watchlist {watchlist_id} not found", {"watchlist_id": watchlist_id})


def owned(s: Session, user_id: int, watchlist_id: int, lock: bool = False) -> Watchlist:
    """The user's watchlist row (locked for the transaction with `lock`), or NotFound."""
    query = select(Watchlist).where(Watchlist.id == watchlist_id, Watchlist.user_id == user_id)
    row = s.scalars(query.with_for_update() if lock else query).first()
    if row is None:
        raise not_found(watchlist_id)
    return row


def watchlist_tickers(session: Session, user_id: int, watchlist_id: int) -> list[str]:
    """The stored tickers of a user's watchlist, in the order they were added; NotFound when
    it is not the user's (for the alert rules that target a watchlist)."""
    owned(session, user_id, watchlist_id)
    return list(
        session.scalars(
            select(WatchlistItem.ticker)
            .where(WatchlistItem.watchlist_id == watchlist_id)
            .order_by(WatchlistItem.id)
        )
    )


def all_watched_tickers(engine: Engine) -> list[str]:
    """Every ticker on anyone's watchlist, once, sorted (the scheduler's option snapshots
    cover them beside the model portfolio and users' holdings)."""
    with Session(engine) as s:
        return sorted(s.scalars(select(WatchlistItem.ticker).distinct()))


@dataclass(frozen=True)
class Limits:
    lists: int
    tickers: int
    name_length: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            settings.watchlist_max_lists,
            settings.watchlist_max_tickers,
            settings.watchlist_name_max_length,
        )


@dataclass(frozen=True)
class _NewItem:
    ticker: str
    score: float | None
    date: dt.date | None
    note: str | None


class WatchlistService:
    def __init__(
        self,
        engine: Engine,
        momentum: MomentumService,
        categories: CategoryService,
        watchlist: MomentumWatchlist,
        limits: Limits,
    ) -> None:
        self.sessions = make_session_factory(engine)
        self.momentum = momentum
        self.categories = categories
        self.watchlist = watchlist
        self.limits = limits

    # ------------------------------------------------------------------ lists

    def _name(self, name: str) -> str:
        clean = name.strip()
        if not 1 <= len(clean) <= self.limits.name_length:
            raise InvalidInput(
                f"name must be 1 to {self.limits.name_length} characters (not blank)",
                {"field": "name", "rule": NAME_LENGTH.rule, "max": self.limits.name_length},
            )
        return clean

    @staticmethod
    def _taken(s: Session, user_id: int, name: str, other_than: int | None = None) -> None:
        query = select(Watchlist.id).where(Watchlist.user_id == user_id, Watchlist.name == name)
        if other_than is not None:
            query = query.where(Watchlist.id != other_than)
        if s.scalar(query) is not None:
            raise _name_conflict(name)

    @staticmethod
    def _out(s: Session, row: Watchlist) -> WatchlistOut:
        count = s.scalar(
            select(func.count())
            .select_from(WatchlistItem)
            .where(WatchlistItem.watchlist_id == row.id)
        )
        return WatchlistOut(
            id=row.id,
            name=row.name,
            tickers=int(count or 0),
            created_at=as_utc(row.created_at),
            updated_at=as_utc(row.updated_at),
        )

    def list_watchlists(self, user_id: int) -> list[WatchlistOut]:
        with self.sessions() as s:
            rows = s.scalars(
                select(Watchlist).where(Watchlist.user_id == user_id).order_by(Watchlist.id)
            ).all()
            return [self._out(s, r) for r in rows]

    def create(self, user_id: int, name: str) -> WatchlistOut:
        clean = self._name(name)
        try:
            with self.sessions() as s, s.begin():
                # The user's row lock serialises creations, so the count below holds.
                s.execute(select(User.id).where(User.id == user_id).with_for_update())
                count = s.scalar(
                    select(func.count()).select_from(Watchlist).where(Watchlist.user_id == user_id)
                )
                if int(count or 0) >= self.limits.lists:
                    raise InvalidInput(
                        f"you have {count} watchlists, the most allowed "
                        f"(WATCHLIST_MAX_LISTS={self.limits.lists}); delete one first",
                        {"field": "name", "rule": MAX_LISTS.rule, "max": self.limits.lists},
                    )
                self._taken(s, user_id, clean)
                created = now()
                row = Watchlist(user_id=user_id, name=clean, created_at=created, updated_at=created)
                s.add(row)
                s.flush()
                return self._out(s, row)
        except IntegrityError:  # a concurrent creation of the same name won
            raise _name_conflict(clean) from None

    def rename(self, user_id: int, watchlist_id: int, name: str) -> WatchlistOut:
        clean = self._name(name)
        try:
            with self.sessions() as s, s.begin():
                row = owned(s, user_id, watchlist_id, lock=True)
                self._taken(s, user_id, clean, other_than=watchlist_id)
                row.name = clean
                row.updated_at = now()
                s.flush()
                return self._out(s, row)
        except IntegrityError:
            raise _name_conflict(clean) from None

    def delete(self, user_id: int, watchlist_id: int) -> None:
        with self.sessions() as s, s.begin():
            owned(s, user_id, watchlist_id, lock=True)
            s.execute(delete(WatchlistItem).where(WatchlistItem.watchlist_id == watchlist_id))
            s.execute(delete(Watchlist).where(Watchlist.id == watchlist_id))

    # ------------------------------------------------------------------ reading one

    def detail(self, user_id: int, watchlist_id: int) -> WatchlistDetail:
        with self.sessions() as s:
            row = owned(s, user_id, watchlist_id)
            out = self._out(s, row)
            items = s.scalars(
                select(WatchlistItem)
                .where(WatchlistItem.watchlist_id == watchlist_id)
                .order_by(WatchlistItem.id)
            ).all()
        book = self._book()
        return WatchlistDetail(**out.model_dump(), items=[self._item(book, i) for i in items])

    def _book(self) -> ScoreBook | None:
        return self.watchlist.views.quotes.book()

    def _item(self, book: ScoreBook | None, item: WatchlistItem) -> WatchlistItemOut:
        found = (
            "the price store is empty"
            if book is None
            else watch_scores.current(self.momentum, book, item.ticker)
        )
        now_ = None if isinstance(found, str) else found
        change = score_change(now_.overall_momentum_score if now_ else None, item.added_score)
        note = found if isinstance(found, str) else None
        if note is None and change is None:
            note = "no score when it was added: no change to measure"
        return WatchlistItemOut(
            ticker=item.ticker,
            added_at=as_utc(item.added_at),
            added_score=item.added_score,
            added_score_date=item.added_score_date,
            added_note=item.added_note,
            score=now_.overall_momentum_score if now_ else None,
            rating=now_.rating if now_ else None,
            percentile_rank=now_.percentile_rank if now_ else None,
            as_of=now_.as_of if now_ else None,
            change_since_added=change,
            note=note,
        )

    # ------------------------------------------------------------------ tickers

    def _new_item(self, book: ScoreBook, raw: str, field: str) -> _NewItem:
        ticker = normalize_ticker(raw)
        if ticker is None:
            raise InvalidInput(
                f"ticker {raw!r} is malformed: it must be {TICKER_RULE}",
                {"field": field, "rule": TICKER_RULE},
            )
        stored = book.resolve(ticker)
        if stored is None:
            raise InvalidInput(
                f"the price store holds no prices for {ticker} (nor an alias of it)",
                {"field": field, "rule": STORED_TICKER.rule, "ticker": ticker},
            )
        found = watch_scores.current(self.momentum, book, stored)
        if isinstance(found, str):
            return _NewItem(stored, None, None, found)
        return _NewItem(stored, found.overall_momentum_score, found.as_of, None)

    def _insert(
        self,
        s: Session,
        user_id: int,
        watchlist_id: int,
        new: Sequence[_NewItem],
        field: str = "ticker",
    ) -> list[str]:
        """Add `new` (those not already in the list) under the list's row lock; all or none."""
        row = owned(s, user_id, watchlist_id, lock=True)
        present = set(
            s.scalars(select(WatchlistItem.ticker).where(WatchlistItem.watchlist_id == row.id))
        )
        fresh = [n for n in new if n.ticker not in present]
        if len(present) + len(fresh) > self.limits.tickers:
            raise InvalidInput(
                f"the watchlist holds {len(present)} tickers; adding {len(fresh)} would pass "
                f"the most allowed (WATCHLIST_MAX_TICKERS={self.limits.tickers})",
                {"field": field, "rule": MAX_TICKERS.rule, "max": self.limits.tickers},
            )
        added = now()
        s.add_all(
            WatchlistItem(
                watchlist_id=row.id,
                ticker=n.ticker,
                added_at=added,
                added_score=n.score,
                added_score_date=n.date,
                added_note=n.note,
            )
            for n in fresh
        )
        if fresh:
            s.execute(update(Watchlist).where(Watchlist.id == row.id).values(updated_at=added))
        return [n.ticker for n in fresh]

    def add(self, user_id: int, watchlist_id: int, raw: str) -> WatchlistDetail:
        """Add one ticker (an alias is stored as the ticker it names); 409 when it is there."""
        with self.sessions() as s:
            owned(s, user_id, watchlist_id)  # 404 before any other check
        new = self._new_item(self.watchlist.views.quotes.require_book(), raw, "ticker")
        try:
            with self.sessions() as s, s.begin():
                if not self._insert(s, user_id, watchlist_id, [new]):
                    raise _ticker_conflict(watchlist_id, new.ticker)
        except IntegrityError:  # a concurrent add of the same ticker won
            raise _ticker_conflict(watchlist_id, new.ticker) from None
        return self.detail(user_id, watchlist_id)

    def remove(self, user_id: int, watchlist_id: int, raw: str) -> None:
        ticker = normalize_ticker(raw)
        if ticker is None:
            raise InvalidInput(
                f"ticker {raw!r} is malformed: it must be {TICKER_RULE}",
                {"field": "ticker", "rule": TICKER_RULE},
            )
        book = self._book()
        names = {ticker, (book.resolve(ticker) if book is not None else None) or ticker}
        with self.sessions() as s, s.begin():
            owned(s, user_id, watchlist_id, lock=True)
            gone = s.execute(
                delete(WatchlistItem).where(
                    WatchlistItem.watchlist_id == watchlist_id, WatchlistItem.ticker.in_(names)
                )
            )
            if not getattr(gone, "rowcount", 0):
                raise NotFound(
                    f"{ticker} is not in watchlist {watchlist_id}",
                    {"watchlist_id": watchlist_id, "ticker": ticker},
                )
            s.execute(
                update(Watchlist).where(Watchlist.id == watchlist_id).values(updated_at=now())
            )

    def fill(
        self, user_id: int, watchlist_id: int, category: str, portfolio_id: int | None
    ) -> FillResult:
        """Add the category's members that the portfolio (the model when None) does not hold
        and the list does not have; members the store holds no prices for are skipped."""
        with self.sessions() as s:
            owned(s, user_id, watchlist_id)
        cat = self.categories.category(category)
        analysis = self.watchlist.analysis(user_id, portfolio_id)
        book = self.watchlist.views.quotes.require_book()
        held = held_tickers(book, analysis)
        skipped: list[SkippedTicker] = []
        new: list[_NewItem] = []
        for member in cat.tickers:
            stored = book.resolve(member)
            if (stored or member) in held:
                skipped.append(SkippedTicker(ticker=member, reason="held in the portfolio"))
            elif stored is None:
                skipped.append(SkippedTicker(ticker=member, reason="no prices stored"))
            elif stored not in {n.ticker for n in new}:
                new.append(self._new_item(book, stored, "category"))
        with self.sessions() as s, s.begin():
            added = self._insert(s, user_id, watchlist_id, new, "category")
        skipped += [
            SkippedTicker(ticker=n.ticker, reason="already in the watchlist")
            for n in new
            if n.ticker not in added
        ]
        return FillResult(
            category=cat.slug,
            portfolio_id=portfolio_id,
            added=added,
            skipped=skipped,
            watchlist=self.detail(user_id, watchlist_id),
        )


def _name_conflict(name: str) -> Conflict:
    return Conflict(f"you already have a watchlist named {name!r}", {"field": "name", "name": name})


def _ticker_conflict(watchlist_id: int, ticker: str) -> Conflict:
    return Conflict(
        f"{ticker} is already in watchlist {watchlist_id}",
        {"watchlist_id": watchlist_id, "ticker": ticker},
    )
