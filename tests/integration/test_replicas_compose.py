"""`docker compose up --scale app=3`: the compose file lets the app service scale (no fixed
name, address or host port), and nginx.conf - as compose runs it, `app:8000` resolved through
the network's DNS server written by nginx/resolver.sh - balances over every address the name
has and skips one that stopped. No container engine here: a DNS server that answers `app`
with three loopback addresses stands in for the compose network's."""

from __future__ import annotations

import socket
import struct
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from scripts.replicas_stack import LISTEN, NGINX_CONF, RESOLVER_INCLUDE, find_nginx, free_port
from tests.pipeline.conftest import REPO, require_tool, run

pytestmark = [pytest.mark.integration]

COMPOSE_ENV = {
    "POSTGRES_PASSWORD": "example-password",  # pragma: allowlist secret
    "REDIS_PASSWORD": "example-redis",  # pragma: allowlist secret
    "JWT_SECRET_KEY": "example-jwt-secret-0123456789abcdef",  # pragma: allowlist secret
    "ADMIN_TOKEN": "example-admin",
}
# the three "containers" of the app service, and the network's DNS server
APP_ADDRESSES = ["127.0.1.1", "127.0.1.2", "127.0.1.3"]
DNS_ADDRESS = "127.0.1.53"


def test_the_compose_file_lets_the_app_service_scale(tmp_path: Path) -> None:
    tool = require_tool("docker-compose", "apt-get install docker-compose")
    empty_env = tmp_path / "empty.env"
    empty_env.write_text("")
    done = run(
        [tool, "-f", str(REPO / "docker-compose.yml"), "--env-file", str(empty_env), "config"],
        env=COMPOSE_ENV,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    app = yaml.safe_load(done.stdout)["services"]["app"]
    # each would make a second container of the service clash with the first
    assert "container_name" not in app and "ports" not in app and "hostname" not in app
    assert all(not (net or {}).get("ipv4_address") for net in _networks(app).values())
    # nginx reaches the service by its name, resolved again every few seconds
    conf = NGINX_CONF.read_text()
    assert "set $app_upstream app:8000;" in conf and "proxy_pass http://$app_upstream;" in conf


def _networks(service: dict[str, Any]) -> dict[str, Any]:
    nets = service.get("networks") or {}
    return {n: None for n in nets} if isinstance(nets, list) else dict(nets)


def _dns_answer(query: bytes) -> bytes:
    """A DNS response to `query`: the A records of APP_ADDRESSES for `app`, nothing else."""
    (ident,) = struct.unpack("!H", query[:2])
    end = 12
    labels = []
    while query[end]:
        labels.append(query[end + 1 : end + 1 + query[end]].decode())
        end += query[end] + 1
    question = query[12 : end + 5]
    qtype = struct.unpack("!H", query[end + 1 : end + 3])[0]
    answers = APP_ADDRESSES if labels == ["app"] and qtype == 1 else []
    header = struct.pack("!HHHHHH", ident, 0x8180, 1, len(answers), 0, 0)
    records = b"".join(
        struct.pack("!HHHIH", 0xC00C, 1, 1, 5, 4) + socket.inet_aton(a) for a in answers
    )
    return header + question + records


@pytest.fixture
def dns() -> Iterator[None]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((DNS_ADDRESS, 53))
    except OSError as exc:
        pytest.skip(f"cannot serve DNS on {DNS_ADDRESS}:53 ({exc}): run as root")
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                query, peer = sock.recvfrom(512)
            except socket.timeout:
                continue
            sock.sendto(_dns_answer(query), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=5)
    sock.close()


class _Whoami(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = self.server.server_address[0].encode()  # type: ignore[index]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def app_containers() -> Iterator[list[ThreadingHTTPServer]]:
    servers = []
    try:
        for address in APP_ADDRESSES:
            try:
                servers.append(ThreadingHTTPServer((address, 8000), _Whoami))
            except OSError as exc:
                pytest.skip(f"cannot listen on {address}:8000 ({exc})")
        for s in servers:
            threading.Thread(target=s.serve_forever, daemon=True).start()
        yield servers
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()


def test_nginx_balances_over_every_container_of_a_scaled_app_service(
    dns: None, app_containers: list[ThreadingHTTPServer], tmp_path: Path
) -> None:
    nginx = find_nginx()
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    # resolver.conf as nginx/resolver.sh writes it in the container
    (tmp_path / "resolv.conf").write_text(f"nameserver {DNS_ADDRESS}\n")
    written = run(
        [str(REPO / "nginx" / "resolver.sh")],
        env={
            "RESOLV_CONF": str(tmp_path / "resolv.conf"),
            "RESOLVER_CONF": str(tmp_path / "resolver.conf"),
        },
    )
    assert written.returncode == 0, written.stderr
    port = free_port()
    conf = NGINX_CONF.read_text()
    conf = conf.replace(RESOLVER_INCLUDE, f"include {tmp_path / 'resolver.conf'};")
    conf = conf.replace(LISTEN, f"listen 127.0.0.1:{port};")
    (tmp_path / "nginx.conf").write_text(conf)
    (tmp_path / "logs").mkdir()
    pid = f"pid {tmp_path / 'nginx.pid'};"
    base = [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", "stderr"]
    proc = subprocess.Popen(  # noqa: S603
        [*base, "-g", f"daemon off; {pid}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/nginx-health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.2)
        with httpx.Client(base_url=url, timeout=10) as client:
            served = Counter(client.get("/whoami").text for _ in range(30))
            assert set(served) == set(APP_ADDRESSES), served  # round-robin over all three
            app_containers[1].shutdown()  # one container stops: connections are refused
            app_containers[1].server_close()
            answers = [client.get("/whoami") for _ in range(30)]
        assert all(a.status_code == 200 for a in answers)
        assert {a.text for a in answers} == {APP_ADDRESSES[0], APP_ADDRESSES[2]}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
