"""Portfolios: users, refresh tokens, categories, the model portfolio, portfolios, transactions.

Seeds the nine categories (targets, benchmarks, tickers) and the model portfolio holdings from
`backend/portfolios/model_portfolio.py` (docs/model-portfolio.md), and flags the securities of
the fixed-income category as fixed income (the engine's relative momentum then uses AGG).

Revision ID: 0002_portfolios
Revises: 0001_price_store
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from backend.portfolios.model_portfolio import CATEGORIES, MODEL_HOLDINGS, slug

revision = "0002_portfolios"
down_revision = "0001_price_store"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("family", sa.String(64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"])
    op.create_index("ix_refresh_tokens_family", "refresh_tokens", ["family"])
    categories = op.create_table(
        "categories",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("slug", sa.String(100), nullable=False, unique=True),
        sa.Column("target", sa.Float, nullable=False),
        sa.Column("benchmark", sa.String(16), nullable=False),
        sa.Column("is_fixed_income", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
    )
    members = op.create_table(
        "category_members",
        sa.Column("ticker", sa.String(16), primary_key=True),
        sa.Column(
            "category_id",
            sa.Integer,
            sa.ForeignKey("categories.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_category_members_category_id", "category_members", ["category_id"])
    holdings = op.create_table(
        "model_holdings",
        sa.Column("ticker", sa.String(16), primary_key=True),
        sa.Column("shares", sa.Float, nullable=False),
    )
    op.create_table(
        "portfolios",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_portfolios_user_id", "portfolios", ["user_id"])
    op.create_table(
        "transactions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "portfolio_id",
            sa.Integer,
            sa.ForeignKey("portfolios.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("type", sa.String(10), nullable=False),
        sa.Column("ticker", sa.String(16)),
        sa.Column("quantity", sa.Float, nullable=False),
        sa.Column("price", sa.Float),
        sa.Column("fees", sa.Float, nullable=False, server_default="0"),
        sa.Column("note", sa.String(500)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_transactions_portfolio_date", "transactions", ["portfolio_id", "date", "id"]
    )

    op.bulk_insert(
        categories,
        [
            {
                "id": i + 1,
                "name": c.name,
                "slug": slug(c.name),
                "target": c.target,
                "benchmark": c.benchmark,
                "is_fixed_income": c.fixed_income,
                "position": i,
            }
            for i, c in enumerate(CATEGORIES)
        ],
    )
    op.bulk_insert(
        members,
        [
            {"ticker": t, "category_id": i + 1, "position": k}
            for i, c in enumerate(CATEGORIES)
            for k, t in enumerate(c.tickers)
        ],
    )
    op.bulk_insert(holdings, [{"ticker": t, "shares": float(n)} for t, n in MODEL_HOLDINGS.items()])
    # PostgreSQL: the explicit ids above do not advance the serial sequence.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('categories', 'id'), "
            "(SELECT MAX(id) FROM categories))"
        )
    # Securities already stored get their category and fixed-income flag.
    securities = sa.table(
        "securities",
        sa.column("ticker", sa.String),
        sa.column("category", sa.String),
        sa.column("is_fixed_income", sa.Boolean),
    )
    for c in CATEGORIES:
        op.execute(
            securities.update()
            .where(securities.c.ticker.in_(list(c.tickers)))
            .values(category=c.name, is_fixed_income=c.fixed_income)
        )


def downgrade() -> None:
    op.drop_index("ix_transactions_portfolio_date", table_name="transactions")
    op.drop_table("transactions")
    op.drop_index("ix_portfolios_user_id", table_name="portfolios")
    op.drop_table("portfolios")
    op.drop_table("model_holdings")
    op.drop_index("ix_category_members_category_id", table_name="category_members")
    op.drop_table("category_members")
    op.drop_table("categories")
    op.drop_index("ix_refresh_tokens_family", table_name="refresh_tokens")
    op.drop_index("ix_refresh_tokens_user_id", table_name="refresh_tokens")
    op.drop_table("refresh_tokens")

    op.drop_table("users")
