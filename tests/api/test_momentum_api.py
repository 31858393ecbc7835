"""The momentum API over the shipped sample (SQLite, no live provider)."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

pytestmark = [pytest.mark.api, pytest.mark.database]

SCORE_FIELDS = {
    "ticker",
    "overall_momentum_score",
    "rating",
    "price_momentum",
    "technical_momentum",
    "relative_momentum",
    "percentile_rank",
    "universe",
    "as_of",
    "current_price",
    "data_source",
    "complete",
    "left_out",
    "model_version",
}


def assert_error(resp, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body["error"]


def test_root_links_to_docs(sample_app_client: TestClient) -> None:
    body = sample_app_client.get("/").json()
    assert body["name"] == "AlphaVelocity"
    assert body["status"] == "ok"
    assert body["docs"] == "/docs"
    assert sample_app_client.get("/docs").status_code == 200


def test_latest_score_of_aapl(sample_app_client: TestClient) -> None:
    resp = sample_app_client.get("/api/v1/momentum/AAPL")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert SCORE_FIELDS <= set(body)
    assert body["ticker"] == "AAPL"
    assert body["as_of"] == "2021-04-21"
    assert body["data_source"] == "sample"
    assert body["model_version"] == "alphavelocity-v1"
    assert body["universe"] == "all"
    # AAPL's close on 2021-04-21 in the sample file (as traded).
    assert body["current_price"] == pytest.approx(133.5)
    assert body["price_basis"] == "close"
    assert body["complete"] is True and body["left_out"] == []
    assert 0 <= body["percentile_rank"] <= 100
    # 505 securities, but VAR's last close is 2021-04-16 (acquired): 504 scored that day.
    assert body["universe_size"] == 504
    parts = (
        0.50 * body["price_momentum"]
        + 0.35 * body["technical_momentum"]
        + 0.15 * body["relative_momentum"]
    )
    assert body["overall_momentum_score"] == pytest.approx(parts, abs=0.01)
    assert round(body["overall_momentum_score"], 2) == body["overall_momentum_score"]


def test_ticker_is_case_insensitive(sample_app_client: TestClient) -> None:
    upper = sample_app_client.get("/api/v1/momentum/MSFT").json()
    lower = sample_app_client.get("/api/v1/momentum/msft").json()
    assert lower["overall_momentum_score"] == upper["overall_momentum_score"]
    assert lower["ticker"] == "MSFT"


def test_renamed_ticker_resolves_through_alias(sample_app_client: TestClient) -> None:
    meta = sample_app_client.get("/api/v1/momentum/META").json()
    fb = sample_app_client.get("/api/v1/momentum/FB").json()
    assert meta["ticker"] == "FB" and meta["requested_ticker"] == "META"
    assert meta["overall_momentum_score"] == fb["overall_momentum_score"]


def test_as_of_uses_last_close_on_or_before(sample_app_client: TestClient) -> None:
    on_day = sample_app_client.get("/api/v1/momentum/AAPL?as_of=2020-09-04").json()
    weekend = sample_app_client.get("/api/v1/momentum/AAPL?as_of=2020-09-06").json()
    assert on_day["as_of"] == weekend["as_of"] == "2020-09-04"
    assert on_day["overall_momentum_score"] == weekend["overall_momentum_score"]
    latest = sample_app_client.get("/api/v1/momentum/AAPL").json()
    assert on_day["overall_momentum_score"] != latest["overall_momentum_score"]


@pytest.mark.parametrize("bad", ["AA$PL", "A" * 16, "AAPL!"])
def test_malformed_ticker_is_422_naming_the_field(sample_app_client: TestClient, bad: str) -> None:
    err = assert_error(sample_app_client.get(f"/api/v1/momentum/{bad}"), 422, "invalid_input")
    fields = err["details"]["fields"]
    assert fields[0]["field"] == "ticker"
    assert fields[0]["rule"] == "string_pattern_mismatch"


@pytest.mark.parametrize("bad", ["2020-13-01", "yesterday", "2020-02-30"])
def test_malformed_date_is_422_naming_the_field(sample_app_client: TestClient, bad: str) -> None:
    err = assert_error(
        sample_app_client.get(f"/api/v1/momentum/AAPL?as_of={bad}"), 422, "invalid_input"
    )
    assert err["details"]["fields"][0]["field"] == "as_of"


def test_unknown_ticker_without_provider_is_404(sample_app_client: TestClient) -> None:
    err = assert_error(sample_app_client.get("/api/v1/momentum/ZZZZ"), 404, "not_found")
    assert "ZZZZ" in err["message"] and "DATA_PROVIDER=none" in err["message"]


def test_too_little_history_is_422_with_counts(sample_app_client: TestClient) -> None:
    # The sample starts on 2019-04-01: 21 sessions in April 2019 (Good Friday closed) + May 1.
    err = assert_error(
        sample_app_client.get("/api/v1/momentum/AAPL?as_of=2019-05-01"),
        422,
        "insufficient_history",
    )
    assert err["details"]["closes_found"] == 22
    assert err["details"]["closes_needed"] == 64
    before = sample_app_client.get("/api/v1/momentum/AAPL?as_of=2000-01-01")
    assert assert_error(before, 422, "insufficient_history")["details"]["closes_found"] == 0


def test_short_history_says_what_was_left_out(sample_app_client: TestClient) -> None:
    body = sample_app_client.get("/api/v1/momentum/VTRS").json()
    assert body["complete"] is False
    names = {item["name"] for item in body["left_out"]}
    assert {"r252", "sma200"} <= names
    assert all(item["reason"] for item in body["left_out"])


def test_spy_has_no_volume_so_volume_is_left_out(sample_app_client: TestClient) -> None:
    body = sample_app_client.get("/api/v1/momentum/SPY").json()
    assert body["relative_momentum"] == 50.0
    assert "volume" in {item["name"] for item in body["left_out"]}
    assert body["price_basis"] == "adj_close"


def test_breakdown_is_consistent_with_the_score(sample_app_client: TestClient) -> None:
    score = sample_app_client.get("/api/v1/momentum/NVDA?as_of=2021-03-01").json()
    b = sample_app_client.get("/api/v1/momentum/NVDA/breakdown?as_of=2021-03-01").json()
    assert b["as_of"] == score["as_of"] == "2021-03-01"
    assert b["benchmark"] == "SPY"
    assert b["price_momentum"] == pytest.approx(b["trend"] + b["magnitude"] + b["acceleration"])
    assert b["technical_momentum"] == pytest.approx(
        0.4 * b["rsi_score"] + 0.3 * b["volume_score"] + 0.3 * b["roc_score"]
    )
    assert b["overall_momentum_score"] == pytest.approx(
        0.5 * b["price_momentum"] + 0.35 * b["technical_momentum"] + 0.15 * b["relative_momentum"]
    )
    assert round(b["overall_momentum_score"], 2) == score["overall_momentum_score"]
    assert b["relative_gap"] == pytest.approx(b["returns"]["r21"] - b["benchmark_return_21"])
    assert 0 <= b["rsi"] <= 100
    assert set(b["sma"]) == {"sma20", "sma50", "sma200", "sma20_10_days_earlier"}


def test_history_is_the_daily_series(sample_app_client: TestClient) -> None:
    resp = sample_app_client.get("/api/v1/momentum/AAPL/history?start=2021-04-01&end=2021-04-21")
    body = resp.json()
    dates = [p["date"] for p in body["points"]]
    assert dates[0] == "2021-04-01" and dates[-1] == "2021-04-21"
    assert body["count"] == len(dates) == 14
    latest = sample_app_client.get("/api/v1/momentum/AAPL").json()
    assert body["points"][-1]["overall_momentum_score"] == latest["overall_momentum_score"]
    assert body["points"][-1]["percentile_rank"] == latest["percentile_rank"]
    full = sample_app_client.get("/api/v1/momentum/AAPL/history").json()
    # The sample starts 2019-04-01: 21 + 22 + 20 sessions to June 28; the 64th is July 1.
    assert full["first_scored_date"] == full["points"][0]["date"] == "2019-07-01"


def test_history_rejects_start_after_end(sample_app_client: TestClient) -> None:
    resp = sample_app_client.get("/api/v1/momentum/AAPL/history?start=2021-04-02&end=2021-04-01")
    assert assert_error(resp, 422, "invalid_input")["details"]["field"] == "start"


def test_batch_reports_errors_per_ticker(sample_app_client: TestClient) -> None:
    resp = sample_app_client.post(
        "/api/v1/momentum/batch", json={"tickers": ["AAPL", "bad$", "ZZZZ", "msft"]}
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["count"], body["succeeded"], body["failed"]) == (4, 2, 2)
    results = body["results"]
    assert [r["ticker"] for r in results] == ["AAPL", "bad$", "ZZZZ", "MSFT"]
    assert results[0]["score"]["ticker"] == "AAPL" and results[0]["error"] is None
    assert results[1]["error"]["code"] == "invalid_input"
    assert results[2]["error"]["code"] == "not_found"
    assert results[3]["score"]["ticker"] == "MSFT"


@pytest.mark.parametrize("tickers", [[], ["AAPL"] * 501])
def test_batch_size_limits(sample_app_client: TestClient, tickers: list[str]) -> None:
    resp = sample_app_client.post("/api/v1/momentum/batch", json={"tickers": tickers})
    assert assert_error(resp, 422, "invalid_input")["details"]["fields"][0]["field"] == "tickers"


def test_batch_of_all_sample_tickers(sample_app_client: TestClient) -> None:
    top = sample_app_client.get("/api/v1/momentum/top?limit=500").json()
    tickers = [r["ticker"] for r in top["results"]]
    body = sample_app_client.post("/api/v1/momentum/batch", json={"tickers": tickers}).json()
    assert body["succeeded"] == 500


def test_top_is_sorted_and_ranked(sample_app_client: TestClient) -> None:
    body = sample_app_client.get("/api/v1/momentum/top?limit=5").json()
    scores = [r["overall_momentum_score"] for r in body["results"]]
    assert len(scores) == 5 and scores == sorted(scores, reverse=True)
    assert body["as_of"] == "2021-04-21"
    assert body["results"][0]["percentile_rank"] == 100.0
    assert body["universe_size"] == 504


def test_top_of_model_portfolio_universe(sample_app_client: TestClient) -> None:
    body = sample_app_client.get("/api/v1/momentum/top?universe=model-portfolio&limit=50").json()
    tickers = {r["ticker"] for r in body["results"]}
    # Model holdings present in the S&P 500 sample (META is stored as FB).
    assert tickers == {"NVDA", "AVGO", "MSFT", "FB", "NOW", "AAPL", "GOOGL", "DLR", "IRM", "CCI"}
    assert body["universe_size"] == 10
    ranks = sorted(r["percentile_rank"] for r in body["results"])
    assert ranks[0] == 0.0 and ranks[-1] == 100.0


def test_unknown_universe_lists_the_known_ones(sample_app_client: TestClient) -> None:
    err = assert_error(
        sample_app_client.get("/api/v1/momentum/top?universe=nope"), 422, "invalid_input"
    )
    assert "model-portfolio" in err["details"]["known"]


def test_score_outside_its_universe_is_refused(sample_app_client: TestClient) -> None:
    resp = sample_app_client.get("/api/v1/momentum/XOM?universe=model-portfolio")
    assert assert_error(resp, 422, "invalid_input")["details"]["field"] == "universe"


def test_top_limit_is_validated(sample_app_client: TestClient) -> None:
    assert_error(sample_app_client.get("/api/v1/momentum/top?limit=0"), 422, "invalid_input")
    assert_error(sample_app_client.get("/api/v1/momentum/top?limit=10001"), 422, "invalid_input")


def test_database_status(sample_app_client: TestClient) -> None:
    body = sample_app_client.get("/database/status").json()
    assert body["engine"] == "sqlite"
    assert body["reachable"] is True and body["migrated"] is True
    assert body["migration_revision"] == body["migration_head"]
    assert body["securities"] == 505
    assert body["newest_bar_date"] == "2021-04-21"
    assert body["bars"] > 250_000
    assert body["latency_ms"] >= 0


def test_unknown_route_uses_the_error_shape(sample_app_client: TestClient) -> None:
    assert_error(sample_app_client.get("/api/v1/nothing-here"), 404, "not_found")


def test_openapi_declares_response_models(sample_app_client: TestClient) -> None:
    spec = sample_app_client.get("/openapi.json").json()
    for path in (
        "/api/v1/momentum/{ticker}",
        "/api/v1/momentum/{ticker}/breakdown",
        "/api/v1/momentum/{ticker}/history",
        "/api/v1/momentum/top",
        "/database/status",
    ):
        ok = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        assert "$ref" in ok["schema"], path
    assert "$ref" in (
        spec["paths"]["/api/v1/momentum/batch"]["post"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"]
    )


def test_score_date_is_never_after_the_request(sample_app_client: TestClient) -> None:
    body = sample_app_client.get("/api/v1/momentum/TSLA?as_of=2020-08-31").json()
    assert dt.date.fromisoformat(body["as_of"]) <= dt.date(2020, 8, 31)
