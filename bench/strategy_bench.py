"""Speed of the strategy backtest of the model rule (issue 13), beside a plain day-by-day
baseline run in the same process and checked to give the same trades and values.

    python -m bench.strategy_bench [--repeats N]      (make bench runs it)

Data: two spans, each said in the output.
  * the shipped sample (`backend/market_data/sample`): 2019-04-01 .. 2021-04-21, all of it
    (the sample holds two years, not five);
  * a five-year span, 2016-04-21 .. 2021-04-21, from the shared S&P 500 file and the shared
    SPY file (`../shared/data`, or $AV_SHARED_DATA) when they are present; otherwise skipped,
    saying so.
The universe is the model portfolio's nine categories and their members (the price files'
`FB` is today's `META`); members without prices are left out, as the run reports. Monthly
rebalancing, $100,000, 10 bps, minimum trade $100. Reading the files is not timed.

Figures (best of --repeats):
  (a) warm: `run_strategy` with the score frame already computed (as the service's score book
      holds it for a data version) — the target: under 2 s for a five-year monthly run;
  (b) from scratch: the engine scores the members and SPY on every date, then (a);
  (c) baseline: `tests/support/reference_strategy.py`, one day and one ticker at a time with
      pandas look-ups, scoring each rebalance date by running the engine on the history up to
      that date (the obvious way to avoid look-ahead); its trades and values are checked
      against (a);
  (d) the correlation matrix of every stock of the span beside `DataFrame.corr`;
  (e) the service behind `GET /api/v1/research/strategy` (`StrategyService`) over a SQLite
      store of the span's model members and SPY: the store's score book (once per data
      version), the first run (the inputs read once per data version, then the loop), a new
      parameter set, and a repeated one (answered from the cache).
Prints figures only: nothing here fails on a slow machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from backend.config import Settings
from backend.db.engine import make_engine
from backend.db.migrate import upgrade_to_head
from backend.market_data.bars import BAR_COLUMNS
from backend.market_data.sample import SAMPLE_PRICES
from backend.market_data.store import PriceStore
from backend.momentum.engine import score_panel
from backend.momentum.service import MomentumService
from backend.portfolios.analysis import category_targets
from backend.portfolios.correlation import correlation_matrix
from backend.portfolios.quotes import QuoteService
from backend.portfolios.strategy import (
    StrategyBars,
    StrategyParams,
    StrategyResult,
    run_strategy,
)
from backend.portfolios.strategy_service import StrategyService
from backend.reference.seed import SEED_CATEGORIES
from bench.research_bench import best_of
from tests.support.reference_strategy import reference_strategy

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AV_SHARED_DATA", REPO.parent / "shared" / "data"))
SP500 = SHARED / "sp500_daily_2016_2021.csv.gz"
SPY_FILE = SHARED / "spy_adj_close_1993_2024.csv"
ALIASES = {"FB": "META"}
MODEL = category_targets(SEED_CATEGORIES)
MEMBERS = {t for c in MODEL for t in c.tickers}
TARGET_S = 2.0
T = TypeVar("T")


def read_rows(path: Path) -> pd.DataFrame:
    rows = pd.read_csv(path, parse_dates=["date"])
    rows["ticker"] = rows["ticker"].replace(ALIASES)
    return rows


def with_spy(rows: pd.DataFrame) -> pd.DataFrame:
    """The shared SPY file's adjusted closes over the span of ``rows``, as SPY rows."""
    spy = pd.read_csv(SPY_FILE, parse_dates=["date"])
    spy = spy[(spy["date"] >= rows["date"].min()) & (spy["date"] <= rows["date"].max())]
    return pd.concat([rows, spy.assign(ticker="SPY", split=1.0)], ignore_index=True)


def wide(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    out = rows.pivot(index="date", columns="ticker", values=column)
    return out.rename_axis(index=None, columns=None).astype(np.float64)


class Span:
    """One data span: the model's members and SPY, wide, ready for the runs (not timed)."""

    def __init__(self, label: str, rows: pd.DataFrame, start: dt.date, end: dt.date) -> None:
        self.label, self.start, self.end = label, start, end
        self.rows = rows
        self.all_adj = wide(rows, "adj_close")
        model = rows[rows["ticker"].isin(MEMBERS | {"SPY"})]
        self.adj, self.volume, self.split = (
            wide(model, c) for c in ("adj_close", "volume", "split")
        )
        self.volume["SPY"] = np.nan  # the SPY file has no volume
        stocks = model[model["ticker"] != "SPY"]
        self.close, self.dividend = wide(stocks, "close"), wide(stocks, "dividend")
        self.bars = StrategyBars(self.close, self.dividend, wide(stocks, "split"))
        self.bench = self.adj["SPY"]
        self.benchmarks = {t: "SPY" for t in self.adj.columns}
        self.params = StrategyParams(
            start=start, end=end, rebalance="monthly", cash=100_000.0, cost_bps=10.0,
            min_trade=100.0,
        )  # fmt: skip

    def scores(self) -> pd.DataFrame:
        frames = score_panel(self.adj, self.volume, self.split, self.benchmarks)
        return frames.frame("overall")

    def run(self, scores: pd.DataFrame, redistribute: bool = False) -> StrategyResult:
        params = self.params
        if redistribute:
            params = StrategyParams(**{**params.__dict__, "redistribute_unpriced": True})
        return run_strategy(self.bars, scores, MODEL, params, benchmark=self.bench)

    def truncated_scores(self, day: pd.Timestamp) -> Mapping[str, float | None]:
        upto = self.adj.index <= day
        frames = score_panel(
            self.adj[upto], self.volume[upto], self.split[upto], self.benchmarks, rows=[-1]
        )
        row = frames.frame("overall").iloc[-1]
        return {str(t): (None if math.isnan(v) else float(v)) for t, v in row.items()}

    def baseline(self) -> tuple[pd.Series, list[tuple[object, ...]]]:
        ref = reference_strategy(
            self.close,
            self.dividend,
            self.bars.split,
            self.truncated_scores,
            MODEL,
            pd.Timestamp(self.start),
            pd.Timestamp(self.end),
            "monthly",
            self.params.cash,
            self.params.cost_bps,
            self.params.min_trade,
        )
        return ref.values, list(ref.trades)


def figures(res: StrategyResult) -> str:
    m, b = res.metrics, res.benchmark_metrics
    out = (
        f"TWR {m.twr:+.1%}, CAGR {m.cagr or math.nan:+.1%}, vol {m.volatility or math.nan:.1%}, "
        f"Sharpe {m.sharpe or math.nan:.2f}, max DD {m.max_drawdown:.1%} "
        f"({m.drawdown_peak.date()} -> {m.drawdown_trough.date()}), "
        f"turnover {res.annual_turnover or math.nan:.2f}/yr, costs ${res.costs_paid:,.0f}, "
        f"cash at end {res.cash.iloc[-1] / res.values.iloc[-1]:.0%}"
    )
    if b is not None:
        out += (
            f"\n      {res.benchmark_name}: TWR {b.twr:+.1%}, CAGR {b.cagr or math.nan:+.1%}, "
            f"vol {b.volatility or math.nan:.1%}, Sharpe {b.sharpe or math.nan:.2f}, "
            f"max DD {b.max_drawdown:.1%}"
        )
    return out


def bench_span(span: Span, repeats: int) -> None:
    scores = span.scores()
    days = span.bars.close.loc[pd.Timestamp(span.start) : pd.Timestamp(span.end)].index
    print(
        f"\n{span.label}: {span.start} .. {span.end} ({len(days)} trading days), "
        f"{span.close.shape[1]} of the model's {len(MEMBERS)} members have prices"
    )
    warm_s, res = best_of(repeats, lambda: span.run(scores))
    scratch_s, _ = best_of(repeats, lambda: span.run(span.scores()))
    base_s, (ref_values, ref_trades) = best_of(1, span.baseline)
    ours = [(t.date, t.ticker, t.side, t.shares, t.price) for r in res.rebalances for t in r.trades]
    same = ours == ref_trades and bool(np.allclose(res.values, ref_values, rtol=1e-12, atol=1e-6))
    print(f"  {len(res.rebalances)} monthly rebalances, {len(ours)} trades")
    verdict = "under" if warm_s < TARGET_S else "OVER"
    print(f"  (a) warm, scores given:           {warm_s * 1e3:8.1f} ms  ({verdict} {TARGET_S:g} s)")
    print(f"  (b) from scratch, engine + run:   {scratch_s * 1e3:8.1f} ms")
    print(
        f"  (c) baseline, day-by-day loop:    {base_s * 1e3:8.1f} ms  "
        f"({base_s / warm_s:.0f}x (a); same trades and values: {'yes' if same else 'NO'})"
    )
    print(f"  targets as given (uninvestable categories in cash):\n      {figures(res)}")
    spread = span.run(scores, redistribute=True)
    print(f"  redistribute_unpriced=True:\n      {figures(spread)}")
    adj = span.all_adj.loc[pd.Timestamp(span.start) : pd.Timestamp(span.end)]
    ours_s, _ = best_of(repeats, lambda: correlation_matrix(adj, 60))
    pandas_s, _ = best_of(repeats, lambda: adj.pct_change(fill_method=None).corr(min_periods=60))
    print(
        f"  (d) correlation of {adj.shape[1]} tickers over {adj.shape[0]} days: "
        f"{ours_s * 1e3:.0f} ms (pandas DataFrame.corr: {pandas_s * 1e3:.0f} ms)"
    )


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def bench_service(span: Span) -> None:
    """(e): the route's service over a store holding the span's members and SPY."""
    rows = span.rows[span.rows["ticker"].isin(MEMBERS | {"SPY"})].copy()
    rows["ticker"] = rows["ticker"].replace({v: k for k, v in ALIASES.items()})  # stored FB
    rows["date"] = pd.to_datetime(rows["date"]).dt.date
    for column in BAR_COLUMNS:
        if column not in rows.columns:
            rows[column] = 1.0 if column == "split" else (0.0 if column == "dividend" else np.nan)
    rows = rows[BAR_COLUMNS].fillna({"split": 1.0, "dividend": 0.0})
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'strategy.db'}"
        engine = make_engine(url)
        upgrade_to_head(engine)
        store = PriceStore(engine)
        store.upsert_bars(rows, source="bench")
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, database_url=url, data_provider="none", redis_url=""
        )
        momentum = MomentumService(store, settings, None)
        service = StrategyService(QuoteService(momentum), store)
        book_s, _ = timed(momentum.book)
        first_s, first = timed(lambda: service.run(span.params))
        other = StrategyParams(**{**span.params.__dict__, "cost_bps": 5.0})
        new_s, _ = timed(lambda: service.run(other))
        again_s, _ = timed(lambda: service.run(span.params))
        engine.dispose()
    verdict = "under" if first_s < TARGET_S else "OVER"
    print(
        f"  (e) the route's service over a store of {rows['ticker'].nunique()} tickers "
        f"({len(rows):,} bars): {first.trading_days} days, {len(first.rebalances)} rebalances"
    )
    print(f"      score book of the store (once per data version): {book_s * 1e3:8.1f} ms")
    print(f"      first run (inputs + loop + answer):              {first_s * 1e3:8.1f} ms  "
          f"({verdict} {TARGET_S:g} s)")  # fmt: skip
    print(f"      a new parameter set:                             {new_s * 1e3:8.1f} ms")
    print(
        f"      the same parameters again (cached; reads the data version): {again_s * 1e3:.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"strategy bench: Python {platform.python_version()}, pandas {pd.__version__}")
    t0 = time.perf_counter()
    spans = [
        Span(
            "shipped sample (the whole of it: two years)",
            read_rows(SAMPLE_PRICES),
            dt.date(2019, 4, 1),
            dt.date(2021, 4, 21),
        )
    ]
    if SP500.exists() and SPY_FILE.exists():
        shared = with_spy(read_rows(SP500))
        spans.append(
            Span(
                "five years from the shared S&P 500 and SPY files",
                shared,
                dt.date(2016, 4, 21),
                dt.date(2021, 4, 21),
            )
        )
    print(f"read in {time.perf_counter() - t0:.1f} s (not timed)")
    for span in spans:
        bench_span(span, args.repeats)
        bench_service(span)
    if len(spans) == 1:
        print(f"\nfive-year span skipped: {SP500} or {SPY_FILE} not found")


if __name__ == "__main__":
    main()
