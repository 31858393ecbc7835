"""Migration 0002 seeds the categories and the model portfolio from rows of its own (frozen);
the application's seed (`backend/reference/seed.py`) must say the same, or a new database and
the seed the tests compare against would disagree."""

from __future__ import annotations

import ast
from pathlib import Path

from backend.reference.seed import SEED_CATEGORIES, SEED_MODEL_HOLDINGS, slug

MIGRATION = (
    Path(__file__).resolve().parents[3]
    / "backend"
    / "db"
    / "migrations"
    / "versions"
    / "0002_portfolios.py"
)


def _module() -> ast.Module:
    return ast.parse(MIGRATION.read_text(encoding="utf-8"))


def _constant(name: str) -> object:
    for node in _module().body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == name:
            assert node.value is not None
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not found in {MIGRATION.name}")


def test_migration_imports_no_application_code() -> None:
    for node in ast.walk(_module()):
        if isinstance(node, ast.ImportFrom):
            assert not (node.module or "").startswith("backend"), node.module
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith("backend") for a in node.names)


def test_migration_seed_rows_are_the_seed() -> None:
    rows = _constant("CATEGORIES")
    assert rows == tuple(
        (c.name, slug(c.name), c.target, c.benchmark, c.fixed_income, " ".join(c.tickers))
        for c in SEED_CATEGORIES
    )
    assert _constant("MODEL_HOLDINGS") == tuple(SEED_MODEL_HOLDINGS.items())


def test_seed_targets_sum_to_one_and_tickers_belong_to_one_category() -> None:
    assert abs(sum(c.target for c in SEED_CATEGORIES) - 1.0) < 1e-9
    tickers = [t for c in SEED_CATEGORIES for t in c.tickers]
    assert len(tickers) == len(set(tickers)) == 97  # 22 + 13 + 13 + 6 + 9 + 7 + 7 + 2 + 18
