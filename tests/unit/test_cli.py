"""The command line: import-prices (both formats, atomic), refresh, migrate."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from backend import cli
from backend.config import get_settings
from backend.db.engine import make_engine
from backend.db.migrate import head_revision
from backend.market_data.store import PriceStore
from tests.support.fakes import FakeProvider

pytestmark = [pytest.mark.unit, pytest.mark.database]

runner = CliRunner()

LONG = """date,ticker,open,high,low,close,adj_close,volume,dividend,split
2021-01-04,AAA,10,11,9,10.5,10.4,1000,0,1
2021-01-05,AAA,10.5,12,10,11.5,11.4,1200,0,1
2021-01-04,BBB,20,21,19,20.5,20.4,500,0,1
"""


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PriceStore]:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("DATA_PROVIDER", "none")
    get_settings.cache_clear()
    yield PriceStore(make_engine(f"sqlite:///{tmp_path / 'cli.db'}"))
    get_settings.cache_clear()


def test_import_long_format_then_again_changes_nothing(db: PriceStore, tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(LONG)
    first = runner.invoke(cli.app, ["import-prices", str(path)])
    assert first.exit_code == 0, first.output
    assert "3 rows for 2 tickers; 3 new or changed, 0 unchanged" in first.output
    second = runner.invoke(cli.app, ["import-prices", str(path)])
    assert "0 new or changed, 3 unchanged" in second.output
    assert db.stats().bars == 3
    assert db.load_panel().securities.loc["AAA", "data_source"] == "csv:prices.csv"


def test_import_gzip_yahoo_format_with_ticker(db: PriceStore, tmp_path: Path) -> None:
    path = tmp_path / "aapl.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(
            "Date,Open,High,Low,Close,Adj Close,Volume\n"
            "2021-01-04,133.52,133.61,126.76,129.41,128.22,143301900\n"
            "2021-01-05,128.89,131.74,128.43,131.01,129.80,97664900\n"
        )
    result = runner.invoke(cli.app, ["import-prices", str(path), "--ticker", "aapl"])
    assert result.exit_code == 0, result.output
    panel = db.load_panel()
    assert panel.tickers == ["AAPL"]
    assert panel.close.iloc[-1, 0] == pytest.approx(129.80)


def test_bad_row_imports_nothing_and_names_the_line(db: PriceStore, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(LONG + "2021-01-06,AAA,1,1,1,1,-5,100,0,1\n")
    result = runner.invoke(cli.app, ["import-prices", str(path)])
    assert result.exit_code == 1
    assert "line 5" in result.output and "nothing was imported" in result.output
    assert db.stats().bars == 0


def test_import_rejects_a_malformed_ticker_option(db: PriceStore, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(LONG)
    result = runner.invoke(cli.app, ["import-prices", str(path), "--ticker", "bad$"])
    assert result.exit_code == 2 and "malformed" in result.output


def test_refresh_reports_updated_unchanged_failed(
    db: PriceStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(LONG)
    runner.invoke(cli.app, ["import-prices", str(path)])
    new = pd.DataFrame(
        [
            {
                "date": pd.Timestamp("2021-01-06").date(),
                "ticker": "AAA",
                "open": 11.0,
                "high": 12.0,
                "low": 10.0,
                "close": 11.8,
                "adj_close": 11.7,
                "volume": 900.0,
                "dividend": 0.0,
                "split": 1.0,
            }
        ]
    )
    monkeypatch.setattr(cli, "build_provider", lambda settings: FakeProvider(new))
    result = runner.invoke(cli.app, ["refresh", "--tickers", "AAA,BBB"])
    assert result.exit_code == 0, result.output
    assert "updated" in result.output
    assert "BBB: unknown symbol" in result.output
    assert db.last_bar_dates()["AAA"].isoformat() == "2021-01-06"
    assert db.stats().last_refresh_outcome == "updated 1, unchanged 0, failed 1"


def test_refresh_stops_asking_a_dead_provider(
    db: PriceStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(LONG)
    runner.invoke(cli.app, ["import-prices", str(path)])
    dead = FakeProvider(unavailable="connection refused")
    monkeypatch.setattr(cli, "build_provider", lambda settings: dead)
    result = runner.invoke(cli.app, ["refresh"])
    assert result.exit_code == 1
    assert len(dead.calls) == 1, "one failure of the provider itself is enough"
    assert "not attempted" in result.output


def test_refresh_without_provider_says_so(db: PriceStore) -> None:
    result = runner.invoke(cli.app, ["refresh"])
    assert result.exit_code == 2 and "DATA_PROVIDER=none" in result.output


def test_migrate_prints_the_revision(db: PriceStore) -> None:
    result = runner.invoke(cli.app, ["migrate"])
    assert result.exit_code == 0 and head_revision() in result.output
