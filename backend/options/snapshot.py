"""A daily options snapshot as stored: the chain's contracts with our implied volatility, the
underlying's price and the 30-day ATM volatility, built from what a reader or the provider gives.

Pure: no I/O. `from_lean` and `from_yahoo` turn a reader's result into the one input shape
(`CHAIN_INPUT_COLUMNS` plus volume, open interest, vendor IV); `build_snapshot` analyses it
(`chain.analyse_chain`) and keeps, per contract, our volatility or the reason for none.

The snapshot's day is the New York date of `as_of` (one snapshot per ticker per trading day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from backend.options.chain import (
    ChainView,
    ConstantMaturity,
    analyse_chain,
    constant_maturity_iv,
    term_structure,
)
from backend.options.errors import OptionInputError
from backend.options.lean import LeanChain
from backend.options.quotes import NEW_YORK, session_close
from backend.options.yahoo import YahooChain

# Columns of `Snapshot.contracts`, in order (what the store keeps per contract).
CONTRACT_COLUMNS: Final = (
    "expiry",
    "strike",
    "right",
    "bid",
    "ask",
    "last",
    "volume",
    "open_interest",
    "vendor_iv",
    "iv",
    "iv_reason",
)
THIRTY_DAYS: Final = 30.0


@dataclass(frozen=True)
class Snapshot:
    ticker: str
    day: dt.date  # New York date of `as_of`
    as_of: dt.datetime  # when the quotes were taken (timezone-aware)
    spot: float
    rate: float
    source: str  # "lean:<file>", "yahoo-json:<file>", "yfinance"
    earnings_date: dt.date | None
    contracts: pd.DataFrame  # CONTRACT_COLUMNS
    atm_iv_30d: float | None
    atm_reason: str | None  # why there is no 30-day ATM volatility


def new_york_day(at: dt.datetime) -> dt.date:
    """The New York calendar date of a timezone-aware instant."""
    if at.tzinfo is None:
        raise OptionInputError("as_of", "a time without a time zone is ambiguous")
    return at.astimezone(NEW_YORK).date()


def from_lean(chain: LeanChain) -> tuple[pd.DataFrame, dt.datetime, float]:
    """(contracts, as_of, spot) of a Lean chain file: no bid or ask recorded, so every price
    is the last trade (`close`; 0 means no trade, kept missing); taken at the day's 16:00 New
    York close; the spot is the underlying row's close."""
    frame = chain.contracts
    last = frame["close"].astype(float)
    contracts = pd.DataFrame(
        {
            "expiry": frame["expiry"],
            "strike": frame["strike"].astype(float),
            "right": frame["right"],
            "bid": np.nan,
            "ask": np.nan,
            "last": last.where(last > 0),
            "volume": frame["volume"],
            "open_interest": frame["open_interest"],
            # Lean writes 0 where it has no volatility (the data's README): missing, not zero.
            "vendor_iv": frame["vendor_iv"].where(frame["vendor_iv"] > 0),
        }
    )
    return contracts, session_close(chain.day), float(chain.underlying.close)


def from_yahoo(chain: YahooChain) -> tuple[pd.DataFrame, dt.datetime, float]:
    """(contracts, as_of, spot) of a Yahoo answer: quoted at `regularMarketTime`; a zero last
    price means no trade (missing); a zero vendor volatility is missing too."""
    frame = chain.contracts
    last = frame["last"].astype(float)
    contracts = pd.DataFrame(
        {
            "expiry": frame["expiry"],
            "strike": frame["strike"].astype(float),
            "right": frame["right"],
            "bid": frame["bid"].astype(float),
            "ask": frame["ask"].astype(float),
            "last": last.where(last > 0),
            "volume": frame["volume"],
            "open_interest": frame["open_interest"],
            "vendor_iv": frame["vendor_iv"].where(frame["vendor_iv"] > 0),
        }
    )
    return contracts, chain.quote_time, float(chain.spot)


def next_earnings(earnings: tuple[dt.datetime, ...], day: dt.date) -> dt.date | None:
    """The first earnings date on or after `day` (New York dates), None when there is none."""
    upcoming = sorted(d for d in (new_york_day(e) for e in earnings) if d >= day)
    return upcoming[0] if upcoming else None


def build_snapshot(
    ticker: str,
    contracts: pd.DataFrame,
    as_of: dt.datetime,
    spot: float,
    rate: float,
    source: str,
    earnings_date: dt.date | None = None,
) -> Snapshot:
    """The snapshot of a chain: per contract our volatility (`analyse_chain`: mid quote, else
    last flagged, forward from put-call parity) or the reason it has none; the 30-day ATM
    volatility interpolated in total variance between the expiries around 30 days
    (`constant_maturity_iv`) over the term structure of 7 to 365 days."""
    view = analyse_chain(contracts, as_of, spot, rate)
    thirty = thirty_day(view)
    analysed = view.contracts
    out = pd.DataFrame(
        {
            "expiry": analysed["expiry"],
            "strike": analysed["strike"].astype(float),
            "right": analysed["right"],
            "bid": analysed["bid"].astype(float),
            "ask": analysed["ask"].astype(float),
            "last": analysed["last"].astype(float),
            "volume": analysed["volume"],
            "open_interest": analysed["open_interest"],
            "vendor_iv": analysed["vendor_iv"].astype(float),
            "iv": analysed["iv"].astype(float),
            "iv_reason": analysed["reason"].where(analysed["reason"] != "", None),
        }
    )
    return Snapshot(
        ticker=ticker,
        day=new_york_day(as_of),
        as_of=as_of,
        spot=spot,
        rate=rate,
        source=source,
        earnings_date=earnings_date,
        contracts=out[list(CONTRACT_COLUMNS)],
        atm_iv_30d=thirty.iv,
        atm_reason=thirty.reason,
    )


def thirty_day(view: ChainView) -> ConstantMaturity:
    """The 30-day constant-maturity ATM volatility of an analysed chain."""
    return constant_maturity_iv(term_structure(view.expiries), THIRTY_DAYS)
