"""The price store, migrations and the API on a real PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from backend.db.engine import make_engine
from backend.db.migrate import current_revision, head_revision, upgrade_to_head
from backend.main import create_app
from backend.market_data.providers.csv_file import read_price_file
from backend.market_data.sample import SAMPLE_PRICES
from backend.market_data.store import PriceStore
from tests.conftest import REPO_ROOT, make_settings

pytestmark = [pytest.mark.integration, pytest.mark.database]

TICKERS = ["AAPL", "MSFT", "NVDA", "TSLA", "XOM", "VTRS", "SPY", "FB"]


@pytest.fixture(scope="module")
def sample_subset() -> pd.DataFrame:
    bars = read_price_file(SAMPLE_PRICES)
    return bars[bars["ticker"].isin(TICKERS)].reset_index(drop=True)


def test_migration_script_is_idempotent(pg_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": pg_url, "PYTHONPATH": str(REPO_ROOT)}
    script = [sys.executable, str(REPO_ROOT / "simple_db_migration.py")]
    first = subprocess.run(script, env=env, capture_output=True, text=True, check=True)
    second = subprocess.run(script, env=env, capture_output=True, text=True, check=True)
    head = head_revision()
    assert f"upgraded from empty to revision {head}" in first.stdout
    assert f"already at revision {head}" in second.stdout
    engine = make_engine(pg_url)
    assert current_revision(engine) == head
    engine.dispose()


def test_upsert_and_panel_match_sqlite(
    pg_url: str, empty_store: PriceStore, sample_subset: pd.DataFrame
) -> None:
    engine = make_engine(pg_url)
    upgrade_to_head(engine)
    pg = PriceStore(engine)
    first = pg.upsert_bars(sample_subset, source="sample")
    assert first.written == len(sample_subset) and first.data_version == 1
    again = pg.upsert_bars(sample_subset, source="sample")
    assert again.written == 0 and again.data_version == 1
    empty_store.upsert_bars(sample_subset, source="sample")
    a, b = pg.load_panel(), empty_store.load_panel()
    assert a.tickers == b.tickers == sorted(TICKERS)
    np.testing.assert_array_equal(a.close.values, b.close.values)
    np.testing.assert_array_equal(a.volume.values, b.volume.values)
    np.testing.assert_array_equal(a.split.values, b.split.values)
    engine.dispose()


def test_api_on_postgres_scores_like_sqlite(
    pg_url: str, empty_db_url: str, sample_subset: pd.DataFrame
) -> None:
    scores = []
    for url in (pg_url, empty_db_url):
        engine = make_engine(url)
        upgrade_to_head(engine)
        PriceStore(engine).upsert_bars(sample_subset, source="sample")
        engine.dispose()
        with TestClient(create_app(make_settings(url))) as client:
            status = client.get("/database/status").json()
            assert status["migrated"] is True and status["bars"] == len(sample_subset)
            scores.append(client.get("/api/v1/momentum/AAPL?as_of=2021-01-15").json())
    assert scores[0]["overall_momentum_score"] == scores[1]["overall_momentum_score"]
    # VTRS (listed 2020-11-16) has fewer than 64 closes on 2021-01-15: not scored that day.
    assert scores[0]["universe_size"] == len(TICKERS) - 1


def test_startup_migrates_and_loads_the_sample(pg_url: str) -> None:
    settings = make_settings(pg_url, load_sample_on_empty=True)
    with TestClient(create_app(settings)) as client:
        status = client.get("/database/status").json()
        assert status["engine"] == "postgresql"
        assert status["securities"] == 505
        assert status["newest_bar_date"] == "2021-04-21"
        body = client.get("/api/v1/momentum/AAPL").json()
        assert body["data_source"] == "sample" and body["as_of"] == "2021-04-21"


def test_incremental_scoring_on_postgres_equals_a_full_rebuild(
    pg_url: str, sample_subset: pd.DataFrame
) -> None:
    """The change log and the partial loads on PostgreSQL: a day appended for every ticker and
    one ticker re-imported are scored incrementally, equal to what a new process builds."""
    from backend.momentum.service import MomentumService
    from tests.unit.momentum.test_incremental import assert_same_frames

    engine = make_engine(pg_url)
    upgrade_to_head(engine)
    store = PriceStore(engine)
    days = sorted(sample_subset["date"].unique())
    store.upsert_bars(sample_subset[sample_subset["date"] < days[-1]], "test")
    service = MomentumService(store, make_settings(pg_url))
    service.book()
    store.upsert_bars(sample_subset[sample_subset["date"] == days[-1]], "test")
    msft = sample_subset[(sample_subset["ticker"] == "MSFT") & (sample_subset["date"] >= days[-60])]
    store.upsert_bars(msft.assign(adj_close=msft["adj_close"] * 1.02), "test")
    book = service.book()
    assert service.last_build is not None and service.last_build.how == "incremental"
    fresh = MomentumService(store, make_settings(pg_url))
    assert_same_frames(book.frames, fresh.book().frames)
    assert fresh.last_build is not None and fresh.last_build.how == "full"
    engine.dispose()


def test_a_materialised_score_book_on_postgres(pg_url: str, sample_subset: pd.DataFrame) -> None:
    """A snapshot written to PostgreSQL (bytea parts) is what a second process starts from."""
    from backend.momentum.service import MomentumService
    from tests.unit.momentum.test_incremental import assert_same_frames

    engine = make_engine(pg_url)
    upgrade_to_head(engine)
    store = PriceStore(engine)
    store.upsert_bars(sample_subset, "test")
    first = MomentumService(store, make_settings(pg_url, score_snapshots=True))
    built = first.book()
    first.wait_for_snapshot(60)
    second = MomentumService(store, make_settings(pg_url, score_snapshots=True))
    loaded = second.book()
    assert second.last_build is not None and second.last_build.how == "snapshot"
    assert_same_frames(loaded.frames, built.frames)
    engine.dispose()
