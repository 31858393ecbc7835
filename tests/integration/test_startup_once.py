"""Start-up work runs once across workers (issue 15, item 4): uvicorn with two workers on an empty
database migrates and loads the sample once, both workers serve, and no worker answers (so
/health/ready cannot say 200) while another process holds the start-up lock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from filelock import FileLock, Timeout
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from backend.db.engine import make_engine
from backend.db.migrate import upgrade_to_head
from backend.market_data.providers.csv_file import read_price_file
from backend.market_data.sample import SAMPLE_PRICES
from backend.startup import ADVISORY_LOCK_KEY, startup_lock
from tests.conftest import REPO_ROOT
from tests.pipeline.conftest import free_port, stop_process

pytestmark = [pytest.mark.integration, pytest.mark.database]


@contextmanager
def uvicorn(url: str, home: Path, workers: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": url,
        "DATA_PROVIDER": "none",
        "ENVIRONMENT": "test",
        "REDIS_URL": "",
        "LOAD_SAMPLE_ON_EMPTY": "true",
    }
    log = (home / "uvicorn.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - the project's own server
        [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.main:create_app",
            "--factory",
            "--port",
            str(port),
        ]
        + ["--workers", str(workers)],
        cwd=home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}", proc
    finally:
        stop_process(proc)
        log.close()


def status_of(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:  # noqa: S310 - local server
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None  # nothing answers


def wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"uvicorn exited with {proc.returncode}:\n{log.read_text()}"
        if status_of(f"{base}/health/ready") == 200:
            return
        time.sleep(0.5)
    pytest.fail(f"not ready within {seconds}s:\n{log.read_text()[-3000:]}")


def sample_bar_count() -> int:
    return len(read_price_file(SAMPLE_PRICES))


def two_workers_on_an_empty_database(url: str, home: Path) -> None:
    log = home / "uvicorn.log"
    with uvicorn(url, home, workers=2) as (base, proc):
        wait_ready(base, proc, log, 240)
        # both workers have finished their start-up: a few seconds more, and nobody died
        time.sleep(3)
        assert proc.poll() is None, log.read_text()
        for _ in range(6):
            assert status_of(f"{base}/health/ready") == 200
    text_log = log.read_text()
    assert text_log.count("loaded the offline sample") == 1, text_log
    assert "UniqueViolation" not in text_log and "IntegrityError" not in text_log, text_log
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM daily_bars")) == sample_bar_count()
    engine.dispose()


def test_two_workers_on_an_empty_postgresql_database(pg_url: str, tmp_path: Path) -> None:
    two_workers_on_an_empty_database(pg_url, tmp_path)


def test_two_workers_on_an_empty_sqlite_database(tmp_path: Path) -> None:
    two_workers_on_an_empty_database(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)


def test_no_answer_while_another_process_holds_the_start_up_lock(
    pg_url: str, tmp_path: Path
) -> None:
    engine = make_engine(pg_url)
    upgrade_to_head(engine)
    holder = engine.connect()
    holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
    log = tmp_path / "uvicorn.log"
    try:
        with uvicorn(pg_url, tmp_path, workers=1) as (base, proc):
            # the worker waits for the lock in its lifespan: it accepts nothing meanwhile
            time.sleep(8)
            assert proc.poll() is None, log.read_text()
            assert status_of(f"{base}/health/ready") is None
            holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
            wait_ready(base, proc, log, 240)
    finally:
        holder.close()
        engine.dispose()


def test_the_wait_for_the_postgresql_lock_is_bounded(pg_url: str) -> None:
    engine = make_engine(pg_url)
    holder = engine.connect()
    holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
    started = time.monotonic()
    try:
        with pytest.raises(OperationalError, match="lock timeout"):
            with startup_lock(engine, timeout=0.5):
                pass
        assert time.monotonic() - started < 30  # bounded (0.5 s asked), with a wide margin
    finally:
        holder.close()
        engine.dispose()


def test_the_wait_for_the_sqlite_lock_is_bounded(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    engine = make_engine(f"sqlite:///{db}")
    with FileLock(f"{db}.startup.lock"):
        with pytest.raises(Timeout):
            with startup_lock(engine, timeout=0.3):
                pass
    with startup_lock(engine, timeout=0.3):  # free again
        pass
    engine.dispose()
