"""The OpenAPI schema made to say what the service really does, for every route at once.

FastAPI documents its own validation error (`HTTPValidationError`) and only the statuses a
route lists. This service answers every error in one shape (`ErrorBody`), refuses control
characters in every text parameter (backend/api/input_guard.py), can answer 500 anywhere
(backend/api/errors.py), 413 for any body over the limit (backend/api/body_limit.py) and 503
wherever the database or a provider is needed. Those facts hold for all routes, so they are
written into the schema here, once; what differs per route (401, 403, 404, 409, 429, ...)
each route declares itself with `error_responses(...)`.
"""

from __future__ import annotations

from typing import Any, Callable

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from backend.api.errors import ERROR_DESCRIPTIONS, ErrorBody
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


def conform(schema: dict[str, Any], needs_dependencies: Callable[[str], bool]) -> dict[str, Any]:
    """Rewrite a generated schema in place (and return it): the error shape on every error
    status, 500 and 413 everywhere, 503 where `needs_dependencies(path)`,
    and the control-character rule on every string parameter."""
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


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = conform(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                ),
                _needs_dependencies,
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
