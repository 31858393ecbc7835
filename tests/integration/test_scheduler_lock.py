"""Two instances of the service against one Redis: exactly one performs each refresh; a holder
that dies stops blocking once its lock expires."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from backend.db.engine import make_engine
from backend.db.migrate import upgrade_to_head
from backend.main import create_app
from backend.market_data.store import PriceStore
from backend.scheduler import RefreshScheduler, RunReport
from tests.conftest import make_settings
from tests.unit.cache.support import flush_test_db, redis_test_url
from tests.unit.test_scheduler import ALL_BARS, LAST_STORED, SlowProvider, make_store

pytestmark = [pytest.mark.integration, pytest.mark.database]

SESSION = dt.date(2024, 7, 2)


@pytest.fixture
def redis_url() -> Iterator[str]:
    url = redis_test_url()
    flush_test_db(url)
    yield url
    flush_test_db(url)


@pytest.fixture
def replicas(
    tmp_path: Path, redis_url: str
) -> Iterator[tuple[TestClient, TestClient, SlowProvider, SlowProvider]]:
    store = make_store(tmp_path / "store.db")
    url = str(store.engine.url)
    store.engine.dispose()
    prefix = f"avlock-{uuid.uuid4().hex[:8]}"
    providers = (SlowProvider(ALL_BARS), SlowProvider(ALL_BARS))
    for p in providers:
        p.delay = 0.2  # three tickers: a refresh takes ~0.6 s, so the two runs overlap

    def app(provider: SlowProvider) -> TestClient:
        settings = make_settings(
            url,
            redis_url=redis_url,
            cache_key_prefix=prefix,
            refresh_lock_ttl_seconds=60,
            cache_warmup_tickers="AAA,BBB",
        )
        return TestClient(create_app(settings, provider=provider))

    with app(providers[0]) as a, app(providers[1]) as b:
        yield a, b, providers[0], providers[1]


def scheduler_of(client: TestClient) -> RefreshScheduler:
    scheduler: RefreshScheduler = client.app.state.scheduler  # type: ignore[attr-defined]
    return scheduler


def run_all_at_once(clients: list[TestClient], session: dt.date) -> list[RunReport]:
    """`run_once(session)` in every replica at the same moment (a barrier), as a forced
    refresh in each of them would."""
    barrier = threading.Barrier(len(clients))
    reports: dict[int, RunReport] = {}

    def run(i: int, client: TestClient) -> None:
        barrier.wait()
        assert client.portal is not None
        reports[i] = client.portal.call(scheduler_of(client).run_once, session)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return [reports[i] for i in range(len(clients))]


def run_both_at_once(a: TestClient, b: TestClient, session: dt.date) -> list[RunReport]:
    return run_all_at_once([a, b], session)


def test_two_replicas_start_one_refresh_one_runs_one_is_skipped(
    replicas: tuple[TestClient, TestClient, SlowProvider, SlowProvider],
) -> None:
    a, b, pa, pb = replicas
    reports = run_both_at_once(a, b, SESSION)
    assert sorted(r.outcome for r in reports) == ["ran", "skipped"]
    ran = next(r for r in reports if r.outcome == "ran")
    skipped = next(r for r in reports if r.outcome == "skipped")
    assert skipped.reason == "another replica holds the refresh lock"
    assert skipped.retry_in is not None and skipped.retry_in > 1
    assert ran.refresh == "updated 3, unchanged 0, failed 0"
    assert ran.warmed == 2
    # Exactly one replica asked the provider.
    assert sorted([len(pa.calls) > 0, len(pb.calls) > 0]) == [False, True]
    # The warmed scores are in the shared cache for the other replica too.
    other = b if pa.calls else a
    assert other.get("/api/v1/momentum/AAA").headers["x-cache"] == "hit"
    # Nobody repeats a finished session.
    again = run_both_at_once(a, b, SESSION)
    assert [(r.outcome, r.reason) for r in again] == [("skipped", "already refreshed")] * 2
    metrics = a.get("/metrics").text + b.get("/metrics").text
    assert 'alphavelocity_refresh_runs_total{outcome="ran"} 1.0' in metrics


def test_a_lock_left_by_a_dead_holder_expires(
    replicas: tuple[TestClient, TestClient, SlowProvider, SlowProvider], redis_url: str
) -> None:
    a, _, pa, _ = replicas
    scheduler = scheduler_of(a)
    lock: Any = scheduler.lock
    lock_key = f"{lock.prefix}:lock:refresh:{SESSION.isoformat()}"
    raw: Any = redis.Redis.from_url(redis_url)
    try:
        # A replica took the lock and died without releasing it.
        assert raw.set(lock_key, "dead-replica", nx=True, px=700)
        assert a.portal is not None
        blocked = a.portal.call(scheduler.run_once, SESSION)
        assert (blocked.outcome, blocked.reason) == (
            "skipped",
            "another replica holds the refresh lock",
        )
        assert blocked.retry_in is not None and blocked.retry_in <= 1.8
        assert pa.calls == []
        time.sleep(0.8)
        after = a.portal.call(scheduler.run_once, SESSION)
        assert after.outcome == "ran"
        assert raw.get(lock_key) is None  # released after the run
    finally:
        raw.close()


def test_only_the_holder_releases_the_lock(
    replicas: tuple[TestClient, TestClient, SlowProvider, SlowProvider], redis_url: str
) -> None:
    a, b, _, _ = replicas
    lock_a, lock_b = scheduler_of(a).lock, scheduler_of(b).lock
    assert a.portal is not None and b.portal is not None
    token = a.portal.call(lock_a.acquire, "manual", 30)
    assert token is not None
    assert b.portal.call(lock_b.acquire, "manual", 30) is None
    assert b.portal.call(lock_b.release, "manual", "not-the-token") is False
    assert b.portal.call(lock_b.remaining, "manual") is not None
    assert a.portal.call(lock_a.release, "manual", token) is True
    assert b.portal.call(lock_b.acquire, "manual", 30) is not None


def test_two_replicas_with_the_scheduler_on_refresh_a_missed_session_once(
    tmp_path: Path, redis_url: str
) -> None:
    store = make_store(tmp_path / "store.db")  # no refresh recorded: the last session is missed
    url = str(store.engine.url)
    store.engine.dispose()
    prefix = f"avlock-{uuid.uuid4().hex[:8]}"
    providers = (SlowProvider(ALL_BARS), SlowProvider(ALL_BARS))
    for p in providers:
        p.delay = 0.2

    def app(provider: SlowProvider) -> TestClient:
        settings = make_settings(
            url,
            redis_url=redis_url,
            cache_key_prefix=prefix,
            scheduler_enabled=True,
            cache_warmup_tickers="AAA",
        )
        return TestClient(create_app(settings, provider=provider))

    with app(providers[0]) as a, app(providers[1]) as b:
        schedulers = [scheduler_of(a), scheduler_of(b)]
        assert all(s.running for s in schedulers)
        deadline = time.monotonic() + 30
        while not any(s.last_run and s.last_run.outcome == "ran" for s in schedulers):
            assert time.monotonic() < deadline, [s.last_run for s in schedulers]
            time.sleep(0.05)
        time.sleep(0.5)  # give the other replica the time to try as well
        assert sum(1 for p in providers if p.calls) == 1
        assert all(s.next_at is not None for s in schedulers)
    assert not any(s.running for s in schedulers)


def test_three_replicas_on_postgresql_forced_at_once_refresh_once(
    pg_url: str, redis_url: str
) -> None:
    """The deployment's shape: three replicas on one PostgreSQL database and one Redis, each
    forced to refresh the same session at the same moment: one runs it, two skip."""
    engine = make_engine(pg_url)
    upgrade_to_head(engine)
    PriceStore(engine).upsert_bars(ALL_BARS[ALL_BARS["date"] <= LAST_STORED], source="test")
    engine.dispose()
    prefix = f"avlock-{uuid.uuid4().hex[:8]}"
    providers = [SlowProvider(ALL_BARS) for _ in range(3)]
    for p in providers:
        p.delay = 0.2  # a refresh takes ~0.6 s: the three runs overlap

    def app(provider: SlowProvider) -> TestClient:
        settings = make_settings(
            pg_url,
            redis_url=redis_url,
            cache_key_prefix=prefix,
            refresh_lock_ttl_seconds=60,
            cache_warmup_tickers="AAA",
        )
        return TestClient(create_app(settings, provider=provider))

    with app(providers[0]) as a, app(providers[1]) as b, app(providers[2]) as c:
        reports = run_all_at_once([a, b, c], SESSION)
        assert sorted(r.outcome for r in reports) == ["ran", "skipped", "skipped"], reports
        assert sum(1 for p in providers if p.calls) == 1
        assert {r.reason for r in reports if r.outcome == "skipped"} == {
            "another replica holds the refresh lock"
        }
        # the refreshed prices are in the shared database: every replica serves them
        newest = ALL_BARS["date"].max().isoformat()
        for client in (a, b, c):
            assert client.get("/api/v1/momentum/AAA").json()["as_of"] == newest
        again = run_all_at_once([a, b, c], SESSION)
        assert [(r.outcome, r.reason) for r in again] == [("skipped", "already refreshed")] * 3
