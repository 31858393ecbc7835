"""scripts/dependency_audit.sh: passes, fails or says SKIPPED - never a clean result it did not get.

The outcomes are driven by a stand-in safety that answers as safety 3 does (exit 0, exit 64 with
a JSON report, exit 1 with a connection error); the real safety is run once with its database
unreachable (a proxy on a closed port), which is what happens on a machine without internet.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.pipeline.conftest import REPO, SCRIPTS, free_port, run

SCRIPT = str(SCRIPTS / "dependency_audit.sh")


def fake_safety(tmp_path: Path, code: int, stdout: str = "", stderr: str = "") -> dict[str, str]:
    (tmp_path / "out").write_text(stdout)
    (tmp_path / "err").write_text(stderr)
    tool = tmp_path / "safety"
    tool.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$@" > "{tmp_path}/args"\n'
        f'cat "{tmp_path}/out"; cat "{tmp_path}/err" >&2; exit {code}\n'
    )
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    return {"SAFETY": str(tool)}


REPORT_CLEAN = {"report_meta": {"packages_found": 42}, "vulnerabilities": []}
REPORT_VULNERABLE = {
    "report_meta": {"packages_found": 42},
    "vulnerabilities": [
        {
            "package_name": "jinja2",
            "analyzed_version": "2.10",
            "vulnerability_id": "39525",
            "CVE": "CVE-2019-10906",
            "advisory": "In Pallets Jinja before 2.10.1, str.format_map allows a sandbox escape.",
        }
    ],
}


@pytest.mark.unit
def test_clean_report_passes(tmp_path: Path) -> None:
    env = fake_safety(tmp_path, 0, "deprecation banner\n" + json.dumps(REPORT_CLEAN))
    done = run([SCRIPT, "requirements.txt"], env=env)
    assert done.returncode == 0, done.stderr
    assert "dependency audit: PASSED" in done.stdout
    assert "42 packages" in done.stdout
    assert (tmp_path / "args").read_text().split() == [
        "check",
        "--output",
        "json",
        "-r",
        "requirements.txt",
    ]


@pytest.mark.unit
def test_vulnerabilities_fail_and_are_listed(tmp_path: Path) -> None:
    env = fake_safety(tmp_path, 64, json.dumps(REPORT_VULNERABLE))
    done = run([SCRIPT], env=env)
    assert done.returncode == 1
    assert "dependency audit: FAILED" in done.stderr
    assert "jinja2 2.10: 39525 CVE-2019-10906" in done.stderr
    assert "PASSED" not in done.stdout + done.stderr
    assert (tmp_path / "args").read_text().split()[3:] == [
        "-r",
        "requirements.txt",
        "-r",
        "requirements-dev.txt",
        "-r",
        "requirements-ci.txt",
    ]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("code", "stderr"),
    [
        (1, "httpx.ConnectError: [Errno -2] Name or service not known"),
        (1, "safety.errors.NetworkConnectionError: Check your network connection"),
        (68, "Unable to fetch the vulnerability database"),
    ],
)
def test_unreachable_database_is_reported_as_skipped(
    tmp_path: Path, code: int, stderr: str
) -> None:
    env = fake_safety(tmp_path, code, "", stderr)
    done = run([SCRIPT], env=env)
    assert done.returncode == 0
    assert "dependency audit: SKIPPED" in done.stderr
    assert "NOT checked" in done.stderr
    assert "PASSED" not in done.stdout + done.stderr

    required = run([SCRIPT], env={**env, "AUDIT_REQUIRED": "1"})
    assert required.returncode == 3
    assert "dependency audit: SKIPPED" in required.stderr


@pytest.mark.unit
def test_other_safety_errors_fail(tmp_path: Path) -> None:
    env = fake_safety(tmp_path, 71, "", "Invalid requirement: 'foo==='")
    done = run([SCRIPT], env=env)
    assert done.returncode == 2
    assert "dependency audit: ERROR" in done.stderr


@pytest.mark.unit
def test_missing_requirements_file_is_an_error(tmp_path: Path) -> None:
    done = run([SCRIPT, "no-such-file.txt"], env=fake_safety(tmp_path, 0, "{}"))
    assert done.returncode == 2
    assert "no such requirements file" in done.stderr


@pytest.mark.integration
def test_real_safety_without_its_database_says_skipped() -> None:
    """The real safety, installed by the script into its own venv, with its database unreachable."""
    safety = REPO / ".venv" / "audit" / "bin" / "safety"
    if not safety.exists():  # first use: the script installs safety (needs PyPI)
        run([SCRIPT, "requirements.txt"], timeout=600)
    assert safety.exists(), "scripts/dependency_audit.sh did not install safety"
    closed = f"http://127.0.0.1:{free_port()}"
    env = {"HTTPS_PROXY": closed, "HTTP_PROXY": closed, "ALL_PROXY": closed, "NO_PROXY": ""}
    done = run([SCRIPT, "requirements.txt"], env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "dependency audit: SKIPPED - the safety vulnerability database could not be reached" in (
        done.stderr
    )
    assert "PASSED" not in done.stdout + done.stderr
