"""Which exceptions mean "the database cannot be used now", and what the public is told."""

from __future__ import annotations

import logging
import sqlite3

import psycopg2
import pytest
from psycopg2.extensions import QueryCanceledError
from sqlalchemy import exc as sa_exc

from backend.api.errors import http_status
from backend.db.faults import database_unavailable
from backend.errors import DatabaseUnavailable, NotFound

pytestmark = pytest.mark.unit

REFUSED = (
    'connection to server at "10.1.2.3", port 5433 failed: Connection refused\n'
    "\tIs the server running on that host and accepting TCP/IP connections?\n"
)


def wrapped(
    orig: BaseException, cls: type[sa_exc.DBAPIError] = sa_exc.OperationalError
) -> Exception:
    return cls("SELECT secret FROM users WHERE id = %(id)s", {"id": 1}, orig)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (wrapped(psycopg2.OperationalError(REFUSED)), "unreachable"),
        (
            wrapped(
                psycopg2.OperationalError('connection to server at "h" failed: timeout expired')
            ),
            "timeout",
        ),
        (
            wrapped(QueryCanceledError("canceling statement due to statement timeout")),
            "timeout",
        ),
        (
            wrapped(psycopg2.OperationalError("server closed the connection unexpectedly")),
            "connection_lost",
        ),
        (
            wrapped(psycopg2.InterfaceError("connection already closed"), sa_exc.InterfaceError),
            "connection_lost",
        ),
        (sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"), "pool_exhausted"),
        (wrapped(sqlite3.OperationalError("database is locked")), "busy"),
        (psycopg2.OperationalError(REFUSED), "unreachable"),  # the raw driver's, unwrapped
        (RuntimeError("while computing"), None),
    ],
)
def test_operational_faults_become_a_503_with_a_reason_and_no_driver_text(
    error: BaseException, reason: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    if reason is None:  # a cause chain is followed: raise ... from <driver error>
        error.__cause__ = wrapped(psycopg2.OperationalError(REFUSED))
        reason = "unreachable"
    with caplog.at_level(logging.WARNING, logger="backend.db"):
        unavailable = database_unavailable(error, "GET /x")
    assert isinstance(unavailable, DatabaseUnavailable)
    assert http_status(unavailable) == 503 and unavailable.code == "database_unavailable"
    assert unavailable.details == {"reason": reason}
    public = unavailable.message + str(unavailable.details)
    for leak in ("10.1.2.3", "5433", "SELECT", "secret", "psycopg", "QueuePool"):
        assert leak not in public
    # The driver's text is in the log, for the operator.
    assert f"database unavailable ({reason}) in GET /x" in caplog.text
    assert caplog.records[-1].getMessage().count("\n") == 0


@pytest.mark.parametrize(
    "error",
    [
        sa_exc.IntegrityError("INSERT", {}, psycopg2.IntegrityError("duplicate key")),
        sa_exc.ProgrammingError("SELECT", {}, psycopg2.ProgrammingError("syntax error")),
        ValueError("a bug"),
        NotFound("no such thing"),
    ],
)
def test_other_errors_are_not_database_faults(error: BaseException) -> None:
    assert database_unavailable(error) is None


def test_an_invalidated_connection_is_a_fault_whatever_the_error_class() -> None:
    error = sa_exc.DatabaseError("SELECT 1", {}, psycopg2.DatabaseError("SSL SYSCALL error: EOF"))
    error.connection_invalidated = True
    unavailable = database_unavailable(error)
    assert unavailable is not None and unavailable.reason == "error"
