"""Build the scale data set of issue 12 from real prices: no number here is simulated.

    python -m bench.scale_data --securities N --years Y --out FILE [--per-file K]

Source: the 504 S&P 500 constituents of `../shared/data/sp500_daily_2016_2021.csv.gz`
(2016-01-04 -> 2021-04-21, resolved relative to the repository; `$AV_SHARED_DATA` overrides
the directory). Two kinds of copy:

* **securities**: output security `i` is source ticker `i mod 504` (in ticker order) under the
  new ticker `<ticker>.X<i div 504>` (`AAPL.X0`, `AAPL.X1`, ...), valid under `TICKER_RULE`
  and unique; copies of one source ticker hold the same prices.
* **years**: the file's five whole years 2016-2020 (1,259 NYSE sessions, the "unit") are
  repeated back in time: copy `k` sits on the 1,259 sessions of the exchange calendar (XNYS,
  exchange_calendars) just before copy `k-1` (copy 0 is the file itself, to 2021-04-21), so
  each copy is shifted by whole five-trading-year units and every date is a trading day. The
  output spans `years` calendar years ending on 2021-04-21 (its first date: the first session
  on or after that day `years` years earlier); older rows are left out.

Chaining: within copy `k` of a ticker, the adjusted close is multiplied by one factor and the
prices as traded (open, high, low, close and the cash dividend) by another, chosen so that the
return across the seam from copy `k` (its last day, source 2020-12-31) into copy `k-1` (its
first day, source 2016-01-04) is the source's own return of the day after the unit
(2020-12-31 -> 2021-01-04), for the adjusted close and the close alike: every series stays
continuous, and within a copy every price ratio is the source's (floats are written in full,
shortest round-trip form). Volumes and split coefficients are copied unchanged, so the splits
stay (AAPL's 4-for-1 of 2020-08-31 recurs every five years). A ticker
whose history does not cover the seam (listed after 2016-01-04, or without bars on
2020-12-31 / 2021-01-04) gets no copies back in time: its real short history only.

Output: the long CSV layout `import-prices` reads (`date,ticker,open,...,split`), gzip with no
time stamp or name in its header, so the same arguments give the same bytes. The importer
refuses a file that decompresses past 2 GB; `--per-file K` writes K securities per file
(`FILE` -> `<stem>-001.csv.gz`, ...) for large sets. The default size, 5,000 securities x 25
years, is about 30 million bars; without `--per-file`, a set that could decompress past the
importer's limit is split into as few files as keep each under it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import io
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from backend.market_data.bars import BAR_COLUMNS
from backend.market_data.providers.csv_file import MAX_DECOMPRESSED_BYTES

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AV_SHARED_DATA", REPO.parent / "shared" / "data"))
SOURCE_FILE = "sp500_daily_2016_2021.csv.gz"
CALENDAR = "XNYS"
UNIT_FIRST = dt.date(2016, 1, 4)  # the source's first session: a copy's first day
UNIT_LAST = dt.date(2020, 12, 31)  # the unit's last session: a copy's last day
AFTER_UNIT = dt.date(2021, 1, 4)  # the source's session after the unit: the seam's return
RAW = ["open", "high", "low", "close", "dividend"]  # chained on the close as traded
MAX_LINE_BYTES_ESTIMATE = 150
DEFAULT_SECURITIES = 5000
DEFAULT_YEARS = 25


@dataclass(frozen=True)
class ScalePlan:
    """What `generate` writes: the span and, per source ticker, its rows in the output."""

    first: dt.date
    last: dt.date
    copies: int  # copies back in time besides the file itself
    rows_by_base: dict[str, int]
    chained: int  # source tickers with copies back in time
    unit_sessions: int


def load_source(shared: Path = SHARED) -> pd.DataFrame:
    """The shared S&P 500 file as canonical columns, sorted by ticker then date."""
    frame = pd.read_csv(shared / SOURCE_FILE, dtype={"date": str, "ticker": str})
    frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
    return frame[BAR_COLUMNS].sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)


def sessions(first: dt.date, last: dt.date) -> pd.DatetimeIndex:
    """The exchange's trading days from `first` to `last` inclusive."""
    import exchange_calendars as xcals

    calendar = xcals.get_calendar(CALENDAR, start=pd.Timestamp(first), end=pd.Timestamp(last))
    return pd.DatetimeIndex(calendar.sessions)


def new_ticker(base: str, copy: int) -> str:
    return f"{base}.X{copy}"


def output_tickers(bases: list[str], securities: int) -> list[tuple[str, str]]:
    """(new ticker, source ticker) for each output security, in output order."""
    return [
        (new_ticker(bases[i % len(bases)], i // len(bases)), bases[i % len(bases)])
        for i in range(securities)
    ]


def span_start(last: dt.date, years: int) -> dt.date:
    """The calendar day `years` years before `last` (Feb 29 -> Feb 28)."""
    try:
        return last.replace(year=last.year - years)
    except ValueError:
        return last.replace(year=last.year - years, day=28)


def build_series(source: pd.DataFrame, years: int) -> tuple[ScalePlan, dict[str, pd.DataFrame]]:
    """Per source ticker, its output rows (every column but `ticker`) over `years` years."""
    last = source["date"].max().date()
    start = span_start(last, years)
    # The oldest copy starts less than one unit (five years) before `start`.
    calendar = sessions(span_start(min(start, UNIT_FIRST), 6), last)
    source_days = pd.DatetimeIndex(source["date"].unique()).sort_values()
    position = calendar.get_indexer(source_days)
    if (position < 0).any():
        raise ValueError(f"{SOURCE_FILE} has dates that are not {CALENDAR} sessions")
    in_unit = source_days <= pd.Timestamp(UNIT_LAST)
    unit_sessions = int(in_unit.sum())
    first_index = int(position[0])
    if int(position[in_unit][-1]) - first_index + 1 != unit_sessions:
        raise ValueError(f"{SOURCE_FILE} misses sessions of {CALENDAR} in 2016-2020")
    start_index = int(calendar.searchsorted(pd.Timestamp(start)))
    copies = max(0, -(-(first_index - start_index) // unit_sessions))
    day_position = pd.Series(position, index=source_days)

    out: dict[str, pd.DataFrame] = {}
    rows: dict[str, int] = {}
    chained = 0
    first_ts, unit_ts, after_ts = (pd.Timestamp(d) for d in (UNIT_FIRST, UNIT_LAST, AFTER_UNIT))
    for base, bars in source.groupby("ticker", sort=True):
        bars = bars.drop(columns="ticker").reset_index(drop=True)
        by_day = bars.set_index("date")
        parts = [bars]
        seam = (first_ts, unit_ts, after_ts)
        if copies and all(day in by_day.index for day in seam):
            chained += 1
            unit = bars[bars["date"] <= unit_ts]
            unit_position = day_position[unit["date"]].to_numpy()
            # copy k = copy k-1 x step: copy k's value on "2021-01-04" is copy k-1's first.
            adj_step = float(by_day.at[first_ts, "adj_close"] / by_day.at[after_ts, "adj_close"])
            raw_step = float(by_day.at[first_ts, "close"] / by_day.at[after_ts, "close"])
            adj_factor = raw_factor = 1.0
            for k in range(1, copies + 1):
                adj_factor *= adj_step
                raw_factor *= raw_step
                copy = unit.copy()
                copy["date"] = calendar[unit_position - k * unit_sessions]
                copy[RAW] = copy[RAW] * raw_factor
                copy["adj_close"] = copy["adj_close"] * adj_factor
                parts.append(copy)
        series = pd.concat(parts[::-1], ignore_index=True)
        series = series[series["date"] >= calendar[start_index]].reset_index(drop=True)
        out[str(base)] = series
        rows[str(base)] = len(series)
    plan = ScalePlan(
        first=calendar[start_index].date(),
        last=last,
        copies=copies,
        rows_by_base=rows,
        chained=chained,
        unit_sessions=unit_sessions,
    )
    return plan, out


def _csv_chunks(series: dict[str, pd.DataFrame], tickers: list[tuple[str, str]]) -> Iterator[bytes]:
    """The CSV text: each source ticker's rows are formatted once, then written under each of
    its new tickers (formatting floats is most of the cost). Floats in shortest round-trip
    form (pandas' default, fast in C; a `float_format` is formatted per value in Python)."""
    yield (",".join(BAR_COLUMNS) + "\n").encode()
    formatted: dict[str, tuple[list[str], list[str]]] = {}
    for ticker, base in tickers:
        if base not in formatted:
            frame = series[base]
            buffer = io.StringIO()
            frame.drop(columns="date").to_csv(
                buffer, header=False, index=False, lineterminator="\n"
            )
            formatted[base] = (
                frame["date"].dt.strftime("%Y-%m-%d").tolist(),
                buffer.getvalue().splitlines(),
            )
        days, rest = formatted[base]
        yield "".join(f"{d},{ticker},{r}\n" for d, r in zip(days, rest)).encode()


def write_gzip(path: Path, chunks: Iterator[bytes]) -> None:
    """Gzip with no time stamp and no file name in the header: same chunks, same bytes."""
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as packed,
    ):
        for chunk in chunks:
            packed.write(chunk)


def part_paths(out: Path, parts: int) -> list[Path]:
    """`out` itself for one file, else `<stem>-001.csv.gz`, ... beside it."""
    if parts == 1:
        return [out]
    stem = out.name.removesuffix(".gz").removesuffix(".csv")
    return [out.with_name(f"{stem}-{n:03d}.csv.gz") for n in range(1, parts + 1)]


def generate(
    out: Path,
    securities: int = DEFAULT_SECURITIES,
    years: int = DEFAULT_YEARS,
    per_file: int | None = None,
    shared: Path = SHARED,
) -> tuple[ScalePlan, list[Path], int]:
    """Write the data set; returns the plan, the files written and the number of bars."""
    if securities < 1 or years < 1:
        raise ValueError("securities and years must be at least 1")
    plan, series = build_series(load_source(shared), years)
    tickers = output_tickers(sorted(series), securities)
    bars = sum(plan.rows_by_base[base] for _, base in tickers)
    size = per_file or importable_per_file(bars, securities)
    groups = [tickers[i : i + size] for i in range(0, securities, size)]
    paths = part_paths(out, len(groups))
    for path, group in zip(paths, groups):
        write_gzip(path, _csv_chunks(series, group))
    return plan, paths, bars


def importable_per_file(bars: int, securities: int) -> int:
    """Securities per file so that no file decompresses past what the importer reads (a
    line is at most ~150 bytes: six floats in full plus date, ticker and volume)."""
    files = -(-bars * MAX_LINE_BYTES_ESTIMATE // MAX_DECOMPRESSED_BYTES)
    return -(-securities // files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--securities", type=int, default=DEFAULT_SECURITIES)
    parser.add_argument("--years", type=int, default=DEFAULT_YEARS)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--per-file", type=int, default=None, help="securities per file")
    args = parser.parse_args(argv)
    plan, paths, bars = generate(args.out, args.securities, args.years, args.per_file)
    print(
        f"scale data: {args.securities:,} securities x {args.years} years "
        f"({plan.first} -> {plan.last}), {bars:,} bars in {len(paths)} file(s): "
        + ", ".join(str(p) for p in paths)
    )
    print(
        f"real prices, not simulated: {SOURCE_FILE} copied under new tickers (<ticker>.X<n>); "
        f"2016-2020 ({plan.unit_sessions} {CALENDAR} sessions) repeated {plan.copies} time(s) back "
        f"in time, dates shifted by whole units of those sessions, prices chained at each seam "
        f"({plan.chained} of {len(plan.rows_by_base)} source tickers cover the seam; the others "
        "keep their real short history), splits and dividends kept"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
