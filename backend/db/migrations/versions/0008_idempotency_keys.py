"""Idempotency keys: a write sent with an `Idempotency-Key` header, stored with the answer it
got, in the write's own transaction (backend/portfolios/idempotency.py). The unique index on
(user_id, key) is what decides between two concurrent requests with the same key; expired keys
are found through the index on expires_at.

Only a new table: the release before this one never reads it (it ignores the header), so it
runs on a database at this revision (a rollback of the code keeps the database).

Revision ID: 0008_idempotency_keys
Revises: 0005_alerts
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_idempotency_keys"
down_revision = "0005_alerts"
backward_compatible = True
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("route", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "uq_idempotency_keys_user_key", "idempotency_keys", ["user_id", "key"], unique=True
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_expires_at", table_name="idempotency_keys")
    op.drop_index("uq_idempotency_keys_user_key", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
