"""Prometheus metrics of one app (its own registry, so several apps can live in a process).

Request counts and latency are recorded by the request middleware; the cache's and the
scheduler's counters are read from those objects when /metrics is scraped."""

from __future__ import annotations

from typing import Any, Iterable, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


class _CacheLike(Protocol):
    hits: int
    misses: int
    computations: int
    backend: Any


class _Collector:
    def __init__(self, metrics: "Metrics") -> None:
        self.metrics = metrics

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        cache = self.metrics.cache
        if cache is not None:
            backend = cache.backend.name
            for name, doc, value in (
                ("cache_hits", "Cache lookups answered from the cache", cache.hits),
                ("cache_misses", "Cache lookups that had to compute", cache.misses),
                (
                    "score_computations",
                    "Scores computed by the momentum service (not served from the cache)",
                    cache.computations,
                ),
            ):
                family = CounterMetricFamily(f"alphavelocity_{name}", doc, labels=["backend"])
                family.add_metric([backend], value)
                yield family
            up = GaugeMetricFamily(
                "alphavelocity_cache_backend_up",
                "1 when the cache backend answered its last command (0: Redis unreachable)",
                labels=["backend"],
            )
            up.add_metric([backend], 1.0 if getattr(cache.backend, "reachable", True) else 0.0)
            yield up
            fallback = getattr(cache.backend, "fallback_operations", None)
            if fallback is not None:
                ops = CounterMetricFamily(
                    "alphavelocity_cache_fallback_operations",
                    "Cache operations served in-process because Redis was unreachable",
                )
                ops.add_metric([], fallback)
                yield ops


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.cache: _CacheLike | None = None
        self.requests = Counter(
            "alphavelocity_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "alphavelocity_http_request_duration_seconds",
            "HTTP request duration by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.refresh_runs = Counter(
            "alphavelocity_refresh_runs",
            "Scheduled refresh runs by outcome (ran, skipped, failed)",
            ["outcome"],
            registry=self.registry,
        )
        self.refresh_failures = Counter(
            "alphavelocity_refresh_ticker_failures",
            "Tickers that a refresh could not update (provider failures)",
            registry=self.registry,
        )
        self.registry.register(_Collector(self))

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
