"""The research commands of ``python -m backend.cli``: ``backtest`` and ``research``."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import Progress, TaskID
from rich.table import Table

from backend.config import Settings, get_settings
from backend.console import console, err, progress_bar
from backend.db.engine import make_engine
from backend.db.migrate import upgrade_to_head
from backend.errors import CALLER_ERRORS, AppError
from backend.market_data.ingest import load_sample
from backend.market_data.store import PriceStore
from backend.momentum.service import MomentumService
from backend.momentum.universes import ALL, check_universe
from backend.research.backtest import BacktestParams
from backend.research.models import DEFAULT_MODEL, get_model, model_names
from backend.research.report import write_report
from backend.research.schemas import BacktestResponse
from backend.research.service import Progress as ResearchProgress
from backend.research.service import ResearchService

REPO_ROOT = Path(__file__).resolve().parents[2]


def _date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        err.print(f"[red]--{name} {value!r} is not a date: it must be YYYY-MM-DD[/red]")
        raise typer.Exit(2) from None


def _warm(progress: Progress, service: ResearchService, label: str) -> None:
    """Load the panel and score alphavelocity-v1 (once per data version), shown as a task."""
    task = progress.add_task(label, total=None)
    service.state()
    progress.update(task, total=1, completed=1)


def _reporter(progress: Progress) -> ResearchProgress:
    """A research progress callback that shows one bar per step (scores, rebalance dates)."""
    tasks: dict[str, TaskID] = {}

    def report(name: str, done: int, total: int) -> None:
        if name not in tasks:
            tasks[name] = progress.add_task(name, total=total)
        progress.update(tasks[name], completed=done, total=total)

    return report


def _service(
    settings: Settings, database_url: str | None = None
) -> tuple[PriceStore, ResearchService]:
    engine = make_engine(database_url or settings.effective_database_url)
    upgrade_to_head(engine)
    store = PriceStore(engine)
    return store, ResearchService(MomentumService(store, settings, None))


def print_backtest(r: BacktestResponse) -> None:
    console.print(
        f"[bold]{r.model}[/bold] ({r.model_version}) on {r.universe!r}: {r.universe_size} "
        f"securities, {r.rebalance} from {r.first_rebalance} to {r.last_rebalance} "
        f"({r.rebalance_dates} dates, {r.evaluated_dates} evaluated), horizon {r.horizon} days, "
        f"{r.quantiles} quantiles, cost {r.cost_bps:g} bps"
    )
    q = Table(title="mean forward return per quantile (1 = lowest scores)")
    q.add_column("quantile", justify="right")
    q.add_column("mean forward return", justify="right")
    q.add_column("mean count", justify="right")
    for row in r.quantile_returns:
        v = row.mean_forward_return
        q.add_row(
            str(row.quantile), "–" if v is None else f"{100 * v:.2f}%", f"{row.mean_count:.1f}"
        )
    console.print(q)

    def fmt(x: float | None, pct: bool = False, digits: int = 2) -> str:
        if x is None:
            return "–"
        return f"{100 * x:.{digits}f}%" if pct else f"{x:.{digits}f}"

    s = Table(title="statistics")
    s.add_column("statistic")
    s.add_column("value", justify="right")
    s.add_row("top − bottom spread (mean)", fmt(r.spread.mean, pct=True))
    s.add_row("spread t-stat", fmt(r.spread.t_stat))
    s.add_row("IC mean", fmt(r.ic.mean, digits=3))
    s.add_row("IC t-stat", fmt(r.ic.t_stat))
    s.add_row("IC hit rate", fmt(r.ic.hit_rate, pct=True, digits=0))
    s.add_row("top-quantile turnover (mean)", fmt(r.top_turnover, pct=True, digits=0))
    g = r.growth
    s.add_row("growth of 1: top quantile", fmt(g.top_quantile))
    if r.cost_bps > 0:
        s.add_row("growth of 1: top quantile after costs", fmt(g.top_quantile_after_costs))
    s.add_row("growth of 1: equal-weighted universe", fmt(g.universe_equal_weight))
    s.add_row(f"growth of 1: {g.benchmark_ticker}", fmt(g.benchmark))
    console.print(s)
    for caveat in r.caveats:
        console.print(f"[dim]- {caveat}[/dim]")


def backtest(
    model: Annotated[str, typer.Option(help=f"One of: {', '.join(model_names())}")] = DEFAULT_MODEL,
    universe: Annotated[str, typer.Option(help="all, model-portfolio or a category slug")] = ALL,
    start: Annotated[Optional[str], typer.Option(help="First date (YYYY-MM-DD)")] = None,
    end: Annotated[Optional[str], typer.Option(help="Last date used (YYYY-MM-DD)")] = None,
    rebalance: Annotated[str, typer.Option(help="weekly, monthly or quarterly")] = "monthly",
    horizon: Annotated[int, typer.Option(help="Forward-return horizon, trading days")] = 21,
    quantiles: Annotated[int, typer.Option(help="Number of quantiles (2-10)")] = 5,
    cost_bps: Annotated[float, typer.Option(help="Cost in bps on top-quantile turnover")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON answer")] = False,
) -> None:
    """Backtest a model's score over the store: quantile returns, spread, IC, turnover, growth."""
    params = BacktestParams(
        _date(start, "start"), _date(end, "end"), rebalance, horizon, quantiles, cost_bps
    )
    try:
        params.validate()
        get_model(model)  # an unknown model or universe fails before the store is read
        check_universe(universe)
        store, service = _service(get_settings())
        if store.is_empty():
            err.print("[red]the store is empty: run load-sample or import-prices first[/red]")
            raise typer.Exit(1)
        with progress_bar() as progress:
            _warm(progress, service, "loading prices and scores")
            result = service.backtest(model, universe, params, _reporter(progress))
    except AppError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2 if isinstance(exc, CALLER_ERRORS) else 1) from None
    if as_json:
        console.print_json(json.dumps(result.model_dump(mode="json")))
    else:
        print_backtest(result)


def research(
    readme: Annotated[Path, typer.Option(help="README to update")] = REPO_ROOT / "README.md",
    chart: Annotated[Path, typer.Option(help="SVG chart to write")] = REPO_ROOT
    / "docs"
    / "research"
    / "sample-comparison.svg",
) -> None:
    """Compare the four models on the shipped sample (loaded into a temporary store) and write
    the README's comparison table and chart, with the date it was run."""
    with tempfile.TemporaryDirectory() as tmp, progress_bar() as progress:
        settings = get_settings()
        url = f"sqlite:///{Path(tmp) / 'sample.db'}"
        store, service = _service(settings, url)
        task = progress.add_task("loading the shipped sample", total=None)
        load_sample(store, lambda d, t: progress.update(task, completed=d, total=t))
        _warm(progress, service, "scoring")
        cmp = service.compare(model_names(), ALL, BacktestParams(), _reporter(progress))
        store.engine.dispose()
    write_report(cmp, readme.resolve(), chart.resolve(), dt.date.today(), "the shipped sample")
    for r in cmp.results:
        print_backtest(r)
    console.print(f"wrote {chart} and the comparison in {readme}")
