"""A local webhook receiver for the alert tests: http.server in a thread on 127.0.0.1 that
records each POST and answers the statuses it is told, optionally waiting for a go-ahead."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    url: str
    posts: list[dict[str, Any]] = field(default_factory=list)  # {"path", "headers", "json"}
    statuses: list[int] = field(default_factory=list)  # answered in turn; then 200
    gate: threading.Event | None = None  # when set: each answer waits for it
    received: threading.Event = field(default_factory=threading.Event)

    def script(self, *statuses: int, gate: threading.Event | None = None) -> None:
        self.posts.clear()
        self.statuses = list(statuses)
        self.gate = gate
        self.received.clear()


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            receiver = holder["r"]
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            receiver.posts.append(
                {"path": self.path, "headers": dict(self.headers), "json": json.loads(raw)}
            )
            receiver.received.set()
            if receiver.gate is not None:
                receiver.gate.wait(30)
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["r"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/alerts")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["r"]
    finally:
        gate = holder["r"].gate
        if gate is not None:
            gate.set()
        server.shutdown()
        server.server_close()
