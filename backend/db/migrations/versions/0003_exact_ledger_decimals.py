"""Ledger quantities and money as exact decimals: NUMERIC(15, 6) instead of FLOAT.

`transactions.quantity`, `.price`, `.fees` and `model_holdings.shares` become NUMERIC(15, 6):
at most 999,999,999.999999, six decimal places (backend/portfolios/decimals.py). Existing rows
are converted by rounding half-even to six places, which removes binary residue
(0.30000000000000004 -> 0.3) and keeps every value a person typed with up to six places.

A stored value that cannot be converted (NaN, an infinity, or a magnitude above the bound,
which only the overflow defect of the previous release could store, e.g. a quantity of 1e308)
stops the upgrade with the ids of those rows, and nothing is changed: the ledgers holding them
already fail to replay, and deleting or guessing anyone's data is not the migration's call.

On PostgreSQL the columns become NUMERIC(15, 6). SQLite has no decimal storage: NUMERIC there
is a type affinity, values stay 64-bit floats, rounded to six places here; 15 significant
digits survive a float exactly, and SQLAlchemy's Numeric reads them back as those decimals.

The previous release reads the new columns: its models declare Float, and SQLAlchemy hands it
floats from NUMERIC on both databases, so a rollback of the code alone keeps working. The
downgrade turns the columns back into FLOAT with the same values.

Revision ID: 0003_exact_ledger_decimals
Revises: 0002_portfolios
Create Date: 2026-11-28
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

import sqlalchemy as sa
from alembic import op

revision = "0003_exact_ledger_decimals"
down_revision = "0002_portfolios"
# The release before this one runs on it (docs/pipeline.md, expand/contract): its models read
# the NUMERIC columns as Float, which SQLAlchemy hands it as floats on SQLite and PostgreSQL
# (tests/unit/portfolios/test_migration_0003.py), so a rollback keeps the database.
backward_compatible = True
branch_labels = None
depends_on = None

PRECISION, SCALE = 15, 6  # backend.portfolios.decimals, frozen here as this revision's schema
LARGEST = Decimal(10**PRECISION - 1).scaleb(-SCALE)
QUANTUM = Decimal(1).scaleb(-SCALE)
# (table, key column, columns converted, whether the column may be NULL)
COLUMNS: tuple[tuple[str, str, tuple[tuple[str, bool], ...]], ...] = (
    ("transactions", "id", (("quantity", False), ("price", True), ("fees", False))),
    ("model_holdings", "ticker", (("shares", False),)),
)


class UnconvertibleRows(RuntimeError):
    """Stored values that NUMERIC(15, 6) cannot hold; the message names each row."""


def convertible(value: float | int | Decimal | None) -> bool:
    """Whether a stored value fits NUMERIC(15, 6) once rounded half-even to six places."""
    if value is None:
        return True
    if isinstance(value, float) and not math.isfinite(value):
        return False
    try:
        exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        return exact.is_finite() and abs(exact.quantize(QUANTUM, ROUND_HALF_EVEN)) <= LARGEST
    except InvalidOperation:  # too many digits to quantize: far above the bound
        return False


def _check(bind: sa.Connection) -> None:
    bad: list[str] = []
    for table, key, columns in COLUMNS:
        names = [name for name, _ in columns]
        rows = bind.execute(sa.text(f"SELECT {key}, {', '.join(names)} FROM {table}"))  # nosec
        for row in rows:
            for name, value in zip(names, row[1:]):
                if not convertible(value):
                    bad.append(f"{table} {key}={row[0]} {name}={value!r}")
    if bad:
        shown = "; ".join(bad[:20]) + (f"; and {len(bad) - 20} more" if len(bad) > 20 else "")
        raise UnconvertibleRows(
            f"migration {revision}: {len(bad)} stored value(s) cannot be held exactly as "
            f"NUMERIC({PRECISION}, {SCALE}) (finite, at most {LARGEST}): {shown}. Nothing was "
            "changed. These entries already break their ledgers (their amounts overflow); "
            "correct or delete them, then migrate again."
        )


def upgrade() -> None:
    bind = op.get_bind()
    _check(bind)
    numeric = sa.Numeric(PRECISION, SCALE)
    for table, _, columns in COLUMNS:
        if bind.dialect.name == "sqlite":
            for name, _ in columns:  # round the stored floats; NUMERIC affinity keeps them
                op.execute(sa.text(f"UPDATE {table} SET {name} = round({name}, {SCALE})"))  # nosec
        with op.batch_alter_table(table) as batch:
            for name, nullable in columns:
                batch.alter_column(
                    name,
                    type_=numeric,
                    existing_type=sa.Float(),
                    existing_nullable=nullable,
                    postgresql_using=f"round({name}::numeric, {SCALE})",
                )


def downgrade() -> None:
    for table, _, columns in COLUMNS:
        with op.batch_alter_table(table) as batch:
            for name, nullable in columns:
                batch.alter_column(
                    name,
                    type_=sa.Float(),
                    existing_type=sa.Numeric(PRECISION, SCALE),
                    existing_nullable=nullable,
                    postgresql_using=f"{name}::double precision",
                )
