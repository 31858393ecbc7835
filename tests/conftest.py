"""Shared fixtures: a SQLite store loaded with the shipped sample, the app over it, and
PostgreSQL databases created (and dropped) by the tests themselves."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from backend.config import Settings
from backend.db.engine import make_engine
from backend.db.migrate import upgrade_to_head
from backend.main import create_app
from backend.market_data.ingest import load_sample
from backend.market_data.store import PriceStore

REPO_ROOT = Path(__file__).resolve().parent.parent


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "data_provider": "none",
        "environment": "test",
        "load_sample_on_empty": False,
        "redis_url": "",
        # Off unless a test turns it on: one test's materialised book would otherwise be what
        # the next test's process starts from (tests/unit/momentum/test_snapshots.py).
        "score_snapshots": False,
        # Alerts are evaluated when a test says so: a watcher evaluating the shared sample
        # store would leave an evaluation there for every later test to find.
        "alert_evaluation_interval_seconds": 0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def sample_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite store with the whole shipped sample, built once per test session."""
    path = tmp_path_factory.mktemp("sample") / "sample.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    load_sample(PriceStore(engine))
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def sample_app_client(sample_db_url: str) -> Iterator[TestClient]:
    """The app over the sample store (no live provider). Read-only tests share it."""
    app = create_app(make_settings(sample_db_url))
    with TestClient(app) as client:
        wait_until_ready(client)
        yield client


def wait_until_ready(client: TestClient, seconds: float = 120.0) -> None:
    """Wait, as a deploy's health check does, for /health/ready (the first score book is
    computed in the background after start-up)."""
    deadline = time.monotonic() + seconds
    while client.get("/health/ready").status_code != 200:
        assert time.monotonic() < deadline, client.get("/health/ready").text
        time.sleep(0.05)


@pytest.fixture
def empty_db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def empty_store(empty_db_url: str) -> Iterator[PriceStore]:
    engine = make_engine(empty_db_url)
    upgrade_to_head(engine)
    yield PriceStore(engine)
    engine.dispose()


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """The URL of a new PostgreSQL database, dropped (with its sessions) at the end.

    Needs TEST_DATABASE_URL (a server URL whose database we may connect to for CREATE
    DATABASE); skips with the reason when it is not set (.ci/run sets it)."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    name = f"av_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database made for this test and dropped after it (skipped without
    TEST_DATABASE_URL)."""
    with fresh_pg_database() as url:
        yield url
