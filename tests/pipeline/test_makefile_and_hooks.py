"""The Makefile's pipeline targets, the pre-commit configuration and the secrets baseline."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.pipeline.conftest import REPO, require_tool, run

pytestmark = pytest.mark.unit
TARGETS = [
    "install",
    "install-dev",
    "setup",
    "format",
    "format-check",
    "lint",
    "test",
    "test-unit",
    "test-integration",
    "test-cov",
    "security",
    "ci",
    "run",
    "api-test",
    "migrate",
    "docker-up",
    "docker-down",
    "docker-logs",
    "docker-clean",
    "deploy-staging",
    "deploy-prod",
    "deploy-drill",
    "rollback",
    "pre-commit",
    "container-test",
    "help",
]


def make(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> tuple[int, str]:
    tool = require_tool("make")
    done = run([tool, "--no-print-directory", *args], cwd=cwd, env=env)
    return done.returncode, done.stdout + done.stderr


def test_help_lists_every_target_of_the_document() -> None:
    code, out = make("help")
    assert code == 0
    listed = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert set(TARGETS) <= listed


def test_ci_runs_the_checks_in_the_order_ci_does() -> None:
    text = (REPO / "Makefile").read_text()
    recipe = text.split("\nci:\n", 1)[1].split("\n\n", 1)[0]
    assert "for target in format-check lint pre-commit security test-cov; do" in recipe
    # dry run: each stage is a make invocation, stopping at the first failure
    code, out = make("-n", "ci")
    assert code == 0
    assert "|| exit 1" in out


def test_format_check_lint_and_security_run_the_documented_tools() -> None:
    code, out = make(
        "-n",
        "format-check",
        "lint",
        "security",
        "test-cov",
        "-o",
        ".venv/.ci-installed",
        "-o",
        ".venv/.dev-installed",
    )
    assert code == 0, out
    for command in [
        "black --check .",
        "isort --check-only .",
        "flake8",
        "mypy backend simple_db_migration.py",
        "lint-imports",
        "bandit -q -r backend simple_db_migration.py --severity-level medium",
        "scripts/dependency_audit.sh",
        "--cov-report=html",
        "--cov-fail-under=85",
    ]:
        assert command in out, command
    code, out = make(
        "-n",
        "pre-commit",
        "deploy-drill",
        "-o",
        ".venv/.ci-installed",
        "-o",
        ".venv/.runtime-installed",
    )
    assert code == 0, out
    for command in ["pre-commit run --all-files", "scripts/deploy_drill.sh"]:
        assert command in out, command


def test_setup_creates_env_from_the_example_once(tmp_path: Path) -> None:
    for name in [
        "Makefile",
        ".env.example",
        "requirements.txt",
        "requirements-dev.txt",
        "requirements-ci.txt",
    ]:
        shutil.copy(REPO / name, tmp_path / name)
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "_lib.sh", tmp_path / "scripts" / "_lib.sh")
    # the venv is installed already: do not reinstall it (-o), no .git here: no hook install
    venv = str(REPO / ".venv")
    args = ["setup", f"VENV={venv}", "-o", f"{venv}/.ci-installed"]
    code, out = make(*args, cwd=tmp_path)
    assert code == 0, out
    assert "created .env from .env.example" in out
    assert (tmp_path / ".env").read_text() == (REPO / ".env.example").read_text()
    (tmp_path / ".env").write_text("DATABASE_URL=postgresql+psycopg2://mine\n")
    code, out = make(*args, cwd=tmp_path)
    assert code == 0
    assert ".env exists: left as it is" in out
    assert (tmp_path / ".env").read_text() == "DATABASE_URL=postgresql+psycopg2://mine\n"


def test_docker_targets_need_a_compose_command(tmp_path: Path) -> None:
    code, out = make("docker-up", "COMPOSE=")
    assert code != 0
    assert "no compose command found" in out
    code, out = make("-n", "docker-up", "docker-down", "docker-logs", "docker-clean", "COMPOSE=dc")
    assert code == 0
    assert [line for line in out.splitlines() if line.startswith("dc ")] == [
        "dc up -d --build",
        "dc down",
        "dc logs -f --tail=200",
        "dc down -v --remove-orphans --rmi local",
    ]


def test_container_test_without_an_engine_says_it_skipped() -> None:
    no_engine = {"CONTAINER_ENGINES": "no-such-engine", "CONTAINER_ENGINE": ""}
    code, out = make("container-test", env=no_engine)
    assert code == 0
    assert "container test: SKIPPED - no Docker or Podman engine" in out
    code, out = make("container-test", env={**no_engine, "REQUIRE_ENGINE": "1"})
    assert code == 3 or "Error 3" in out
    assert "SKIPPED" in out


def pins(*files: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in files:
        for line in (REPO / name).read_text().splitlines():
            match = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)$", line.strip())
            if match:
                found[match.group(1).lower()] = match.group(2)
    return found


def hooks() -> dict[str, dict[str, object]]:
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    [repo] = config["repos"]
    assert repo["repo"] == "local"
    return {hook["id"]: hook for hook in repo["hooks"]}


def test_pre_commit_hooks_are_local_pinned_and_agree_with_the_requirements() -> None:
    found = hooks()
    assert list(found) == [
        "trailing-whitespace",
        "end-of-file-fixer",
        "check-yaml",
        "check-json",
        "black",
        "isort",
        "flake8",
        "import-linter",
        "mypy",
        "bandit",
        "detect-secrets",
    ]
    required = pins("requirements.txt", "requirements-dev.txt", "requirements-ci.txt")
    for hook_id, hook in found.items():
        assert hook["language"] == "python", hook_id
        deps = hook["additional_dependencies"]
        assert isinstance(deps, list) and deps, hook_id
        for dep in deps:
            name, _, version = str(dep).partition("==")
            assert version, f"{hook_id}: {dep} is not pinned"
            assert (
                required.get(name.lower()) == version
            ), f"{hook_id}: {dep} differs from requirements"
    runtime = pins("requirements.txt")
    mypy_hook_deps = found["mypy"]["additional_dependencies"]
    assert isinstance(mypy_hook_deps, list)
    mypy_deps = {str(d).split("==")[0].lower() for d in mypy_hook_deps}
    assert set(runtime) | {"mypy", "pandas-stubs"} == mypy_deps


def test_pre_commit_config_is_valid() -> None:
    tool = require_tool("pre-commit", "pip install -r requirements-ci.txt")
    done = run([tool, "validate-config", ".pre-commit-config.yaml"])
    assert done.returncode == 0, done.stdout + done.stderr


def test_detect_secrets_baseline_passes_and_a_new_secret_is_caught(tmp_path: Path) -> None:
    tool = require_tool("detect-secrets-hook", "pip install -r requirements-ci.txt")
    tracked = run(
        [
            "git",
            "ls-files",
            "--",
            ".github",
            "scripts",
            ".env.example",
            "Makefile",
            "docker-compose.yml",
            "Dockerfile",
            "test_all_endpoints.sh",
        ]
    )
    files = tracked.stdout.split()
    assert ".env.example" in files
    clean = run([tool, "--baseline", ".secrets.baseline", *files])
    assert clean.returncode == 0, clean.stdout + clean.stderr
    leaked = tmp_path / "settings.py"
    leaked.write_text('aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY7"\n')
    caught = run([tool, "--baseline", ".secrets.baseline", str(leaked)])
    assert caught.returncode != 0
