"""Servers for the tests that need real processes: N uvicorn replicas of the service on one
fresh PostgreSQL database and one Redis DB, behind nginx - the same stack `make replicas` runs
(scripts/replicas_stack.py), skipped with the reason when a piece is missing here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from scripts.replicas_stack import Stack, StackSpec, find_nginx
from tests.support.portfolio_app import ADMIN_TOKEN, JWT_SECRET
from tests.unit.cache.support import redis_test_url

# Cheap password hashing: the tests log in often, and the hash cost is not what they test.
FAST_HASHING = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST_KIB": "8", "ARGON2_PARALLELISM": "1"}


@contextmanager
def replica_stack(replicas: int, run_dir: Path, **env: str) -> Iterator[Stack]:
    """`replicas` replicas (their own database, dropped at the end; keys under their own prefix
    in the test Redis DB, deleted at the end) behind nginx. `env` adds settings of every replica.
    Skips without nginx, TEST_DATABASE_URL or a reachable test Redis."""
    if find_nginx() is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light): no replicas behind it")
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        pytest.skip("TEST_DATABASE_URL is not set: the replicas need a shared PostgreSQL")
    spec = StackSpec(replicas, server_url, redis_test_url(), str(run_dir))
    spec.admin_token, spec.jwt_secret = ADMIN_TOKEN, JWT_SECRET
    spec.extra_env = {"ENVIRONMENT": "test", **FAST_HASHING, **env}
    with Stack(spec, say=lambda *_: None) as stack:
        yield stack
