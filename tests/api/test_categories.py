"""Categories over the shipped sample: listing, scores, analysis, and admin edits with the
authorisation matrix (anonymous, user, wrong token, admin)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.main import create_app
from backend.reference.seed import SEED_CATEGORIES
from tests.support.portfolio_app import (
    ADMIN,
    Api,
    assert_error,
    bearer,
    copy_sqlite,
    portfolio_settings,
)

pytestmark = [pytest.mark.api, pytest.mark.database]


@pytest.fixture(scope="module")
def client(sample_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = copy_sqlite(sample_db_url, tmp_path_factory.mktemp("categories"))
    with TestClient(create_app(portfolio_settings(url))) as c:
        yield c


@pytest.fixture(scope="module")
def user_headers(client: TestClient) -> dict[str, str]:
    return dict(Api(client).user()["headers"])


def test_the_nine_seeded_categories(client: TestClient) -> None:
    body = client.get("/api/v1/categories").json()
    assert body["count"] == 9
    assert body["targets_sum"] == pytest.approx(1.0)
    by_name = {c["name"]: c for c in body["categories"]}
    for cat in SEED_CATEGORIES:
        got = by_name[cat.name]
        assert got["target"] == cat.target
        assert got["benchmark"] == cat.benchmark
        assert got["tickers"] == list(cat.tickers)
        assert got["is_fixed_income"] == cat.fixed_income
    tickers = [t for c in body["categories"] for t in c["tickers"]]
    assert len(tickers) == len(set(tickers))


def test_category_by_slug_or_name_with_sorted_scores(client: TestClient) -> None:
    by_slug = client.get("/api/v1/categories/large-cap-anchors")
    assert by_slug.status_code == 200, by_slug.text
    by_name = client.get("/api/v1/categories/LARGE-CAP ANCHORS")
    assert by_name.json() == by_slug.json()
    scores = by_slug.json()["scores"]
    assert len(scores) == 22
    scored = [s["score"] for s in scores if s["score"] is not None]
    assert scored == sorted(scored, reverse=True)
    # Unscored (not in the sample) come last, each saying why; never a zero.
    first_none = next(i for i, s in enumerate(scores) if s["score"] is None)
    assert all(s["score"] is None for s in scores[first_none:])
    assert all(s["note"] for s in scores[first_none:])
    aapl = next(s for s in scores if s["ticker"] == "AAPL")
    assert aapl["price"] == pytest.approx(133.5) and aapl["price_date"] == "2021-04-21"
    momentum = client.get("/api/v1/momentum/AAPL").json()
    assert aapl["score"] == momentum["overall_momentum_score"]
    assert aapl["rating"] == momentum["rating"]
    meta = next(s for s in scores if s["ticker"] == "META")
    assert meta["stored_ticker"] == "FB"


def test_unknown_category_is_404(client: TestClient) -> None:
    err = assert_error(client.get("/api/v1/categories/crypto"), 404, "not_found")
    assert "large-cap-anchors" in err["details"]["known"]
    assert_error(client.get("/api/v1/categories/crypto/analysis"), 404, "not_found")


def test_category_analysis(client: TestClient) -> None:
    resp = client.get("/api/v1/categories/large-cap-anchors/analysis")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    detail = client.get("/api/v1/categories/large-cap-anchors").json()["scores"]
    scored = [s for s in detail if s["score"] is not None]
    assert body["members"] == 22
    assert body["scored"] == len(scored)
    assert body["average_score"] == pytest.approx(
        sum(s["score"] for s in scored) / len(scored), abs=0.01
    )
    assert body["best"]["ticker"] == scored[0]["ticker"]
    assert body["worst"]["ticker"] == scored[-1]["ticker"]
    # Value-weighted over the model holdings of the category with a price and a score.
    held = {"NVDA": 7, "AVGO": 4, "MSFT": 2, "META": 1, "NOW": 1, "AAPL": 4, "GOOGL": 4}
    assert body["value_weighted_over"] == sorted(held)
    quotes = {s["ticker"]: s for s in detail}
    values = {t: n * quotes[t]["price"] for t, n in held.items()}
    expected = sum(values[t] * quotes[t]["score"] for t in held) / sum(values.values())
    assert body["value_weighted_score"] == pytest.approx(expected, abs=0.01)
    # QQQ is not in the sample: no benchmark score, and the answer says why.
    assert body["benchmark_score"]["ticker"] == "QQQ"
    assert body["benchmark_score"]["score"] is None
    assert body["benchmark_score"]["note"]
    # The sample has SPY: Sector Momentum Rotation's benchmark is scored.
    rotation = client.get("/api/v1/categories/sector-momentum-rotation/analysis").json()
    assert rotation["benchmark_score"]["score"] is not None
    assert rotation["value_weighted_score"] is None  # XLI, its model holding, has no prices


@pytest.mark.parametrize(
    "headers, status, code",
    [
        ({}, 401, "unauthorized"),
        (bearer("wrong-token"), 401, "unauthorized"),
        ("user", 403, "forbidden"),
    ],
)
def test_editing_needs_the_admin_token(
    client: TestClient,
    user_headers: dict[str, str],
    headers: dict[str, str] | str,
    status: int,
    code: str,
) -> None:
    h = user_headers if headers == "user" else headers
    assert isinstance(h, dict)
    resp = client.put("/api/v1/categories/large-cap-anchors", json={"benchmark": "SPY"}, headers=h)
    assert_error(resp, status, code)
    resp = client.put(
        "/api/v1/categories/targets", json={"targets": {"large-cap-anchors": 0.2}}, headers=h
    )
    assert_error(resp, status, code)
    assert client.get("/api/v1/categories/large-cap-anchors").json()["benchmark"] == "QQQ"


def test_admin_edits_benchmark_and_tickers(client: TestClient) -> None:
    url = "/api/v1/categories/specialized-materials-etfs"
    resp = client.put(
        url, json={"benchmark": "spy", "tickers": ["remx", "LIT", "URA"]}, headers=ADMIN
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["benchmark"] == "SPY"
    assert resp.json()["tickers"] == ["REMX", "LIT", "URA"]
    # A ticker of another category is refused, naming it.
    clash = client.put(url, json={"tickers": ["REMX", "NVDA"]}, headers=ADMIN)
    err = assert_error(clash, 422, "invalid_input")
    assert err["details"]["category"] == "large-cap-anchors"
    assert err["details"]["field"] == "tickers.1"
    assert_error(client.put(url, json={"tickers": ["A", "A"]}, headers=ADMIN), 422, "invalid_input")
    assert_error(client.put(url, json={"tickers": ["bad$"]}, headers=ADMIN), 422, "invalid_input")
    assert_error(client.put(url, json={"benchmark": "bad$"}, headers=ADMIN), 422, "invalid_input")
    assert_error(client.put(url, json={"colour": "red"}, headers=ADMIN), 422, "invalid_input")
    back = client.put(url, json={"benchmark": "XLB", "tickers": ["REMX", "LIT"]}, headers=ADMIN)
    assert back.json()["tickers"] == ["REMX", "LIT"]
    assert_error(client.put("/api/v1/categories/nope", json={}, headers=ADMIN), 404, "not_found")


def test_targets_must_sum_to_one(client: TestClient) -> None:
    # One target alone cannot move without breaking the sum.
    resp = client.put("/api/v1/categories/large-cap-anchors", json={"target": 0.25}, headers=ADMIN)
    err = assert_error(resp, 422, "invalid_input")
    assert err["details"]["field"] == "target"
    assert err["details"]["sum"] == pytest.approx(1.05)
    assert_error(
        client.put("/api/v1/categories/large-cap-anchors", json={"target": 1.5}, headers=ADMIN),
        422,
        "invalid_input",
    )
    # Within 0.001 is accepted.
    ok = client.put("/api/v1/categories/large-cap-anchors", json={"target": 0.2005}, headers=ADMIN)
    assert ok.status_code == 200, ok.text
    # Several at once: move 0.05 from Large-Cap Anchors to Small-Cap Specialists.
    moved = client.put(
        "/api/v1/categories/targets",
        json={"targets": {"large-cap-anchors": 0.15, "Small-Cap Specialists": 0.20}},
        headers=ADMIN,
    )
    assert moved.status_code == 200, moved.text
    targets = {c["slug"]: c["target"] for c in moved.json()["categories"]}
    assert targets["large-cap-anchors"] == 0.15 and targets["small-cap-specialists"] == 0.20
    bad = client.put(
        "/api/v1/categories/targets", json={"targets": {"large-cap-anchors": 0.5}}, headers=ADMIN
    )
    assert assert_error(bad, 422, "invalid_input")["details"]["field"] == "target"
    unknown = client.put("/api/v1/categories/targets", json={"targets": {"x": 0.1}}, headers=ADMIN)
    assert_error(unknown, 404, "not_found")
    restore = client.put(
        "/api/v1/categories/targets",
        json={"targets": {"large-cap-anchors": 0.20, "small-cap-specialists": 0.15}},
        headers=ADMIN,
    )
    assert restore.json()["targets_sum"] == pytest.approx(1.0)


def test_admin_endpoints_refuse_all_without_admin_token(sample_db_url: str, tmp_path: Path) -> None:
    url = copy_sqlite(sample_db_url, tmp_path)
    with TestClient(create_app(portfolio_settings(url, admin_token=""))) as c:
        resp = c.put(
            "/api/v1/categories/large-cap-anchors", json={"benchmark": "SPY"}, headers=ADMIN
        )
        assert assert_error(resp, 403, "forbidden")["details"]["reason"] == "no_admin_token"


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/api/v1/categories/large-cap-anchors", {"benchmark": "Q\x00QQ"}, "benchmark"),
        ("/api/v1/categories/large-cap-anchors", {"tickers": ["NVDA", "MS\x1bFT"]}, "tickers"),
        ("/api/v1/categories/large-cap-anchors", {"target": "0.2"}, "target"),
        ("/api/v1/categories/large-cap-anchors", {"target": 1.5}, "target"),
        ("/api/v1/categories/large-cap-anchors", {"colour": "red"}, "colour"),
        ("/api/v1/categories/targets", {"targets": {"large-cap\x00anchors": 0.2}}, "targets"),
        ("/api/v1/categories/targets", {"targets": {"large-cap-anchors": False}},
         "targets.large-cap-anchors"),
    ],
)  # fmt: skip
def test_admin_bodies_with_control_characters_or_bad_values_name_the_field(
    client: TestClient, path: str, body: dict[str, object], field: str
) -> None:
    before = client.get("/api/v1/categories").json()
    err = assert_error(client.put(path, json=body, headers=ADMIN), 422, "invalid_input")
    assert err["details"]["fields"][0]["field"].startswith(field), err
    assert client.get("/api/v1/categories").json() == before


def test_a_universe_ranks_the_members_the_admin_set(client: TestClient) -> None:
    url = "/api/v1/categories/specialized-materials-etfs"
    universe = "specialized-materials-etfs"
    # REMX and LIT are not in the sample: the universe has no member with prices.
    assert client.get(f"/api/v1/momentum/top?universe={universe}").status_code == 404
    assert_error(client.get(f"/api/v1/momentum/XOM?universe={universe}"), 422, "invalid_input")
    try:
        resp = client.put(url, json={"tickers": ["XOM", "JPM", "KO"]}, headers=ADMIN)
        assert resp.status_code == 200, resp.text
        top = client.get(f"/api/v1/momentum/top?universe={universe}")
        assert top.status_code == 200, top.text
        assert {r["ticker"] for r in top.json()["results"]} == {"XOM", "JPM", "KO"}
        assert top.json()["universe_size"] == 3
        first = client.get(f"/api/v1/momentum/XOM?universe={universe}")
        assert first.status_code == 200 and first.json()["universe_size"] == 3
        assert client.get(f"/api/v1/momentum/XOM?universe={universe}").headers["x-cache"] == "hit"
        # The edit moves the data version, so the cached answer of three members is not served.
        client.put(url, json={"tickers": ["XOM", "JPM"]}, headers=ADMIN)
        again = client.get(f"/api/v1/momentum/XOM?universe={universe}")
        assert again.headers["x-cache"] == "miss" and again.json()["universe_size"] == 2
        # The securities list shows the category of the tables.
        rows = {s["ticker"]: s for s in client.get("/api/v1/securities").json()["securities"]}
        assert rows["XOM"]["category"] == "Specialized Materials ETFs"
        assert rows["KO"]["category"] is None
    finally:
        client.put(url, json={"tickers": ["REMX", "LIT"]}, headers=ADMIN)
    assert client.get(f"/api/v1/momentum/top?universe={universe}").status_code == 404


def test_securities_show_the_category_of_the_tables(client: TestClient) -> None:
    rows = {s["ticker"]: s for s in client.get("/api/v1/securities").json()["securities"]}
    assert rows["AAPL"]["category"] == "Large-Cap Anchors"
    assert rows["AAPL"]["is_fixed_income"] is False
    assert rows["XOM"]["category"] is None
    one = client.get("/api/v1/prices/AAPL?start=2021-04-21").json()
    assert one["category"] == "Large-Cap Anchors"
