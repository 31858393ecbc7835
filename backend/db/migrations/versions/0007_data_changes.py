"""The data-change log: what each data version changed, for incremental scoring.

A row per ticker whose bars a version changed (with the first date changed), or one row with no
ticker for a category edit. A process whose scores are at version v recomputes only what
versions v+1..w name; a version with no row (written before this table existed, or pruned)
makes it rebuild everything, as every version did before.

Expand only: the previous release neither reads nor writes the table, and its writes (which log
nothing) only make this release rebuild in full, so a rollback of the code keeps the database.

Revision ID: 0007_data_changes
Revises: 0006_options
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_data_changes"
down_revision = "0006_options"
backward_compatible = True
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("data_version", sa.Integer, nullable=False),
        sa.Column("ticker", sa.String(16)),
        sa.Column("first_date", sa.Date),
    )
    op.create_index("ix_data_changes_data_version", "data_changes", ["data_version"])


def downgrade() -> None:
    op.drop_index("ix_data_changes_data_version", table_name="data_changes")
    op.drop_table("data_changes")
