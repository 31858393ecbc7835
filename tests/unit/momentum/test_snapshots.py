"""Score books materialised in the database: a new process (a restart, another replica)
starts from the newest snapshot and applies the changes since, equal to a full rebuild."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from backend.db.models import ScoreSnapshotPart
from backend.market_data.store import PriceStore
from backend.momentum.incremental import PANEL_FIELDS, PanelFrames
from backend.momentum.service import MomentumService
from backend.momentum.snapshots import KEEP, SnapshotStore, snapshot_tag
from tests.conftest import make_settings
from tests.unit.momentum.test_incremental import CUT, assert_same_frames, real_bars  # noqa: F401

pytestmark = [pytest.mark.unit, pytest.mark.database]


def _service(store: PriceStore, url: str, **overrides: object) -> MomentumService:
    return MomentumService(store, make_settings(url, score_snapshots=True, **overrides))


def test_a_new_process_starts_from_the_snapshot_and_applies_the_changes_since(
    empty_store: PriceStore, empty_db_url: str, real_bars: pd.DataFrame  # noqa: F811
) -> None:
    empty_store.upsert_bars(real_bars[real_bars["date"] <= CUT], "test")
    first = _service(empty_store, empty_db_url)
    built = first.book()
    assert first.last_build is not None and first.last_build.how == "full"
    first.wait_for_snapshot(60)

    restarted = _service(empty_store, empty_db_url)
    loaded = restarted.book()
    assert restarted.last_build is not None and restarted.last_build.how == "snapshot"
    assert_same_frames(loaded.frames, built.frames)
    for name in PANEL_FIELDS:
        pd.testing.assert_frame_equal(
            getattr(loaded.panel, name), getattr(built.panel, name), check_names=False
        )
    assert loaded.benchmarks == built.benchmarks
    assert restarted.score("AAPL") == first.score("AAPL")
    assert restarted.top(5) == first.top(5)

    empty_store.upsert_bars(real_bars[real_bars["date"] > CUT], "test")  # then more days
    replica = _service(empty_store, empty_db_url)
    book = replica.book()
    assert replica.last_build is not None and replica.last_build.how == "snapshot"
    fresh = MomentumService(empty_store, make_settings(empty_db_url))
    assert_same_frames(book.frames, fresh.book().frames)
    assert replica.history("MSFT") == fresh.history("MSFT")


def test_other_weights_never_read_the_snapshot(
    empty_store: PriceStore, empty_db_url: str, real_bars: pd.DataFrame  # noqa: F811
) -> None:
    empty_store.upsert_bars(real_bars[real_bars["date"] <= CUT], "test")
    first = _service(empty_store, empty_db_url)
    first.book()
    first.wait_for_snapshot(60)
    other = _service(
        empty_store, empty_db_url, weight_price=0.6, weight_technical=0.25, weight_relative=0.15
    )
    other.book()
    assert other.last_build is not None and other.last_build.how == "full"


def test_a_snapshot_newer_than_the_reader_has_seen_is_not_read_and_old_ones_are_pruned(
    empty_store: PriceStore, real_bars: pd.DataFrame  # noqa: F811
) -> None:
    aapl = real_bars[real_bars["ticker"].isin(["AAPL", "SPY"])]
    snapshots = SnapshotStore(empty_store.engine)
    tag = snapshot_tag(MomentumService(empty_store, make_settings("sqlite://")).weights)
    versions = []
    for day in sorted(aapl["date"].unique())[-4:]:
        empty_store.upsert_bars(aapl[aapl["date"] <= day], "test")
        book = MomentumService(empty_store, make_settings("sqlite://")).book()
        p = book.panel
        panel = PanelFrames(p.close, p.raw_close, p.volume, p.split)
        assert snapshots.save(book.data_version, tag, panel, book.frames, book.benchmarks)
        assert not snapshots.save(book.data_version, tag, panel, book.frames, book.benchmarks)
        versions.append(book.data_version)
    with empty_store.engine.connect() as conn:
        kept = conn.execute(
            select(func.count(func.distinct(ScoreSnapshotPart.data_version)))
        ).scalar()
    assert kept == KEEP
    assert snapshots.newest_version(tag, versions[-1]) == versions[-1]
    assert snapshots.newest_version(tag, versions[-1] - 1) == versions[-2]
    assert snapshots.load(tag, versions[-2] - 1) is None  # pruned, and never a newer one
    snap = snapshots.load(tag, versions[-1])
    assert snap is not None and snap.frames.dates[-1] == pd.Timestamp(
        sorted(aapl["date"].unique())[-1]
    )
    assert np.isfinite(snap.frames.overall).any()
    assert isinstance(snap.frames.dates[0], pd.Timestamp) and snap.frames.dates[0] >= pd.Timestamp(
        dt.date(2016, 1, 1)
    )


def test_the_tag_names_the_model_the_weights_and_the_scoring_code() -> None:
    from backend.momentum.engine import MODEL_VERSION, CompositeWeights
    from backend.momentum.snapshots import CODE_FINGERPRINT, _code_fingerprint

    tag = snapshot_tag(CompositeWeights())
    assert tag == f"{MODEL_VERSION}:0.5:0.35:0.15:{CODE_FINGERPRINT}"
    assert len(CODE_FINGERPRINT) == 16 and int(CODE_FINGERPRINT, 16) >= 0
    assert _code_fingerprint() == CODE_FINGERPRINT  # the same sources, the same tag
