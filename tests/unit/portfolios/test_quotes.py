"""Quotes: the last stored close and the score that day, read through the score book's
`last_close`; a missing price or score is None with the reason, never zero."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pandas as pd
import pytest

from backend.market_data.store import PriceStore
from backend.momentum.engine import MIN_CLOSES
from backend.momentum.service import MomentumService
from backend.portfolios.quotes import QuoteService
from tests.conftest import make_settings

pytestmark = [pytest.mark.unit, pytest.mark.database]


def _bars(ticker: str, closes: list[float], start: dt.date) -> pd.DataFrame:
    days = pd.bdate_range(start, periods=len(closes))
    return pd.DataFrame(
        {
            "date": [d.date() for d in days],
            "ticker": ticker,
            "open": closes,
            "high": closes,
            "low": closes,
            "close": closes,
            "adj_close": [c / 2 for c in closes],  # as traded = twice the adjusted close
            "volume": 1000.0,
            "dividend": 0.0,
            "split": 1.0,
        }
    )


@pytest.fixture
def quotes(empty_store: PriceStore, empty_db_url: str) -> Iterator[QuoteService]:
    long = [100.0 + i for i in range(MIN_CLOSES + 5)]
    empty_store.upsert_bars(
        pd.concat(
            [
                _bars("SPY", long, dt.date(2020, 1, 1)),
                _bars("LONG", long, dt.date(2020, 1, 1)),
                _bars("SHORT", [10.0, 11.0, 12.5], dt.date(2020, 12, 1)),
            ]
        ),
        "test",
    )
    yield QuoteService(MomentumService(empty_store, make_settings(empty_db_url)))


def test_a_scored_ticker_has_its_last_close_as_traded_and_its_score(
    quotes: QuoteService,
) -> None:
    q = quotes.quotes(["LONG"])["LONG"]
    assert q.stored_ticker == "LONG" and q.price_basis == "close"
    assert q.price == 100.0 + MIN_CLOSES + 4  # the last close as traded, not adjusted
    assert q.price_date == pd.bdate_range("2020-01-01", periods=MIN_CLOSES + 5)[-1].date()
    served = quotes.momentum.score("LONG")  # what GET /momentum/LONG answers
    assert q.note is None
    assert (q.score, q.rating) == (served.overall_momentum_score, served.rating)


def test_too_short_a_history_has_a_price_and_no_score_with_the_count(
    quotes: QuoteService,
) -> None:
    q = quotes.quotes(["SHORT"])["SHORT"]
    assert q.price == 12.5 and q.score is None and q.rating is None
    assert q.note == f"no momentum score: 3 closes stored, the model needs {MIN_CLOSES}"


def test_an_unknown_ticker_has_no_price_and_says_so(quotes: QuoteService) -> None:
    q = quotes.quotes(["NOPE"])["NOPE"]
    assert (q.stored_ticker, q.price, q.price_date, q.score) == (None, None, None, None)
    assert q.note == "no prices stored for this ticker"


def test_an_empty_store_says_so(empty_store: PriceStore, empty_db_url: str) -> None:
    service = QuoteService(MomentumService(empty_store, make_settings(empty_db_url)))
    q = service.quotes(["AAPL"])["AAPL"]
    assert q.price is None and q.note == "the price store is empty"
