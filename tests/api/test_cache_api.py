"""The cache through the HTTP API: momentum answers cached on the data version, stats, warmup,
clear (admin), stampede protection. In-process backend here (Redis: tests/integration)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from backend.main import create_app
from backend.momentum.warmup import default_warmup_tickers
from tests.conftest import make_settings

pytestmark = [pytest.mark.api, pytest.mark.database]

TOKEN = "test-admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def copy_sqlite(source_url: str, target: Path) -> str:
    """A private copy of a SQLite store (the sample is shared by the whole session)."""
    src = sqlite3.connect(source_url.removeprefix("sqlite:///"))
    dst = sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()
    return f"sqlite:///{target}"


@pytest.fixture(scope="module")
def store_url(sample_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    return copy_sqlite(sample_db_url, tmp_path_factory.mktemp("cache-api") / "store.db")


@pytest.fixture(scope="module")
def client(store_url: str) -> Iterator[TestClient]:
    app = create_app(make_settings(store_url, admin_token=TOKEN, cache_ttl_seconds=600))
    with TestClient(app) as c:
        yield c


def stats(client: TestClient) -> dict:  # type: ignore[type-arg]
    resp = client.get("/api/v1/cache/stats")
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_stats_describe_the_in_process_backend(client: TestClient) -> None:
    body = stats(client)
    assert body["backend"] == "memory"
    assert body["reachable"] is True
    assert body["key_prefix"] == "alphavelocity"
    assert body["ttl_seconds"]["entries"] == 600
    assert body["model_version"] == "alphavelocity-v1"
    assert body["data_version"] >= 1
    assert {"keys", "hits", "misses", "hit_ratio", "memory_used_bytes"} <= set(body)


def test_a_score_is_computed_once_then_served_from_the_cache(client: TestClient) -> None:
    before = stats(client)
    url = "/api/v1/momentum/MSFT?as_of=2020-09-30"
    first = client.get(url)
    second = client.get(url)
    assert first.status_code == second.status_code == 200
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    assert first.json() == second.json()
    assert first.json()["as_of"] == "2020-09-30"
    assert first.headers["content-type"] == "application/json"
    after = stats(client)
    assert after["hits"] == before["hits"] + 1
    assert after["misses"] == before["misses"] + 1
    assert after["computations"] == before["computations"] + 1
    assert after["keys"] == before["keys"] + 1


def test_other_parameters_are_other_entries(client: TestClient) -> None:
    assert client.get("/api/v1/momentum/MSFT?as_of=2020-10-30").headers["x-cache"] == "miss"
    assert (
        client.get("/api/v1/momentum/MSFT?as_of=2020-10-30&universe=model-portfolio").headers[
            "x-cache"
        ]
        == "miss"
    )
    assert client.get("/api/v1/momentum/msft?as_of=2020-10-30").headers["x-cache"] == "hit"


def test_breakdown_history_and_top_are_cached_too(client: TestClient) -> None:
    for url in (
        "/api/v1/momentum/NVDA/breakdown?as_of=2020-12-31",
        "/api/v1/momentum/NVDA/history?start=2021-01-01&end=2021-02-01",
        "/api/v1/momentum/top?limit=5&as_of=2020-12-31",
    ):
        first, second = client.get(url), client.get(url)
        assert first.status_code == 200, first.text
        assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit"), url
        assert first.json() == second.json()


def test_errors_are_not_cached(client: TestClient) -> None:
    before = stats(client)["keys"]
    for _ in range(2):
        resp = client.get("/api/v1/momentum/NOSUCH")
        assert resp.status_code == 404
        assert resp.json()["error"]["code"] == "not_found"
    resp = client.get("/api/v1/momentum/AAPL?universe=nonsense")
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid_input"
    assert stats(client)["keys"] == before


def test_batch_reads_and_fills_the_per_ticker_entries(client: TestClient) -> None:
    body = {"tickers": ["JPM", "bad$", "XOM", "NOSUCH", "JPM"]}
    url = "/api/v1/momentum/batch?as_of=2021-03-31"
    first = client.post(url, json=body)
    second = client.post(url, json=body)
    assert first.status_code == second.status_code == 200
    # NOSUCH is not stored (and there is no provider): answered before the cache is asked.
    assert first.headers["x-cache"] == "hits=0 misses=3"
    assert second.headers["x-cache"] == "hits=3 misses=0"
    assert first.json() == second.json()
    out = first.json()
    assert (out["count"], out["succeeded"], out["failed"]) == (5, 3, 2)
    assert [r["ticker"] for r in out["results"]] == ["JPM", "bad$", "XOM", "NOSUCH", "JPM"]
    assert out["results"][1]["error"]["code"] == "invalid_input"
    assert out["results"][3]["error"]["code"] == "not_found"
    # The single-ticker route reads the same entry.
    single = client.get("/api/v1/momentum/XOM?as_of=2021-03-31")
    assert single.headers["x-cache"] == "hit"
    assert single.json() == out["results"][2]["score"]


def test_many_concurrent_requests_compute_once(client: TestClient) -> None:
    before = stats(client)["computations"]
    url = "/api/v1/momentum/KO?as_of=2020-04-30"
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda _: client.get(url), range(32)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1
    assert stats(client)["computations"] == before + 1


def test_new_prices_bump_the_data_version_and_are_never_answered_from_old_entries(
    client: TestClient,
) -> None:
    store = client.app.state.store  # type: ignore[attr-defined]
    old = client.get("/api/v1/momentum/AAPL").json()
    assert client.get("/api/v1/momentum/AAPL").headers["x-cache"] == "hit"
    version = stats(client)["data_version"]
    last = dt.date.fromisoformat(old["as_of"])
    new_day = last + dt.timedelta(days=1 if last.weekday() < 4 else 3)
    bar = {
        "date": new_day,
        "ticker": "AAPL",
        "open": 140.0,
        "high": 141.0,
        "low": 139.0,
        "close": 140.5,
        "adj_close": 140.5,
        "volume": 1.0e8,
        "dividend": 0.0,
        "split": 1.0,
    }
    store.upsert_bars(pd.DataFrame([bar]), source="test")
    fresh = client.get("/api/v1/momentum/AAPL")
    assert fresh.headers["x-cache"] == "miss"
    assert fresh.json()["as_of"] == new_day.isoformat()
    assert fresh.json()["current_price"] == pytest.approx(140.5)
    assert stats(client)["data_version"] == version + 1


def test_warmup_of_named_tickers(client: TestClient) -> None:
    resp = client.post("/api/v1/cache/warmup?tickers=ibm,CSCO,NOSUCH,ibm", headers=ADMIN)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["requested"] == 3
    assert body["warmed"] == ["IBM", "CSCO"]
    assert [f["ticker"] for f in body["failed"]] == ["NOSUCH"]
    assert body["failed"][0]["error"]["code"] == "not_found"
    assert client.get("/api/v1/momentum/IBM").headers["x-cache"] == "hit"


@pytest.mark.parametrize(
    "headers, status, code",
    [
        ({}, 401, "unauthorized"),
        ({"Authorization": "Bearer wrong-token-0123456789"}, 401, "unauthorized"),
    ],
)
def test_warmup_needs_the_admin_token(
    client: TestClient, headers: dict[str, str], status: int, code: str
) -> None:
    resp = client.post("/api/v1/cache/warmup?tickers=AAPL", headers=headers)
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code


def test_warmup_default_is_the_model_portfolio_and_benchmarks(client: TestClient) -> None:
    body = client.post("/api/v1/cache/warmup", headers=ADMIN).json()
    snapshot = client.app.state.store.categories.current()  # type: ignore[attr-defined]
    assert body["requested"] == len(default_warmup_tickers(snapshot))
    assert {"NVDA", "MSFT", "SPY"} <= set(body["warmed"])
    # Whatever the sample does not hold is a per-ticker failure, not an error of the call.
    assert len(body["warmed"]) + len(body["failed"]) == body["requested"]
    assert client.get("/api/v1/momentum/NVDA").headers["x-cache"] == "hit"


@pytest.mark.parametrize(
    "query, field",
    [("tickers=AAPL,bad$", "tickers"), ("tickers=", "tickers"), ("tickers=,,", "tickers")],
)
def test_warmup_refuses_bad_tickers(client: TestClient, query: str, field: str) -> None:
    resp = client.post(f"/api/v1/cache/warmup?{query}", headers=ADMIN)
    assert resp.status_code == 422
    err = resp.json()["error"]
    assert err["code"] == "invalid_input" and err["details"]["field"] == field


def test_warmup_refuses_more_than_500_tickers(client: TestClient) -> None:
    many = ",".join(f"T{i}" for i in range(501))
    resp = client.post(f"/api/v1/cache/warmup?tickers={many}", headers=ADMIN)
    assert resp.status_code == 422
    assert "at most 500" in resp.json()["error"]["message"]


def test_clear_needs_the_admin_token(client: TestClient) -> None:
    missing = client.delete("/api/v1/cache/clear")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = client.delete("/api/v1/cache/clear", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_clear_is_forbidden_when_no_admin_token_is_configured(
    sample_app_client: TestClient,
) -> None:
    resp = sample_app_client.delete(
        "/api/v1/cache/clear", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "forbidden"


def test_clear_refuses_a_bad_pattern(client: TestClient) -> None:
    resp = client.delete(
        "/api/v1/cache/clear",
        params={"pattern": "score *"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert resp.status_code == 422
    assert resp.json()["error"]["details"]["field"] == "pattern"


def test_clear_by_pattern_then_everything(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    client.get("/api/v1/momentum/PFE")
    client.get("/api/v1/momentum/MRK")
    resp = client.delete("/api/v1/cache/clear", params={"pattern": "score:*:PFE:*"}, headers=auth)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"pattern": "alphavelocity:score:*:PFE:*", "deleted": 1}
    assert client.get("/api/v1/momentum/PFE").headers["x-cache"] == "miss"
    assert client.get("/api/v1/momentum/MRK").headers["x-cache"] == "hit"
    everything = client.delete("/api/v1/cache/clear", headers=auth).json()
    assert everything["pattern"] == "alphavelocity:*" and everything["deleted"] >= 2
    assert stats(client)["keys"] == 0


def test_the_cache_in_front_of_the_router_answers_like_the_route(client: TestClient) -> None:
    url = "/api/v1/momentum/CVX?as_of=2021-02-26"
    computed = client.get(url)  # a miss: the route computes and stores
    assert computed.headers["x-cache"] == "miss"
    early = client.get(url)  # answered before routing
    # `model=` is a parameter only the route reads: the same entry, through the route.
    routed = client.get(url + "&model=alphavelocity-v1")
    assert early.headers["x-cache"] == routed.headers["x-cache"] == "hit"
    assert early.content == routed.content == computed.content
    assert early.headers["content-type"] == routed.headers["content-type"] == "application/json"
    assert early.headers["x-request-id"]
    metrics = client.get("/metrics").text
    assert 'route="/api/v1/momentum/{ticker}",status="200"' in metrics
