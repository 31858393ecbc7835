"""Speed of the momentum engine beside the per-ticker baseline, on real prices, on one core.

    python -m bench.momentum_bench [--data PATH] [--repeats N] [--baseline-sample K]

Loads the real S&P 500 file (504 tickers, 2016-01-04 .. 2021-04-21) and SPY's adjusted close (no
volume; clipped to the same dates) into a dates x tickers panel, then times

  (a) the latest date for every ticker: ``score_panel(..., rows=[-1])``;
  (b) every score on every date: ``score_panel(...)``;

each as the median of repeats, beside the baseline run in the same process: the deliberately simple
one-security reference implementation (``tests/support/reference_momentum.py``) looped over the
tickers — for (a) over every ticker, for (b) over a sample of tickers, extrapolated to all of them.
Prints figures only: nothing here fails on a slow machine.
"""

from __future__ import annotations

import os

# One core: pin the BLAS / OpenMP pools before numpy is imported (OPENBLAS_CORETYPE is left alone).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy  # noqa: E402

from backend.momentum.engine import FLOAT_FIELDS, MODEL_VERSION, score_panel  # noqa: E402
from tests.support.reference_momentum import reference_scores  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT / ".." / "shared" / "data"
STOCK_FILE = "sp500_daily_2016_2021.csv.gz"
SPY_FILE = "spy_adj_close_1993_2024.csv"
TARGET_LATEST_S = 0.030
TARGET_ALL_S = 3.0

Panel = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]


def _files(data: Path) -> tuple[Path, Path]:
    """(stock file, SPY file) from a directory holding both, or from the stock file itself."""
    stock = data / STOCK_FILE if data.is_dir() else data
    spy = stock.parent / SPY_FILE
    for path in (stock, spy):
        if not path.is_file():
            raise SystemExit(f"price file not found: {path} (pass --data DIR or --data FILE)")
    return stock, spy


def load_panel(data: Path) -> Panel:
    """(close, volume, split): dates x tickers float64 frames, one block each, SPY included."""
    stock, spy_file = _files(data)
    bars = pd.read_csv(
        stock,
        usecols=["date", "ticker", "adj_close", "volume", "split"],
        parse_dates=["date"],
        dtype={"ticker": str, "adj_close": np.float64, "volume": np.float64, "split": np.float64},
    )
    spy = pd.read_csv(spy_file, parse_dates=["date"]).set_index("date")["adj_close"]
    first, last = bars["date"].min(), bars["date"].max()
    spy = spy.loc[first:last].astype(np.float64)
    dates = pd.DatetimeIndex(bars["date"].unique()).union(pd.DatetimeIndex(spy.index)).sort_values()
    tickers = sorted(bars["ticker"].unique())
    row = dates.get_indexer(pd.DatetimeIndex(bars["date"]))
    col = pd.Index(tickers).get_indexer(bars["ticker"])
    shape = (len(dates), len(tickers) + 1)
    columns = pd.Index(tickers + ["SPY"])
    frames = []
    for field in ("adj_close", "volume", "split"):
        values = np.full(shape, np.nan)
        values[row, col] = bars[field].to_numpy(dtype=np.float64)
        frames.append(values)
    close, volume, split = frames
    spy_rows = dates.get_indexer(pd.DatetimeIndex(spy.index))
    close[spy_rows, -1] = spy.to_numpy()
    split[spy_rows, -1] = 1.0  # SPY has no volume in the file: left NaN
    return tuple(pd.DataFrame(a, index=dates, columns=columns) for a in frames)  # type: ignore


def timed(fn: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    """Wall times of ``repeats`` calls after one warm-up call, and the last result."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def baseline_latest(panel: Panel, tickers: Sequence[str]) -> dict[str, pd.DataFrame]:
    close, volume, split = panel
    spy = close["SPY"]
    return {t: reference_scores(close[t], volume[t], split[t], spy, last=1) for t in tickers}


def baseline_all(panel: Panel, tickers: Sequence[str]) -> dict[str, pd.DataFrame]:
    close, volume, split = panel
    spy = close["SPY"]
    return {t: reference_scores(close[t], volume[t], split[t], spy) for t in tickers}


def _fmt_s(seconds: float) -> str:
    return f"{seconds * 1e3:9.1f} ms" if seconds < 10 else f"{seconds:9.1f} s "


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.momentum_bench", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data dir or stock file")
    parser.add_argument("--repeats", type=int, default=30, help="engine repeats, latest date")
    parser.add_argument("--repeats-all", type=int, default=5, help="engine repeats, all dates")
    parser.add_argument(
        "--baseline-sample", type=int, default=25, help="tickers timed for the all-dates baseline"
    )
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    panel = load_panel(args.data)
    close = panel[0]
    load_s = time.perf_counter() - t0
    n_dates, n_tickers = close.shape
    tickers = list(close.columns)
    n_scores_all = int(close.notna().sum().sum())

    print(f"AlphaVelocity momentum engine benchmark — model {MODEL_VERSION}")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"scipy {scipy.__version__}; {platform.machine()}, {os.cpu_count()} CPUs visible"
    )
    threads = ", ".join(
        f"{v}={os.environ.get(v)}"
        for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    )
    print(f"threads: {threads}; load average before: {os.getloadavg()[0]:.2f}")
    print(
        f"panel: {n_dates} dates x {n_tickers} tickers ({close.index[0].date()} .. "
        f"{close.index[-1].date()}), {n_scores_all:,} (date, ticker) closes; loaded in "
        f"{load_s:.2f} s"
    )

    # (a) latest date, every ticker
    lat_times, latest = timed(lambda: score_panel(*panel, benchmark={}, rows=[-1]), args.repeats)
    b0 = time.perf_counter()
    ref_latest = baseline_latest(panel, tickers)
    base_latest_s = time.perf_counter() - b0
    diff_latest = 0.0
    for j, t in enumerate(tickers):
        ref = ref_latest[t]
        if len(ref) and ref.index[-1] == close.index[-1]:
            for name in FLOAT_FIELDS:
                a, b = float(getattr(latest, name)[0, j]), float(ref[name].iloc[-1])
                if not (np.isnan(a) and np.isnan(b)):
                    diff_latest = max(diff_latest, abs(a - b))

    # (b) every date, every ticker
    all_times, full = timed(lambda: score_panel(*panel, benchmark={}), args.repeats_all)
    rng = np.random.default_rng(0)
    sample = sorted(rng.choice(tickers, size=min(args.baseline_sample, n_tickers), replace=False))
    b0 = time.perf_counter()
    ref_all = baseline_all(panel, sample)
    base_sample_s = time.perf_counter() - b0
    sample_scores = sum(len(r) for r in ref_all.values())
    base_all_s = base_sample_s * n_scores_all / max(sample_scores, 1)
    diff_all = 0.0
    for t in sample:
        j = tickers.index(t)
        rows = close.index.get_indexer(ref_all[t].index)
        for name in FLOAT_FIELDS:
            got = getattr(full, name)[rows, j]
            want = ref_all[t][name].to_numpy(dtype=np.float64)
            both = np.isfinite(got) & np.isfinite(want)
            if both.any():
                diff_all = max(diff_all, float(np.max(np.abs(got[both] - want[both]))))

    scored_latest = int(np.isfinite(latest.overall).sum())
    scored_all = int(np.isfinite(full.overall).sum())
    lat_med, all_med = statistics.median(lat_times), statistics.median(all_times)

    print()
    header = (
        f"{'scenario':<34}{'engine median':>14}{'engine min':>13}{'target':>10}{'':>5}"
        f"{'baseline (per-ticker ref.)':>28}{'speed-up':>11}"
    )
    print(header)
    print("-" * len(header))
    print(
        f"{'(a) latest date, all tickers':<34}{_fmt_s(lat_med):>14}{_fmt_s(min(lat_times)):>13}"
        f"{'30 ms':>10}{'ok' if lat_med <= TARGET_LATEST_S else 'SLOW':>5}"
        f"{_fmt_s(base_latest_s) + ' measured':>28}{base_latest_s / lat_med:>10.0f}x"
    )
    print(
        f"{'(b) every date, all tickers':<34}{_fmt_s(all_med):>14}{_fmt_s(min(all_times)):>13}"
        f"{'3 s':>10}{'ok' if all_med <= TARGET_ALL_S else 'SLOW':>5}"
        f"{_fmt_s(base_all_s) + ' extrap.':>28}{base_all_s / all_med:>10.0f}x"
    )
    print()
    print(
        f"(a) {n_tickers} tickers asked, {scored_latest} scored on {close.index[-1].date()} "
        f"(the others have no close that day); {args.repeats} repeats after a warm-up; "
        f"baseline: reference_scores(last=1) for each of the {n_tickers} tickers, run once."
    )
    print(
        f"(b) {scored_all:,} overall scores ({n_scores_all:,} (date, ticker) cells with a close, "
        f"every component for each); {args.repeats_all} repeats; baseline measured on "
        f"{len(sample)} sampled tickers ({sample_scores:,} scores, {base_sample_s:.2f} s) and "
        f"extrapolated per score to all {n_scores_all:,}."
    )
    print(
        f"agreement with the reference: max |engine - reference| over every component = "
        f"{diff_latest:.2e} (latest, all tickers), {diff_all:.2e} (all dates, sample)"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
