"""Releases with extra migrations, for the rollback tests: a copy of the migrations folder with
revision files added above the real head, swapped in for `backend.db.migrate.MIGRATIONS_DIR`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from backend.db import migrate

REVISION_FILE = '''"""{doc}"""

import sqlalchemy as sa
from alembic import op

revision = {revision!r}
down_revision = {down!r}
branch_labels = None
depends_on = None
backward_compatible = {compatible!r}


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''

# An expand step: a new table and a nullable column on an existing one.
EXPAND_UP = """    op.create_table("release_notes", sa.Column("id", sa.Integer, primary_key=True))
    with op.batch_alter_table("securities") as batch:
        batch.add_column(sa.Column("note", sa.String(40), nullable=True))"""
EXPAND_DOWN = """    with op.batch_alter_table("securities") as batch:
        batch.drop_column("note")
    op.drop_table("release_notes")"""
# A contract step: a column the older release reads is dropped.
CONTRACT_UP = """    with op.batch_alter_table("securities") as batch:
        batch.drop_column("sector")"""
CONTRACT_DOWN = """    with op.batch_alter_table("securities") as batch:
        batch.add_column(sa.Column("sector", sa.String(100), nullable=True))"""


def write_revision(
    versions: Path, revision: str, down: str, compatible: bool, upgrade: str, downgrade: str
) -> None:
    (versions / f"{revision}.py").write_text(
        REVISION_FILE.format(
            doc=f"test revision {revision}",
            revision=revision,
            down=down,
            compatible=compatible,
            upgrade=upgrade,
            downgrade=downgrade,
        )
    )


def release_dir(tmp_path: Path, name: str) -> Path:
    """A copy of this release's migrations folder, to add revisions to."""
    target = tmp_path / name / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@contextmanager
def running_release(monkeypatch: pytest.MonkeyPatch, migrations: Path | None) -> Iterator[None]:
    """Act as the release whose migrations folder is `migrations` (None: this release)."""
    with monkeypatch.context() as patch:
        if migrations is not None:
            patch.setattr(migrate, "MIGRATIONS_DIR", migrations)
        yield
