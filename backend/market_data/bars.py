"""The canonical shape of daily bars as they move between providers and the store.

Every provider returns a DataFrame with exactly `BAR_COLUMNS`: one row per (ticker, date),
`date` as `datetime.date`, tickers upper-case, prices as floats (NaN where the source has none),
`split` the split coefficient on the split date (1.0 otherwise), `dividend` the cash dividend on
its ex-date (0.0 otherwise).
"""

from __future__ import annotations

import re

import pandas as pd

BAR_COLUMNS: list[str] = [
    "date",
    "ticker",
    "open",
    "high",
    "low",
    "close",
    "adj_close",
    "volume",
    "dividend",
    "split",
]
PRICE_COLUMNS: list[str] = ["open", "high", "low", "close", "adj_close"]

# 1-15 of A-Z 0-9 . - ^ = (case-insensitive on input, stored upper-case).
TICKER_CHARS = r"[A-Za-z0-9.\-^=]{1,15}"  # unanchored, for patterns made of tickers
TICKER_PATTERN = f"^{TICKER_CHARS}$"
TICKER_RE = re.compile(TICKER_PATTERN)
TICKER_RULE = "1 to 15 characters from A-Z, 0-9, '.', '-', '^', '='"


def normalize_ticker(raw: str) -> str | None:
    """The upper-case ticker, or None when `raw` breaks `TICKER_RULE`."""
    value = raw.strip()
    return value.upper() if TICKER_RE.fullmatch(value) else None


def empty_bars() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in BAR_COLUMNS}).astype(
        {"date": "object", "ticker": "object"}
    )
