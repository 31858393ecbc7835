"""GET /api/v1/portfolio/correlation (the model) and /api/v1/portfolios/{id}/correlation,
checked against pandas (`DataFrame.pct_change().corr(min_periods=...)`) and numpy on the
shipped sample's adjusted closes read from the file."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from backend.main import create_app
from backend.market_data.sample import SAMPLE_PRICES
from backend.reference.seed import SEED_MODEL_HOLDINGS
from tests.support.portfolio_app import Api, assert_error, copy_sqlite, portfolio_settings

pytestmark = [pytest.mark.api, pytest.mark.database]

MODEL = "/api/v1/portfolio/correlation"
MIN_OBS = 40  # the setting of the portfolio client below (the default, 60, on the model's)


@pytest.fixture(scope="module")
def adj() -> pd.DataFrame:
    rows = pd.read_csv(SAMPLE_PRICES, parse_dates=["date"])
    rows["ticker"] = rows["ticker"].replace({"FB": "META"})
    return rows.pivot(index="date", columns="ticker", values="adj_close").astype(np.float64)


@pytest.fixture(scope="module")
def close() -> pd.DataFrame:
    rows = pd.read_csv(SAMPLE_PRICES, parse_dates=["date"])
    rows["ticker"] = rows["ticker"].replace({"FB": "META"})
    return rows.pivot(index="date", columns="ticker", values="close").astype(np.float64)


@pytest.fixture(scope="module")
def client(sample_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = copy_sqlite(sample_db_url, tmp_path_factory.mktemp("correlation"))
    settings = portfolio_settings(url, correlation_min_observations=MIN_OBS)
    with TestClient(create_app(settings)) as c:
        yield c


def same_matrix(body: dict[str, Any], expected: pd.DataFrame) -> None:
    got = pd.DataFrame(body["matrix"], index=body["tickers"], columns=body["tickers"], dtype=float)
    expected = expected.loc[body["tickers"], body["tickers"]]
    assert (got.isna() == expected.isna()).all().all()
    assert np.allclose(got.fillna(0), expected.fillna(0), rtol=0, atol=1e-12)


def test_model_matches_pandas(sample_app_client: TestClient, adj: pd.DataFrame) -> None:
    resp = sample_app_client.get(MODEL, params={"start": "2020-04-22", "end": "2021-04-21"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["min_observations"] == 60 and body["price_basis"] == "adj_close"
    window = adj.loc["2020-04-22":"2021-04-21"]  # type: ignore[misc]
    assert body["start"] == "2020-04-22" and body["end"] == "2021-04-21"
    assert body["days"] == len(window)
    held = sorted(t for t in SEED_MODEL_HOLDINGS if t in adj.columns)
    assert body["tickers"] == held and len(held) >= 8
    assert {x["ticker"] for x in body["left_out"]} == set(SEED_MODEL_HOLDINGS) - set(held)
    returns = window[held].pct_change(fill_method=None)
    expected = returns.corr(min_periods=60)
    same_matrix(body, expected)
    upper = expected.to_numpy()[np.triu_indices(len(held), 1)]
    assert body["average_correlation"] == pytest.approx(float(np.nanmean(upper)), abs=1e-12)
    obs = returns.notna().astype(int)
    assert body["observations"] == (obs.T @ obs).to_numpy().tolist()
    # Diversification ratio: today's values as weights, covariance over the common days.
    common = returns.dropna()
    dr = body["diversification_ratio"]
    assert dr["observations"] == len(common)
    # The weights are today's values of the holdings, as the model's analysis has them.
    analysis = sample_app_client.get("/api/v1/portfolio/analysis").json()["analysis"]
    values = {h["ticker"]: h["value"] for h in analysis["holdings"] if h["ticker"] in held}
    total = sum(values.values())
    assert dr["weights"] == pytest.approx({t: v / total for t, v in values.items()})
    w = np.array([dr["weights"][t] for t in held])
    cov = np.cov(common.to_numpy(), rowvar=False, ddof=1)
    expected_dr = float(w @ np.sqrt(np.diag(cov)) / math.sqrt(w @ cov @ w))
    assert dr["ratio"] == pytest.approx(expected_dr, rel=1e-10)
    assert dr["ratio"] > 1  # these holdings are not perfectly correlated


def test_default_window_is_one_year_to_the_newest_day(sample_app_client: TestClient) -> None:
    body = sample_app_client.get(MODEL).json()
    assert body["end"] == "2021-04-21" and body["start"] == "2020-04-21"


def test_too_few_days_are_null_with_the_reason(sample_app_client: TestClient) -> None:
    body = sample_app_client.get(MODEL, params={"start": "2021-03-01"}).json()
    assert body["days"] < 60
    assert body["average_correlation"] is None and body["pairs_defined"] == 0
    assert all(
        p["correlation"] is None and "fewer than the 60 needed" in p["reason"]
        for p in body["pairs"]
    )
    off_diagonal = [x for i, row in enumerate(body["matrix"]) for j, x in enumerate(row) if i != j]
    assert off_diagonal and all(x is None for x in off_diagonal)
    dr = body["diversification_ratio"]
    assert dr["ratio"] is None and "fewer than the 60 needed" in dr["reason"]


def portfolio(api: Api, user: dict[str, Any], tickers: dict[str, int]) -> int:
    pid = api.portfolio(user["headers"])
    assert api.add(user["headers"], pid, date="2020-01-02", type="DEPOSIT", quantity=100000)
    for t, n in tickers.items():
        resp = api.add(
            user["headers"], pid, date="2020-12-01", type="BUY", ticker=t, quantity=n, price=10
        )
        assert resp.status_code == 201, resp.text
    return pid


def test_a_portfolio_with_a_late_listing(
    client: TestClient, adj: pd.DataFrame, close: pd.DataFrame
) -> None:
    api = Api(client)
    owner = api.user()
    pid = portfolio(api, owner, {"AAPL": 5, "MSFT": 3, "VTRS": 40, "XOM": 7})
    query = {"start": "2020-09-01", "end": "2021-01-08"}
    resp = client.get(
        f"/api/v1/portfolios/{pid}/correlation", params=query, headers=owner["headers"]
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["min_observations"] == MIN_OBS and body["tickers"] == [
        "AAPL",
        "MSFT",
        "VTRS",
        "XOM",
    ]
    window = adj.loc["2020-09-01":"2021-01-08", body["tickers"]]  # type: ignore[misc]
    returns = window.pct_change(fill_method=None)
    same_matrix(body, returns.corr(min_periods=MIN_OBS))
    pairs = {(p["a"], p["b"]): p for p in body["pairs"]}
    vtrs = pairs[("AAPL", "VTRS")]
    n = int(returns[["AAPL", "VTRS"]].dropna().shape[0])
    assert 0 < n < MIN_OBS and vtrs["observations"] == n and vtrs["correlation"] is None
    assert vtrs["reason"] == (f"{n} overlapping daily returns, fewer than the {MIN_OBS} needed")
    assert pairs[("AAPL", "MSFT")]["correlation"] == pytest.approx(
        returns["AAPL"].corr(returns["MSFT"])
    )
    assert body["pairs_undefined"] == 3 and body["pairs_defined"] == 3
    assert body["returns_per_ticker"]["VTRS"] == n
    # weights: shares x the last close as traded, normalised
    last = close[body["tickers"]].ffill().iloc[-1]
    value = pd.Series({"AAPL": 5, "MSFT": 3, "VTRS": 40, "XOM": 7}) * last
    dr = body["diversification_ratio"]
    assert dr["weights"] == pytest.approx((value / value.sum()).to_dict())
    assert dr["ratio"] is None and f"fewer than the {MIN_OBS} needed" in dr["reason"]


def test_another_users_portfolio_is_404_and_a_token_is_needed(client: TestClient) -> None:
    api = Api(client)
    owner, other = api.user(), api.user()
    pid = portfolio(api, owner, {"AAPL": 1})
    url = f"/api/v1/portfolios/{pid}/correlation"
    assert_error(client.get(url, headers=other["headers"]), 404, "not_found")
    assert_error(
        client.get("/api/v1/portfolios/999999/correlation", headers=owner["headers"]),
        404,
        "not_found",
    )
    assert_error(client.get(url), 401, "unauthorized")


@pytest.mark.parametrize(
    ("query", "code", "field", "rule"),
    [
        (
            {"start": "2021-01-04", "end": "2020-01-02"},
            "invalid_input",
            "start",
            "start must not be after end",
        ),
        (
            {"start": "2010-01-04", "end": "2010-03-01"},
            "invalid_input",
            "start",
            "the period must contain stored trading days",
        ),
    ],
)
def test_rules_beyond_the_schema(
    sample_app_client: TestClient, query: dict[str, str], code: str, field: str, rule: str
) -> None:
    err = assert_error(sample_app_client.get(MODEL, params=query), 422, code)
    assert err["details"] == {"field": field, "rule": rule}


def test_a_malformed_date_names_the_field(sample_app_client: TestClient) -> None:
    err = assert_error(
        sample_app_client.get(MODEL, params={"end": "2021-02-30"}), 422, "invalid_input"
    )
    [bad] = err["details"]["fields"]
    assert bad["field"] == "end" and bad["rule"]
