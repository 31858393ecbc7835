"""Alerts: users' rules, their webhook, the evaluations (one per data version), the firings
and the webhook deliveries.

Revision ID: 0005_alerts
Revises: 0009_score_snapshots
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_alerts"
down_revision = "0009_score_snapshots"
branch_labels = None
depends_on = None


def _user_id(primary_key: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        primary_key=primary_key,
    )


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _user_id(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("tickers", sa.Text),
        sa.Column("portfolio_id", sa.Integer, sa.ForeignKey("portfolios.id", ondelete="CASCADE")),
        sa.Column("watchlist_id", sa.Integer, sa.ForeignKey("watchlists.id", ondelete="CASCADE")),
        sa.Column("condition", sa.String(32), nullable=False),
        sa.Column("level", sa.Float),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_alert_rules_user_id", "alert_rules", ["user_id"])
    op.create_index("ix_alert_rules_portfolio_id", "alert_rules", ["portfolio_id"])
    op.create_index("ix_alert_rules_watchlist_id", "alert_rules", ["watchlist_id"])
    op.create_table(
        "alert_webhooks",
        _user_id(primary_key=True),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "alert_evaluations",
        sa.Column("data_version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("previous_version", sa.Integer, nullable=False, unique=True),
        sa.Column("reference_date", sa.Date),
        sa.Column("last_date", sa.Date),
        sa.Column("rules", sa.Integer, nullable=False, server_default="0"),
        sa.Column("firings", sa.Integer, nullable=False, server_default="0"),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _user_id(),
        sa.Column("data_version", sa.Integer, nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("http_status", sa.Integer),
        sa.Column("error", sa.String(500)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_alert_deliveries_user_id", "alert_deliveries", ["user_id"])
    op.create_table(
        "alert_firings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "rule_id",
            sa.Integer,
            sa.ForeignKey("alert_rules.id", ondelete="CASCADE"),
            nullable=False,
        ),
        _user_id(),
        sa.Column("data_version", sa.Integer, nullable=False),
        sa.Column("ticker", sa.String(16), nullable=False),
        sa.Column("condition", sa.String(32), nullable=False),
        sa.Column("level", sa.Float),
        sa.Column("message", sa.String(500), nullable=False),
        sa.Column("previous_date", sa.Date, nullable=False),
        sa.Column("previous_score", sa.Float, nullable=False),
        sa.Column("previous_rating", sa.String(32), nullable=False),
        sa.Column("previous_percentile", sa.Float),
        sa.Column("current_date", sa.Date, nullable=False),
        sa.Column("current_score", sa.Float, nullable=False),
        sa.Column("current_rating", sa.String(32), nullable=False),
        sa.Column("current_percentile", sa.Float),
        sa.Column(
            "delivery_id",
            sa.Integer,
            sa.ForeignKey("alert_deliveries.id", ondelete="SET NULL"),
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("rule_id", "data_version", "ticker", name="uq_alert_firings_once"),
    )
    op.create_index("ix_alert_firings_user_id", "alert_firings", ["user_id", "id"])


def downgrade() -> None:
    op.drop_table("alert_firings")
    op.drop_table("alert_deliveries")
    op.drop_table("alert_evaluations")
    op.drop_table("alert_webhooks")
    op.drop_table("alert_rules")
