"""The `Idempotency-Key` request header of the portfolio writes, as HTTP: its declaration (and
so its validation: 1 to 255 printable ASCII characters, else 422 naming the header and the
rule), the OpenAPI of a keyed write's answer, and that answer: the write's own, or the stored
one replayed with `Idempotent-Replayed: true` (backend/portfolios/idempotency.py does the rest).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Header, Response
from pydantic import BaseModel

from backend.portfolios.idempotency import (
    HEADER,
    KEY_MAX_LENGTH,
    KEY_PATTERN,
    KEY_RULE,
    Claim,
    IdempotencyService,
    IdempotentRequest,
    request_hash,
)

REPLAYED = "Idempotent-Replayed"

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=KEY_MAX_LENGTH,
        pattern=KEY_PATTERN,
        description=f"A key you choose ({KEY_RULE}) that names this write: sent again with the "
        "same key and body (after a time-out, a lost connection, a 502), it is answered with "
        "the first answer and `Idempotent-Replayed: true`, and nothing is written twice; the "
        "same key with another body is 422 `idempotency_key_reused`. Keys are per user and "
        "kept IDEMPOTENCY_KEY_HOURS (24 h). A duplicate sent while the first is in flight "
        "waits for it and gets its answer.",
        examples=["6f1c9a52-0d3e-4c7b-9a61-2f0e8c4d5b17"],
    ),
]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def keyed_answer(status: int, description: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` entry of a keyed write's success: it may be a replay, which says so."""
    return {
        status: {
            "description": description,
            "headers": {
                REPLAYED: {
                    "description": "`true` when this is the stored answer of an earlier "
                    f"request with the same {HEADER} (nothing was written this time); "
                    "absent otherwise",
                    "schema": {"type": "string", "enum": ["true"]},
                }
            },
        }
    }


def answer_write(
    service: IdempotencyService,
    key: str | None,
    user_id: int,
    route: str,
    body: BaseModel,
    status: int,
    write: Callable[[Claim[T] | None], T],
    render: Callable[[T], M],
) -> M | Response:
    """Run `write` (with no key: as ever; with one: once per key, its claim stored in its
    transaction) and answer `render` of its result, or the stored answer of the key."""
    if key is None:
        return render(write(None))
    request = IdempotentRequest(user_id, key, route, request_hash(body.model_dump()))
    stored, replayed = service.run(
        request, status, lambda result: render(result).model_dump_json(), write
    )
    return Response(
        stored.body,
        status_code=stored.status,
        media_type="application/json",
        headers={REPLAYED: "true"} if replayed else None,
    )
