"""Registration (normalised e-mails, the password policy), login, tokens (expiry, type,
rotation with reuse detection, revocation of access tokens with their login), the admin token,
rate limits per client (through trusted proxies only) and per account, and what is logged.
The production secret rules are in tests/unit/auth/test_secret_rules.py."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from backend.auth.passwords import Passwords
from backend.config import Settings
from backend.db.engine import make_engine
from backend.db.models import User
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


def field_error(resp: Any, field: str) -> dict[str, Any]:
    """The 422 entry of `field` (the request-validation shape: details.fields)."""
    err = assert_error(resp, 422, "invalid_input")
    entries = [f for f in err["details"]["fields"] if f["field"] == field]
    assert entries, err
    entry: dict[str, Any] = entries[0]
    return entry


def register(client: TestClient, email: str, password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/register", json={"email": email, "password": password})


def test_register_refuses_duplicates_and_bad_input(api: Api, client: TestClient) -> None:
    user = api.user()
    assert_error(register(client, user["email"].upper()), 409, "conflict")
    assert field_error(register(client, "nope"), "email")["rule"] == "email_rejected"
    short = field_error(register(client, "x@example.com", "1"), "password")
    assert short["rule"] == "string_too_short"
    assert_error(client.post("/api/v1/auth/register", json={"email": "x@example.com"}), 422,
                 "invalid_input")  # fmt: skip
    extra = client.post(
        "/api/v1/auth/register",
        json={"email": "x@example.com", "password": PASSWORD, "admin": True},
    )
    assert field_error(extra, "admin")["rule"] == "extra_forbidden"
    nul = field_error(register(client, "x\u0000y@example.com"), "email")
    assert "U+0000" in nul["message"]


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("12345678", "top-10 common password"),
        ("password1", "common"),
        ("aaaaaaaaaaaa", "Repeats"),
        ("qwertyuiop", "common"),
        ("zoe.martin1990", "zxcvbn score"),  # the user's own name and a year
    ],
)
def test_weak_passwords_are_refused_with_the_reason(
    client: TestClient, password: str, says: str
) -> None:
    resp = register(client, "zoe.martin@example.com", password)
    entry = field_error(resp, "password")
    assert entry["rule"] == "password_too_weak"
    assert says in entry["message"] and "too easy to guess" in entry["message"]
    login = client.post(
        "/api/v1/auth/login", json={"email": "zoe.martin@example.com", "password": password}
    )
    assert login.status_code == 401  # nothing was created


def test_the_password_check_does_not_stall_other_requests(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """zxcvbn can take a tenth of a second: it runs in the thread pool, never on the event
    loop that serves every other request (where request bodies are validated)."""
    import backend.auth.service as service

    real = service.check_password

    def slow_check(password: str, email: str | None = None) -> None:
        time.sleep(0.6)
        real(password, email)

    monkeypatch.setattr(service, "check_password", slow_check)
    done: list[int] = []
    thread = threading.Thread(
        target=lambda: done.append(register(client, "slow.check@example.com").status_code)
    )
    thread.start()
    time.sleep(0.1)
    started = time.monotonic()
    assert client.get("/health/live").status_code == 200
    waited = time.monotonic() - started
    thread.join()
    assert done == [201]
    assert waited < 0.4  # not behind the 0.6 s check


def test_addresses_that_look_the_same_are_one_account(client: TestClient) -> None:
    first = register(client, "Bob.Lookalike@Example.com")
    assert first.status_code == 201, first.text
    assert first.json()["email"] == "bob.lookalike@example.com"
    for twin in ("ｂｏｂ.lookalike@example.com", " BOB.LOOKALIKE@EXAMPLE.COM "):
        assert_error(register(client, twin), 409, "conflict")
    for invisible in ("bob.look\u200balike@example.com", "bob.lookalike\u202e@example.com"):
        assert field_error(register(client, invisible), "email")["rule"] == "email_rejected"
    # Any form that normalises to the address logs in to it.
    login = client.post(
        "/api/v1/auth/login",
        json={"email": "ＢＯＢ.lookalike@example.com", "password": PASSWORD},
    )
    assert login.status_code == 200, login.text
    # Invisible characters at login: the one answer for wrong credentials.
    sneaky = client.post(
        "/api/v1/auth/login",
        json={"email": "bob.look\u200balike@example.com", "password": PASSWORD},
    )
    assert assert_error(sneaky, 401, "unauthorized")["details"]["reason"] == "bad_credentials"


def test_existing_accounts_still_log_in(tmp_path: Path) -> None:
    """Accounts stored before the policy (lower-cased, stripped, any password) still log in;
    the policy applies to new passwords."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    settings = portfolio_settings(url)
    with TestClient(create_app(settings)) as client:
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(
                User.__table__.insert().values(
                    email="old.user@example.com",
                    password_hash=Passwords(settings).hash("12345678"),
                    is_active=True,
                    created_at=dt.datetime.now(dt.timezone.utc),
                )
            )
        engine.dispose()
        login = client.post(
            "/api/v1/auth/login", json={"email": " Old.User@EXAMPLE.com", "password": "12345678"}
        )
        assert login.status_code == 200, login.text


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
    # A well-signed access token that names no login (issued before logins were named).
    no_sid = jwt.encode({k: v for k, v in claims.items() if k != "sid"}, JWT_SECRET, "HS256")
    resp = client.get("/api/v1/auth/me", headers=bearer(no_sid))
    assert assert_error(resp, 401, "unauthorized")["details"]["reason"] == "invalid"
    # One naming a login of another user.
    other = api.user()
    other_sid = jwt.decode(other["access"], options={"verify_signature": False})["sid"]
    stolen = jwt.encode({**claims, "sid": other_sid}, JWT_SECRET, "HS256")
    resp = client.get("/api/v1/auth/me", headers=bearer(stolen))
    assert assert_error(resp, 401, "unauthorized")["details"]["reason"] == "revoked"


def me_status(client: TestClient, access: str) -> tuple[int, str | None]:
    resp = client.get("/api/v1/auth/me", headers=bearer(access))
    reason = resp.json()["error"]["details"].get("reason") if resp.status_code != 200 else None
    return resp.status_code, reason


def test_logout_ends_the_access_tokens_of_the_login(api: Api, client: TestClient) -> None:
    user = api.user()
    other_login = api.client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}
    ).json()
    assert me_status(client, user["access"]) == (200, None)
    out = client.post("/api/v1/auth/logout", json={"refresh_token": user["refresh"]})
    assert out.status_code == 204
    assert me_status(client, user["access"]) == (401, "revoked")
    # Portfolio routes too, not only /me.
    resp = client.get("/api/v1/portfolios", headers=user["headers"])
    assert assert_error(resp, 401, "unauthorized")["details"]["reason"] == "revoked"
    # Another login of the same user is another session: untouched.
    assert me_status(client, other_login["access_token"]) == (200, None)


def test_refresh_token_reuse_ends_every_access_token_of_the_login(
    api: Api, client: TestClient
) -> None:
    user = api.user()
    pair = client.post("/api/v1/auth/refresh", json={"refresh_token": user["refresh"]}).json()
    assert me_status(client, user["access"]) == (200, None)  # rotation alone ends nothing
    assert me_status(client, pair["access_token"]) == (200, None)
    again = client.post("/api/v1/auth/refresh", json={"refresh_token": user["refresh"]})
    assert assert_error(again, 401, "unauthorized")["details"]["reason"] == "reused"
    assert me_status(client, user["access"]) == (401, "revoked")
    assert me_status(client, pair["access_token"]) == (401, "revoked")


def test_other_processes_see_a_revocation_within_the_cache_time(tmp_path: Path) -> None:
    """Two replicas over one database: the one that revokes refuses at once; the other keeps
    its last check for AUTH_SESSION_CACHE_SECONDS, then refuses; with 0 it refuses at once."""
    url = f"sqlite:///{tmp_path / 'replicas.db'}"
    ttl = 0.5
    with (
        TestClient(create_app(portfolio_settings(url))) as a,
        TestClient(create_app(portfolio_settings(url, auth_session_cache_seconds=ttl))) as b,
        TestClient(create_app(portfolio_settings(url, auth_session_cache_seconds=0))) as c,
    ):
        user = Api(a).user()
        for replica in (a, b, c):
            assert me_status(replica, user["access"]) == (200, None)
        assert a.post("/api/v1/auth/logout", json={"refresh_token": user["refresh"]}).status_code
        revoked_at = time.monotonic()
        assert me_status(a, user["access"]) == (401, "revoked")
        assert me_status(c, user["access"]) == (401, "revoked")
        if time.monotonic() - revoked_at < ttl / 2:  # still inside b's window
            assert me_status(b, user["access"]) == (200, None)
        time.sleep(ttl)
        assert me_status(b, user["access"]) == (401, "revoked")


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


def forty_logins(client: TestClient, email: str = "victim@example.com") -> list[int]:
    """40 wrong passwords, each with another X-Forwarded-For value."""
    return [
        client.post(
            "/api/v1/auth/login",
            json={"email": email, "password": f"wrong password {i}"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        ).status_code
        for i in range(40)
    ]


@pytest.mark.parametrize(
    ("trusted", "peer"),
    [
        ("", "198.51.100.7"),  # default: no proxy trusted
        ("10.0.0.0/8", "198.51.100.7"),  # the caller is not one of the proxies
    ],
)
def test_forwarded_for_from_an_untrusted_peer_cannot_bypass_the_limit(
    tmp_path: Path, trusted: str, peer: str
) -> None:
    settings = portfolio_settings(
        f"sqlite:///{tmp_path / 'xff.db'}",
        rate_limit_login="10/minute",
        rate_limit_login_account="1000/minute",
        trusted_proxies=trusted,
    )
    app = create_app(settings)
    with TestClient(app, client=(peer, 40000)) as client:
        codes = forty_logins(client)
    assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}


def test_behind_a_trusted_proxy_the_limit_follows_the_real_client(tmp_path: Path) -> None:
    """nginx (10.0.0.2) appends the address it saw to whatever the caller sent: the caller
    rotates its own values, but the right-most untrusted hop stays its real address."""
    settings = portfolio_settings(
        f"sqlite:///{tmp_path / 'proxy.db'}",
        rate_limit_login="10/minute",
        rate_limit_login_account="1000/minute",
        trusted_proxies="10.0.0.2",
    )
    app = create_app(settings)
    with TestClient(app, client=("10.0.0.2", 40000)) as nginx:
        body = {
            "email": "victim@example.com",
            "password": "wrong password",  # pragma: allowlist secret
        }
        codes = [
            nginx.post(
                "/api/v1/auth/login",
                json=body,
                headers={"X-Forwarded-For": f"203.0.113.{i}, 198.51.100.7"},
            ).status_code
            for i in range(40)
        ]
        assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}
        # Another real client behind the same proxy has its own budget.
        other = nginx.post(
            "/api/v1/auth/login", json=body, headers={"X-Forwarded-For": "198.51.100.8"}
        )
        assert other.status_code == 401


def test_failed_logins_per_account_are_limited_whatever_the_address(tmp_path: Path) -> None:
    settings = portfolio_settings(
        f"sqlite:///{tmp_path / 'acct.db'}", rate_limit_login_account="3/15 minutes"
    )
    app = create_app(settings)
    with TestClient(app) as client:
        Api(client).user("target@example.com")
        for i in range(3):
            with TestClient(app, client=(f"198.51.100.{i}", 1)) as attacker:
                resp = attacker.post(
                    "/api/v1/auth/login",
                    json={"email": "TARGET@example.com", "password": f"guess number {i}"},
                )
                assert resp.status_code == 401
        # Now even the right password, from a fresh address, waits.
        with TestClient(app, client=("192.0.2.50", 1)) as owner:
            resp = owner.post(
                "/api/v1/auth/login", json={"email": "target@example.com", "password": PASSWORD}
            )
        err = assert_error(resp, 429, "rate_limited")
        assert err["details"] == {
            "limit": "3/15 minutes",
            "scope": "login-account",
            "retry_after_seconds": int(resp.headers["retry-after"]),
        }
        assert 1 <= int(resp.headers["retry-after"]) <= 900
        assert "failed logins of this account" in err["message"]
        # Other accounts are not affected; unknown accounts are throttled alike (no hint
        # about which addresses exist).
        assert Api(client).user("bystander@example.com")["access"]
        for i in range(4):
            ghost = client.post(
                "/api/v1/auth/login",
                json={"email": "ghost@example.com", "password": f"guess number {i}"},
            )
        assert ghost.status_code == 429


def test_failed_logins_are_logged_with_the_real_client(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = portfolio_settings(f"sqlite:///{tmp_path / 'log.db'}", trusted_proxies="10.0.0.2")
    app = create_app(settings)
    secret_guess = "my-Secret-Guess-4711"  # pragma: allowlist secret
    with TestClient(app) as client:
        Api(client).user("logged@example.com")
    with TestClient(app, client=("10.0.0.2", 1)) as nginx, caplog.at_level(logging.INFO):
        resp = nginx.post(
            "/api/v1/auth/login",
            json={"email": "Logged@example.com", "password": secret_guess},
            headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.7"},
        )
        assert resp.status_code == 401
        nginx.post(
            "/api/v1/auth/login",
            json={"email": "logged@example.com", "password": PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.7"},
        )
    failed = [r for r in caplog.records if getattr(r, "event", None) == "login_failed"]
    assert len(failed) == 1
    record: Any = failed[0]
    assert record.levelno == logging.WARNING
    assert record.client == "198.51.100.7" and "198.51.100.7" in record.getMessage()
    assert record.reason == "wrong_password" and isinstance(record.user_id, int)
    assert len(record.account) == 12
    ok = [
        r
        for r in caplog.records
        if getattr(r, "event", None) == "login" and getattr(r, "client", None) == "198.51.100.7"
    ]
    assert len(ok) == 1 and isinstance(getattr(ok[0], "user_id", None), int)
    everything = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert secret_guess not in everything and PASSWORD not in everything
    assert "logged@example.com" not in everything.lower()
    assert record.account == app.state.auth.account_ref("logged@example.com")
    access = [
        r for r in caplog.records if r.name == "backend.access" and "/auth/login" in r.getMessage()
    ]
    assert {getattr(r, "client", None) for r in access} >= {"198.51.100.7"}
    assert "10.0.0.2" not in {getattr(r, "client", None) for r in access}


def test_auth_routes_declare_their_errors(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    expected = {
        ("/api/v1/auth/register", "post"): {"409", "413", "422", "429", "500", "503"},
        ("/api/v1/auth/login", "post"): {"401", "413", "422", "429", "500", "503"},
        ("/api/v1/auth/refresh", "post"): {"401", "413", "422", "429", "500", "503"},
        ("/api/v1/auth/logout", "post"): {"401", "413", "422", "500", "503"},
        ("/api/v1/auth/me", "get"): {"401", "403", "413", "422", "500", "503"},
    }
    for (path, method), statuses in expected.items():
        responses = paths[path][method]["responses"]
        errors = {code for code in responses if code[0] in "45"}
        assert errors == statuses, (path, errors)
        for code in errors:
            schema = responses[code]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}


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


@pytest.mark.parametrize("setting", ["rate_limit_login", "rate_limit_login_account"])
def test_bad_rate_limit_setting_is_refused(setting: str) -> None:
    with pytest.raises(ValidationError, match="rate limit"):
        Settings(_env_file=None, **{setting: "often"})  # type: ignore[arg-type]
