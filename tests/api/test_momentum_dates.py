"""Answers that must not mislead: dates in the future, dates before the first close, the top of
a whole universe, and the same status for the same situation on every momentum route."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.cache.keys import score_key
from backend.main import create_app
from backend.momentum.dates import is_future, latest_askable_date, not_in_future
from tests.api.test_cache_api import copy_sqlite
from tests.conftest import make_settings

pytestmark = [pytest.mark.api, pytest.mark.database]

TOMORROW = latest_askable_date() + dt.timedelta(days=1)
FAR = dt.date(2999, 1, 1)


def error_of(resp, status: int, code: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"]["code"] == code, body
    return body["error"]  # type: ignore[no-any-return]


# --- the rule ------------------------------------------------------------------------------


def test_today_is_the_date_in_the_first_time_zone_to_reach_it() -> None:
    # 2024-03-10 10:30 UTC is already 2024-03-11 00:30 in UTC+14 (Kiribati).
    assert latest_askable_date(dt.datetime(2024, 3, 10, 10, 30, tzinfo=dt.timezone.utc)) == (
        dt.date(2024, 3, 11)
    )
    assert latest_askable_date(dt.datetime(2024, 3, 10, 9, 59, tzinfo=dt.timezone.utc)) == (
        dt.date(2024, 3, 10)
    )
    noon = dt.datetime(2024, 3, 10, 12, 0, tzinfo=dt.timezone.utc)
    assert not is_future(dt.date(2024, 3, 11), noon) and is_future(dt.date(2024, 3, 12), noon)


def test_the_validator_names_the_rule_and_today() -> None:
    assert not_in_future(None) is None
    today = latest_askable_date()
    assert not_in_future(today) == today
    with pytest.raises(ValueError, match=f"{TOMORROW} is in the future.*{today} now"):
        not_in_future(TOMORROW)


# --- a future date: 422 naming the field, on every route -------------------------------------


@pytest.mark.parametrize(
    "method, url, field",
    [
        ("GET", "/api/v1/momentum/AAPL?as_of={d}", "as_of"),
        ("GET", "/api/v1/momentum/AAPL?as_of={d}&universe=all", "as_of"),
        ("GET", "/api/v1/momentum/AAPL/breakdown?as_of={d}", "as_of"),
        ("GET", "/api/v1/momentum/AAPL/history?end={d}", "end"),
        ("GET", "/api/v1/momentum/AAPL/history?start={d}", "start"),
        ("GET", "/api/v1/momentum/top?as_of={d}", "as_of"),
        ("POST", "/api/v1/momentum/batch?as_of={d}", "as_of"),
        ("GET", "/api/v1/momentum/AAPL?as_of={d}&model=tsmom-12-1", "as_of"),
        ("GET", "/api/v1/prices/AAPL?end={d}", "end"),
    ],
)
@pytest.mark.parametrize("day", [TOMORROW, FAR])
def test_a_date_in_the_future_is_422_naming_the_field(
    sample_app_client: TestClient, method: str, url: str, field: str, day: dt.date
) -> None:
    body = {"tickers": ["AAPL"]} if method == "POST" else None
    resp = sample_app_client.request(method, url.format(d=day), json=body)
    err = error_of(resp, 422, "invalid_input")
    [f] = err["details"]["fields"]
    assert (f["field"], f["location"]) == (field, "query")
    assert "in the future" in f["message"]


def test_today_is_answered(sample_app_client: TestClient) -> None:
    today = latest_askable_date()
    resp = sample_app_client.get(f"/api/v1/momentum/AAPL?as_of={today}")
    assert resp.status_code == 200
    assert resp.json()["as_of"] == "2021-04-21"  # the last close on or before it


@pytest.fixture
def private_client(sample_db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    url = copy_sqlite(sample_db_url, tmp_path / "store.db")
    with TestClient(create_app(make_settings(url, top_limit_max=600))) as client:
        yield client


def test_the_fast_path_gives_the_route_answer_even_with_a_cached_future_key(
    private_client: TestClient,
) -> None:
    # An entry under a future date's key (left by an older version, say) is never served.
    cache = private_client.app.state.cache  # type: ignore[attr-defined]
    portal = private_client.portal
    assert portal is not None
    version = portal.call(cache.data_version)
    latest = private_client.get("/api/v1/momentum/AAPL").content
    key = score_key(cache.tag, version, "AAPL", TOMORROW, "all")
    portal.call(cache.backend.set, key, latest, 60)
    assert portal.call(cache.backend.get, key) == latest
    resp = private_client.get(f"/api/v1/momentum/AAPL?as_of={TOMORROW}")
    error_of(resp, 422, "invalid_input")
    assert "x-cache" not in resp.headers


# --- before the first stored close ----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/api/v1/momentum/AAPL?as_of=2000-01-03", "/api/v1/momentum/AAPL/breakdown?as_of=2000-01-03"],
)
def test_a_date_before_the_first_close_keeps_the_date(
    sample_app_client: TestClient, url: str
) -> None:
    err = error_of(sample_app_client.get(url), 422, "insufficient_history")
    assert err["message"] == (
        "AAPL has 0 closes up to 2000-01-03; the model needs at least 64 "
        "(its first stored close is 2019-04-01)"
    )
    assert err["details"] == {
        "ticker": "AAPL",
        "closes_found": 0,
        "closes_needed": 64,
        "as_of": "2000-01-03",
        "first_close": "2019-04-01",
        "last_close_used": None,
    }


def test_a_date_with_too_few_closes_keeps_the_asked_date_and_the_close_used(
    sample_app_client: TestClient,
) -> None:
    # Saturday 2019-05-04: the last close on or before it is Friday 2019-05-03.
    err = error_of(
        sample_app_client.get("/api/v1/momentum/AAPL?as_of=2019-05-04"), 422, "insufficient_history"
    )
    assert err["message"] == "AAPL has 24 closes up to 2019-05-04; the model needs at least 64"
    assert err["details"]["as_of"] == "2019-05-04"
    assert err["details"]["last_close_used"] == "2019-05-03"
    assert err["details"]["first_close"] == "2019-04-01"


def test_batch_entries_carry_the_same_error(sample_app_client: TestClient) -> None:
    single = sample_app_client.get("/api/v1/momentum/AAPL?as_of=2000-01-03").json()["error"]
    batch = sample_app_client.post(
        "/api/v1/momentum/batch?as_of=2000-01-03", json={"tickers": ["AAPL"]}
    ).json()
    assert batch["results"][0]["error"] == single


# --- top: the whole universe; the same situation, the same status --------------------------


def test_top_answers_a_whole_universe_of_504(private_client: TestClient) -> None:
    body = private_client.get("/api/v1/momentum/top?limit=600").json()
    assert body["universe_size"] == 504 and len(body["results"]) == 504
    assert body["limit"] == 600


def test_top_limit_above_the_setting_is_422_naming_it(private_client: TestClient) -> None:
    err = error_of(private_client.get("/api/v1/momentum/top?limit=601"), 422, "invalid_input")
    assert err["details"] == {"field": "limit", "value": 601, "rule": "1 to 600"}
    assert "TOP_LIMIT_MAX" in err["message"]


def test_top_before_any_score_is_422_like_the_single_score(sample_app_client: TestClient) -> None:
    single = sample_app_client.get("/api/v1/momentum/AAPL?as_of=2019-05-01")
    top = sample_app_client.get("/api/v1/momentum/top?as_of=2019-05-01")
    error_of(single, 422, "insufficient_history")
    err = error_of(top, 422, "insufficient_history")
    # Sessions from 2019-04-01: April 21 (Good Friday closed), May 22 (Memorial Day), June 20:
    # 63 by June 28, so the 64th close, the first scored date, is Monday 2019-07-01.
    assert err["details"] == {
        "universe": "all",
        "as_of": "2019-05-01",
        "closes_needed": 64,
        "first_scored_date": "2019-07-01",
    }
    assert "2019-05-01" in err["message"]


def test_top_of_a_universe_without_stored_members_is_404_like_an_unstored_ticker(
    sample_app_client: TestClient,
) -> None:
    # The sample (S&P 500 stocks) holds no member of this category (ETFs).
    resp = sample_app_client.get("/api/v1/momentum/top?universe=specialized-materials-etfs")
    err = error_of(resp, 404, "not_found")
    assert err["details"] == {"universe": "specialized-materials-etfs"}
    error_of(sample_app_client.get("/api/v1/momentum/XLB"), 404, "not_found")
