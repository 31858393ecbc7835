"""Caching of computed scores and API answers: one interface, a Redis and an in-process
backend chosen by the settings (REDIS_URL)."""

from __future__ import annotations

from backend.cache.base import BackendStats, CacheBackend
from backend.cache.keys import model_tag
from backend.cache.memory import MemoryBackend
from backend.cache.redis_backend import RedisBackend
from backend.cache.service import ScoreCache, WarmupResult
from backend.cache.version import DataVersionReader
from backend.config import Settings
from backend.market_data.store import PriceStore
from backend.momentum.engine import MODEL_VERSION

__all__ = [
    "BackendStats",
    "CacheBackend",
    "MemoryBackend",
    "RedisBackend",
    "ScoreCache",
    "WarmupResult",
    "build_backend",
    "build_cache",
]


def build_backend(settings: Settings) -> CacheBackend:
    """Redis when REDIS_URL is set (with an in-process fallback for outages), else memory."""
    memory = MemoryBackend(settings.cache_key_prefix, settings.cache_max_entries)
    if not settings.redis_url:
        return memory
    return RedisBackend(
        settings.redis_url,
        settings.cache_key_prefix,
        fallback=memory,
        socket_timeout=settings.redis_socket_timeout_seconds,
        connect_timeout=settings.redis_connect_timeout_seconds,
        max_connections=settings.redis_max_connections,
        retry_seconds=settings.redis_retry_seconds,
    )


def build_cache(settings: Settings, store: PriceStore) -> ScoreCache:
    """The cache of this service: keys tagged with the model version and the composite weights,
    and carrying the price store's data version, read fresh for every request."""
    weights = (settings.weight_price, settings.weight_technical, settings.weight_relative)
    reader = DataVersionReader(
        store.engine,
        timeout_seconds=settings.data_version_timeout_seconds,
        connect_timeout_seconds=settings.database_connect_timeout_seconds,
    )
    # A SQLite database in memory is reachable only through the engine's own connections.
    in_memory_sqlite = reader.sqlite and not reader.local
    return ScoreCache(
        build_backend(settings),
        settings.cache_ttl_seconds,
        model_tag(MODEL_VERSION, weights),
        store.data_version if in_memory_sqlite else reader.read,
        inline_version_reads=reader.local,
        on_close=reader.close,
        version_timeout=settings.data_version_timeout_seconds,
    )
