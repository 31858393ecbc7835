"""Bulk import rate at scale (issue 12), on SQLite and PostgreSQL, beside the targets.

    python -m bench.scale_bench [--securities N] [--years Y] [--per-file K]   (make bench-scale)

Generates the scale data set with `bench.scale_data` (real S&P 500 prices copied under new
tickers and repeated back in time; reused when `bench-output/scale/` already holds it for
these arguments), then imports it with the project's own path, `import_price_file` (what
`python -m backend.cli import-prices FILE` runs: read and validate the file, then one
`PriceStore.upsert_bars` transaction per file), file after file:

* into a fresh SQLite file in a temporary directory;
* into a fresh PostgreSQL database `av_scale_<pid>`, created on the server of `SCALE_PG_URL`
  (or `TEST_DATABASE_URL`) and dropped at the end (only that one); skipped, and said so,
  when neither is set.

Each database is imported by a child process of its own, so the peak resident memory printed
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`) is that import's. The time covers reading,
validating and writing (not the schema migration); "reading" is the part up to each file's
last read progress (reading and validating), the CPU time that of the import in this process
(the database server's is not counted). The first file is then imported again
(every ticker stored, every row identical: the upsert path, which must write nothing). Prints
figures only: nothing fails on a slow machine. The default size, 5,000 x 25 years (~30 million
bars), takes long; a quick run: `make bench-scale SCALE_SECURITIES=200 SCALE_YEARS=5`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess  # nosec B404 -- runs this module again, with our own arguments
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from bench import scale_data

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "bench-output" / "scale"
TARGETS = {"sqlite": 100_000, "postgresql": 250_000}  # rows/s, issue 12
DEFAULT_PER_FILE = 250  # securities per file: ~1.6 M bars at 25 years, well under 2 GB


def data_files(securities: int, years: int, per_file: int) -> tuple[list[Path], int]:
    """The data set's files and bar count, generated unless a previous run left them."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    out = DATA_DIR / f"scale_{securities}x{years}_{per_file}.csv.gz"
    manifest = out.with_suffix(".json")
    if manifest.exists():
        saved = json.loads(manifest.read_text())
        paths = [DATA_DIR / name for name in saved["files"]]
        if all(path.exists() for path in paths):
            print(f"reusing {len(paths)} file(s) of {saved['bars']:,} bars in {DATA_DIR}")
            return paths, int(saved["bars"])
    started = time.perf_counter()
    plan, paths, bars = scale_data.generate(out, securities, years, per_file)
    print(
        f"generated {securities:,} securities x {years} years ({plan.first} -> {plan.last}), "
        f"{bars:,} bars in {len(paths)} file(s) in {time.perf_counter() - started:.0f} s: real "
        f"prices of {scale_data.SOURCE_FILE} copied under new tickers and repeated back in time "
        f"({plan.copies} copies of 2016-2020, chained at the seams), not simulated"
    )
    manifest.write_text(json.dumps({"files": [p.name for p in paths], "bars": bars}))
    return paths, bars


def import_files(url: str, paths: list[Path]) -> dict[str, float]:
    """Child process: migrate the empty database, then time the import of every file."""
    from backend.db.engine import make_engine
    from backend.db.migrate import upgrade_to_head
    from backend.market_data.ingest import import_price_file
    from backend.market_data.store import PriceStore

    engine = make_engine(url)
    upgrade_to_head(engine)
    store = PriceStore(engine)
    rows = written = 0
    reading = 0.0  # until each file's last read progress: reading and validating
    started = time.perf_counter()
    cpu_started = time.process_time()
    for path in paths:
        file_started = time.perf_counter()
        last_read: list[float] = [file_started]

        def on_read(done: int, total: int) -> None:
            last_read[0] = time.perf_counter()

        result = import_price_file(store, path, read_progress=on_read)
        reading += last_read[0] - file_started
        rows += result.rows
        written += result.written
    cpu = time.process_time() - cpu_started
    seconds = time.perf_counter() - started
    # The upsert path: the first file again, every ticker stored, every row identical.
    again_started = time.perf_counter()
    again = import_price_file(store, paths[0])
    again_seconds = time.perf_counter() - again_started
    stored = store.stats().bars
    engine.dispose()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {
        "cpu": cpu,
        "rows": rows,
        "written": written,
        "stored": stored,
        "seconds": seconds,
        "reading": reading,
        "again_rows": again.rows,
        "again_written": again.written,
        "again_seconds": again_seconds,
        "rss": rss_mb,
    }


def run_child(url: str, paths: list[Path]) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.scale_bench", "--import-into", url]
    done = subprocess.run(  # nosec B603
        command + [str(p) for p in paths], check=True, capture_output=True, text=True, cwd=REPO
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def report(name: str, figures: dict[str, float]) -> None:
    rate = figures["rows"] / figures["seconds"]
    target = TARGETS[name]
    verdict = "meets" if rate >= target else "below"
    print(
        f"{name:<10} {int(figures['rows']):>12,} rows  {figures['seconds']:8.1f} s  "
        f"{rate:>10,.0f} rows/s  (target >= {target:,}: {verdict})  "
        f"peak RSS {figures['rss']:,.0f} MB  [{int(figures['stored']):,} bars stored; "
        f"reading {figures['reading']:.1f} s, "
        f"writing {figures['seconds'] - figures['reading']:.1f} s; "
        f"CPU {figures['cpu']:.1f} s in the importing process]"
    )
    print(
        f"{'':<10} re-import of the first file (upsert path, every row identical): "
        f"{int(figures['again_rows']):,} rows in {figures['again_seconds']:.1f} s, "
        f"{figures['again_rows'] / figures['again_seconds']:,.0f} rows/s, "
        f"{int(figures['again_written'])} written"
    )


def pg_server_url() -> str | None:
    return os.environ.get("SCALE_PG_URL") or os.environ.get("TEST_DATABASE_URL")


def bench_postgres(base: str, paths: list[Path]) -> dict[str, float]:
    """Import into a database of our own on `base`'s server; drop only that database."""
    name = f"av_scale_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
        return run_child(url, paths)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--securities", type=int, default=scale_data.DEFAULT_SECURITIES)
    parser.add_argument("--years", type=int, default=scale_data.DEFAULT_YEARS)
    parser.add_argument("--per-file", type=int, default=DEFAULT_PER_FILE)
    parser.add_argument("--import-into", help=argparse.SUPPRESS)  # the child's mode
    parser.add_argument("files", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.import_into:
        print(json.dumps(import_files(args.import_into, args.files)))
        return 0

    paths, bars = data_files(args.securities, args.years, args.per_file)
    print(f"importing {bars:,} bars with import_price_file (the import-prices path), per file:")
    with tempfile.TemporaryDirectory(prefix="av-scale-") as tmp:
        report("sqlite", run_child(f"sqlite:///{tmp}/scale.db", paths))
    base = pg_server_url()
    if base is None:
        print("postgresql skipped: set SCALE_PG_URL or TEST_DATABASE_URL to a server URL")
    else:
        report("postgresql", bench_postgres(base, paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
