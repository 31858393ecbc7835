"""scripts/build_status.sh: the CI build-status job fails when any required job did not succeed."""

from __future__ import annotations

import json

import pytest

from tests.pipeline.conftest import SCRIPTS, require_tool, run

pytestmark = pytest.mark.unit
JOBS = ["lint", "test", "api-tests", "security"]


def status(results: dict[str, str]) -> tuple[int, str]:
    require_tool("jq")
    needs = {job: {"result": result, "outputs": {}} for job, result in results.items()}
    done = run([str(SCRIPTS / "build_status.sh"), *JOBS], env={"NEEDS_JSON": json.dumps(needs)})
    return done.returncode, done.stdout + done.stderr


def test_all_succeeded_passes() -> None:
    code, out = status(dict.fromkeys(JOBS, "success"))
    assert code == 0
    assert "PASSED" in out
    for job in JOBS:
        assert f"{job}" in out


@pytest.mark.parametrize("bad", ["failure", "cancelled", "skipped"])
@pytest.mark.parametrize("job", JOBS)
def test_any_job_not_succeeding_fails(job: str, bad: str) -> None:
    results = dict.fromkeys(JOBS, "success")
    results[job] = bad
    code, out = status(results)
    assert code == 1
    assert "FAILED" in out


def test_a_missing_job_fails() -> None:
    code, out = status({"lint": "success", "test": "success", "security": "success"})
    assert code == 1
    assert "missing" in out
