"""The shipped options test data (tests/fixtures/options, see its PROVENANCE.md) and the way
the tests combine a Lean chain with its recorded quotes."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from backend.options.chain import ChainView, analyse_chain
from backend.options.lean import (
    LeanChain,
    read_lean_chain,
    read_lean_equity_daily,
    read_lean_quotes,
)
from backend.options.quotes import session_close
from backend.options.vix import read_vix_daily
from backend.options.yahoo import YahooChain, read_yahoo_options

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "options"
GOOG_DIR = FIXTURES / "lean" / "goog"
GOOG_QUOTES = FIXTURES / "lean" / "goog_2015_quote_american_700-800.zip"
GOOG_DAILY = FIXTURES / "lean" / "goog_daily_2015-12.csv"
YAHOO_AAPL = FIXTURES / "yahoo" / "yahoo_options_aapl_2016-09-06.json"
VIX = FIXTURES / "vix" / "vix_daily_2015-2020.csv"
GOOG_DAYS = [dt.date(2015, 12, d) for d in (22, 23, 24, 28, 29, 30, 31)]  # the seven chain files
QUOTE_DAYS = {dt.date(2015, 12, 23), dt.date(2015, 12, 24)}  # days with bid and ask recorded
# GOOG pays no dividend, and in December 2015 short rates were a fraction of a percent: the
# forward is implied from put-call parity, so r only discounts (C - P); the tests use r = 0
# and check that the results hardly move with r (test_goog_chains).
RATE = 0.0


@lru_cache(maxsize=None)
def goog_chain(day: dt.date) -> LeanChain:
    return read_lean_chain(GOOG_DIR / f"{day:%Y%m%d}.csv", "GOOG")


@lru_cache(maxsize=None)
def goog_quotes() -> pd.DataFrame:
    return read_lean_quotes(GOOG_QUOTES, "GOOG")


@lru_cache(maxsize=None)
def goog_daily() -> pd.DataFrame:
    return read_lean_equity_daily(GOOG_DAILY).set_index("date")


def goog_contracts(day: dt.date) -> pd.DataFrame:
    """The day's contracts as `analyse_chain` takes them: bid and ask from the recorded quotes
    on the two days that have them (NaN otherwise), the last trade (the chain's `close`, 0 when
    none) as `last`."""
    contracts = goog_chain(day).contracts.rename(columns={"close": "last"})
    quotes = goog_quotes()
    quotes = quotes[quotes["date"] == day][["expiry", "strike", "right", "bid", "ask"]]
    if quotes.empty:
        return contracts.assign(bid=np.nan, ask=np.nan)
    return contracts.merge(quotes, on=["expiry", "strike", "right"], how="left")


def goog_view(day: dt.date, rate: float = RATE) -> ChainView:
    """The chain analysed at the day's close (16:00 New York), against GOOG's official close
    of the day (`goog_daily_2015-12.csv`) as the spot."""
    spot = float(goog_daily().loc[day, "close"])
    return analyse_chain(goog_contracts(day), session_close(day), spot, rate)


@lru_cache(maxsize=None)
def yahoo_aapl() -> YahooChain:
    return read_yahoo_options(YAHOO_AAPL, "AAPL")


@lru_cache(maxsize=None)
def vix_closes() -> pd.Series:
    frame = read_vix_daily(VIX)
    return pd.Series(frame["close"].to_numpy(), index=pd.Index(frame["date"]), name="vix")
