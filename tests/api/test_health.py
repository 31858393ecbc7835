"""Liveness, readiness (200/503), the grown database status, and /metrics."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient

from backend.db.engine import make_engine
from backend.db.migrate import alembic_config, head_revision
from backend.main import create_app
from backend.momentum.service import MomentumService
from tests.conftest import make_settings, wait_until_ready
from tests.unit.cache.support import free_port

pytestmark = [pytest.mark.api, pytest.mark.database]


def test_live_answers_without_asking_anything(sample_app_client: TestClient) -> None:
    resp = sample_app_client.get("/health/live")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "alive"
    assert body["uptime_seconds"] >= 0


def test_ready_when_the_database_is_migrated_and_no_redis_is_configured(
    sample_app_client: TestClient,
) -> None:
    resp = sample_app_client.get("/health/ready")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "ready"
    db = body["checks"]["database"]
    assert db["ok"] is True and db["details"]["revision"] == db["details"]["head"]
    assert db["latency_ms"] >= 0
    assert body["checks"]["redis"] == {
        "ok": True,
        "configured": False,
        "latency_ms": None,
        "error": None,
        "details": {},
    }


def test_not_ready_while_the_schema_is_behind_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    engine = make_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001_price_store")
    engine.dispose()
    app = create_app(make_settings(url, migrate_on_start=False))
    with TestClient(app) as client:
        resp = client.get("/health/ready")
        assert client.get("/health/live").status_code == 200
    assert resp.status_code == 503
    body = resp.json()
    assert body["status"] == "not_ready"
    db = body["checks"]["database"]
    assert db["ok"] is False
    assert db["details"]["revision"] == "0001_price_store"
    assert db["error"] == f"schema at revision 0001_price_store, head is {head_revision()}"


@pytest.fixture(scope="module")
def dead_redis_client(sample_db_url: str) -> Iterator[TestClient]:
    """The app with REDIS_URL on a loopback port where nothing listens."""
    settings = make_settings(
        sample_db_url,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        redis_socket_timeout_seconds=0.2,
        redis_connect_timeout_seconds=0.2,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_not_ready_when_the_configured_redis_does_not_answer(
    dead_redis_client: TestClient,
) -> None:
    resp = dead_redis_client.get("/health/ready")
    assert resp.status_code == 503
    redis = resp.json()["checks"]["redis"]
    assert redis["configured"] is True and redis["ok"] is False
    assert "Connection" in redis["error"]
    assert resp.json()["checks"]["database"]["ok"] is True


def test_scores_are_still_served_without_redis(dead_redis_client: TestClient) -> None:
    first = dead_redis_client.get("/api/v1/momentum/AAPL")
    second = dead_redis_client.get("/api/v1/momentum/AAPL")
    assert first.status_code == second.status_code == 200
    assert second.headers["x-cache"] == "hit"  # from the in-process fallback
    stats = dead_redis_client.get("/api/v1/cache/stats").json()
    assert stats["backend"] == "redis" and stats["reachable"] is False
    assert stats["keys"] is None and stats["details"]["fallback"]["keys"] >= 1


def test_database_status_reports_pool_migrations_and_last_refresh(
    sample_app_client: TestClient,
) -> None:
    resp = sample_app_client.get("/database/status")
    assert resp.status_code == 200
    body = resp.json()
    assert body["migration_revision"] == body["migration_head"] and body["migrated"] is True
    pool = body["pool"]
    assert pool["pool_class"] == "QueuePool"
    assert pool["size"] >= 1 and pool["checked_out"] >= 0 and pool["checked_in"] >= 0
    assert {"last_refresh_at", "last_refresh_outcome"} <= set(body)


def test_metrics_in_prometheus_format(sample_app_client: TestClient) -> None:
    sample_app_client.get("/api/v1/momentum/AAPL")
    sample_app_client.get("/api/v1/momentum/AAPL")
    sample_app_client.get("/api/v1/momentum/NOSUCH")
    resp = sample_app_client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    assert (
        'alphavelocity_http_requests_total{method="GET",route="/api/v1/momentum/{ticker}",'
        'status="200"}'
    ) in text
    assert 'route="/api/v1/momentum/{ticker}",status="404"' in text
    assert (
        'alphavelocity_http_request_duration_seconds_bucket{le="0.005",method="GET",'
        'route="/api/v1/momentum/{ticker}"}'
    ) in text
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert values['alphavelocity_cache_hits_total{backend="memory"}'] >= 1
    assert values['alphavelocity_cache_misses_total{backend="memory"}'] >= 1
    assert values['alphavelocity_score_computations_total{backend="memory"}'] >= 1
    assert values['alphavelocity_cache_backend_up{backend="memory"}'] == 1.0
    assert "alphavelocity_refresh_runs_total" in text or "alphavelocity_refresh_runs" in text


def test_unmatched_paths_share_one_metrics_series(sample_app_client: TestClient) -> None:
    sample_app_client.get("/no/such/path/1")
    sample_app_client.get("/no/such/path/2")
    text = sample_app_client.get("/metrics").text
    assert 'route="<unmatched>",status="404"' in text
    assert "/no/such/path" not in text


def test_root_links_to_the_operations_endpoints(sample_app_client: TestClient) -> None:
    links = sample_app_client.get("/").json()["links"]
    assert {"health_live", "health_ready", "metrics", "cache_stats", "top"} <= set(links)
    for name, url in links.items():  # URLs to follow as they are, no templates
        assert "{" not in url and sample_app_client.get(url).status_code == 200, name


def test_start_up_takes_long_lived_objects_out_of_the_cyclic_collector(
    sample_app_client: TestClient,
) -> None:
    import gc

    assert gc.get_freeze_count() > 100_000


def test_while_the_first_scores_are_computed_live_answers_ready_and_scores_say_503(
    sample_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Start-up does not wait for the score book: /health/live answers at once, /health/ready
    is 503 naming `scores`, and a score request waits at most SCORE_BOOK_WAIT_SECONDS, then
    answers 503 `scores_not_ready`; once the book is there, all is 200."""
    release = threading.Event()
    original = MomentumService._build

    def slow_build(self: MomentumService, old: Any = None) -> Any:
        assert release.wait(30)
        return original(self, old)

    monkeypatch.setattr(MomentumService, "_build", slow_build)
    app = create_app(make_settings(sample_db_url, score_book_wait_seconds=0.3))
    with TestClient(app) as client:
        assert client.get("/health/live").status_code == 200
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        scores = ready.json()["checks"]["scores"]
        assert scores["ok"] is False and scores["details"]["reason"] == "computing"
        started = time.monotonic()
        refused = client.get("/api/v1/momentum/AAPL")
        assert time.monotonic() - started < 5  # bounded, never hangs
        assert refused.status_code == 503
        error = refused.json()["error"]
        assert error["code"] == "scores_not_ready" and error["details"]["waited_seconds"] == 0.3
        release.set()
        wait_until_ready(client)
        assert client.get("/health/ready").json()["checks"]["scores"]["ok"] is True
        assert client.get("/api/v1/momentum/AAPL").status_code == 200


def test_an_empty_store_is_ready_with_nothing_to_score(empty_db_url: str) -> None:
    with TestClient(create_app(make_settings(empty_db_url))) as client:
        resp = client.get("/health/ready")
        assert resp.status_code == 200, resp.text
        assert resp.json()["checks"]["scores"]["details"] == {"reason": "empty store"}
