"""Helpers of the portfolio and auth API tests: cheap Argon2, high rate limits, an admin
token, a private copy of the sample store, and a client that registers and logs users in."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from backend.config import Settings
from tests.conftest import make_settings

ADMIN_TOKEN = "test-admin-token-0123456789"
JWT_SECRET = "test-jwt-secret-0123456789abcdefghijklmnop"
PASSWORD = "correct horse battery"
_ids = itertools.count(1)


def portfolio_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "admin_token": ADMIN_TOKEN,
        "jwt_secret_key": JWT_SECRET,
        # Cheap hashing: the tests log in often.
        "argon2_time_cost": 1,
        "argon2_memory_cost_kib": 8,
        "argon2_parallelism": 1,
        "rate_limit_login": "10000/minute",
        "rate_limit_expensive": "10000/minute",
    }
    values.update(overrides)
    return make_settings(database_url, **values)


def copy_sqlite(url: str, directory: Path) -> str:
    """A private copy of a SQLite database (tests that write must not touch shared ones)."""
    source = Path(str(make_url(url).database))
    target = directory / source.name
    shutil.copyfile(source, target)
    for suffix in ("-wal", "-shm"):
        extra = source.with_name(source.name + suffix)
        if extra.exists():
            shutil.copyfile(extra, target.with_name(target.name + suffix))
    return f"sqlite:///{target}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer(ADMIN_TOKEN)


class Api:
    """A test client with the calls the tests repeat."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def user(self, email: str | None = None) -> dict[str, Any]:
        """Register and log in a new user: {"email", "id", "access", "refresh", "headers"}."""
        email = email or f"user{next(_ids)}@example.com"
        reg = self.client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        assert reg.status_code == 201, reg.text
        tokens = self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        ).json()
        return {
            "email": email,
            "id": reg.json()["id"],
            "access": tokens["access_token"],
            "refresh": tokens["refresh_token"],
            "headers": bearer(tokens["access_token"]),
        }

    def portfolio(self, headers: dict[str, str], name: str = "main") -> int:
        resp = self.client.post("/api/v1/portfolios", json={"name": name}, headers=headers)
        assert resp.status_code == 201, resp.text
        return int(resp.json()["id"])

    def add(self, headers: dict[str, str], pid: int, **tx: Any) -> Any:
        return self.client.post(f"/api/v1/portfolios/{pid}/transactions", json=tx, headers=headers)


def assert_error(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    error: dict[str, Any] = body["error"]
    return error
