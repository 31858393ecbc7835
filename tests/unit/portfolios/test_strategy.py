"""The strategy backtest of the model rule: a hand-worked run, no look-ahead, the value identity,
splits and dividends on real data, and a plain reference implementation on the shipped sample."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pytest

from backend.market_data.sample import SAMPLE_PRICES
from backend.momentum.engine import score_panel
from backend.portfolios.analysis import CategoryTarget, category_targets
from backend.portfolios.strategy import (
    AsOfScores,
    StrategyBars,
    StrategyDataError,
    StrategyParameterError,
    StrategyParams,
    StrategyResult,
    rebalance_mask,
    run_strategy,
    series_metrics,
)
from backend.reference.seed import SEED_CATEGORIES
from tests.support.reference_strategy import reference_strategy

pytestmark = pytest.mark.unit

D = pd.Timestamp


# --------------------------------------------------------------------------- a hand-worked run

HAND_DAYS = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-02-01", "2024-02-02"])
HAND_CATS = [
    CategoryTarget("A", 0.6, frozenset({"X", "Y"})),
    CategoryTarget("B", 0.4, frozenset({"Z"})),
]


def hand_bars() -> StrategyBars:
    close = pd.DataFrame(
        {
            "X": [50.0, 55.0, 60.0, 31.0],
            "Y": [20.0, 20.0, 25.0, 24.0],
            "Z": [40.0, 38.0, 30.0, 33.0],
        },
        index=HAND_DAYS,
    )
    dividend = pd.DataFrame(0.0, index=HAND_DAYS, columns=close.columns)
    dividend.loc["2024-01-03", "Z"] = 0.5
    split = pd.DataFrame(1.0, index=HAND_DAYS, columns=close.columns)
    split.loc["2024-02-02", "X"] = 2.0
    return StrategyBars(close, dividend, split)


def hand_scores() -> pd.DataFrame:
    return pd.DataFrame(
        {"X": [80.0, 80.0, 60.0, 60.0], "Y": [70.0, 70.0, 90.0, 90.0], "Z": [60, 60, 50, 50.0]},
        index=HAND_DAYS,
    )


def test_hand_worked_two_rebalances() -> None:
    """cash 10,000, 10 bps (r = 0.001), min_trade 0, monthly: rebalances on 01-02 and 02-01.

    01-02 (first day). V = 10,000; T_A = 6,000, T_B = 4,000; both under, deficit 10,000 = cash,
      scale 1. A buys its best score X (80 > Y 70): ⌊6000/50⌋ = 120 = 6,000. B buys Z:
      ⌊4000/40⌋ = 100 = 4,000. Plan cash after 0 < costs 10: trim the lowest score first, Z (60):
      ⌈10 / (40·1.001)⌉ = 1 share -> 99 Z = 3,960; costs 0.001·9,960 = 9.96 ≤ cash 40.
      cash = 10,000 − 6,000 − 3,960 − 9.96 = 30.04. V = 30.04 + 120·50 + 99·40 = 9,990.04.
    01-03. Z pays 0.5 × 99 = 49.5 -> cash 79.54. V = 79.54 + 120·55 + 99·38 = 10,441.54.
    02-01. V = 120·60 + 99·30 + 79.54 = 10,249.54; T_A = 6,149.724, T_B = 4,099.816.
      A over by 1,050.276: sell X (its only holding; Y scores 90 now but the planner does not
      rotate inside a category) ⌊1050.276/60⌋ = 17 = 1,020. Cash 1,099.54; B under by
      1,129.816 -> budget 1,099.54: Z ⌊1099.54/30⌋ = 36 = 1,080; pass 2: 49.816 left to
      target but one Z (30) > cash 19.54. Costs 0.001·2,100 = 2.1 ≤ 19.54: no trim.
      cash = 79.54 + 1,020 − 1,080 − 2.1 = 17.44; X 103, Z 135.
      V = 17.44 + 103·60 + 135·30 = 10,247.44.
    02-02. X splits 2-for-1: 206 shares, no fraction. V = 17.44 + 206·31 + 135·33 = 10,858.44.
    TWR = 10,858.44 / 10,000 − 1 = 0.085844; costs 9.96 + 2.1 = 12.06; dividends 49.5;
    turnover (second rebalance only) = 2,100 / (2 · 10,249.54); drawdown from 10,441.54 (01-03)
    to 10,247.44 (02-01) = −0.0185891..., back above on 02-02."""
    bench = pd.Series([100.0, 101.0, 99.0, 102.0], index=HAND_DAYS)
    params = StrategyParams(cash=10_000.0, cost_bps=10.0, min_trade=0.0)
    res = run_strategy(hand_bars(), hand_scores(), HAND_CATS, params, benchmark=bench)

    first, second = res.rebalances
    assert first.date == D("2024-01-02") and second.date == D("2024-02-01")
    assert [(t.ticker, t.side, t.shares, t.price) for t in first.trades] == [
        ("X", "buy", 120, 50.0),
        ("Z", "buy", 99, 40.0),
    ]
    assert [(t.ticker, t.planned, t.executed) for t in first.trims] == [("Z", 100, 99)]
    assert first.costs == pytest.approx(9.96)
    assert [(t.ticker, t.side, t.shares) for t in second.trades] == [
        ("X", "sell", 17),
        ("Z", "buy", 36),
    ]
    assert second.trims == ()
    assert second.plan.total_value == pytest.approx(10_249.54)
    assert second.costs == pytest.approx(2.1)
    assert res.values.tolist() == pytest.approx([9990.04, 10441.54, 10247.44, 10858.44])
    assert res.cash.tolist() == pytest.approx([30.04, 79.54, 17.44, 17.44])
    assert res.positions.loc["2024-02-02"].to_dict() == {"X": 206.0, "Z": 135.0}
    assert [(s.ticker, s.shares_before, s.shares_after, s.cash_in_lieu) for s in res.splits] == [
        ("X", 103.0, 206.0, 0.0)
    ]
    assert [(e.ticker, e.shares, e.amount) for e in res.dividends] == [("Z", 99.0, 49.5)]
    assert res.costs_paid == pytest.approx(12.06)
    assert res.dividends_received == pytest.approx(49.5)
    assert res.turnover == pytest.approx(2100 / (2 * 10_249.54))
    m = res.metrics
    assert m.twr == pytest.approx(0.085844)
    assert m.years == pytest.approx(31 / 365.25)
    assert m.cagr == pytest.approx(1.085844 ** (365.25 / 31) - 1)
    assert m.max_drawdown == pytest.approx(10_247.44 / 10_441.54 - 1)
    assert (m.drawdown_peak, m.drawdown_trough) == (D("2024-01-03"), D("2024-02-01"))
    assert m.drawdown_recovered == D("2024-02-02")
    r = np.array([9990.04 / 10_000, 10441.54 / 9990.04, 10247.44 / 10441.54, 10858.44 / 10247.44])
    r -= 1.0
    assert res.returns.tolist() == pytest.approx(r.tolist())
    assert m.volatility == pytest.approx(r.std(ddof=1) * math.sqrt(252))
    assert m.sharpe == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(252))
    assert res.benchmark_values is not None and res.benchmark_metrics is not None
    assert res.benchmark_values.tolist() == pytest.approx([10_000, 10_100, 9_900, 10_200])
    assert res.benchmark_metrics.twr == pytest.approx(0.02)


def test_sharpe_takes_the_risk_free_rate_per_day() -> None:
    """r_f daily = 1.05^(1/252) − 1 is taken off every daily return before the mean."""
    values = pd.Series([101.0, 100.0, 103.0], index=HAND_DAYS[:3])
    r = np.array([0.01, 100 / 101 - 1, 0.03])
    rf = 1.05 ** (1 / 252) - 1
    m = series_metrics(values, 100.0, risk_free_rate=0.05)
    assert m.sharpe == pytest.approx((r - rf).mean() / r.std(ddof=1) * math.sqrt(252))


def test_cash_in_lieu_of_a_fraction_after_a_split() -> None:
    """One category, Z only, cash 4,000, no cost: ⌊4000/40.4⌋ = 99 shares (3,999.6), cash 0.4.
    A 3-for-2 split on day 2: 99 × 1.5 = 148.5 -> 148 shares and 0.5 × 27 = 13.5 paid in cash:
    cash 13.9, V = 13.9 + 148 × 27."""
    days = HAND_DAYS[:2]
    close = pd.DataFrame({"Z": [40.4, 27.0]}, index=days)
    bars = StrategyBars(
        close,
        pd.DataFrame({"Z": [0.0, 0.0]}, index=days),
        pd.DataFrame({"Z": [1.0, 1.5]}, index=days),
    )
    scores = pd.DataFrame({"Z": [50.0, 50.0]}, index=days)
    cats = [CategoryTarget("B", 1.0, frozenset({"Z"}))]
    res = run_strategy(bars, scores, cats, StrategyParams(cash=4_000.0))
    assert res.rebalances[0].trades[0].shares == 99
    (event,) = res.splits
    assert (event.shares_before, event.shares_after) == (99.0, 148.0)
    assert event.cash_in_lieu == pytest.approx(13.5)
    assert res.cash.tolist() == pytest.approx([0.4, 13.9])
    assert res.values.iloc[-1] == pytest.approx(13.9 + 148 * 27.0)
    # no close on the split's day: the fraction is kept (nothing to price it at), the day is
    # valued at the last close and listed
    no_close = StrategyBars(close.assign(Z=[40.4, np.nan]), bars.dividend, bars.split)
    res = run_strategy(no_close, scores, cats, StrategyParams(cash=4_000.0))
    assert (res.splits[0].shares_after, res.splits[0].cash_in_lieu) == (148.5, 0.0)
    assert [(m.ticker, m.filled_from) for m in res.missing_closes] == [("Z", days[0])]
    assert any("valued at the last close: Z" in c for c in res.caveats)


def test_rebalance_dates_are_the_first_trading_day_of_each_period() -> None:
    days = pd.DatetimeIndex(
        ["2024-01-15", "2024-01-31", "2024-02-01", "2024-03-28", "2024-04-02", "2024-04-03"]
    )
    assert rebalance_mask(days, "monthly").tolist() == [True, False, True, True, True, False]
    assert rebalance_mask(days, "quarterly").tolist() == [True, False, False, False, True, False]


def test_as_of_scores_answers_the_last_row_on_or_before_the_date() -> None:
    scores = AsOfScores(hand_scores())
    assert scores(D("2024-01-01")) == {}
    assert scores(D("2024-01-31")) == {"X": 80.0, "Y": 70.0, "Z": 60.0}
    assert scores(D("2024-02-01"))["Y"] == 90.0
    with_nan = AsOfScores(pd.DataFrame({"X": [np.nan]}, index=HAND_DAYS[:1]))
    assert with_nan(D("2024-01-02")) == {"X": None}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rebalance": "weekly"}, "rebalance"),
        ({"cash": 0.0}, "cash"),
        ({"cash": math.inf}, "cash"),
        ({"cost_bps": -1.0}, "cost_bps"),
        ({"cost_bps": math.nan}, "cost_bps"),
        ({"min_trade": 200_000.0}, "min_trade"),
        ({"risk_free_rate": 2.0}, "risk_free_rate"),
        ({"start": dt.date(2024, 2, 1), "end": dt.date(2024, 1, 1)}, "start"),
    ],
)
def test_bad_parameters_are_refused_with_the_field(changes: dict[str, object], field: str) -> None:
    params = StrategyParams(**changes)  # type: ignore[arg-type]
    with pytest.raises(StrategyParameterError) as err:
        run_strategy(hand_bars(), hand_scores(), HAND_CATS, params)
    assert err.value.field == field and err.value.rule


def test_no_member_with_a_close_in_the_window_is_an_error() -> None:
    params = StrategyParams(start=dt.date(2025, 1, 1))
    with pytest.raises(StrategyDataError, match="no member"):
        run_strategy(hand_bars(), hand_scores(), HAND_CATS, params)


def test_members_without_prices_are_left_out_and_named() -> None:
    cats = [*HAND_CATS, CategoryTarget("C", 0.0, frozenset({"NOPE"}))]
    res = run_strategy(hand_bars(), hand_scores(), cats, StrategyParams(cash=10_000.0))
    assert res.left_out == {"NOPE": "no stored prices"}
    assert any("NOPE (no stored prices)" in c for c in res.caveats)
    assert any(c.startswith("survivorship") for c in res.caveats)


def test_a_category_without_a_tradable_member_stays_in_cash_or_is_spread() -> None:
    """A 0.6 (X, Y), B 0.4 (W: no price at all). In cash: A buys 0.6 · 10,000 = 6,000 of X
    (120 @ 50), 4,000 stays cash. Spread: A's target becomes 1.0: ⌊10,000/50⌋ = 200 X."""
    cats = [HAND_CATS[0], CategoryTarget("B", 0.4, frozenset({"W"}))]
    held = run_strategy(hand_bars(), hand_scores(), cats, StrategyParams(cash=10_000.0))
    assert held.rebalances[0].untradable == ("B",)
    assert [(t.ticker, t.shares) for t in held.rebalances[0].trades] == [("X", 120)]
    assert any("B (2 of 2)" in c and "held in cash" in c for c in held.caveats)
    spread = run_strategy(
        hand_bars(),
        hand_scores(),
        cats,
        StrategyParams(cash=10_000.0, redistribute_unpriced=True),
    )
    assert spread.rebalances[0].targets == {"A": pytest.approx(1.0), "B": 0.0}
    assert [(t.ticker, t.shares) for t in spread.rebalances[0].trades] == [("X", 200)]


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def sample_rows() -> pd.DataFrame:
    """The shipped sample's bars of the model portfolio's members (FB as META) and SPY."""
    raw = pd.read_csv(SAMPLE_PRICES, parse_dates=["date"])
    raw["ticker"] = raw["ticker"].replace({"FB": "META"})
    members = {t for c in SEED_CATEGORIES for t in c.tickers}
    return raw[raw["ticker"].isin(members | {"SPY"})].reset_index(drop=True)


def wide(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    out = rows.pivot(index="date", columns="ticker", values=column)
    return out.rename_axis(index=None, columns=None).astype(np.float64)


def engine_scores(rows: pd.DataFrame) -> pd.DataFrame:
    adj = wide(rows, "adj_close")
    frames = score_panel(
        adj, wide(rows, "volume"), wide(rows, "split"), {t: "SPY" for t in adj.columns}
    )
    return frames.frame("overall")


MODEL = category_targets(SEED_CATEGORIES)
REAL = StrategyParams(
    start=dt.date(2019, 7, 1), end=dt.date(2021, 4, 21), cash=100_000.0, cost_bps=10.0,
    min_trade=100.0,
)  # fmt: skip


def run_on(rows: pd.DataFrame, params: StrategyParams = REAL) -> StrategyResult:
    stocks = rows[rows["ticker"] != "SPY"]
    return run_strategy(
        StrategyBars.from_long(stocks),
        engine_scores(rows),
        MODEL,
        params,
        benchmark=wide(rows, "adj_close")["SPY"],
    )


def check_identity(res: StrategyResult, close: pd.DataFrame) -> None:
    """V_t = cash_t + Σ shares × close (the last close when a held ticker has none that day),
    cash ≥ 0 and whole shares, on every day."""
    px = close.ffill().reindex(index=res.values.index, columns=res.positions.columns)
    held_value = (res.positions * px).sum(axis=1)
    assert np.allclose(res.values, res.cash + held_value, rtol=0, atol=1e-6)
    assert (res.cash >= 0).all()
    assert (res.positions == np.floor(res.positions)).all().all()


def test_value_identity_on_every_day_of_the_sample(sample_rows: pd.DataFrame) -> None:
    res = run_on(sample_rows)
    assert len(res.values) > 400 and len(res.rebalances) == 22
    assert sum(len(r.trades) for r in res.rebalances) > 20
    check_identity(res, wide(sample_rows, "close"))
    for params in (REAL, StrategyParams(cash=50_000.0, cost_bps=50.0, redistribute_unpriced=True)):
        check_identity(run_on(sample_rows, params), wide(sample_rows, "close"))


@pytest.mark.parametrize("redistribute", [False, True])
def test_same_run_as_the_plain_reference(sample_rows: pd.DataFrame, redistribute: bool) -> None:
    """The vectorised run against a day-by-day loop written from the rules (and, for its
    scores, the engine run on the history up to each rebalance only)."""
    params = StrategyParams(
        start=dt.date(2019, 9, 3),
        end=dt.date(2021, 4, 21),
        rebalance="quarterly" if redistribute else "monthly",
        cash=250_000.0,
        cost_bps=25.0,
        min_trade=500.0,
        redistribute_unpriced=redistribute,
    )
    cats = MODEL
    if redistribute:  # the reference knows no redistribution: hand it the tradable categories
        live = {"Large-Cap Anchors", "Data Center Infrastructure", "Critical Metals & Mining"}
        live |= {"AI Power/Energy Infrastructure"}
        total = sum(c.target for c in MODEL if c.name in live)
        cats = tuple(
            CategoryTarget(c.name, c.target / total if c.name in live else 0.0, c.tickers)
            for c in MODEL
        )
    res = run_on(sample_rows, params)
    adj, vol, spl = (wide(sample_rows, f) for f in ("adj_close", "volume", "split"))

    def truncated_scores(day: pd.Timestamp) -> Mapping[str, float | None]:
        upto = adj.index <= day
        frames = score_panel(
            adj[upto], vol[upto], spl[upto], {t: "SPY" for t in adj.columns}, rows=[-1]
        )
        row = frames.frame("overall").iloc[-1]
        return {str(t): (None if math.isnan(v) else float(v)) for t, v in row.items()}

    stocks = sample_rows[sample_rows["ticker"] != "SPY"]
    ref = reference_strategy(
        wide(stocks, "close"),
        wide(stocks, "dividend"),
        wide(stocks, "split"),
        truncated_scores,
        cats,
        D(params.start),
        D(params.end),
        params.rebalance,
        params.cash,
        params.cost_bps,
        params.min_trade,
    )
    ours = [(t.date, t.ticker, t.side, t.shares, t.price) for r in res.rebalances for t in r.trades]
    assert ours == ref.trades and len(ours) > 10
    assert np.allclose(res.values, ref.values, rtol=1e-12, atol=1e-6)
    assert np.allclose(res.cash, ref.cash, rtol=1e-12, atol=1e-6)


@pytest.mark.parametrize("cut", ["2019-12-02", "2020-06-01", "2020-10-01", "2021-02-01"])
def test_no_look_ahead_prices_after_a_rebalance_do_not_change_it(
    sample_rows: pd.DataFrame, cut: str
) -> None:
    """Every close (as traded and adjusted) after the rebalance date ``cut`` jumps by a factor
    of its own in [0.5, 1.5] and then follows a random walk of its own (seed 7); the scores are
    recomputed by the engine from the changed prices. The rebalances up to ``cut`` trade exactly
    the same and the values up to it are the same, while later rebalances differ (so the change
    reached the run). Scores read one day late would fail this (checked by hand)."""
    day = D(cut)
    rng = np.random.default_rng(7)
    shifted = sample_rows.copy()
    after = shifted["date"] > day
    for _, idx in shifted[after].groupby("ticker").groups.items():
        walk = rng.uniform(0.5, 1.5) * np.cumprod(1.0 + rng.normal(0.0, 0.03, len(idx)))
        for column in ("close", "adj_close"):
            shifted.loc[idx, column] = shifted.loc[idx, column].to_numpy() * walk
    base, moved = run_on(sample_rows), run_on(shifted)
    assert day in {r.date for r in base.rebalances}

    def trades(res: StrategyResult, before: bool) -> list[tuple[object, ...]]:
        return [
            (r.date, t.ticker, t.side, t.shares, t.price)
            for r in res.rebalances
            if (r.date <= day) == before
            for t in r.trades
        ]

    assert trades(base, True) == trades(moved, True) and trades(base, True)
    assert base.values.loc[:day].equals(moved.values.loc[:day])
    assert trades(base, False) != trades(moved, False)


def test_aapl_split_and_dividends_on_real_data(sample_rows: pd.DataFrame) -> None:
    """AAPL alone (target 1), 2020-08-03 .. 2020-11-30, quarterly, no cost: bought on 08-03 at
    435.75 (⌊100,000 / 435.75⌋ = 229 shares, cash 213.25); 08-07 pays 0.82 × 229 = 187.78 (cash
    401.03); the 4-for-1 split of 08-31 makes 916 shares; 10-01 (a rebalance) buys
    ⌊401.03 / 116.79⌋ = 3 more; 11-06 pays 0.205 × 919. Across the split the value moves with
    AAPL's adjusted close (an independent record of the split)."""
    aapl = sample_rows[sample_rows["ticker"] == "AAPL"]
    cats = [CategoryTarget("Solo", 1.0, frozenset({"AAPL"}))]
    scores = pd.DataFrame({"AAPL": 50.0}, index=pd.DatetimeIndex(aapl["date"]))
    params = StrategyParams(
        start=dt.date(2020, 8, 3), end=dt.date(2020, 11, 30), rebalance="quarterly"
    )
    res = run_strategy(StrategyBars.from_long(aapl), scores, cats, params)
    close = aapl.set_index("date")["close"]
    adj = aapl.set_index("date")["adj_close"]
    assert close[D("2020-08-03")] == 435.75
    first, second = res.rebalances
    assert (first.trades[0].shares, second.date) == (229, D("2020-10-01"))
    (split,) = res.splits
    assert (split.date, split.shares_before, split.shares_after) == (D("2020-08-31"), 229, 916)
    aug, nov = res.dividends
    assert (aug.date, aug.amount) == (D("2020-08-07"), pytest.approx(0.82 * 229))
    assert [(t.side, t.shares, t.price) for t in second.trades] == [("buy", 3, 116.79)]
    assert second.cash_before == pytest.approx(401.03)
    assert (nov.date, nov.shares, nov.amount) == (D("2020-11-06"), 919, pytest.approx(188.395))
    v0, v1 = res.values[D("2020-08-28")], res.values[D("2020-08-31")]
    cash = res.cash[D("2020-08-28")]
    assert v1 == pytest.approx(cash + 916 * 129.04)
    weight = (v0 - cash) / v0
    adj_return = adj[D("2020-08-31")] / adj[D("2020-08-28")] - 1
    assert v1 / v0 - 1 == pytest.approx(weight * adj_return, abs=1e-4)
    check_identity(res, wide(aapl, "close"))
