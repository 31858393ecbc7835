"""Replicas behind nginx on this machine: `python -m scripts.replicas --help`.

up      N replicas on a new PostgreSQL database + one Redis, nginx in front (Ctrl-C stops)
down    stop what `up` started and drop its database and Redis keys
drill   up, a bounded load while one replica is SIGKILLed and restarted, the figures, down
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from scripts.replicas_drill import READS, WRITE, DrillReport, percentile, run_drill
from scripts.replicas_stack import Stack, StackSpec, tear_down_from_state

app = typer.Typer(help=__doc__, no_args_is_help=True)
console = Console()

ServerUrl = Annotated[
    str,
    typer.Option(
        envvar="REPLICAS_PG_URL",
        help="PostgreSQL server URL; a new database is created on it and dropped at the end",
    ),
]
RedisUrl = Annotated[
    str,
    typer.Option(
        envvar="REPLICAS_REDIS_URL",
        help="the Redis (and its DB number) the replicas share; keys under this run's prefix",
    ),
]
RunDir = Annotated[
    Path, typer.Option(envvar="REPLICAS_DIR", help="logs, nginx.conf, state.json of the stack")
]
Replicas = Annotated[int, typer.Option("--replicas", "-n", min=1, max=16)]
DEFAULT_PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/1"


def _stop_on_sigterm() -> None:
    """SIGTERM (`make replicas-down`) unwinds like Ctrl-C, so `Stack.close` runs."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


@app.command()
def up(
    replicas: Replicas = 3,
    server_url: ServerUrl = DEFAULT_PG,
    redis_url: RedisUrl = DEFAULT_REDIS,
    run_dir: RunDir = Path(".replicas"),
    port: Annotated[int, typer.Option(help="nginx's port (0: a free one)", min=0)] = 8080,
) -> None:
    """Start the stack and keep it up until Ctrl-C (or `make replicas-down`)."""
    if (run_dir / "state.json").exists():
        console.print(f"[red]a stack is already up ({run_dir}/state.json): make replicas-down[/]")
        raise typer.Exit(1)
    _stop_on_sigterm()
    spec = StackSpec(replicas, server_url, redis_url, str(run_dir.resolve()), nginx_port=port)
    stack = Stack(spec, say=console.print)
    try:
        stack.start()
        assert stack.nginx is not None
        url = stack.nginx.url
        console.print(
            f"\n[bold green]send traffic to {url}[/]  (nginx -> {len(stack.replicas)} replicas)"
        )
        for i, r in enumerate(stack.replicas, 1):
            console.print(
                f"  replica {i}: {r.url}  pid {r.proc.pid if r.proc else '?'}  log {r.log}"
            )
        console.print(f"  nginx.conf: {run_dir / 'nginx.conf'}   database: {spec.name}")
        console.print(f"  ADMIN_TOKEN for this stack: {spec.admin_token}")
        console.print(f"  curl -s {url}/api/v1/momentum/AAPL")
        console.print("Ctrl-C or `make replicas-down` stops it all and drops the database.")
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        console.print("stopping the replicas and nginx, dropping the database")
        stack.close()


@app.command()
def down(run_dir: RunDir = Path(".replicas")) -> None:
    """Stop the stack `up` started and drop what it created."""
    if tear_down_from_state(run_dir, say=console.print):
        console.print("stack stopped; its database and Redis keys dropped")
    else:
        console.print(f"no stack is up ({run_dir}/state.json not found)")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def print_report(report: DrillReport) -> None:
    table = Table(title=f"replica drill: {report.duration:.0f}s through nginx")
    for col in ("requests", "sent", "non-2xx", "no answer", "p50 ms", "p99 ms", "max ms"):
        table.add_column(col, justify="right")
    rows: list[tuple[str, tuple[str, ...]]] = [(k, (k,)) for k in (*READS, WRITE)]
    rows.append(("all", (*READS, WRITE)))
    for label, kinds in rows:
        outs = report.of(kinds)
        times = [o.seconds for o in outs]
        table.add_row(
            label,
            str(len(outs)),
            str(sum(1 for o in outs if o.status is not None and not o.ok)),
            str(sum(1 for o in outs if o.status is None)),
            _ms(percentile(times, 50)),
            _ms(percentile(times, 99)),
            _ms(max(times) if times else float("nan")),
        )
    console.print(table)
    w = report.writes
    writes = len(report.of((WRITE,)))
    console.print(
        f"replica killed at {report.killed_at:.1f}s,"
        f" ready again {report.restarted_ready_after:.1f}s later\n"
        f"failed reads (GET, and the batch POST nginx may resend): {report.failed_reads}"
        f"  \\[target 0]\nfailed writes: {report.failed_writes} of {writes}"
        f" ({report.failed_write_ratio:.3%})  \\[target < 0.1%]; sent again by the client"
        f" (same Idempotency-Key): {report.retried_writes}, answered as a replay:"
        f" {report.replayed_writes}\n"
        f"writes read back: {w.kept} acknowledged and stored once, lost {len(w.lost)},"
        f" doubled {len(w.doubled)}, failed but stored once {w.failed_but_applied},"
        f" rows nobody sent {w.unknown_rows}"
    )
    failures = Counter(
        "no answer" if o.status is None else str(o.status) for o in report.outcomes if not o.ok
    )
    if failures:
        console.print(f"failures by status: {dict(failures)}")
    if w.lost or w.doubled:
        console.print(f"[red]lost: {w.lost[:10]} doubled: {w.doubled[:10]}[/]")
    verdict = "[green]targets met[/]" if report.targets_met else "[red]targets missed[/]"
    console.print(verdict)


@app.command()
def drill(
    replicas: Replicas = 3,
    server_url: ServerUrl = DEFAULT_PG,
    redis_url: RedisUrl = DEFAULT_REDIS,
    run_dir: RunDir = Path(".replicas-drill"),
    duration: Annotated[float, typer.Option(help="seconds of load", min=5)] = 60,
    concurrency: Annotated[int, typer.Option(help="clients at once", min=1, max=256)] = 8,
) -> None:
    """Start a stack of its own, load it through nginx, SIGKILL and restart one replica, print
    the figures, stop it all. Exit status 1 when a target is missed."""
    if replicas < 2:
        console.print("[red]the drill kills a replica: it needs at least 2[/]")
        raise typer.Exit(2)
    _stop_on_sigterm()
    spec = StackSpec(replicas, server_url, redis_url, str(run_dir.resolve()))
    # the drill's one user logs in once; the argon2 cost is not what is measured here
    spec.extra_env = {"ARGON2_MEMORY_COST_KIB": "8192", "ARGON2_TIME_COST": "1"}
    with Stack(spec, say=console.print) as stack:
        assert stack.nginx is not None
        console.print(f"load through {stack.nginx.url}: {concurrency} clients for {duration:g}s")
        report = asyncio.run(run_drill(stack, duration, concurrency, victim=1, say=console.print))
    print_report(report)
    if not report.targets_met:
        raise typer.Exit(1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(app())
