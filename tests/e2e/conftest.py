"""Fixtures of the browser tests: a real server (uvicorn on a free loopback port, over a copy of
the sample store) and Debian's Chromium driven by Playwright.

Without Chromium (or Playwright) the tests are skipped with the reason, except in CI (`CI` set),
where that is a failure: `.ci/run` installs Chromium, requirements-dev.txt pins Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parents[2]
OUTPUT_DIR = REPO_ROOT / "test-output" / "e2e"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SERVER_START_SECONDS = 120


def _find_chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} — CI must run the browser tests (.ci/run installs Chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _find_chromium()
    if path is None:
        _unavailable(
            "Chromium not found at /usr/bin/chromium (apt-get install -y chromium, "
            "or set CHROMIUM_PATH)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("Playwright is not installed (pip install -r requirements-dev.txt)")
    assert path is not None
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def copy_sample_store(sample_db_url: str, db: Path) -> None:
    """A copy of the session's sample store at `db` (SQLite's backup API copies a consistent
    database even if another connection has it open)."""
    src = sqlite3.connect(str(make_url(sample_db_url).database))
    dst = sqlite3.connect(str(db))
    with dst:
        src.backup(dst)
    src.close()
    dst.close()


@contextmanager
def served(folder: Path, db: Path, **settings: str) -> Iterator[str]:
    """The service over the SQLite store `db` in its own uvicorn process (its log in
    `folder`), with the tests' settings and `settings` on top; its base URL once
    /health/ready says 200 (the process is stopped afterwards)."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "DATA_PROVIDER": "none",
        "ENVIRONMENT": "test",
        "LOAD_SAMPLE_ON_EMPTY": "false",
        "REDIS_URL": "",
        "SCHEDULER_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        # The browser tests log in often, from one address, on one server: the limits are
        # tested elsewhere (tests/api/test_auth.py), not here.
        "RATE_LIMIT_LOGIN": "1000/minute",
        "RATE_LIMIT_LOGIN_ACCOUNT": "1000/minute",
        "PYTHONPATH": str(REPO_ROOT),
        **settings,
    }
    log_path = folder / "server.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "backend.main:create_app", "--factory"]
        + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_SECONDS
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited ({proc.returncode}):\n{log_path.read_text()}")
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer in {SERVER_START_SECONDS}s")
            time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="package")  # stopped when the e2e tests are done, not at the session's end
def live_server(
    chromium_path: str, sample_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The service at http://127.0.0.1:<port>, over its own copy of the sample store."""
    folder = tmp_path_factory.mktemp("e2e")
    db = folder / "e2e.db"
    copy_sample_store(sample_db_url, db)
    with served(folder, db) as base:
        yield base


@pytest.fixture(scope="package")
def browser(chromium_path: str) -> Iterator[Any]:
    # Package scope, not session: Playwright's sync API keeps an event loop running in this
    # thread while it is open, which would break asyncio.run() in every test after e2e.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@contextmanager
def watched_page(browser: Any, base_url: str) -> Iterator[Any]:
    """A fresh browser page on `base_url` (desktop width, light theme) that fails the test on a
    script error or on anything the Content-Security-Policy blocks."""
    context = browser.new_context(
        viewport=DESKTOP, base_url=base_url, color_scheme="light", reduced_motion="reduce"
    )
    context.set_default_timeout(20_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    # What the Content-Security-Policy blocks, Chromium reports on the console.
    pg.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    try:
        yield pg
    finally:
        context.close()
    assert not errors, f"script errors or CSP violations on the page: {errors}"


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    """`watched_page` on the package's server."""
    with watched_page(browser, live_server) as pg:
        yield pg


@pytest.fixture(scope="session")
def shots() -> Path:
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    return OUTPUT_DIR
