"""Request ids, one structured log line per request, JSON logs."""

from __future__ import annotations

import io
import json
import logging
import re
import sys

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from backend.observability.logging import (
    JsonFormatter,
    RequestIdFilter,
    TextFormatter,
    configure_logging,
)
from backend.observability.metrics import Metrics
from backend.observability.middleware import RequestObservabilityMiddleware

pytestmark = pytest.mark.api


@pytest.fixture
def captured() -> tuple[io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    return stream, handler


def small_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(RequestObservabilityMiddleware, metrics=Metrics())

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        logging.getLogger("backend.test").info("serving item %s", item_id)
        return {"id": item_id}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    return app


def lines(stream: io.StringIO) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_request_id_is_made_and_returned(sample_app_client: TestClient) -> None:
    first = sample_app_client.get("/health/live").headers["x-request-id"]
    second = sample_app_client.get("/health/live").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


def test_a_well_formed_incoming_request_id_is_kept(sample_app_client: TestClient) -> None:
    resp = sample_app_client.get("/health/live", headers={"X-Request-ID": "lb-1234.abc:9"})
    assert resp.headers["x-request-id"] == "lb-1234.abc:9"


@pytest.mark.parametrize("bad", ["has space", "x" * 129, "semi;colon", ""])
def test_a_malformed_incoming_request_id_is_replaced(
    sample_app_client: TestClient, bad: str
) -> None:
    resp = sample_app_client.get("/health/live", headers={"X-Request-ID": bad})
    assert re.fullmatch(r"[0-9a-f]{32}", resp.headers["x-request-id"])


def test_error_answers_carry_the_request_id_too(sample_app_client: TestClient) -> None:
    resp = sample_app_client.get("/api/v1/momentum/bad$")
    assert resp.status_code == 422
    assert resp.headers["x-request-id"]


def test_one_json_line_per_request_with_route_status_duration_and_request_id(
    captured: tuple[io.StringIO, logging.Handler],
) -> None:
    stream, handler = captured
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        with TestClient(small_app()) as client:
            resp = client.get("/items/7", headers={"X-Request-ID": "req-42"})
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert resp.status_code == 200 and resp.headers["x-request-id"] == "req-42"
    records = lines(stream)
    inner = [r for r in records if r["logger"] == "backend.test"]
    access = [r for r in records if r["logger"] == "backend.access"]
    assert len(access) == 1
    line = access[0]
    assert line["method"] == "GET"
    assert line["route"] == "/items/{item_id}"
    assert line["path"] == "/items/7"
    assert line["status"] == 200
    assert line["duration_ms"] > 0
    assert line["request_id"] == "req-42"
    assert line["level"] == "INFO" and "ts" in line
    # Lines logged while serving the request carry its id as well.
    assert inner and inner[0]["request_id"] == "req-42"
    assert inner[0]["message"] == "serving item 7"


def test_a_crashing_route_is_logged_as_500(captured: tuple[io.StringIO, logging.Handler]) -> None:
    stream, handler = captured
    access = logging.getLogger("backend.access")
    access.addHandler(handler)
    old_level = access.level
    access.setLevel(logging.INFO)
    try:
        with TestClient(small_app(), raise_server_exceptions=False) as client:
            assert client.get("/boom").status_code == 500
    finally:
        access.removeHandler(handler)
        access.setLevel(old_level)
    (line,) = [r for r in lines(stream) if r["logger"] == "backend.access"]
    assert line["status"] == 500 and line["route"] == "/boom"


def test_json_formatter_includes_exceptions_and_extras() -> None:
    try:
        raise ValueError("bad value")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed %s", ("here",), sys.exc_info()
        )
    record.custom = {"a": 1}
    out = json.loads(JsonFormatter().format(record))
    assert out["message"] == "failed here"
    assert out["level"] == "ERROR"
    assert out["custom"] == {"a": 1}
    assert "ValueError: bad value" in out["exc"]


def test_text_formatter_names_the_request_id() -> None:
    record = logging.getLogger("x").makeRecord("x", logging.INFO, __file__, 1, "hi", (), None)
    record.request_id = "abc"
    assert TextFormatter().format(record).endswith("INFO x hi request_id=abc")


def test_configure_logging_is_idempotent_and_switches_format() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        configure_logging("INFO", json_logs=False)
        handler = configure_logging("DEBUG", json_logs=True)
        ours = [h for h in root.handlers if getattr(h, "_alphavelocity_handler", False)]
        assert ours == [handler]
        assert isinstance(handler.formatter, JsonFormatter)
        assert root.level == logging.DEBUG
        assert logging.getLogger("uvicorn.access").disabled is True
    finally:
        for h in list(root.handlers):
            if h not in before:
                root.removeHandler(h)
        for h in before:
            if h not in root.handlers:
                root.addHandler(h)
        root.setLevel(level)
        for name in ("uvicorn", "uvicorn.error"):
            logging.getLogger(name).handlers = []
            logging.getLogger(name).propagate = True
