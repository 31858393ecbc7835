"""Request bodies are limited in the app: 413 `payload_too_large` in the documented shape, with
the limit, whether the size is declared (Content-Length) or only known as the body streams in
(chunked); a larger limit for CSV imports; a 100 MB body is refused after about the limit's
worth of reading, on a real server."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi.testclient import TestClient

from backend.main import create_app
from tests.api.test_cache_api import copy_sqlite
from tests.support.portfolio_app import Api, portfolio_settings
from tests.unit.cache.support import free_port

pytestmark = [pytest.mark.api]

LIMIT = 4096
IMPORT_LIMIT = 16384


@pytest.fixture(scope="module")
def store_url(sample_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    return copy_sqlite(sample_db_url, tmp_path_factory.mktemp("body-limit") / "store.db")


def limited_app(store_url: str):  # type: ignore[no-untyped-def]
    return create_app(
        portfolio_settings(store_url, max_body_bytes=LIMIT, max_import_body_bytes=IMPORT_LIMIT)
    )


@pytest.fixture(scope="module")
def client(store_url: str) -> Iterator[TestClient]:
    with TestClient(limited_app(store_url)) as c:
        yield c


def batch_body(size: int) -> bytes:
    """A valid batch request of exactly `size` bytes (padded with JSON whitespace)."""
    body = json.dumps({"tickers": ["AAPL", "MSFT"]}).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


def assert_too_large(resp, limit: int) -> None:  # type: ignore[no-untyped-def]
    assert resp.status_code == 413, resp.text
    error = resp.json()["error"]
    assert error["code"] == "payload_too_large"
    assert error["details"] == {"limit_bytes": limit}
    assert str(limit) in error["message"]


def test_a_declared_body_over_the_limit_is_refused_unread(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="backend.api"):
        resp = client.post(
            "/api/v1/momentum/batch",
            content=batch_body(LIMIT + 1),
            headers={"content-type": "application/json"},
        )
    assert_too_large(resp, LIMIT)
    assert "x-request-id" in resp.headers
    assert f"declared {LIMIT + 1} bytes, limit {LIMIT}" in caplog.text


def test_a_body_of_exactly_the_limit_is_read(client: TestClient) -> None:
    resp = client.post(
        "/api/v1/momentum/batch",
        content=batch_body(LIMIT),
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["succeeded"] == 2


def test_a_chunked_body_without_a_length_is_counted_as_it_streams(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"tickers": ["AAPL"'
        for _ in range(20):
            yield b" " * 512

    resp = client.post(
        "/api/v1/momentum/batch", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in resp.request.headers
    assert resp.request.headers["transfer-encoding"] == "chunked"
    assert_too_large(resp, LIMIT)


def test_a_get_without_a_body_is_untouched(client: TestClient) -> None:
    assert client.get("/api/v1/momentum/AAPL").status_code == 200


def test_csv_imports_have_their_own_larger_limit(client: TestClient) -> None:
    api = Api(client)
    user = api.user()
    portfolio = api.portfolio(user["headers"])
    header = "date,type,ticker,quantity,price,fees,note\n"
    row = "2021-01-04,deposit,,,,,{note}\n"
    # Over the default limit, under the import limit: read and imported.
    rows = [row.format(note="n" * 40) for _ in range(2 * LIMIT // 60)]
    body = (header + "".join(rows)).encode()
    assert LIMIT < len(body) < IMPORT_LIMIT
    resp = client.post(
        f"/api/v1/portfolios/{portfolio}/transactions/import",
        content=body,
        headers={**user["headers"], "content-type": "text/csv"},
    )
    assert resp.status_code != 413, resp.text
    big = (header + row.format(note="n" * 40) * (IMPORT_LIMIT // 40)).encode()
    resp = client.post(
        f"/api/v1/portfolios/{portfolio}/transactions/import",
        content=big,
        headers={**user["headers"], "content-type": "text/csv"},
    )
    assert_too_large(resp, IMPORT_LIMIT)


def test_the_schema_declares_413_on_every_route(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "413" in operation["responses"], (method, path)
            if path.startswith("/api/"):
                assert "503" in operation["responses"], (method, path)


# ---------------------------------------------------------------- a real server


@pytest.fixture(scope="module")
def server(store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    url = copy_sqlite(store_url, tmp_path_factory.mktemp("body-limit-server") / "store.db")
    port = free_port()
    config = uvicorn.Config(
        create_app(portfolio_settings(url, max_body_bytes=1_048_576)),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="body-limit-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield port
    srv.should_exit = True
    thread.join(timeout=15)


def send_until_refused(port: int, head: bytes, chunk: bytes, total: int) -> tuple[int, bytes]:
    """Send `head`, then up to `total` bytes of `chunk`s; stop when the server answers.
    Returns (bytes of body sent, the answer)."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        answer = b""
        while sent < total:
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            except ConnectionResetError:
                break
            if answer:
                break
            try:
                sent += sock.send(chunk)
            except BlockingIOError:
                time.sleep(0.001)
            except (BrokenPipeError, ConnectionResetError):
                break
        sock.setblocking(True)
        sock.settimeout(10)
        try:
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except (ConnectionResetError, TimeoutError):
            pass
    return sent, answer


def test_a_100_mb_chunked_body_is_refused_after_about_the_limit(server: int) -> None:
    payload = b"x" * 65536
    chunk = f"{len(payload):x}\r\n".encode() + payload + b"\r\n"
    head = (
        b"POST /api/v1/momentum/batch HTTP/1.1\r\nHost: test\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    sent, answer = send_until_refused(server, head, chunk, 100 * 1024 * 1024)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    head_bytes, rest = answer.split(b"\r\n\r\n", 1)
    declared = re.search(rb"(?im)^content-length: *(\d+)", head_bytes)
    assert declared is not None, head_bytes
    length = int(declared.group(1))
    # Only the declared length is this answer: the server may go on to refuse the bytes the
    # client kept sending as a malformed next request before the connection closes.
    body = json.loads(rest[:length])
    assert body["error"]["code"] == "payload_too_large"
    # What was sent before the answer: the limit, plus what the kernel's buffers took.
    assert sent < 24 * 1024 * 1024, sent
    print(f"chunked: {sent} bytes sent before the 413")


def test_a_declared_100_mb_body_is_refused_before_it_is_sent(server: int) -> None:
    head = (
        b"POST /api/v1/momentum/batch HTTP/1.1\r\nHost: test\r\n"
        b"Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n"
    )
    sent, answer = send_until_refused(server, head, b"x" * 65536, 100 * 1024 * 1024)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"payload_too_large"' in answer
    assert sent < 24 * 1024 * 1024, sent
    print(f"declared: {sent} bytes sent before the 413")
