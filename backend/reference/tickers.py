"""What a ticker may look like, and its one normal form (upper case)."""

from __future__ import annotations

import re

TICKER_CHARS = r"[A-Za-z0-9.\-^=]{1,15}"  # unanchored, for patterns made of tickers
TICKER_PATTERN = f"^{TICKER_CHARS}$"
TICKER_RE = re.compile(TICKER_PATTERN)
TICKER_RULE = "1 to 15 characters from A-Z, 0-9, '.', '-', '^', '='"


def normalize_ticker(raw: str) -> str | None:
    """The upper-case ticker, or None when `raw` breaks `TICKER_RULE`."""
    value = raw.strip()
    return value.upper() if TICKER_RE.fullmatch(value) else None
