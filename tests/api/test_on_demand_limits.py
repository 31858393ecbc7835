"""On-demand fetches cannot make the service slow: deadline, remembered misses, a bounded pool of
their own, single flight, a per-client rate limit, a per-batch cap, the warmup for admins only,
and other routes answering while 50 unknown-ticker requests wait on a slow provider."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

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
from tests.support.fakes import FakeProvider, SlowProvider

pytestmark = [pytest.mark.api, pytest.mark.database]

TOKEN = "on-demand-admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def sample_bars() -> pd.DataFrame:
    bars = read_price_file(SAMPLE_PRICES)
    return bars[bars["ticker"].isin(["AAPL", "MSFT", "SPY"])].reset_index(drop=True)


@pytest.fixture
def make_client(
    tmp_path_factory: pytest.TempPathFactory, sample_bars: pd.DataFrame
) -> Iterator[Callable[..., TestClient]]:
    """An app over AAPL and SPY (MSFT is left for the provider) with these settings."""
    clients: list[TestClient] = []

    def make(provider: Any, **overrides: Any) -> TestClient:
        url = f"sqlite:///{tmp_path_factory.mktemp('on-demand') / 'store.db'}"
        engine = make_engine(url)
        upgrade_to_head(engine)
        PriceStore(engine).upsert_bars(
            sample_bars[sample_bars["ticker"] != "MSFT"], source="sample"
        )
        engine.dispose()
        settings = make_settings(url, admin_token=TOKEN, **overrides)
        client = TestClient(create_app(settings, provider=provider))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    out = call()
    return out, time.perf_counter() - started


# --- remembered misses --------------------------------------------------------------------


def test_a_miss_is_remembered_and_repeated_without_asking_again(
    make_client: Callable[..., TestClient], sample_bars: pd.DataFrame
) -> None:
    provider = FakeProvider(sample_bars)
    client = make_client(provider)
    first = client.get("/api/v1/momentum/NOPE")
    second, seconds = timed(lambda: client.get("/api/v1/momentum/NOPE"))
    assert first.status_code == second.status_code == 404
    assert first.json() == second.json()
    details = second.json()["error"]["details"]
    assert details["reason"] == "unknown symbol"
    assert {"learned_at", "remembered_until"} <= set(details)
    assert provider.calls == [(("NOPE",), None, None)]
    assert seconds < 1.0  # not blocked: a lookup, no provider call
    # The breakdown and the history of the same ticker answer the same remembered miss.
    for url in ("/api/v1/momentum/NOPE/breakdown", "/api/v1/momentum/NOPE/history"):
        resp = client.get(url)
        assert resp.status_code == 404 and resp.json() == first.json()
    assert len(provider.calls) == 1


def test_an_unreachable_provider_is_remembered_for_every_ticker(
    make_client: Callable[..., TestClient],
) -> None:
    provider = FakeProvider(unavailable="connection refused")
    client = make_client(provider, on_demand_unavailable_ttl_seconds=30)
    first = client.get("/api/v1/momentum/MSFT").json()["error"]
    other = client.get("/api/v1/momentum/NOPE")
    assert other.status_code == 503
    err = other.json()["error"]
    assert err["code"] == "provider_unavailable" and err["message"] == first["message"]
    assert err["details"]["ticker"] == "NOPE"
    assert err["details"]["learned_at"] == first["details"]["learned_at"]
    assert err["details"]["remembered_until"] == first["details"]["remembered_until"]
    assert len(provider.calls) == 1
    assert client.get("/api/v1/momentum/AAPL").status_code == 200


# --- the deadline -------------------------------------------------------------------------


def test_a_request_waits_on_the_provider_at_most_the_deadline(
    make_client: Callable[..., TestClient], sample_bars: pd.DataFrame
) -> None:
    release = threading.Event()
    # A provider that does not keep to the deadline: the wait is bounded all the same.
    provider = SlowProvider(sample_bars, seconds=30.0, release=release, honour_deadline=False)
    client = make_client(provider, on_demand_deadline_seconds=0.5)
    try:
        resp, seconds = timed(lambda: client.get("/api/v1/momentum/MSFT"))
    finally:
        release.set()
    assert resp.status_code == 503, resp.text
    err = resp.json()["error"]
    assert err["code"] == "provider_unavailable"
    assert "deadline of 0.5 s" in err["details"]["reason"]
    assert seconds < 5.0  # the deadline (0.5 s), far from the provider's 30 s
    [told] = provider.started
    assert told is not None  # the provider was told the deadline too


# --- the pool: bounded, its own, shared by requests for one ticker -------------------------


def test_a_fetch_over_the_pool_capacity_is_refused_at_once(
    make_client: Callable[..., TestClient], sample_bars: pd.DataFrame
) -> None:
    release = threading.Event()
    provider = SlowProvider(sample_bars, seconds=30.0, release=release)
    client = make_client(
        provider, on_demand_workers=1, on_demand_max_pending=1, on_demand_deadline_seconds=20
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(client.get, "/api/v1/momentum/MSFT")
        deadline = time.monotonic() + 10
        while provider.in_flight == 0:
            assert time.monotonic() < deadline, "the first fetch never started"
            time.sleep(0.01)
        busy, seconds = timed(lambda: client.get("/api/v1/momentum/OTHER"))
        release.set()
        assert waiting.result(timeout=30).status_code == 200
    assert busy.status_code == 503
    err = busy.json()["error"]
    assert err["code"] == "provider_busy" and err["details"]["max_pending"] == 1
    assert seconds < 2.0
    # Busy is about this service, not the ticker: nothing remembered, it is asked next time.
    assert client.get("/api/v1/momentum/OTHER").json()["error"]["code"] == "not_found"


def test_concurrent_requests_for_one_ticker_share_one_fetch(
    make_client: Callable[..., TestClient], sample_bars: pd.DataFrame
) -> None:
    provider = SlowProvider(sample_bars, seconds=0.5)
    client = make_client(provider)
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _: client.get("/api/v1/momentum/MSFT"), range(12)))
    assert {a.status_code for a in answers} == {200}
    assert provider.calls == [(("MSFT",), None, None)]


# --- the rate limit -----------------------------------------------------------------------


def test_misses_are_rate_limited_per_client(
    make_client: Callable[..., TestClient], sample_bars: pd.DataFrame
) -> None:
    provider = FakeProvider(sample_bars)
    client = make_client(provider, rate_limit_on_demand="2/minute")
    assert client.get("/api/v1/momentum/NOPEA").status_code == 404
    assert client.get("/api/v1/momentum/NOPEB").status_code == 404
    limited = client.get("/api/v1/momentum/NOPEC")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert len(provider.calls) == 2
    # What costs the provider nothing is not counted: remembered misses, stored tickers.
    assert client.get("/api/v1/momentum/NOPEA").status_code == 404
    assert client.get("/api/v1/momentum/AAPL").status_code == 200
    # Another client has its own count.
    other = TestClient(client.app, client=("203.0.113.9", 50000))
    assert other.get("/api/v1/momentum/NOPEC").status_code == 404


# --- batches and the warmup ---------------------------------------------------------------


def test_a_batch_fetches_at_most_the_configured_number_of_unknown_tickers(
    make_client: Callable[..., TestClient], sample_bars: pd.DataFrame
) -> None:
    provider = FakeProvider(sample_bars)
    client = make_client(provider, on_demand_batch_max_fetches=2)
    tickers = ["AAPL", "NOPEA", "NOPEB", "NOPEC", "MSFT", "NOPEA"]
    body = client.post("/api/v1/momentum/batch", json={"tickers": tickers}).json()
    codes = [r["error"]["code"] if r["error"] else "ok" for r in body["results"]]
    assert codes == ["ok", "not_found", "not_found", "not_fetched", "not_fetched", "not_found"]
    assert sorted(c[0][0] for c in provider.calls) == ["NOPEA", "NOPEB"]
    err = body["results"][4]["error"]
    assert err["details"] == {
        "ticker": "MSFT",
        "provider": "fake",
        "reason": "batch fetch limit",
        "limit": 2,
    }
    assert "ON_DEMAND_BATCH_MAX_FETCHES" in err["message"]
    # Remembered misses use none of the next batch's fetches: MSFT is fetched now.
    again = client.post("/api/v1/momentum/batch", json={"tickers": tickers}).json()
    assert [r["score"] is not None for r in again["results"]] == [
        True,
        False,
        False,
        False,
        True,
        False,
    ]
    assert sorted(c[0][0] for c in provider.calls) == ["MSFT", "NOPEA", "NOPEB", "NOPEC"]


def test_warmup_is_for_admins_and_fetches_what_is_not_stored(
    make_client: Callable[..., TestClient], sample_bars: pd.DataFrame
) -> None:
    provider = FakeProvider(sample_bars)
    client = make_client(provider)
    anonymous = client.post("/api/v1/cache/warmup?tickers=MSFT,NOPE")
    assert anonymous.status_code == 401 and provider.calls == []
    body = client.post("/api/v1/cache/warmup?tickers=AAPL,MSFT,NOPE", headers=ADMIN).json()
    assert body["warmed"] == ["AAPL", "MSFT"]
    assert [(f["ticker"], f["error"]["code"]) for f in body["failed"]] == [("NOPE", "not_found")]
    assert client.get("/api/v1/momentum/MSFT").headers["x-cache"] == "hit"


# --- other routes keep answering ----------------------------------------------------------


def test_other_routes_answer_while_50_unknown_ticker_requests_wait_on_the_provider(
    make_client: Callable[..., TestClient], sample_bars: pd.DataFrame
) -> None:
    release = threading.Event()
    provider = SlowProvider(sample_bars, seconds=30.0, release=release)
    client = make_client(
        provider,
        on_demand_deadline_seconds=4.0,
        on_demand_workers=4,
        on_demand_max_pending=64,
        rate_limit_on_demand="1000/minute",
    )
    client.get("/api/v1/momentum/AAPL")  # warm: the score book and this answer
    routes = ["/api/v1/categories", "/health/live", "/api/v1/momentum/AAPL", "/api/v1/securities"]
    with ThreadPoolExecutor(max_workers=50) as pool:
        flood = [pool.submit(client.get, f"/api/v1/momentum/UNK{i}") for i in range(50)]
        fetcher = client.app.state.on_demand  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        # All 50 admitted: 4 in the provider's threads, 46 queued behind them.
        while fetcher.pending < 50 or provider.in_flight < 4:
            assert time.monotonic() < deadline, "the fetches never filled the pool"
            time.sleep(0.01)
        slowest = 0.0
        for _ in range(5):
            for url in routes:
                resp, seconds = timed(lambda: client.get(url))
                assert resp.status_code == 200, (url, resp.text)
                slowest = max(slowest, seconds)
        still_waiting = sum(not f.done() for f in flood)
        release.set()
        statuses = {f.result(timeout=30).status_code for f in flood}
    # Measured while at least some of the 50 were still waiting on the provider.
    assert still_waiting > 0
    # Normal latency is milliseconds; the flood waits up to 4 s. A wide bound: not blocked.
    assert slowest < 1.0, slowest
    assert statuses <= {404, 503}  # 503 past the deadline, 404 once the provider answered
    assert provider.most_in_flight <= 4
