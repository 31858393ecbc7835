"""Import recorded option chains into the snapshot store (`python -m backend.cli import-options`).

Formats: `lean` (a QuantConnect Lean universe file `yyyymmdd.csv`: it does not name its
underlying, so the ticker is required) and `yahoo-json` (a raw Yahoo Finance options answer,
which names it; a ticker given must match). The whole file is read and checked first
(`OptionFileError` names the line), then written in one transaction: all or nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from backend.options.errors import OptionInputError
from backend.options.lean import read_lean_chain
from backend.options.snapshot import (
    Snapshot,
    build_snapshot,
    from_lean,
    from_yahoo,
    new_york_day,
    next_earnings,
)
from backend.options.store import OptionStore, WriteResult
from backend.options.yahoo import read_yahoo_options

Format = Literal["lean", "yahoo-json"]
FORMATS: Final = ("lean", "yahoo-json")


def read_snapshot(path: Path, fmt: Format, ticker: str | None, rate: float) -> Snapshot:
    """The snapshot a file holds, analysed with `rate`; nothing is written."""
    if fmt == "lean":
        if ticker is None:
            raise OptionInputError("ticker", "a Lean chain file does not name its underlying")
        lean = read_lean_chain(path, ticker)
        contracts, as_of, spot = from_lean(lean)
        return build_snapshot(lean.ticker, contracts, as_of, spot, rate, f"lean:{path.name}")
    if fmt == "yahoo-json":
        yahoo = read_yahoo_options(path, ticker)
        contracts, as_of, spot = from_yahoo(yahoo)
        earnings = next_earnings(yahoo.earnings, new_york_day(as_of))
        return build_snapshot(
            yahoo.ticker, contracts, as_of, spot, rate, f"yahoo-json:{path.name}", earnings
        )
    raise OptionInputError("format", f"must be one of {', '.join(FORMATS)}")


def import_options_file(
    store: OptionStore, path: Path, fmt: Format, ticker: str | None, rate: float
) -> tuple[Snapshot, WriteResult]:
    """Read and check the whole file, then store its snapshot (replacing the same day's)."""
    snapshot = read_snapshot(path, fmt, ticker, rate)
    return snapshot, store.write([snapshot])
