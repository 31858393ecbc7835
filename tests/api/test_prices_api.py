"""The price endpoints over the shipped sample: stored bars of one security, and the list of
stored securities (what the dashboard draws its price chart and its sector filter from)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

pytestmark = [pytest.mark.api, pytest.mark.database]


def test_prices_of_one_ticker_in_a_range(sample_app_client: TestClient) -> None:
    resp = sample_app_client.get(
        "/api/v1/prices/aapl", params={"start": "2021-04-19", "end": "2021-04-21"}
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["ticker"] == "AAPL" and body["requested_ticker"] == "AAPL"
    assert body["name"] == "Apple Inc."
    assert body["sector"] == "Information Technology"
    assert body["data_source"] == "sample"
    assert body["first_date"] == "2019-04-01" and body["last_date"] == "2021-04-21"
    assert body["bars"] == 519
    assert body["start"] == "2021-04-19" and body["end"] == "2021-04-21"
    assert [p["date"] for p in body["prices"]] == ["2021-04-19", "2021-04-20", "2021-04-21"]
    assert body["count"] == 3
    last = body["prices"][-1]
    # AAPL's close on 2021-04-21 in the sample file, as the momentum score reports it.
    assert last["close"] == pytest.approx(133.5)
    assert set(last) == {
        "date",
        "open",
        "high",
        "low",
        "close",
        "adj_close",
        "volume",
        "dividend",
        "split",
    }


def test_whole_history_is_oldest_first(sample_app_client: TestClient) -> None:
    body = sample_app_client.get("/api/v1/prices/NVDA").json()
    dates = [p["date"] for p in body["prices"]]
    assert len(dates) == body["count"] == body["bars"] == 519
    assert dates == sorted(dates) and dates[0] == "2019-04-01"


def test_an_alias_finds_the_stored_ticker(sample_app_client: TestClient) -> None:
    body = sample_app_client.get("/api/v1/prices/META", params={"start": "2021-04-21"}).json()
    assert body["ticker"] == "FB" and body["requested_ticker"] == "META"
    assert body["count"] == 1


def test_a_range_without_bars_is_empty_not_an_error(sample_app_client: TestClient) -> None:
    resp = sample_app_client.get("/api/v1/prices/AAPL", params={"start": "2022-01-01"})
    assert resp.status_code == 200
    assert resp.json()["count"] == 0 and resp.json()["prices"] == []


@pytest.mark.parametrize(
    "path, params, status, code",
    [
        ("/api/v1/prices/ZZZZ", {}, 404, "not_found"),
        ("/api/v1/prices/bad$", {}, 422, "invalid_input"),
        ("/api/v1/prices/AAPL", {"start": "2021-13-01"}, 422, "invalid_input"),
        ("/api/v1/prices/AAPL", {"start": "2021-04-21", "end": "2021-04-01"}, 422, "invalid_input"),
    ],
)
def test_errors_have_the_one_shape(
    sample_app_client: TestClient, path: str, params: dict[str, str], status: int, code: str
) -> None:
    resp = sample_app_client.get(path, params=params)
    assert resp.status_code == status, resp.text
    assert set(resp.json()["error"]) == {"code", "message", "details"}
    assert resp.json()["error"]["code"] == code


def test_securities_lists_every_stored_security(sample_app_client: TestClient) -> None:
    body = sample_app_client.get("/api/v1/securities").json()
    assert body["count"] == len(body["securities"]) == 505
    tickers = [s["ticker"] for s in body["securities"]]
    assert tickers == sorted(tickers)
    spy = next(s for s in body["securities"] if s["ticker"] == "SPY")
    assert spy["bars"] == 519 and spy["last_date"] == "2021-04-21"
    # The category is that of the category tables (the dashboard's), not a column of its own.
    aapl = next(s for s in body["securities"] if s["ticker"] == "AAPL")
    assert (aapl["category"], aapl["is_fixed_income"]) == ("Large-Cap Anchors", False)
    sectors = {s["sector"] for s in body["securities"]}
    assert {"Energy", "Information Technology", "Health Care"} <= sectors


def test_both_are_in_the_openapi_schema(sample_app_client: TestClient) -> None:
    paths = sample_app_client.get("/openapi.json").json()["paths"]
    assert "/api/v1/prices/{ticker}" in paths and "/api/v1/securities" in paths
