"""The documented error shape for what no route expects: control characters in the URL,
and unhandled exceptions (500 with the request id, traceback only in the log)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from backend.main import create_app
from tests.conftest import make_settings

pytestmark = [pytest.mark.api]


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    app = create_app(make_settings(f"sqlite:///{tmp_path / 's.db'}"))
    boom = APIRouter()

    @boom.get("/boom")
    def _boom() -> None:
        raise RuntimeError("secret host db.internal:5432 exploded")

    app.include_router(boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_unhandled_exception_answers_the_documented_shape(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="backend.errors"):
        resp = client.get("/boom", headers={"X-Request-ID": "req-42"})
    assert resp.status_code == 500
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["x-request-id"] == "req-42"
    body = resp.json()
    assert body["error"]["code"] == "internal_error"
    assert body["error"]["details"] == {"request_id": "req-42"}
    assert "db.internal" not in resp.text
    [record] = [r for r in caplog.records if r.name == "backend.errors"]
    assert record.exc_info is not None and "req-42" in record.getMessage()


@pytest.mark.parametrize(
    "url, field, location",
    [
        ("/api/v1/momentum/AAPL?universe=all%00", "universe", "query"),
        ("/api/v1/momentum/top?universe=%1b%5B31m", "universe", "query"),
        ("/api/v1/momentum/AAPL?as_of=2020-01-01%0A", "as_of", "query"),
        ("/api/v1/momentum/AA%00PL", "path", "path"),
        ("/api/v1/prices/AAPL?%00=1", "(parameter name)", "query"),
        ("/api/v1/categories?x=%C2%85", "x", "query"),
    ],
)
def test_control_characters_in_the_url_are_refused(
    client: TestClient, url: str, field: str, location: str
) -> None:
    resp = client.get(url)
    assert resp.status_code == 422, resp.text
    err = resp.json()["error"]
    assert err["code"] == "invalid_input"
    [f] = err["details"]["fields"]
    assert (f["field"], f["location"]) == (field, location)
    assert "control character" in f["message"]


def test_ordinary_percent_encoding_passes(client: TestClient) -> None:
    resp = client.get("/api/v1/momentum/top?universe=large%2Dcap%2Danchors")
    assert resp.status_code != 422 or "control" not in resp.text
