"""Domain errors: plain Python, each with a stable machine `code`, a message for a person and
`details` for a program.

Code below the API raises these and knows nothing of HTTP; `backend.api.errors` maps each
kind to its status and headers and answers `{"error": {"code", "message", "details"}}` in one
place. Importing the ledger or a model therefore never imports the web stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    """A rule the server checks that a JSON schema cannot state: between fields, against the
    stored data, the clock or a policy. Each route lists the ones it checks
    (`backend.api.errors.beyond_schema`), so its OpenAPI schema says them; breaking one is
    answered with `code` and, in the details, `rule` (`ANY_RULE`: any answer of that code)."""

    code: str
    rule: str
    text: str

    def as_schema(self) -> dict[str, Any]:
        return {"code": self.code, "rule": self.rule, "description": self.text}


class AppError(Exception):
    """An error with a stable machine code and details for the caller. Raised as itself it
    is unexpected (answered 500); the subclasses below name what kind of failure it is."""

    code = "internal_error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(AppError):
    code = "invalid_input"


class NotFound(AppError):
    code = "not_found"


class InsufficientHistory(AppError):
    """Fewer closes than the model needs: there is no score, and we say why."""

    code = "insufficient_history"

    def __init__(self, ticker: str, found: int, needed: int, as_of: str | None = None) -> None:
        super().__init__(
            f"{ticker} has {found} closes up to {as_of or 'its last close'}; "
            f"the model needs at least {needed}",
            {"ticker": ticker, "closes_found": found, "closes_needed": needed, "as_of": as_of},
        )


class Unavailable(AppError):
    """A dependency (price provider, database) cannot serve now; retrying later may work."""

    code = "unavailable"


class ProviderUnavailable(Unavailable):
    """A price provider could not be reached (network, throttling past retries, timeout)."""

    code = "provider_unavailable"

    def __init__(self, provider: str, reason: str) -> None:
        super().__init__(
            f"price provider {provider!r} is unavailable: {reason}",
            {"provider": provider, "reason": reason},
        )
        self.provider = provider
        self.reason = reason


class DatabaseUnavailable(Unavailable):
    """The database cannot be used now (unreachable, too slow, no free connection). The message
    and `reason` are for the public; the driver's own text (hosts, ports, SQL) goes to the log
    only (`backend.db.faults`)."""

    code = "database_unavailable"

    def __init__(self, reason: str, explanation: str, details: dict[str, Any] | None = None):
        super().__init__(
            f"the database is unavailable ({explanation}); retry later",
            {"reason": reason, **(details or {})},
        )
        self.reason = reason


class PayloadTooLarge(AppError):
    """A request body past its route's limit (`backend.api.body_limit`)."""

    code = "payload_too_large"

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(
            f"the request body is larger than the limit of {limit_bytes} bytes",
            {"limit_bytes": limit_bytes},
        )


class Unauthorized(AppError):
    """Missing, invalid, expired or revoked credentials."""

    code = "unauthorized"


class Forbidden(AppError):
    """Authenticated, but not allowed."""

    code = "forbidden"


class Conflict(AppError):
    """Conflicts with the current state (already exists)."""

    code = "conflict"


class RateLimited(AppError):
    """Over a rate limit; `retry_after` seconds until the next attempt may pass."""

    code = "rate_limited"

    def __init__(self, limit: str, scope: str, retry_after: int, what: str | None = None) -> None:
        super().__init__(
            f"too many requests: the limit of {what or scope} is {limit}; "
            f"retry in {retry_after} s",
            {"limit": limit, "scope": scope, "retry_after_seconds": retry_after},
        )
        self.retry_after = retry_after


class PriceFileError(AppError):
    """A price file that cannot be imported; `line` is 1-based, the header being line 1."""

    code = "invalid_price_file"

    def __init__(self, reason: str, line: int | None = None, path: str | None = None) -> None:
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{where}{reason}", {"line": line, "reason": reason, "path": path})
        self.line = line
        self.reason = reason


ANY_RULE = "*"
# Rules shared by many routes.
START_NOT_AFTER_END = Rule(
    "invalid_input",
    "start must not be after end",
    "start must not be after end when both are given",
)
NO_DATA = Rule(
    "insufficient_history",
    ANY_RULE,
    "the store must hold enough closes for what is asked: a score needs the model's minimum "
    "history up to its date, a period needs stored dates",
)


# The caller's own mistakes (a CLI exits 2 on these, as on a usage error).
CALLER_ERRORS: tuple[type[AppError], ...] = (InvalidInput, InsufficientHistory, PriceFileError)
