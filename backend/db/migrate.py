"""Apply Alembic migrations programmatically (start-up, `simple_db_migration.py`, tests)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # `%` would be read as interpolation by configparser.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@cache  # the scripts on disk do not change while the process runs
def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    return ",".join(sorted(heads))


def current_revision(bind: Engine | Connection) -> str | None:
    """The schema's revision (None before the first migration); on a connection, that one is
    used, else one is taken from the engine's pool."""
    if isinstance(bind, Connection):
        heads = MigrationContext.configure(bind).get_current_heads()
    else:
        with bind.connect() as conn:
            heads = MigrationContext.configure(conn).get_current_heads()
    return ",".join(sorted(heads)) if heads else None


def upgrade_to_head(engine: Engine) -> str:
    """Bring the schema to the newest revision; a no-op when it is there. Returns it."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    revision = current_revision(engine)
    assert revision is not None
    return revision
