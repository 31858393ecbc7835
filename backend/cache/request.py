"""What one request has read through the cache, kept in its ASGI scope so that no step of the
request reads it again: the store's data version (read once, by the cache in front of the
router or by the route, then passed down to the services as `version`) and the key the cache
in front of the router looked up and did not find (the route need not look it up again).

A request that writes prices (the live provider's bars for a ticker not stored) `forget`s what
it read: the version has moved, and what it answers next must name the new one.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

READS_SCOPE_KEY = "alphavelocity.reads"


@dataclass(slots=True)
class RequestReads:
    version: int | None = None
    missed: str | None = None

    def forget(self) -> None:
        self.version = None
        self.missed = None


def request_reads(scope: MutableMapping[str, Any]) -> RequestReads:
    """The reads of the request whose ASGI scope this is (made on first use)."""
    reads = scope.get(READS_SCOPE_KEY)
    if not isinstance(reads, RequestReads):
        reads = RequestReads()
        scope[READS_SCOPE_KEY] = reads
    return reads
