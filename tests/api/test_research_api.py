"""The research API over the shipped sample (SQLite, no live provider)."""

from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient

pytestmark = [pytest.mark.api, pytest.mark.database]

MODELS = ["alphavelocity-v1", "jt-12-1", "risk-adjusted", "rs-rating"]


def assert_error(resp, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    return body["error"]


def test_models_lists_the_registry(sample_app_client: TestClient) -> None:
    body = sample_app_client.get("/api/v1/research/models").json()
    assert body["default"] == "alphavelocity-v1"
    assert [m["name"] for m in body["models"]] == MODELS
    assert {m["name"]: m["min_closes"] for m in body["models"]} == {
        "alphavelocity-v1": 64,
        "jt-12-1": 253,
        "risk-adjusted": 274,
        "rs-rating": 253,
    }
    assert all(m["doc"].startswith("docs/models/") for m in body["models"])


def test_backtest_of_the_default_model(sample_app_client: TestClient) -> None:
    resp = sample_app_client.get("/api/v1/research/backtest")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["model"] == "alphavelocity-v1" and body["model_version"] == "alphavelocity-v1"
    assert body["rebalance"] == "monthly" and body["horizon"] == 21 and body["quantiles"] == 5
    # The 504 stocks of the sample are ranked; SPY is the benchmark, not a member.
    assert 500 <= body["universe_size"] <= 504 and body["benchmark"] == "SPY"
    assert [q["quantile"] for q in body["quantile_returns"]] == [1, 2, 3, 4, 5]
    series = body["series"]
    assert len(series) == body["rebalance_dates"]
    assert sum(p["evaluated"] for p in series) == body["evaluated_dates"] > 10
    months = [p["date"][:7] for p in series]
    assert len(set(months)) == len(months)  # one rebalance date per month
    ics = [p["ic"] for p in series if p["ic"] is not None]
    assert body["ic"]["mean"] == pytest.approx(sum(ics) / len(ics))
    assert body["ic"]["observations"] == len(ics)
    assert body["growth"]["top_quantile"] == pytest.approx(series[-1]["growth_top_quantile"])
    assert body["growth"]["benchmark"] == pytest.approx(series[-1]["growth_benchmark"])
    assert series[0]["growth_top_quantile"] == 1.0 and series[0]["top_turnover"] is None
    caveats = " ".join(body["caveats"])
    assert "survivorship" in caveats and "April 2021" in caveats
    assert "adjusted" in caveats and "No transaction costs" in caveats


def test_backtest_with_costs(sample_app_client: TestClient) -> None:
    url = "/api/v1/research/backtest?model=jt-12-1&cost_bps=25&start=2020-01-01"
    body = sample_app_client.get(url).json()
    g = body["growth"]
    assert g["top_quantile_after_costs"] < g["top_quantile"]
    assert body["cost_bps"] == 25.0 and any("25 bps" in c for c in body["caveats"])
    assert body["first_rebalance"] >= "2020-01-01"


def test_backtest_end_bounds_the_period(sample_app_client: TestClient) -> None:
    body = sample_app_client.get(
        "/api/v1/research/backtest?model=rs-rating&end=2020-12-31&rebalance=quarterly&horizon=63"
    ).json()
    assert body["last_rebalance"] <= "2020-12-31"
    assert not body["series"][-1]["evaluated"]  # its 63 days would run past end


def test_overlapping_horizon_is_a_caveat(sample_app_client: TestClient) -> None:
    body = sample_app_client.get(
        "/api/v1/research/backtest?rebalance=weekly&horizon=21&start=2021-01-01"
    ).json()
    assert any("overlap" in c for c in body["caveats"])


def test_compare_runs_the_models_over_the_same_dates(sample_app_client: TestClient) -> None:
    resp = sample_app_client.get("/api/v1/research/compare")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [row["model"] for row in body["summary"]] == MODELS
    firsts = {r["first_rebalance"] for r in body["results"]}
    assert len(firsts) == 1
    for row, result in zip(body["summary"], body["results"]):
        assert row["ic_mean"] == result["ic"]["mean"]
        assert row["growth_benchmark"] == pytest.approx(body["results"][0]["growth"]["benchmark"])
        assert math.isfinite(row["growth_top_quantile"])
    assert any("same rebalance dates" in c for c in body["caveats"])


def test_compare_two_models(sample_app_client: TestClient) -> None:
    body = sample_app_client.get("/api/v1/research/compare?models=rs-rating,jt-12-1").json()
    assert [row["model"] for row in body["summary"]] == ["rs-rating", "jt-12-1"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("backtest?model=carhart", "model"),
        ("compare?models=jt-12-1,carhart", "models"),
        ("compare?models=jt-12-1,jt-12-1", "models"),
        ("backtest?universe=nasdaq", "universe"),
        ("backtest?start=2021-01-01&end=2020-01-01", "start"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    sample_app_client: TestClient, query: str, field: str
) -> None:
    err = assert_error(sample_app_client.get(f"/api/v1/research/{query}"), 422, "invalid_input")
    assert err["details"]["field"] == field
    if field in ("model", "models") and "carhart" in query:
        assert err["details"]["known"] == MODELS


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("rebalance=daily", "rebalance"),
        ("horizon=0", "horizon"),
        ("quantiles=11", "quantiles"),
        ("cost_bps=-5", "cost_bps"),
        ("start=2021-13-01", "start"),
    ],
)
def test_bad_parameters_are_422_with_the_rule(
    sample_app_client: TestClient, query: str, field: str
) -> None:
    err = assert_error(
        sample_app_client.get(f"/api/v1/research/backtest?{query}"), 422, "invalid_input"
    )
    assert [f["field"] for f in err["details"]["fields"]] == [field]
    assert err["details"]["fields"][0]["rule"]


def test_too_little_history_is_a_422_saying_so(sample_app_client: TestClient) -> None:
    # risk-adjusted needs 274 closes: none before the sample's second spring
    err = assert_error(
        sample_app_client.get("/api/v1/research/backtest?model=risk-adjusted&end=2020-01-31"),
        422,
        "insufficient_history",
    )
    assert err["details"]["needed"] == 5
    err = assert_error(
        sample_app_client.get("/api/v1/research/backtest?start=2030-01-01"),
        422,
        "insufficient_history",
    )
    assert err["details"]["field"] == "start"


# ------------------------------------------------------------------ ?model= on the momentum API


@pytest.mark.parametrize("model", ["jt-12-1", "risk-adjusted", "rs-rating"])
def test_momentum_score_of_another_model(sample_app_client: TestClient, model: str) -> None:
    resp = sample_app_client.get(f"/api/v1/momentum/AAPL?model={model}")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["model"] == model and body["model_version"].startswith(model)
    assert body["ticker"] == "AAPL" and body["as_of"] == "2021-04-21"
    assert body["score_min"] <= body["score"] <= body["score_max"]
    assert body["signals"] and body["closes_needed"] >= 253
    assert "overall_momentum_score" not in body


def test_model_scores_match_the_pure_models(sample_app_client: TestClient) -> None:
    body = sample_app_client.get("/api/v1/momentum/MSFT?model=jt-12-1&as_of=2021-03-31").json()
    hist = sample_app_client.get(
        "/api/v1/momentum/MSFT/history?model=jt-12-1&start=2021-03-31&end=2021-03-31"
    ).json()
    assert hist["count"] == 1 and hist["points"][0]["score"] == body["score"]
    # jt-12-1's score is the percentile of r_12_1 among the universe on that date
    assert body["score"] == body["percentile_rank"]


def test_default_model_answers_as_before(sample_app_client: TestClient) -> None:
    plain = sample_app_client.get("/api/v1/momentum/AAPL").json()
    named = sample_app_client.get("/api/v1/momentum/AAPL?model=alphavelocity-v1").json()
    assert plain == named and plain["model_version"] == "alphavelocity-v1"


def test_other_model_history_top_batch_and_breakdown(sample_app_client: TestClient) -> None:
    hist = sample_app_client.get(
        "/api/v1/momentum/TSLA/history?model=rs-rating&start=2021-01-01"
    ).json()
    assert hist["model"] == "rs-rating" and hist["count"] > 50
    assert all(1 <= p["score"] <= 99 for p in hist["points"])
    top = sample_app_client.get("/api/v1/momentum/top?model=jt-12-1&limit=5").json()
    scores = [r["score"] for r in top["results"]]
    assert len(scores) == 5 and scores == sorted(scores, reverse=True)
    assert top["model"] == "jt-12-1" and top["universe_size"] > 500
    batch = sample_app_client.post(
        "/api/v1/momentum/batch?model=risk-adjusted",
        json={"tickers": ["AAPL", "bad$", "MSFT"]},
    ).json()
    assert batch["model"] == "risk-adjusted"
    assert (batch["count"], batch["succeeded"], batch["failed"]) == (3, 2, 1)
    assert batch["results"][1]["error"]["details"]["field"] == "tickers.1"
    breakdown = sample_app_client.get("/api/v1/momentum/NVDA/breakdown?model=risk-adjusted")
    assert set(breakdown.json()["signals"]) >= {"r6", "r12", "volatility", "z"}


def test_other_model_errors(sample_app_client: TestClient) -> None:
    err = assert_error(
        sample_app_client.get("/api/v1/momentum/AAPL?model=carhart"), 422, "invalid_input"
    )
    assert err["details"]["field"] == "model" and err["details"]["known"] == MODELS
    err = assert_error(
        sample_app_client.get("/api/v1/momentum/AAPL?model=jt-12-1&as_of=2019-12-31"),
        422,
        "insufficient_history",
    )
    assert err["details"]["closes_needed"] == 253
    assert_error(sample_app_client.get("/api/v1/momentum/ZZZZ?model=jt-12-1"), 404, "not_found")
