"""A TCP proxy on a free loopback port that a fault test can make misbehave, in front of a real
server (PostgreSQL, Redis) that the test must not touch itself.

* `hang()`: nothing is forwarded any more, either way, on open connections and on new ones
  (which are still accepted, as a stopped server's kernel does): the client's bytes are
  acknowledged and never answered — a hung server.
* `resume()`: forwarding goes on (whatever was held is delivered).
* `refuse()`: every connection is closed and the port refuses new ones — a server that is down.
* `reopen()`: listens again on the same port.

Threads only (one to accept, one per connection), all daemons, all stopped by `close()`.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from typing import Any


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener: socket.socket | None = None
        self.port = 0
        self._flowing = threading.Event()
        self._flowing.set()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._closed = False
        self.connections = 0

    # ------------------------------------------------------------------ control

    def start(self) -> "TcpProxy":
        self._listen()
        return self

    def hang(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def refuse(self) -> None:
        """Close the listener and every connection: new connections are refused."""
        listener, self._listener = self._listener, None
        if listener is not None:
            _close(listener)
        self._close_connections()

    def reopen(self) -> None:
        self._flowing.set()
        self._listen()

    def close(self) -> None:
        self._closed = True
        self._flowing.set()
        self.refuse()

    def __enter__(self) -> "TcpProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    # ------------------------------------------------------------------ inside

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(
            target=self._accept, args=(listener,), name="tcp-proxy-accept", daemon=True
        ).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # the listener was closed
                return
            self.connections += 1
            threading.Thread(
                target=self._serve, args=(client,), name="tcp-proxy-pipe", daemon=True
            ).start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _serve(self, client: socket.socket) -> None:
        self._track(client)
        # A hung server accepts (its kernel does) but never answers: connect upstream only
        # once forwarding is on.
        while not self._flowing.wait(0.05):
            if client.fileno() < 0:
                return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _close(client)
            return
        upstream.settimeout(None)
        self._track(upstream)
        peers = {client: upstream, upstream: client}
        selector = selectors.DefaultSelector()
        try:
            for sock in peers:
                selector.register(sock, selectors.EVENT_READ)
            while True:
                if not self._flowing.is_set():
                    # Hold everything: what arrives stays in the kernel's buffers, acknowledged.
                    self._flowing.wait(0.05)
                    if client.fileno() < 0 or upstream.fileno() < 0:
                        return
                    continue
                for key, _ in selector.select(timeout=0.05):
                    sock: Any = key.fileobj
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    try:
                        peers[sock].sendall(data)
                    except OSError:
                        return
        except (OSError, ValueError):  # a socket closed under us by refuse()
            return
        finally:
            selector.close()
            _close(client)
            _close(upstream)

    def _close_connections(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _close(sock)
        time.sleep(0.05)  # let the pipes notice


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
