"""Portfolios: users, refresh tokens, categories, the model portfolio, portfolios, transactions.

Seeds the nine categories (targets, benchmarks, tickers) and the model portfolio holdings
(docs/model-portfolio.md), and flags the securities of the fixed-income category as fixed
income. The seed rows are written out here, frozen as they were when this revision was made: a
migration imports no application code, so editing the application's seed
(`backend/reference/seed.py`) can never change what this revision did.

Revision ID: 0002_portfolios
Revises: 0001_price_store
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_portfolios"
down_revision = "0001_price_store"
branch_labels = None
depends_on = None

# (name, slug, target, benchmark, is_fixed_income, tickers), in display order.
# fmt: off
CATEGORIES: tuple[tuple[str, str, float, str, bool, str], ...] = (
    ("Large-Cap Anchors", "large-cap-anchors", 0.2, "QQQ", False,
     "NVDA TSM ASML AVGO MSFT META AAPL AMD GOOGL TSLA PLTR CSCO CRWV ORCL DT AUR MBLY NOW INTC "
     "SNDK COHR TSEM"),
    ("Small-Cap Specialists", "small-cap-specialists", 0.15, "XLK", False,
     "VRT MOD BE CIEN ATKR UI APLD SMCI GDS VNET LITE WYFI PSIX"),
    ("Data Center Infrastructure", "data-center-infrastructure", 0.15, "VNQ", False,
     "SRVR DLR EQIX AMT CCI COR IRM ACM JCI IDGT DTCR CORZ KRC"),
    ("International Tech/Momentum", "international-tech-momentum", 0.12, "VEA", False,
     "EWJ EWT INDA EWY EWU INFY"),
    ("Tactical Fixed Income", "tactical-fixed-income", 0.08, "AGG", True,
     "SHY VCIT TIP IEF BIL LQD FLOT XHLF SWVXX"),
    ("Sector Momentum Rotation", "sector-momentum-rotation", 0.1, "SPY", False,
     "XLE XLF XLI XLU XLB LBRT PUMP"),
    ("Critical Metals & Mining", "critical-metals-mining", 0.07, "XLB", False,
     "MP ALB SQM LAC FCX SCCO TECK"),
    ("Specialized Materials ETFs", "specialized-materials-etfs", 0.05, "XLB", False, "REMX LIT"),
    ("AI Power/Energy Infrastructure", "ai-power-energy-infrastructure", 0.08, "XLU", False,
     "VST CEG NRG GEV CCJ OKLO SMR TLN IREN CIFR EQT SEI RIOT HUT BTDR CLSK BITF BW"),
)
MODEL_HOLDINGS: tuple[tuple[str, int], ...] = (
    ("NVDA", 7), ("AVGO", 4), ("MSFT", 2), ("META", 1), ("NOW", 1), ("AAPL", 4), ("GOOGL", 4),
    ("VRT", 7), ("MOD", 10), ("BE", 30), ("UI", 3), ("DLR", 6), ("SRVR", 58), ("IRM", 10),
    ("CCI", 10), ("EWJ", 14), ("EWT", 17), ("SHY", 13), ("XLI", 7), ("MP", 16),
)
# fmt: on


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
                "name": name,
                "slug": slug,
                "target": target,
                "benchmark": benchmark,
                "is_fixed_income": fixed_income,
                "position": i,
            }
            for i, (name, slug, target, benchmark, fixed_income, _) in enumerate(CATEGORIES)
        ],
    )
    op.bulk_insert(
        members,
        [
            {"ticker": t, "category_id": i + 1, "position": k}
            for i, (*_, tickers) in enumerate(CATEGORIES)
            for k, t in enumerate(tickers.split())
        ],
    )
    op.bulk_insert(holdings, [{"ticker": t, "shares": float(n)} for t, n in MODEL_HOLDINGS])
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
    for name, _, _, _, fixed_income, tickers in CATEGORIES:
        op.execute(
            securities.update()
            .where(securities.c.ticker.in_(tickers.split()))
            .values(category=name, is_fixed_income=fixed_income)
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
