"""Remembered on-demand misses on the real Redis (TEST_REDIS_URL): shared by replicas, with their
TTL, and kept in-process (failing fast) when Redis cannot be reached."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import redis
from fastapi.testclient import TestClient

from backend.main import create_app
from backend.market_data.providers.csv_file import read_price_file
from backend.market_data.sample import SAMPLE_PRICES
from tests.api.test_cache_api import copy_sqlite
from tests.conftest import make_settings
from tests.support.fakes import FakeProvider
from tests.unit.cache.support import flush_test_db, redis_test_url

pytestmark = [pytest.mark.integration, pytest.mark.database]


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    url = redis_test_url()
    flush_test_db(url)
    yield url
    flush_test_db(url)


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return read_price_file(SAMPLE_PRICES).query("ticker == 'MSFT'").reset_index(drop=True)


def client(store_url: str, redis_url: str, prefix: str, provider: Any) -> TestClient:
    settings = make_settings(
        store_url,
        redis_url=redis_url,
        cache_key_prefix=prefix,
        on_demand_miss_ttl_seconds=120,
        redis_socket_timeout_seconds=0.2,
        redis_connect_timeout_seconds=0.2,
    )
    return TestClient(create_app(settings, provider=provider))


def test_a_miss_learned_by_one_replica_is_answered_by_another(
    sample_db_url: str, redis_url: str, bars: pd.DataFrame, tmp_path: Path
) -> None:
    prefix = f"avtest-{uuid.uuid4().hex[:8]}"
    one, two = FakeProvider(bars), FakeProvider(bars)
    url_one = copy_sqlite(sample_db_url, tmp_path / "one.db")
    url_two = copy_sqlite(sample_db_url, tmp_path / "two.db")
    with client(url_one, redis_url, prefix, one) as a, client(url_two, redis_url, prefix, two) as b:
        learned = a.get("/api/v1/momentum/NOPE")
        told = b.get("/api/v1/momentum/NOPE")
    assert learned.status_code == told.status_code == 404
    assert learned.json() == told.json()
    assert len(one.calls) == 1 and two.calls == []
    raw: Any = redis.Redis.from_url(redis_url)
    try:
        key = f"{prefix}:miss:fake:NOPE"
        assert raw.exists(key) and 0 < raw.ttl(key) <= 120
    finally:
        raw.close()


def test_with_redis_unreachable_misses_are_remembered_in_process(
    sample_db_url: str, bars: pd.DataFrame, tmp_path: Path
) -> None:
    provider = FakeProvider(bars)
    store_url = copy_sqlite(sample_db_url, tmp_path / "store.db")
    # Nothing listens on port 1: every Redis command fails at once.
    with client(store_url, "redis://127.0.0.1:1/0", "avtest-down", provider) as c:
        started = time.perf_counter()
        first = c.get("/api/v1/momentum/NOPE")
        second = c.get("/api/v1/momentum/NOPE")
        seconds = time.perf_counter() - started
    assert first.status_code == second.status_code == 404
    assert first.json() == second.json()
    assert len(provider.calls) == 1
    assert seconds < 5.0  # failing fast, not waiting on Redis
