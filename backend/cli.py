"""Command line: `python -m backend.cli --help`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from backend.config import get_settings
from backend.console import console, err, progress_bar
from backend.db.engine import make_engine
from backend.db.migrate import upgrade_to_head
from backend.errors import AppError, PriceFileError
from backend.market_data.ingest import import_price_file, load_sample, refresh_prices
from backend.market_data.providers import build_provider
from backend.market_data.store import PriceStore
from backend.options.errors import OptionFileError, OptionInputError
from backend.options.importer import FORMATS, Format, import_options_file
from backend.options.store import OptionStore
from backend.portfolios import strategy_cli
from backend.reference.tickers import TICKER_RULE, normalize_ticker
from backend.research import cli as research_cli

app = typer.Typer(help="AlphaVelocity command line.", no_args_is_help=True)

# Files smaller than this import without a progress bar.
PROGRESS_MIN_BYTES = 1_000_000


def _store() -> PriceStore:
    engine = make_engine(get_settings().effective_database_url)
    upgrade_to_head(engine)
    return PriceStore(engine)


@app.command()
def migrate() -> None:
    """Apply the database migrations (idempotent)."""
    engine = make_engine(get_settings().effective_database_url)
    console.print(f"database at revision {upgrade_to_head(engine)}")


@app.command("import-prices")
def import_prices(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    ticker: Annotated[
        Optional[str], typer.Option(help="Ticker of a Yahoo-format file (one ticker)")
    ] = None,
) -> None:
    """Import a price CSV (long format or Yahoo download format; .gz read as is).

    All or nothing: a file with a bad row imports nothing, and the error names the line."""
    if ticker is not None and normalize_ticker(ticker) is None:
        err.print(f"[red]--ticker {ticker!r} is malformed: it must be {TICKER_RULE}[/red]")
        raise typer.Exit(2)
    store = _store()
    big = file.stat().st_size >= PROGRESS_MIN_BYTES
    try:
        if big:
            with progress_bar() as progress:
                read = progress.add_task("reading", total=None)
                write = progress.add_task("writing", total=None, visible=False)
                result = import_price_file(
                    store,
                    file,
                    ticker=normalize_ticker(ticker) if ticker else None,
                    read_progress=lambda d, t: progress.update(read, completed=d, total=t),
                    write_progress=lambda d, t: progress.update(
                        write, completed=d, total=t, visible=True
                    ),
                )
        else:
            result = import_price_file(
                store, file, ticker=normalize_ticker(ticker) if ticker else None
            )
    except PriceFileError as exc:
        err.print(f"[red]{file}: {exc.message}[/red]\nnothing was imported")
        raise typer.Exit(1) from None
    console.print(
        f"{file.name}: {result.rows} rows for {result.tickers} tickers; "
        f"{result.written} new or changed, {result.unchanged} unchanged; "
        f"data version {result.data_version}"
    )


@app.command("import-options")
def import_options(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    ticker: Annotated[
        Optional[str],
        typer.Option(help="Underlying's ticker: required for Lean files, checked for Yahoo JSON"),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help=f"File format: {' or '.join(FORMATS)}")
    ] = "lean",
) -> None:
    """Import one day's option chain (a Lean universe file or a raw Yahoo options answer):
    our implied volatility of every contract is computed and stored with it.

    All or nothing: a file with a bad line imports nothing, and the error names the line.
    (VIX, the history of SPY's IV rank, is a price series: `import-prices FILE --ticker ^VIX`.)"""
    if fmt not in FORMATS:
        err.print(f"[red]--format {fmt!r}: it must be one of {', '.join(FORMATS)}[/red]")
        raise typer.Exit(2)
    if fmt == "lean" and ticker is None:
        err.print(
            "[red]--ticker is required for a Lean file: it does not name its underlying[/red]"
        )
        raise typer.Exit(2)
    settings = get_settings()
    engine = make_engine(settings.effective_database_url)
    upgrade_to_head(engine)
    chosen: Format = "lean" if fmt == "lean" else "yahoo-json"
    try:
        snapshot, result = import_options_file(
            OptionStore(engine), file, chosen, ticker, settings.options_risk_free_rate
        )
    except OptionInputError as exc:
        err.print(f"[red]{file}: {exc}[/red]\nnothing was imported")
        raise typer.Exit(2) from None
    except OptionFileError as exc:  # its message names the file when the reader knows it
        where = "" if exc.path else f"{file}: "
        err.print(f"[red]{where}{exc}[/red]\nnothing was imported")
        raise typer.Exit(1) from None
    solved = int(snapshot.contracts["iv"].notna().sum())
    thirty = (
        f"{snapshot.atm_iv_30d:.4f}"
        if snapshot.atm_iv_30d is not None
        else f"none ({snapshot.atm_reason})"
    )
    console.print(
        f"{file.name}: {snapshot.ticker} on {snapshot.day}, spot {snapshot.spot:g}: "
        f"{result.contracts} contracts, {solved} with an implied volatility; "
        f"30-day ATM IV {thirty}; {'replaced' if result.replaced else 'new'} snapshot"
    )


@app.command("load-sample")
def load_sample_cmd() -> None:
    """Load the shipped offline sample of real prices into the store."""
    store = _store()
    with progress_bar() as progress:
        task = progress.add_task("writing sample", total=None)
        result = load_sample(store, lambda d, t: progress.update(task, completed=d, total=t))
    console.print(
        f"sample: {result.rows} rows for {result.tickers} tickers; {result.written} new or changed"
    )


@app.command()
def refresh(
    tickers: Annotated[
        Optional[list[str]], typer.Option("--tickers", "-t", help="Tickers (default: all stored)")
    ] = None,
) -> None:
    """Pull new bars from the configured provider (DATA_PROVIDER) into the store."""
    settings = get_settings()
    provider = build_provider(settings)
    if provider is None:
        err.print("[red]DATA_PROVIDER=none: there is no live provider to refresh from[/red]")
        raise typer.Exit(2)
    wanted = None
    if tickers:
        wanted = []
        for raw in tickers:
            for part in raw.split(","):
                t = normalize_ticker(part)
                if t is None:
                    err.print(f"[red]ticker {part!r} is malformed: it must be {TICKER_RULE}[/red]")
                    raise typer.Exit(2)
                wanted.append(t)
    store = _store()
    total = len(wanted) if wanted is not None else len(store.last_bar_dates())
    with progress_bar() as progress:
        task = progress.add_task(f"refreshing from {provider.name}", total=total)
        summary = refresh_prices(store, provider, wanted, progress=lambda _: progress.advance(task))
    table = Table(title=f"refresh from {provider.name}")
    table.add_column("outcome")
    table.add_column("tickers", justify="right")
    table.add_column("detail")
    table.add_row("updated", str(len(summary.updated)), f"{sum(summary.updated.values())} bars")
    table.add_row("unchanged", str(len(summary.unchanged)), "")
    table.add_row("failed", str(len(summary.failed)), "")
    console.print(table)
    for ticker, reason in sorted(summary.failed.items())[:20]:
        err.print(f"  {ticker}: {reason}")
    if len(summary.failed) > 20:
        err.print(f"  ... and {len(summary.failed) - 20} more")
    if summary.failed and not summary.updated and not summary.unchanged:
        raise typer.Exit(1)


app.command("backtest")(research_cli.backtest)
app.command("research")(research_cli.research)
app.command("strategy")(strategy_cli.strategy)


def main() -> None:
    try:
        app()
    except AppError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
