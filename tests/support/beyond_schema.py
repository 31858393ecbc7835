"""Whether an error answer is one a route declares beyond its schema (no schemathesis here, so
the tests can use it without the CI tools).

A route lists, under `x-rules-beyond-schema`, the rules it checks that a JSON schema cannot
state (backend.errors.Rule: start <= end, today, the stored data, the ledger's history, the
password policy). A request that is valid by the schema may still break one of them; the
answer is then 422 with the rule's `code` and, in its details, the rule's name. Any other 422
to a valid request is a disagreement between the schema and the server.
"""

from __future__ import annotations

from typing import Any

from backend.api.errors import RULES_EXTENSION
from backend.errors import ANY_RULE

__all__ = ["RULES_EXTENSION", "answered_rules", "explained"]


def answered_rules(details: Any) -> set[str]:
    """The rule names an error's details give: `rule`, and the `rule` of each entry of
    `fields` (a refused request body) and `errors` (a refused CSV import)."""
    if not isinstance(details, dict):
        return set()
    rules = {details["rule"]} if isinstance(details.get("rule"), str) else set()
    for key in ("fields", "errors"):
        for entry in details.get(key) or []:
            if isinstance(entry, dict) and isinstance(entry.get("rule"), str):
                rules.add(entry["rule"])
    return rules


def explained(body: Any, declared: list[dict[str, Any]] | None) -> bool:
    """Whether the error `body` breaks only rules of `declared` (an operation's extension):
    its code is declared, with `*` (any rule of that code) or with every rule it names."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not declared:
        return False
    code = error.get("code")
    allowed = {d.get("rule") for d in declared if d.get("code") == code}
    if not allowed:
        return False
    if ANY_RULE in allowed:
        return True
    named = answered_rules(error.get("details"))
    return bool(named) and named <= allowed
