"""The cache in front of the router: a cached answer of `GET /api/v1/momentum/{ticker}` is
sent straight from the cache, before FastAPI matches the route and solves its parameters
(which costs more than the cache lookup itself).

Only the plain forms are answered here: no query string, or `as_of=YYYY-MM-DD` (not in the
future) and/or `universe=<a known universe>`. The key, the data-version check and the bytes
are those of the route itself (`backend/api/v1/momentum.py`), so the answer is the same;
anything else — a miss, another parameter, a malformed ticker or date, a date in the future
(which the route refuses), an error — goes on to the route.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Callable
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from backend.api.score_cache import ScoreCache
from backend.cache.keys import score_key
from backend.cache.request import READS_SCOPE_KEY, RequestReads
from backend.momentum.dates import is_future
from backend.momentum.universes import ALL, universe_names
from backend.reference.tickers import TICKER_RE

PREFIX = "/api/v1/momentum/"
ROUTE = PREFIX + "{ticker}"
# Paths under PREFIX that are other routes, not tickers.
RESERVED = frozenset({"top"})
# The scope key that tells the request middleware which route answered.
ROUTE_SCOPE_KEY = "alphavelocity.route"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_query(raw: bytes) -> tuple[dt.date | None, str] | None:
    """(as_of, universe) of a query string this path answers, None for any other."""
    if not raw:
        return None, ALL
    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names) or not set(names) <= {"as_of", "universe"}:
        return None
    values = dict(pairs)
    as_of = None
    if "as_of" in values:
        if not _DATE.match(values["as_of"]):
            return None
        try:
            as_of = dt.date.fromisoformat(values["as_of"])
        except ValueError:
            return None
        if is_future(as_of):  # the route refuses it (422), whatever the cache may hold
            return None
    universe = values.get("universe", ALL)
    if universe not in universe_names():
        return None
    return as_of, universe


class ScoreFastPath:
    def __init__(self, app: ASGIApp, cache: Callable[[], ScoreCache]) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = None
        if scope["type"] == "http" and scope["method"] == "GET":
            body = await self._lookup(scope)
        if body is None:
            await self.app(scope, receive, send)
            return
        scope[ROUTE_SCOPE_KEY] = ROUTE
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", str(len(body)).encode()),
                    (b"content-type", b"application/json"),
                    (b"x-cache", b"hit"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _lookup(self, scope: Scope) -> bytes | None:
        path: str = scope["path"]
        if not path.startswith(PREFIX):
            return None
        ticker = path[len(PREFIX) :]
        if ticker in RESERVED or not TICKER_RE.fullmatch(ticker):
            return None
        query = parse_query(scope.get("query_string", b""))
        if query is None:
            return None
        as_of, universe = query
        cache = self.cache()
        try:
            version = await cache.data_version()
            key = score_key(cache.tag, version, ticker.upper(), as_of, universe)
            body = await cache.lookup(key)
        except Exception:  # the route answers it, with the error in the one shape
            return None
        if body is None:
            # The route reuses the version read here, and skips the lookup of the same key.
            scope[READS_SCOPE_KEY] = RequestReads(version, key)
        return body
