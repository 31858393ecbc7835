"""Real prices for the tests: the slice of the shared data in ``tests/fixtures/real_prices/``.

The engine's tests (reference comparison, TA-Lib RSI, no look-ahead, AAPL's split, the late
starters VTRS and OTIS), the correlation tests and the Yahoo conversion test read the slice, so
they run from the repository alone. Only checks of the whole universe read the full shared data
(``../shared/data`` beside the repository, as CI clones it) and skip without it.

The slice is cut from the shared files without changing a value: every line of
``sp500_daily_2016_2021.csv.gz`` whose ticker is in ``TICKERS`` (text and order unchanged) and the
lines of ``spy_adj_close_1993_2024.csv`` dated within that file's first and last day. Rebuild it
(same bytes: gzip level 9, no time stamp) from the repository's root with

    .venv/bin/python -m tests.support.real_prices ../shared/data

and update the figures of ``tests/fixtures/real_prices/PROVENANCE.md`` from what it prints.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
SHARED_PRICES_NAME = "sp500_daily_2016_2021.csv.gz"
SHARED_SPY_NAME = "spy_adj_close_1993_2024.csv"
SHARED_PRICES = SHARED_DATA / SHARED_PRICES_NAME
SHARED_SPY = SHARED_DATA / SHARED_SPY_NAME

SLICE_DIR = REPO_ROOT / "tests" / "fixtures" / "real_prices"
SLICE_PRICES = SLICE_DIR / "sp500_daily_2016_2021_slice.csv.gz"
SLICE_SPY = SLICE_DIR / "spy_adj_close_2016_2021.csv.gz"

# The tickers the tests name, and why: long histories (AAPL, MSFT, XOM, JNJ, KO and the
# correlation set), splits in the window (AAPL 4-for-1 and TSLA 5-for-1 on 2020-08-31), late
# listings (VTRS 2020-11, CARR and OTIS 2020-03, CTVA, AMCR, FOX and DOW 2019), a history that ends
# early (VAR, 2021-04-16) and a 20-day mean that ties the close exactly (DISCK).
TICKERS = (
    "AAPL", "ALB", "AMCR", "AMD", "AMT", "CARR", "CCI", "CTVA", "DISCK", "DLR",
    "DOW", "EQIX", "FCX", "FOX", "INTC", "IRM", "JCI", "JNJ", "JPM", "KO",
    "MSFT", "NRG", "NVDA", "OTIS", "TSLA", "VAR", "VTRS", "XOM",
)  # fmt: skip

NEEDS_SHARED = (
    "needs the full shared data set in ../shared/data (all 504 tickers; not shipped, "
    "the tests' slice holds {n} of them)"
).format(n=len(TICKERS))


def _gzip(text: str) -> bytes:
    """``text`` as gzip level 9 with no file name or time stamp (the same bytes every time)."""
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def cut_prices(shared_prices: Path, tickers: Sequence[str] = TICKERS) -> tuple[str, str, str]:
    """The header and every line of ``tickers`` (unchanged, in file order), and the file's first
    and last dates (over all tickers): (csv text, first, last)."""
    with gzip.open(shared_prices, "rt", encoding="utf-8", newline="") as handle:
        lines = handle.read().splitlines()
    wanted = set(tickers)
    kept = [line for line in lines[1:] if line.split(",", 2)[1] in wanted]
    found = {line.split(",", 2)[1] for line in kept}
    if found != wanted:
        raise ValueError(f"{shared_prices}: no rows for {sorted(wanted - found)}")
    days = [line[:10] for line in lines[1:]]
    return "\n".join([lines[0], *kept]) + "\n", min(days), max(days)


def cut_spy(shared_spy: Path, first: str, last: str) -> str:
    """The header and SPY's lines dated ``first`` .. ``last`` (unchanged, in file order)."""
    lines = shared_spy.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines[1:] if first <= line[:10] <= last]
    return "\n".join([lines[0], *kept]) + "\n"


def build(shared_data: Path) -> dict[Path, bytes]:
    """The slice's files (path -> gzip bytes) cut from ``shared_data``."""
    prices, first, last = cut_prices(shared_data / SHARED_PRICES_NAME)
    spy = cut_spy(shared_data / SHARED_SPY_NAME, first, last)
    return {SLICE_PRICES: _gzip(prices), SLICE_SPY: _gzip(spy)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.real_prices",
        description="Cut the tests' slice of real prices from the shared data.",
    )
    parser.add_argument("shared", type=Path, help="the shared data directory (../shared/data)")
    args = parser.parse_args(argv)
    for path, data in build(args.shared).items():
        path.write_bytes(data)
        rows = gzip.decompress(data).decode("utf-8").count("\n") - 1
        digest = hashlib.sha256(data).hexdigest()
        print(f"{path.relative_to(REPO_ROOT)}: {rows:,} rows, {len(data):,} bytes, {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
