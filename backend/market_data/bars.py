"""The canonical shape of daily bars as they move between providers and the store.

Every provider returns a DataFrame with exactly `BAR_COLUMNS`: one row per (ticker, date),
`date` as `datetime.date`, tickers upper-case, prices as floats (NaN where the source has none),
`split` the split coefficient on the split date (1.0 otherwise), `dividend` the cash dividend on
its ex-date (0.0 otherwise).
"""

from __future__ import annotations

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


def empty_bars() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in BAR_COLUMNS}).astype(
        {"date": "object", "ticker": "object"}
    )
