"""The OpenAPI schema tells the truth about errors on every route: the one error shape on
every error status, 500 everywhere, 413 wherever a body is taken, 503 wherever the database
or a provider is needed, and the control-character rule on every text parameter."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.validation import SINGLE_LINE_SCHEMA_PATTERN

pytestmark = [pytest.mark.api]

METHODS = ("get", "put", "post", "delete", "patch")


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


@pytest.fixture(scope="module")
def schema(sample_app_client: TestClient) -> dict[str, Any]:
    resp = sample_app_client.get("/openapi.json")
    assert resp.status_code == 200
    body: dict[str, Any] = resp.json()
    return body


def test_every_error_status_has_the_error_shape(schema: dict[str, Any]) -> None:
    ops = _operations(schema)
    assert len(ops) > 30
    for path, method, op in ops:
        responses = op["responses"]
        assert "500" in responses, (method, path)
        for status, response in responses.items():
            if int(status) >= 400:
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/ErrorBody", (method, path, status)
        if "requestBody" in op:
            assert {"413", "422"} <= set(responses), (method, path)
        if path.startswith("/api/"):
            assert "503" in responses, (method, path)
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    error = schema["components"]["schemas"]["ErrorBody"]
    assert error["required"] == ["error"]


def _strings(s: dict[str, Any]) -> list[dict[str, Any]]:
    if s.get("type") == "string":
        return [s]
    return [x for sub in s.get("anyOf", []) for x in _strings(sub)]


def test_every_text_parameter_declares_a_pattern_or_format(schema: dict[str, Any]) -> None:
    seen = 0
    for path, method, op in _operations(schema):
        for param in op.get("parameters", []):
            for s in _strings(param["schema"]):
                seen += 1
                assert {"pattern", "format", "enum", "const"} & s.keys(), (path, param["name"])
    assert seen > 20


def test_a_free_text_parameter_carries_the_control_character_rule(
    schema: dict[str, Any],
) -> None:
    params = schema["paths"]["/api/v1/categories/{name}"]["get"]["parameters"]
    [name] = [p for p in params if p["name"] == "name"]
    assert name["schema"]["pattern"] == SINGLE_LINE_SCHEMA_PATTERN
