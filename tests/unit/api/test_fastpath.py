"""The cache in front of the router: which requests it answers, and that it answers them with
the route's own cached bytes."""

from __future__ import annotations

import datetime as dt
from typing import Any, MutableMapping

import pytest

from backend.api.fastpath import ROUTE, ROUTE_SCOPE_KEY, ScoreFastPath, parse_query
from backend.api.score_cache import ScoreCache
from backend.cache.keys import score_key
from backend.cache.memory import MemoryBackend
from tests.unit.cache.support import run_async

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"", (None, "all")),
        (b"as_of=2020-08-31", (dt.date(2020, 8, 31), "all")),
        (b"universe=model-portfolio", (None, "model-portfolio")),
        (
            b"as_of=2020-08-31&universe=large-cap-anchors",
            (dt.date(2020, 8, 31), "large-cap-anchors"),
        ),
        (b"as_of=2020-02-30", None),  # not a date: the route answers 422
        (b"as_of=20200831", None),
        (b"as_of=2020-08-31&as_of=2020-09-30", None),
        (b"universe=nonsense", None),
        (b"model=alphavelocity-v1", None),
        (b"as_of=2020-08-31&x=1", None),
        (b"%ff=1", None),
    ],
)
def test_parse_query(raw: bytes, expected: Any) -> None:
    assert parse_query(raw) == expected


class Inner:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"route"})


def make(version: int = 3) -> tuple[ScoreFastPath, Inner, ScoreCache]:
    cache = ScoreCache(MemoryBackend("p", 100), 60, "tag", lambda: version)
    inner = Inner()
    return ScoreFastPath(inner, lambda: cache), inner, cache


def request(
    app: ScoreFastPath, path: str, query: bytes = b"", method: str = "GET"
) -> tuple[int, dict[bytes, bytes], bytes, dict[str, Any]]:
    scope: dict[str, Any] = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": [],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    run_async(app(scope, receive, send))
    return sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"], scope


def store(
    cache: ScoreCache, ticker: str, as_of: dt.date | None, universe: str, body: bytes
) -> None:
    run_async(cache.backend.set(score_key("tag", 3, ticker, as_of, universe), body, 60))


def test_a_cached_score_is_answered_without_the_route() -> None:
    app, inner, cache = make()
    store(cache, "AAPL", None, "all", b'{"ticker":"AAPL"}')
    status, headers, body, scope = request(app, "/api/v1/momentum/aapl")
    assert (status, body, inner.calls) == (200, b'{"ticker":"AAPL"}', 0)
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"content-length"] == b"17"
    assert headers[b"x-cache"] == b"hit"
    assert scope[ROUTE_SCOPE_KEY] == ROUTE
    assert cache.hits == 1 and cache.misses == 0


def test_query_parameters_pick_the_entry() -> None:
    app, inner, cache = make()
    store(cache, "MSFT", dt.date(2020, 8, 31), "model-portfolio", b"{}")
    status, _, _, _ = request(
        app, "/api/v1/momentum/MSFT", b"as_of=2020-08-31&universe=model-portfolio"
    )
    assert (status, inner.calls) == (200, 0)
    status, _, _, _ = request(app, "/api/v1/momentum/MSFT", b"as_of=2020-08-31")
    assert (status, inner.calls) == (299, 1)  # another entry: a miss, the route's business


@pytest.mark.parametrize(
    "path, query, method",
    [
        ("/api/v1/momentum/NOSUCH", b"", "GET"),  # miss
        ("/api/v1/momentum/AAPL", b"model=alphavelocity-v1", "GET"),  # other parameter
        ("/api/v1/momentum/top", b"", "GET"),  # another route
        ("/api/v1/momentum/AAPL/history", b"", "GET"),
        ("/api/v1/momentum/bad$", b"", "GET"),  # the route says why it is malformed
        ("/api/v1/momentum/AAPL", b"", "POST"),
        ("/api/v1/prices/AAPL", b"", "GET"),
    ],
)
def test_everything_else_goes_to_the_route(path: str, query: bytes, method: str) -> None:
    app, inner, cache = make()
    store(cache, "AAPL", None, "all", b"{}")
    store(cache, "TOP", None, "all", b"{}")
    status, _, body, _ = request(app, path, query, method)
    assert (status, body, inner.calls) == (299, b"route", 1)
    assert cache.hits == 0


def test_an_old_data_version_is_not_answered() -> None:
    app, inner, cache = make(version=4)
    store(cache, "AAPL", None, "all", b"{}")  # stored under version 3
    assert request(app, "/api/v1/momentum/AAPL")[0] == 299


def test_a_failing_lookup_goes_to_the_route() -> None:
    def broken() -> int:
        raise RuntimeError("database gone")

    cache = ScoreCache(MemoryBackend("p", 10), 60, "tag", broken)
    inner = Inner()
    status, _, _, _ = request(ScoreFastPath(inner, lambda: cache), "/api/v1/momentum/AAPL")
    assert (status, inner.calls) == (299, 1)
