"""The OpenAPI schema made to say what the service really does, for every route at once.

FastAPI documents its own validation error (`HTTPValidationError`) and only the statuses a
route lists. This service answers every error in one shape (`ErrorBody`), refuses control
characters in every text parameter (backend/api/input_guard.py), can answer 500 anywhere
(backend/api/errors.py), 413 for any body over the limit (backend/api/body_limit.py) and 503
wherever the database or a provider is needed. Those facts hold for all routes, so they are
written into the schema here, once; what differs per route (401, 403, 404, 409, 429, ...)
each route declares itself with `error_responses(...)`, and the rules a JSON schema cannot
state (start <= end, today, the stored data, the ledger's history) with `beyond_schema(...)`.
Bounds that are settings (TOP_LIMIT_MAX) are written with the app's values.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from backend.api.errors import ERROR_DESCRIPTIONS, RULES_EXTENSION, ErrorBody
from backend.errors import ANY_RULE
from backend.validation import SINGLE_LINE_SCHEMA_PATTERN

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")
_METHODS = ("get", "put", "post", "delete", "patch", "options", "head")


def _error_content() -> dict[str, Any]:
    return {"application/json": {"schema": dict(ERROR_REF)}}


def _pattern_strings(schema: dict[str, Any]) -> None:
    """Give every plain string of a parameter's schema the no-control-character pattern.

    A rule declared on an optional parameter (`json_schema_extra` lands beside its `anyOf`)
    is moved into its string branch first, where it belongs and stands alone."""
    branches = [s for s in schema.get("anyOf", []) if isinstance(s, dict)]
    strings = [s for s in branches if s.get("type") == "string"]
    for key in ("pattern", "enum"):
        if key in schema and strings:
            value = schema.pop(key)
            for sub in strings:
                sub[key] = value
    if schema.get("type") == "string" and not (
        {"pattern", "format", "enum", "const"} & schema.keys()
    ):
        schema["pattern"] = SINGLE_LINE_SCHEMA_PATTERN
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            if isinstance(sub, dict):
                _pattern_strings(sub)
    items = schema.get("items")
    if isinstance(items, dict):
        _pattern_strings(items)


def _rules_text(rules: list[dict[str, Any]]) -> str:
    """The rules beyond the schema, in words, for the 422's description."""
    lines = [
        f"- {r['description']} (`{r['code']}`"
        + ("" if r["rule"] == ANY_RULE else f", rule `{r['rule']}`")
        + ")"
        for r in rules
    ]
    return ". Besides the schema, this route refuses what breaks these rules:\n" + "\n".join(lines)


def conform(schema: dict[str, Any], needs_dependencies: Callable[[str], bool]) -> dict[str, Any]:
    """Rewrite a generated schema in place (and return it): the error shape on every error
    status, 500 and 413 everywhere, 503 where `needs_dependencies(path)`, a route's rules
    beyond the schema (`beyond_schema`) in words in its 422, and the control-character rule
    on every string parameter."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, sub in (
        ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        .pop("$defs", {})
        .items()
    ):
        components.setdefault(name, sub)
    components.setdefault(
        "ErrorBody",
        ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}"),
    )
    for path, item in schema.get("paths", {}).items():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            responses = op.setdefault("responses", {})
            # Any request may carry a body, and any body past its limit is refused (413).
            statuses = {"413", "500"}
            if "requestBody" in op:
                statuses.add("422")
            if op.get("parameters"):
                statuses.add("422")
            if needs_dependencies(path):
                statuses.add("503")
            rules = op.get(RULES_EXTENSION, [])
            if rules:
                statuses.add("422")
            for status in statuses:
                responses.setdefault(status, {"description": ERROR_DESCRIPTIONS[int(status)]})
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = _error_content()
                    if int(status) in ERROR_DESCRIPTIONS and response.get("description") in (
                        None,
                        "",
                        "Validation Error",
                    ):
                        response["description"] = ERROR_DESCRIPTIONS[int(status)]
            if rules:
                responses["422"]["description"] += _rules_text(rules)
            for param in op.get("parameters", []):
                if isinstance(param.get("schema"), dict):
                    _pattern_strings(param["schema"])
    text = repr(schema.get("paths", {}))
    for name in _FASTAPI_VALIDATION:
        if f"#/components/schemas/{name}'" not in text:
            components.pop(name, None)
    return schema


def _needs_dependencies(path: str) -> bool:
    """Routes that read the database, the cache or a provider (everything but liveness,
    metrics and the static pages)."""
    return path.startswith("/api/") or path in ("/database/status", "/health/ready")


# Where the ids in paths come from: {path parameter: (operation, status, field of its answer)}.
ID_SOURCES = {
    "portfolio_id": ("/api/v1/portfolios", "post", "201", "id"),
    "transaction_id": ("/api/v1/portfolios/{portfolio_id}/transactions", "post", "201", "id"),
    "watchlist_id": ("/api/v1/watchlists", "post", "201", "id"),
}
_PATH_PARAM = re.compile(r"{([^}:]+)}")


def link_ids(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI links (in place) from the operation that creates an id to every operation whose
    path takes it: a client (and schemathesis' stateful phase) can follow POST /portfolios
    to the portfolio's routes, and a new transaction to its DELETE. The path's other ids come
    from the creating request's own path."""
    paths = schema.get("paths", {})
    for param, (source, source_method, status, field) in ID_SOURCES.items():
        response = paths.get(source, {}).get(source_method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        known = set(_PATH_PARAM.findall(source))
        for path, item in paths.items():
            needed = _PATH_PARAM.findall(path)
            if param not in needed or not set(needed) <= known | {param}:
                continue
            for method, op in item.items():
                if method not in _METHODS or "operationId" not in op:
                    continue
                response.setdefault("links", {})[op["operationId"]] = {
                    "operationId": op["operationId"],
                    "parameters": {
                        name: (
                            f"$response.body#/{field}" if name == param else f"$request.path.{name}"
                        )
                        for name in needed
                    },
                }
    return schema


# (path, method, parameter, settings attribute): query bounds a setting may lower.
SETTING_MAXIMA = [("/api/v1/momentum/top", "get", "limit", "top_limit_max")]


def configured_maxima(schema: dict[str, Any], settings: Any) -> dict[str, Any]:
    """Write the settings' values of `SETTING_MAXIMA` into the schema (in place)."""
    for path, method, name, attribute in SETTING_MAXIMA:
        op = schema.get("paths", {}).get(path, {}).get(method, {})
        for param in op.get("parameters", []):
            if param.get("name") == name:
                bound = int(getattr(settings, attribute))
                param["schema"]["maximum"] = min(param["schema"].get("maximum", bound), bound)
    return schema


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = conform(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                ),
                _needs_dependencies,
            )
            app.openapi_schema = link_ids(configured_maxima(schema, app.state.settings))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
