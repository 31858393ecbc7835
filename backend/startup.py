"""Start-up work that must run once, however many processes start together: migrate the schema
and load the shipped sample into an empty store.

`uvicorn --workers N` starts N processes that each run the app's lifespan; two of them loading
the sample into an empty database collide on its unique keys, and the loser stops the server
(issue 15). So the work runs under a lock that every process on the database shares: a PostgreSQL
advisory lock (held by a session, so released when the session ends, even if the process dies),
or for SQLite a file lock beside the database file. The first process does the work; the others
wait for the lock, then find it done. A worker serves (and `/health/ready` answers) only once its
lifespan has passed this point.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from filelock import FileLock
from sqlalchemy import Engine, text

from backend.config import Settings
from backend.db.migrate import upgrade_to_head
from backend.market_data.ingest import load_sample
from backend.market_data.store import PriceStore

log = logging.getLogger(__name__)

# Any fixed 64-bit number names the lock; this one spells "AVSTART" in ASCII.
ADVISORY_LOCK_KEY = 0x4156535441525400
# Loading the sample into PostgreSQL takes seconds; a process that waits longer than this for
# another one's start-up gives up (and its container restarts) rather than hang for ever.
LOCK_TIMEOUT_SECONDS = 600


@contextmanager
def startup_lock(engine: Engine, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold the start-up lock of this database for the duration of the block."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            # lock_timeout bounds the wait for the advisory lock (milliseconds)
            conn.execute(
                text("SELECT set_config('lock_timeout', :ms, false)"),
                {"ms": str(int(timeout * 1000))},
            )
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
                conn.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield  # one process owns an in-memory database: nothing to share
        return
    with FileLock(f"{database}.startup.lock", timeout=timeout):
        yield


def prepare_database(engine: Engine, store: PriceStore, settings: Settings) -> str | None:
    """Migrate (when MIGRATE_ON_START) and load the sample into an empty store (when
    LOAD_SAMPLE_ON_EMPTY), once across every process starting on this database. Returns the
    revision the database is at after migrating, or None when it was not asked to migrate."""
    revision = None
    with startup_lock(engine):
        if settings.migrate_on_start:
            revision = upgrade_to_head(engine)
            log.info("database %s at revision %s", engine.dialect.name, revision)
        if settings.load_sample_on_empty and store.is_empty():
            load_sample(store)
    return revision
