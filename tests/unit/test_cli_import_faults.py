"""`import-prices` on malformed files: a clean error naming the line and the reason (exit 1,
nothing imported), never a traceback; a file in any line-ending style is imported whole."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backend import cli
from backend.config import get_settings
from backend.db.engine import make_engine
from backend.market_data.store import PriceStore

pytestmark = [pytest.mark.unit, pytest.mark.database]

runner = CliRunner()
HEADER = b"date,ticker,open,high,low,close,adj_close,volume,dividend,split"
ROW1 = b"2021-01-04,AAA,10,11,9,10.5,10.4,1000,0,1"
ROW2 = b"2021-01-05,AAA,10.5,12,10,11.5,11.4,1200,0,1"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PriceStore]:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("DATA_PROVIDER", "none")
    get_settings.cache_clear()
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    yield PriceStore(engine)
    engine.dispose()
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("nul.csv", HEADER + b"\n" + ROW1.replace(b"AAA", b"A\x00A") + b"\n", "line 2: a control"),
        ("long.csv", HEADER + b"\n" + ROW1 + b"," + b"9" * 200_000 + b"\n", "line 2: the line is"),
        (
            "latin1.csv",
            HEADER + b"\n" + ROW1.replace(b"AAA", b"\xc9") + b"\n",
            "line 2: the file is",
        ),
        ("cut.csv.gz", gzip.compress(HEADER + b"\n" + ROW1 + b"\n")[:-12], "gzip data is corrupt"),
        ("junk.csv", bytes(range(256)) * 4, "not UTF-8"),
        ("volume.csv", HEADER + b"\n" + ROW1.replace(b"1000", b"1e20") + b"\n", "line 2: column"),
    ],
)
def test_malformed_files_are_refused_with_the_line_and_nothing_imported(
    store: PriceStore, tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    result = runner.invoke(cli.app, ["import-prices", str(path)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert message in " ".join(result.output.split()), result.output
    assert "nothing was imported" in result.output
    assert store.is_empty()


@pytest.mark.parametrize("ending", [b"\r", b"\r\n", b"\n"])
def test_any_line_ending_imports_whole(store: PriceStore, tmp_path: Path, ending: bytes) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes(ending.join([HEADER, ROW1, ROW2]) + ending)
    result = runner.invoke(cli.app, ["import-prices", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 rows for 1 tickers" in result.output
    assert len(store.bars("AAA")) == 2
