"""Live option chains from Yahoo Finance through yfinance (`Ticker.options`,
`Ticker.option_chain(expiry)`), analysed into a `Snapshot`.

Bounded like the price provider (backend/market_data/providers/yahoo.py): each request's
time-out is PROVIDER_TIMEOUT_SECONDS cut to the time left before the caller's deadline (yfinance
1.7.0's option requests take no time-out argument, so the Ticker gets a request object of its
own that passes ours: nothing process-wide changes); no request starts past the deadline.
Misses are remembered (negative cache, in process): a ticker with no listed options for
ON_DEMAND_MISS_TTL_SECONDS, an unreachable provider for ON_DEMAND_UNAVAILABLE_TTL_SECONDS;
asking again within that time answers the same error without a request.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any, Final

import numpy as np
import pandas as pd

from backend.config import Settings
from backend.errors import AppError, NotFound, ProviderUnavailable
from backend.options.errors import OptionsError
from backend.options.snapshot import Snapshot, build_snapshot, new_york_day, next_earnings

PROVIDER_NAME: Final = "yfinance"
# Epochs outside 1970..2100 are not times of an options answer (as the Yahoo JSON reader).
MAX_EPOCH: Final = 4_102_444_800
EARNINGS_FIELDS: Final = ("earningsTimestamp", "earningsTimestampStart", "earningsTimestampEnd")


class BadAnswer(ProviderUnavailable):
    """One ticker's answer cannot be used (another symbol's, no price): remembered for that
    ticker only, not for the whole provider."""


class _TimedData:
    """yfinance's shared request object, with our time-out on every `get` (instance-local)."""

    def __init__(self, data: Any, timeout: Callable[[], float]) -> None:
        self._inner = data
        self._timeout = timeout

    def get(self, url: str, params: Any = None, timeout: float | None = None) -> Any:
        return self._inner.get(url=url, params=params, timeout=self._timeout())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def yfinance_ticker(symbol: str, timeout: Callable[[], float]) -> Any:
    """A yfinance Ticker whose requests use `timeout()` seconds."""
    import yfinance as yf

    ticker = yf.Ticker(symbol)
    ticker._data = _TimedData(ticker._data, timeout)
    return ticker


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def chain_frame(expiry: dt.date, calls: pd.DataFrame, puts: pd.DataFrame) -> pd.DataFrame:
    """One expiry's contracts from yfinance's frames (strike, lastPrice, bid, ask, volume,
    openInterest, impliedVolatility): non-finite or negative quotes are missing, a zero last
    price (no trade) and a zero vendor volatility are missing; rows without a positive strike
    are left out."""
    parts = []
    for right, frame in (("C", calls), ("P", puts)):
        if frame is None or frame.empty:
            continue
        numbers = {
            column: pd.to_numeric(frame[column], errors="coerce").astype(float)
            for column in ("strike", "lastPrice", "bid", "ask", "impliedVolatility")
        }
        numbers = {k: v.where(np.isfinite(v)) for k, v in numbers.items()}
        counts = {
            column: pd.to_numeric(frame[column], errors="coerce")
            for column in ("volume", "openInterest")
        }
        part = pd.DataFrame(
            {
                "expiry": expiry,
                "strike": numbers["strike"],
                "right": right,
                "bid": numbers["bid"].where(numbers["bid"] >= 0),
                "ask": numbers["ask"].where(numbers["ask"] >= 0),
                "last": numbers["lastPrice"].where(numbers["lastPrice"] > 0),
                "volume": counts["volume"].where(counts["volume"] >= 0).astype("Int64"),
                "open_interest": counts["openInterest"]
                .where(counts["openInterest"] >= 0)
                .astype("Int64"),
                "vendor_iv": numbers["impliedVolatility"].where(numbers["impliedVolatility"] > 0),
            }
        )
        parts.append(part[part["strike"] > 0])
    if not parts:
        return pd.DataFrame(
            columns=["expiry", "strike", "right", "bid", "ask", "last"]
            + ["volume", "open_interest", "vendor_iv"]
        )
    out = pd.concat(parts, ignore_index=True)
    return out.drop_duplicates(["expiry", "strike", "right"], keep="first")


class YFinanceOptions:
    """`OptionsProvider` over yfinance (see the module for the bounds)."""

    name = PROVIDER_NAME

    def __init__(
        self,
        timeout: float = 10.0,
        max_expiries: int = 16,
        miss_ttl: float = 3600.0,
        unavailable_ttl: float = 60.0,
        ticker_factory: Callable[[str, Callable[[], float]], Any] = yfinance_ticker,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout = timeout
        self.max_expiries = max_expiries
        self.miss_ttl = miss_ttl
        self.unavailable_ttl = unavailable_ttl
        self._factory = ticker_factory
        self._clock = clock
        self._misses: dict[str, tuple[float, AppError]] = {}
        self._lock = threading.Lock()

    def _remembered(self, ticker: str) -> AppError | None:
        with self._lock:
            for key in (ticker, "*"):
                found = self._misses.get(key)
                if found is not None and found[0] > self._clock():
                    return found[1]
        return None

    def _remember(self, key: str, exc: AppError, ttl: float) -> None:
        with self._lock:
            self._misses[key] = (self._clock() + ttl, exc)

    def snapshot(self, ticker: str, rate: float, deadline: float) -> Snapshot:
        remembered = self._remembered(ticker)
        if remembered is not None:
            raise remembered
        try:
            return self._snapshot(ticker, rate, deadline)
        except NotFound as exc:
            self._remember(ticker, exc, self.miss_ttl)
            raise
        except BadAnswer as exc:
            self._remember(ticker, exc, self.unavailable_ttl)
            raise
        except ProviderUnavailable as exc:
            self._remember("*", exc, self.unavailable_ttl)
            raise

    def _left(self, ticker: str, deadline: float) -> float:
        left = deadline - self._clock()
        if left <= 0:
            raise ProviderUnavailable(
                PROVIDER_NAME, f"the deadline passed while reading {ticker}'s option chains"
            )
        return min(self.timeout, left)

    def _ask(self, ticker: str, deadline: float, call: Callable[[], Any]) -> Any:
        self._left(ticker, deadline)
        try:
            return call()
        except ValueError as exc:  # yfinance: an expiry it does not list
            raise NotFound(f"{ticker}: {exc}", {"ticker": ticker}) from exc
        except AppError:
            raise
        except Exception as exc:  # network, throttling, a malformed answer
            raise ProviderUnavailable(
                PROVIDER_NAME, f"{type(exc).__name__} reading {ticker}'s options: {exc}"
            ) from exc

    def _snapshot(self, ticker: str, rate: float, deadline: float) -> Snapshot:
        try:
            return self._read(ticker, rate, deadline)
        except (ValueError, OverflowError, OSError, KeyError, TypeError) as exc:
            # A malformed date, epoch or frame in the answer (the reader's own refusals,
            # OptionsError, reach the caller as they are).
            if isinstance(exc, OptionsError):
                raise
            raise BadAnswer(
                PROVIDER_NAME, f"{ticker}'s options answer cannot be read: {exc}"
            ) from exc

    def _read(self, ticker: str, rate: float, deadline: float) -> Snapshot:
        handle = self._factory(ticker, lambda: self._left(ticker, deadline))
        listed = self._ask(ticker, deadline, lambda: tuple(handle.options))
        if not listed:
            raise NotFound(f"no options listed for {ticker}", {"ticker": ticker})
        frames = []
        underlying: dict[str, Any] = {}
        for text in listed[: self.max_expiries]:
            expiry = dt.date.fromisoformat(str(text))
            chain = self._ask(ticker, deadline, partial(handle.option_chain, text))
            if chain.calls is None and chain.puts is None:
                continue
            frames.append(chain_frame(expiry, chain.calls, chain.puts))
            underlying = dict(chain.underlying or underlying)
        spot = _number(underlying.get("regularMarketPrice"))
        at = _number(underlying.get("regularMarketTime"))
        if not frames or not spot > 0 or not 0 < at < MAX_EPOCH:
            raise BadAnswer(
                PROVIDER_NAME, f"{ticker}'s options answer has no chain, price or quote time"
            )
        symbol = underlying.get("symbol")
        if isinstance(symbol, str) and symbol.upper() != ticker.upper():
            raise BadAnswer(
                PROVIDER_NAME, f"asked for {ticker}'s options, the answer is {symbol}'s"
            )
        as_of = dt.datetime.fromtimestamp(at, dt.timezone.utc)
        earnings = tuple(
            dt.datetime.fromtimestamp(v, dt.timezone.utc)
            for v in (_number(underlying.get(f)) for f in EARNINGS_FIELDS)
            if 0 < v < MAX_EPOCH
        )
        contracts = pd.concat(frames, ignore_index=True)
        return build_snapshot(
            ticker,
            contracts,
            as_of,
            spot,
            rate,
            PROVIDER_NAME,
            next_earnings(earnings, new_york_day(as_of)),
        )


def build_options_provider(settings: Settings) -> YFinanceOptions | None:
    """The live options provider (DATA_PROVIDER=yfinance), None for `none`."""
    if settings.data_provider == "none":
        return None
    return YFinanceOptions(
        timeout=settings.provider_timeout_seconds,
        max_expiries=settings.options_max_expiries,
        miss_ttl=settings.on_demand_miss_ttl_seconds,
        unavailable_ttl=settings.on_demand_unavailable_ttl_seconds,
    )
