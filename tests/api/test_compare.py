"""GET /api/v1/portfolios/compare: allocations, holdings, common-window performance and
diversification of two sides (the model or your own portfolios), checked by hand from the
sample file's closes and against the single-portfolio routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from backend.main import create_app
from backend.market_data.sample import SAMPLE_PRICES
from backend.reference.seed import SEED_CATEGORIES
from tests.support.portfolio_app import Api, assert_error, copy_sqlite, portfolio_settings

pytestmark = [pytest.mark.api, pytest.mark.database]

URL = "/api/v1/portfolios/compare"
LARGE_CAP = "Large-Cap Anchors"
DATA_CENTER = "Data Center Infrastructure"


@pytest.fixture(scope="module")
def client(sample_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = copy_sqlite(sample_db_url, tmp_path_factory.mktemp("compare"))
    with TestClient(create_app(portfolio_settings(url))) as c:
        yield c


@pytest.fixture(scope="module")
def last_close() -> pd.Series:
    rows = pd.read_csv(SAMPLE_PRICES, parse_dates=["date"])
    wide = rows.pivot(index="date", columns="ticker", values="close")
    return wide.ffill().iloc[-1]


@pytest.fixture(scope="module")
def owner(client: TestClient) -> dict[str, Any]:
    return Api(client).user()


@pytest.fixture(scope="module")
def pid(client: TestClient, owner: dict[str, Any]) -> int:
    """Cash 10,000 - 10 AAPL @ 75 - 4 MSFT @ 160 - 20 XOM @ 40 - 5 DLR @ 140 (no fees)."""
    api = Api(client)
    pid = api.portfolio(owner["headers"], "mine")
    for tx in (
        {"date": "2020-06-01", "type": "DEPOSIT", "quantity": 10000},
        {"date": "2020-06-02", "type": "BUY", "ticker": "AAPL", "quantity": 10, "price": 75},
        {"date": "2020-06-02", "type": "BUY", "ticker": "MSFT", "quantity": 4, "price": 160},
        {"date": "2020-06-02", "type": "BUY", "ticker": "XOM", "quantity": 20, "price": 40},
        {"date": "2020-06-02", "type": "BUY", "ticker": "DLR", "quantity": 5, "price": 140},
    ):
        resp = api.add(owner["headers"], pid, **tx)
        assert resp.status_code == 201, resp.text
    return pid


CASH = 10000 - 750 - 640 - 800 - 700
SHARES = {"AAPL": 10, "MSFT": 4, "XOM": 20, "DLR": 5}


def test_a_portfolio_beside_the_model(
    client: TestClient, owner: dict[str, Any], pid: int, last_close: pd.Series
) -> None:
    resp = client.get(URL, params={"a": "model", "b": pid}, headers=owner["headers"])
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["a"]["kind"] == "model" and body["a"]["portfolio_id"] is None
    assert body["b"] == {**body["b"], "kind": "portfolio", "portfolio_id": pid, "name": "mine"}
    # By hand: values at the last stored closes, weights of total value (cash included).
    value = {t: n * float(last_close[t]) for t, n in SHARES.items()}
    total = sum(value.values()) + CASH
    assert body["b"]["total_value"] == pytest.approx(total)
    assert body["b"]["cash_weight"] == pytest.approx(CASH / total)
    rows = {r["name"]: r for r in body["allocations"]}
    targets = {c.name: c.target for c in SEED_CATEGORIES}
    large = (value["AAPL"] + value["MSFT"]) / total
    assert rows[LARGE_CAP]["target"] == targets[LARGE_CAP]
    assert rows[LARGE_CAP]["weight_b"] == pytest.approx(large)
    assert rows[LARGE_CAP]["gap_b"] == pytest.approx(large - targets[LARGE_CAP])
    assert rows[DATA_CENTER]["weight_b"] == pytest.approx(value["DLR"] / total)
    assert rows["Uncategorised"]["weight_b"] == pytest.approx(value["XOM"] / total)
    assert rows["Uncategorised"]["weight_a"] == 0.0 and rows["Uncategorised"]["target"] == 0
    cash_row = body["allocations"][-1]
    assert cash_row["is_cash"] and cash_row["weight_b"] == pytest.approx(CASH / total)
    assert cash_row["weight_a"] == 0.0
    for r in body["allocations"]:
        if r["weight_a"] is not None and r["weight_b"] is not None:
            assert r["difference"] == pytest.approx(r["weight_b"] - r["weight_a"])
    # The model side is the model's own analysis.
    model = client.get("/api/v1/portfolio/analysis").json()["analysis"]
    for c in model["categories"]:
        assert rows[c["name"]]["weight_a"] == pytest.approx(c["weight"])
    # Holdings: both weights, 0 where not held, the score of the momentum route.
    holdings = {h["ticker"]: h for h in body["holdings"]}
    assert holdings["XOM"]["weight_a"] == 0.0
    assert holdings["XOM"]["weight_b"] == pytest.approx(value["XOM"] / total)
    assert holdings["MSFT"]["weight_a"] > 0 and holdings["MSFT"]["weight_b"] > 0
    score = client.get("/api/v1/momentum/XOM").json()["overall_momentum_score"]
    assert holdings["XOM"]["score"] == pytest.approx(score, abs=0.005)
    largest = [max(h["weight_a"] or 0, h["weight_b"] or 0) for h in body["holdings"]]
    assert largest == sorted(largest, reverse=True)


def test_diversification_by_hand(
    client: TestClient, owner: dict[str, Any], pid: int, last_close: pd.Series
) -> None:
    body = client.get(URL, params={"a": pid, "b": "model"}, headers=owner["headers"]).json()
    d = body["diversification_a"]
    value = pd.Series({t: n * float(last_close[t]) for t, n in SHARES.items()})
    w = value / value.sum()  # of the invested value: cash is not a position
    assert d["positions"] == 4 and d["invested_value"] == pytest.approx(value.sum())
    assert d["herfindahl"] == pytest.approx(float((w**2).sum()))
    assert d["effective_positions"] == pytest.approx(1 / float((w**2).sum()))
    assert d["top5_weight"] == pytest.approx(1.0)
    assert d["largest"] == {"ticker": w.idxmax(), "weight": pytest.approx(w.max())}
    sectors = {s["sector"]: s for s in d["sectors"]}
    assert d["sectors_held"] == 3
    assert sorted(sectors) == ["Energy", "Information Technology", "Real Estate"]
    assert sectors["Information Technology"]["weight"] == pytest.approx(w["AAPL"] + w["MSFT"])
    m = body["diversification_b"]
    assert m["positions"] >= 8 and 0 < m["herfindahl"] <= 1
    top = sorted((p["weight"] for p in m["top5"]), reverse=True)
    assert m["top5_weight"] == pytest.approx(sum(top)) and len(top) == 5
    assert "no_sector" in m and "left_out" in m


def test_performance_over_a_common_window(
    client: TestClient, owner: dict[str, Any], pid: int
) -> None:
    h = owner["headers"]
    body = client.get(URL, params={"a": "model", "b": pid}, headers=h).json()
    perf = body["performance"]
    # Default start: the later of the portfolio's first transaction (2020-06-01) and the
    # model's one year before the newest day (2020-04-21).
    assert perf["start"] == "2020-06-01" and perf["end"] is None and perf["benchmark"] == "SPY"
    mine = client.get(f"/api/v1/portfolios/{pid}/performance?start=2020-06-01", headers=h).json()
    model = client.get("/api/v1/portfolio/performance?start=2020-06-01").json()
    for side, single in (("a", model), ("b", mine)):
        got = perf[side]
        assert got["reason"] is None
        for key in ("start", "end", "periods", "twr", "benchmark_return", "max_drawdown"):
            assert got[key] == single[key], (side, key)
        assert got["volatility"] == pytest.approx(single["volatility"])
    assert perf["a"]["start"] == perf["b"]["start"] and perf["a"]["end"] == perf["b"]["end"]
    given = client.get(
        URL, params={"a": "model", "b": pid, "start": "2020-09-01", "end": "2020-12-31"}, headers=h
    ).json()["performance"]
    assert given["start"] == "2020-09-01" and given["a"]["end"] == "2020-12-31"
    assert np.isfinite(given["b"]["twr"])


def test_a_portfolio_without_transactions_has_no_figures_and_says_why(
    client: TestClient, owner: dict[str, Any]
) -> None:
    empty = Api(client).portfolio(owner["headers"], "empty")
    body = client.get(URL, params={"a": empty, "b": "model"}, headers=owner["headers"]).json()
    a = body["performance"]["a"]
    assert a["twr"] is None and a["max_drawdown"] is None and "no transactions" in a["reason"]
    assert body["performance"]["b"]["twr"] is not None
    assert body["diversification_a"]["positions"] == 0
    assert body["diversification_a"]["herfindahl"] is None
    assert body["a"]["total_value"] == 0.0 and body["a"]["cash_weight"] is None


def test_the_model_alone_needs_no_login(client: TestClient) -> None:
    body = client.get(URL, params={"a": "model", "b": "model"}).json()
    assert all(r["difference"] in (0.0, None) for r in body["allocations"])


def test_only_your_own_portfolios(client: TestClient, owner: dict[str, Any], pid: int) -> None:
    other = Api(client).user()
    resp = client.get(URL, params={"a": "model", "b": pid}, headers=other["headers"])
    assert_error(resp, 404, "not_found")
    resp = client.get(URL, params={"a": pid, "b": "model"}, headers=other["headers"])
    assert_error(resp, 404, "not_found")
    assert_error(client.get(URL, params={"a": "model", "b": pid}), 401, "unauthorized")
    resp = client.get(URL, params={"a": 2_000_000, "b": pid}, headers=owner["headers"])
    assert_error(resp, 404, "not_found")


def test_compare_is_not_a_portfolio_id(client: TestClient, owner: dict[str, Any]) -> None:
    err = assert_error(client.get(URL, headers=owner["headers"]), 422, "invalid_input")
    assert sorted(f["field"] for f in err["details"]["fields"]) == ["a", "b"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"a": "models", "b": "model"}, "a"),
        ({"a": "model", "b": "0"}, "b"),
        ({"a": "model", "b": "-3"}, "b"),
        ({"a": "model", "b": "model", "start": "2020-02-30"}, "start"),
        ({"a": "model", "b": "model", "benchmark": "bad$"}, "benchmark"),
    ],
)
def test_malformed_parameters_name_the_field(
    client: TestClient, query: dict[str, str], field: str
) -> None:
    err = assert_error(client.get(URL, params=query), 422, "invalid_input")
    [bad] = err["details"]["fields"]
    assert bad["field"] == field and bad["rule"]


def test_start_after_end(client: TestClient) -> None:
    query = {"a": "model", "b": "model", "start": "2021-01-04", "end": "2020-01-02"}
    err = assert_error(client.get(URL, params=query), 422, "invalid_input")
    assert err["details"] == {"field": "start", "rule": "start must not be after end"}


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_other_methods_are_405_not_a_malformed_id(
    client: TestClient, owner: dict[str, Any], method: str
) -> None:
    resp = client.request(
        method, URL, params={"a": "model", "b": "model"}, headers=owner["headers"]
    )
    assert_error(resp, 405, "method_not_allowed")
    assert resp.headers["Allow"] == "GET"


def test_an_id_past_any_stored_one_is_404(client: TestClient, owner: dict[str, Any]) -> None:
    resp = client.get(URL, params={"a": "model", "b": "9999999999"}, headers=owner["headers"])
    assert_error(resp, 404, "not_found")
