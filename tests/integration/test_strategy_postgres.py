"""The strategy backtest and the correlation over PostgreSQL: the stored dividends read back as
the file has them, and the same answers as over SQLite (TEST_DATABASE_URL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from backend.db.engine import make_engine
from backend.db.migrate import upgrade_to_head
from backend.main import create_app
from backend.market_data.providers.csv_file import read_price_file
from backend.market_data.sample import SAMPLE_PRICES
from backend.market_data.store import PriceStore
from tests.conftest import make_settings, wait_until_ready

pytestmark = [pytest.mark.integration, pytest.mark.database]

# Members of the model (FB stored, META in the categories) and the benchmark.
TICKERS = ["AAPL", "MSFT", "NVDA", "GOOGL", "AVGO", "DLR", "CCI", "FB", "SPY"]
QUERY = "/api/v1/research/strategy?cost_bps=10&min_trade=100&start=2019-09-03"


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    rows = read_price_file(SAMPLE_PRICES)
    return rows[rows["ticker"].isin(TICKERS)].reset_index(drop=True)


def _client(url: str, bars: pd.DataFrame) -> TestClient:
    engine = make_engine(url)
    upgrade_to_head(engine)
    PriceStore(engine).upsert_bars(bars, source="sample")
    engine.dispose()
    return TestClient(create_app(make_settings(url)))


@pytest.fixture(scope="module")
def sqlite_answer(bars: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('strategy-sqlite')) / 's.db'}"
    with _client(url, bars) as client:
        wait_until_ready(client)
        yield {
            "strategy": client.get(QUERY).json(),
            "correlation": client.get("/api/v1/portfolio/correlation").json(),
        }


def test_dividends_read_back_from_postgres(pg_url: str, bars: pd.DataFrame) -> None:
    engine = make_engine(pg_url)
    upgrade_to_head(engine)
    store = PriceStore(engine)
    store.upsert_bars(bars, source="sample")
    got = store.dividends(["AAPL", "MSFT", "SPY"])
    expected = bars[bars["ticker"].isin(["AAPL", "MSFT", "SPY"]) & (bars["dividend"] > 0)]
    expected = expected.sort_values(["date", "ticker"])
    assert len(got) == len(expected) > 10
    assert list(got["ticker"]) == list(expected["ticker"])
    assert list(got["date"].dt.date) == list(expected["date"])
    assert got["dividend"].tolist() == pytest.approx(expected["dividend"].tolist())
    assert store.dividends([]).empty
    engine.dispose()


def test_the_same_answers_as_sqlite(pg_url: str, bars: pd.DataFrame, sqlite_answer: dict) -> None:
    with _client(pg_url, bars) as client:
        wait_until_ready(client)
        strategy = client.get(QUERY)
        assert strategy.status_code == 200, strategy.text
        body = strategy.json()
        assert body["dividends_received"] > 0
        assert body["rebalances"] == sqlite_answer["strategy"]["rebalances"]
        mine, other = body["series"], sqlite_answer["strategy"]["series"]
        assert [p["date"] for p in mine] == [p["date"] for p in other]
        assert [p["value"] for p in mine] == pytest.approx([p["value"] for p in other])
        corr = client.get("/api/v1/portfolio/correlation").json()
        assert corr["tickers"] == sqlite_answer["correlation"]["tickers"]
        assert corr["matrix"] == sqlite_answer["correlation"]["matrix"]
