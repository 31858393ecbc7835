"""Incremental scoring beside the full rebuild it replaces, in the same run (issue 12).

    python -m bench.incremental_bench                          # the shipped sample (505 x 2 y)
    python -m bench.incremental_bench --securities 1000 --years 10   # bench/scale_data's copies

A SQLite store in a temporary directory is filled with every bar but the last day's; then:

* baseline: the full build of the score book (what every data change cost before);
* append: the last day for every security is written, and the book of the new version is
  brought forward (the time printed is the book's, after the write);
* one security: a re-import rewriting one security's adjusted closes from mid-history;
* benchmark: the same for SPY, on which every equity's relative momentum depends;
* a full rebuild of the final store, and the check that it equals the incremental book.

Each step's figure is the median of ``--repeat`` rounds (the store is written again each round).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from backend.config import Settings
from backend.db.engine import make_engine
from backend.db.migrate import upgrade_to_head
from backend.market_data.bars import BAR_COLUMNS
from backend.market_data.providers.csv_file import read_price_file
from backend.market_data.sample import SAMPLE_PRICES
from backend.market_data.store import PriceStore
from backend.momentum.book_frames import BOOK_FIELDS
from backend.momentum.service import MomentumService

TARGET_APPEND_S = 2.0
TARGET_ONE_S = 1.0


def scale_bars(securities: int, years: int) -> pd.DataFrame:
    """bench/scale_data's securities (real prices under new tickers, chained back in time)."""
    from bench.scale_data import build_series, load_source, output_tickers

    _, series = build_series(load_source(), years)
    parts = [
        series[base].assign(ticker=ticker)
        for ticker, base in output_tickers(sorted(series), securities)
    ]
    spy = read_price_file(SAMPLE_PRICES)
    spy = spy[spy["ticker"] == "SPY"]
    bars = pd.concat([*parts, spy], ignore_index=True)
    bars["date"] = pd.to_datetime(bars["date"]).dt.date
    return bars[list(BAR_COLUMNS)]


def _timed(service: MomentumService) -> float:
    started = time.perf_counter()
    service.book()
    elapsed = time.perf_counter() - started
    assert service.last_build is not None
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--securities", type=int, default=0, help="0: the shipped sample")
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if args.securities:
        bars = scale_bars(args.securities, args.years)
        what = f"{args.securities} copies of the S&P 500 series x {args.years} years + SPY"
    else:
        bars = read_price_file(SAMPLE_PRICES)
        bars["date"] = pd.to_datetime(bars["date"]).dt.date
        what = "the shipped sample"
    days = sorted(bars["date"].unique())
    n_tickers = bars["ticker"].nunique()
    print(
        f"incremental scoring: {what}: {n_tickers} securities, {len(days)} days, {len(bars)} bars"
    )

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'store.db'}"
        engine = make_engine(url)
        upgrade_to_head(engine)
        store = PriceStore(engine)
        head = bars[bars["date"] < days[-1]]
        for start in range(0, len(head), 500_000):
            store.upsert_bars(head.iloc[start : start + 500_000], "bench")
        # The baseline and the check are full builds: no materialised book to start from.
        settings = Settings(database_url=url, score_snapshots=False)
        service = MomentumService(store, settings)
        full = [_timed(service)]
        last = bars[bars["date"] == days[-1]]
        one = bars[bars["ticker"] == sorted(set(bars["ticker"]) - {"SPY"})[0]]
        one = one[one["date"] >= days[len(days) // 2]]
        spy = bars[(bars["ticker"] == "SPY") & (bars["date"] >= days[len(days) // 2])]
        append, single, bench = [], [], []
        for k in range(args.repeat):
            factor = 1.0 + 0.01 * (k + 1)
            store.upsert_bars(last.assign(adj_close=last["adj_close"] * factor), "bench")
            append.append(_timed(service))
            assert service.last_build is not None and service.last_build.how == "incremental"
            store.upsert_bars(one.assign(adj_close=one["adj_close"] * factor), "bench")
            single.append(_timed(service))
            store.upsert_bars(spy.assign(adj_close=spy["adj_close"] * factor), "bench")
            bench.append(_timed(service))
            full.append(_timed(MomentumService(store, settings)))
        book = service.book()
        fresh = MomentumService(store, settings).book()
        # A new process (a restart, another replica) with materialised books: the first one
        # is written by a full build, the next process starts from it.
        with_snapshots = Settings(database_url=url, score_snapshots=True)
        writer = MomentumService(store, with_snapshots)
        writer.book()
        writer.wait_for_snapshot()
        restart = []
        for _ in range(args.repeat):
            restarted = MomentumService(store, with_snapshots)
            restart.append(_timed(restarted))
            assert restarted.last_build is not None and restarted.last_build.how == "snapshot"
        worst = max(
            float(np.nanmax(np.abs(getattr(book.frames, f) - getattr(fresh.frames, f)), initial=0))
            for f in BOOK_FIELDS
        )
        engine.dispose()

    def row(name: str, values: list[float], target: str = "") -> None:
        print(f"  {name:<44} {statistics.median(values) * 1000:10.1f} ms  {target}")

    print(f"  (medians of {args.repeat} rounds; the full build of {len(full)} processes)")
    row("baseline: full build of the score book", full)
    row("append one day for every security", append, f"target < {TARGET_APPEND_S:g} s")
    row("re-import one security from mid-history", single, f"target < {TARGET_ONE_S:g} s")
    row("re-import the benchmark (SPY) from mid-history", bench)
    row("a new process starting from the materialised book", restart)
    print(f"  largest difference incremental vs full, over every field: {worst:.3g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
