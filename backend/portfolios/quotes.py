"""Quotes: what the price store and the momentum scores say about a ticker now.

Read from the momentum service's score book (one per data version), never from a live provider.
Missing data is None with a note saying why, never zero.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from backend.errors import InvalidInput, Rule
from backend.momentum.engine import MIN_CLOSES, rating
from backend.momentum.service import MomentumService, ScoreBook

STORED_PRICES = Rule(
    "invalid_input", "the store must hold prices", "the price store must hold prices"
)


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


def prices_as_of(quotes: Mapping[str, Quote]) -> dt.date | None:
    """The newest price date among the quotes (None when none has a price)."""
    dates = [q.price_date for q in quotes.values() if q.price_date is not None]
    return max(dates) if dates else None


class QuoteService:
    def __init__(self, momentum: MomentumService) -> None:
        self.momentum = momentum

    def book(self) -> ScoreBook | None:
        """The momentum service's scores, or None while the price store is empty."""
        if self.momentum.store.is_empty():
            return None
        return self.momentum.book()

    def require_book(self) -> ScoreBook:
        book = self.book()
        if book is None:
            raise InvalidInput(
                "the price store is empty: there are no prices to value a portfolio with",
                {"field": "prices", "rule": STORED_PRICES.rule},
            )
        return book

    def quotes(self, tickers: Iterable[str]) -> dict[str, Quote]:
        """The last stored close and the current momentum score of each ticker."""
        book = self.book()
        if book is None:
            return {
                t: Quote(t, None, None, None, None, None, None, "the price store is empty")
                for t in tickers
            }
        return {ticker: _quote(book, ticker) for ticker in tickers}


def _quote(book: ScoreBook, ticker: str) -> Quote:
    last = book.last_close(ticker)
    if last is None:
        stored = book.resolve(ticker)
        why = "no prices stored" if stored is None else "no closes stored"
        return Quote(ticker, stored, None, None, None, None, None, f"{why} for this ticker")
    has_raw = not math.isnan(last.close)
    scored = not math.isnan(last.overall)
    return Quote(
        ticker=ticker,
        stored_ticker=last.stored_ticker,
        price=last.close if has_raw else last.adj_close,
        price_date=last.date,
        price_basis="close" if has_raw else "adj_close",
        score=round(last.overall, 2) if scored else None,
        rating=rating(last.overall) if scored else None,
        note=(
            None
            if scored
            else f"no momentum score: {last.n_closes} closes stored, the model needs {MIN_CLOSES}"
        ),
    )
