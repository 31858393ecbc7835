"""Production secrets: the example values, short ones and low-entropy ones are refused, for
JWT_SECRET_KEY and for ADMIN_TOKEN, and the error names the setting and the rule, never the
value."""

from __future__ import annotations

import math
import secrets

import pytest
from pydantic import ValidationError

from backend.auth.secret_rules import (
    SECRET_MIN_ENTROPY_BITS,
    estimated_entropy_bits,
    secret_problem,
)
from backend.config import JWT_SECRET_EXAMPLE, Settings

pytestmark = pytest.mark.unit

# 40 characters, 36 distinct
GOOD = "Q2x9-vLk3_Tz8pWm4RnB7sYc1HdF6gJe0uAo5iKq"  # pragma: allowlist secret


def production(**values: str) -> Settings:
    base = {"environment": "production", "jwt_secret_key": GOOD + "jwt"}
    base.update(values)
    return Settings(_env_file=None, **base)  # type: ignore[arg-type]


def test_entropy_estimate_worked_by_hand() -> None:
    assert estimated_entropy_bits("") == 0
    assert estimated_entropy_bits("a" * 32) == 0
    # two symbols, equally often: 1 bit each
    assert estimated_entropy_bits("ab" * 16) == pytest.approx(32)
    # 32 distinct characters: log2(32) = 5 bits each
    assert estimated_entropy_bits("abcdefghijklmnopqrstuvwxyz012345") == pytest.approx(160)
    # "aab": p = 2/3, 1/3
    h = -(2 / 3 * math.log2(2 / 3) + 1 / 3 * math.log2(1 / 3))
    assert estimated_entropy_bits("aab") == pytest.approx(3 * h)


def test_generated_secrets_pass_and_the_examples_do_not() -> None:
    assert secret_problem(secrets.token_urlsafe(48)) is None
    assert secret_problem(secrets.token_hex(32)) is None
    assert "example" in str(secret_problem(JWT_SECRET_EXAMPLE, JWT_SECRET_EXAMPLE))
    assert "example" in str(secret_problem("change-me-admin-token"))
    assert "example" in str(secret_problem("x" * 40 + "CHANGE-ME" + GOOD))
    assert "characters" in str(secret_problem("short"))
    assert "0 bits" in str(secret_problem("a" * 32))
    assert f"at least {SECRET_MIN_ENTROPY_BITS} bits" in str(secret_problem("ab" * 32))


@pytest.mark.parametrize(
    "secret",
    [JWT_SECRET_EXAMPLE, "change-me-jwt-secret", "short", "a" * 32, "x" * 48, "ab" * 40],
)
def test_production_refuses_a_weak_jwt_secret(secret: str) -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET_KEY") as exc:
        production(jwt_secret_key=secret)
    assert "128 bits" in str(exc.value)
    if len(secret) >= 8:
        assert secret not in str(exc.value)  # never echoed


@pytest.mark.parametrize(
    "token", ["change-me-admin-token", "example-admin", "z" * 32, "0123456789" * 2]
)
def test_production_refuses_a_weak_admin_token(token: str) -> None:
    with pytest.raises(ValidationError, match="ADMIN_TOKEN") as exc:
        production(admin_token=token)
    assert "JWT_SECRET_KEY" not in str(exc.value)
    assert token not in str(exc.value)


def test_production_refuses_one_value_for_both() -> None:
    with pytest.raises(ValidationError, match="ADMIN_TOKEN: must not be the same"):
        production(jwt_secret_key=GOOD, admin_token=GOOD)


def test_production_starts_with_real_secrets_or_admin_off() -> None:
    assert production(admin_token=secrets.token_urlsafe(48)).environment == "production"
    assert production(admin_token="").admin_token == ""  # admin endpoints off


def test_other_environments_are_not_refused() -> None:
    for env in ("development", "test", "staging"):
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, environment=env, jwt_secret_key="a" * 32, admin_token="x"
        )
        assert settings.admin_token == "x"
