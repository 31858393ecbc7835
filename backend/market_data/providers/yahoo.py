"""Daily bars from Yahoo Finance through yfinance (1.7.0).

Why `Ticker.history` and not `yf.download`: in yfinance 1.7.0 `download` catches every
exception per ticker (`multi._download_one`: `except Exception` -> an empty frame and a logged
message), so throttling (`YFRateLimitError`) and network failures would come back as empty
columns, indistinguishable from an unknown ticker. `Ticker.history` raises them when
`yf.config.debug.hide_exceptions` is off, which `_download` does for the length of the call.
`history(auto_adjust=False, actions=True)` gives Open, High, Low, Close, Adj Close, Volume,
Dividends and Stock Splits (and Capital Gains for funds, which is not used).

The frame conversion accepts both layouts yfinance has produced: the MultiIndex columns of
recent `download` ((Price, Ticker) levels, even for one ticker, or (Ticker, Price) with
`group_by="ticker"`) and the flat columns of `Ticker.history` and older `download`.

Semantics worth knowing: Yahoo's Open/High/Low/Close and Volume are split-adjusted to today
(AAPL's close on 2020-08-28, 499.23 as traded, comes back as 124.8075 and its volume times 4)
and not dividend-adjusted; `Adj Close` is split- and dividend-adjusted. The store keeps open/
high/low/close and volume as traded (see `backend.market_data.bars`), so `frame_to_bars` undoes
the split adjustment with the splits in the frame itself; `Adj Close` is passed through
unchanged. Dividends are passed through as Yahoo gives them (Yahoo normally split-adjusts those
too; nothing downstream reads them yet). Yahoo spells share classes with '-' (BRK-B, not
BRK.B); tickers are sent as given.

Limits: the un-adjustment only sees the splits inside the fetched frame, while Yahoo adjusts for
every split up to today. A fetch without `end` runs to the latest bar, so it sees them all; a
fetch with an `end` before a later split gets bars still divided by that split's coefficient
(volume multiplied by it). `timeout` (cut to the time left before a `deadline`) reaches the
price request and the time-zone lookup yfinance makes the first time it sees a symbol (asked
for first, since yfinance's own lookup would use 10 s); the `info` fallback yfinance tries when
that lookup finds no zone (twice per process at most) keeps yfinance's time-outs. `yf.config`
is process-wide, so other yfinance users in the same process see exceptions raised while one of
our calls runs.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd
import yfinance as yf
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)
from tenacity.stop import stop_base
from yfinance.exceptions import (
    YFDataException,
    YFRateLimitError,
    YFTickerMissingError,
    YFTzMissingError,
)

from backend.errors import InvalidInput, ProviderUnavailable
from backend.market_data.bars import BAR_COLUMNS, empty_bars
from backend.market_data.providers.base import FetchResult
from backend.reference.tickers import TICKER_RULE, normalize_ticker

log = logging.getLogger(__name__)

PROVIDER_NAME = "yfinance"

# yfinance column -> canonical column.
YF_COLUMNS: dict[str, str] = {
    "Open": "open",
    "High": "high",
    "Low": "low",
    "Close": "close",
    "Adj Close": "adj_close",
    "Volume": "volume",
    "Dividends": "dividend",
    "Stock Splits": "split",
}
YF_PRICE_COLUMNS = ["Open", "High", "Low", "Close", "Adj Close"]

# `yf.config` is process-wide: serialise our calls that switch its exception hiding off.
_CONFIG_LOCK = threading.Lock()


class _TickerFailure(Exception):
    """yfinance says this ticker has no data (unknown, delisted, nothing in range)."""


class _OutOfTime(Exception):
    """The deadline passed before another attempt could be made."""


class _Transient(Exception):
    """Worth retrying: throttling or a network problem."""

    def __init__(self, kind: str, cause: BaseException) -> None:
        super().__init__(f"{kind}: {type(cause).__name__}: {cause}")
        self.kind = kind
        self.cause = cause


class _StopAtDeadline(stop_base):
    """Stop retrying when the back-off before the next attempt would end at or past the
    deadline (a `time.monotonic()` instant): a retry the caller can no longer wait for is not
    made."""

    def __init__(self, deadline: float, clock: Callable[[], float]) -> None:
        self.deadline = deadline
        self.clock = clock

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.clock() + retry_state.upcoming_sleep >= self.deadline


class YFinanceProvider:
    """`PriceProvider` over yfinance, one `Ticker.history` call per ticker.

    A call that is throttled or hits a network error is retried (tenacity) `retries` times, so
    at most `retries + 1` attempts, sleeping `backoff * 2**n` seconds before retry n
    (0-based). With a `deadline` (a `time.monotonic()` instant) no request outlives it: each
    attempt's time-out is cut to the time left, and a retry whose back-off would end past it is
    not made. When the attempts or the time run out, or yfinance fails in a way that is not
    about one ticker, `fetch` raises `ProviderUnavailable`; a ticker Yahoo has no data for goes
    in `failures`.
    """

    name = PROVIDER_NAME

    def __init__(
        self,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be an integer >= 0, got {retries!r}")
        if not backoff >= 0:
            raise ValueError(f"backoff must be >= 0 seconds, got {backoff!r}")
        self.timeout = float(timeout)
        self.retries = retries
        self.backoff = float(backoff)
        self._sleep = sleep
        self._clock = clock

    def fetch(
        self,
        tickers: Sequence[str],
        start: dt.date | None = None,
        end: dt.date | None = None,
        deadline: float | None = None,
    ) -> FetchResult:
        """Daily bars for `tickers` from `start` to `end`, both inclusive (None: all history /
        up to the latest bar), all of them before `deadline` (`time.monotonic()`; None: no
        limit but the time-out and retries)."""
        if isinstance(tickers, str):
            raise InvalidInput("tickers must be a list of tickers, not one string")
        if start is not None and end is not None and start > end:
            raise InvalidInput(
                f"start {start} is after end {end}", {"start": str(start), "end": str(end)}
            )
        wanted: list[str] = []
        for raw in tickers:
            ticker = normalize_ticker(raw) if isinstance(raw, str) else None
            if ticker is None:
                raise InvalidInput(
                    f"ticker {raw!r} is malformed: it must be {TICKER_RULE}", {"ticker": raw}
                )
            if ticker not in wanted:
                wanted.append(ticker)

        # yfinance's `end` is exclusive: ask for the day after the last one wanted.
        end_exclusive = end + dt.timedelta(days=1) if end is not None else None
        frames: list[pd.DataFrame] = []
        failures: dict[str, str] = {}
        for ticker in wanted:
            try:
                raw_frame = self._with_retries(ticker, start, end_exclusive, deadline)
            except _TickerFailure as exc:
                failures[ticker] = _failure_reason(ticker, str(exc))
                continue
            bars = frame_to_bars(raw_frame, ticker)
            if start is not None:
                bars = bars[bars["date"] >= start]
            if end is not None:
                bars = bars[bars["date"] <= end]
            if bars.empty:
                span = f"{start or 'the first bar'} to {end or 'the latest bar'}"
                failures[ticker] = _failure_reason(ticker, f"no prices from {span}")
                continue
            frames.append(bars)
        bars = pd.concat(frames, ignore_index=True) if frames else empty_bars()
        return FetchResult(bars=bars.reset_index(drop=True), failures=failures)

    def _attempt_timeout(self, ticker: str, deadline: float | None) -> float:
        """This attempt's time-out: the configured one, cut to the time left."""
        if deadline is None:
            return self.timeout
        left = deadline - self._clock()
        if left <= 0:
            raise _OutOfTime(f"no time left to ask for {ticker}")
        return min(self.timeout, left)

    def _with_retries(
        self,
        ticker: str,
        start: dt.date | None,
        end_exclusive: dt.date | None,
        deadline: float | None,
    ) -> pd.DataFrame:
        attempts = self.retries + 1
        stop: stop_base = stop_after_attempt(attempts)
        if deadline is not None:
            stop = stop | _StopAtDeadline(deadline, self._clock)

        def gave_up(state: RetryCallState) -> pd.DataFrame:
            assert state.outcome is not None
            exc = state.outcome.exception()
            assert isinstance(exc, _Transient)
            made = state.attempt_number
            why = "" if made == attempts else " (no time left for another before the deadline)"
            raise ProviderUnavailable(
                PROVIDER_NAME,
                f"{exc.kind} fetching {ticker}; gave up after {made} "
                f"attempt{'s' if made > 1 else ''}{why} "
                f"({type(exc.cause).__name__}: {exc.cause})",
            ) from exc.cause

        def before_sleep(state: RetryCallState) -> None:
            assert state.outcome is not None
            exc = state.outcome.exception()
            log.warning(
                "yfinance %s for %s (attempt %d of %d); retrying in %.1f s",
                getattr(exc, "kind", exc),
                ticker,
                state.attempt_number,
                attempts,
                state.upcoming_sleep,
            )

        retrying = Retrying(
            retry=retry_if_exception_type(_Transient),
            stop=stop,
            wait=wait_exponential(multiplier=self.backoff, exp_base=2, min=0),
            sleep=self._sleep,
            before_sleep=before_sleep,
            retry_error_callback=gave_up,
        )
        try:
            frame: pd.DataFrame = retrying(
                lambda: self._classified_download(
                    ticker, start, end_exclusive, self._attempt_timeout(ticker, deadline)
                )
            )
        except _OutOfTime as exc:
            raise ProviderUnavailable(
                PROVIDER_NAME, f"the deadline passed before an answer: {exc}"
            ) from None
        return frame

    def _classified_download(
        self,
        ticker: str,
        start: dt.date | None,
        end_exclusive: dt.date | None,
        timeout: float,
    ) -> pd.DataFrame:
        try:
            return self._download(ticker, start, end_exclusive, timeout)
        except YFTickerMissingError as exc:
            raise _TickerFailure(str(exc)) from exc
        except YFRateLimitError as exc:
            raise _Transient("rate limited by Yahoo (HTTP 429)", exc) from exc
        except YFDataException as exc:  # e.g. "YAHOO! FINANCE IS CURRENTLY DOWN!"
            raise _Transient("Yahoo answered with no usable data", exc) from exc
        except Exception as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if status == 404:
                raise _TickerFailure(f"Yahoo answered 404 Not Found for {ticker}") from exc
            if status is not None:
                raise _Transient(f"Yahoo answered HTTP {status}", exc) from exc
            if isinstance(exc, (OSError, TimeoutError)):  # requests/curl_cffi errors are OSErrors
                raise _Transient("network error", exc) from exc
            raise ProviderUnavailable(
                PROVIDER_NAME,
                f"yfinance failed fetching {ticker}: {type(exc).__name__}: {exc}",
            ) from exc

    def _download(
        self,
        ticker: str,
        start: dt.date | None,
        end_exclusive: dt.date | None,
        timeout: float,
    ) -> pd.DataFrame:
        """The one call to yfinance (tests replace this method)."""
        # No start: all history, which yfinance calls period="max".
        span: dict[str, Any] = {"period": "max"} if start is None else {"start": start}
        with _yfinance_raises():
            handle = yf.Ticker(ticker)
            # The first request for a symbol looks its time zone up with yfinance's own 10 s
            # time-out; asking for it first, with ours, keeps the whole call within `timeout`.
            lookup_tz = getattr(handle, "_get_ticker_tz", None)
            if lookup_tz is not None and lookup_tz(timeout=timeout) is None:
                raise YFTzMissingError(ticker)
            frame: pd.DataFrame = handle.history(
                **span,
                end=end_exclusive,
                interval="1d",
                auto_adjust=False,
                actions=True,
                timeout=timeout,
            )
        return frame


@contextmanager
def _yfinance_raises() -> Iterator[None]:
    """Make yfinance raise errors instead of logging them and returning an empty frame."""
    with _CONFIG_LOCK:
        before = yf.config.debug.hide_exceptions
        yf.config.debug.hide_exceptions = False
        try:
            yield
        finally:
            yf.config.debug.hide_exceptions = before


def _failure_reason(ticker: str, reason: str) -> str:
    if "." in ticker:
        reason += f" (Yahoo spells share classes with '-', e.g. {ticker.replace('.', '-')})"
    return reason


def frame_to_bars(frame: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """Canonical bars for `ticker` from a yfinance frame in either layout.

    Rows without any price are dropped; `Stock Splits` 0 (yfinance's "no split") becomes 1.0
    and an empty `Dividends` cell 0.0. Yahoo's split adjustment is undone so the bars are as
    traded: each row's open/high/low/close are multiplied, and its volume divided (then rounded
    to whole shares), by the product of the split coefficients dated strictly after it in the
    frame. Only splits inside the frame are seen (see the module docstring). Raises
    `ProviderUnavailable` when the frame is not in a layout yfinance is known to return."""
    flat = _flatten(frame, ticker)
    if flat is None:
        return empty_bars()
    prices = [column for column in YF_PRICE_COLUMNS if column in flat.columns]
    if not prices or flat[prices].isna().all().all():
        # Nothing to map (yfinance gives a failed ticker only empty price columns).
        return empty_bars()
    missing = [column for column in YF_COLUMNS if column not in flat.columns]
    if missing:
        raise ProviderUnavailable(
            PROVIDER_NAME,
            f"unexpected yfinance frame for {ticker}: no {', '.join(missing)} column "
            f"(columns: {', '.join(map(str, flat.columns))})",
        )
    if not isinstance(flat.index, pd.DatetimeIndex):
        raise ProviderUnavailable(
            PROVIDER_NAME,
            f"unexpected yfinance frame for {ticker}: the index is "
            f"{type(flat.index).__name__}, not dates",
        )
    flat = flat[list(YF_COLUMNS)].astype("float64")
    flat = flat[flat[YF_PRICE_COLUMNS].notna().any(axis=1)]
    # Exchange-local midnight (tz-aware) or naive midnight: the calendar date either way.
    dates = pd.DatetimeIndex(flat.index).date
    bars = flat.rename(columns=YF_COLUMNS).reset_index(drop=True)
    bars["split"] = bars["split"].where(bars["split"].notna() & (bars["split"] != 0), 1.0)
    bars["dividend"] = bars["dividend"].fillna(0.0)
    bars.insert(0, "ticker", ticker)
    bars.insert(0, "date", dates)
    bars = bars[BAR_COLUMNS].astype({"date": "object", "ticker": "object"})
    bars.columns.name = None
    bars = bars.sort_values("date", kind="stable").reset_index(drop=True)
    return _unadjust_splits(bars)


def _unadjust_splits(bars: pd.DataFrame) -> pd.DataFrame:
    """Undo Yahoo's split adjustment of one ticker's date-sorted bars (see `frame_to_bars`)."""
    per_date = bars.groupby("date", sort=True)["split"].prod()
    # Product of the coefficients dated strictly after each date (1.0 after the last split).
    after = per_date.iloc[::-1].cumprod().iloc[::-1].shift(-1, fill_value=1.0)
    later = bars["date"].map(after).to_numpy(dtype="float64")
    if (later == 1.0).all():
        return bars
    bars = bars.copy()
    for column in ("open", "high", "low", "close"):
        bars[column] = bars[column] * later
    bars["volume"] = (bars["volume"] / later).round()
    return bars


def _flatten(frame: pd.DataFrame, ticker: str) -> pd.DataFrame | None:
    """One ticker's flat frame, or None when a MultiIndex frame has no column for it."""
    if not isinstance(frame.columns, pd.MultiIndex):
        return frame
    if frame.columns.nlevels != 2:
        raise ProviderUnavailable(
            PROVIDER_NAME,
            f"unexpected yfinance frame: {frame.columns.nlevels} column levels, expected 2",
        )
    price_level = next(
        (
            level
            for level in range(2)
            if set(frame.columns.get_level_values(level)) & set(YF_COLUMNS)
        ),
        None,
    )
    if price_level is None:
        raise ProviderUnavailable(
            PROVIDER_NAME, "unexpected yfinance frame: no level of its columns names prices"
        )
    ticker_level = 1 - price_level
    symbols = {str(s).upper(): s for s in frame.columns.get_level_values(ticker_level)}
    if ticker not in symbols:
        return None
    selected = frame.xs(symbols[ticker], axis=1, level=ticker_level)
    return selected if isinstance(selected, pd.DataFrame) else selected.to_frame()
