"""In-process latency of GET /api/v1/momentum/{ticker} from a warm process (issue 2).

Builds a SQLite store with the shipped sample in a temporary folder, starts the app in-process
(httpx through Starlette's TestClient; no Redis, so the in-process cache), and times:
- every sample ticker once (a cache miss: the answer is built from the score book),
- the same tickers again (cache hits),
- `GET /health/live` in the same process, the baseline of a trivial route.
Prints medians and p95; the target is a median under 5 ms for the score route.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from backend.config import Settings
from backend.main import create_app


def _timed(client: TestClient, paths: list[str]) -> list[float]:
    out = []
    for path in paths:
        started = time.perf_counter()
        resp = client.get(path)
        out.append((time.perf_counter() - started) * 1000)
        assert resp.status_code == 200, (path, resp.status_code, resp.text[:200])
    return out


def _row(label: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[int(0.95 * (len(ms) - 1))]
    return f"{label:<44} {len(ms):>6} {statistics.median(ms):>10.3f} {p95:>10.3f}"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
            data_provider="none",
            redis_url="",
            log_level="WARNING",
        )
        with TestClient(create_app(settings)) as client:
            top = client.get("/api/v1/momentum/top?limit=500").json()["results"]
            paths = [f"/api/v1/momentum/{r['ticker']}" for r in top]
            _timed(client, ["/health/live"] * 50)  # warm the client itself
            baseline = _timed(client, ["/health/live"] * len(paths))
            misses = _timed(client, paths)
            hits = _timed(client, paths)
    print("AlphaVelocity API latency, in-process (TestClient), warm process, SQLite sample")
    print(f"{'request':<44} {'n':>6} {'median ms':>10} {'p95 ms':>10}")
    print(_row("GET /health/live (baseline)", baseline))
    print(_row("GET /api/v1/momentum/{ticker}, first (miss)", misses))
    print(_row("GET /api/v1/momentum/{ticker}, again (hit)", hits))
    median = statistics.median(misses)
    ratio = median / statistics.median(baseline)
    print(f"score route (miss) median {median:.3f} ms = {ratio:.2f}x the baseline; target < 5 ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
