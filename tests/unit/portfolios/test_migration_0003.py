"""Migration 0003 on SQLite: existing float rows become exact decimals, the previous release
(Float columns) still reads them, the downgrade gives the floats back, and rows that cannot be
held stop the upgrade with their ids and change nothing. The same checks run on PostgreSQL in
tests/integration/test_portfolios_postgres.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from backend.db.engine import make_engine
from backend.db.migrate import alembic_config, current_revision, head_revision
from backend.db.models import Transaction
from backend.portfolios import ledger

pytestmark = [pytest.mark.unit, pytest.mark.database]

# As the previous release stored them (binary floats), and what they must become.
OLD_ROWS = [  # (type, ticker, quantity, price, fees)
    ("DEPOSIT", None, 0.1 + 0.2, None, 0.0),  # 0.30000000000000004
    ("BUY", "AAPL", 10.0, 75.09, 1.0),
    ("SELL", "AAPL", 2.5, 130.25, 0.5),
    ("DEPOSIT", None, 999999999.999999, 1e-06, 0.1234567),  # 7 places: rounded to 6
]
NEW_ROWS = [
    (Decimal("0.3"), None, Decimal("0")),
    (Decimal("10"), Decimal("75.09"), Decimal("1")),
    (Decimal("2.5"), Decimal("130.25"), Decimal("0.5")),
    (Decimal("999999999.999999"), Decimal("0.000001"), Decimal("0.123457")),
]


def _at_0002_with(url: str, rows: list[tuple[str, str | None, float, float | None, float]]) -> None:
    command.upgrade(alembic_config(url), "0002_portfolios")
    engine = make_engine(url)
    now = dt.datetime.now(dt.timezone.utc)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (id, email, password_hash, is_active, created_at) "
                "VALUES (1, 'old@example.com', 'x', true, :t)"
            ),
            {"t": now},
        )
        conn.execute(
            sa.text(
                "INSERT INTO portfolios (id, user_id, name, version, created_at, updated_at) "
                "VALUES (1, 1, 'old', 0, :t, :t)"
            ),
            {"t": now},
        )
        for kind, ticker, quantity, price, fees in rows:
            conn.execute(
                sa.text(
                    "INSERT INTO transactions (portfolio_id, date, type, ticker, quantity, price,"
                    " fees, created_at) VALUES (1, '2020-01-02', :k, :t, :q, :p, :f, :c)"
                ),
                {"k": kind, "t": ticker, "q": quantity, "p": price, "f": fees, "c": now},
            )
    engine.dispose()


def check_conversion_and_downgrade(url: str) -> None:
    """Upgrade over the previous release's rows, read them three ways, downgrade, upgrade."""
    _at_0002_with(url, OLD_ROWS)
    cfg = alembic_config(url)
    command.upgrade(cfg, "head")
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Transaction.quantity, Transaction.price, Transaction.fees).order_by(
                Transaction.id
            )
        ).all()
        assert [tuple(r) for r in rows] == NEW_ROWS
        assert all(isinstance(v, Decimal) for r in rows for v in r if v is not None)
        # The previous release's models declare Float: it reads floats, the same values.
        old = sa.table(
            "transactions",
            sa.column("id"),
            sa.column("quantity", sa.Float),
            sa.column("price", sa.Float),
            sa.column("fees", sa.Float),
        )
        floats = conn.execute(sa.select(old.c.quantity, old.c.price, old.c.fees).order_by(old.c.id))
        assert [tuple(r) for r in floats] == [
            (0.3, None, 0.0), (10.0, 75.09, 1.0), (2.5, 130.25, 0.5),
            (999999999.999999, 1e-06, 0.123457),
        ]  # fmt: skip
        shares = dict(conn.execute(sa.text("SELECT ticker, shares FROM model_holdings")).all())
        assert Decimal(str(shares["AAPL"])) == 4
    # The converted rows replay exactly: 0.3 + 999999999.999999 x 0.000001 deposited.
    entries = [
        ledger.make_transaction(date=dt.date(2020, 1, 2), type=k, ticker=t, quantity=q, price=p,
                                fees=f)  # fmt: skip
        for (k, t, *_), (q, p, f) in zip(OLD_ROWS, NEW_ROWS)
    ]
    assert ledger.replay(entries).deposits == Decimal("1000.299999999999")
    command.downgrade(cfg, "0002_portfolios")
    with engine.connect() as conn:
        back = conn.execute(sa.text("SELECT quantity, price, fees FROM transactions ORDER BY id"))
        assert [tuple(float(v) if v is not None else None for v in r) for r in back] == [
            (0.3, None, 0.0), (10.0, 75.09, 1.0), (2.5, 130.25, 0.5),
            (999999999.999999, 1e-06, 0.123457),
        ]  # fmt: skip
    command.upgrade(cfg, "head")
    assert current_revision(engine) == head_revision()
    engine.dispose()


def check_unconvertible_rows_stop_the_upgrade(url: str) -> None:
    """A quantity of 1e308 (the overflow defect) cannot be NUMERIC(15, 6): the upgrade stops,
    names the row, and leaves the schema and the row as they were."""
    _at_0002_with(url, [("DEPOSIT", None, 5.0, None, 0.0), ("BUY", "AAPL", 1e308, 1.0, 0.0)])
    with pytest.raises(RuntimeError, match=r"transactions id=2 quantity=1e\+308"):
        command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    assert current_revision(engine) == "0002_portfolios"
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT quantity FROM transactions ORDER BY id")).all()
    assert [float(r[0]) for r in rows] == [5.0, 1e308]
    engine.dispose()


def test_existing_rows_convert_exactly_and_the_downgrade_restores_them(tmp_path: Path) -> None:
    check_conversion_and_downgrade(f"sqlite:///{tmp_path / 'old.db'}")


def test_rows_that_cannot_be_held_stop_the_upgrade(tmp_path: Path) -> None:
    check_unconvertible_rows_stop_the_upgrade(f"sqlite:///{tmp_path / 'bad.db'}")
