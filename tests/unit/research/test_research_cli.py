"""python -m backend.cli backtest over the sample store."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from backend import cli
from backend.config import get_settings

pytestmark = [pytest.mark.unit, pytest.mark.database]

runner = CliRunner()


@pytest.fixture
def sample_env(sample_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", sample_db_url)
    monkeypatch.setenv("DATA_PROVIDER", "none")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_backtest_prints_the_statistics(sample_env: None) -> None:
    result = runner.invoke(cli.app, ["backtest", "--model", "jt-12-1", "--cost-bps", "10"])
    assert result.exit_code == 0, result.output
    assert "jt-12-1 (jt-12-1/v1)" in result.output
    for text in ("IC mean", "spread t-stat", "after costs", "survivorship"):
        assert text in result.output


def test_backtest_json(sample_env: None) -> None:
    result = runner.invoke(
        cli.app, ["backtest", "--model", "rs-rating", "--rebalance", "quarterly", "--json"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output[result.output.index("{") :])
    assert body["model"] == "rs-rating" and body["rebalance"] == "quarterly"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "carhart"], "known models: alphavelocity-v1, jt-12-1"),
        (["--start", "2021-13-01"], "--start '2021-13-01' is not a date"),
        (["--quantiles", "1"], "quantiles 1 is invalid"),
    ],
)
def test_backtest_rejects_bad_input(sample_env: None, args: list[str], message: str) -> None:
    result = runner.invoke(cli.app, ["backtest", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
