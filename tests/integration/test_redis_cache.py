"""The service on the real Redis (TEST_REDIS_URL, a logical database these tests flush):
answers stored under the service's prefix with their TTL, shared by replicas, multi-get for
batches, stats from Redis, clear limited to the prefix."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from backend.main import create_app
from tests.api.test_cache_api import copy_sqlite
from tests.conftest import make_settings
from tests.unit.cache.support import flush_test_db, redis_test_url

pytestmark = [pytest.mark.integration, pytest.mark.database]

TOKEN = "integration-admin-token-0123456789"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    url = redis_test_url()
    flush_test_db(url)
    yield url
    flush_test_db(url)


@pytest.fixture(scope="module")
def prefix() -> str:
    return f"avtest-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def raw(redis_url: str) -> Iterator[Any]:
    client: Any = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def store_url(sample_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    return copy_sqlite(sample_db_url, tmp_path_factory.mktemp("redis-int") / "store.db")


def app_client(store_url: str, redis_url: str, prefix: str) -> TestClient:
    settings = make_settings(
        store_url,
        redis_url=redis_url,
        cache_key_prefix=prefix,
        cache_ttl_seconds=900,
        admin_token=TOKEN,
    )
    return TestClient(create_app(settings))


@pytest.fixture(scope="module")
def replicas(
    store_url: str, redis_url: str, prefix: str
) -> Iterator[tuple[TestClient, TestClient]]:
    """Two instances of the service on one store and one Redis."""
    with (
        app_client(store_url, redis_url, prefix) as a,
        app_client(store_url, redis_url, prefix) as b,
    ):
        yield a, b


def test_an_answer_is_stored_in_redis_under_the_prefix_with_its_ttl(
    replicas: tuple[TestClient, TestClient], raw: Any, prefix: str
) -> None:
    a, _ = replicas
    first = a.get("/api/v1/momentum/AAPL")
    assert first.status_code == 200 and first.headers["x-cache"] == "miss"
    keys = [k.decode() for k in raw.scan_iter(match=f"{prefix}:score:*:AAPL:latest:all")]
    assert len(keys) == 1
    key = keys[0]
    tag_and_version = key.split(":")[2:4]
    assert tag_and_version[0].startswith("alphavelocity-v1-w0.5-0.35-0.15")
    assert tag_and_version[1] == f"d{a.get('/api/v1/cache/stats').json()['data_version']}"
    assert 0 < raw.ttl(key) <= 900
    assert raw.get(key) == first.content
    assert a.get("/api/v1/momentum/AAPL").headers["x-cache"] == "hit"


def test_replicas_share_the_cache(replicas: tuple[TestClient, TestClient]) -> None:
    a, b = replicas
    assert a.get("/api/v1/momentum/GOOGL?as_of=2021-01-29").headers["x-cache"] == "miss"
    from_b = b.get("/api/v1/momentum/GOOGL?as_of=2021-01-29")
    assert from_b.headers["x-cache"] == "hit"
    assert from_b.content == a.get("/api/v1/momentum/GOOGL?as_of=2021-01-29").content


def test_batch_uses_one_multi_get_and_fills_redis(
    replicas: tuple[TestClient, TestClient], raw: Any, prefix: str
) -> None:
    a, b = replicas
    tickers = ["MSFT", "AMZN", "NVDA", "JPM", "XOM"]
    first = a.post("/api/v1/momentum/batch", json={"tickers": tickers})
    assert first.headers["x-cache"] == "hits=0 misses=5"
    second = b.post("/api/v1/momentum/batch", json={"tickers": tickers})
    assert second.headers["x-cache"] == "hits=5 misses=0"
    assert first.json() == second.json()
    for t in tickers:
        assert len(list(raw.scan_iter(match=f"{prefix}:score:*:{t}:latest:all"))) == 1


def test_stats_come_from_redis(
    replicas: tuple[TestClient, TestClient], raw: Any, prefix: str
) -> None:
    a, _ = replicas
    a.get("/api/v1/momentum/AAPL")
    stats = a.get("/api/v1/cache/stats").json()
    assert stats["backend"] == "redis" and stats["reachable"] is True
    assert stats["keys"] == len(list(raw.scan_iter(match=f"{prefix}:*")))
    assert stats["memory_used_bytes"] > 0
    assert stats["details"]["redis_version"]
    assert stats["details"]["used_memory_human"]
    assert stats["hits"] >= 1 and stats["hit_ratio"] is not None
    assert stats["details"]["pipelined_reads"] >= 1


def test_clear_deletes_only_this_services_keys(
    replicas: tuple[TestClient, TestClient], raw: Any, prefix: str
) -> None:
    a, _ = replicas
    raw.set(f"{prefix}-neighbour:score:x", b"keep", ex=60)
    raw.set("someone-else", b"keep", ex=60)
    a.get("/api/v1/momentum/AAPL")
    mine = len(list(raw.scan_iter(match=f"{prefix}:*")))
    assert mine >= 1
    resp = a.delete("/api/v1/cache/clear", headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"pattern": f"{prefix}:*", "deleted": mine}
    assert list(raw.scan_iter(match=f"{prefix}:*")) == []
    assert raw.get(f"{prefix}-neighbour:score:x") == b"keep"
    assert raw.get("someone-else") == b"keep"


def test_a_write_through_one_replica_is_seen_fresh_by_the_other(
    replicas: tuple[TestClient, TestClient],
) -> None:
    import datetime as dt

    import pandas as pd

    a, b = replicas
    old = b.get("/api/v1/momentum/KO").json()
    assert b.get("/api/v1/momentum/KO").headers["x-cache"] == "hit"
    last = dt.date.fromisoformat(old["as_of"])
    day = last + dt.timedelta(days=1 if last.weekday() < 4 else 3)
    bar = {
        "date": day,
        "ticker": "KO",
        "open": 60.0,
        "high": 60.0,
        "low": 60.0,
        "close": 60.0,
        "adj_close": 60.0,
        "volume": 1.0e7,
        "dividend": 0.0,
        "split": 1.0,
    }
    a.app.state.store.upsert_bars(pd.DataFrame([bar]), source="test")  # type: ignore[attr-defined]
    fresh = b.get("/api/v1/momentum/KO")
    assert fresh.headers["x-cache"] == "miss"
    assert fresh.json()["as_of"] == day.isoformat()
