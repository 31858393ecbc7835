"""Research benchmark: monthly backtests over the whole universe and full history, beside a
straightforward per-date loop run in the same process (and checked to give the same numbers).

    python -m bench.research_bench            (make bench runs it)

Data: the shared S&P 500 file (504 stocks, 2016-01-04 .. 2021-04-21) plus SPY from the shared SPY
file when ../shared/data holds them (or $AV_SHARED_DATA); otherwise the shipped sample
(2019-04-01 .. 2021-04-21). Prices are read into memory once (not timed): the figures are the
research work itself, as the service does it once the store's panel is loaded.

Figures:
- "warm": the process and the panel are loaded and the model's scores for this data version are
  cached (as the service keeps them); a new backtest request runs the backtest statistics.
- "from scratch": nothing cached — the model's signals, its cross-sectional scores and the
  backtest; for alphavelocity-v1 this includes scoring the whole panel with the engine.
- baseline: for each rebalance date, a loop over the tickers computes the model from each
  ticker's closes up to that date, then pandas/scipy rank, cut into quantiles and measure, one
  date at a time (for alphavelocity-v1: the engine on the history up to the date, one date at a
  time). Its numbers are checked against the vectorised ones ("same numbers").
Targets (issue 7): one model < 2 s warm; the four-model comparison < 8 s.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from backend.market_data.store import PricePanel
from backend.momentum.book_frames import BookFrames
from backend.momentum.engine import CompositeWeights, score_panel
from backend.momentum.service import ScoreBook, benchmarks_for
from backend.research.backtest import BacktestParams, rebalance_rows
from backend.research.models import model_names
from backend.research.schemas import BacktestResponse
from backend.research.service import ResearchService

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AV_SHARED_DATA", REPO.parent / "shared" / "data"))
SP500 = SHARED / "sp500_daily_2016_2021.csv.gz"
SPY_FILE = SHARED / "spy_adj_close_1993_2024.csv"
SAMPLE = REPO / "backend" / "market_data" / "sample" / "prices.csv.gz"

T = TypeVar("T")


# --------------------------------------------------------------------------- data


def load_panel() -> tuple[PricePanel, str]:
    if SP500.exists() and SPY_FILE.exists():
        bars = pd.read_csv(SP500, usecols=["date", "ticker", "adj_close", "volume", "split"])
        spy = pd.read_csv(SPY_FILE)
        spy = spy[(spy["date"] >= bars["date"].min()) & (spy["date"] <= bars["date"].max())]
        spy = spy.assign(ticker="SPY", volume=np.nan, split=1.0)
        bars = pd.concat([bars, spy], ignore_index=True)
        label = "shared S&P 500 file + shared SPY file"
    else:
        bars = pd.read_csv(SAMPLE, usecols=["date", "ticker", "adj_close", "volume", "split"])
        label = "shipped sample"
    bars["date"] = pd.to_datetime(bars["date"])
    wide = bars.pivot(index="date", columns="ticker")
    tickers = sorted(bars["ticker"].unique())
    close = wide["adj_close"].reindex(columns=tickers).astype("float64")
    securities = pd.DataFrame(
        {
            "name": None,
            "sector": None,
            "category": None,
            "is_fixed_income": False,
            "data_source": "bench",
        },
        index=pd.Index(tickers, name="ticker"),
    )
    panel = PricePanel(
        close=close,
        raw_close=close,
        volume=wide["volume"].reindex(columns=tickers).astype("float64"),
        split=wide["split"].reindex(columns=tickers).astype("float64"),
        securities=securities,
        data_version=1,
    )
    return panel, label


class StaticMomentum:
    """Stands in for MomentumService: one ScoreBook, as for one data version of the store."""

    def __init__(self, book: ScoreBook) -> None:
        self._book = book

    def book(self, version: int | None = None) -> ScoreBook:
        return self._book


def build_book(panel: PricePanel) -> ScoreBook:
    benchmarks = benchmarks_for(panel.securities)
    frames = score_panel(panel.close, panel.volume, panel.split, benchmarks)
    return ScoreBook(panel, BookFrames.of(frames), CompositeWeights(), {}, benchmarks)


def best_of(repeat: int, fn: Callable[[], T]) -> tuple[float, T]:
    best, out = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    assert out is not None
    return best, out


# --------------------------------------------------------------------------- the baseline


def _percentile(values: pd.Series) -> pd.Series:
    n = len(values)
    if n == 1:
        return pd.Series(50.0, index=values.index)
    return 100.0 * (values.rank(method="average") - 1.0) / (n - 1.0)


def own_histories(close: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each ticker's own trading days and closes (NaN dropped once)."""
    out = {}
    for t in close.columns:
        s = close[t].dropna()
        out[str(t)] = (s.index.to_numpy(), s.to_numpy())
    return out


def _loop_values(
    name: str,
    close: pd.DataFrame,
    row: int,
    members: list[str],
    hist: dict[str, tuple[np.ndarray, np.ndarray]],
) -> pd.Series:
    """The model's scores on one date from each ticker's history up to it (a loop per ticker)."""
    date = close.index[row].to_datetime64()
    if name == "alphavelocity-v1":
        frames = score_panel(
            close.iloc[: row + 1], VOLUME.iloc[: row + 1], SPLIT.iloc[: row + 1], BENCH, rows=[-1]
        )
        return pd.Series(frames.overall[0], index=frames.tickers)[members].dropna()
    bd, bv = hist["SPY"]
    b = bv[: int(np.searchsorted(bd, date, side="right"))]
    raw: dict[str, Any] = {}
    for t in members:
        days, values = hist[t]
        k = int(np.searchsorted(days, date, side="right"))
        if k == 0 or days[k - 1] != date:
            continue
        s = values[:k]
        if name == "jt-12-1" and len(s) >= 253:
            raw[t] = s[-22] / s[-253] - 1.0
        elif name == "rs-rating" and len(s) >= 253 and len(b) >= 253:
            raw[t] = sum(
                w * (s[-1] / s[-1 - n]) / (b[-1] / b[-1 - n])
                for n, w in ((63, 0.4), (126, 0.2), (189, 0.2), (252, 0.2))
            )
        elif name == "risk-adjusted" and len(s) >= 274:
            weeks = 156 if len(s) >= 781 else 52
            pts = s[::-1][::5][: weeks + 1][::-1]
            vol = float(np.std(pts[1:] / pts[:-1] - 1.0, ddof=1)) * math.sqrt(52)
            if vol > 0:
                raw[t] = ((s[-22] / s[-148] - 1.0) / vol, (s[-22] / s[-274] - 1.0) / vol)
    if not raw:
        return pd.Series(dtype=float)
    if name == "risk-adjusted":
        frame = pd.DataFrame.from_dict(raw, orient="index", columns=["m6", "m12"])

        def z(x: pd.Series) -> pd.Series:
            sd = x.std(ddof=0)
            return (x - x.mean()) / sd if sd > 0 else x * 0.0

        final = z((z(frame["m6"]) + z(frame["m12"])) / 2.0).clip(-3.0, 3.0)
        return _percentile(final)
    values = pd.Series(raw, dtype=float)
    pct = _percentile(values)
    return np.floor(1.0 + 0.98 * pct + 0.5) if name == "rs-rating" else pct


def loop_backtest(
    name: str, panel: PricePanel, params: BacktestParams, members: list[str]
) -> dict[str, float]:
    close = panel.close
    hist = own_histories(close)
    ff = close.ffill()
    rows = rebalance_rows(close.index, params.rebalance, params.start, params.end).tolist()
    q, h, last = params.quantiles, params.horizon, len(close) - 1
    kept, ics, tops = [], [], []
    for row in rows:
        scores = _loop_values(name, close, row, members, hist)
        if len(scores) < q:
            continue
        kept.append(row)
        labels = np.floor(q * (scores.rank(method="average") - 1.0) / len(scores)) + 1
        tops.append(list(scores.index[labels == q]))
        if row + h <= last:
            fwd = ff.iloc[row + h][scores.index] / close.iloc[row][scores.index] - 1.0
            ics.append(spearmanr(scores.to_numpy(), fwd.to_numpy()).statistic)
    growth = 1.0
    for k in range(len(kept) - 1):
        a, b = kept[k], kept[k + 1]
        growth *= 1.0 + float((ff.iloc[b][tops[k]] / close.iloc[a][tops[k]] - 1.0).mean())
    return {"ic_mean": float(np.nanmean(ics)), "growth_top": growth, "dates": len(kept)}


# --------------------------------------------------------------------------- the run


def agree(vec: BacktestResponse, loop: dict[str, float]) -> str:
    ok = (
        vec.rebalance_dates == loop["dates"]
        and math.isclose(vec.ic.mean or math.nan, loop["ic_mean"], rel_tol=1e-6, abs_tol=1e-9)
        and math.isclose(vec.growth.top_quantile or math.nan, loop["growth_top"], rel_tol=1e-9)
    )
    return "same numbers" if ok else "DIFFERENT NUMBERS"


def main() -> None:
    t0 = time.perf_counter()
    panel, label = load_panel()
    global VOLUME, SPLIT, BENCH
    VOLUME, SPLIT = panel.volume, panel.split
    BENCH = benchmarks_for(panel.securities)
    n_dates, n_cols = panel.close.shape
    print(
        f"research bench: {label}: {n_cols - 1} stocks + SPY, {panel.close.index[0].date()} .. "
        f"{panel.close.index[-1].date()} ({n_dates} dates); "
        f"read in {time.perf_counter() - t0:.1f} s (not timed below)"
    )
    params = BacktestParams()  # monthly, horizon 21, 5 quantiles, no costs
    print(f"monthly rebalancing, horizon {params.horizon} days, {params.quantiles} quantiles")
    engine_s, book = best_of(2, lambda: build_book(panel))
    members = [t for t in panel.tickers if t != "SPY"]

    rows: list[tuple[str, float, float | None, float | None, str]] = []
    rows.append(("engine: alphavelocity-v1, every ticker x every date", engine_s, None, None, ""))
    warm = ResearchService(StaticMomentum(book))  # type: ignore[arg-type]
    vec_results: dict[str, BacktestResponse] = {}
    for name in model_names():

        def scratch(name: str = name) -> BacktestResponse:
            if name == "alphavelocity-v1":
                fresh = ResearchService(StaticMomentum(build_book(panel)))  # type: ignore[arg-type]
            else:
                fresh = ResearchService(StaticMomentum(book))  # type: ignore[arg-type]
            return fresh.backtest(name, "all", params)

        scratch_s, result = best_of(2, scratch)
        warm.backtest(name, "all", params)  # fills the per-version score cache
        costs = iter(range(1, 1000))

        def again(name: str = name) -> BacktestResponse:
            # a new request (another cost) on cached scores: the backtest itself runs
            p = BacktestParams(cost_bps=float(next(costs)))
            return warm.backtest(name, "all", p)

        warm_s, _ = best_of(5, again)
        vec_results[name] = result
        t1 = time.perf_counter()
        loop = loop_backtest(name, panel, params, members)
        loop_s = time.perf_counter() - t1
        rows.append((f"backtest {name}: warm", warm_s, None, None, "< 2 s"))
        rows.append(
            (
                f"backtest {name}: from scratch",
                scratch_s,
                loop_s,
                loop_s / scratch_s,
                agree(result, loop),
            )
        )

    def compare_scratch() -> Any:
        fresh = ResearchService(StaticMomentum(build_book(panel)))  # type: ignore[arg-type]
        return fresh.compare(model_names(), "all", params)

    cmp_s, cmp = best_of(2, compare_scratch)
    warm_cmp = ResearchService(StaticMomentum(book))  # type: ignore[arg-type]
    warm_cmp.compare(model_names(), "all", params)
    costs = iter(range(1, 1000))
    cmp_warm_s, _ = best_of(
        3,
        lambda: warm_cmp.compare(model_names(), "all", BacktestParams(cost_bps=float(next(costs)))),
    )
    aligned = BacktestParams(start=cmp.start)
    t1 = time.perf_counter()
    loops = [loop_backtest(m, panel, aligned, members) for m in model_names()]
    cmp_loop_s = time.perf_counter() - t1
    same = all(agree(r, lp) == "same numbers" for r, lp in zip(cmp.results, loops))
    rows.append(("compare 4 models: warm", cmp_warm_s, None, None, "< 8 s"))
    rows.append(
        (
            "compare 4 models: from scratch",
            cmp_s,
            cmp_loop_s,
            cmp_loop_s / cmp_s,
            "same numbers" if same else "DIFFERENT NUMBERS",
        )
    )

    print(f"\n{'':52s} {'vectorised':>11s} {'per-date loop':>14s} {'speed-up':>9s}  check")
    for what, vec, base, speed, note in rows:
        b = f"{base:13.2f}s" if base is not None else f"{'':14s}"
        sp = f"{speed:8.1f}x" if speed is not None else f"{'':9s}"
        print(f"{what:52s} {vec:10.3f}s {b} {sp}  {note}")
    print("\ntop-quintile growth of 1 / IC mean (vectorised, each model over its own period):")
    for name, r in vec_results.items():
        print(
            f"  {name:18s} {r.first_rebalance} .. {r.last_rebalance}  growth "
            f"{r.growth.top_quantile:.3f} (universe {r.growth.universe_equal_weight:.3f}, "
            f"SPY {r.growth.benchmark:.3f})  IC {r.ic.mean:+.4f} (t {r.ic.t_stat:+.2f})"
        )


VOLUME: pd.DataFrame
SPLIT: pd.DataFrame
BENCH: dict[str, str]

if __name__ == "__main__":
    main()
