"""The strategy backtest of the model rule over the price store (issue 13).

Reads what ``strategy.run_strategy`` needs from the momentum service's score book (one per data
version): the category targets and members of that version, the members' closes as traded and
split coefficients, their scores on every date (the engine's frame: each row reads closes up to
its own date, so no look-ahead), the benchmark's adjusted close, and the stored dividends. These
are prepared once per data version; answers are kept for the last ``RESULT_CACHE_SIZE``
parameter sets of that version. So what any caller can make the server do is bounded: one pass
of the pure loop per new parameter set (milliseconds to a second), behind the expensive-route
rate limit, and nothing at all for a repeated one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from backend.errors import InvalidInput, Rule
from backend.market_data.store import PriceStore
from backend.momentum.service import ScoreBook
from backend.portfolios.analysis import CategoryTarget, category_targets
from backend.portfolios.performance_inputs import check_period
from backend.portfolios.quotes import QuoteService
from backend.portfolios.strategy import (
    StrategyBars,
    StrategyDataError,
    StrategyParameterError,
    StrategyParams,
    run_strategy,
)
from backend.portfolios.strategy_schemas import StrategyOut, strategy_out
from backend.reference.benchmarks import EQUITY_BENCHMARK

RESULT_CACHE_SIZE: Final = 32
STRATEGY_DATA = Rule(
    "insufficient_history",
    "a member with a close in the window",
    "some member of the categories must have a close between start and end",
)
MIN_TRADE_RULE = Rule("invalid_input", "from 0 to the cash", "min_trade must not exceed cash")


class NoStrategyData(InvalidInput):
    """No member of the categories has a close in the window: there is nothing to run."""

    code = "insufficient_history"


@dataclass
class StrategyInputs:
    """What one data version gives every run: bars, scores, benchmark, categories."""

    book: ScoreBook
    categories: tuple[CategoryTarget, ...]
    bars: StrategyBars
    scores: pd.DataFrame
    benchmark: pd.Series | None
    sources: list[str]
    notes: dict[str, str]
    lock: threading.Lock = field(default_factory=threading.Lock)
    results: OrderedDict[StrategyParams, StrategyOut] = field(default_factory=OrderedDict)


def strategy_inputs(book: ScoreBook, dividends: pd.DataFrame) -> StrategyInputs:
    """The members' closes as traded (adjusted closes, with no dividend nor split to apply,
    for a member stored without as-traded closes), splits, dividends and scores, named as the
    categories name them (``META`` reads the stored ``FB``)."""
    panel = book.panel
    cats = category_targets(panel.categories.categories)
    members = sorted({t for c in cats for t in c.tickers})
    close, split, div, score = {}, {}, {}, {}
    notes: dict[str, str] = {}
    wide_div = (
        dividends.pivot_table(index="date", columns="ticker", values="dividend", aggfunc="sum")
        if len(dividends)
        else pd.DataFrame()
    )
    for member in members:
        stored = book.resolve(member)
        if stored is None:
            continue  # run_strategy names it: no stored prices
        raw = panel.raw_close[stored]
        if bool(raw.notna().any()):
            close[member] = raw
            split[member] = panel.split[stored]
            div[member] = wide_div[stored] if stored in wide_div.columns else None
        else:
            close[member] = panel.close[stored]
            notes[member] = "no as-traded closes stored: traded at adjusted closes"
        score[member] = book.frames.overall[:, book.column[stored]]
    index = panel.close.index
    close_f = pd.DataFrame(close, index=index, dtype=np.float64)
    split_f = pd.DataFrame(split, index=index, columns=close_f.columns, dtype=np.float64)
    div_f = pd.DataFrame(
        {t: (s.reindex(index) if s is not None else np.nan) for t, s in div.items()},
        index=index,
        columns=close_f.columns,
        dtype=np.float64,
    )
    scores = pd.DataFrame(score, index=pd.DatetimeIndex(book.frames.dates), dtype=np.float64)
    bench_stored = book.resolve(EQUITY_BENCHMARK)
    bench = panel.close[bench_stored] if bench_stored is not None else None
    used = [s for s in (book.resolve(m) for m in members) if s is not None]
    sources = sorted({str(x) for x in panel.securities["data_source"].reindex(used).dropna()})
    return StrategyInputs(
        book=book,
        categories=cats,
        bars=StrategyBars(close_f, div_f, split_f),
        scores=scores,
        benchmark=bench,
        sources=sources,
        notes=notes,
    )


class StrategyService:
    def __init__(self, quotes: QuoteService, store: PriceStore) -> None:
        self.quotes = quotes
        self.store = store
        self._inputs: StrategyInputs | None = None
        self._lock = threading.Lock()

    def inputs(self) -> StrategyInputs:
        """The inputs of the score book now (prepared once per data version)."""
        book = self.quotes.require_book()
        current = self._inputs
        if current is not None and current.book is book:
            return current
        with self._lock:
            current = self._inputs
            if current is None or current.book is not book:
                cats = category_targets(book.panel.categories.categories)
                stored = [book.resolve(t) for c in cats for t in c.tickers]
                divs = self.store.dividends(sorted({s for s in stored if s is not None}))
                current = strategy_inputs(book, divs)
                self._inputs = current
        return current

    def run(self, params: StrategyParams) -> StrategyOut:
        """The backtest of ``params`` (422 naming the field and rule of a bad parameter)."""
        check_period(params.start, params.end)  # the message and rule every period check gives
        try:
            params.validate()
        except StrategyParameterError as exc:
            raise InvalidInput(str(exc), {"field": exc.field, "rule": exc.rule}) from None
        inputs = self.inputs()
        cached = inputs.results.get(params)
        if cached is not None:
            return cached
        try:
            result = run_strategy(
                inputs.bars, inputs.scores, inputs.categories, params, inputs.benchmark
            )
        except StrategyDataError as exc:
            raise NoStrategyData(
                f"cannot run the strategy: {exc.reason}",
                {"field": "start", "rule": STRATEGY_DATA.rule},
            ) from None
        book = inputs.book
        last = pd.Timestamp(book.panel.close.index[-1]).date()
        out = strategy_out(result, book.data_version, last, inputs.sources)
        extra = [f"{t}: {why}" for t, why in inputs.notes.items()]
        if "sample" in inputs.sources:
            extra.append(
                "the shipped sample holds the S&P 500 constituents of April 2021 and SPY: the "
                "model's other members (ETFs, foreign and small companies) have no prices there"
            )
        out.caveats.extend(extra)
        with inputs.lock:
            inputs.results[params] = out
            while len(inputs.results) > RESULT_CACHE_SIZE:
                inputs.results.popitem(last=False)
        return out
