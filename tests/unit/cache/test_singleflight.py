"""Single-flight (stampede protection) and the data-version gate."""

from __future__ import annotations

import asyncio
import threading

import pytest

from backend.cache.singleflight import SingleFlight
from backend.cache.version import DataVersionGate
from tests.unit.cache.support import run_async

pytestmark = pytest.mark.unit


def test_concurrent_callers_of_one_key_share_one_computation() -> None:
    calls = 0

    async def compute() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return "value"

    async def main() -> list[str]:
        flight: SingleFlight[str] = SingleFlight()
        results = await asyncio.gather(*(flight.do("k", compute) for _ in range(50)))
        assert flight.started == 1 and flight.shared == 49 and flight.inflight == 0
        return list(results)

    assert run_async(main()) == ["value"] * 50
    assert calls == 1


def test_different_keys_compute_separately_and_a_finished_flight_is_not_reused() -> None:
    calls: list[str] = []

    async def main() -> None:
        flight: SingleFlight[str] = SingleFlight()

        def make(key: str):  # type: ignore[no-untyped-def]
            async def compute() -> str:
                calls.append(key)
                await asyncio.sleep(0.01)
                return key

            return compute

        both = await asyncio.gather(flight.do("a", make("a")), flight.do("b", make("b")))
        assert list(both) == ["a", "b"]
        assert await flight.do("a", make("a")) == "a"

    run_async(main())
    assert sorted(calls) == ["a", "a", "b"]


def test_an_error_reaches_every_waiter_and_the_next_call_tries_again() -> None:
    calls = 0

    async def failing() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)
        raise LookupError("no prices")

    async def main() -> None:
        flight: SingleFlight[str] = SingleFlight()
        results = await asyncio.gather(
            *(flight.do("k", failing) for _ in range(5)), return_exceptions=True
        )
        assert all(isinstance(r, LookupError) for r in results)
        assert calls == 1
        with pytest.raises(LookupError):
            await flight.do("k", failing)
        assert calls == 2

    run_async(main())


def test_a_cancelled_waiter_does_not_cancel_the_others() -> None:
    async def compute() -> str:
        await asyncio.sleep(0.05)
        return "done"

    async def main() -> None:
        flight: SingleFlight[str] = SingleFlight()
        first = asyncio.create_task(flight.do("k", compute))
        await asyncio.sleep(0)
        waiter = asyncio.create_task(flight.do("k", compute))
        await asyncio.sleep(0.01)
        waiter.cancel()
        assert await first == "done"

    run_async(main())


def test_version_gate_never_answers_with_a_read_that_began_before_the_request() -> None:
    state = {"version": 1}
    reading = threading.Event()
    release = threading.Event()

    def read() -> int:
        seen = state["version"]
        reading.set()
        release.wait(5)
        return seen

    async def main() -> None:
        gate = DataVersionGate(read)
        early = asyncio.create_task(gate.current())
        await asyncio.to_thread(reading.wait, 5)
        # A write lands while that read is in flight; requests arriving now must see it.
        state["version"] = 2
        reading.clear()
        late = [asyncio.create_task(gate.current()) for _ in range(20)]
        await asyncio.sleep(0.01)
        release.set()
        assert await early == 1
        assert await asyncio.gather(*late) == [2] * 20
        # One read for the early request, one shared by the twenty late ones.
        assert gate.reads == 2
        assert await gate.current() == 2

    run_async(main())


def test_version_gate_passes_read_errors_on() -> None:
    def read() -> int:
        raise RuntimeError("database gone")

    async def main() -> None:
        gate = DataVersionGate(read)
        with pytest.raises(RuntimeError, match="database gone"):
            await gate.current()
        with pytest.raises(RuntimeError):
            await gate.current()

    run_async(main())
