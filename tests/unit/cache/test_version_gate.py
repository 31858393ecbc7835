"""The data-version gate's bounds: a request waits for its version at most the time-out, and
while a read hangs past it, later requests fail at once instead of queueing behind it."""

from __future__ import annotations

import asyncio
import gc
import threading
import time

import pytest

from backend.cache.version import DataVersionGate, DataVersionTimeout
from tests.unit.cache.support import run_async

pytestmark = pytest.mark.unit


def test_the_wait_is_bounded_and_later_requests_fail_fast_while_a_read_hangs() -> None:
    release = threading.Event()
    calls = {"n": 0}

    def read() -> int:
        calls["n"] += 1
        release.wait(5)  # a hung database
        return 7

    async def main() -> None:
        gate = DataVersionGate(read, timeout=0.2)
        started = time.monotonic()
        with pytest.raises(DataVersionTimeout, match="not read within 0.2 s"):
            await gate.current()
        assert 0.15 < time.monotonic() - started < 1.0
        # The read in flight is past its time: later requests do not queue behind it.
        started = time.monotonic()
        with pytest.raises(DataVersionTimeout, match="in flight for over 0.2 s"):
            await gate.current()
        assert time.monotonic() - started < 0.05
        assert calls["n"] == 1
        release.set()
        await asyncio.sleep(0.1)
        # The database answers again: a new read (never the hung one's answer), a version.
        assert await gate.current() == 7
        assert calls["n"] == 2

    run_async(main())


def test_a_request_queued_behind_a_slow_read_is_bounded_too() -> None:
    def read() -> int:
        time.sleep(0.5)
        return 3

    async def main() -> None:
        gate = DataVersionGate(read, timeout=0.2)
        first = asyncio.create_task(gate.current())
        await asyncio.sleep(0.1)
        # Arrives mid-read: it would wait for the read under way and the next one (0.4 + 0.5 s);
        # it gives up at its 0.2 s, as the first does (each read takes 0.5 s, whatever the load).
        started = time.monotonic()
        with pytest.raises(DataVersionTimeout):
            await gate.current()
        assert time.monotonic() - started < 1.5
        with pytest.raises(DataVersionTimeout):
            await first

    run_async(main())


def test_reads_that_fail_after_every_waiter_gave_up_leave_no_unretrieved_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def read() -> int:
        time.sleep(0.2)
        raise RuntimeError("database gone")

    async def main() -> None:
        gate = DataVersionGate(read, timeout=0.05)
        with pytest.raises(DataVersionTimeout):
            await gate.current()
        await asyncio.sleep(0.4)  # the read fails with nobody waiting
        gc.collect()
        await asyncio.sleep(0)

    with caplog.at_level("ERROR", logger="asyncio"):
        run_async(main())
    assert "never retrieved" not in caplog.text


def test_without_a_time_out_the_gate_waits_for_the_read() -> None:
    def read() -> int:
        time.sleep(0.1)
        return 5

    async def main() -> None:
        assert await DataVersionGate(read).current() == 5

    run_async(main())
