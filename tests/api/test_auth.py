"""Registration, login, tokens (expiry, type, rotation with reuse detection), the admin
token, rate limits and the production secret check."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from backend.config import JWT_SECRET_EXAMPLE, Settings
from backend.main import create_app
from tests.support.portfolio_app import (
    ADMIN,
    JWT_SECRET,
    PASSWORD,
    Api,
    assert_error,
    bearer,
    portfolio_settings,
)

pytestmark = [pytest.mark.api, pytest.mark.database]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path_factory.mktemp('auth') / 'auth.db'}"
    with TestClient(create_app(portfolio_settings(url))) as c:
        yield c


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


def test_register_login_me(api: Api, client: TestClient) -> None:
    reg = client.post(
        "/api/v1/auth/register", json={"email": "  Ada@Example.COM ", "password": PASSWORD}
    )
    assert reg.status_code == 201, reg.text
    assert reg.json()["email"] == "ada@example.com"
    assert "password" not in reg.text and "hash" not in reg.text
    login = client.post(
        "/api/v1/auth/login", json={"email": "ADA@example.com", "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    tokens = login.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 15 * 60
    me = client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"
    assert me.json()["id"] == reg.json()["id"]


def test_register_refuses_duplicates_and_bad_input(api: Api, client: TestClient) -> None:
    user = api.user()
    dup = client.post(
        "/api/v1/auth/register", json={"email": user["email"].upper(), "password": PASSWORD}
    )
    assert_error(dup, 409, "conflict")
    bad = client.post("/api/v1/auth/register", json={"email": "nope", "password": PASSWORD})
    assert assert_error(bad, 422, "invalid_input")["details"]["field"] == "email"
    short = client.post("/api/v1/auth/register", json={"email": "x@example.com", "password": "1"})
    assert assert_error(short, 422, "invalid_input")["details"]["field"] == "password"
    missing = client.post("/api/v1/auth/register", json={"email": "x@example.com"})
    assert_error(missing, 422, "invalid_input")


def test_wrong_credentials_get_one_answer(api: Api, client: TestClient) -> None:
    user = api.user()
    wrong = client.post("/api/v1/auth/login", json={"email": user["email"], "password": "x" * 9})
    unknown = client.post(
        "/api/v1/auth/login", json={"email": "ghost@example.com", "password": PASSWORD}
    )
    malformed = client.post("/api/v1/auth/login", json={"email": "ghost", "password": PASSWORD})
    for resp in (wrong, unknown, malformed):
        err = assert_error(resp, 401, "unauthorized")
        assert err["message"] == "wrong e-mail or password"
        assert resp.headers["www-authenticate"] == "Bearer"


def test_access_token_checks(api: Api, client: TestClient) -> None:
    user = api.user()
    assert_error(client.get("/api/v1/auth/me"), 401, "unauthorized")
    garbage = client.get("/api/v1/auth/me", headers=bearer("not.a.jwt"))
    assert assert_error(garbage, 401, "unauthorized")["details"]["reason"] == "invalid"
    # A refresh token is not an access token.
    wrong = client.get("/api/v1/auth/me", headers=bearer(user["refresh"]))
    assert assert_error(wrong, 401, "unauthorized")["details"]["reason"] == "wrong_token_type"
    # Signed with another key.
    claims = jwt.decode(user["access"], options={"verify_signature": False})
    forged = jwt.encode(claims, "another-secret-another-secret-123", algorithm="HS256")
    assert_error(client.get("/api/v1/auth/me", headers=bearer(forged)), 401, "unauthorized")
    # Expired.
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    expired = jwt.encode(
        {**claims, "iat": past - dt.timedelta(minutes=15), "nbf": past - dt.timedelta(minutes=15),
         "exp": past},
        JWT_SECRET,
        algorithm="HS256",
    )  # fmt: skip
    resp = client.get("/api/v1/auth/me", headers=bearer(expired))
    assert assert_error(resp, 401, "unauthorized")["details"]["reason"] == "expired"
    # The admin token is not a user.
    assert_error(client.get("/api/v1/auth/me", headers=ADMIN), 403, "forbidden")


def test_refresh_rotates_and_detects_reuse(api: Api, client: TestClient) -> None:
    user = api.user()
    first = client.post("/api/v1/auth/refresh", json={"refresh_token": user["refresh"]})
    assert first.status_code == 200, first.text
    pair = first.json()
    assert pair["refresh_token"] != user["refresh"]
    assert client.get("/api/v1/auth/me", headers=bearer(pair["access_token"])).status_code == 200
    # The used token again: reuse -> the whole family is revoked, the new one included.
    again = client.post("/api/v1/auth/refresh", json={"refresh_token": user["refresh"]})
    assert assert_error(again, 401, "unauthorized")["details"]["reason"] == "reused"
    after = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert assert_error(after, 401, "unauthorized")["details"]["reason"] == "reused"
    # A fresh login starts a new family and works.
    fresh = client.post("/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD})
    renewed = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": fresh.json()["refresh_token"]}
    )
    assert renewed.status_code == 200
    # An access token is not a refresh token.
    wrong = client.post("/api/v1/auth/refresh", json={"refresh_token": user["access"]})
    assert_error(wrong, 401, "unauthorized")


def test_concurrent_refreshes_with_one_token_let_one_through(api: Api, client: TestClient) -> None:
    user = api.user()
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def go() -> None:
        barrier.wait()
        resp = client.post("/api/v1/auth/refresh", json={"refresh_token": user["refresh"]})
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 401, 401, 401, 401, 401]


def test_logout_revokes_the_login(api: Api, client: TestClient) -> None:
    user = api.user()
    out = client.post("/api/v1/auth/logout", json={"refresh_token": user["refresh"]})
    assert out.status_code == 204
    resp = client.post("/api/v1/auth/refresh", json={"refresh_token": user["refresh"]})
    assert_error(resp, 401, "unauthorized")
    unknown = jwt.encode(
        {**jwt.decode(user["refresh"], options={"verify_signature": False}), "jti": "0" * 32},
        JWT_SECRET,
        algorithm="HS256",
    )
    for path in ("/api/v1/auth/logout", "/api/v1/auth/refresh"):
        resp = client.post(path, json={"refresh_token": unknown})
        assert assert_error(resp, 401, "unauthorized")["details"]["reason"] == "unknown"


def test_login_is_rate_limited(tmp_path: Path) -> None:
    settings = portfolio_settings(f"sqlite:///{tmp_path / 'rl.db'}", rate_limit_login="3/minute")
    with TestClient(create_app(settings)) as client:
        body = {"email": "rl@example.com", "password": PASSWORD}
        for _ in range(3):
            assert client.post("/api/v1/auth/login", json=body).status_code == 401
        limited = client.post("/api/v1/auth/login", json=body)
        err = assert_error(limited, 429, "rate_limited")
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert err["details"]["limit"] == "3/minute"
        # Other routes are not counted against the login limit.
        assert client.get("/api/v1/categories").status_code == 200


def test_expensive_endpoints_are_rate_limited(tmp_path: Path) -> None:
    settings = portfolio_settings(
        f"sqlite:///{tmp_path / 'rl2.db'}", rate_limit_expensive="2/minute"
    )
    with TestClient(create_app(settings)) as client:
        body = {"holdings": {"AAPL": 1}}
        codes = [client.post("/api/v1/portfolio/analyze", json=body).status_code for _ in range(3)]
        assert codes[2] == 429
        assert "retry-after" in client.post("/api/v1/portfolio/analyze", json=body).headers


def test_rate_limits_can_be_switched_off(tmp_path: Path) -> None:
    settings = portfolio_settings(
        f"sqlite:///{tmp_path / 'off.db'}", rate_limit_login="1/minute", rate_limit_enabled=False
    )
    with TestClient(create_app(settings)) as client:
        body = {"email": "rl@example.com", "password": PASSWORD}
        assert {client.post("/api/v1/auth/login", json=body).status_code for _ in range(3)} == {401}


def test_rate_limits_hold_in_process_when_redis_is_down(tmp_path: Path) -> None:
    settings = portfolio_settings(
        f"sqlite:///{tmp_path / 'down.db'}",
        redis_url="redis://127.0.0.1:1/0",  # nothing listens there
        rate_limit_login="2/minute",
    )
    with TestClient(create_app(settings)) as client:
        body = {"email": "rl@example.com", "password": PASSWORD}
        codes = [client.post("/api/v1/auth/login", json=body).status_code for _ in range(3)]
        assert codes == [401, 401, 429]


def test_bad_rate_limit_setting_is_refused() -> None:
    with pytest.raises(ValidationError, match="rate limit"):
        Settings(_env_file=None, rate_limit_login="often")  # type: ignore[call-arg]


@pytest.mark.parametrize("secret", [JWT_SECRET_EXAMPLE, "change-me-jwt-secret", "short"])
def test_production_refuses_the_example_secret(secret: str) -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET_KEY"):
        Settings(_env_file=None, environment="production", jwt_secret_key=secret)  # type: ignore


def test_production_starts_with_a_real_secret() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, environment="production", jwt_secret_key="x" * 48
    )
    assert settings.jwt_secret_key == "x" * 48
