"""The frames of a price panel (dates x tickers) and the bar column each is read from: shared by
the store, which builds the panel, and incremental scoring, which splices changed bars into it.
The engine scores the adjusted close; the as-traded close is shown beside it."""

from __future__ import annotations

from typing import Final

PANEL_COLUMNS: Final[dict[str, str]] = {
    "close": "adj_close",
    "raw_close": "close",
    "volume": "volume",
    "split": "split",
}
