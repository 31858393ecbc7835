"""Caching of computed scores and API answers: one interface, a Redis and an in-process
backend chosen by the settings (REDIS_URL)."""

from __future__ import annotations

from backend.cache.base import BackendStats, CacheBackend
from backend.cache.memory import MemoryBackend
from backend.cache.redis_backend import RedisBackend
from backend.config import Settings

__all__ = [
    "BackendStats",
    "CacheBackend",
    "MemoryBackend",
    "RedisBackend",
    "build_backend",
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
