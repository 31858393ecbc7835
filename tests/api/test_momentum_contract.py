"""The OpenAPI schema declares every error status the momentum, cache and price routes can
answer, each with the one error body."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

pytestmark = [pytest.mark.api]

DECLARED = {
    ("get", "/api/v1/momentum/{ticker}"): {404, 422, 429, 503},
    ("get", "/api/v1/momentum/{ticker}/breakdown"): {404, 422, 429, 503},
    ("get", "/api/v1/momentum/{ticker}/history"): {404, 422, 429, 503},
    ("post", "/api/v1/momentum/batch"): {413, 422, 503},  # an unreadable body is 422
    ("get", "/api/v1/momentum/top"): {404, 422, 503},
    ("get", "/api/v1/prices/{ticker}"): {404, 422, 503},
    ("get", "/api/v1/securities"): {503},
    ("get", "/api/v1/cache/stats"): {503},
    ("post", "/api/v1/cache/warmup"): {401, 403, 422, 503},
    ("delete", "/api/v1/cache/clear"): {401, 403, 422, 503},
}


@pytest.mark.parametrize("method, path", sorted(DECLARED))
def test_error_statuses_are_declared_with_the_error_body(
    sample_app_client: TestClient, method: str, path: str
) -> None:
    schema = sample_app_client.get("/openapi.json").json()
    responses = schema["paths"][path][method]["responses"]
    declared = {int(code) for code in responses if code != "200" and code != "default"}
    assert DECLARED[(method, path)] <= declared, declared
    for status in DECLARED[(method, path)]:
        ref = responses[str(status)]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorBody")


def test_the_top_limit_and_the_dates_are_declared(sample_app_client: TestClient) -> None:
    schema = sample_app_client.get("/openapi.json").json()
    params = {p["name"]: p for p in schema["paths"]["/api/v1/momentum/top"]["get"]["parameters"]}
    assert params["limit"]["schema"]["maximum"] == 10_000
    assert "UTC+14" in params["as_of"]["description"]
    body = schema["components"]["schemas"]["BatchRequest"]
    assert body["additionalProperties"] is False
    assert body["properties"]["tickers"]["maxItems"] == 500
