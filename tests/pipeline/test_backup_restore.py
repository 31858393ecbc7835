"""scripts/db_backup.sh and scripts/db_restore.sh against the real PostgreSQL: rows written,
backed up, dropped, restored and compared. The test creates its own database and drops only it.

PostgreSQL: TEST_DATABASE_URL when set (as in CI), else postgres@127.0.0.1:5432 (trust auth).
"""

from __future__ import annotations

import gzip
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from psycopg2.extensions import connection as Connection

from tests.pipeline.conftest import SCRIPTS, in_ci, require_tool, run

pytestmark = [pytest.mark.integration, pytest.mark.database]

ROWS = [
    (1, "AAPL", "Apple Inc.", "133.500000", "2021-04-21", True, None),
    (2, "BRK-B", "Berkshire 'B' \"class\"", "276.010000", "2021-04-20", False, '{"a": [1, 2]}'),
    (3, "ZZZ", None, None, None, None, "{}"),
    (4, "ÄÖÜ", "ünïcödé; DROP TABLE x; --", "0.000001", "1999-12-31", True, '{"k": "v\\n"}'),
]


def server_dsn() -> str:
    url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)


def with_database(dsn: str, name: str) -> str:
    base, _, query = dsn.partition("?")
    return base.rsplit("/", 1)[0] + "/" + name + (("?" + query) if query else "")


@pytest.fixture
def database() -> Iterator[str]:
    require_tool("pg_dump", "apt-get install postgresql-client")
    require_tool("psql", "apt-get install postgresql-client")
    try:
        admin = psycopg2.connect(server_dsn(), connect_timeout=5)
    except psycopg2.OperationalError as exc:
        if in_ci():
            pytest.fail(f"CI=true and PostgreSQL is not reachable: {exc}")
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    admin.autocommit = True
    name = f"av_pipeline_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_dsn(), name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def rows(conn: Connection) -> list[tuple[object, ...]]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, ticker, name, price::text, day::text, flag, extra::text "
            "FROM securities ORDER BY id"
        )
        return list(cur.fetchall())


def tables(conn: Connection) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        return [r[0] for r in cur.fetchall()]


def test_backup_drop_restore_round_trip(database: str, tmp_path: Path) -> None:
    conn = psycopg2.connect(database)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE securities (id integer PRIMARY KEY, ticker text UNIQUE NOT NULL, "
            "name text, price numeric(18, 6), day date, flag boolean, extra jsonb)"
        )
        cur.execute("CREATE INDEX securities_day ON securities (day)")
        cur.executemany("INSERT INTO securities VALUES (%s, %s, %s, %s, %s, %s, %s)", ROWS)
        cur.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        cur.execute("INSERT INTO alembic_version VALUES ('0001_price_store')")
    written = rows(conn)
    assert [r[0] for r in written] == [1, 2, 3, 4]

    # the SQLAlchemy form of the URL, as the service's DATABASE_URL has it
    url = database.replace("postgresql://", "postgresql+psycopg2://", 1)
    backup = run(
        [str(SCRIPTS / "db_backup.sh"), str(tmp_path / "backups")], env={"DATABASE_URL": url}
    )
    assert backup.returncode == 0, backup.stderr
    path = Path(backup.stdout.strip().splitlines()[-1])
    assert path.parent == tmp_path / "backups" and path.name.endswith(".sql.gz")
    assert "CREATE TABLE public.securities" in gzip.decompress(path.read_bytes()).decode()
    assert not list((tmp_path / "backups").glob("*.partial"))

    # lose the data, and add what a later migration would have added
    with conn.cursor() as cur:
        cur.execute("DROP TABLE securities")
        cur.execute("UPDATE alembic_version SET version_num = '0002_portfolios'")
        cur.execute("CREATE TABLE portfolios (id integer)")
    assert tables(conn) == ["alembic_version", "portfolios"]

    restore = run([str(SCRIPTS / "db_restore.sh"), str(path)], env={"DATABASE_URL": url})
    assert restore.returncode == 0, restore.stderr
    assert tables(conn) == ["alembic_version", "securities"]
    assert rows(conn) == written
    with conn.cursor() as cur:
        cur.execute("SELECT version_num FROM alembic_version")
        assert cur.fetchone() == ("0001_price_store",)
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'securities' ORDER BY 1")
        assert [r[0] for r in cur.fetchall()] == [
            "securities_day",
            "securities_pkey",
            "securities_ticker_key",
        ]
    conn.close()


def test_a_bad_backup_changes_nothing(database: str, tmp_path: Path) -> None:
    conn = psycopg2.connect(database)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE keep (id integer)")
        cur.execute("INSERT INTO keep VALUES (1), (2)")
    broken = tmp_path / "broken.sql.gz"
    broken.write_bytes(gzip.compress(b"CREATE TABLE half (id integer);\nTHIS IS NOT SQL;\n"))
    url = database
    done = run([str(SCRIPTS / "db_restore.sh"), str(broken)], env={"DATABASE_URL": url})
    assert done.returncode != 0
    assert tables(conn) == ["keep"]  # one transaction: the schema was not dropped either
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM keep")
        assert cur.fetchone() == (2,)

    not_gzip = tmp_path / "plain.sql.gz"
    not_gzip.write_text("SELECT 1;")
    done = run([str(SCRIPTS / "db_restore.sh"), str(not_gzip)], env={"DATABASE_URL": url})
    assert done.returncode != 0 and "not a valid gzip file" in done.stderr
    conn.close()


def test_backup_refuses_a_database_that_is_not_postgresql(tmp_path: Path) -> None:
    done = run(
        [str(SCRIPTS / "db_backup.sh"), str(tmp_path)],
        env={"DATABASE_URL": "sqlite:///data/alphavelocity.db"},
    )
    assert done.returncode == 1
    assert "not a PostgreSQL URL" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_failed_dump_leaves_no_backup_file(tmp_path: Path) -> None:
    require_tool("pg_dump", "apt-get install postgresql-client")
    missing = with_database(server_dsn(), f"av_pipeline_missing_{uuid.uuid4().hex[:8]}")
    done = run([str(SCRIPTS / "db_backup.sh"), str(tmp_path)], env={"DATABASE_URL": missing})
    assert done.returncode != 0
    assert list(tmp_path.iterdir()) == []
