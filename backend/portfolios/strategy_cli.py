"""``python -m backend.cli strategy``: the strategy backtest of the model rule over the store,
the same run and answer as ``GET /api/v1/research/strategy``."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Optional, cast

import typer
from rich.table import Table

from backend.config import get_settings
from backend.console import console, err
from backend.db.engine import make_engine
from backend.db.migrate import upgrade_to_head
from backend.errors import CALLER_ERRORS, AppError
from backend.market_data.store import PriceStore
from backend.momentum.service import MomentumService
from backend.portfolios.quotes import QuoteService
from backend.portfolios.strategy import Frequency, StrategyParams
from backend.portfolios.strategy_schemas import StrategyMetricsOut, StrategyOut
from backend.portfolios.strategy_service import StrategyService


def _date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        err.print(f"[red]--{name} {value!r} is not a date: it must be YYYY-MM-DD[/red]")
        raise typer.Exit(2) from None


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.2f}%"


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def print_strategy(r: StrategyOut) -> None:
    console.print(
        f"[bold]model rule[/bold], {r.rebalance} ({r.rebalance_day}), {r.first_day} to "
        f"{r.last_day} ({r.trading_days} days), cash {r.cash:,.2f}, cost {r.cost_bps:g} bps, "
        f"min trade {r.min_trade:,.2f}, risk-free {r.risk_free:g}; data version "
        f"{r.data_version} ({', '.join(r.data_sources)})"
    )
    table = Table(title="figures")
    table.add_column("figure")
    table.add_column("strategy", justify="right")
    table.add_column(r.benchmark, justify="right")
    s, b = r.strategy, r.benchmark_metrics

    def row(name: str, get: object, fmt: object) -> None:
        def cell(m: StrategyMetricsOut | None) -> str:
            return "–" if m is None else fmt(get(m))  # type: ignore[operator]

        table.add_row(name, cell(s), cell(b))

    row("end value", lambda m: m.end_value, lambda x: f"{x:,.2f}")
    row("TWR", lambda m: m.twr, _pct)
    row("CAGR", lambda m: m.cagr, _pct)
    row("volatility (annualised)", lambda m: m.volatility, _pct)
    row("Sharpe", lambda m: m.sharpe, _num)
    row("max drawdown", lambda m: m.max_drawdown, _pct)
    row("drawdown peak -> trough", lambda m: f"{m.drawdown_peak} -> {m.drawdown_trough}", str)
    row("recovered", lambda m: m.drawdown_recovered, str)
    console.print(table)
    console.print(
        f"costs paid {r.costs_paid:,.2f}, dividends {r.dividends_received:,.2f}, turnover "
        f"{r.turnover:.2f} ({_num(r.annual_turnover)} a year), splits {r.splits_applied}"
    )
    trades = Table(title="rebalances")
    for name in ("date", "trades", "bought", "sold", "costs", "turnover", "cash after"):
        trades.add_column(name, justify="left" if name == "date" else "right")
    for rb in r.rebalances:
        trades.add_row(
            str(rb.date),
            str(len(rb.trades)),
            f"{rb.bought:,.0f}",
            f"{rb.sold:,.0f}",
            f"{rb.costs:,.2f}",
            _pct(rb.turnover),
            f"{rb.cash_after:,.0f}",
        )
    console.print(trades)
    for caveat in r.caveats:
        console.print(f"[dim]- {caveat}[/dim]")


def strategy(
    start: Annotated[Optional[str], typer.Option(help="First day (YYYY-MM-DD)")] = None,
    end: Annotated[Optional[str], typer.Option(help="Last day (YYYY-MM-DD)")] = None,
    rebalance: Annotated[str, typer.Option(help="monthly or quarterly")] = "monthly",
    cash: Annotated[float, typer.Option(help="Starting cash")] = 100_000.0,
    cost_bps: Annotated[float, typer.Option(help="Cost per trade, basis points")] = 0.0,
    min_trade: Annotated[float, typer.Option(help="Smallest trade amount")] = 0.0,
    risk_free: Annotated[float, typer.Option(help="Yearly risk-free rate (Sharpe)")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON answer")] = False,
) -> None:
    """Backtest the model rule: rebalance toward the category targets with the scores of each
    date, whole shares, costs, splits and dividends; figures beside SPY and every trade."""
    params = StrategyParams(
        _date(start, "start"),
        _date(end, "end"),
        cast(Frequency, rebalance),
        cash,
        cost_bps,
        min_trade,
        risk_free,
    )
    settings = get_settings()
    try:
        params.validate()
    except ValueError as exc:  # a parameter's rule, before the store is read
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    try:
        engine = make_engine(settings.effective_database_url)
        upgrade_to_head(engine)
        store = PriceStore(engine)
        if store.is_empty():
            err.print("[red]the store is empty: run load-sample or import-prices first[/red]")
            raise typer.Exit(1)
        service = StrategyService(QuoteService(MomentumService(store, settings, None)), store)
        with console.status("loading prices and scores"):
            result = service.run(params)
    except AppError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2 if isinstance(exc, CALLER_ERRORS) else 1) from None
    if as_json:
        console.print_json(json.dumps(result.model_dump(mode="json")))
    else:
        print_strategy(result)
