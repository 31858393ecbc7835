"""Rollback after a migrating release (issue 15, item 1): a release runs on a database one or
more revisions ahead of it when every revision above its head is recorded as backward compatible,
and refuses (naming the revision) otherwise. The newer releases are the real migrations plus test
revisions (tests/support/migrations.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from backend.db import migrate
from backend.db.engine import make_engine
from backend.db.migrate import (
    COMPAT_TABLE_NAME,
    SchemaAheadError,
    alembic_config,
    current_revision,
    head_revision,
    pending_revisions,
    schema_verdict,
    upgrade_to_head,
)
from backend.main import create_app
from tests.conftest import make_settings
from tests.support.migrations import (
    CONTRACT_DOWN,
    CONTRACT_UP,
    EXPAND_DOWN,
    EXPAND_UP,
    release_dir,
    running_release,
    write_revision,
)

pytestmark = [pytest.mark.api, pytest.mark.database]

HEAD = head_revision()


def newer_release(tmp_path: Path, *steps: tuple[str, bool]) -> Path:
    """This release's migrations plus one test revision per (name, backward_compatible)."""
    migrations = release_dir(tmp_path, "newer")
    down = HEAD
    for name, compatible in steps:
        up, dn = (EXPAND_UP, EXPAND_DOWN) if compatible else (CONTRACT_UP, CONTRACT_DOWN)
        if name.endswith("b"):  # a second expand step: another table
            up = f'    op.create_table("{name}", sa.Column("id", sa.Integer, primary_key=True))'
            dn = f'    op.drop_table("{name}")'
        write_revision(migrations / "versions", name, down, compatible, up, dn)
        down = name
    return migrations


def migrated_by(
    monkeypatch: pytest.MonkeyPatch, url: str, migrations: Path
) -> str:  # the newer release migrates the database
    engine = make_engine(url)
    with running_release(monkeypatch, migrations):
        revision = upgrade_to_head(engine)
    engine.dispose()
    return revision


def test_this_release_runs_on_a_database_ahead_through_compatible_revisions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'ahead.db'}"
    newer = newer_release(tmp_path, ("9001_expand", True), ("9002_expandb", True))
    assert migrated_by(monkeypatch, url, newer) == "9002_expandb"

    engine = make_engine(url)
    verdict = schema_verdict(engine)
    assert verdict.ok and verdict.ahead_of_head
    assert verdict.ahead == ("9002_expandb", "9001_expand")
    # starting (migrate on start) leaves the database where it is, and does not fail
    assert upgrade_to_head(engine) == "9002_expandb"
    assert current_revision(engine) == "9002_expandb"
    assert pending_revisions(engine) == []
    engine.dispose()

    app = create_app(make_settings(url))
    with TestClient(app) as client:
        ready = client.get("/health/ready")
        status = client.get("/database/status").json()
        # the older release writes to the expanded table: the new nullable column is no obstacle
        client.get("/api/v1/categories")
    assert ready.status_code == 200, ready.json()
    assert ready.json()["checks"]["database"]["details"]["revision"] == "9002_expandb"
    assert status["migrated"] is True
    assert status["migration_revision"] == "9002_expandb"


@pytest.mark.parametrize(
    "steps, blocker",
    [
        ((("9001_contract", False),), "9001_contract"),
        ((("9001_expand", True), ("9002_contract", False)), "9002_contract"),
    ],
)
def test_this_release_refuses_a_database_ahead_through_an_incompatible_revision(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    steps: tuple[tuple[str, bool], ...],
    blocker: str,
) -> None:
    url = f"sqlite:///{tmp_path / 'ahead.db'}"
    top = migrated_by(monkeypatch, url, newer_release(tmp_path, *steps))

    engine = make_engine(url)
    verdict = schema_verdict(engine)
    assert not verdict.ok and verdict.ahead_of_head
    assert verdict.reason is not None
    assert f"revision {blocker} is not backward compatible" in verdict.reason
    with pytest.raises(SchemaAheadError, match=blocker):
        upgrade_to_head(engine)
    assert current_revision(engine) == top  # refused: nothing changed
    engine.dispose()

    app = create_app(make_settings(url, migrate_on_start=False))
    with TestClient(app) as client:
        ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"]["ok"] is False


def test_a_revision_without_a_record_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database migrated by a release that predates the records: refused, and said why."""
    url = f"sqlite:///{tmp_path / 'ahead.db'}"
    migrated_by(monkeypatch, url, newer_release(tmp_path, ("9001_expand", True)))
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM {COMPAT_TABLE_NAME} WHERE revision = '9001_expand'")
    verdict = schema_verdict(engine)
    assert not verdict.ok
    assert verdict.reason is not None and "9001_expand records no compatibility" in verdict.reason
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE {COMPAT_TABLE_NAME}")
    verdict = schema_verdict(engine)
    assert not verdict.ok
    assert verdict.reason is not None and "records no compatibility" in verdict.reason
    engine.dispose()


def test_records_follow_upgrades_and_downgrades(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alembic import command

    url = f"sqlite:///{tmp_path / 'records.db'}"
    newer = newer_release(tmp_path, ("9001_expand", True))
    migrated_by(monkeypatch, url, newer)
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = dict(
            conn.exec_driver_sql(
                f"SELECT revision, backward_compatible FROM {COMPAT_TABLE_NAME}"
            ).all()
        )
    # each real revision is recorded as it declares (one that does not say: not compatible)
    declared = {
        rev.revision: int(getattr(rev.module, "backward_compatible", False))
        for rev in migrate.script_directory().walk_revisions()
    }
    assert declared["0001_price_store"] == 0 and declared["0003_exact_ledger_decimals"] == 1
    assert rows == {**declared, "9001_expand": 1}
    with running_release(monkeypatch, newer), engine.begin() as conn:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, HEAD)
    with engine.connect() as conn:
        remaining = {
            r for (r,) in conn.exec_driver_sql(f"SELECT revision FROM {COMPAT_TABLE_NAME}")
        }
    assert "9001_expand" not in remaining
    assert schema_verdict(engine).ok
    engine.dispose()


def test_pending_revisions_in_order_with_their_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'pending.db'}"
    engine = make_engine(url)
    real = _all_real_revisions()
    assert [r for r, _ in pending_revisions(engine)] == real  # empty database: all, oldest first
    upgrade_to_head(engine)
    assert pending_revisions(engine) == []
    newer = newer_release(tmp_path, ("9001_expand", True), ("9002_contract", False))
    with running_release(monkeypatch, newer):
        assert pending_revisions(engine) == [("9001_expand", True), ("9002_contract", False)]
    assert not inspect(engine).has_table("release_notes")  # planning changes nothing
    engine.dispose()


def _all_real_revisions() -> list[str]:
    script = migrate.script_directory()
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]
