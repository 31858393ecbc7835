"""Dockerfile (hadolint and what the document asks of it), .dockerignore (with docker-py's own
dockerignore matcher), docker-compose.yml (docker-compose config and the compose JSON schema) and
the nginx configuration (nginx -t)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.pipeline.conftest import REPO, require_tool, run

pytestmark = pytest.mark.unit
COMPOSE_ENV = {
    "POSTGRES_PASSWORD": "example-password",
    "REDIS_PASSWORD": "example-redis",  # pragma: allowlist secret
    "JWT_SECRET_KEY": "example-jwt",
    "ADMIN_TOKEN": "example-admin",
}


def hadolint(dockerfile: Path) -> tuple[int, str]:
    tool = require_tool("hadolint", "pip install -r requirements-ci.txt")
    done = run([tool, "--no-color", str(dockerfile)])
    return done.returncode, done.stdout + done.stderr


def test_hadolint_passes() -> None:
    code, out = hadolint(REPO / "Dockerfile")
    assert code == 0, out


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get update && apt-get install -y curl\nCMD uvicorn app\n")
    code, out = hadolint(bad)
    assert code != 0
    assert "DL3006" in out  # untagged base image


def test_dockerfile_shape() -> None:
    text = (REPO / "Dockerfile").read_text()
    lines = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    assert lines[0].startswith("ARG BASE_IMAGE=python:3.11-slim")
    froms = [line for line in lines if line.startswith("FROM ")]
    assert froms == ["FROM ${BASE_IMAGE} AS builder", "FROM ${BASE_IMAGE} AS runtime"]
    assert "COPY --from=builder /opt/venv /opt/venv" in lines
    users = [line for line in lines if line.startswith("USER ")]
    assert users == ["USER ${APP_UID}:${APP_UID}"]
    assert re.search(r"^ARG APP_UID=([1-9][0-9]+)$", text, re.M)
    assert "/health/ready" in text.split("HEALTHCHECK", 1)[1].split("\n\n")[0]
    cmd = json.loads(lines[-1].removeprefix("CMD "))
    assert cmd[:2] == ["sh", "-c"]
    assert re.fullmatch(
        r"python simple_db_migration.py && exec uvicorn backend\.main:create_app --factory "
        r".*--workers \"\$\{WORKERS\}\".*",
        cmd[2],
    )


def test_dockerignore_keeps_tests_caches_and_secrets_out(tmp_path: Path) -> None:
    python = shutil.which("python3", path="/usr/bin")
    probe = run([python or "python3", "-c", "import docker.utils.build"])
    if probe.returncode != 0:
        require_tool("docker-py", "apt-get install docker-compose brings python3-docker")
    context = tmp_path / "context"
    shutil.copytree(
        REPO,
        context,
        ignore=shutil.ignore_patterns(".venv", "data", "htmlcov", ".git"),
    )
    for extra in [".env", ".env.production", ".git/config", "backend/__pycache__/x.pyc", "x.db"]:
        (context / extra).parent.mkdir(parents=True, exist_ok=True)
        (context / extra).write_text("x")
    code = (
        "import sys, docker.utils.build as b\n"
        "patterns = [p for p in open(sys.argv[1] + '/.dockerignore').read().splitlines()"
        " if p and not p.startswith('#')]\n"
        "print('\\n'.join(sorted(b.exclude_paths(sys.argv[1], patterns))))\n"
    )
    done = run([python or "python3", "-c", code, str(context)])
    assert done.returncode == 0, done.stderr
    files = set(done.stdout.split())
    for needed in ["requirements.txt", "simple_db_migration.py", "backend/main.py"]:
        assert needed in files
    assert any(f.startswith("backend/market_data/sample/") for f in files)
    for kept_out in [".env", ".env.production", ".git/config", "backend/__pycache__/x.pyc", "x.db"]:
        assert kept_out not in files
    assert not [f for f in files if f.startswith(("tests/", ".venv/", ".github/", "docs/"))]


@pytest.fixture(scope="module")
def empty_env_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("compose") / "empty.env"
    path.write_text("")
    return str(path)


def compose(empty_env: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    tool = require_tool("docker-compose", "apt-get install docker-compose")
    # an empty --env-file: a developer's own .env beside docker-compose.yml must not count here
    done = run(
        [tool, "-f", str(REPO / "docker-compose.yml"), "--env-file", empty_env, *args],
        env=env,
        cwd="/",
    )
    return done.returncode, done.stdout, done.stderr


def config(empty_env: str, env: dict[str, str]) -> dict[str, Any]:
    code, out, err = compose(empty_env, "config", env=env)
    assert code == 0, err
    data = yaml.safe_load(out)
    assert isinstance(data, dict)
    return data


def test_compose_config_is_valid_and_wired(empty_env_file: str) -> None:
    cfg = config(empty_env_file, COMPOSE_ENV)
    services = cfg["services"]
    postgres, redis, app = services["postgres"], services["redis"], services["app"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "postgres-data" in cfg["volumes"]
    assert [str(v).split(":")[:2] for v in postgres["volumes"]] == [
        ["postgres-data", "/var/lib/postgresql/data"]
    ]
    assert "redis-cli ping" in " ".join(redis["healthcheck"]["test"])
    assert "--maxmemory" in redis["command"] and "256mb" in redis["command"]
    # Redis asks for its password; redis-cli (the health check) has it
    assert redis["command"][redis["command"].index("--requirepass") + 1] == "example-redis"
    assert redis["environment"]["REDISCLI_AUTH"] == "example-redis"
    assert app["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert "env_file" not in app and "volumes" not in app
    environment = app["environment"]
    assert environment["DATABASE_URL"] == (
        "postgresql+psycopg2://alphavelocity:example-password@postgres:5432/alphavelocity"
    )
    assert environment["REDIS_URL"] == "redis://:example-redis@redis:6379/0"
    for setting in [
        "DATA_PROVIDER",
        "ADMIN_TOKEN",
        "JWT_SECRET_KEY",
        "ENVIRONMENT",
        "LOG_LEVEL",
        "WORKERS",
    ]:
        assert setting in environment
    assert app["image"] == "alphavelocity:local"
    # only nginx is published; the app trusts forwarding headers from nginx's network only
    assert "ports" not in app and "ports" not in postgres and "ports" not in redis
    nginx = services["nginx"]
    assert "profiles" not in nginx
    assert nginx["ports"] == ["0.0.0.0:80:80/tcp"]  # docker-compose v1's rendering
    assert nginx["volumes"] == [
        f"{REPO}/nginx/nginx.conf:/etc/nginx/nginx.conf:ro",
        f"{REPO}/nginx/resolver.sh:/docker-entrypoint.d/15-alphavelocity-resolver.sh:ro",
    ]
    assert (REPO / "nginx" / "resolver.sh").stat().st_mode & 0o111  # the entrypoint runs it
    assert set(app["networks"]) == {"backend", "front"} and set(nginx["networks"]) == {"front"}
    assert set(postgres["networks"]) == set(redis["networks"]) == {"backend"}
    subnet = cfg["networks"]["front"]["ipam"]["config"][0]["subnet"]
    assert environment["TRUSTED_PROXIES"] == subnet == "172.30.1.0/28"
    # deploy.sh points the app at the released image through APP_IMAGE
    released = config(empty_env_file, {**COMPOSE_ENV, "APP_IMAGE": "acme/av@sha256:abc"})
    assert released["services"]["app"]["image"] == "acme/av@sha256:abc"


@pytest.mark.parametrize("missing", sorted(COMPOSE_ENV))
def test_compose_refuses_to_run_without_a_secret(missing: str, empty_env_file: str) -> None:
    env = {**COMPOSE_ENV, missing: ""}
    code, _, err = compose(empty_env_file, "config", "-q", env=env)
    assert code != 0
    assert f"set {missing} in .env" in err


def test_compose_file_matches_the_compose_schema() -> None:
    tool = require_tool("check-jsonschema", "pip install -r requirements-ci.txt")
    done = run([tool, "--builtin-schema", "vendor.compose-spec", "docker-compose.yml"])
    assert done.returncode == 0, done.stdout + done.stderr


def test_env_example_documents_every_setting() -> None:
    example = (REPO / ".env.example").read_text()
    keys = set(re.findall(r"^([A-Z_]+)=", example, re.M))
    settings = {
        "DATABASE_URL",
        "REDIS_URL",
        "DATA_PROVIDER",
        "ADMIN_TOKEN",
        "JWT_SECRET_KEY",
        "ENVIRONMENT",
        "LOG_LEVEL",
        "WORKERS",
    }
    compose_vars = set(re.findall(r"\$\{([A-Z_]+)", (REPO / "docker-compose.yml").read_text()))
    assert settings | compose_vars - {"BASE_IMAGE"} <= keys
    # the service reads it: the values must be accepted by its settings
    code = (
        "import os\n"
        "from backend.config import Settings\n"
        "for key in [k for k in os.environ if k.lower() in Settings.model_fields]:\n"
        "    del os.environ[key]\n"
        "s = Settings(_env_file='.env.example')\n"
        "print(s.environment, s.data_provider, s.workers)\n"
    )
    done = run([str(Path(__import__("sys").executable)), "-c", code])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["development", "yfinance", "1"]
