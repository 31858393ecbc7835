"""Price store: securities, daily bars, ticker aliases, store state.

Revision ID: 0001_price_store
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_price_store"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "securities",
        sa.Column("ticker", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(200)),
        sa.Column("sector", sa.String(100)),
        sa.Column("category", sa.String(100)),
        sa.Column("is_fixed_income", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("data_source", sa.String(200)),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "daily_bars",
        sa.Column(
            "ticker",
            sa.String(16),
            sa.ForeignKey("securities.ticker", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("date", sa.Date, primary_key=True),
        sa.Column("open", sa.Float),
        sa.Column("high", sa.Float),
        sa.Column("low", sa.Float),
        sa.Column("close", sa.Float),
        sa.Column("adj_close", sa.Float, nullable=False),
        sa.Column("volume", sa.BigInteger),
        sa.Column("dividend", sa.Float, nullable=False, server_default="0"),
        sa.Column("split", sa.Float, nullable=False, server_default="1"),
    )
    op.create_index("ix_daily_bars_date", "daily_bars", ["date"])
    op.create_table(
        "ticker_aliases",
        sa.Column("alias", sa.String(16), primary_key=True),
        sa.Column("ticker", sa.String(16), nullable=False),
        sa.Column("note", sa.Text),
    )
    store_state = op.create_table(
        "store_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("data_version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_refresh_at", sa.DateTime(timezone=True)),
        sa.Column("last_refresh_outcome", sa.Text),
    )
    op.bulk_insert(store_state, [{"id": 1, "data_version": 0}])
    aliases = sa.table(
        "ticker_aliases",
        sa.column("alias", sa.String),
        sa.column("ticker", sa.String),
        sa.column("note", sa.Text),
    )
    op.bulk_insert(
        aliases,
        [
            {
                "alias": "META",
                "ticker": "FB",
                "note": "Facebook, Inc. became Meta Platforms; its ticker changed FB -> META "
                "on 2022-06-09",
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("store_state")
    op.drop_table("ticker_aliases")
    op.drop_index("ix_daily_bars_date", table_name="daily_bars")
    op.drop_table("daily_bars")
    op.drop_table("securities")
