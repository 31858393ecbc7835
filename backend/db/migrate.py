"""Apply Alembic migrations programmatically (start-up, `simple_db_migration.py`, tests).

Rollback policy (expand/contract, docs/pipeline.md "Migrations and rollback"): every revision
says whether the release before it runs on a database at that revision (`backward_compatible`
in the revision file). Applying a revision records that flag in the database itself
(`alembic_compatibility`), so an older release, which has never seen the newer revision's file,
can still tell whether it may run on the schema: it runs when every revision above its own head
is recorded as backward compatible, and refuses (and says which revision stops it) otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext, MigrationInfo
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    MetaData,
    String,
    Table,
    delete,
    inspect,
    select,
)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
COMPAT_TABLE_NAME = "alembic_compatibility"
log = logging.getLogger(__name__)

# Kept out of the models' metadata (like alembic_version): Alembic maintains it, not the app.
_compat_metadata = MetaData()
compat_table = Table(
    COMPAT_TABLE_NAME,
    _compat_metadata,
    Column("revision", String(64), primary_key=True),
    Column("down_revision", String(200), nullable=True),
    Column("backward_compatible", Boolean, nullable=False),
)


class SchemaAheadError(RuntimeError):
    """The database is at a revision this release does not know and may not run on."""


@dataclass(frozen=True)
class SchemaVerdict:
    """Whether this release runs on the database's schema, and why not when it does not."""

    ok: bool
    revision: str | None
    head: str
    ahead: tuple[str, ...] = ()  # revisions above our head, newest first (all compatible if ok)
    reason: str | None = None
    ahead_of_head: bool = False  # at a revision this release does not know


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # `%` would be read as interpolation by configparser.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def script_directory() -> ScriptDirectory:
    return _scripts(MIGRATIONS_DIR)


@cache  # the scripts of one folder do not change while the process runs (readiness reads them)
def _scripts(folder: Path) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revision() -> str:
    heads = script_directory().get_heads()
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


def record_compatibility(
    ctx: MigrationContext, step: MigrationInfo, heads: Any, run_args: Any
) -> None:
    """Alembic's `on_version_apply` hook (env.py): in the migration's own transaction, write
    (or on a downgrade, delete) the applied revision's `backward_compatible` flag."""
    if step.is_stamp or step.up_revision_id is None:
        return
    conn = ctx.connection
    assert conn is not None
    compat_table.create(conn, checkfirst=True)
    conn.execute(delete(compat_table).where(compat_table.c.revision == step.up_revision_id))
    if not step.is_upgrade:
        return
    conn.execute(
        compat_table.insert().values(
            revision=step.up_revision_id,
            down_revision=",".join(step.down_revision_ids) or None,
            backward_compatible=_declared_compatible(step.up_revision),
        )
    )


def schema_verdict(engine: Engine) -> SchemaVerdict:
    """Whether this release's code runs on the database: at our head, or above it through
    revisions that are all recorded as backward compatible. Below head it does not (migrate)."""
    head = head_revision()
    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
        revision = ",".join(sorted(heads)) if heads else None
        if revision == head:
            return SchemaVerdict(True, revision, head)
        known = _known()
        if revision is None or revision in known:
            return SchemaVerdict(
                False, revision, head, reason=f"schema at revision {revision}, head is {head}"
            )
        verdict = _walk_ahead(conn, revision, head, known)
    return SchemaVerdict(
        verdict.ok, revision, head, verdict.ahead, verdict.reason, ahead_of_head=True
    )


def _walk_ahead(conn: Connection, revision: str, head: str, known: set[str]) -> SchemaVerdict:
    """Follow the compatibility records from `revision` down to a revision this release knows."""
    if not inspect(conn).has_table(COMPAT_TABLE_NAME):
        return SchemaVerdict(
            False,
            revision,
            head,
            reason=f"schema at revision {revision}, unknown to this release (head {head}), "
            "and the database records no compatibility",
        )
    ahead: list[str] = []
    current: str | None = revision
    while current is not None and current not in known:
        row = conn.execute(
            select(compat_table.c.down_revision, compat_table.c.backward_compatible).where(
                compat_table.c.revision == current
            )
        ).first()
        if row is None or not row.backward_compatible:
            why = "records no compatibility" if row is None else "is not backward compatible"
            return SchemaVerdict(
                False,
                revision,
                head,
                tuple(ahead),
                f"schema at revision {revision}, ahead of this release's head {head}: "
                f"revision {current} {why}",
            )
        ahead.append(current)
        current = row.down_revision
    if current != head:
        return SchemaVerdict(
            False,
            revision,
            head,
            tuple(ahead),
            f"schema at revision {revision} does not descend from this release's head {head}",
        )
    return SchemaVerdict(True, revision, head, tuple(ahead))


def upgrade_to_head(engine: Engine) -> str:
    """Bring the schema to the newest revision; a no-op when it is there. Returns the revision
    the database is at. A database above our head is left alone when every revision above is
    backward compatible (a rollback after a migrating release); otherwise SchemaAheadError."""
    verdict = schema_verdict(engine)
    if verdict.ahead_of_head:
        if not verdict.ok:
            raise SchemaAheadError(verdict.reason)
        log.warning(
            "database at revision %s, ahead of this release's head %s through backward-compatible "
            "revisions (%s): running on it unchanged",
            verdict.revision,
            verdict.head,
            ", ".join(verdict.ahead),
        )
        assert verdict.revision is not None
        return verdict.revision
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    revision = current_revision(engine)
    assert revision is not None
    return revision


def pending_revisions(engine: Engine) -> list[tuple[str, bool]]:
    """The revisions upgrade_to_head would apply, oldest first, each with its
    `backward_compatible` flag (what deploy.sh needs to choose an online or a stopped deploy)."""
    revision = current_revision(engine)
    if revision is not None and revision not in _known():
        return []  # ahead of this release: nothing to apply
    above = script_directory().iterate_revisions("heads", revision or "base")
    return [(rev.revision, _declared_compatible(rev)) for rev in reversed(list(above))]


def _declared_compatible(script: object) -> bool:
    """A revision file's `backward_compatible`; one that does not say is not (the safe side)."""
    return bool(getattr(getattr(script, "module", None), "backward_compatible", False))


def _known() -> set[str]:
    return {rev.revision for rev in script_directory().walk_revisions()}
