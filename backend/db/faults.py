"""The one place that decides which exceptions mean "the database cannot be used now", and how
that is told to the public: 503 `database_unavailable` with a reason from a fixed list, never
the driver's text (which names hosts, ports and SQL); that text goes to the log."""

from __future__ import annotations

import logging
import sqlite3

import psycopg2
from psycopg2.extensions import QueryCanceledError
from sqlalchemy import exc as sa_exc

from backend.errors import DatabaseUnavailable

log = logging.getLogger("backend.db")

# The drivers' own operational errors (the data-version reader uses the driver directly).
_DRIVER_FAULTS: tuple[type[BaseException], ...] = (
    psycopg2.OperationalError,
    psycopg2.InterfaceError,
    sqlite3.OperationalError,
)

# reason -> what the public is told.
EXPLANATIONS = {
    "unreachable": "it cannot be reached",
    "timeout": "it did not answer in time",
    "connection_lost": "the connection to it was lost or it did not answer in time",
    "pool_exhausted": "no database connection became free in time",
    "busy": "it is locked by another writer",
    "error": "it reported an operational error",
}

# Fragments of driver messages, to pick the reason (never shown).
_UNREACHABLE = (
    "could not connect",
    "connection refused",
    "could not translate host",
    "no route to host",
    "network is unreachable",
    "failed:",  # libpq: 'connection to server at "h", port p failed: ...'
    "unable to open database file",
)
_LOST = (
    "closed the connection",
    "connection already closed",
    "could not receive data",
    "could not send data",
    "terminating connection",
    "connection not open",
)
# libpq's connect_timeout ("timeout expired"), the server's statement_timeout.
_TIMEOUT = ("timeout expired", "canceling statement due to statement timeout")


def _driver_error(exc: BaseException) -> BaseException | None:
    """The operational driver error `exc` is or wraps (SQLAlchemy's `orig`, `raise ... from`)."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 5:
        if isinstance(current, sa_exc.DBAPIError):
            if isinstance(current, (sa_exc.OperationalError, sa_exc.InterfaceError)):
                return current.orig if current.orig is not None else current
            if current.connection_invalidated:
                return current.orig if current.orig is not None else current
        if isinstance(current, (sa_exc.TimeoutError, sa_exc.DisconnectionError)):
            return current
        if isinstance(current, _DRIVER_FAULTS):
            return current
        current = current.__cause__
        seen += 1
    return None


def _reason(error: BaseException) -> str:
    if isinstance(error, sa_exc.TimeoutError):
        return "pool_exhausted"
    if isinstance(error, QueryCanceledError):
        return "timeout"
    text = str(error).lower()
    if isinstance(error, sqlite3.OperationalError) and "locked" in text:
        return "busy"
    if any(fragment in text for fragment in _TIMEOUT):
        return "timeout"
    if any(fragment in text for fragment in _LOST):
        return "connection_lost"
    if isinstance(error, sa_exc.DisconnectionError):
        return "connection_lost"
    if any(fragment in text for fragment in _UNREACHABLE):
        return "unreachable"
    return "error"


def database_unavailable(exc: BaseException, where: str = "") -> DatabaseUnavailable | None:
    """The public 503 for `exc` when it means the database cannot be used now (logged with the
    driver's text), else None (the exception is something else: a bug, a constraint...)."""
    if isinstance(exc, DatabaseUnavailable):
        return exc
    error = _driver_error(exc)
    if error is None:
        return None
    reason = _reason(error)
    log.warning(
        "database unavailable (%s)%s: %s: %s",
        reason,
        f" in {where}" if where else "",
        type(error).__name__,
        " ".join(str(error).split()),
    )
    return DatabaseUnavailable(reason, EXPLANATIONS[reason])
