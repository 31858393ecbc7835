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


class Timing:
    """Wall and CPU (this process) seconds of repeated calls."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def run(self, fn: Callable[[], Any], repeats: int, warm_up: bool = True) -> Any:
        result = fn() if warm_up else None
        for _ in range(repeats):
            w, c = time.perf_counter(), time.process_time()
            result = fn()
            self.cpu.append(time.process_time() - c)
            self.wall.append(time.perf_counter() - w)
        return result

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


def baseline_latest(panel: Panel, tickers: Sequence[str]) -> dict[str, pd.DataFrame]:
    close, volume, split = panel
    spy = close["SPY"]
    return {t: reference_scores(close[t], volume[t], split[t], spy, last=1) for t in tickers}


def baseline_all(panel: Panel, tickers: Sequence[str]) -> dict[str, pd.DataFrame]:
    close, volume, split = panel
    spy = close["SPY"]
    return {t: reference_scores(close[t], volume[t], split[t], spy) for t in tickers}


def _fmt_s(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


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
    engine_latest = Timing()
    latest = engine_latest.run(lambda: score_panel(*panel, benchmark={}, rows=[-1]), args.repeats)
    base_latest = Timing()
    ref_latest = base_latest.run(lambda: baseline_latest(panel, tickers), 1, warm_up=False)
    diff_latest = 0.0
    for j, t in enumerate(tickers):
        ref = ref_latest[t]
        if len(ref) and ref.index[-1] == close.index[-1]:
            for name in FLOAT_FIELDS:
                a, b = float(getattr(latest, name)[0, j]), float(ref[name].iloc[-1])
                if not (np.isnan(a) and np.isnan(b)):
                    diff_latest = max(diff_latest, abs(a - b))

    # (b) every date, every ticker
    engine_all = Timing()
    full = engine_all.run(lambda: score_panel(*panel, benchmark={}), args.repeats_all)
    rng = np.random.default_rng(0)
    sample = sorted(rng.choice(tickers, size=min(args.baseline_sample, n_tickers), replace=False))
    base_sample = Timing()
    ref_all = base_sample.run(lambda: baseline_all(panel, sample), 1, warm_up=False)
    sample_scores = sum(len(r) for r in ref_all.values())
    scale = n_scores_all / max(sample_scores, 1)
    base_all_s, base_all_cpu = base_sample.median * scale, base_sample.cpu_median * scale
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

    print()
    header = (
        f"{'scenario':<30}{'engine wall':>13}{'(min)':>11}{'engine CPU':>13}{'target':>9}"
        f"{'':>6}{'baseline wall':>15}{'baseline CPU':>14}{'speed-up wall/CPU':>19}"
    )
    print(header)
    print("-" * len(header))
    for label, engine, target, base_wall, base_cpu, note in (
        ("(a) latest date, all tickers", engine_latest, TARGET_LATEST_S,
         base_latest.median, base_latest.cpu_median, "measured"),
        ("(b) every date, all tickers", engine_all, TARGET_ALL_S,
         base_all_s, base_all_cpu, "extrapolated"),
    ):  # fmt: skip
        verdict = "ok" if engine.median <= target else "SLOW"
        print(
            f"{label:<30}{_fmt_s(engine.median):>13}{_fmt_s(min(engine.wall)):>11}"
            f"{_fmt_s(engine.cpu_median):>13}{_fmt_s(target):>9}{verdict:>6}"
            f"{_fmt_s(base_wall):>15}{_fmt_s(base_cpu):>14}"
            f"{f'{base_wall / engine.median:.0f}x / {base_cpu / engine.cpu_median:.0f}x':>19}"
            f"  (baseline {note})"
        )
    print()
    print(
        f"(a) {n_tickers} tickers asked, {scored_latest} scored on {close.index[-1].date()} "
        f"(the others have no close that day); engine: median of {args.repeats} runs after a "
        f"warm-up; baseline: reference_scores(last=1) for each of the {n_tickers} tickers, once."
    )
    print(
        f"(b) {scored_all:,} overall scores ({n_scores_all:,} (date, ticker) cells with a close, "
        f"every component of each); engine: median of {args.repeats_all} runs; baseline measured "
        f"on {len(sample)} sampled tickers ({sample_scores:,} scores, {base_sample.median:.2f} s) "
        f"and extrapolated per score to all {n_scores_all:,}."
    )
    print(
        "wall = elapsed time (median, and min over the repeats); CPU = this process's CPU time "
        "(median), which other load on the machine inflates far less. speed-up = baseline / "
        "engine median, wall and CPU."
    )
    print(
        f"agreement with the reference: max |engine - reference| over every component = "
        f"{diff_latest:.2e} (latest, all tickers), {diff_all:.2e} (all dates, sample)"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
