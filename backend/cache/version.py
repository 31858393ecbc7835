"""The price store's data version, read fresh for every request without one query each.

A request must see a version read that *started after it arrived* (then every write committed
before the request is visible). Concurrent requests share reads: a request that arrives while a
read is in flight waits for the next read, which starts as soon as the current one ends and
serves everyone who queued meanwhile. Under load that is one query per round, not per request.
A SQLite file is read on the event loop itself (one query of about ten microseconds costs less
than a hop to a worker thread).

Every wait is bounded: a request waits for its version at most `timeout` seconds, and when the
read in flight is already older than that (the database hangs), new requests fail at once
rather than queue behind it. A request whose version cannot be read gets no answer at all
(`DataVersionTimeout`, or the read's own error): without it nothing can be shown to be as new
as the prices, and a stale score must never be served.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from typing import Any, Callable

from sqlalchemy import Engine

from backend.db.engine import CLIENT_GRACE_SECONDS, guarded_connection_class
from backend.db.models import StoreState


class DataVersionTimeout(TimeoutError):
    """The data version was not read within the gate's time-out."""

    def __init__(self, seconds: float, stuck: bool) -> None:
        super().__init__(
            f"a data-version read has been in flight for over {seconds:g} s"
            if stuck
            else f"the data version was not read within {seconds:g} s"
        )
        self.seconds = seconds


class DataVersionGate:
    def __init__(
        self, read: Callable[[], int], inline: bool = False, timeout: float | None = None
    ) -> None:
        self._read = read  # blocking (a database query): run in a worker thread
        # A read cheap enough to run on the event loop (SQLite file): no threads, no sharing.
        self.inline = inline
        self.timeout = timeout  # None: wait as long as the read takes
        self._current: asyncio.Future[int] | None = None
        self._current_started = 0.0
        self._next: asyncio.Future[int] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.reads = 0

    async def current(self) -> int:
        if self.inline:
            self.reads += 1
            return self._read()
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (a restarted app): forget the old one's
            self._loop, self._current, self._next = loop, None, None
        if self._current is None:
            self._current = self._start()
            return await self._wait(self._current)
        if self.timeout is not None and time.monotonic() - self._current_started > self.timeout:
            # The read in flight is past its time: the database hangs. Queueing behind it would
            # only make this request wait the whole time-out too.
            raise DataVersionTimeout(self.timeout, stuck=True)
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        return await self._wait(self._next)

    async def _wait(self, future: asyncio.Future[int]) -> int:
        # shield: one waiter giving up must not cancel the read the others share.
        if self.timeout is None:
            return await asyncio.shield(future)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.timeout)
        except asyncio.TimeoutError:
            raise DataVersionTimeout(self.timeout, stuck=False) from None

    def _start(self) -> asyncio.Future[int]:
        loop = asyncio.get_running_loop()
        self.reads += 1
        self._current_started = time.monotonic()
        future: asyncio.Future[int] = loop.run_in_executor(None, self._read)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, done: asyncio.Future[int]) -> None:
        _retrieve(done)
        waiting, self._next = self._next, None
        if waiting is None:
            self._current = None
            return
        self._current = self._start()
        self._current.add_done_callback(lambda done: _copy(done, waiting))


def _retrieve(future: asyncio.Future[int]) -> None:
    # Every waiter may have given up (time-out): the error is theirs to report, not asyncio's
    # "exception was never retrieved" at garbage collection.
    if not future.cancelled():
        future.exception()


def _copy(source: asyncio.Future[int], target: asyncio.Future[int]) -> None:
    target.add_done_callback(_retrieve)
    if target.done():
        return
    if source.cancelled():
        target.cancel()
    elif (exc := source.exception()) is not None:
        target.set_exception(exc)
    else:
        target.set_result(source.result())


class DataVersionReader:
    """Reads the store's data version over one dedicated DB-API connection, outside the pool,
    in autocommit mode (each read sees every committed write). One query, no ORM: about ten
    microseconds on SQLite, one round trip on PostgreSQL.

    `local` is true for a SQLite file: reading it is cheap enough to do on the event loop."""

    def __init__(
        self, engine: Engine, timeout_seconds: float = 2.0, connect_timeout_seconds: int = 2
    ) -> None:
        self.engine = engine
        self.timeout = timeout_seconds
        self.connect_timeout = connect_timeout_seconds
        url = engine.url
        self.sqlite = engine.dialect.name == "sqlite"
        self.local = self.sqlite and url.database not in (None, "", ":memory:")
        # Names from the model only, no input.
        self.sql = (
            f"SELECT {StoreState.data_version.key} FROM {StoreState.__tablename__} "  # nosec B608
            f"WHERE {StoreState.id.key} = 1"
        )
        self._conn: Any = None
        self._lock = threading.Lock()
        self.reads = 0

    def _connect(self) -> Any:
        if self.sqlite:
            return sqlite3.connect(
                self.engine.url.database or "",
                timeout=self.timeout,
                isolation_level=None,  # autocommit: no transaction outlives a read
                check_same_thread=False,
            )
        cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
        if self.engine.dialect.driver == "psycopg2":
            # Bounded like the service's engine: connecting, the query on the server, and a
            # server that does not answer at all (the watchdog closes the connection).
            cparams.setdefault("connect_timeout", self.connect_timeout)
            cparams.setdefault("options", f"-c statement_timeout={int(self.timeout * 1000)}")
            cparams.setdefault(
                "connection_factory",
                guarded_connection_class(self.timeout + CLIENT_GRACE_SECONDS),
            )
        conn = self.engine.dialect.connect(*cargs, **cparams)
        conn.autocommit = True
        return conn

    def read(self) -> int:
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = self._connect()
                cursor = self._conn.cursor()
                try:
                    cursor.execute(self.sql)
                    row = cursor.fetchone()
                finally:
                    cursor.close()
            except Exception:
                self._close_locked()
                raise
            self.reads += 1
        return int(row[0]) if row and row[0] is not None else 0

    def _close_locked(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already broken: nothing more to do
                pass

    def close(self) -> None:
        with self._lock:
            self._close_locked()
