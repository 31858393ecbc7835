"""The tickers whose option chains the scheduler snapshots after the close: the model
portfolio's holdings, every open position of every user's portfolios, and whatever the extra
sources give (the hook for watchlists: pass their ticker source to `options_universe`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from itertools import groupby

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from backend.db.models import Transaction
from backend.market_data.store import PriceStore
from backend.portfolios import ledger
from backend.portfolios.transactions import ledger_entry

log = logging.getLogger(__name__)

TickerSource = Callable[[], Iterable[str]]


def held_tickers(engine: Engine) -> list[str]:
    """Tickers with an open position (shares > 0, by replaying its ledger) in any portfolio."""
    with Session(engine) as s:
        rows = s.scalars(
            select(Transaction).order_by(Transaction.portfolio_id, Transaction.date, Transaction.id)
        ).all()
        held: set[str] = set()
        for portfolio_id, entries in groupby(rows, key=lambda row: row.portfolio_id):
            try:
                state = ledger.replay(ledger_entry(row) for row in entries)
            except (
                ledger.LedgerError,
                ValueError,
            ) as exc:  # a ledger that no longer replays: skip it, say so
                log.warning("portfolio %s skipped for option snapshots: %s", portfolio_id, exc)
                continue
            held |= set(state.open_positions)
    return sorted(held)


def options_universe(store: PriceStore, extra: Sequence[TickerSource] = ()) -> list[str]:
    """Model holdings, users' open positions and the extra sources' tickers, sorted, once."""
    tickers = set(store.categories.current().model_holdings) | set(held_tickers(store.engine))
    for source in extra:
        tickers |= {t.upper() for t in source()}
    return sorted(tickers)
