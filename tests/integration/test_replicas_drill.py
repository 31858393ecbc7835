"""The replica drill's own arithmetic: its percentile and its reading back of the writes; and
how it sends a write (with its Idempotency-Key, sent again with the same key on a failure)."""

from __future__ import annotations

import asyncio
import math
import random

import httpx
import numpy as np
import pytest

from scripts.replicas_drill import (
    WRITE,
    WRITE_ATTEMPTS,
    DrillReport,
    Outcome,
    check_writes,
    percentile,
    send_write,
)

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


def _send(answers: list[int | str]) -> tuple[tuple[int | None, int, bool], list[str | None]]:
    """send_write against a stand-in nginx answering `answers` in turn ("drop": no answer; a
    201 after the first try says it is a replay)."""
    keys: list[str | None] = []
    queue = iter(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers.get("Idempotency-Key"))
        answer = next(queue)
        if answer == "drop":
            raise httpx.RemoteProtocolError("connection closed", request=request)
        replay = {"Idempotent-Replayed": "true"} if answer == 201 and len(keys) > 1 else {}
        return httpx.Response(int(answer), headers=replay)

    async def run() -> tuple[int | None, int, bool]:
        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(transport=transport, base_url="http://nginx") as client:
            return await send_write(client, "/w", {"n": 1}, {"Idempotency-Key": "k-1"})

    return asyncio.run(run()), keys


def test_a_failed_write_is_sent_again_with_the_same_key_a_bounded_number_of_times() -> None:
    assert _send(["drop", 502, 201]) == ((201, 3, True), ["k-1"] * 3)
    assert _send([201]) == ((201, 1, False), ["k-1"])
    assert _send([422]) == ((422, 1, False), ["k-1"])  # the client's mistake: not sent again
    assert WRITE_ATTEMPTS == 4
    assert _send([503] * 10) == ((503, 4, False), ["k-1"] * 4)  # failed after the last try
    assert _send(["drop"] * 10) == ((None, 4, False), ["k-1"] * 4)


def test_the_report_counts_writes_sent_again_and_replayed() -> None:
    outs = [
        Outcome(WRITE, 201, 0.1, "w1"),
        Outcome(WRITE, 201, 0.1, "w2", attempts=2, replayed=True),
        Outcome(WRITE, 201, 0.1, "w3", attempts=3),
        Outcome(WRITE, 201, 0.1, "w4", replayed=True),  # nginx resent it; the client did not
        Outcome(WRITE, 502, 0.1, "w5", attempts=4),
    ]
    report = DrillReport(outs, check_writes(outs, ["w1", "w2", "w3", "w4"]), 1.0, 2.0, 3.0)
    assert (report.retried_writes, report.replayed_writes, report.failed_writes) == (3, 2, 1)
