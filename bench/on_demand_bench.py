"""Other routes under a flood of unknown-ticker requests (`python -m bench.on_demand_bench`, part
of `make bench`; issue 10, item 2).

Builds a SQLite store with the shipped sample in a temporary folder and serves the app
in-process (Starlette's TestClient: one event loop, the app's own thread pools), with a fake
provider that holds every fetch until it is released (no network). In the same run it times
`GET /api/v1/categories`, `GET /health/live` and a cached `GET /api/v1/momentum/AAPL`:

1. quiet: nothing else in flight (the normal latency);
2. flooded: while 50 concurrent requests for 50 different unknown tickers wait on the provider
   (4 provider threads busy, the other 46 queued behind them).

Then it prints how long the flood's requests took once released, and the latency of a miss the
service remembers (asked again: answered without the provider). The claim checked: the flooded
figures stay at the quiet ones' order (milliseconds), where before this work (fetches in the
threads serving every route, behind one lock) they waited for the provider.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Sequence

import pandas as pd
from fastapi.testclient import TestClient

from backend.config import Settings
from backend.main import create_app
from backend.market_data.providers.base import FetchResult

FLOOD = 50
WORKERS = 4
ROUNDS = 40
ROUTES = ["/api/v1/categories", "/health/live", "/api/v1/momentum/AAPL"]


class HeldProvider:
    """Knows no ticker; holds each fetch until released (or its deadline)."""

    name = "held"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.calls = 0

    def fetch(
        self,
        tickers: Sequence[str],
        start: date | None = None,
        end: date | None = None,
        deadline: float | None = None,
    ) -> FetchResult:
        with self.lock:
            self.in_flight += 1
            self.calls += 1
        try:
            wait = 60.0 if deadline is None else max(0.0, deadline - time.monotonic())
            self.release.wait(wait)
            return FetchResult(bars=pd.DataFrame(), failures={t: "unknown symbol" for t in tickers})
        finally:
            with self.lock:
                self.in_flight -= 1


def _time(client: TestClient, url: str) -> float:
    started = time.perf_counter()
    resp = client.get(url)
    seconds = time.perf_counter() - started
    assert resp.status_code == 200, (url, resp.status_code, resp.text[:200])
    return seconds * 1000


def _rounds(client: TestClient) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {url: [] for url in ROUTES}
    for _ in range(ROUNDS):
        for url in ROUTES:
            out[url].append(_time(client, url))
    return out


def _row(label: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[int(0.95 * (len(ms) - 1))]
    return f"{label:<46} {len(ms):>4} {statistics.median(ms):>9.2f} {p95:>9.2f} {max(ms):>9.2f}"


def main() -> int:
    provider = HeldProvider()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
            redis_url="",
            log_level="WARNING",
            on_demand_deadline_seconds=30.0,
            on_demand_workers=WORKERS,
            on_demand_max_pending=FLOOD + 10,
            rate_limit_on_demand="10000/minute",
        )
        with TestClient(create_app(settings, provider=provider)) as client:
            for url in ROUTES * 5:  # warm: score book, cached answer, connections
                _time(client, url)
            quiet = _rounds(client)
            with ThreadPoolExecutor(max_workers=FLOOD) as pool:
                started = time.perf_counter()
                flood = [
                    pool.submit(client.get, f"/api/v1/momentum/UNKNOWN{i}") for i in range(FLOOD)
                ]
                fetcher = client.app.state.on_demand  # type: ignore[attr-defined]
                while fetcher.pending < FLOOD or provider.in_flight < WORKERS:
                    time.sleep(0.005)
                flooded = _rounds(client)
                waiting = sum(not f.done() for f in flood)
                held_for = time.perf_counter() - started
                provider.release.set()
                statuses = sorted({f.result().status_code for f in flood})
                flood_seconds = time.perf_counter() - started
            remembered = [_time_status(client, "/api/v1/momentum/UNKNOWN0") for _ in range(20)]
    print("AlphaVelocity: other routes while unknown tickers wait on the provider (in-process)")
    print(f"{'request':<46} {'n':>4} {'median ms':>9} {'p95 ms':>9} {'max ms':>9}")
    for url in ROUTES:
        print(_row(f"GET {url}, quiet", quiet[url]))
        print(_row(f"GET {url}, {FLOOD} fetches waiting", flooded[url]))
    print(
        f"flood: {FLOOD} unknown tickers, {WORKERS} provider threads; {waiting} of them still "
        f"waiting after the flooded rounds ({held_for:.2f} s); all answered {statuses} "
        f"{flood_seconds:.2f} s after they started; provider calls {provider.calls}"
    )
    print(_row("GET /api/v1/momentum/UNKNOWN0, remembered (404)", remembered))
    ratios = [statistics.median(flooded[url]) / statistics.median(quiet[url]) for url in ROUTES]
    print(
        "flooded median / quiet median: "
        + ", ".join(f"{url} {r:.2f}x" for url, r in zip(ROUTES, ratios))
    )
    return 0


def _time_status(client: TestClient, url: str) -> float:
    started = time.perf_counter()
    resp = client.get(url)
    seconds = time.perf_counter() - started
    assert resp.status_code == 404, (url, resp.status_code, resp.text[:200])
    return seconds * 1000


if __name__ == "__main__":
    raise SystemExit(main())
