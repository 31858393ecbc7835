"""Idempotent writes: a write sent with an `Idempotency-Key` is stored with the answer it got,
and the same request sent again is answered the same without writing again (the semantics of
the IETF draft "The Idempotency-Key HTTP Header Field", as Stripe applies them).

- A key names one request of one user: (user_id, key) is unique. The same key sent again with
  another body, or to another route, is refused (`idempotency_key_reused`) and writes nothing;
  another user's same key is theirs.
- The key's row is the first statement of the write's own transaction (`Claim.take`) and is
  completed with the answer by its last (`Claim.settle`): a key exists exactly when its write
  committed. A write that fails (refused, crashed, its process killed) stores nothing, so its
  repeat runs again, which is safe because nothing was written.
- A duplicate sent while the first is still in flight waits on the unique index (PostgreSQL
  holds an INSERT of a key another transaction inserted until that one ends; SQLite has one
  writer at a time) and is then answered with the first's stored answer, or, if the first
  failed, runs as the write itself. It is never answered "in progress": a client retrying a
  write it lost the answer to gets the answer.
- Keys expire after `hours` (IDEMPOTENCY_KEY_HOURS); an expired key is as if never used. Each
  keyed write deletes at most PRUNE_BATCH expired keys, more than the one it adds, so the table
  holds about one period's keys and no single write pays for a backlog.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db.engine import make_session_factory
from backend.db.models import IdempotencyKey
from backend.errors import InvalidInput, Rule

HEADER = "Idempotency-Key"
# Printable ASCII (space to tilde), as the draft's and Stripe's keys; at most the column's 255.
KEY_MAX_LENGTH = 255
KEY_PATTERN = r"^[\x20-\x7E]{1,255}$"
KEY_RULE = "1 to 255 printable ASCII characters"
# Expired keys deleted by one keyed write at most: a bounded cost per write.
PRUNE_BATCH = 100

REUSED = Rule(
    "idempotency_key_reused",
    "one key, one request",
    f"An {HEADER} names one request: the same key sent again within its lifetime with "
    "another body, or to another route, is refused and nothing is written",
)

T = TypeVar("T")


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"

    def __init__(self, route: str) -> None:
        super().__init__(
            f"this {HEADER} was used for another request (another body or route); "
            "a key names one request: choose a new key for a new request",
            {"field": HEADER, "location": "header", "rule": REUSED.rule, "route": route},
        )


class KeyTaken(Exception):
    """Another request with the same key committed first (the unique index said so)."""


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def request_hash(body: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the body as validated, in canonical JSON (keys sorted, no spaces;
    decimals, dates and other values as their text): the same request sent again hashes the
    same whatever its key order or spacing."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class IdempotentRequest:
    user_id: int
    key: str
    route: str  # "POST /portfolios/12/transactions": the method and the path with its ids
    request_hash: str


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    body: str  # the JSON text answered


class Claim(Generic[T]):
    """A keyed request's row, written inside the write's transaction: `take` first (waits for,
    or fails on, a committed duplicate), `settle` with the write's result last."""

    def __init__(
        self,
        request: IdempotentRequest,
        status: int,
        render: Callable[[T], str],
        lifetime: dt.timedelta,
    ) -> None:
        self.request = request
        self.status = status
        self.render = render
        self.lifetime = lifetime
        self.row: IdempotencyKey | None = None
        self.answer: StoredAnswer | None = None

    def take(self, s: Session) -> None:
        """Insert the key (its answer still blank: nobody sees it before the commit, which
        writes the answer too). KeyTaken if a duplicate committed first."""
        r, started = self.request, now()
        # an expired key is as if never used
        s.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.user_id == r.user_id,
                IdempotencyKey.key == r.key,
                IdempotencyKey.expires_at <= started,
            )
        )
        self.row = IdempotencyKey(
            user_id=r.user_id,
            key=r.key,
            route=r.route,
            request_hash=r.request_hash,
            status=0,
            body="",
            created_at=started,
            expires_at=started + self.lifetime,
        )
        s.add(self.row)
        try:
            s.flush()
        except IntegrityError as err:
            raise KeyTaken(r.key) from err

    def settle(self, s: Session, result: T) -> None:
        """Store the answer the write gets, and prune a bounded batch of expired keys."""
        assert self.row is not None, "settle() before take()"
        self.answer = StoredAnswer(self.status, self.render(result))
        self.row.status, self.row.body = self.answer.status, self.answer.body
        prune(s, now())
        s.flush()


def prune(s: Session, at: dt.datetime, batch: int = PRUNE_BATCH) -> int:
    """Delete at most `batch` keys expired at `at`, oldest first, skipping rows another
    transaction holds (PostgreSQL SKIP LOCKED: a pruner never waits); how many were deleted."""
    expired = (
        select(IdempotencyKey.id)
        .where(IdempotencyKey.expires_at <= at)
        .order_by(IdempotencyKey.expires_at)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    result = s.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(expired)))
    return int(getattr(result, "rowcount", 0) or 0)


class IdempotencyService:
    def __init__(self, engine: Engine, hours: int) -> None:
        self.sessions = make_session_factory(engine)
        self.lifetime = dt.timedelta(hours=hours)

    def find(self, request: IdempotentRequest) -> StoredAnswer | None:
        """The stored answer of this request, None if its key is unused (or expired);
        IdempotencyKeyReused if the key was used for another request."""
        with self.sessions() as s:
            row = s.scalar(
                select(IdempotencyKey).where(
                    IdempotencyKey.user_id == request.user_id,
                    IdempotencyKey.key == request.key,
                    IdempotencyKey.expires_at > now(),
                )
            )
            if row is None:
                return None
            if (row.route, row.request_hash) != (request.route, request.request_hash):
                raise IdempotencyKeyReused(request.route)
            return StoredAnswer(row.status, row.body)

    def run(
        self,
        request: IdempotentRequest,
        status: int,
        render: Callable[[T], str],
        write: Callable[[Claim[T]], T],
    ) -> tuple[StoredAnswer, bool]:
        """The answer to a keyed write and whether it is a replay: the stored one if the key
        was used for this request, else `write`'s (which must `take` and `settle` the claim
        in its transaction); a duplicate that committed meanwhile is replayed."""
        stored = self.find(request)
        if stored is not None:
            return stored, True
        claim = Claim(request, status, render, self.lifetime)
        try:
            write(claim)
        except KeyTaken as taken:
            stored = self.find(request)
            if stored is None:  # not our key after all (the user is gone): a real error
                raise taken.__cause__ or taken from None
            return stored, True
        assert claim.answer is not None, "the write did not settle its claim"
        return claim.answer, False
