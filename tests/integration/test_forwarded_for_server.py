"""The login rate limit under a real uvicorn started with the Dockerfile's own command-line
flags: 40 wrong passwords from one client with a different X-Forwarded-For each time must meet
429s, whether or not a proxy is trusted. (With the former `--proxy-headers
--forwarded-allow-ips='*'` every request counted as a new client and none was limited.)"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.portfolio_app import ADMIN_TOKEN, JWT_SECRET
from tests.unit.cache.support import free_port

pytestmark = [pytest.mark.integration, pytest.mark.api]

REPO = Path(__file__).resolve().parents[2]


def dockerfile_uvicorn_args(port: int) -> list[str]:
    """The uvicorn arguments of the Dockerfile's CMD, on a loopback port with one worker."""
    lines = [line.strip() for line in (REPO / "Dockerfile").read_text().splitlines()]
    cmd = json.loads([line for line in lines if line.startswith('CMD ["sh"')][-1][4:])
    served = cmd[2].split("exec ", 1)[1]
    args = shlex.split(served)
    assert args[:3] == ["uvicorn", "backend.main:create_app", "--factory"], args
    values = {"--host": "127.0.0.1", "--port": str(port), "--workers": "1"}
    return [values.get(prev, arg) for prev, arg in zip([""] + args, args)]


@pytest.fixture(params=["", "127.0.0.1"], ids=["no-proxy-trusted", "loopback-trusted"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'xff.db'}",
        "ENVIRONMENT": "test",
        "DATA_PROVIDER": "none",
        "LOAD_SAMPLE_ON_EMPTY": "false",
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
        "JWT_SECRET_KEY": JWT_SECRET,
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST_KIB": "8",
        "ARGON2_PARALLELISM": "1",
        "RATE_LIMIT_LOGIN": "10/minute",
        "RATE_LIMIT_LOGIN_ACCOUNT": "1000/minute",
        "TRUSTED_PROXIES": request.param,
        "PYTHONPATH": str(REPO),
    }
    log = tmp_path / "uvicorn.log"
    args = [sys.executable, "-m", *dockerfile_uvicorn_args(port)]
    assert "--no-proxy-headers" in args
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own server, on loopback
            args, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"uvicorn exited with {proc.returncode}: {log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/health/live", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        yield url, request.param
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_rotating_forwarded_for_meets_the_limit(server: tuple[str, str]) -> None:
    url, trusted = server
    codes = []
    with httpx.Client(base_url=url, timeout=10) as client:
        for i in range(40):
            # Trusting the loopback peer as a proxy, the header's right-most untrusted address
            # is the client: here the proxy appended the real one, as nginx does.
            xff = f"203.0.113.{i}" + (", 198.51.100.7" if trusted else "")
            resp = client.post(
                "/api/v1/auth/login",
                json={"email": "victim@example.com", "password": f"wrong password {i}"},
                headers={"X-Forwarded-For": xff},
            )
            codes.append(resp.status_code)
            if resp.status_code == 429:
                assert resp.json()["error"]["code"] == "rate_limited"
                assert int(resp.headers["retry-after"]) >= 1
    assert codes[:10] == [401] * 10
    assert set(codes[10:]) == {429}
