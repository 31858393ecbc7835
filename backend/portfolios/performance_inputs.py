"""The series a performance report is computed from, prepared from the score book's panel:
daily shares, cash and flows on the store's trading days, the closes of the held tickers and
the benchmark's adjusted close.

Pure given the book: no database, no service. `performance.portfolio_performance` then does
the arithmetic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from backend.errors import START_NOT_AFTER_END, InvalidInput, Rule
from backend.market_data.store import PricePanel
from backend.momentum.service import ScoreBook
from backend.portfolios import ledger
from backend.portfolios.performance import split_adjusted_shares

STORED_DAYS = Rule(
    "invalid_input",
    "the period must contain stored trading days",
    "the period asked for must contain trading days of the price store",
)


@dataclass(frozen=True)
class PerformanceInputs:
    shares: pd.DataFrame
    cash: pd.Series
    flows: pd.Series
    prices: pd.DataFrame
    benchmark: pd.Series | None
    benchmark_ticker: str
    price_basis: dict[str, str | None]
    notes: list[str] = field(default_factory=list)


def trading_dates(book: ScoreBook, start: dt.date | None, end: dt.date | None) -> pd.DatetimeIndex:
    """The store's trading days in [start, end] (either open)."""
    index = pd.DatetimeIndex(book.panel.close.index)
    if start is not None:
        index = index[index >= pd.Timestamp(start)]
    if end is not None:
        index = index[index <= pd.Timestamp(end)]
    return index


def check_period(start: dt.date | None, end: dt.date | None) -> None:
    if start is not None and end is not None and start > end:
        raise InvalidInput(
            f"start {start} is after end {end}",
            {"field": "start", "rule": START_NOT_AFTER_END.rule},
        )


def performance_inputs(
    book: ScoreBook,
    entries: Sequence[ledger.Transaction] | None,
    constant_shares: Mapping[str, float] | None,
    start: dt.date | None,
    end: dt.date | None,
    benchmark: str,
) -> PerformanceInputs:
    """Daily shares, cash and flows on the store's trading days in [start, end] (from the
    ledger, or constant shares without cash for the model portfolio), the closes of the
    held tickers up to `end` (as traded; adjusted where the store has no as-traded close)
    and the benchmark's adjusted close (a total return). For constant shares, tickers
    without any stored price are left out (and named in `notes`)."""
    check_period(start, end)
    panel = book.panel
    dates = trading_dates(book, start, end)
    if len(dates) == 0:
        raise InvalidInput(
            f"the price store has no trading days between {start or 'its start'} and "
            f"{end or 'its end'}",
            {"field": "start", "rule": STORED_DAYS.rule},
        )
    history = pd.DatetimeIndex(panel.close.index)
    history = history[history <= dates[-1]]
    notes: list[str] = []
    resolved: dict[str, str | None] = {}
    if entries is not None:
        daily = ledger.daily_positions(entries, dates)
        shares, cash, flows = daily.shares, daily.cash, daily.flows
        resolved = {str(t): book.resolve(str(t)) for t in shares.columns}
    else:
        held = {t: n for t, n in (constant_shares or {}).items() if n}
        resolved = {t: book.resolve(t) for t in sorted(held)}
        missing = [t for t, stored in resolved.items() if stored is None]
        if missing:
            notes.append(
                "left out, no prices stored: " + ", ".join(missing) + " (the value series "
                "is that of the other holdings)"
            )
        tickers = [t for t in sorted(held) if resolved[t] is not None]
        shares = pd.DataFrame(
            {t: _model_shares(panel, str(resolved[t]), held[t], dates, history) for t in tickers},
            index=dates,
            columns=pd.Index(tickers, dtype="object"),
            dtype="float64",
        )
        cash = pd.Series(0.0, index=dates, name="cash")
        flows = pd.Series(0.0, index=dates, name="flows")
    columns: dict[str, pd.Series] = {}
    basis: dict[str, str | None] = {}
    for ticker in shares.columns:
        stored = resolved.get(str(ticker))
        if stored is None:
            columns[str(ticker)] = pd.Series(np.nan, index=history)
            basis[str(ticker)] = None
            notes.append(f"{ticker}: no prices stored, so days it is held cannot be valued")
            continue
        raw = panel.raw_close[stored].reindex(history)
        use_raw = bool(raw.notna().any())
        columns[str(ticker)] = raw if use_raw else panel.close[stored].reindex(history)
        basis[str(ticker)] = "close" if use_raw else "adj_close"
        if not use_raw:
            notes.append(f"{ticker}: no as-traded closes stored; adjusted closes used")
    prices = pd.DataFrame(columns, index=history, dtype="float64")
    bench_stored = book.resolve(benchmark)
    bench: pd.Series | None = None
    if bench_stored is None:
        notes.append(f"benchmark {benchmark}: no prices stored, so no benchmark return")
    else:
        bench = panel.close[bench_stored].reindex(history).rename(benchmark)
    return PerformanceInputs(
        shares=shares,
        cash=cash,
        flows=flows,
        prices=prices,
        benchmark=bench,
        benchmark_ticker=benchmark,
        price_basis=basis,
        notes=notes,
    )


def _model_shares(
    panel: PricePanel,
    stored: str,
    shares: float,
    dates: pd.DatetimeIndex,
    history: pd.DatetimeIndex,
) -> np.ndarray:
    """The model holds `shares` today; valued at closes as traded, it held fewer before a
    split (AAPL 4 today was 1 before its 4-for-1 of 2020-08-31). At adjusted closes (no
    as-traded close stored) the share count is constant: the closes already carry splits."""
    if not bool(panel.raw_close[stored].reindex(history).notna().any()):
        return np.full(len(dates), float(shares))
    return split_adjusted_shares(shares, panel.split[stored], dates).to_numpy()
