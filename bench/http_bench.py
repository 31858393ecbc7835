"""HTTP benchmark (`python -m bench.http_bench`, part of `make bench`).

One uvicorn worker serves the real app (every middleware, JSON logs at INFO to a file, Redis
cache) over the shipped sample. A load tool (wrk, else hey; installed by
bench/install_load_tool.sh when missing) with 32 connections measures, in the same run:

- baseline: `GET /bench/constant`, a trivial route of the same app returning a constant JSON
  body (same worker, same middleware);
- `GET /api/v1/momentum/{ticker}` answered from Redis (warmed first; X-Cache: hit is checked).

Targets (issue 3): the score route at >= 70% of the baseline's requests per second, p99 under
25 ms. Beside requests per second it prints the worker's CPU time per request (from /proc):
on a machine whose other processes compete for the CPUs, that ratio is the steadier one.
Then `POST /api/v1/momentum/batch` with 500 tickers, warm: under 150 ms (median of timed
requests after one warming request).

Only loopback traffic; every load run is bounded in time. The benchmark starts its own
redis-server on a free port (or uses BENCH_REDIS_URL) and builds its SQLite store under
bench-output/ once (reused by later runs).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench-output"
DB_PATH = OUT / "http_bench.db"

CONNECTIONS = 32
DURATION_S = int(os.environ.get("BENCH_HTTP_SECONDS", "8"))
WARM_S = 2
ROUNDS = int(os.environ.get("BENCH_HTTP_ROUNDS", "3"))
BATCH_SIZE = 500
BATCH_REQUESTS = 30
TICKER = "AAPL"

TARGET_RATIO = 0.70
TARGET_P99_MS = 25.0
TARGET_BATCH_MS = 150.0


def bench_app() -> Any:
    """The app uvicorn serves here (`--factory`): the service plus a trivial constant route."""
    from backend.main import create_app

    app = create_app()

    @app.get("/bench/constant", include_in_schema=False)
    async def constant() -> dict[str, str]:
        return {"status": "ok", "service": "alphavelocity"}

    # First in the routing table, so that matching it costs the least: the strictest baseline
    # (appended last, FastAPI would try every other route before it).
    app.router.routes.insert(0, app.router.routes.pop())
    return app


# ------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode} before answering")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer 200 within {timeout:.0f} s")


def ensure_store() -> str:
    """A SQLite store with the shipped sample (built once, then reused)."""
    from backend.db.engine import make_engine
    from backend.db.migrate import upgrade_to_head
    from backend.market_data.ingest import load_sample
    from backend.market_data.store import PriceStore

    OUT.mkdir(exist_ok=True)
    url = f"sqlite:///{DB_PATH}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    store = PriceStore(engine)
    if store.is_empty():
        print("building the benchmark store from the shipped sample (once) ...", flush=True)
        load_sample(store)
    engine.dispose()
    return url


def load_tool() -> str:
    subprocess.run(["bash", str(REPO / "bench" / "install_load_tool.sh")], check=True)
    for tool in ("wrk", "hey"):
        if shutil.which(tool):
            return tool
    raise SystemExit("no load tool (wrk or hey) could be installed")


def parse_wrk(text: str) -> dict[str, float]:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    total = re.search(r"(\d+) requests in", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    if not (rps and p99 and p50 and total):
        raise SystemExit(f"could not read wrk's output:\n{text}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "rps": float(rps.group(1)),
        "p50_ms": float(p50.group(1)) * scale[p50.group(2)],
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)],
        "requests": float(total.group(1)),
        "non_2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
    }


def parse_hey(text: str) -> dict[str, float]:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p99 = re.search(r"99% in ([\d.]+) secs", text)
    p50 = re.search(r"50% in ([\d.]+) secs", text)
    codes = re.findall(r"\[(\d{3})\]\s+(\d+) responses", text)
    if not (rps and p99 and p50):
        raise SystemExit(f"could not read hey's output:\n{text}")
    ok = sum(int(n) for code, n in codes if code.startswith("2"))
    bad = sum(int(n) for code, n in codes if not code.startswith("2"))
    return {
        "rps": float(rps.group(1)),
        "p50_ms": float(p50.group(1)) * 1000,
        "p99_ms": float(p99.group(1)) * 1000,
        "requests": float(ok + bad),
        "non_2xx": float(bad),
        "socket_errors": 0.0,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(tool: str, url: str, seconds: int, pid: int | None = None) -> dict[str, float]:
    if tool == "wrk":
        cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url]
        parse = parse_wrk
    else:
        cmd = ["hey", "-c", str(CONNECTIONS), "-z", f"{seconds}s", url]
        parse = parse_hey
    cpu_before = cpu_seconds(pid) if pid else 0.0
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True)
    out = parse(done.stdout)
    if pid and out["requests"]:
        out["cpu_us_per_request"] = (cpu_seconds(pid) - cpu_before) / out["requests"] * 1e6
    return out


# ------------------------------------------------------------------------- main


def main() -> int:
    tool = load_tool()
    db_url = ensure_store()
    redis_proc: subprocess.Popen[bytes] | None = None
    redis_url = os.environ.get("BENCH_REDIS_URL", "")
    if not redis_url:
        if shutil.which("redis-server") is None:
            raise SystemExit("redis-server is not installed (or set BENCH_REDIS_URL)")
        redis_port = free_port()
        redis_proc = subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "DATABASE_URL": db_url,
            "REDIS_URL": redis_url,
            "CACHE_KEY_PREFIX": "alphavelocity-bench",
            "DATA_PROVIDER": "none",
            "LOAD_SAMPLE_ON_EMPTY": "false",
            "SCHEDULER_ENABLED": "false",
            "RATE_LIMIT_ENABLED": "false",
            "JSON_LOGS": "true",
            "LOG_LEVEL": "INFO",
            "ENVIRONMENT": "development",
        }
    )
    log_path = OUT / "http_bench_server.log"
    server_log = open(log_path, "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "bench.http_bench:bench_app"]
        + ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        + ["--no-access-log", "--log-level", "warning"],
        cwd=REPO,
        env=env,
        stdout=server_log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(f"{base}/health/ready", timeout=180, proc=server)
        return run(tool, base, redis_url, server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        server_log.close()
        if redis_proc is not None:
            redis_proc.kill()
            redis_proc.wait(timeout=10)


def run(tool: str, base: str, redis_url: str, pid: int) -> int:
    client = httpx.Client(base_url=base, timeout=30)
    score_url = f"/api/v1/momentum/{TICKER}"
    first = client.get(score_url)
    second = client.get(score_url)
    stats = client.get("/api/v1/cache/stats").json()
    if first.status_code != 200 or second.headers.get("x-cache") != "hit":
        raise SystemExit(f"the score route is not cached: {second.status_code} {second.headers}")
    if stats["backend"] != "redis" or not stats["reachable"] or not stats["keys"]:
        raise SystemExit(f"the cache is not on a reachable Redis: {stats}")

    load_before = os.getloadavg()[0]
    rounds: list[dict[str, dict[str, float]]] = []
    for _ in range(ROUNDS):
        one: dict[str, dict[str, float]] = {}
        for name, path in (("constant", "/bench/constant"), ("score", score_url)):
            load(tool, base + path, WARM_S)
            one[name] = load(tool, base + path, DURATION_S, pid)
        rounds.append(one)
    load_after = os.getloadavg()[0]
    after = client.get("/api/v1/cache/stats").json()

    top = client.get("/api/v1/momentum/top", params={"limit": BATCH_SIZE}).json()
    tickers = [r["ticker"] for r in top["results"]]
    if len(tickers) < BATCH_SIZE:
        raise SystemExit(f"only {len(tickers)} scored tickers for the batch")
    body = {"tickers": tickers}
    started = time.perf_counter()
    cold = client.post("/api/v1/momentum/batch", json=body)
    cold_ms = (time.perf_counter() - started) * 1000
    if cold.status_code != 200 or cold.json()["succeeded"] != BATCH_SIZE:
        raise SystemExit(f"batch failed: {cold.status_code} {cold.text[:300]}")
    timings = []
    for _ in range(BATCH_REQUESTS):
        started = time.perf_counter()
        warm = client.post("/api/v1/momentum/batch", json=body)
        timings.append((time.perf_counter() - started) * 1000)
        if warm.status_code != 200 or warm.headers.get("x-cache") != f"hits={BATCH_SIZE} misses=0":
            raise SystemExit(f"warm batch was not all hits: {warm.headers.get('x-cache')}")
    client.close()

    ratios = [one["score"]["rps"] / one["constant"]["rps"] for one in rounds]
    ratio = statistics.median(ratios)
    cpu_ratios = [
        one["constant"]["cpu_us_per_request"] / one["score"]["cpu_us_per_request"] for one in rounds
    ]
    cpu_ratio = statistics.median(cpu_ratios)
    p99 = max(one["score"]["p99_ms"] for one in rounds)
    base_p99 = max(one["constant"]["p99_ms"] for one in rounds)
    errors = sum(one[n]["non_2xx"] + one[n]["socket_errors"] for one in rounds for n in one)
    batch_median = statistics.median(timings)
    batch_p95 = sorted(timings)[int(0.95 * (len(timings) - 1))]

    def verdict(ok: bool) -> str:
        return "OK" if ok else "MISSED"

    print()
    print(
        f"HTTP benchmark: one uvicorn worker, {tool} with {CONNECTIONS} connections, "
        f"{DURATION_S} s per run after {WARM_S} s of warm-up, {ROUNDS} rounds; "
        f"cache on Redis ({redis_url})"
    )
    print(
        f"machine load average (1 min) before/after: {load_before:.1f} / {load_after:.1f} on "
        f"{os.cpu_count()} CPUs shared by the load tool, redis-server, the worker and the rest"
    )
    print(
        f"{'round':>5}  {'route':<34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'worker CPU us/req':>18} {'non-2xx':>8}"
    )
    for i, one in enumerate(rounds, 1):
        for name, label in (
            ("constant", "GET /bench/constant (baseline)"),
            ("score", f"GET /api/v1/momentum/{TICKER} (Redis)"),
        ):
            r = one[name]
            print(
                f"{i:>5}  {label:<34} {r['rps']:>9.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
                f"{r.get('cpu_us_per_request', 0.0):>18.0f} {int(r['non_2xx']):>8}"
            )
    print(
        f"score/baseline req/s: {', '.join(f'{r:.1%}' for r in ratios)} "
        f"(median {ratio:.1%}; target >= {TARGET_RATIO:.0%})  {verdict(ratio >= TARGET_RATIO)}"
    )
    print(
        f"baseline/score worker CPU per request: {', '.join(f'{r:.1%}' for r in cpu_ratios)} "
        f"(median {cpu_ratio:.1%}: the req/s ratio of a worker that has a CPU to itself)"
    )
    print(
        f"score p99 (worst round): {p99:.2f} ms (target < {TARGET_P99_MS:.0f} ms)  "
        f"{verdict(p99 < TARGET_P99_MS)}; the baseline's p99 (worst round): {base_p99:.2f} ms"
    )
    print(
        f"cache during the runs: hits {after['hits']}, misses {after['misses']}, "
        f"backend {after['backend']}, reachable {after['reachable']}, Redis reads "
        f"{after['details'].get('pipelined_reads')} in "
        f"{after['details'].get('pipelined_read_batches')} round trips"
    )
    print(
        f"POST /api/v1/momentum/batch, {BATCH_SIZE} tickers: cold {cold_ms:.0f} ms; warm over "
        f"{BATCH_REQUESTS} requests median {batch_median:.1f} ms, p95 {batch_p95:.1f} ms, "
        f"max {max(timings):.1f} ms (target < {TARGET_BATCH_MS:.0f} ms)  "
        f"{verdict(batch_median < TARGET_BATCH_MS)}"
    )
    if errors:
        print(f"WARNING: {int(errors)} non-2xx responses or socket errors during the load runs")
    OUT.mkdir(exist_ok=True)
    (OUT / "http_bench.json").write_text(
        json.dumps(
            {
                "tool": tool,
                "connections": CONNECTIONS,
                "seconds": DURATION_S,
                "load_average": [load_before, load_after],
                "rounds": rounds,
                "ratio_median": ratio,
                "cpu_ratio_median": cpu_ratio,
                "score_p99_ms_worst": p99,
                "baseline_p99_ms_worst": base_p99,
                "batch": {
                    "tickers": BATCH_SIZE,
                    "cold_ms": cold_ms,
                    "warm_ms": timings,
                    "warm_median_ms": batch_median,
                },
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
