"""A ticker the store does not hold: asked of the live provider once, then stored and scored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from backend.db.engine import make_engine
from backend.db.migrate import upgrade_to_head
from backend.main import create_app
from backend.market_data.providers.csv_file import read_price_file
from backend.market_data.sample import SAMPLE_PRICES
from backend.market_data.store import PriceStore
from tests.conftest import make_settings
from tests.support.fakes import FakeProvider

pytestmark = [pytest.mark.api, pytest.mark.database]


@pytest.fixture(scope="module")
def sample_bars() -> pd.DataFrame:
    bars = read_price_file(SAMPLE_PRICES)
    return bars[bars["ticker"].isin(["AAPL", "MSFT", "SPY"])].reset_index(drop=True)


def client_with(url: str, bars: pd.DataFrame, provider: FakeProvider) -> TestClient:
    engine = make_engine(url)
    upgrade_to_head(engine)
    PriceStore(engine).upsert_bars(bars[bars["ticker"] != "MSFT"], source="sample")
    engine.dispose()
    return TestClient(create_app(make_settings(url), provider=provider))


@pytest.fixture
def fetching(
    empty_db_url: str, sample_bars: pd.DataFrame
) -> Iterator[tuple[TestClient, FakeProvider]]:
    provider = FakeProvider(sample_bars)
    with client_with(empty_db_url, sample_bars, provider) as client:
        yield client, provider


def test_missing_ticker_is_fetched_stored_and_scored(
    fetching: tuple[TestClient, FakeProvider],
) -> None:
    client, provider = fetching
    body = client.get("/api/v1/momentum/MSFT").json()
    assert body["ticker"] == "MSFT" and body["data_source"] == "fake"
    assert body["as_of"] == "2021-04-21"
    assert provider.calls == [(("MSFT",), None, None)]
    again = client.get("/api/v1/momentum/MSFT?universe=all&as_of=2021-04-20").json()
    assert again["as_of"] == "2021-04-20"
    assert len(provider.calls) == 1, "stored now: the provider is not asked again"


def test_ticker_the_provider_does_not_know_is_404(
    fetching: tuple[TestClient, FakeProvider],
) -> None:
    client, _ = fetching
    resp = client.get("/api/v1/momentum/NOPE")
    assert resp.status_code == 404
    err = resp.json()["error"]
    learned = err["details"].pop("learned_at")
    until = err["details"].pop("remembered_until")
    assert err["details"] == {"ticker": "NOPE", "provider": "fake", "reason": "unknown symbol"}
    # Remembered for ON_DEMAND_MISS_TTL_SECONDS (an hour by default).
    span = dt.datetime.fromisoformat(until) - dt.datetime.fromisoformat(learned)
    assert span == dt.timedelta(hours=1)


def test_unreachable_provider_is_503_naming_it(
    empty_db_url: str, sample_bars: pd.DataFrame
) -> None:
    dead = FakeProvider(unavailable="connection refused")
    with client_with(empty_db_url, sample_bars, dead) as client:
        resp = client.get("/api/v1/momentum/MSFT")
        assert resp.status_code == 503
        err = resp.json()["error"]
        assert err["code"] == "provider_unavailable"
        assert {k: err["details"][k] for k in ("provider", "reason", "ticker")} == {
            "provider": "fake",
            "reason": "connection refused",
            "ticker": "MSFT",
        }
        # Stored tickers are still served.
        assert client.get("/api/v1/momentum/AAPL").status_code == 200


def test_batch_fetches_a_missing_ticker_among_stored_ones(
    fetching: tuple[TestClient, FakeProvider],
) -> None:
    client, _ = fetching
    body = client.post("/api/v1/momentum/batch", json={"tickers": ["AAPL", "MSFT", "NOPE"]}).json()
    assert [
        r["score"]["ticker"] if r["score"] else r["error"]["code"] for r in body["results"]
    ] == [
        "AAPL",
        "MSFT",
        "not_found",
    ]
