"""GET /api/v1/research/strategy and `python -m backend.cli strategy` over the shipped sample.

The answer is checked against the sample file read independently with pandas: the trades it
lists are replayed day by day with the file's closes, dividends and splits, and every day's
value must be cash + Σ shares × close; the figures are recomputed from the value series; SPY's
series from its adjusted closes. No look-ahead: a store whose prices after a date are changed
gives the same trades and values up to that date.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from backend import cli
from backend.config import get_settings
from backend.db.engine import make_engine
from backend.main import create_app
from backend.market_data.bars import BAR_COLUMNS
from backend.market_data.ingest import read_price_file
from backend.market_data.sample import SAMPLE_PRICES
from backend.market_data.store import PriceStore
from tests.conftest import make_settings, wait_until_ready
from tests.support.portfolio_app import assert_error, copy_sqlite

pytestmark = [pytest.mark.api, pytest.mark.database]

URL = "/api/v1/research/strategy"


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    raw = pd.read_csv(SAMPLE_PRICES, parse_dates=["date"])
    raw["ticker"] = raw["ticker"].replace({"FB": "META"})  # the model names today's ticker
    return raw


def wide(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    return rows.pivot(index="date", columns="ticker", values=column).astype(np.float64)


def replay(body: dict[str, Any], rows: pd.DataFrame) -> pd.DataFrame:
    """Value and cash per day from the answer's trades and the file's bars alone."""
    close, div, split = wide(rows, "close"), wide(rows, "dividend"), wide(rows, "split")
    filled = close.ffill()
    trades = {r["date"]: r["trades"] for r in body["rebalances"]}
    shares: dict[str, float] = {}
    cash = body["cash"]
    out = []
    for point in body["series"]:
        day = pd.Timestamp(point["date"])
        for t in list(shares):
            k = split.at[day, t] if day in split.index else math.nan
            if math.isfinite(k) and k > 0 and k != 1.0:
                whole = math.floor(shares[t] * k + 1e-9)
                cash += (shares[t] * k - whole) * close.at[day, t]
                shares[t] = whole
            d = div.at[day, t] if day in div.index else math.nan
            if math.isfinite(d) and d > 0:
                cash += shares[t] * d
        for tr in trades.get(point["date"], []):
            price = close.at[day, tr["ticker"]]
            assert tr["price"] == pytest.approx(price, rel=1e-12)
            assert tr["amount"] == pytest.approx(tr["shares"] * price, rel=1e-12)
            assert tr["cost"] == pytest.approx(tr["amount"] * body["cost_bps"] / 1e4, rel=1e-9)
            sign = 1 if tr["side"] == "buy" else -1
            shares[tr["ticker"]] = shares.get(tr["ticker"], 0) + sign * tr["shares"]
            cash -= sign * tr["amount"] + tr["cost"]
        held = sum(n * filled.at[day, t] for t, n in shares.items() if n)
        out.append((day, cash + held, cash))
    return pd.DataFrame(out, columns=["date", "value", "cash"]).set_index("date")


def test_values_are_cash_plus_shares_times_close_every_day(
    sample_app_client: TestClient, rows: pd.DataFrame
) -> None:
    resp = sample_app_client.get(URL, params={"cost_bps": 10, "min_trade": 100})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["rebalance"] == "monthly" and body["cash"] == 100_000.0
    assert body["first_day"] == "2019-04-01" and body["last_day"] == "2021-04-21"
    assert body["trading_days"] == len(body["series"]) == 519
    months = [r["date"][:7] for r in body["rebalances"]]
    assert len(months) == len(set(months)) == 25  # the first trading day of each month
    assert sum(len(r["trades"]) for r in body["rebalances"]) > 40
    assert body["dividends_received"] > 0 and body["costs_paid"] > 0
    mine = replay(body, rows)
    series = pd.DataFrame(body["series"]).set_index(
        pd.to_datetime([p["date"] for p in body["series"]])
    )
    assert np.allclose(series["value"], mine["value"], rtol=1e-9, atol=1e-6)
    assert np.allclose(series["cash"], mine["cash"], rtol=1e-9, atol=1e-6)
    assert (series["cash"] >= 0).all()
    assert body["costs_paid"] == pytest.approx(
        sum(t["cost"] for r in body["rebalances"] for t in r["trades"])
    )


def test_figures_recomputed_from_the_series(
    sample_app_client: TestClient, rows: pd.DataFrame
) -> None:
    body = sample_app_client.get(URL, params={"risk_free": 0.02, "start": "2019-06-01"}).json()
    v = pd.Series(
        [p["value"] for p in body["series"]],
        index=pd.to_datetime([p["date"] for p in body["series"]]),
    )
    cash = body["cash"]
    r = v / pd.concat([pd.Series([cash]), v.iloc[:-1]]).to_numpy() - 1
    s = body["strategy"]
    assert s["twr"] == pytest.approx(v.iloc[-1] / cash - 1, rel=1e-12)
    years = (v.index[-1] - v.index[0]).days / 365.25
    assert s["years"] == pytest.approx(years)
    assert s["cagr"] == pytest.approx((v.iloc[-1] / cash) ** (1 / years) - 1, rel=1e-9)
    assert s["volatility"] == pytest.approx(r.std(ddof=1) * math.sqrt(252), rel=1e-9)
    rf = 1.02 ** (1 / 252) - 1
    assert s["sharpe"] == pytest.approx((r - rf).mean() / r.std(ddof=1) * math.sqrt(252), rel=1e-9)
    dd = v / v.cummax() - 1
    assert s["max_drawdown"] == pytest.approx(dd.min(), rel=1e-12)
    trough = dd.idxmin()
    assert s["drawdown_trough"] == str(trough.date())
    assert s["drawdown_peak"] == str(v[:trough].idxmax().date())
    assert [p["drawdown"] for p in body["series"]] == pytest.approx(dd.tolist(), abs=1e-12)
    # SPY: its adjusted closes scaled to the starting cash on the same days.
    spy = wide(rows, "adj_close")["SPY"].reindex(v.index)
    bench = spy / spy.iloc[0] * cash
    assert [p["benchmark_value"] for p in body["series"]] == pytest.approx(bench.tolist())
    assert body["benchmark"] == "SPY"
    assert body["benchmark_metrics"]["twr"] == pytest.approx(bench.iloc[-1] / cash - 1)


def test_caveats_and_members_left_out(sample_app_client: TestClient) -> None:
    body = sample_app_client.get(URL, params={"rebalance": "quarterly"}).json()
    left = {x["ticker"]: x["reason"] for x in body["left_out"]}
    assert left["ASML"] == "no stored prices" and "NVDA" not in left and "META" not in left
    text = " ".join(body["caveats"])
    assert "survivorship" in text and "ASML (no stored prices)" in text
    assert "constituents of April 2021" in text
    assert body["data_sources"] == ["sample"] and body["data_version"] >= 1
    months = [r["date"][:7] for r in body["rebalances"]]
    assert len(months) == len(set(months)) == 9  # 2019-04 .. 2021-04, one per quarter
    assert {m[5:] for m in months} == {"01", "04", "07", "10"}


@pytest.mark.parametrize(
    ("query", "field", "rule"),
    [
        ({"start": "2021-01-04", "end": "2020-01-02"}, "start", "start must not be after end"),
        ({"cash": 100, "min_trade": 200}, "min_trade", "from 0 to the cash"),
    ],
)
def test_rules_beyond_the_schema(
    sample_app_client: TestClient, query: dict[str, Any], field: str, rule: str
) -> None:
    err = assert_error(sample_app_client.get(URL, params=query), 422, "invalid_input")
    assert err["details"] == {"field": field, "rule": rule}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"rebalance": "weekly"}, "rebalance"),
        ({"cash": 0}, "cash"),
        ({"cash": "nan"}, "cash"),
        ({"cost_bps": -1}, "cost_bps"),
        ({"cost_bps": 1001}, "cost_bps"),
        ({"risk_free": 2}, "risk_free"),
        ({"min_trade": -5}, "min_trade"),
        ({"start": "2020-13-01"}, "start"),
    ],
)
def test_malformed_parameters_name_the_field(
    sample_app_client: TestClient, query: dict[str, Any], field: str
) -> None:
    err = assert_error(sample_app_client.get(URL, params=query), 422, "invalid_input")
    [bad] = err["details"]["fields"]
    assert bad["field"] == field and bad["rule"]


def test_a_window_without_closes_is_insufficient_history(sample_app_client: TestClient) -> None:
    resp = sample_app_client.get(URL, params={"start": "2010-01-01", "end": "2011-01-01"})
    err = assert_error(resp, 422, "insufficient_history")
    assert err["details"]["rule"] == "a member with a close in the window"


def test_a_repeated_run_is_answered_from_the_cache(sample_app_client: TestClient) -> None:
    service = sample_app_client.app.state.strategy  # type: ignore[attr-defined]
    query = {"start": "2020-02-03", "cost_bps": 3}
    first = sample_app_client.get(URL, params=query).json()
    cached = len(service.inputs().results)
    assert sample_app_client.get(URL, params=query).json() == first
    assert len(service.inputs().results) == cached


# ------------------------------------------------------------------------------ no look-ahead

SHIFT_AFTER = pd.Timestamp("2020-10-30")


@pytest.fixture(scope="module")
def shifted_client(
    sample_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """The sample with every price after SHIFT_AFTER multiplied by a factor per ticker."""
    url = copy_sqlite(sample_db_url, tmp_path_factory.mktemp("shifted"))
    bars = read_price_file(SAMPLE_PRICES)
    later = bars[pd.to_datetime(bars["date"]) > SHIFT_AFTER].copy()
    rng = np.random.default_rng(13)
    factor = {t: rng.uniform(0.5, 2.0) for t in sorted(later["ticker"].unique())}
    f = later["ticker"].map(factor)
    for col in ("open", "high", "low", "close", "adj_close"):
        later[col] = later[col] * f
    engine = make_engine(url)
    PriceStore(engine).upsert_bars(later[BAR_COLUMNS], source="sample")
    engine.dispose()
    with TestClient(create_app(make_settings(url))) as c:
        wait_until_ready(c)
        yield c


def test_prices_after_a_date_do_not_change_what_happened_before_it(
    sample_app_client: TestClient, shifted_client: TestClient
) -> None:
    query = {"cost_bps": 5}
    real = sample_app_client.get(URL, params=query).json()
    moved = shifted_client.get(URL, params=query).json()
    cut = str(SHIFT_AFTER.date())
    before = [r for r in real["rebalances"] if r["date"] <= cut]
    assert len(before) == 19 and before == [r for r in moved["rebalances"] if r["date"] <= cut]
    assert [p for p in real["series"] if p["date"] <= cut] == [
        p for p in moved["series"] if p["date"] <= cut
    ]
    # ... and the shift did change what came after (the test can fail).
    assert real["rebalances"][-1]["trades"] != moved["rebalances"][-1]["trades"]
    assert real["strategy"]["end_value"] != pytest.approx(moved["strategy"]["end_value"])


# ------------------------------------------------------------------------------ the CLI

runner = CliRunner()


@pytest.fixture
def sample_env(sample_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", sample_db_url)
    monkeypatch.setenv("DATA_PROVIDER", "none")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cli_json_is_the_api_answer(sample_env: None, sample_app_client: TestClient) -> None:
    args = ["--start", "2020-01-01", "--rebalance", "quarterly", "--cost-bps", "10"]
    result = runner.invoke(cli.app, ["strategy", *args, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output[result.output.index("{") :])
    api = sample_app_client.get(
        URL, params={"start": "2020-01-01", "rebalance": "quarterly", "cost_bps": 10}
    ).json()
    assert body == api


def test_cli_prints_the_figures(sample_env: None) -> None:
    result = runner.invoke(cli.app, ["strategy", "--start", "2020-06-01"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for part in ("TWR", "CAGR", "Sharpe", "max drawdown", "SPY", "rebalances", "survivorship"):
        assert part in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rebalance", "weekly"], "rebalance 'weekly' is invalid: one of monthly, quarterly"),
        (["--start", "2021-13-01"], "--start '2021-13-01' is not a date"),
        (["--cash", "100", "--min-trade", "500"], "min_trade 500.0 is invalid"),
    ],
)
def test_cli_refuses_bad_input(sample_env: None, args: list[str], message: str) -> None:
    result = runner.invoke(cli.app, ["strategy", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
