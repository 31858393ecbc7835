"""The yfinance options provider on the recorded Yahoo answer (no network): yfinance's own
frame conversion (`Ticker._options2df`) of the recorded calls and puts feeds the provider, whose
snapshot must equal the one the Yahoo JSON importer builds from the same file; deadlines,
time-outs and remembered misses bound it like the price provider."""

from __future__ import annotations

import json
from collections import namedtuple
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import yfinance as yf

from backend.errors import NotFound, ProviderUnavailable
from backend.options.importer import read_snapshot
from backend.options.provider import YFinanceOptions, _TimedData
from tests.unit.options.data import YAHOO_AAPL

pytestmark = pytest.mark.unit

Options = namedtuple("Options", ["calls", "puts", "underlying"])
RATE = 0.04


class RecordedTicker:
    """`Ticker.options` and `Ticker.option_chain` answered from the recorded Yahoo answer,
    through yfinance's own conversion of the JSON into frames."""

    def __init__(self, timeout: Callable[[], float], fail: BaseException | None = None) -> None:
        result = json.loads(YAHOO_AAPL.read_text())["optionChain"]["result"][0]
        self.result = result
        self.timeout = timeout
        self.fail = fail
        self.calls = 0

    @property
    def options(self) -> tuple[str, ...]:
        self.timeout()
        if self.fail is not None:
            raise self.fail
        return ("2016-09-09",)

    def option_chain(self, date: str) -> Any:
        self.timeout()
        self.calls += 1
        chain = self.result["options"][0]
        frames = yf.Ticker._options2df(None, chain["calls"]), yf.Ticker._options2df(
            None, chain["puts"]
        )
        return Options(frames[0], frames[1], self.result["quote"])


def provider(fail: BaseException | None = None, clock: list[float] | None = None) -> Any:
    now = clock if clock is not None else [0.0]
    made: list[RecordedTicker] = []

    def factory(symbol: str, timeout: Callable[[], float]) -> RecordedTicker:
        made.append(RecordedTicker(timeout, fail))
        return made[-1]

    p = YFinanceOptions(
        timeout=10.0,
        miss_ttl=100.0,
        unavailable_ttl=60.0,
        ticker_factory=factory,
        clock=lambda: now[0],
    )
    p.made = made  # type: ignore[attr-defined]
    return p


def test_the_provider_snapshot_equals_the_imported_answer() -> None:
    live = provider().snapshot("AAPL", RATE, deadline=5.0)
    imported = read_snapshot(YAHOO_AAPL, "yahoo-json", "AAPL", RATE)
    assert live.source == "yfinance" and live.spot == imported.spot == 107.68
    assert live.as_of == imported.as_of and live.day == imported.day
    assert live.earnings_date == imported.earnings_date
    key = ["expiry", "strike", "right"]
    a = live.contracts.sort_values(key).reset_index(drop=True)
    b = imported.contracts.sort_values(key).reset_index(drop=True)
    assert len(a) == len(b) == 76
    for column in ("strike", "bid", "ask", "last", "vendor_iv", "iv"):
        np.testing.assert_allclose(a[column], b[column], equal_nan=True, err_msg=column)
    assert (a["iv_reason"].fillna("") == b["iv_reason"].fillna("")).all()


def test_the_time_out_of_each_request_is_cut_to_the_deadline() -> None:
    clock = [100.0]
    p = provider(clock=clock)
    p.snapshot("AAPL", RATE, deadline=103.0)
    ticker = p.made[0]
    assert ticker.timeout() == pytest.approx(3.0)  # min(10 s, 3 s left)
    clock[0] = 103.0
    with pytest.raises(ProviderUnavailable, match="deadline"):
        ticker.timeout()


def test_no_request_is_made_past_the_deadline_and_the_failure_is_remembered() -> None:
    clock = [10.0]
    p = provider(clock=clock)
    with pytest.raises(ProviderUnavailable):
        p.snapshot("AAPL", RATE, deadline=10.0)
    # Remembered for the unavailable TTL: asked again, the same error without a request.
    made = len(p.made)
    with pytest.raises(ProviderUnavailable):
        p.snapshot("AAPL", RATE, deadline=1000.0)
    assert len(p.made) == made
    clock[0] = 71.0  # past the 60 s
    assert p.snapshot("AAPL", RATE, deadline=1000.0).spot == 107.68


def test_a_network_failure_is_provider_unavailable() -> None:
    p = provider(fail=ConnectionError("connection reset"))
    with pytest.raises(ProviderUnavailable, match="ConnectionError"):
        p.snapshot("AAPL", RATE, deadline=5.0)


def test_a_ticker_without_options_is_not_found_and_remembered() -> None:
    class NoOptions(RecordedTicker):
        @property
        def options(self) -> tuple[str, ...]:
            return ()

    made: list[Any] = []
    clock = [0.0]
    p = YFinanceOptions(
        miss_ttl=100.0,
        ticker_factory=lambda s, t: made.append(NoOptions(t)) or made[-1],
        clock=lambda: clock[0],
    )
    with pytest.raises(NotFound, match="no options listed for ZZZ"):
        p.snapshot("ZZZ", RATE, deadline=5.0)
    with pytest.raises(NotFound):
        p.snapshot("ZZZ", RATE, deadline=5.0)
    assert len(made) == 1


def test_the_timed_request_object_passes_our_time_out() -> None:
    seen: dict[str, Any] = {}

    class Data:
        user_agent = "x"

        def get(self, url: str, params: Any = None, timeout: float = 30) -> str:
            seen.update(url=url, timeout=timeout)
            return "answer"

    timed = _TimedData(Data(), lambda: 2.5)
    assert timed.get(url="https://example.invalid/v7") == "answer"
    assert seen == {"url": "https://example.invalid/v7", "timeout": 2.5}
    assert timed.user_agent == "x"


def test_a_bad_answer_is_remembered_for_its_ticker_only() -> None:
    p = provider()
    with pytest.raises(ProviderUnavailable, match="the answer is AAPL's"):
        p.snapshot("MSFT", RATE, deadline=5.0)
    asked = len(p.made)
    with pytest.raises(ProviderUnavailable):
        p.snapshot("MSFT", RATE, deadline=5.0)
    assert len(p.made) == asked  # remembered
    assert p.snapshot("AAPL", RATE, deadline=5.0).spot == 107.68  # others still asked


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"regularMarketTime": 10**13}, "no chain, price or quote time"),
        ({"regularMarketPrice": float("nan")}, "no chain, price or quote time"),
        ({"regularMarketPrice": -1}, "no chain, price or quote time"),
    ],
)
def test_a_malformed_answer_is_refused_with_its_reason(change: dict[str, Any], reason: str) -> None:
    p = provider()

    def factory(symbol: str, timeout: Callable[[], float]) -> RecordedTicker:
        ticker = RecordedTicker(timeout)
        ticker.result["quote"] = {**ticker.result["quote"], **change}
        return ticker

    p._factory = factory
    with pytest.raises(ProviderUnavailable, match=reason):
        p.snapshot("AAPL", RATE, deadline=5.0)


def test_a_malformed_expiry_is_refused_not_raised() -> None:
    class BadExpiry(RecordedTicker):
        @property
        def options(self) -> tuple[str, ...]:
            return ("2016-13-45",)

    p = YFinanceOptions(ticker_factory=lambda s, t: BadExpiry(t), clock=lambda: 0.0)
    with pytest.raises(ProviderUnavailable, match="cannot be read"):
        p.snapshot("AAPL", RATE, deadline=5.0)
