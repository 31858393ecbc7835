"""Cache keys. A key names everything that makes its value valid:

    <kind>:<model tag>:d<data version>:<ticker>:<as-of | latest>[:<more parts>]

The model tag is the model version plus the composite weights (two replicas configured with
other weights must not share entries). The data version is the price store's; every write
that changes prices bumps it, so entries computed from older prices are simply never looked
up again and expire by their TTL. The backend puts its prefix (CACHE_KEY_PREFIX) in front.
"""

from __future__ import annotations

import datetime as dt

LATEST = "latest"


def model_tag(model_version: str, weights: tuple[float, float, float]) -> str:
    price, technical, relative = weights
    return f"{model_version}-w{price:g}-{technical:g}-{relative:g}"


def _part(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def score_key(
    tag: str, data_version: int, ticker: str, as_of: dt.date | None, universe: str
) -> str:
    """The key of one score answer (GET /momentum/{ticker}, batch entries, warmup)."""
    return (
        f"score:{tag}:d{data_version}:{ticker}:{as_of.isoformat() if as_of else LATEST}:{universe}"
    )


def response_key(kind: str, tag: str, data_version: int, *parts: object) -> str:
    """The key of another cached answer (breakdown, history, top): kind plus its parameters."""
    return ":".join([kind, tag, f"d{data_version}", *(_part(p) for p in parts)])
