"""Engine and session factory for SQLite (the embedded default) and PostgreSQL.

The service's engine bounds every wait on PostgreSQL (`DatabaseTimeouts`, from the settings):

* connecting: libpq's `connect_timeout`;
* a statement: the server's `statement_timeout` cancels it;
* a server that does not answer at all (hung, stopped, a dead network path whose packets are
  still acknowledged): no server-side timer runs and libpq would wait forever, so every round
  trip of the driver (execute, COPY, commit, rollback, the pool's ping) is also watched from
  the client, and a connection still waiting a little after the statement limit is shut down
  (`StatementWatchdog`); the driver then raises "server closed the connection", which
  SQLAlchemy takes as a disconnect and drops the connection from the pool;
* a free connection of the pool: `pool_timeout`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("backend.db")

# How long after the server's own statement_timeout the client gives up on a silent server:
# a live server cancels first and answers with a clean error.
CLIENT_GRACE_SECONDS = 1.0


@dataclass(frozen=True)
class DatabaseTimeouts:
    """The bounds of the service's waits on PostgreSQL (see the module docstring)."""

    connect_seconds: int = 3
    statement_seconds: float | None = 10.0  # None: no statement limit (maintenance work)
    pool_seconds: float = 5.0

    @property
    def client_seconds(self) -> float | None:
        """When the client stops waiting for an answer to one round trip."""
        if self.statement_seconds is None:
            return None
        return self.statement_seconds + CLIENT_GRACE_SECONDS

    @classmethod
    def from_settings(cls, settings: Any) -> "DatabaseTimeouts":
        return cls(
            connect_seconds=settings.database_connect_timeout_seconds,
            statement_seconds=settings.database_statement_timeout_seconds,
            pool_seconds=settings.database_pool_timeout_seconds,
        )

    def unbounded_statements(self) -> "DatabaseTimeouts":
        """The same connect and pool bounds, no statement limit: start-up migrations and the
        first sample load take longer than any request may."""
        return DatabaseTimeouts(self.connect_seconds, None, self.pool_seconds)


class StatementWatchdog:
    """Closes the socket of a connection whose round trip to the server outlives its deadline.

    One daemon thread, awake only while something is being watched; arming and disarming cost
    a lock and a dict update."""

    def __init__(self, tick_seconds: float = 0.05) -> None:
        self.tick = tick_seconds
        self._lock = threading.Lock()
        self._watched: dict[int, tuple[float, Any, float]] = {}
        self._next_token = 0
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.fired = 0

    @contextmanager
    def watch(self, connection: Any, seconds: float | None) -> Iterator[None]:
        if seconds is None:
            yield
            return
        with self._lock:
            token = self._next_token
            self._next_token += 1
            self._watched[token] = (time.monotonic() + seconds, connection, seconds)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="db-statement-watchdog", daemon=True
                )
                self._thread.start()
        self._wake.set()
        try:
            yield
        finally:
            with self._lock:
                self._watched.pop(token, None)

    def _run(self) -> None:
        while True:
            with self._lock:
                idle = not self._watched
                if idle:
                    self._wake.clear()
            self._wake.wait(None if idle else self.tick)
            now = time.monotonic()
            with self._lock:
                overdue = [(t, v) for t, v in self._watched.items() if v[0] <= now]
                for token, (_, connection, seconds) in overdue:
                    del self._watched[token]
                    # Under the lock: the round trip has not returned, so the connection (and
                    # its descriptor) is still the one that was armed.
                    self._shut_down(connection, seconds)

    def _shut_down(self, connection: Any, seconds: float) -> None:
        try:
            fd = connection.fileno()
            # shutdown() acts on the socket itself, so a duplicate descriptor is enough, and
            # libpq's own descriptor stays valid until the driver closes it.
            with socket.socket(fileno=os.dup(fd)) as sock:
                sock.shutdown(socket.SHUT_RDWR)
        except Exception as exc:  # already closed: nothing is waiting on it any more
            log.debug("watchdog: could not shut down a connection: %s", exc)
            return
        self.fired += 1
        log.warning(
            "the database did not answer within %.1f s: connection closed by the client", seconds
        )


WATCHDOG = StatementWatchdog()


def guarded_connection_class(client_seconds: float | None) -> type:
    """A psycopg2 connection class whose every round trip is watched by `WATCHDOG` for at most
    `client_seconds` (psycopg2's `connection_factory`)."""
    from psycopg2.extensions import connection, cursor

    class GuardedCursor(cursor):  # type: ignore[misc]
        def execute(self, query: Any, vars: Any = None) -> Any:
            with WATCHDOG.watch(self.connection, client_seconds):
                return super().execute(query, vars)

        def executemany(self, query: Any, vars_list: Any) -> Any:
            with WATCHDOG.watch(self.connection, client_seconds):
                return super().executemany(query, vars_list)

        def callproc(self, procname: Any, parameters: Any = None) -> Any:
            with WATCHDOG.watch(self.connection, client_seconds):
                return super().callproc(procname, parameters)

        def copy_expert(self, sql: Any, file: Any, size: int = 8192) -> Any:
            with WATCHDOG.watch(self.connection, client_seconds):
                return super().copy_expert(sql, file, size)

    class GuardedConnection(connection):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.cursor_factory = GuardedCursor

        def commit(self) -> None:
            with WATCHDOG.watch(self, client_seconds):
                super().commit()

        def rollback(self) -> None:
            with WATCHDOG.watch(self, client_seconds):
                super().rollback()

    return GuardedConnection


def postgres_connect_args(timeouts: DatabaseTimeouts) -> dict[str, Any]:
    """psycopg2.connect() arguments that bound connecting and each statement."""
    args: dict[str, Any] = {
        "connect_timeout": timeouts.connect_seconds,
        "connection_factory": guarded_connection_class(timeouts.client_seconds),
    }
    if timeouts.statement_seconds is not None:
        args["options"] = f"-c statement_timeout={int(timeouts.statement_seconds * 1000)}"
    return args


def make_engine(url: str, timeouts: DatabaseTimeouts | None = None, **kwargs: Any) -> Engine:
    """An engine for `url`. With `timeouts` (the service's), every wait on PostgreSQL is bounded
    as the module docstring says; without (command-line tools, tests), nothing is."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            # WAL lets the API read while an import writes.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    if timeouts is not None and parsed.get_backend_name() == "postgresql":
        kwargs.setdefault("pool_timeout", timeouts.pool_seconds)
        connect_args = dict(kwargs.pop("connect_args", {}))
        for name, value in postgres_connect_args(timeouts).items():
            connect_args.setdefault(name, value)
        kwargs["connect_args"] = connect_args
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
