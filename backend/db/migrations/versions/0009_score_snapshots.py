"""Score books materialised per data version, shared by replicas (backend/momentum/snapshots.py).

Expand only: the previous release does not know the table, and a rollback leaves it unread.

Revision ID: 0009_score_snapshots
Revises: 0004_watchlists
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_score_snapshots"
down_revision = "0004_watchlists"
backward_compatible = True
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "score_snapshots",
        sa.Column("tag", sa.String(120), primary_key=True),
        sa.Column("data_version", sa.Integer, primary_key=True),
        sa.Column("part", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("score_snapshots")
