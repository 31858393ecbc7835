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
DEPLOY_TO = WORKFLOWS / "deploy-to.yml"
ROLLBACK = WORKFLOWS / "rollback.yml"
ALL = [CI, DEPLOY, DEPLOY_TO, ROLLBACK]
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
    done = schema_check(*ALL)
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
    # pre-commit on every file, with its hook environments cached
    assert "make pre-commit" in lint_steps
    cache = next(
        s for s in jobs["lint"]["steps"] if str(s.get("uses", "")).startswith("actions/cache")
    )
    assert cache["with"]["path"] == "~/.cache/pre-commit"
    assert "hashFiles('.pre-commit-config.yaml')" in cache["with"]["key"]
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
        "uvicorn backend.main:create_app --factory",
        "scripts/wait_for_http.sh http://127.0.0.1:8000/health/ready",
        "./test_all_endpoints.sh http://127.0.0.1:8000",
    ]
    positions = [joined.index(part) for part in order]
    assert positions == sorted(positions)


def test_deploy_triggers_secrets_and_jobs() -> None:
    deploy = load(DEPLOY)
    assert deploy["on"]["push"]["tags"] == ["v*.*.*"]
    assert deploy["on"]["push"]["branches"] == ["develop"]  # develop deploys to staging
    choice = deploy["on"]["workflow_dispatch"]["inputs"]["environment"]
    assert choice["type"] == "choice" and choice["options"] == ["staging", "production"]
    jobs = deploy["jobs"]
    assert set(jobs) == {"validate", "build", "deploy-staging", "deploy-production"}
    for name in ("validate", "build"):
        assert isinstance(jobs[name].get("timeout-minutes"), int), f"{name} has no timeout-minutes"
    text = "".join(path.read_text() for path in (DEPLOY, ROLLBACK))
    assert set(re.findall(r"secrets\.([A-Z_]+)", text)) == SECRETS
    assert "secrets." not in CI.read_text()
    # a tag reaches production only through staging; develop never does
    production = jobs["deploy-production"]
    assert "github.ref_type == 'tag'" in production["if"]
    assert "needs.deploy-staging.result == 'success'" in production["if"]
    for name, environment in (("deploy-staging", "staging"), ("deploy-production", "production")):
        job = jobs[name]
        assert job["uses"] == "./.github/workflows/deploy-to.yml"
        assert job["with"]["environment"] == environment
        assert job["with"]["digest"] == "${{ needs.build.outputs.digest }}"
        assert job["permissions"]["deployments"] == "write"
        prefix = environment.upper()
        assert job["secrets"]["host"] == f"${{{{ secrets.{prefix}_HOST }}}}"
        assert job["secrets"]["ssh_key"] == f"${{{{ secrets.{prefix}_SSH_KEY }}}}"


def test_validate_checks_the_tag_and_the_dependencies() -> None:
    steps = load(DEPLOY)["jobs"]["validate"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert 'scripts/validate_release_tag.sh "$GITHUB_REF_NAME"' in runs
    assert "python -m pip check" in runs
    audit = next(s for s in steps if "dependency_audit.sh" in s.get("run", ""))
    assert audit["env"]["AUDIT_REQUIRED"] == "1"


def test_deploy_image_tags_and_cache() -> None:
    steps = {s.get("id"): s for s in load(DEPLOY)["jobs"]["build"]["steps"] if "id" in s}
    tags = [line.strip() for line in steps["meta"]["with"]["tags"].splitlines()]
    assert "type=semver,pattern=v{{version}}" in tags
    assert "type=semver,pattern=v{{major}}.{{minor}}" in tags
    assert "type=semver,pattern=v{{major}}" in tags
    # a release tag is the latest image; every build also gets sha-<commit>
    assert "type=raw,value=latest,enable=${{ github.ref_type == 'tag' }}" in tags
    assert "type=sha,prefix=sha-" in tags
    assert any(t.startswith("type=sha,prefix={{branch}}-") for t in tags)
    push = steps["push"]["with"]
    assert push["cache-from"].startswith("type=registry,")
    assert push["cache-to"].startswith("type=registry,") and push["cache-to"].endswith("mode=max")


def test_one_deployment_per_environment_rolled_back_on_any_failure() -> None:
    workflow = load(DEPLOY_TO)
    assert set(workflow["on"]) == {"workflow_call"}
    job = workflow["jobs"]["deploy"]
    # serialised per environment (not per ref), shared with the manual rollback
    assert job["concurrency"] == {
        "group": "deploy-${{ inputs.environment }}",
        "cancel-in-progress": False,
    }
    assert load(ROLLBACK)["jobs"]["rollback"]["concurrency"] == job["concurrency"]
    assert job["environment"]["name"] == "${{ inputs.environment }}"
    assert job["permissions"]["deployments"] == "write"
    steps = job["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    order = [
        "scripts/github_deployment.sh create",
        "scripts/remote_deploy.sh deploy",
        "scripts/remote_deploy.sh smoke",
        "scripts/remote_deploy.sh rollback",
        "scripts/github_deployment.sh status",
        "scripts/notify_slack.sh",
    ]
    positions = [runs.index(part) for part in order]
    assert positions == sorted(positions)
    deploy_step = next(s for s in steps if s.get("id") == "deploy")
    lines = deploy_step["run"].splitlines()
    assert lines[0] == 'echo "attempted=true" >> "$GITHUB_OUTPUT"'
    assert lines[1].startswith("scripts/remote_deploy.sh deploy ")
    # the rollback runs in the same job, for a failure, a time-out or a cancellation, once the
    # server-side deploy had started; each step is bounded, and the job leaves room for it
    rollback = next(s for s in steps if s.get("id") == "rollback")
    assert rollback["if"] == (
        "(failure() || cancelled()) && steps.deploy.outputs.attempted == 'true'"
    )
    bounded = [
        s for s in steps if s.get("id") in {"deploy", "rollback"} or "smoke" in s.get("run", "")
    ]
    assert all(isinstance(s.get("timeout-minutes"), int) for s in bounded)
    assert job["timeout-minutes"] > sum(s["timeout-minutes"] for s in bounded)


def test_manual_rollback_workflow() -> None:
    workflow = load(ROLLBACK)
    inputs = workflow["on"]["workflow_dispatch"]["inputs"]
    assert inputs["environment"]["options"] == ["staging", "production"]
    assert inputs["restore_db"]["type"] == "boolean" and inputs["restore_db"]["default"] is False
    job = workflow["jobs"]["rollback"]
    assert job["environment"]["name"] == "${{ inputs.environment }}"
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert runs.index("scripts/remote_deploy.sh rollback") < runs.index(
        "scripts/remote_deploy.sh smoke"
    )


def test_every_script_a_workflow_calls_exists_and_is_executable() -> None:
    text = "".join(path.read_text() for path in ALL)
    called = set(re.findall(r"(?:scripts/[\w.-]+\.sh|\./test_all_endpoints\.sh)", text))
    assert len(called) >= 8
    for script in called:
        path = REPO / script.removeprefix("./")
        assert path.is_file(), script
        assert path.stat().st_mode & 0o111, f"{script} is not executable"


def test_shell_scripts_pass_shellcheck() -> None:
    tool = require_tool("shellcheck", "pip install -r requirements-ci.txt")
    scripts = sorted(str(p.relative_to(REPO)) for p in (REPO / "scripts").rglob("*.sh"))
    done = run([tool, "-x", *scripts, "test_all_endpoints.sh", "nginx/resolver.sh"])
    assert done.returncode == 0, done.stdout
