"""Helpers for the tests of the pipeline itself: the scripts, workflows, containers and Makefile.

A test that needs a tool which is not installed skips with the reason on a developer's machine,
and fails in CI (CI=true), where .ci/run installs every tool these tests use.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
VENV_BIN = Path(sys.executable).parent


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_tool(name: str, why: str = "") -> str:
    """The path of a command-line tool (the venv's first, then PATH); skip or fail without it."""
    found = shutil.which(name, path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if found:
        return found
    message = f"{name} is not installed{': ' + why if why else ''} (see docs/pipeline.md)"
    if in_ci():
        pytest.fail(f"CI=true and {message}")
    pytest.skip(message)


def run(
    cmd: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | str = REPO,
    input: str | None = None,  # noqa: A002 - subprocess's own name
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run a command (from the repository root by default); env adds to the environment."""
    full_env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    full_env.update(env or {})
    return subprocess.run(  # noqa: S603 - test helper running the project's own scripts
        cmd,
        cwd=cwd,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def stop_process(proc: subprocess.Popen[bytes], grace: float = 30) -> None:
    """SIGTERM (a server's graceful stop), then SIGKILL if it has not ended within `grace`."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: str

    def json(self) -> object:
        return json.loads(self.body)


@dataclass
class FakeHTTP:
    """A local HTTP server that records every request and answers from `routes`."""

    url: str
    requests: list[Recorded] = field(default_factory=list)
    # (method, path) -> (status, JSON-able body); anything else answers 404
    routes: dict[tuple[str, str], tuple[int, object]] = field(default_factory=dict)


@pytest.fixture
def fake_http() -> Iterator[FakeHTTP]:
    state = FakeHTTP(url="")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            state.requests.append(Recorded(self.command, self.path, dict(self.headers), body))
            status, payload = state.routes.get((self.command, self.path), (404, {"error": "no"}))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
