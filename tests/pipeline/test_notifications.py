"""scripts/notify_slack.sh and scripts/github_deployment.sh against a local HTTP server."""

from __future__ import annotations

import pytest

from tests.pipeline.conftest import SCRIPTS, FakeHTTP, require_tool, run

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _tools() -> None:
    require_tool("jq")
    require_tool("curl")


def test_slack_posts_the_message_as_json(fake_http: FakeHTTP) -> None:
    fake_http.routes[("POST", "/hook")] = (200, {"ok": True})
    done = run(
        [str(SCRIPTS / "notify_slack.sh"), "failure", 'v1.2.3 "quoted" to production'],
        env={"SLACK_WEBHOOK": f"{fake_http.url}/hook", "GITHUB_RUN_ID": "77"},
    )
    assert done.returncode == 0, done.stderr
    [request] = fake_http.requests
    payload = request.json()
    assert isinstance(payload, dict)
    assert payload["status"] == "failure"
    assert payload["text"].startswith(':x: AlphaVelocity failure: v1.2.3 "quoted" to production')
    assert "/actions/runs/77" in payload["text"]


def test_slack_without_webhook_says_it_skipped() -> None:
    done = run([str(SCRIPTS / "notify_slack.sh"), "success", "x"], env={"SLACK_WEBHOOK": ""})
    assert done.returncode == 0
    assert "Slack notification skipped: SLACK_WEBHOOK is not set" in done.stdout


def test_slack_failure_is_a_visible_warning(fake_http: FakeHTTP) -> None:
    done = run(
        [str(SCRIPTS / "notify_slack.sh"), "success", "x"],
        env={"SLACK_WEBHOOK": f"{fake_http.url}/nowhere"},
    )
    assert done.returncode == 0
    assert "::warning::Slack notification FAILED" in done.stdout


def deployment_env(fake_http: FakeHTTP) -> dict[str, str]:
    return {
        "GITHUB_API_URL": fake_http.url,
        "GITHUB_REPOSITORY": "acme/alphavelocity",
        "GITHUB_TOKEN": "t0ken",
        "GITHUB_RUN_ID": "99",
        "GITHUB_SERVER_URL": "https://github.example",
    }


def test_create_deployment_then_report_status(fake_http: FakeHTTP, tmp_path: object) -> None:
    fake_http.routes[("POST", "/repos/acme/alphavelocity/deployments")] = (201, {"id": 4242})
    fake_http.routes[("POST", "/repos/acme/alphavelocity/deployments/4242/statuses")] = (201, {})
    output = f"{tmp_path}/out"
    env = {**deployment_env(fake_http), "GITHUB_OUTPUT": output}
    created = run(
        [str(SCRIPTS / "github_deployment.sh"), "create", "production", "abc123"], env=env
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "4242"
    assert open(output).read() == "deployment_id=4242\n"
    create = fake_http.requests[0]
    assert create.headers["Authorization"] == "Bearer t0ken"
    assert create.json() == {
        "ref": "abc123",
        "environment": "production",
        "auto_merge": False,
        "required_contexts": [],
        "production_environment": True,
        "description": "AlphaVelocity abc123 to production",
    }

    reported = run(
        [str(SCRIPTS / "github_deployment.sh"), "status", "4242", "success", "https://av.example"],
        env=env,
    )
    assert reported.returncode == 0, reported.stderr
    assert fake_http.requests[1].json() == {
        "state": "success",
        "auto_inactive": True,
        "log_url": "https://github.example/acme/alphavelocity/actions/runs/99",
        "environment_url": "https://av.example",
    }


def test_deployment_errors_are_not_swallowed(fake_http: FakeHTTP) -> None:
    env = deployment_env(fake_http)
    refused = run([str(SCRIPTS / "github_deployment.sh"), "create", "staging", "abc"], env=env)
    assert refused.returncode != 0  # the fake answers 404
    bad_state = run([str(SCRIPTS / "github_deployment.sh"), "status", "1", "done"], env=env)
    assert bad_state.returncode == 1
    assert "unknown deployment state" in bad_state.stderr
    assert fake_http.requests[-1].path.endswith("/deployments")  # no status request was sent
