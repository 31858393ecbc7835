"""test_all_endpoints.sh, smoke_test.sh, api_test.sh and nginx.conf against the real service.

The service is started here: uvicorn on a free port, a temporary SQLite database and no live data
provider, so it loads the shipped offline sample. The script must pass against it, fail against a
stopped server, and fail when an answer lacks a key field.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.pipeline.conftest import (
    REPO,
    SCRIPTS,
    FakeHTTP,
    free_port,
    require_tool,
    run,
    stop_process,
)

pytestmark = [pytest.mark.integration, pytest.mark.api]
CHECK = str(REPO / "test_all_endpoints.sh")
CORE = [
    "GET    /  ",
    "GET    /openapi.json",
    "GET    /database/status",
    "GET    /api/v1/momentum/AAPL  ",
    "GET    /api/v1/momentum/AAPL/breakdown",
    "GET    /api/v1/momentum/AAPL/history?start=",
    "POST   /api/v1/momentum/batch",
    "GET    /api/v1/momentum/top?limit=5",
    "GET    /api/v1/momentum/ZZZZZ9",
    "GET    /api/v1/momentum/BAD!TICKER",
    "GET    /api/v1/momentum/top?limit=0",
]
LATER = [
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("GET", "/api/v1/cache/stats"),
    ("GET", "/api/v1/categories"),
    ("GET", "/api/v1/portfolio/analysis"),
]


def service_env(db_file: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{db_file}",
        "DATA_PROVIDER": "none",
        "ENVIRONMENT": "test",
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
        "JWT_SECRET_KEY": "pipeline-test-only",
        "ADMIN_TOKEN": "pipeline-test-only",
        "PYTHONPATH": str(REPO),
    }


def wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the service exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - a local test server
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the service did not answer {url} within {seconds}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    require_tool("curl")
    require_tool("jq")
    home = tmp_path_factory.mktemp("service")  # the cwd: no stray .env is read
    env = service_env(home / "alphavelocity.db")
    port = free_port()
    log = home / "uvicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "uvicorn",
                "backend.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=home,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/health/ready", proc, log, 240)  # scores computed
        with urllib.request.urlopen(f"{url}/openapi.json", timeout=10) as answer:  # noqa: S310
            paths = json.load(answer)["paths"]
        yield {"url": url, "env": env, "home": home, "paths": paths}
    finally:
        stop_process(proc, grace=20)


def served(service: dict[str, object], method: str, path: str) -> bool:
    paths = service["paths"]
    assert isinstance(paths, dict)
    return method.lower() in paths.get(path, {})


def test_every_check_passes_against_the_service(service: dict[str, object]) -> None:
    done = run([CHECK, str(service["url"])], timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for check in CORE:
        assert any(line.startswith("PASS  " + check) for line in lines), check
    for method, path in LATER:
        word = "PASS" if served(service, method, path) else "SKIP"
        assert any(line.startswith(f"{word}  {method:<6} {path} ") for line in lines), (
            method,
            path,
        )
    skipped = [f"{m} {p}" for m, p in LATER if not served(service, m, p)]
    if skipped:
        assert "NOT checked: " + ",".join(skipped) in lines[-1]
    else:
        assert lines[-1].startswith(f"all {len(CORE) + len(LATER)} checks passed")


def test_require_all_turns_a_missing_endpoint_into_a_failure(service: dict[str, object]) -> None:
    done = run([CHECK, str(service["url"])], env={"REQUIRE_ALL": "1"}, timeout=120)
    missing = [(m, p) for m, p in LATER if not served(service, m, p)]
    if not missing:
        assert done.returncode == 0, done.stdout
        return
    assert done.returncode == 1
    assert f"FAIL  {missing[0][0]} {missing[0][1]}: not served (REQUIRE_ALL=1" in done.stdout


def test_a_stopped_server_fails_at_the_first_check() -> None:
    require_tool("curl")
    require_tool("jq")
    done = run([CHECK, f"http://127.0.0.1:{free_port()}"], timeout=60)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [line for line in done.stdout.splitlines() if "FAIL" in line]
    assert done.stdout.startswith("FAIL  GET /: no answer from")


def test_a_missing_key_field_fails(fake_http: FakeHTTP) -> None:
    require_tool("jq")
    fake_http.routes[("GET", "/")] = (200, {"name": "AlphaVelocity", "version": "1"})
    done = run([CHECK, fake_http.url], timeout=60)
    assert done.returncode == 1
    assert "FAIL  GET /: name, version, status: not true of the body" in done.stdout

    fake_http.routes[("GET", "/")] = (
        200,
        {"name": "AlphaVelocity", "version": "1", "status": "ok"},
    )
    fake_http.routes[("GET", "/openapi.json")] = (200, {"paths": {"/": {"get": {}}}})
    fake_http.routes[("GET", "/database/status")] = (
        200,
        {"reachable": True, "engine": "postgresql", "migrated": False, "bars": 10},
    )
    done = run([CHECK, fake_http.url], timeout=60)
    assert done.returncode == 1
    assert "FAIL  GET /database/status: reachable, migrated, holds bars" in done.stdout
    assert "stopped at the first failure: 2 checks passed" in done.stdout


def test_wrong_status_code_fails(fake_http: FakeHTTP) -> None:
    require_tool("jq")
    fake_http.routes[("GET", "/")] = (500, {"name": "x", "version": "1", "status": "ok"})
    done = run([CHECK, fake_http.url], timeout=60)
    assert done.returncode == 1
    assert "FAIL  GET /: status 500, expected 200" in done.stdout


def test_smoke_test_waits_for_readiness_then_checks(service: dict[str, object]) -> None:
    ready = "/health/ready" if served(service, "GET", "/health/ready") else "/"
    done = run(
        [str(SCRIPTS / "smoke_test.sh"), str(service["url"])],
        env={"READY_PATH": ready},
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"ready: {service['url']}{ready} answered 200" in done.stdout
    assert "checks passed" in done.stdout

    never = run(
        [str(SCRIPTS / "smoke_test.sh"), str(service["url"])],
        env={"READY_PATH": "/no-such-readiness-path", "SMOKE_TIMEOUT": "2"},
        timeout=60,
    )
    assert never.returncode == 1
    assert "not ready" in never.stderr
    assert "PASS" not in never.stdout


def test_api_test_uses_a_running_server_or_starts_one(service: dict[str, object]) -> None:
    running = run([str(SCRIPTS / "api_test.sh"), str(service["url"])], timeout=120)
    assert running.returncode == 0, running.stdout + running.stderr
    assert "starting the service" not in running.stderr

    port = free_port()
    started = run(
        [str(SCRIPTS / "api_test.sh"), f"http://127.0.0.1:{port}"],
        env={**service["env"], "PYTHON_BIN": sys.executable},  # type: ignore[dict-item]
        timeout=300,
    )
    assert started.returncode == 0, started.stdout + started.stderr
    assert f"nothing answers at http://127.0.0.1:{port}: starting the service" in started.stderr
    assert "checks passed" in started.stdout
    with pytest.raises(OSError):  # and it stopped the server it started
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)  # noqa: S310

    remote = run([str(SCRIPTS / "api_test.sh"), "http://192.0.2.1:1"], timeout=60)
    assert remote.returncode == 1
    assert "a server is started only on this machine" in remote.stderr


@contextmanager
def nginx_in_front_of(upstream: str, tmp_path: Path, extra: str = "") -> Iterator[str]:
    """The repository's nginx.conf, its upstream pointed at `upstream` (host:port), listening on a
    free loopback port; `extra` is added to its server block. Yields nginx's URL."""
    nginx = require_tool("nginx", "apt-get install nginx-light")
    port = free_port()
    conf = (REPO / "nginx" / "nginx.conf").read_text()
    include = "include /etc/nginx/conf.d/resolver.conf;"
    assert "set $app_upstream app:8000;" in conf and "listen 80;" in conf and include in conf
    conf = conf.replace("set $app_upstream app:8000;", f"set $app_upstream {upstream};")
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{port};\n{extra}")
    # the resolver, written by nginx/resolver.sh as the image's entrypoint would run it
    (tmp_path / "resolv.conf").write_text("nameserver 127.0.0.1\n")
    written = run(
        [str(REPO / "nginx" / "resolver.sh")],
        env={
            "RESOLV_CONF": str(tmp_path / "resolv.conf"),
            "RESOLVER_CONF": str(tmp_path / "r.conf"),
        },
    )
    assert written.returncode == 0, written.stderr
    conf = conf.replace(include, f"include {tmp_path}/r.conf;")
    (tmp_path / "logs").mkdir()
    (tmp_path / "nginx.conf").write_text(conf)
    base = [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", "stderr"]
    pid = f"pid {tmp_path}/nginx.pid;"
    checked = run([*base, "-t", "-g", pid])
    assert checked.returncode == 0, checked.stderr
    proc = subprocess.Popen(  # noqa: S603
        [*base, "-g", f"daemon off; {pid}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(
                    f"{url}/nginx-health", timeout=2
                ) as answer:  # noqa: S310
                    assert answer.read() == b"ok\n"
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_nginx_conf_proxies_to_the_service(service: dict[str, object], tmp_path: Path) -> None:
    upstream = str(service["url"]).removeprefix("http://")
    with nginx_in_front_of(upstream, tmp_path) as url:
        done = run([CHECK, url], timeout=120)
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize(
    "resolv, line",
    [
        # Podman: the network's aardvark-dns first, then the host's servers, which do not know app
        ("search dns.podman\nnameserver 10.89.0.1\nnameserver 10.255.255.53\n", "10.89.0.1"),
        ("nameserver 127.0.0.11\noptions ndots:0\n", "127.0.0.11"),  # Docker
        ("nameserver fd00::1\n", "[fd00::1]"),
    ],
)
def test_nginx_resolves_app_through_the_networks_first_nameserver_only(
    tmp_path: Path, resolv: str, line: str
) -> None:
    (tmp_path / "resolv.conf").write_text(resolv)
    env = {"RESOLV_CONF": str(tmp_path / "resolv.conf"), "RESOLVER_CONF": str(tmp_path / "r.conf")}
    done = run([str(REPO / "nginx" / "resolver.sh")], env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r.conf").read_text() == f"resolver {line} valid=5s ipv6=off;\n"
    (tmp_path / "resolv.conf").write_text("search example\n")
    assert run([str(REPO / "nginx" / "resolver.sh")], env=env).returncode == 1


def test_nginx_sets_the_forwarding_headers_itself(fake_http: FakeHTTP, tmp_path: Path) -> None:
    """nginx is the edge: a client's own X-Forwarded-For is replaced by the address that
    connected, so it cannot choose the address the app (which trusts nginx) sees."""
    fake_http.routes[("GET", "/whoami")] = (200, {})
    upstream = fake_http.url.removeprefix("http://")
    with nginx_in_front_of(upstream, tmp_path) as url:
        request = urllib.request.Request(  # noqa: S310
            f"{url}/whoami", headers={"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"}
        )
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass
    headers = {k.lower(): v for k, v in fake_http.requests[-1].headers.items()}
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-real-ip"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"


PROVIDER_DOWN = (
    '{"error": {"code": "%s", "message": "yfinance could not be reached", "details": {}}}'
)


@pytest.mark.parametrize(
    "code, passes", [("provider_unavailable", True), ("internal_error", False)]
)
def test_unknown_ticker_accepts_the_documented_provider_outage(
    service: dict[str, object], tmp_path: Path, code: str, passes: bool
) -> None:
    """The live provider cannot be reached: the unknown ticker answers 503 provider_unavailable
    (README), which must not fail a deploy's smoke test; any other 503 still does."""
    outage = (
        "location = /api/v1/momentum/ZZZZZ9 {\n"
        "    default_type application/json;\n"
        f"    return 503 '{PROVIDER_DOWN % code}';\n"
        "}"
    )
    upstream = str(service["url"]).removeprefix("http://")
    with nginx_in_front_of(upstream, tmp_path, extra=outage) as url:
        done = run([CHECK, url], timeout=120)
    line = next(x for x in done.stdout.splitlines() if "/api/v1/momentum/ZZZZZ9" in x)
    if passes:
        assert done.returncode == 0, done.stdout
        assert line.startswith("PASS") and " 503 " in line
    else:
        assert done.returncode == 1
        assert line.startswith("FAIL  GET /api/v1/momentum/ZZZZZ9: unknown ticker")
