"""schemathesis hooks of `make fuzz` (scripts/fuzz_api.py names this file in its config).

`positive_data_acceptance` fails any request valid by the schema that is not accepted. Some
rules cannot be written in a JSON schema: start <= end (between fields), "not after today"
(the clock), "the store holds closes up to that date" (the data), "a SELL sells at most what is
held" (the ledger's history), the password policy. The service declares those, per route,
under `x-rules-beyond-schema` and in the words of its 422. This check is schemathesis' own
`positive_data_acceptance`, which the fuzz script runs in its place, with one exception: a 422
whose error breaks only rules its route declares beyond the schema. Any other refusal of a
valid request, a 422 naming an undeclared rule included, still fails as ST202.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import schemathesis
from schemathesis.openapi.checks import EnsureResourceAvailability, RejectedPositiveData
from schemathesis.specs.openapi.checks import (
    ensure_resource_availability,
    positive_data_acceptance,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # loaded by path, not as a package

from tests.support.beyond_schema import RULES_EXTENSION, explained  # noqa: E402


def _body(response: Any) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


@schemathesis.check
def positive_data_acceptance_beyond_schema(ctx: Any, response: Any, case: Any) -> bool | None:
    """Valid data is accepted, or refused for a rule its route declares beyond the schema."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        raw = case.operation.definition.raw
        declared = raw.get(RULES_EXTENSION) if isinstance(raw, dict) else None
        if response.status_code == 422 and explained(_body(response), declared):
            return None
        raise


@schemathesis.check
def ensure_resource_availability_of_the_path(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis' `ensure_resource_availability` (a resource just created must not be 404),
    except a 404 whose error names another object than the path's: one the request body
    refers to (an alert rule's target portfolio that is missing or someone else's), which is
    not the resource created."""
    try:
        return ensure_resource_availability(ctx, response, case)
    except EnsureResourceAvailability:
        body = _body(response)
        error = body.get("error") if isinstance(body, dict) else None
        details = error.get("details") if isinstance(error, dict) else None
        path = set((case.path_parameters or {}).keys())
        if isinstance(details, dict) and details and not set(details) & path:
            return None
        raise
