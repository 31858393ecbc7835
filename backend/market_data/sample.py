"""The offline sample shipped with the service: real prices for a first start without network.

`sample/prices.csv.gz` holds the 504 S&P 500 constituents of the shared data set from
`DEFAULT_START` to its end (2021-04-21) plus SPY's adjusted close over the same window;
`sample/constituents.csv` names them. `sample/PROVENANCE.md` says where every value comes from
and how the files were cut. Rebuild with

    python -m backend.market_data.sample build --shared ../shared/data
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import shlex
import sys
from pathlib import Path
from typing import Sequence

import pandas as pd

from backend.market_data.bars import BAR_COLUMNS
from backend.reference.tickers import normalize_ticker

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
SAMPLE_PRICES = SAMPLE_DIR / "prices.csv.gz"
SAMPLE_CONSTITUENTS = SAMPLE_DIR / "constituents.csv"
SAMPLE_PROVENANCE = SAMPLE_DIR / "PROVENANCE.md"
SAMPLE_SOURCE = "sample"
DEFAULT_START = "2019-04-01"

SHARED_PRICES = "sp500_daily_2016_2021.csv.gz"
SHARED_CONSTITUENTS = "sp500_constituents.csv"
SHARED_SPY = "spy_adj_close_1993_2024.csv"
SHARED_README = "README.md"

SPY_TICKER = "SPY"
SPY_NAME = "SPDR S&P 500 ETF Trust"
SPY_SECTOR = "ETF"
SECURITY_COLUMNS = ["ticker", "name", "sector"]


class SampleBuildError(Exception):
    """The shared data is not what the sample is cut from."""


def read_sample_securities(path: Path = SAMPLE_CONSTITUENTS) -> pd.DataFrame:
    """Ticker, name and GICS sector of every constituent in the sample list, plus SPY
    ("SPDR S&P 500 ETF Trust", sector "ETF").

    The list is the source's 505 constituents; BF.B is among them although the source has no
    prices for it (so neither has the sample)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    expected = ["Symbol", "Name", "Sector"]
    if list(frame.columns) != expected:
        raise ValueError(f"{path}: expected the columns {expected}, found {list(frame.columns)}")
    rows = []
    for line, (symbol, name, sector) in enumerate(frame.itertuples(index=False), start=2):
        ticker = normalize_ticker(symbol)
        if ticker is None or not name.strip() or not sector.strip():
            raise ValueError(f"{path}, line {line}: bad constituent {symbol!r}, {name!r}")
        rows.append((ticker, name.strip(), sector.strip()))
    if any(ticker == SPY_TICKER for ticker, _, _ in rows):
        raise ValueError(f"{path}: SPY is not expected among the constituents")
    rows.append((SPY_TICKER, SPY_NAME, SPY_SECTOR))
    securities = pd.DataFrame(rows, columns=SECURITY_COLUMNS).astype(object)
    duplicated = securities["ticker"][securities["ticker"].duplicated()].tolist()
    if duplicated:
        raise ValueError(f"{path}: tickers listed twice: {duplicated}")
    return securities


def build_sample(
    shared_data_dir: Path,
    out_dir: Path = SAMPLE_DIR,
    start: str = DEFAULT_START,
    command: str | None = None,
) -> dict[str, object]:
    """Cut the sample from the shared data into `out_dir` and return what was written.

    Rows of the S&P 500 file dated `start` or later are copied byte for byte; SPY's rows of
    the same window are added as `date,SPY,,,,,adj_close,,,` (that file has only the adjusted
    close), its value text unchanged. The output is gzip with no time stamp, so a rebuild from
    the same inputs gives the same bytes."""
    if len(start) != 10 or pd.to_datetime(start, format="%Y-%m-%d", errors="coerce") is pd.NaT:
        raise SampleBuildError(f"start {start!r} is not a YYYY-MM-DD date")
    sources = {
        name: shared_data_dir / name
        for name in (SHARED_PRICES, SHARED_CONSTITUENTS, SHARED_SPY, SHARED_README)
    }
    for path in sources.values():
        if not path.is_file():
            raise SampleBuildError(f"missing shared data file: {path}")

    header, stock_lines, end = _cut_stocks(sources[SHARED_PRICES], start)
    spy_lines = _cut_spy(sources[SHARED_SPY], start, end)
    out_dir.mkdir(parents=True, exist_ok=True)
    prices_path = out_dir / SAMPLE_PRICES.name
    body = "\n".join([header, *stock_lines, *spy_lines]) + "\n"
    with open(prices_path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(body.encode("utf-8"))
    constituents_path = out_dir / SAMPLE_CONSTITUENTS.name
    constituents_path.write_bytes(sources[SHARED_CONSTITUENTS].read_bytes())

    first: dict[str, str] = {}
    last: dict[str, str] = {}
    for line in stock_lines:
        day, ticker = line[:10], line.split(",", 2)[1]
        first[ticker] = min(first.get(ticker, day), day)
        last[ticker] = max(last.get(ticker, day), day)
    tickers = set(first)
    summary: dict[str, object] = {
        "start": start,
        "end": end,
        "stock_rows": len(stock_lines),
        "stock_tickers": len(tickers),
        "spy_rows": len(spy_lines),
        "rows": len(stock_lines) + len(spy_lines),
        "tickers": len(tickers) + 1,
        "bytes": prices_path.stat().st_size,
        "late_starts": sorted(t for t, day in first.items() if day > start),
        "early_ends": sorted(t for t, day in last.items() if day < end),
    }
    provenance = _provenance(sources, prices_path, constituents_path, summary, command)
    (out_dir / SAMPLE_PROVENANCE.name).write_text(provenance, encoding="utf-8")
    return summary


def _cut_stocks(path: Path, start: str) -> tuple[str, list[str], str]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        lines = handle.read().splitlines()
    header = lines[0]
    if header.split(",") != BAR_COLUMNS:
        raise SampleBuildError(f"{path}: unexpected header {header!r}")
    kept = [line for line in lines[1:] if line[:10] >= start]
    if not kept:
        raise SampleBuildError(f"{path}: no rows on or after {start}")
    if any(line.split(",", 2)[1] == SPY_TICKER for line in kept):
        raise SampleBuildError(f"{path}: already holds SPY rows")
    return header, kept, max(line[:10] for line in kept)


def _cut_spy(path: Path, start: str, end: str) -> list[str]:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    if rows[0] != ["date", "adj_close"]:
        raise SampleBuildError(f"{path}: unexpected header {rows[0]}")
    kept = [
        f"{day},{SPY_TICKER},,,,,{adj_close},,,"
        for day, adj_close in rows[1:]
        if start <= day <= end
    ]
    if not kept:
        raise SampleBuildError(f"{path}: no SPY rows between {start} and {end}")
    return kept


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _provenance(
    sources: dict[str, Path],
    prices: Path,
    constituents: Path,
    summary: dict[str, object],
    command: str | None,
) -> str:
    readme = sources[SHARED_README].read_text(encoding="utf-8").strip()
    out = io.StringIO()
    out.write("# Provenance of the offline sample\n\n")
    out.write(
        "Everything here is real market history, cut from the project's shared data set "
        "(`../shared/data`) without changing any value. Nothing is synthetic.\n\n"
    )
    out.write("## What was selected, and how\n\n")
    out.write(
        f"* `{prices.name}` -- long format, the shared S&P 500 file's header "
        f"(`{','.join(BAR_COLUMNS)}`).\n"
        f"  * From `{SHARED_PRICES}`: every row dated {summary['start']} or later, copied line "
        f"for line (text unchanged, file order kept): {summary['stock_rows']:,} rows, "
        f"{summary['stock_tickers']} tickers, {summary['start']} to {summary['end']}.\n"
        f"  * From `{SHARED_SPY}`: SPY's rows dated {summary['start']} to {summary['end']} "
        f"(the end of the S&P 500 file), appended after the stocks as "
        f"`date,SPY,,,,,adj_close,,,`: {summary['spy_rows']} rows. That file has only the "
        "adjusted close (split- and dividend-adjusted), so SPY's open, high, low, close, "
        "volume, dividend and split cells are empty; the price-file reader reads the empty "
        "dividend and split cells as 0.0 and 1.0 (no event recorded) -- SPY's dividends are "
        "in its adjusted close only.\n"
        f"  * {summary['rows']:,} rows, {summary['tickers']} tickers in all; gzip level 9 "
        f"without a time stamp, {summary['bytes']:,} bytes.\n"
        f"* `{constituents.name}` -- a byte-for-byte copy of `{SHARED_CONSTITUENTS}` (505 "
        "constituents; BF.B is listed but has no prices at the source). The service adds SPY "
        f'("{SPY_NAME}", sector "{SPY_SECTOR}") to it when loading.\n\n'
    )
    late = ", ".join(summary["late_starts"]) or "none"  # type: ignore[arg-type]
    early = ", ".join(summary["early_ends"]) or "none"  # type: ignore[arg-type]
    out.write(
        "Shorter histories in this window are real, not gaps in the cut: tickers whose first "
        f"bar in the source is after {summary['start']}: {late}; tickers whose last bar is "
        f"before {summary['end']}: {early}.\n\n"
    )
    out.write("## Rebuilt with\n\n")
    shown = command or (
        f"python -m backend.market_data.sample build --shared <shared data dir> "
        f"--start {summary['start']}"
    )
    out.write(f"```\n{shown}\n```\n\n")
    out.write("SHA-256 of the inputs and outputs:\n\n")
    for name, path in sources.items():
        out.write(f"* `{name}` (input): `{_sha256(path)}`\n")
    for path in (prices, constituents):
        out.write(f"* `{path.name}` (output): `{_sha256(path)}`\n")
    out.write("\n## Provenance of the shared data (its README, verbatim)\n\n")
    for line in readme.splitlines():
        out.write(f"> {line}\n" if line else ">\n")
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m backend.market_data.sample", description="The offline price sample."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="rebuild the sample from the shared data")
    build.add_argument("--shared", type=Path, required=True, help="the shared data directory")
    build.add_argument("--out", type=Path, default=SAMPLE_DIR, help="where to write the sample")
    build.add_argument("--start", default=DEFAULT_START, help="first date kept (YYYY-MM-DD)")
    args = parser.parse_args(argv)
    shown = "python -m backend.market_data.sample " + shlex.join(
        list(argv) if argv is not None else sys.argv[1:]
    )
    try:
        summary = build_sample(args.shared, args.out, args.start, command=shown)
    except SampleBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"wrote {summary['rows']:,} rows for {summary['tickers']} tickers "
        f"({summary['start']} to {summary['end']}, {summary['bytes']:,} bytes) to {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
