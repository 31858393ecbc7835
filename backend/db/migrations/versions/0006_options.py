"""Options snapshots: one chain per ticker per trading day, its contracts with our implied
volatility (issue 14).

New tables only: the previous release ignores them, so a rollback of the code keeps working.

Revision ID: 0006_options
Revises: 0003_exact_ledger_decimals
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_options"
down_revision = "0003_exact_ledger_decimals"
# New tables that the previous release never reads.
backward_compatible = True
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "option_snapshots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticker", sa.String(16), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("spot", sa.Float, nullable=False),
        sa.Column("rate", sa.Float, nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("earnings_date", sa.Date),
        sa.Column("atm_iv_30d", sa.Float),
        sa.Column("atm_reason", sa.Text),
        sa.Column("contracts", sa.Integer, nullable=False),
        sa.UniqueConstraint("ticker", "day", name="uq_option_snapshots_ticker_day"),
    )
    op.create_table(
        "option_contracts",
        sa.Column(
            "snapshot_id",
            sa.Integer,
            sa.ForeignKey("option_snapshots.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("expiry", sa.Date, primary_key=True),
        sa.Column("strike", sa.Float, primary_key=True),
        sa.Column("right", sa.String(1), primary_key=True),
        sa.Column("bid", sa.Float),
        sa.Column("ask", sa.Float),
        sa.Column("last", sa.Float),
        sa.Column("volume", sa.BigInteger),
        sa.Column("open_interest", sa.BigInteger),
        sa.Column("vendor_iv", sa.Float),
        sa.Column("iv", sa.Float),
        sa.Column("iv_reason", sa.String(40)),
    )


def downgrade() -> None:
    op.drop_table("option_contracts")
    op.drop_table("option_snapshots")
