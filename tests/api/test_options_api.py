"""The options endpoints over the recorded GOOG Lean chains (seven days) and the recorded
Yahoo AAPL answer, imported as the CLI does: the 30-day ATM volatility re-derived by hand from
the answer's own term structure, the IV rank by hand from the history, 404s and the admin
snapshot route with a provider answering from the recorded Yahoo data."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.db.engine import make_engine
from backend.db.migrate import upgrade_to_head
from backend.main import create_app
from backend.options.importer import read_snapshot
from backend.options.store import OptionStore
from tests.conftest import make_settings
from tests.unit.options.data import GOOG_DAYS, GOOG_DIR, YAHOO_AAPL

pytestmark = [pytest.mark.api, pytest.mark.database]

TOKEN = "test-admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
RATE = 0.04
MIN_HISTORY = 5


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path_factory.mktemp('options-api') / 'store.db'}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    store = OptionStore(engine)
    store.write(
        read_snapshot(GOOG_DIR / f"{day:%Y%m%d}.csv", "lean", "GOOG", RATE) for day in GOOG_DAYS
    )
    store.write([read_snapshot(YAHOO_AAPL, "yahoo-json", None, RATE)])
    engine.dispose()
    settings = make_settings(
        url,
        admin_token=TOKEN,
        options_risk_free_rate=RATE,
        options_min_history=MIN_HISTORY,
        load_sample_on_empty=False,
    )
    with TestClient(create_app(settings)) as c:
        yield c


def test_the_summary_of_the_last_goog_day(client: TestClient) -> None:
    resp = client.get("/api/v1/options/goog")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["ticker"] == "GOOG" and body["snapshot_day"] == "2015-12-31"
    assert body["data_source"] == "lean:20151231.csv"
    assert body["risk_free_rate"] == RATE
    assert body["snapshot_time"].startswith("2015-12-31T21:00:00")  # 16:00 New York
    term = body["term_structure"]
    assert term and all(7 <= p["days"] <= 365 for p in term)
    # The 30-day volatility by hand, in total variance between the two expiries around 30 days.
    thirty = body["atm_iv_30d"]
    near = next(p for p in term if p["expiry"] == thirty["near_expiry"])
    far = next(p for p in term if p["expiry"] == thirty["far_expiry"])
    assert near["days"] <= 30 <= far["days"]
    w1, w2 = near["atm_iv"] ** 2 * near["days"], far["atm_iv"] ** 2 * far["days"]
    by_hand = math.sqrt((w1 + (w2 - w1) * (30 - near["days"]) / (far["days"] - near["days"])) / 30)
    assert thirty["iv"] == pytest.approx(by_hand, rel=1e-12)
    print(f"\nGOOG 2015-12-31 30-day ATM IV {thirty['iv']:.4f} (by hand {by_hand:.4f})")


def test_the_iv_rank_by_hand_from_the_history(client: TestClient) -> None:
    history = client.get("/api/v1/options/GOOG/history").json()
    assert history["count"] == 7
    values = [p["atm_iv_30d"] for p in history["history"]]
    assert values[0] is None and history["history"][0]["reason"]  # the trimmed first day
    known = [v for v in values if v is not None]
    body = client.get("/api/v1/options/GOOG").json()
    rank = body["iv_rank"]
    assert rank["history"] == len(known) == 6 and rank["min_history"] == MIN_HISTORY
    assert rank["history_source"] == "snapshots"
    today, low, high = known[-1], min(known), max(known)
    assert rank["iv_rank"] == pytest.approx(100 * (today - low) / (high - low))
    below = sum(v < today for v in known[:-1])
    assert rank["iv_percentile"] == pytest.approx(100 * below / (len(known) - 1))
    signal = body["signal"]
    expected = (
        "sell_premium"
        if rank["iv_rank"] >= 50
        else "cheap_hedge" if rank["iv_rank"] < 30 else "neutral"
    )
    assert signal["signal"] == expected and signal["iv_rank"] == rank["iv_rank"]


def test_ranks_of_a_list_say_what_each_summary_says(client: TestClient) -> None:
    """GET /options?tickers= (the leaderboard's column): per ticker the summary's IV rank of
    its latest snapshot, or none with the reason; in the order asked, each once."""
    resp = client.get("/api/v1/options", params={"tickers": "goog, MSFT,GOOG"})
    assert resp.status_code == 200, resp.text
    ranks = resp.json()["ranks"]
    assert [r["ticker"] for r in ranks] == ["GOOG", "MSFT"]
    goog, msft = ranks
    summary = client.get("/api/v1/options/GOOG").json()
    assert goog["snapshot_day"] == summary["snapshot_day"]
    assert goog["iv_rank"] == summary["iv_rank"] and goog["reason"] is None
    assert goog["iv_rank"]["iv_rank"] is not None
    assert msft == {
        "ticker": "MSFT",
        "snapshot_day": None,
        "iv_rank": None,
        "reason": "no options snapshot stored for MSFT",
    }


@pytest.mark.parametrize(
    "tickers", ["", "GOOG,bad$", ",".join(f"T{i}" for i in range(101)), "x" * 2001]
)
def test_ranks_refuse_a_bad_list(client: TestClient, tickers: str) -> None:
    resp = client.get("/api/v1/options", params={"tickers": tickers})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "invalid_input"


def test_too_short_a_history_has_no_rank_but_its_count(client: TestClient) -> None:
    body = client.get("/api/v1/options/GOOG", params={"as_of": "2015-12-28"}).json()
    assert body["snapshot_day"] == "2015-12-28"
    rank = body["iv_rank"]
    assert rank["history"] == 3 and rank["iv_rank"] is None and rank["iv_percentile"] is None
    assert "at least 5" in rank["reason"]
    assert body["signal"]["signal"] is None and "no IV rank" in body["signal"]["reason"]


def test_the_chain_of_one_expiry(client: TestClient) -> None:
    resp = client.get("/api/v1/options/AAPL/chain", params={"expiry": "2016-09-09"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["count"] == 76 and body["spot"] == 107.68
    assert body["expiries"] == ["2016-09-09"]
    for row in body["contracts"]:
        if row["iv"] is None:
            assert row["iv_reason"]
        if row["iv"] is not None and row["vendor_iv"] is not None:
            assert row["iv_difference"] == pytest.approx(row["iv"] - row["vendor_iv"])
        if row["price_source"] == "mid":
            assert row["price"] == pytest.approx((row["bid"] + row["ask"]) / 2)
    calls = [r for r in body["contracts"] if r["right"] == "C" and r["delta"] is not None]
    assert calls and all(0 <= r["delta"] <= 1 for r in calls)
    # The AAPL answer has earnings on 2016-10-25: more than 7 days away, no override.
    summary = client.get("/api/v1/options/AAPL").json()
    assert summary["signal"]["earnings_date"] == "2016-10-25"
    assert summary["signal"]["signal"] != "earnings_soon"
    assert summary["atm_iv_30d"]["iv"] is None and summary["atm_iv_30d"]["reason"]


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/api/v1/options/MSFT", {}, 404),
        ("/api/v1/options/GOOG", {"as_of": "2015-01-01"}, 404),
        ("/api/v1/options/AAPL/chain", {"expiry": "2016-09-16"}, 404),
        ("/api/v1/options/MSFT/history", {}, 404),
        ("/api/v1/options/GOOG/history", {"start": "2015-12-31", "end": "2015-12-01"}, 422),
        ("/api/v1/options/GOOG", {"as_of": "2999-01-01"}, 422),
        ("/api/v1/options/GO%20OG", {}, 422),
    ],
)
def test_errors(client: TestClient, path: str, params: dict[str, str], status: int) -> None:
    resp = client.get(path, params=params)
    assert resp.status_code == status, resp.text
    assert set(resp.json()["error"]) == {"code", "message", "details"}


def test_the_snapshot_route_needs_the_admin_token(client: TestClient) -> None:
    assert client.post("/api/v1/options/snapshot?tickers=AAPL").status_code == 401
    resp = client.post("/api/v1/options/snapshot?tickers=AAPL", headers=ADMIN)
    # DATA_PROVIDER=none: no live provider, said as 503.
    assert resp.status_code == 503, resp.text
    bad = client.post("/api/v1/options/snapshot?tickers=A%20B", headers=ADMIN)
    assert bad.status_code == 422


def test_history_in_a_range(client: TestClient, tmp_path: Path) -> None:
    body = client.get(
        "/api/v1/options/GOOG/history", params={"start": "2015-12-24", "end": "2015-12-29"}
    ).json()
    assert [p["date"] for p in body["history"]] == ["2015-12-24", "2015-12-28", "2015-12-29"]


def test_a_snapshot_taken_now_through_the_provider_is_stored(client: TestClient) -> None:
    from tests.unit.options.test_provider import provider

    app: Any = client.app
    service = app.state.options
    service.provider = provider()
    try:
        resp = client.post("/api/v1/options/snapshot?tickers=aapl,msft-x", headers=ADMIN)
    finally:
        service.provider = None
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["requested"] == 2
    # The recorded answer is AAPL's whatever is asked: refused for MSFT-X, said why.
    assert [t["ticker"] for t in body["taken"]] == ["AAPL"]
    assert body["taken"][0]["contracts"] == 76
    assert [f["ticker"] for f in body["failed"]] == ["MSFT-X"]
    assert "the answer is AAPL's" in body["failed"][0]["reason"]
    summary = client.get("/api/v1/options/AAPL").json()
    assert summary["data_source"] == "yfinance"


def test_spy_ranks_against_vix_when_the_store_holds_it(tmp_path: Path) -> None:
    """SPY's IV history is the VIX (a price series, ^VIX, divided by 100). The chain stored
    under SPY here is GOOG's of 2015-12-31 relabelled: only its day matters to this test, the
    rank is the VIX's, computed by hand over the 252 closes up to that day."""
    import pandas as pd

    from backend.market_data.ingest import import_price_file
    from backend.market_data.store import PriceStore
    from tests.unit.options.data import VIX

    url = f"sqlite:///{tmp_path / 'spy.db'}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    import_price_file(PriceStore(engine), VIX, ticker="^VIX")
    OptionStore(engine).write([read_snapshot(GOOG_DIR / "20151231.csv", "lean", "SPY", RATE)])
    engine.dispose()
    vix = pd.read_csv(VIX, parse_dates=["DATE"]).set_index("DATE")["CLOSE"] / 100
    window = vix[vix.index <= "2015-12-31"].iloc[-252:]
    today = window.iloc[-1]
    rank = 100 * (today - window.min()) / (window.max() - window.min())
    percentile = 100 * (window.iloc[:-1] < today).sum() / 251
    settings = make_settings(url, options_risk_free_rate=RATE)
    with TestClient(create_app(settings)) as c:
        body = c.get("/api/v1/options/SPY").json()
    got = body["iv_rank"]
    assert got["history_source"] == "^VIX" and got["history"] == 252
    assert got["iv"] == pytest.approx(today)
    assert got["iv_rank"] == pytest.approx(rank) and got["iv_percentile"] == pytest.approx(
        percentile
    )
    print(f"\nSPY (VIX) on 2015-12-31: IV rank {rank:.1f}, percentile {percentile:.1f}")
