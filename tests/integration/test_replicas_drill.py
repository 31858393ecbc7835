"""The replica drill's own arithmetic: its percentile and its reading back of the writes."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from scripts.replicas_drill import WRITE, DrillReport, Outcome, check_writes, percentile

pytestmark = [pytest.mark.unit]


def test_percentile_is_the_nearest_rank() -> None:
    assert percentile([15, 20, 35, 40, 50], 30) == 20  # ceil(1.5) = 2nd
    assert percentile([15, 20, 35, 40, 50], 40) == 20  # ceil(2.0) = 2nd
    assert percentile([15, 20, 35, 40, 50], 100) == 50
    assert percentile([3.0], 99) == 3.0
    assert math.isnan(percentile([], 99))
    rng = random.Random(7)
    values = [rng.expovariate(1.0) for _ in range(1001)]
    for q in (50, 90, 99, 99.9):  # numpy's inverted_cdf is the nearest-rank definition
        assert percentile(values, q) == np.percentile(values, q, method="inverted_cdf")


def test_writes_read_back_are_kept_lost_doubled_or_failed_but_applied() -> None:
    sent = [
        Outcome(WRITE, 201, 0.1, "w1"),  # stored once: kept
        Outcome(WRITE, 201, 0.1, "w2"),  # acknowledged, not stored: lost
        Outcome(WRITE, 201, 0.1, "w3"),  # stored twice: doubled
        Outcome(WRITE, 502, 0.1, "w4"),  # failed, stored anyway
        Outcome(WRITE, None, 0.1, "w5"),  # no answer, not stored
        Outcome("score", 200, 0.1),
    ]
    check = check_writes(sent, ["w1", "w3", "w3", "w4", "stray"])
    assert check.kept == 1
    assert check.lost == ["w2"]
    assert check.doubled == ["w3"]
    assert check.failed_but_applied == 1
    assert check.unknown_rows == 1
    report = DrillReport(sent, check, killed_at=1.0, restarted_ready_after=2.0, duration=3.0)
    assert report.failed_reads == 0 and report.failed_writes == 2
    assert report.failed_write_ratio == pytest.approx(2 / 5)
    assert not report.targets_met


def test_targets_are_met_only_without_failed_reads_and_under_a_thousandth_of_writes() -> None:
    writes = [Outcome(WRITE, 201, 0.1, f"w{i}") for i in range(2000)]
    one_failed = writes[:-1] + [Outcome(WRITE, 502, 0.1, "w1999")]
    notes = [f"w{i}" for i in range(1999)]
    ok = DrillReport(one_failed, check_writes(one_failed, notes), 1.0, 2.0, 3.0)
    assert ok.failed_write_ratio == pytest.approx(0.0005) and ok.targets_met
    read_failed = one_failed + [Outcome("top", 502, 0.1)]
    bad = DrillReport(read_failed, check_writes(read_failed, notes), 1.0, 2.0, 3.0)
    assert not bad.targets_met
