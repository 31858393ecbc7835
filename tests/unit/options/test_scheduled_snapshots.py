"""Option snapshots after the close: the universe (model holdings, users' open positions, the
watchlist hook) and the scheduled run taking them inside its lock, once per session."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from backend.db.models import Portfolio, Transaction, User
from backend.market_data.store import PriceStore
from backend.options.service import OptionsService, SnapshotOutcome
from backend.options.store import OptionStore
from backend.portfolios.options_universe import held_tickers, options_universe
from tests.conftest import make_settings
from tests.support.fakes import FakeProvider
from tests.unit.cache.support import run_async
from tests.unit.options.test_provider import provider
from tests.unit.test_scheduler import ALL_BARS, make_scheduler, make_store

pytestmark = [pytest.mark.unit, pytest.mark.database]

NOW = dt.datetime(2024, 7, 1, tzinfo=dt.timezone.utc)


def add_ledger(store: PriceStore) -> None:
    """Two users: one holds KO and sold all of IBM; the other holds a split-up PEP."""
    with Session(store.engine) as s, s.begin():
        for n, entries in enumerate(
            [
                [
                    ("DEPOSIT", None, 10_000),
                    ("BUY", "KO", 5),
                    ("BUY", "IBM", 3),
                    ("SELL", "IBM", 3),
                ],
                [("DEPOSIT", None, 10_000), ("BUY", "PEP", 2), ("SPLIT", "PEP", 10)],
            ]
        ):
            user = User(email=f"u{n}@example.com", password_hash="x", created_at=NOW)
            s.add(user)
            s.flush()
            portfolio = Portfolio(user_id=user.id, name="p", created_at=NOW, updated_at=NOW)
            s.add(portfolio)
            s.flush()
            for day, (kind, ticker, quantity) in enumerate(entries, start=1):
                s.add(
                    Transaction(
                        portfolio_id=portfolio.id,
                        date=dt.date(2024, 6, day),
                        type=kind,
                        ticker=ticker,
                        quantity=Decimal(quantity),
                        price=None if kind in ("DEPOSIT", "split") else Decimal(10),
                        fees=Decimal(0),
                        created_at=NOW,
                    )
                )


def test_the_universe_is_model_holdings_open_positions_and_the_hook(tmp_path: Path) -> None:
    store = make_store(tmp_path / "u.db")
    add_ledger(store)
    assert held_tickers(store.engine) == ["KO", "PEP"]  # IBM was sold out
    model = set(store.categories.current().model_holdings)
    assert model and not model & {"KO", "PEP", "QQQ"}  # the seeded model portfolio
    assert options_universe(store) == sorted(model | {"KO", "PEP"})
    hooked = options_universe(store, [lambda: ["qqq", "KO"]])
    assert hooked == sorted(model | {"KO", "PEP", "QQQ"})


def test_a_scheduled_run_takes_the_snapshots_once_inside_its_lock(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s.db")
    scheduler, _ = make_scheduler(store, FakeProvider(ALL_BARS))
    options = OptionsService(
        OptionStore(store.engine), store, make_settings(str(store.engine.url)), provider()
    )
    asked: list[list[str]] = []

    def snapshots() -> SnapshotOutcome:
        asked.append(["AAPL", "KO"])
        return options.take_snapshots(["AAPL", "KO"])

    scheduler.option_snapshots = snapshots

    async def main() -> None:
        report = await scheduler.run_once(dt.date(2024, 7, 2))
        assert report.outcome == "ran", report
        # The recorded answer is AAPL's: KO is refused with its reason, the run stands.
        assert report.options_taken == 1 and list(report.options_failed) == ["KO"]
        assert report.as_dict()["options_taken"] == 1
        again = await scheduler.run_once(dt.date(2024, 7, 2))
        assert again.outcome == "skipped" and again.options_taken is None

    run_async(main())
    assert len(asked) == 1
    stored = OptionStore(store.engine).latest("AAPL")
    assert stored is not None and stored.source == "yfinance" and len(stored.contracts) == 76


def test_failing_snapshots_do_not_fail_the_price_run(tmp_path: Path) -> None:
    store = make_store(tmp_path / "f.db")
    scheduler, _ = make_scheduler(store, FakeProvider(ALL_BARS))

    def broken() -> SnapshotOutcome:
        raise RuntimeError("options store down")

    scheduler.option_snapshots = broken

    async def main() -> None:
        report = await scheduler.run_once(dt.date(2024, 7, 2))
        assert report.outcome == "ran"
        assert report.options_taken == 0 and "options store down" in report.options_failed["*"]

    run_async(main())
