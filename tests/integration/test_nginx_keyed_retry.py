"""nginx/nginx.conf sends a portfolio write that carries an Idempotency-Key on to the next
replica when one fails (the app answers a repeat from the stored answer), and keeps nginx's
rule for every other POST: one that reached a replica is never sent to another as well.

The rule as written (the map and the location), and the rule at work: the repository's
nginx.conf in front of two stand-in replicas, one that drops every request it reads (a replica
killed mid-request) and one that answers."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.replicas_stack import NGINX_CONF, Nginx, find_nginx, free_port, render_nginx_conf

pytestmark = pytest.mark.integration

KEYED_ROUTES = ("/api/v1/portfolios", "/api/v1/portfolios/12/transactions")


def _keyed_write_regex(conf: str) -> str:
    block = re.search(
        r"map \"\$request_method\$has_idempotency_key\$uri\" \$keyed_write \{(.*?)\}", conf, re.S
    )
    assert block is not None, "the keyed-write map is missing"
    (pattern,) = re.findall(r'"~(.*)" 1;', block.group(1))
    return pattern


def test_only_keyed_portfolio_writes_may_be_sent_again() -> None:
    conf = NGINX_CONF.read_text()
    # a key is any non-empty Idempotency-Key header
    assert re.search(
        r'map \$http_idempotency_key \$has_idempotency_key \{\s*"" 0;\s*default 1;', conf
    )
    pattern = re.compile(_keyed_write_regex(conf))  # nginx's PCRE; this one is plain
    for uri in KEYED_ROUTES:
        assert pattern.search(f"POST1{uri}"), uri
        assert not pattern.search(f"POST0{uri}"), uri  # no key: nginx's rule
        assert not pattern.search(f"PUT1{uri}") and not pattern.search(f"GET1{uri}")
    for uri in (
        "/api/v1/portfolios/12/transactions/import",  # a keyless write route
        "/api/v1/portfolios/12",
        "/api/v1/watchlists",
        "/api/v1/auth/login",
        "/api/v1/portfolios/x/transactions",
        "/api/v1/portfolios/12/transactionsX",
    ):
        assert not pattern.search(f"POST1{uri}"), uri
    # keyed writes go to their own location, which alone adds `non_idempotent`
    assert re.search(r"if \(\$keyed_write\) \{\s*rewrite \^ /internal/keyed-write last;\s*\}", conf)
    internal = re.search(r"location = /internal/keyed-write \{(.*?)\}", conf, re.S)
    assert internal is not None
    assert "internal;" in internal.group(1)
    assert (
        "proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;"
        in internal.group(1)
    )
    assert "proxy_pass http://$app_upstream$request_uri;" in internal.group(1)
    # the server's own rule (everything else) is unchanged: idempotent requests only
    assert "        proxy_next_upstream error timeout http_502 http_503 http_504;\n" in conf
    assert conf.count("non_idempotent;") == 2  # the keyed writes and the read-only batch


class _Answers(BaseHTTPRequestHandler):
    """A replica that answers 201 with what it received."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        seen = {
            "path": self.path,
            "key": self.headers.get("Idempotency-Key"),
            "body": body.decode(),
        }
        out = json.dumps(seen).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: Any) -> None:
        pass


class _Dies(BaseHTTPRequestHandler):
    """A replica killed while handling the request: it reads it and answers nothing."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.close_connection = True

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def nginx_in_front(tmp_path: Path) -> Iterator[str]:
    binary = find_nginx()
    if binary is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), h) for h in (_Dies, _Answers)]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    upstreams = [f"127.0.0.1:{s.server_address[1]}" for s in servers]
    port = free_port()
    conf = render_nginx_conf(NGINX_CONF.read_text(), upstreams, f"127.0.0.1:{port}")
    # keep the dying replica in the rotation: every other request reaches it first
    conf = conf.replace("max_fails=1 fail_timeout=2s", "max_fails=0")
    nginx = Nginx(conf, port, tmp_path, binary)
    try:
        yield nginx.start().url
    finally:
        nginx.stop()
        for s in servers:
            s.shutdown()
            s.server_close()


def test_a_keyed_write_reaches_the_next_replica_and_other_posts_do_not(
    nginx_in_front: str,
) -> None:
    with httpx.Client(base_url=nginx_in_front, timeout=30) as http:

        def statuses(path: str, key: str | None) -> list[int]:
            headers = {"Idempotency-Key": key} if key else {}
            return [http.post(path, json={"n": i}, headers=headers).status_code for i in range(6)]

        # round robin: half of the requests reach the dying replica first
        for path in KEYED_ROUTES:
            assert statuses(path, "k-1") == [201] * 6, path
            plain = statuses(path, None)
            assert plain.count(502) == 3 and plain.count(201) == 3, (path, plain)
            assert statuses(path, "").count(502) == 3  # an empty key is no key
        # a key on a route that does not honour one changes nothing
        assert statuses("/api/v1/watchlists", "k-2").count(502) == 3
        assert statuses("/api/v1/portfolios/12/transactions/import", "k-3").count(502) == 3
        # the app receives the request as the client sent it: URI (encoding and query
        # included), key and body
        uri = "/api/v1/portfolios/12/transactions?x=%41%2Fb"
        for _ in range(2):  # once directly, once after the dying replica
            got = http.post(uri, content=b'{"a": 1}', headers={"Idempotency-Key": "k 4"})
            assert got.status_code == 201
            assert got.json() == {"path": uri, "key": "k 4", "body": '{"a": 1}'}
