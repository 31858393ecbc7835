"""The GitHub Actions workflows: actionlint and the workflow JSON schema, then what the CI/CD
document asks of them (triggers, jobs, services, secrets, tags, time-outs, caching).

Both linters are also run on a broken copy, to prove they are really checking.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.pipeline.conftest import REPO, require_tool, run

pytestmark = pytest.mark.unit
WORKFLOWS = REPO / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
DEPLOY = WORKFLOWS / "deploy.yml"
SECRETS = {
    "DOCKER_USERNAME",
    "DOCKER_PASSWORD",
    "STAGING_HOST",
    "STAGING_USER",
    "STAGING_SSH_KEY",
    "PRODUCTION_HOST",
    "PRODUCTION_USER",
    "PRODUCTION_SSH_KEY",
    "SLACK_WEBHOOK",
}


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    # YAML 1.1 reads the key `on` as True
    data["on"] = data.pop(True, data.get("on"))
    return data


def actionlint(folder: Path) -> subprocess.CompletedProcess[str]:
    tool = require_tool("actionlint", "pip install -r requirements-ci.txt")
    # actionlint runs shellcheck on `run:` scripts when it finds it on PATH
    require_tool("shellcheck", "pip install -r requirements-ci.txt")
    return run([tool, "-color=false"], cwd=folder)


def schema_check(*paths: Path) -> subprocess.CompletedProcess[str]:
    tool = require_tool("check-jsonschema", "pip install -r requirements-ci.txt")
    return run([tool, "--builtin-schema", "vendor.github-workflows", *map(str, paths)])


def test_actionlint_passes() -> None:
    done = actionlint(REPO)
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflow_schema_passes() -> None:
    done = schema_check(CI, DEPLOY)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout


def test_the_linters_catch_a_broken_workflow(tmp_path: Path) -> None:
    (tmp_path / ".github").mkdir()
    shutil.copytree(WORKFLOWS, tmp_path / ".github" / "workflows")
    run(["git", "init", "-q", str(tmp_path)])
    broken = tmp_path / ".github" / "workflows" / "ci.yml"
    text = CI.read_text()
    text = text.replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest", 1)
    text = text.replace("${{ env.PYTHON_VERSION }}", "${{ env.PYTHON_VERSION }", 1)
    broken.write_text(text)
    linted = actionlint(tmp_path)
    assert linted.returncode != 0
    assert "runs_on" in linted.stdout
    checked = schema_check(broken)
    assert checked.returncode != 0


def test_ci_triggers_jobs_and_timeouts() -> None:
    ci = load(CI)
    assert ci["on"]["push"]["branches"] == ["main", "develop"]
    assert ci["on"]["pull_request"]["branches"] == ["main", "develop"]
    jobs = ci["jobs"]
    assert set(jobs) == {"lint", "test", "api-tests", "security", "build-status"}
    for name, job in jobs.items():
        assert isinstance(job.get("timeout-minutes"), int), f"{name} has no timeout-minutes"
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/setup-python"):
                assert step["with"]["cache"] == "pip", f"{name}: setup-python without pip cache"
    lint_steps = " ".join(s.get("run", "") for s in jobs["lint"]["steps"])
    assert "make format-check" in lint_steps and "make lint" in lint_steps
    assert "make security" in " ".join(s.get("run", "") for s in jobs["security"]["steps"])
    status = jobs["build-status"]
    assert status["if"] == "always()"
    assert status["needs"] == ["lint", "test", "api-tests", "security"]
    assert "scripts/build_status.sh lint test api-tests security" in status["steps"][-1]["run"]


def test_ci_test_job_services_and_coverage() -> None:
    job = load(CI)["jobs"]["test"]
    services = job["services"]
    assert services["postgres"]["image"] == "postgres:13"
    assert services["redis"]["image"] == "redis:7"
    for service in services.values():
        assert "--health-cmd" in service["options"]
    assert job["env"]["TEST_DATABASE_URL"] == (
        "postgresql+psycopg2://postgres:postgres@localhost:5432/alphavelocity_test"
    )
    assert job["env"]["TEST_REDIS_URL"] == "redis://localhost:6379/15"
    assert services["postgres"]["env"]["POSTGRES_DB"] == "alphavelocity_test"
    assert "make test-cov" in " ".join(s.get("run", "") for s in job["steps"])
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^test-cov:.*\n(\t.*\n)*\t.*--cov-fail-under=\$\(COV_MIN\)", makefile, re.M)
    assert re.search(r"^COV_MIN \?= 85$", makefile, re.M)


def test_ci_api_tests_job_order() -> None:
    runs = [s.get("run", "") for s in load(CI)["jobs"]["api-tests"]["steps"]]
    joined = "\n".join(runs)
    order = [
        "make migrate",
        "uvicorn backend.main:app",
        "scripts/wait_for_http.sh http://127.0.0.1:8000/health/ready",
        "./test_all_endpoints.sh http://127.0.0.1:8000",
    ]
    positions = [joined.index(part) for part in order]
    assert positions == sorted(positions)


def test_deploy_triggers_secrets_and_jobs() -> None:
    deploy = load(DEPLOY)
    assert deploy["on"]["push"]["tags"] == ["v*.*.*"]
    choice = deploy["on"]["workflow_dispatch"]["inputs"]["environment"]
    assert choice["type"] == "choice" and choice["options"] == ["staging", "production"]
    jobs = deploy["jobs"]
    assert set(jobs) == {"validate", "build", "deploy-staging", "deploy-production", "rollback"}
    for name, job in jobs.items():
        assert isinstance(job.get("timeout-minutes"), int), f"{name} has no timeout-minutes"
    used = set(re.findall(r"secrets\.([A-Z_]+)", DEPLOY.read_text()))
    assert used == SECRETS
    assert "secrets." not in CI.read_text()
    assert jobs["deploy-staging"]["environment"]["name"] == "staging"
    assert jobs["deploy-production"]["environment"]["name"] == "production"
    assert "failure" in jobs["rollback"]["if"]
    validate = " ".join(s.get("run", "") for s in jobs["validate"]["steps"])
    assert 'scripts/validate_release_tag.sh "$GITHUB_REF_NAME"' in validate


def test_deploy_image_tags_and_cache() -> None:
    steps = {s.get("id"): s for s in load(DEPLOY)["jobs"]["build"]["steps"] if "id" in s}
    tags = steps["meta"]["with"]["tags"].split()
    assert "type=semver,pattern=v{{version}}" in tags
    assert "type=semver,pattern=v{{major}}.{{minor}}" in tags
    assert "type=semver,pattern=v{{major}}" in tags
    assert "type=raw,value=latest,enable={{is_default_branch}}" in tags
    assert any(t.startswith("type=sha,prefix={{branch}}-") for t in tags)
    push = steps["push"]["with"]
    assert push["cache-from"].startswith("type=registry,")
    assert push["cache-to"].startswith("type=registry,") and push["cache-to"].endswith("mode=max")


def test_deploy_jobs_run_the_server_steps_from_scripts() -> None:
    jobs = load(DEPLOY)["jobs"]
    for name in ("deploy-staging", "deploy-production"):
        runs = "\n".join(s.get("run", "") for s in jobs[name]["steps"])
        order = [
            "scripts/github_deployment.sh create",
            "scripts/remote_deploy.sh deploy",
            "scripts/remote_deploy.sh smoke",
            "scripts/github_deployment.sh status",
            "scripts/notify_slack.sh",
        ]
        positions = [runs.index(part) for part in order]
        assert positions == sorted(positions), name
        assert jobs[name]["permissions"]["deployments"] == "write"
        # rollback only where the server-side deploy was started in this run
        assert jobs[name]["outputs"]["attempted"] == "${{ steps.deploy.outputs.attempted }}"
        deploy_step = next(s for s in jobs[name]["steps"] if s.get("id") == "deploy")
        lines = deploy_step["run"].splitlines()
        assert lines[0] == 'echo "attempted=true" >> "$GITHUB_OUTPUT"'
        assert lines[1].startswith("scripts/remote_deploy.sh deploy ")
        assert f"needs.{name}.outputs.attempted == 'true'" in jobs["rollback"]["if"]
    assert "scripts/remote_deploy.sh rollback" in "\n".join(
        s.get("run", "") for s in jobs["rollback"]["steps"]
    )


def test_every_script_a_workflow_calls_exists_and_is_executable() -> None:
    text = CI.read_text() + DEPLOY.read_text()
    called = set(re.findall(r"(?:scripts/[\w.-]+\.sh|\./test_all_endpoints\.sh)", text))
    assert len(called) >= 8
    for script in called:
        path = REPO / script.removeprefix("./")
        assert path.is_file(), script
        assert path.stat().st_mode & 0o111, f"{script} is not executable"


def test_shell_scripts_pass_shellcheck() -> None:
    tool = require_tool("shellcheck", "pip install -r requirements-ci.txt")
    scripts = sorted(str(p.relative_to(REPO)) for p in (REPO / "scripts").glob("*.sh"))
    done = run([tool, "-x", *scripts, "test_all_endpoints.sh"])
    assert done.returncode == 0, done.stdout
