"""The per-process memory of login checks: kept for its TTL, dropped at once when the login is
revoked here, never used for another user, and off with a TTL of 0."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.auth.service import AuthUser
from backend.auth.sessions import SessionCache, SessionCheck

pytestmark = pytest.mark.unit

ADA = AuthUser(1, "ada@example.com", dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))


def test_kept_for_the_ttl_then_checked_again() -> None:
    now = [0.0]
    cache = SessionCache(5.0, timer=lambda: now[0])
    cache.put("fam", SessionCheck(1, ADA))
    now[0] = 4.9
    assert cache.get("fam", 1) == SessionCheck(1, ADA)
    now[0] = 5.0
    assert cache.get("fam", 1) is None


def test_forget_and_other_users() -> None:
    cache = SessionCache(60.0)
    cache.put("fam", SessionCheck(1, None, "revoked"))
    assert cache.get("fam", 2) is None  # a token of another user naming the same login
    assert cache.get("fam", 1) == SessionCheck(1, None, "revoked")
    cache.forget("fam")
    assert cache.get("fam", 1) is None
    cache.forget("unknown")


def test_off() -> None:
    cache = SessionCache(0)
    cache.put("fam", SessionCheck(1, ADA))
    assert cache.get("fam", 1) is None
