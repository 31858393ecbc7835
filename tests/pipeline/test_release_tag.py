"""scripts/validate_release_tag.sh: only v<major>.<minor>.<patch> is a release tag."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipeline.conftest import SCRIPTS, run

pytestmark = pytest.mark.unit
SCRIPT = str(SCRIPTS / "validate_release_tag.sh")


@pytest.mark.parametrize("tag", ["v1.2.3", "v0.0.1", "v10.20.30", "refs/tags/v1.2.3"])
def test_valid_tags_pass_and_give_the_version(tag: str, tmp_path: Path) -> None:
    output = tmp_path / "github_output"
    result = run([SCRIPT, tag], env={"GITHUB_OUTPUT": str(output)})
    assert result.returncode == 0, result.stderr
    version = tag.removeprefix("refs/tags/").removeprefix("v")
    assert output.read_text().splitlines() == [f"tag=v{version}", f"version={version}"]


@pytest.mark.parametrize(
    "tag",
    ["v1.2", "1.2.3", "v1", "v1.2.3.4", "v1.2.3-rc1", "v01.2.3", "V1.2.3", "v1.2.x", " v1.2.3", ""],
)
def test_invalid_tags_fail(tag: str, tmp_path: Path) -> None:
    output = tmp_path / "github_output"
    result = run([SCRIPT, tag], env={"GITHUB_OUTPUT": str(output)})
    assert result.returncode == 1
    assert "expected v<major>.<minor>.<patch>" in result.stderr
    assert not output.exists()
