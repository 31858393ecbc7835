"""One score request reads the store's data version once (through the one reader, the cache's
gate) and the cache no more than it must: on a hit one lookup; on a miss the lookup and the
in-flight re-check that keeps concurrent misses from computing twice."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.main import create_app
from tests.api.test_cache_api import copy_sqlite
from tests.conftest import make_settings

pytestmark = [pytest.mark.api, pytest.mark.database]


@dataclass
class Reads:
    """Counts, since the last `reset`, of data-version reads (the cache's gate, and the store's
    own query, which a request must not reach) and of cache-backend lookups."""

    app: Any
    store_versions: int = 0
    gets: list[str] = field(default_factory=list)
    multi_gets: int = 0
    _gate_start: int = 0

    @property
    def gate_versions(self) -> int:
        return int(self.app.state.cache.versions.reads) - self._gate_start

    def reset(self) -> None:
        self.store_versions, self.multi_gets, self.gets = 0, 0, []
        self._gate_start = int(self.app.state.cache.versions.reads)

    def counts(self) -> tuple[int, int, int, int]:
        return self.gate_versions, self.store_versions, len(self.gets), self.multi_gets


@pytest.fixture(scope="module")
def spied(
    sample_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, Reads]]:
    url = copy_sqlite(sample_db_url, tmp_path_factory.mktemp("reads") / "store.db")
    app = create_app(make_settings(url))
    reads = Reads(app)
    store, backend = app.state.store, app.state.cache.backend
    store_version, get, get_many = store.data_version, backend.get, backend.get_many

    def data_version() -> int:
        reads.store_versions += 1
        return int(store_version())

    async def spy_get(key: str) -> bytes | None:
        reads.gets.append(key)
        value: bytes | None = await get(key)
        return value

    async def spy_get_many(keys: list[str]) -> list[bytes | None]:
        reads.multi_gets += 1
        values: list[bytes | None] = await get_many(keys)
        return values

    store.data_version = data_version
    backend.get, backend.get_many = spy_get, spy_get_many
    with TestClient(app) as client:
        yield client, reads


def _get(client: TestClient, reads: Reads, url: str) -> tuple[str, tuple[int, int, int, int]]:
    reads.reset()
    resp = client.get(url)
    assert resp.status_code == 200, resp.text
    return resp.headers["x-cache"], reads.counts()


def test_a_score_request_reads_the_version_once_through_the_cache_in_front(
    spied: tuple[TestClient, Reads],
) -> None:
    client, reads = spied
    url = "/api/v1/momentum/AAPL?as_of=2020-08-31"
    # A miss: the cache in front of the router reads the version and looks the key up; the
    # route reuses both and only re-checks the key inside its single flight.
    assert _get(client, reads, url) == ("miss", (1, 0, 2, 0))
    assert reads.gets[0] == reads.gets[1]
    assert ":d" in reads.gets[0] and ":AAPL:2020-08-31:all" in reads.gets[0]
    # A hit: one version read, one lookup, answered in front of the router.
    assert _get(client, reads, url) == ("hit", (1, 0, 1, 0))


def test_a_route_answer_reads_the_version_once(spied: tuple[TestClient, Reads]) -> None:
    client, reads = spied
    # `model=` is read by the route only: no lookup in front of it.
    url = "/api/v1/momentum/MSFT?as_of=2020-08-28&model=alphavelocity-v1"
    assert _get(client, reads, url) == ("miss", (1, 0, 2, 0))
    assert _get(client, reads, url) == ("hit", (1, 0, 1, 0))
    for url in (
        "/api/v1/momentum/MSFT/breakdown?as_of=2020-08-28",
        "/api/v1/momentum/MSFT/history?start=2020-08-01&end=2020-08-28",
        "/api/v1/momentum/top?limit=3&as_of=2020-08-28",
        "/api/v1/momentum/MSFT?as_of=2020-08-28&model=jt-12-1",
        "/api/v1/momentum/MSFT/history?start=2020-08-01&end=2020-08-28&model=rs-rating",
    ):
        assert _get(client, reads, url) == ("miss", (1, 0, 2, 0)), url
        assert _get(client, reads, url) == ("hit", (1, 0, 1, 0)), url


def test_a_batch_reads_the_version_once(spied: tuple[TestClient, Reads]) -> None:
    client, reads = spied
    reads.reset()
    resp = client.post("/api/v1/momentum/batch?as_of=2020-07-31", json={"tickers": ["AAPL", "V"]})
    assert resp.status_code == 200 and resp.headers["x-cache"] == "hits=0 misses=2"
    assert reads.counts() == (1, 0, 0, 1)
