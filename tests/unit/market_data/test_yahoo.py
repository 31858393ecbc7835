"""YFinanceProvider: layouts, split/dividend mapping, retries and failures -- never the network.

Frames come from `tests/fixtures/yfinance/` (see its README): real shared prices, split-adjusted
the way Yahoo reports them, in the exact layouts yfinance 1.7.0 returns. The end-to-end tests run
the real yfinance code against `FakeYahoo`, which stands in for Yahoo's HTTP endpoints.
"""

from __future__ import annotations

import datetime as dt
import gzip
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
import yfinance as yf
import yfinance.base
from curl_cffi.requests.exceptions import ConnectionError as CurlConnectionError
from curl_cffi.requests.exceptions import Timeout as CurlTimeout
from yfinance.exceptions import YFPricesMissingError, YFRateLimitError, YFTzMissingError

from backend.errors import InvalidInput, ProviderUnavailable
from backend.market_data.bars import BAR_COLUMNS
from backend.market_data.providers.yahoo import YFinanceProvider, frame_to_bars
from tests.support.real_prices import SLICE_PRICES

pytestmark = [
    pytest.mark.unit,
    # yfinance 1.7.0 itself uses pandas' deprecated `inplace=`; not ours to fix.
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning"),
]

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "yfinance"


def _load_fake_yahoo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fake_yahoo", FIXTURES / "fake_yahoo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fake_yahoo", module)
    spec.loader.exec_module(module)
    return module


fake_yahoo = _load_fake_yahoo()
FakeYahoo = fake_yahoo.FakeYahoo

FIRST, LAST = dt.date(2020, 8, 14), dt.date(2020, 9, 4)
SPLIT_DAY, DIVIDEND_DAY = dt.date(2020, 8, 31), dt.date(2020, 8, 19)


def multi_frame() -> pd.DataFrame:
    frame: pd.DataFrame = fake_yahoo.read_download_csv(
        FIXTURES / "download_AAPL_MSFT_NOSUCHTICKER.csv"
    )
    return frame


def history_frame(symbol: str) -> pd.DataFrame:
    frame: pd.DataFrame = fake_yahoo.read_flat_csv(
        FIXTURES / f"history_{symbol}.csv", tz_aware=True
    )
    return frame


class Recorder:
    """Stands in for YFinanceProvider._download: answers from a script, records the calls."""

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.calls: list[tuple[str, dt.date | None, dt.date | None]] = []
        self.timeouts: list[float] = []

    def __call__(
        self, ticker: str, start: dt.date | None, end: dt.date | None, timeout: float
    ) -> pd.DataFrame:
        self.calls.append((ticker, start, end))
        self.timeouts.append(timeout)
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, BaseException):
            raise step
        frame: pd.DataFrame = step(ticker) if callable(step) else step
        return frame


def provider_with(
    recorder: Recorder, retries: int = 3, backoff: float = 1.0
) -> tuple[YFinanceProvider, list[float]]:
    sleeps: list[float] = []
    provider = YFinanceProvider(retries=retries, backoff=backoff, sleep=sleeps.append)
    provider._download = recorder  # type: ignore[method-assign,assignment]
    return provider, sleeps


# --- the recorded frames ---------------------------------------------------------------------


def test_fixtures_have_yfinance_1_7_layouts() -> None:
    multi = multi_frame()
    assert isinstance(multi.columns, pd.MultiIndex)
    assert list(multi.columns.names) == ["Price", "Ticker"]
    assert isinstance(multi.index, pd.DatetimeIndex)
    assert multi.index.name == "Date" and multi.index.tz is None
    assert set(multi.columns.get_level_values("Ticker")) == {"AAPL", "MSFT", "NOSUCHTICKER"}
    assert multi.xs("NOSUCHTICKER", axis=1, level="Ticker").isna().all().all()

    single = fake_yahoo.read_download_csv(FIXTURES / "download_AAPL.csv")
    assert list(single.columns.names) == ["Price", "Ticker"]  # MultiIndex even for one ticker

    history = history_frame("AAPL")
    assert not isinstance(history.columns, pd.MultiIndex)
    assert isinstance(history.index, pd.DatetimeIndex)
    assert str(history.index.tz) == "America/New_York" and history.index.name == "Date"
    assert list(history.columns) == [
        "Open",
        "High",
        "Low",
        "Close",
        "Adj Close",
        "Volume",
        "Dividends",
        "Stock Splits",
    ]


def test_fixtures_are_what_yfinance_makes_of_the_chart_documents(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    FakeYahoo().install(monkeypatch, tmp_path)
    options: dict[str, Any] = dict(
        start="2020-08-14",
        end="2020-09-05",
        auto_adjust=False,
        actions=True,
        progress=False,
        threads=False,
    )
    live = yf.download(["AAPL", "MSFT", "NOSUCHTICKER"], group_by="column", **options)
    pd.testing.assert_frame_equal(live, multi_frame(), check_dtype=False, check_freq=False)
    live = yf.Ticker("AAPL").history(
        start="2020-08-14", end="2020-09-05", auto_adjust=False, actions=True
    )
    pd.testing.assert_frame_equal(live, history_frame("AAPL"), check_dtype=False, check_freq=False)


def test_fixtures_are_split_adjusted_like_yahoo() -> None:
    # What Yahoo reports: AAPL before its 4-for-1 split divided by 4, its volume times 4.
    history = history_frame("AAPL")
    days = pd.DatetimeIndex(history.index).date
    day_before = history[days == dt.date(2020, 8, 28)].iloc[0]
    assert day_before["Close"] == 124.8075 and day_before["Volume"] == 4 * 46907479
    split_day = history[days == SPLIT_DAY].iloc[0]
    assert split_day["Close"] == 129.04 and split_day["Volume"] == 223505733


# --- frame -> canonical bars -----------------------------------------------------------------


def _row(bars: pd.DataFrame, day: dt.date) -> dict[str, Any]:
    (row,) = bars[bars["date"] == day].to_dict("records")
    return {str(key): value for key, value in row.items()}


def test_bars_are_as_traded_not_split_adjusted() -> None:
    # The shared data's AAPL rows as traded (Yahoo's frame has these divided by 4, volume x4).
    bars = frame_to_bars(history_frame("AAPL"), "AAPL")
    day_before = _row(bars, dt.date(2020, 8, 28))
    assert [day_before[c] for c in ("open", "high", "low", "close")] == [
        504.05,
        505.77,
        498.31,
        499.23,
    ]
    assert day_before["volume"] == 46907479
    assert day_before["adj_close"] == 124.405824223  # Yahoo's adjusted close, untouched
    first = _row(bars, FIRST)
    assert (first["close"], first["volume"]) == (459.63, 41391302)
    # From the split day on nothing changes.
    split_day = _row(bars, SPLIT_DAY)
    assert (split_day["close"], split_day["volume"]) == (129.04, 223505733)


def test_bars_equal_the_shared_as_traded_prices() -> None:
    # The shared file's rows, as shipped in the tests' slice of it (AAPL and MSFT are there).
    with gzip.open(SLICE_PRICES, "rt") as handle:
        shared = pd.read_csv(handle, dtype={"date": str, "ticker": str})
    shared = shared[(shared["date"] >= str(FIRST)) & (shared["date"] <= str(LAST))]
    for symbol in ["AAPL", "MSFT"]:
        expected = shared[shared["ticker"] == symbol].copy()
        expected["date"] = [dt.date.fromisoformat(d) for d in expected["date"]]
        expected = expected.astype({"ticker": "object", "volume": "float64"})
        expected = expected.reset_index(drop=True)
        got = frame_to_bars(history_frame(symbol), symbol)
        pd.testing.assert_frame_equal(got, expected[BAR_COLUMNS], obj=symbol, check_exact=True)


def test_a_split_after_the_frame_is_not_seen() -> None:
    # The documented limit: only splits inside the frame are undone.
    history = history_frame("AAPL")
    before_split = history[pd.DatetimeIndex(history.index).date < SPLIT_DAY]
    bars = frame_to_bars(before_split, "AAPL")
    assert bars["close"].iloc[-1] == 124.8075 and bars["volume"].iloc[-1] == 4 * 46907479


def test_several_splits_multiply_and_volume_is_whole_shares() -> None:
    days = pd.DatetimeIndex(
        ["2021-01-04", "2021-01-05", "2021-01-06", "2021-01-07"], name="Date"
    ).tz_localize("America/New_York")
    frame = pd.DataFrame(
        {
            "Open": [1.0, 2.0, 3.0, 4.0],
            "High": [1.0, 2.0, 3.0, 4.0],
            "Low": [1.0, 2.0, 3.0, 4.0],
            "Close": [1.0, 2.0, 3.0, 4.0],
            "Adj Close": [0.9, 1.9, 2.9, 3.9],
            "Volume": [600, 700, 301, 5],
            "Dividends": [0.0, 0.0, 0.0, 0.0],
            "Stock Splits": [0.0, 2.0, 0.0, 3.0],
        },
        index=days,
    ).iloc[
        ::-1
    ]  # out of order: the mapping sorts by date first
    bars = frame_to_bars(frame, "XYZ")
    assert bars["split"].tolist() == [1.0, 2.0, 1.0, 3.0]
    assert bars["close"].tolist() == [6.0, 6.0, 9.0, 4.0]
    assert bars["volume"].tolist() == [100.0, 233.0, 100.0, 5.0]  # 700 / 3 rounds to 233
    assert bars["adj_close"].tolist() == [0.9, 1.9, 2.9, 3.9]


def test_multiindex_layout_maps_split_and_dividend() -> None:
    aapl = frame_to_bars(multi_frame(), "AAPL")
    assert list(aapl.columns) == BAR_COLUMNS
    assert aapl["date"].tolist()[0] == FIRST and aapl["date"].tolist()[-1] == LAST
    assert all(type(d) is dt.date for d in aapl["date"])
    assert set(aapl["ticker"]) == {"AAPL"}
    split_row = aapl[aapl["date"] == SPLIT_DAY].iloc[0]
    assert split_row["split"] == 4.0
    assert split_row["close"] == 129.04 and split_row["adj_close"] == 128.624702503
    assert aapl[aapl["date"] == dt.date(2020, 8, 28)]["close"].item() == 499.23  # as traded
    assert (aapl[aapl["date"] != SPLIT_DAY]["split"] == 1.0).all()  # yfinance's 0 -> 1.0
    assert (aapl["dividend"] == 0.0).all()

    msft = frame_to_bars(multi_frame(), "MSFT")
    assert msft[msft["date"] == DIVIDEND_DAY]["dividend"].tolist() == [0.51]
    assert msft["dividend"].sum() == 0.51 and (msft["split"] == 1.0).all()
    assert msft["volume"].iloc[0] == 17958936


def test_ticker_without_prices_in_a_multiindex_frame_is_empty() -> None:
    assert frame_to_bars(multi_frame(), "NOSUCHTICKER").empty
    assert frame_to_bars(multi_frame(), "TSLA").empty


def test_all_layouts_give_the_same_bars() -> None:
    expected = frame_to_bars(multi_frame(), "AAPL")
    by_ticker = multi_frame().swaplevel(axis=1).sort_index(axis=1)  # group_by="ticker"
    others = {
        "flat, Ticker.history": history_frame("AAPL"),
        "flat, download(multi_level_index=False)": fake_yahoo.read_flat_csv(
            FIXTURES / "download_AAPL_flat.csv", tz_aware=False
        ),
        "one-ticker MultiIndex": fake_yahoo.read_download_csv(FIXTURES / "download_AAPL.csv"),
        "(Ticker, Price) levels": by_ticker,
    }
    for label, frame in others.items():
        got = frame_to_bars(frame, "AAPL")
        pd.testing.assert_frame_equal(got, expected, obj=label)


def test_rows_without_prices_are_dropped() -> None:
    frame = history_frame("AAPL")
    frame.loc[frame.index[2], ["Open", "High", "Low", "Close", "Adj Close"]] = float("nan")
    bars = frame_to_bars(frame, "AAPL")
    assert len(bars) == len(frame) - 1
    assert frame.index[2].date() not in set(bars["date"])


def test_unexpected_layouts_are_reported_not_guessed() -> None:
    frame = history_frame("AAPL").drop(columns=["Adj Close"])
    with pytest.raises(ProviderUnavailable, match="no Adj Close column"):
        frame_to_bars(frame, "AAPL")
    with pytest.raises(ProviderUnavailable, match="not dates"):
        frame_to_bars(history_frame("AAPL").reset_index(drop=True), "AAPL")


# --- fetch -----------------------------------------------------------------------------------


def test_fetch_returns_canonical_bars_and_asks_for_the_day_after_end() -> None:
    recorder = Recorder(lambda ticker: history_frame(ticker))
    provider, sleeps = provider_with(recorder)
    result = provider.fetch(["aapl", "MSFT", "AAPL"], start=dt.date(2020, 8, 19), end=SPLIT_DAY)

    assert recorder.calls == [
        ("AAPL", dt.date(2020, 8, 19), dt.date(2020, 9, 1)),
        ("MSFT", dt.date(2020, 8, 19), dt.date(2020, 9, 1)),
    ]
    bars = result.bars
    assert list(bars.columns) == BAR_COLUMNS and result.failures == {}
    assert sorted(set(bars["ticker"])) == ["AAPL", "MSFT"]
    assert bars["date"].min() == dt.date(2020, 8, 19) and bars["date"].max() == SPLIT_DAY
    assert bars[(bars["ticker"] == "AAPL") & (bars["date"] == SPLIT_DAY)]["split"].item() == 4.0
    assert sleeps == []


def test_fetch_clips_rows_outside_the_window() -> None:
    # A provider frame wider than asked for (Yahoo sometimes appends a live row).
    provider, _ = provider_with(Recorder(history_frame("AAPL")))
    bars = provider.fetch(["AAPL"], start=dt.date(2020, 8, 20), end=dt.date(2020, 8, 21)).bars
    assert bars["date"].tolist() == [dt.date(2020, 8, 20), dt.date(2020, 8, 21)]


def test_no_start_means_all_history() -> None:
    recorder = Recorder(history_frame("AAPL"))
    provider, _ = provider_with(recorder)
    assert len(provider.fetch(["AAPL"]).bars) == 16
    assert recorder.calls == [("AAPL", None, None)]


def test_retry_then_success_backs_off_exponentially() -> None:
    recorder = Recorder(YFRateLimitError(), CurlTimeout("timed out"), history_frame("AAPL"))
    provider, sleeps = provider_with(recorder, retries=3, backoff=0.5)
    result = provider.fetch(["AAPL"])
    assert len(result.bars) == 16 and result.failures == {}
    assert sleeps == [0.5, 1.0]
    assert len(recorder.calls) == 3


def test_throttled_past_the_retries_is_provider_unavailable() -> None:
    recorder = Recorder(YFRateLimitError())
    provider, sleeps = provider_with(recorder, retries=3, backoff=1.0)
    with pytest.raises(ProviderUnavailable) as info:
        provider.fetch(["AAPL"])
    assert info.value.provider == "yfinance"
    assert info.value.reason.startswith(
        "rate limited by Yahoo (HTTP 429) fetching AAPL; gave up after 4 attempts"
    )
    assert sleeps == [1.0, 2.0, 4.0] and len(recorder.calls) == 4


def test_network_unreachable_is_provider_unavailable() -> None:
    recorder = Recorder(CurlConnectionError("Failed to resolve host 'query2.finance.yahoo.com'"))
    provider, sleeps = provider_with(recorder, retries=1)
    with pytest.raises(ProviderUnavailable) as info:
        provider.fetch(["AAPL", "MSFT"])
    assert "network error fetching AAPL; gave up after 2 attempts" in info.value.reason
    assert "Failed to resolve host" in info.value.reason
    assert len(recorder.calls) == 2 and sleeps == [1.0]


class FakeClock:
    """A monotonic clock that moves only when the provider sleeps (or a call takes time)."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def clocked_provider(
    recorder: Recorder, clock: FakeClock, call_seconds: float = 0.0, **kwargs: Any
) -> YFinanceProvider:
    provider = YFinanceProvider(sleep=clock.sleep, clock=clock, **kwargs)

    def timed(
        ticker: str, start: dt.date | None, end: dt.date | None, timeout: float
    ) -> pd.DataFrame:
        clock.now += min(call_seconds, timeout)  # a request never runs past its time-out
        return recorder(ticker, start, end, timeout)

    provider._download = timed  # type: ignore[method-assign]
    return provider


def test_without_a_deadline_each_attempt_has_the_configured_timeout() -> None:
    recorder = Recorder(YFRateLimitError(), history_frame("AAPL"))
    clock = FakeClock()
    provider = clocked_provider(recorder, clock, timeout=7.0, retries=2)
    provider.fetch(["AAPL"])
    assert recorder.timeouts == [7.0, 7.0]


def test_the_retries_stop_at_the_deadline() -> None:
    # Throttled every time; attempts take 1 s; back-off 1, 2, 4 s; deadline 5 s from now.
    # Attempt 1 ends at 1 s, sleep 1 -> attempt 2 at 2 s ends at 3 s; the next back-off (2 s)
    # would end at 5 s, the deadline: no third attempt.
    recorder = Recorder(YFRateLimitError())
    clock = FakeClock(100.0)
    provider = clocked_provider(recorder, clock, call_seconds=1.0, retries=3, backoff=1.0)
    with pytest.raises(ProviderUnavailable) as info:
        provider.fetch(["AAPL"], deadline=105.0)
    assert len(recorder.calls) == 2 and clock.sleeps == [1.0]
    assert clock.now == 103.0
    assert info.value.reason.startswith(
        "rate limited by Yahoo (HTTP 429) fetching AAPL; gave up after 2 attempts "
        "(no time left for another before the deadline)"
    )


def test_each_attempt_timeout_is_cut_to_the_time_left() -> None:
    recorder = Recorder(CurlTimeout("timed out"), history_frame("AAPL"))
    clock = FakeClock(0.0)
    provider = clocked_provider(recorder, clock, call_seconds=10.0, timeout=3.0, backoff=0.5)
    result = provider.fetch(["AAPL"], deadline=4.0)
    # First attempt: min(3, 4) = 3 s, times out at 3 s; sleep 0.5; second: the 0.5 s left.
    assert recorder.timeouts == [3.0, 0.5] and len(result.bars) == 16


def test_a_deadline_already_passed_asks_nothing() -> None:
    recorder = Recorder(history_frame("AAPL"))
    clock = FakeClock(10.0)
    provider = clocked_provider(recorder, clock)
    with pytest.raises(ProviderUnavailable, match="the deadline passed before an answer"):
        provider.fetch(["AAPL"], deadline=9.0)
    assert recorder.calls == []


def test_the_deadline_is_shared_by_the_tickers_of_one_fetch() -> None:
    recorder = Recorder(lambda ticker: history_frame(ticker))
    clock = FakeClock(0.0)
    provider = clocked_provider(recorder, clock, call_seconds=2.0)
    with pytest.raises(ProviderUnavailable, match="no time left to ask for MSFT"):
        provider.fetch(["AAPL", "MSFT"], deadline=2.0)
    assert [c[0] for c in recorder.calls] == ["AAPL"]


def test_an_unexpected_yfinance_error_is_not_retried() -> None:
    recorder = Recorder(KeyError("chart"))
    provider, sleeps = provider_with(recorder)
    with pytest.raises(ProviderUnavailable, match="yfinance failed fetching AAPL: KeyError"):
        provider.fetch(["AAPL"])
    assert len(recorder.calls) == 1 and sleeps == []


def test_unknown_tickers_go_in_failures() -> None:
    def answer(ticker: str) -> pd.DataFrame:
        if ticker == "NOSUCHTICKER":
            raise YFTzMissingError(ticker)
        if ticker == "OLDCO":
            raise YFPricesMissingError(ticker, "(1d 2020-08-14 -> 2020-09-05)")
        if ticker == "BRK.B":
            return multi_frame()  # no column for it: an empty answer
        return history_frame(ticker)

    provider, _ = provider_with(Recorder(answer))
    result = provider.fetch(["AAPL", "NOSUCHTICKER", "OLDCO", "BRK.B"], start=FIRST, end=LAST)
    assert set(result.bars["ticker"]) == {"AAPL"}
    assert result.failures == {
        "NOSUCHTICKER": "$NOSUCHTICKER: possibly delisted; no timezone found",
        "OLDCO": "$OLDCO: possibly delisted; no price data found (1d 2020-08-14 -> 2020-09-05)",
        "BRK.B": "no prices from 2020-08-14 to 2020-09-04 "
        "(Yahoo spells share classes with '-', e.g. BRK-B)",
    }


def test_a_ticker_with_nothing_in_range_is_a_failure() -> None:
    provider, _ = provider_with(Recorder(history_frame("AAPL")))
    result = provider.fetch(["AAPL"], start=dt.date(2021, 1, 4), end=dt.date(2021, 1, 8))
    assert result.bars.empty and list(result.bars.columns) == BAR_COLUMNS
    assert result.failures == {"AAPL": "no prices from 2021-01-04 to 2021-01-08"}


@pytest.mark.parametrize(
    ("tickers", "start", "end", "message"),
    [
        (["AA PL"], None, None, "ticker 'AA PL' is malformed"),
        ([""], None, None, "ticker '' is malformed"),
        ("AAPL", None, None, "must be a list of tickers"),
        (["AAPL"], dt.date(2020, 9, 4), dt.date(2020, 8, 14), "start 2020-09-04 is after end"),
    ],
)
def test_bad_requests_are_invalid_input(
    tickers: Any, start: dt.date | None, end: dt.date | None, message: str
) -> None:
    recorder = Recorder(history_frame("AAPL"))
    provider, _ = provider_with(recorder)
    with pytest.raises(InvalidInput, match=message):
        provider.fetch(tickers, start=start, end=end)
    assert recorder.calls == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timeout": 0}, "timeout must be > 0"),
        ({"retries": -1}, "retries must be an integer >= 0"),
        ({"retries": 1.5}, "retries must be an integer >= 0"),
        ({"backoff": -1}, "backoff must be >= 0"),
    ],
)
def test_bad_settings_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        YFinanceProvider(**kwargs)


# --- through the real yfinance code, with Yahoo faked ----------------------------------------


@pytest.fixture
def yahoo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    fake = FakeYahoo()
    fake.install(monkeypatch, tmp_path)
    return fake


def test_download_passes_timeout_and_options_to_yfinance(yahoo: Any) -> None:
    before = yf.config.debug.hide_exceptions
    provider = YFinanceProvider(timeout=3.5, sleep=lambda _: None)
    result = provider.fetch(["AAPL"], start=FIRST, end=LAST)

    assert len(result.bars) == 16
    expected = frame_to_bars(multi_frame(), "AAPL")
    pd.testing.assert_frame_equal(result.bars, expected)
    history_calls = [
        (url, params, timeout) for url, params, timeout in yahoo.requests if "period1" in params
    ]
    assert len(history_calls) == 1
    url, params, timeout = history_calls[0]
    assert url.endswith("/v8/finance/chart/AAPL") and timeout == 3.5
    assert params["interval"] == "1d" and "div" in params["events"]
    # end is exclusive at Yahoo: the request runs to the start of the day after LAST.
    asked_end = pd.Timestamp(int(params["period2"]), unit="s", tz="UTC")
    assert asked_end.tz_convert("America/New_York").date() == dt.date(2020, 9, 5)
    assert yf.config.debug.hide_exceptions is before  # restored


def test_real_yfinance_errors_are_classified(yahoo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    provider = YFinanceProvider(retries=2, sleep=lambda _: None)

    # Unknown symbol: Yahoo answers 404. yfinance then looks the symbol up in its quote data
    # (a 404 too, raised as HTTPError) the first two times in a process ...
    result = provider.fetch(["NOSUCHTICKER", "MSFT"], start=FIRST, end=LAST)
    assert set(result.bars["ticker"]) == {"MSFT"}
    assert result.failures == {"NOSUCHTICKER": "Yahoo answered 404 Not Found for NOSUCHTICKER"}
    # ... and after that gives up at once with YFTzMissingError.
    monkeypatch.setattr(yfinance.base, "_tz_info_fetch_ctr", 2)
    result = provider.fetch(["NOSUCHTICKER"], start=FIRST, end=LAST)
    assert result.failures == {
        "NOSUCHTICKER": "$NOSUCHTICKER: possibly delisted; no timezone found"
    }

    # Throttled once, then answered.
    yahoo.fail_next(YFRateLimitError())
    assert len(provider.fetch(["MSFT"], start=FIRST, end=LAST).bars) == 16

    # Network down for every attempt.
    yahoo.fail_next(*[CurlConnectionError("Could not connect to server") for _ in range(3)])
    with pytest.raises(ProviderUnavailable, match="network error fetching AAPL; gave up after 3"):
        provider.fetch(["AAPL"], start=FIRST, end=LAST)
    assert yf.config.debug.hide_exceptions is True


def test_no_start_asks_yahoo_for_all_history(yahoo: Any) -> None:
    result = YFinanceProvider(sleep=lambda _: None).fetch(["MSFT"])
    assert len(result.bars) == 16 and result.failures == {}
    (params,) = [params for _, params, _ in yahoo.requests if "period1" in params]
    first = pd.Timestamp(int(params["period1"]), unit="s", tz="UTC")
    last = pd.Timestamp(int(params["period2"]), unit="s", tz="UTC")
    assert last.year - first.year >= 98  # yfinance's period="max" is 99 years for daily bars
