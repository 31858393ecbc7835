"""The momentum watchlist and named watchlists over the shipped sample: values against the
momentum endpoint's scores and hand-computed gaps, validation naming field and rule,
ownership (404), conflicts (409), limits, aliases and fill from a category."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.main import create_app
from tests.support.portfolio_app import Api, assert_error, copy_sqlite, portfolio_settings

pytestmark = [pytest.mark.api, pytest.mark.database]

W = "/api/v1/watchlist"
L = "/api/v1/watchlists"
PER_CATEGORY = 2
MAX_LISTS = 3
MAX_TICKERS = 6
NAME_LENGTH = 20


@pytest.fixture(scope="module")
def client(sample_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = copy_sqlite(sample_db_url, tmp_path_factory.mktemp("watchlists"))
    settings = portfolio_settings(
        url,
        watchlist_max_per_category=PER_CATEGORY,
        watchlist_max_lists=MAX_LISTS,
        watchlist_max_tickers=MAX_TICKERS,
        watchlist_name_max_length=NAME_LENGTH,
    )
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


@pytest.fixture
def h(api: Api) -> dict[str, str]:
    headers: dict[str, str] = api.user()["headers"]
    return headers


def momentum(client: TestClient, ticker: str, as_of: str | None = None) -> dict[str, Any] | None:
    """The momentum endpoint's score, or None when it has none (not stored, too short)."""
    resp = client.get(f"/api/v1/momentum/{ticker}", params={"as_of": as_of} if as_of else {})
    if resp.status_code in (404, 422):
        return None
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


# ------------------------------------------------------------------------------ momentum watchlist


def test_model_watchlist_matches_the_momentum_endpoint(client: TestClient) -> None:
    resp = client.get(W)  # min_score defaults to 70
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["portfolio_id"] is None and body["min_score"] == 70
    assert body["max_per_category"] == PER_CATEGORY
    assert body["as_of"] == "2021-04-21" and body["data_sources"] == ["sample"]
    cats = client.get("/api/v1/categories").json()["categories"]
    assert [c["slug"] for c in body["categories"]] == [c["slug"] for c in cats]
    analysis = client.get("/api/v1/portfolio/analysis").json()["analysis"]
    holdings = [x["ticker"] for x in analysis["holdings"]]
    held = {(momentum(client, t) or {"ticker": t})["ticker"] for t in holdings}
    weights = {c["name"]: c["weight"] for c in analysis["categories"]}
    total = 0
    for cat, got in zip(cats, body["categories"]):
        # Candidates computed independently: every member's score from the momentum endpoint.
        scores = {}
        for member in cat["tickers"]:
            s = momentum(client, member)
            if s is not None and s["ticker"] not in held:
                scores[s["ticker"]] = s
        qualified = sorted(
            (s for s in scores.values() if s["overall_momentum_score"] >= 70),
            key=lambda s: (-s["overall_momentum_score"], s["ticker"]),
        )
        assert got["qualified"] == len(qualified)
        assert [c["ticker"] for c in got["candidates"]] == [
            s["ticker"] for s in qualified[:PER_CATEGORY]
        ]
        for c in got["candidates"]:
            s = scores[c["ticker"]]
            assert c["score"] == s["overall_momentum_score"]
            assert c["rating"] == s["rating"]
            assert c["percentile_rank"] == s["percentile_rank"]
            assert c["as_of"] == s["as_of"]
            # 20 closes earlier: the 21st last point of the ticker's score history.
            points = client.get(f"/api/v1/momentum/{c['ticker']}/history").json()["points"]
            then = points[-21]
            assert c["score_20d_earlier_date"] == then["date"]
            assert c["score_20d_earlier"] == then["overall_momentum_score"]
            assert c["score_change_20d"] == pytest.approx(
                s["overall_momentum_score"] - then["overall_momentum_score"], abs=1e-9
            )
            assert c["change_note"] is None
        # Gap and priority from the analysis' weight.
        weight = weights[cat["name"]]
        assert got["current_weight"] == pytest.approx(weight)
        assert got["allocation_gap"] == pytest.approx(cat["target"] - weight)
        gap = cat["target"] - weight
        assert got["priority"] == ("high" if gap > 0.02 else "medium" if gap > 0 else "low")
        # Held members are named and never candidates; unscored ones say why.
        for u in got["unscored"]:
            assert u["reason"]
            assert momentum(client, u["ticker"]) is None
        total += len(got["candidates"])
    assert body["summary"]["candidates"] == total
    assert body["summary"]["high_priority_categories"] == [
        c["slug"] for c in body["categories"] if c["priority"] == "high"
    ]
    large = next(c for c in body["categories"] if c["slug"] == "large-cap-anchors")
    assert "META" in large["held"]  # the model holds META, stored as FB


def test_min_score_filters_and_bounds(client: TestClient) -> None:
    strict = client.get(W, params={"min_score": 95}).json()
    loose = client.get(W, params={"min_score": 0}).json()
    assert all(c["score"] >= 95 for cat in strict["categories"] for c in cat["candidates"])
    assert loose["summary"]["candidates"] >= strict["summary"]["candidates"]
    assert all(len(cat["candidates"]) <= PER_CATEGORY for cat in loose["categories"])
    for bad, rule in (("101", "less_than_equal"), ("-1", "greater_than_equal"), ("x", "float")):
        err = assert_error(client.get(W, params={"min_score": bad}), 422, "invalid_input")
        [field] = err["details"]["fields"]
        assert field["field"] == "min_score" and rule in field["rule"]


def test_a_users_portfolio_gaps_and_priorities_by_hand(
    api: Api, client: TestClient, h: dict[str, str]
) -> None:
    # 10 AAPL (last close 133.5) and cash so that Large-Cap weighs 1335 / 7026.32 = 0.19:
    # gap 0.2 - 0.19 = 0.01 -> medium; every other category weighs 0 -> gap = target -> high.
    pid = api.portfolio(h)
    for tx in (
        {"date": "2020-01-02", "type": "DEPOSIT", "quantity": "6691.32"},
        {"date": "2020-01-03", "type": "BUY", "ticker": "AAPL", "quantity": 10, "price": 100},
    ):
        assert api.add(h, pid, **tx).status_code == 201
    body = client.get(W, params={"portfolio_id": pid}, headers=h).json()
    assert body["portfolio_id"] == pid
    by_slug = {c["slug"]: c for c in body["categories"]}
    large = by_slug["large-cap-anchors"]
    weight = 1335 / (1335 + 5691.32)
    assert large["current_weight"] == pytest.approx(weight)
    assert large["allocation_gap"] == pytest.approx(0.2 - weight)
    assert large["priority"] == "medium"
    assert large["held"] == ["AAPL"]
    assert all(c["ticker"] != "AAPL" for c in large["candidates"])
    for slug, c in by_slug.items():
        if slug != "large-cap-anchors":
            assert c["current_weight"] == 0 and c["allocation_gap"] == c["target"]
            assert c["priority"] == "high"
    assert body["summary"]["high_priority_categories"] == [
        s for s in by_slug if s != "large-cap-anchors"
    ]
    # All in AAPL (no cash): weight 1, gap -0.8 -> low.
    pid2 = api.portfolio(h, "all in")
    for tx in (
        {"date": "2020-01-02", "type": "DEPOSIT", "quantity": 1000},
        {"date": "2020-01-03", "type": "BUY", "ticker": "AAPL", "quantity": 10, "price": 100},
    ):
        assert api.add(h, pid2, **tx).status_code == 201
    large2 = client.get(W, params={"portfolio_id": pid2}, headers=h).json()["categories"][0]
    assert large2["allocation_gap"] == pytest.approx(-0.8) and large2["priority"] == "low"
    # An empty portfolio has no value: no weights, gaps or priorities (null, not 0).
    empty = client.get(W, params={"portfolio_id": api.portfolio(h, "empty")}, headers=h).json()
    assert all(c["allocation_gap"] is None and c["priority"] is None for c in empty["categories"])
    assert any("no value" in n for n in empty["notes"])


def test_portfolio_needs_a_login_and_ownership(api: Api, client: TestClient) -> None:
    owner, other = api.user(), api.user()
    pid = api.portfolio(owner["headers"])
    assert_error(client.get(W, params={"portfolio_id": pid}), 401, "unauthorized")
    assert_error(
        client.get(W, params={"portfolio_id": pid}, headers=other["headers"]), 404, "not_found"
    )
    assert_error(
        client.get(W, params={"portfolio_id": 999999}, headers=owner["headers"]), 404, "not_found"
    )
    assert client.get(W, params={"portfolio_id": pid}, headers=owner["headers"]).status_code == 200


# ------------------------------------------------------------------------------ named watchlists


def create(client: TestClient, h: dict[str, str], name: str = "Tech") -> int:
    resp = client.post(L, json={"name": name}, headers=h)
    assert resp.status_code == 201, resp.text
    return int(resp.json()["id"])


def test_create_list_rename_delete(client: TestClient, h: dict[str, str]) -> None:
    wid = create(client, h, "  Tech  ")
    assert client.get(L, headers=h).json()[0]["name"] == "Tech"
    assert_error(client.post(L, json={"name": "Tech"}, headers=h), 409, "conflict")
    other = create(client, h, "Energy")
    assert_error(client.patch(f"{L}/{other}", json={"name": "Tech"}, headers=h), 409, "conflict")
    same = client.patch(f"{L}/{wid}", json={"name": "Tech "}, headers=h)  # its own name
    assert same.status_code == 200 and same.json()["name"] == "Tech"
    renamed = client.patch(f"{L}/{wid}", json={"name": "Chips"}, headers=h)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Chips"
    assert [w["name"] for w in client.get(L, headers=h).json()] == ["Chips", "Energy"]
    assert client.delete(f"{L}/{wid}", headers=h).status_code == 204
    assert_error(client.get(f"{L}/{wid}", headers=h), 404, "not_found")
    assert [w["id"] for w in client.get(L, headers=h).json()] == [other]


def test_names_and_limits_are_validated(client: TestClient, h: dict[str, str]) -> None:
    for bad, rule in (
        ({"name": "   "}, "1 to WATCHLIST_NAME_MAX_LENGTH characters (not blank)"),
        ({"name": "x" * (NAME_LENGTH + 1)}, "1 to WATCHLIST_NAME_MAX_LENGTH characters"),
        ({"name": "x" * 101}, "string_too_long"),
        ({"name": "a\x00b"}, "control"),
        ({}, "missing"),
        ({"name": "ok", "extra": 1}, "extra_forbidden"),
    ):
        err = assert_error(client.post(L, json=bad, headers=h), 422, "invalid_input")
        details = err["details"]
        field = details["fields"][0] if "fields" in details else details
        assert rule in field["rule"] or rule in err["message"], err
        assert field["field"] in ("name", "extra", "body"), err
    for i in range(MAX_LISTS):
        create(client, h, f"list {i}")
    err = assert_error(client.post(L, json={"name": "one more"}, headers=h), 422, "invalid_input")
    assert err["details"]["rule"] == "at most WATCHLIST_MAX_LISTS watchlists"
    assert err["details"]["field"] == "name"
    assert len(client.get(L, headers=h).json()) == MAX_LISTS


def test_add_remove_alias_and_scores(client: TestClient, h: dict[str, str]) -> None:
    wid = create(client, h)
    added = client.post(f"{L}/{wid}/tickers", json={"ticker": "meta"}, headers=h)
    assert added.status_code == 201, added.text
    (item,) = added.json()["items"]
    fb = momentum(client, "FB")
    assert fb is not None
    assert item["ticker"] == "FB"  # the alias resolves to the stored ticker
    assert item["added_score"] == fb["overall_momentum_score"]
    assert item["added_score_date"] == fb["as_of"]
    assert item["score"] == fb["overall_momentum_score"]
    assert item["rating"] == fb["rating"] and item["percentile_rank"] == fb["percentile_rank"]
    assert item["change_since_added"] == 0
    # The stored name and the alias are the same ticker: 409.
    for again in ("FB", "META"):
        resp = client.post(f"{L}/{wid}/tickers", json={"ticker": again}, headers=h)
        assert_error(resp, 409, "conflict")
    bad = client.post(f"{L}/{wid}/tickers", json={"ticker": "NOT A TICKER"}, headers=h)
    [field] = assert_error(bad, 422, "invalid_input")["details"]["fields"]
    assert field["field"] == "ticker" and field["rule"] == "string_pattern_mismatch"
    err = assert_error(
        client.post(f"{L}/{wid}/tickers", json={"ticker": "TSM"}, headers=h), 422, "invalid_input"
    )
    assert err["details"] == {
        "field": "ticker",
        "rule": "a ticker the price store holds",
        "ticker": "TSM",
    }
    # Removed by its alias too; a ticker not in the list is 404.
    assert client.delete(f"{L}/{wid}/tickers/META", headers=h).status_code == 204
    assert client.get(f"{L}/{wid}", headers=h).json()["items"] == []
    assert_error(client.delete(f"{L}/{wid}/tickers/FB", headers=h), 404, "not_found")


def test_change_since_added_uses_the_stored_score(
    client: TestClient, h: dict[str, str], sample_db_url: str
) -> None:
    """A score stored at add time (here written as if added earlier) is compared with now."""
    from sqlalchemy import update

    from backend.db.models import WatchlistItem

    wid = create(client, h)
    assert client.post(f"{L}/{wid}/tickers", json={"ticker": "ORCL"}, headers=h).status_code == 201
    engine = client.app.state.store.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(
            update(WatchlistItem)
            .where(WatchlistItem.watchlist_id == wid)
            .values(added_score=71.0, added_score_date=dt.date(2021, 3, 23))
        )
    (item,) = client.get(f"{L}/{wid}", headers=h).json()["items"]
    orcl = momentum(client, "ORCL")
    assert orcl is not None
    assert item["added_score"] == 71.0 and item["added_score_date"] == "2021-03-23"
    assert item["change_since_added"] == pytest.approx(orcl["overall_momentum_score"] - 71.0)


def test_fill_from_a_category(api: Api, client: TestClient, h: dict[str, str]) -> None:
    wid = create(client, h)
    cat = next(
        c
        for c in client.get("/api/v1/categories").json()["categories"]
        if c["slug"] == "data-center-infrastructure"
    )
    resp = client.post(f"{L}/{wid}/fill", params={"category": cat["slug"]}, headers=h)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    model = {x["ticker"] for x in client.get("/api/v1/portfolio/analysis").json()["analysis"][
        "holdings"]}  # fmt: skip
    expected = [t for t in cat["tickers"] if t not in model and momentum(client, t) is not None]
    assert body["added"] == expected
    reasons = {s["ticker"]: s["reason"] for s in body["skipped"]}
    assert set(reasons) | set(expected) == set(cat["tickers"])
    assert all(reasons[t] == "held in the portfolio" for t in model & set(cat["tickers"]))
    assert [i["ticker"] for i in body["watchlist"]["items"]] == expected
    # Filling again adds nothing: all already listed.
    again = client.post(f"{L}/{wid}/fill", params={"category": cat["slug"]}, headers=h).json()
    assert again["added"] == []
    # With a portfolio of yours: what it holds is skipped.
    pid = api.portfolio(h)
    wid2 = create(client, h, "mine")
    for tx in (
        {"date": "2020-01-02", "type": "DEPOSIT", "quantity": 10000},
        {"date": "2020-01-03", "type": "BUY", "ticker": "AMT", "quantity": 1, "price": 200},
    ):
        assert api.add(h, pid, **tx).status_code == 201
    mine = client.post(
        f"{L}/{wid2}/fill", params={"category": cat["slug"], "portfolio_id": pid}, headers=h
    ).json()
    assert "AMT" not in mine["added"] and "DLR" in mine["added"]
    assert_error(
        client.post(f"{L}/{wid2}/fill", params={"category": "nope"}, headers=h), 404, "not_found"
    )


def test_fill_past_the_size_limit_adds_nothing(client: TestClient, h: dict[str, str]) -> None:
    wid = create(client, h)
    for t in ("AAPL", "MSFT", "XOM", "JPM", "KO"):
        assert client.post(f"{L}/{wid}/tickers", json={"ticker": t}, headers=h).status_code == 201
    resp = client.post(f"{L}/{wid}/fill", params={"category": "large-cap-anchors"}, headers=h)
    err = assert_error(resp, 422, "invalid_input")
    assert err["details"]["rule"] == "at most WATCHLIST_MAX_TICKERS tickers"
    assert err["details"]["field"] == "category"
    assert len(client.get(f"{L}/{wid}", headers=h).json()["items"]) == 5
    assert client.post(f"{L}/{wid}/tickers", json={"ticker": "PG"}, headers=h).status_code == 201
    full = client.post(f"{L}/{wid}/tickers", json={"ticker": "PEP"}, headers=h)
    assert assert_error(full, 422, "invalid_input")["details"]["field"] == "ticker"


def test_another_users_watchlist_is_404_and_untouched(api: Api, client: TestClient) -> None:
    owner, other = api.user(), api.user()
    wid = create(client, owner["headers"])
    client.post(f"{L}/{wid}/tickers", json={"ticker": "AAPL"}, headers=owner["headers"])
    oh = other["headers"]
    for method, url, kw in (
        ("GET", f"{L}/{wid}", {}),
        ("PATCH", f"{L}/{wid}", {"json": {"name": "mine"}}),
        ("DELETE", f"{L}/{wid}", {}),
        ("POST", f"{L}/{wid}/tickers", {"json": {"ticker": "MSFT"}}),
        ("DELETE", f"{L}/{wid}/tickers/AAPL", {}),
        ("POST", f"{L}/{wid}/fill", {"params": {"category": "large-cap-anchors"}}),
    ):
        assert_error(client.request(method, url, headers=oh, **kw), 404, "not_found")
        assert_error(client.request(method, url, **kw), 401, "unauthorized")
    assert client.get(L, headers=oh).json() == []
    # Names are unique per user: the other user may use the same one.
    assert client.post(L, json={"name": "Tech"}, headers=oh).status_code == 201
    kept = client.get(f"{L}/{wid}", headers=owner["headers"]).json()
    assert kept["name"] == "Tech" and [i["ticker"] for i in kept["items"]] == ["AAPL"]


def test_watchlist_tickers_for_other_modules(api: Api, client: TestClient) -> None:
    from sqlalchemy.orm import Session

    from backend.errors import NotFound
    from backend.portfolios.watchlists import watchlist_tickers

    owner, other = api.user(), api.user()
    wid = create(client, owner["headers"])
    for t in ("MSFT", "META"):
        client.post(f"{L}/{wid}/tickers", json={"ticker": t}, headers=owner["headers"])
    engine = client.app.state.store.engine  # type: ignore[attr-defined]
    with Session(engine) as s:
        assert watchlist_tickers(s, owner["id"], wid) == ["MSFT", "FB"]
        with pytest.raises(NotFound):
            watchlist_tickers(s, other["id"], wid)


def test_a_candidate_without_a_score_20_closes_earlier_says_why(
    sample_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """NEWCO has the last 70 closes of AAPL: scored now (the model needs 64), not 20 closes
    earlier (50 closes then): its change is null with the reason, never 0."""
    from backend.db.engine import make_engine
    from backend.market_data.providers.csv_file import read_price_file
    from backend.market_data.sample import SAMPLE_PRICES
    from backend.market_data.store import PriceStore
    from tests.support.portfolio_app import ADMIN

    url = copy_sqlite(sample_db_url, tmp_path_factory.mktemp("newco"))
    frame = read_price_file(SAMPLE_PRICES)
    newco = frame[frame["ticker"] == "AAPL"].sort_values("date").tail(70).assign(ticker="NEWCO")
    engine = make_engine(url)
    PriceStore(engine).upsert_bars(newco.reset_index(drop=True), source="test")
    engine.dispose()
    with TestClient(create_app(portfolio_settings(url))) as c:
        slug = "specialized-materials-etfs"
        put = c.put(f"/api/v1/categories/{slug}", json={"tickers": ["NEWCO"]}, headers=ADMIN)
        assert put.status_code == 200, put.text
        body = c.get(W, params={"min_score": 0}).json()
        cat = next(x for x in body["categories"] if x["slug"] == slug)
        (cand,) = cat["candidates"]
        now = momentum(c, "NEWCO")
        assert now is not None and cand["score"] == now["overall_momentum_score"]
        dates = [p["date"] for p in c.get("/api/v1/prices/NEWCO").json()["prices"]]
        assert cand["score_20d_earlier_date"] == dates[-21]
        assert momentum(c, "NEWCO", as_of=dates[-21]) is None  # 50 closes then
        assert cand["score_20d_earlier"] is None and cand["score_change_20d"] is None
        assert "no score on" in cand["change_note"] and "64 closes" in cand["change_note"]
        assert "test" in body["data_sources"]
