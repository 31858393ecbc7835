"""portfolio_performance: TWR with a mid-period deposit, drawdown, volatility, benchmark and
missing prices, against hand-worked numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from backend.portfolios.performance import (
    FLOW_CONVENTION,
    MissingPrice,
    annualised_volatility,
    drawdown_series,
    portfolio_performance,
    time_weighted_returns,
)

pytestmark = pytest.mark.unit

# Thu 4, Fri 5, Mon 8, Tue 9, Wed 10 January 2024
D = pd.DatetimeIndex(["2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09", "2024-01-10"])


def worked_inputs() -> tuple[pd.DataFrame, pd.Series, pd.Series, pd.DataFrame, pd.Series]:
    """Hand-worked ledger:

    day  close  shares cash  flow   V = shares·close + cash   r = (V − F) / V_prev − 1
    d0   100    10     0     1000   1000                      (start: the deposit is the base)
    d1   110    10     0        0   1100                      1100/1000 − 1        = +0.10
    d2    99    20     0      990   1980 (deposit 990, buy 10 @ 99)
                                                              (1980 − 990)/1100 − 1 = −0.10
    d3   108.9  20     0        0   2178                      2178/1980 − 1        = +0.10
    d4    98.01 20     0        0   1960.2                    1960.2/2178 − 1      = −0.10

    TWR = 1.1 · 0.9 · 1.1 · 0.9 − 1 = 0.9801 − 1 = −0.0199, while the simple
    V_end / V_start − 1 = 0.9602 counts the deposit as a gain and the money gain is
    1960.2 − 1000 − 990 = −29.8.
    """
    shares = pd.DataFrame({"A": [10.0, 10.0, 20.0, 20.0, 20.0]}, index=D)
    cash = pd.Series(0.0, index=D)
    flows = pd.Series([1000.0, 990.0], index=pd.DatetimeIndex([D[0], D[2]]))
    prices = pd.DataFrame({"A": [100.0, 110.0, 99.0, 108.9, 98.01]}, index=D)
    bench = pd.Series([200.0, 202.0, 204.0, 206.0, 210.0], index=D)
    return shares, cash, flows, prices, bench


def test_twr_with_a_mid_period_deposit() -> None:
    r = portfolio_performance(*worked_inputs())
    assert list(r.values) == pytest.approx([1000.0, 1100.0, 1980.0, 2178.0, 1960.2])
    assert list(r.returns) == pytest.approx([0.1, -0.1, 0.1, -0.1])
    assert list(r.flows) == pytest.approx([0.0, 0.0, 990.0, 0.0, 0.0])
    assert list(r.twr_index) == pytest.approx([1.0, 1.1, 0.99, 1.089, 0.9801])
    assert r.twr == pytest.approx(-0.0199)
    simple = r.values.iloc[-1] / r.values.iloc[0] - 1
    assert simple == pytest.approx(0.9602) and abs(simple - (r.twr or 0)) > 0.9
    assert r.gain == pytest.approx(-29.8)
    assert r.net_flows == pytest.approx(990.0)
    assert (r.start, r.end, r.periods, r.periods_per_year) == (D[0], D[4], 4, 252)
    assert r.flow_convention == FLOW_CONVENTION
    assert r.missing_prices == () and not r.forward_filled and r.unvalued_days == ()
    assert r.notes == ("flows dated on or before the start are part of the starting value",)


def test_drawdown_is_on_the_twr_index_not_on_raw_value() -> None:
    """Index 1, 1.1, 0.99, 1.089, 0.9801: peak 1.1 (d1); 0.9801 / 1.1 − 1 = −0.109 at d4.
    On raw value the worst fall is 1960.2 / 2178 − 1 = −0.10 (the deposit hides the d2 loss)."""
    r = portfolio_performance(*worked_inputs())
    assert list(r.drawdown) == pytest.approx([0.0, 0.0, -0.1, -0.01, -0.109])
    assert r.max_drawdown == pytest.approx(-0.109)
    assert (r.drawdown_peak, r.drawdown_trough) == (D[1], D[4])
    raw = float((r.values / r.values.cummax() - 1).min())
    assert raw == pytest.approx(-0.1)


def test_volatility_annualised() -> None:
    """Returns 0.1, −0.1, 0.1, −0.1: mean 0, sample variance 4 · 0.01 / 3 = 0.013333,
    stdev 0.1154700538, × √252 (15.8745079) = 1.8330302780."""
    r = portfolio_performance(*worked_inputs())
    assert r.volatility == pytest.approx(1.8330302780)
    weekly = portfolio_performance(*worked_inputs(), periods_per_year=52)
    assert weekly.volatility == pytest.approx(0.1154700538 * math.sqrt(52))


def test_benchmark_over_the_same_days() -> None:
    """210 / 200 − 1 = 0.05; active = −0.0199 − 0.05 = −0.0699."""
    r = portfolio_performance(*worked_inputs())
    assert r.benchmark_return == pytest.approx(0.05)
    assert r.active_return == pytest.approx(-0.0699)
    assert r.benchmark_index is not None
    assert list(r.benchmark_index) == pytest.approx([1.0, 1.01, 1.02, 1.03, 1.05])
    assert r.benchmark_filled == ()


def test_flows_on_a_weekend_and_split_in_two_count_on_the_next_day() -> None:
    """The 990 arrives as 500 + 490 on Saturday 6 January: it counts on Monday d2 (flows at end
    of day, on the next valued day) and the result is the worked example's."""
    shares, cash, _, prices, bench = worked_inputs()
    flows = pd.Series(
        [1000.0, 500.0, 490.0],
        index=pd.DatetimeIndex(["2024-01-04", "2024-01-06", "2024-01-06"]),
    )
    r = portfolio_performance(shares, cash, flows, prices, bench)
    assert r.twr == pytest.approx(-0.0199)
    assert list(r.flows) == pytest.approx([0.0, 0.0, 990.0, 0.0, 0.0])


def test_ledger_style_flows_with_dates_as_python_dates() -> None:
    """The ledger hands flows on the date index (flows[0] = the starting money) and plain dates."""
    shares, cash, _, prices, bench = worked_inputs()
    days = [d.date() for d in D]
    flows = pd.Series([1000.0, 0.0, 990.0, 0.0, 0.0], index=days)
    shares.index = pd.Index(days)
    r = portfolio_performance(shares, cash, flows, prices, bench)
    assert r.twr == pytest.approx(-0.0199)


def test_missing_close_is_forward_filled_and_flagged() -> None:
    """A has no close on d3: valued at d2's 99 -> V3 = 1980, r3 = 0, r4 = 98.01/99 − 1 = −0.01.
    TWR = 1.1 · 0.9 · 1 · 0.99 − 1 = −0.0199 (the same end points)."""
    shares, cash, flows, prices, bench = worked_inputs()
    prices.loc[D[3], "A"] = np.nan
    r = portfolio_performance(shares, cash, flows, prices, bench)
    assert r.values.iloc[3] == pytest.approx(1980.0)
    assert list(r.returns) == pytest.approx([0.1, -0.1, 0.0, -0.01])
    assert r.missing_prices == (MissingPrice(D[3], "A", D[2]),)
    assert r.missing_tickers == ("A",)
    assert r.forward_filled
    assert "missing closes of held tickers were forward-filled: see missing_prices" in r.notes
    assert r.twr == pytest.approx(-0.0199)


def test_forward_fill_uses_history_before_the_window_and_ignores_unheld() -> None:
    """Prices start before the index; A's close is missing on the first day (filled from 3 Jan),
    B is not held and has no price at all (not reported). A zero close counts as missing."""
    shares = pd.DataFrame({"A": [1.0, 1.0], "B": [0.0, 0.0]}, index=D[:2])
    cash = pd.Series([0.0, 0.0], index=D[:2])
    prices = pd.DataFrame(
        {"A": [50.0, 0.0, 55.0], "B": [np.nan] * 3},
        index=pd.DatetimeIndex(["2024-01-03", "2024-01-04", "2024-01-05"]),
    )
    r = portfolio_performance(shares, cash, pd.Series(dtype=float), prices, None)
    assert list(r.values) == [50.0, 55.0]
    assert r.missing_prices == (MissingPrice(D[0], "A", pd.Timestamp("2024-01-03")),)
    assert r.twr == pytest.approx(0.1)
    assert r.benchmark_index is None and r.benchmark_return is None


def test_day_without_any_close_is_not_valued_and_chained_over() -> None:
    """B is bought on d1 (4 shares, with a deposit of 4 · 50 = 200) but has no close before d2.
    d1 cannot be valued; the period d0 -> d2 is one: A 10 @ 100 -> 99 plus B 4 @ 50:
    V0 = 1000, V2 = 990 + 200 = 1190, F = 200 -> r = (1190 − 200) / 1000 − 1 = −0.01."""
    shares = pd.DataFrame({"A": [10.0, 10.0, 10.0], "B": [0.0, 4.0, 4.0]}, index=D[:3])
    cash = pd.Series(0.0, index=D[:3])
    flows = pd.Series([200.0], index=pd.DatetimeIndex([D[1]]))
    prices = pd.DataFrame({"A": [100.0, 105.0, 99.0], "B": [np.nan, np.nan, 50.0]}, index=D[:3])
    r = portfolio_performance(shares, cash, flows, prices, None)
    assert math.isnan(r.values.iloc[1])
    assert r.unvalued_days == (D[1],)
    assert r.missing_prices == (MissingPrice(D[1], "B", None),)
    assert not r.forward_filled
    assert list(r.returns.index) == [D[2]]
    assert r.returns.iloc[0] == pytest.approx(-0.01)
    assert r.volatility is None  # one return only
    assert "some days could not be valued (no close yet): see unvalued_days" in r.notes


def test_window_starts_at_the_first_money() -> None:
    """Nothing on d0 and d1; 500 deposited in cash on d2, 10 A @ 50 bought on d3, A 55 on d4.
    Window d2..d4: r3 = 500/500 − 1 = 0, r4 = 550/500 − 1 = 0.1."""
    shares = pd.DataFrame({"A": [0.0, 0.0, 0.0, 10.0, 10.0]}, index=D)
    cash = pd.Series([0.0, 0.0, 500.0, 0.0, 0.0], index=D)
    flows = pd.Series([500.0], index=pd.DatetimeIndex([D[2]]))
    prices = pd.DataFrame({"A": [50.0, 50.0, 50.0, 50.0, 55.0]}, index=D)
    r = portfolio_performance(shares, cash, flows, prices, None)
    assert r.start == D[2]
    assert list(r.twr_index) == pytest.approx([1.0, 1.0, 1.1])
    assert r.twr == pytest.approx(0.1)
    assert r.gain == pytest.approx(50.0)
    assert "days before the first positive value are not part of the return window" in r.notes


def test_period_from_zero_value_is_skipped() -> None:
    """d0 1000 cash; d1 +10% (1100); d2 all withdrawn (V = 0, F = −1100, r = 0);
    d3 200 deposited (from V = 0: undefined, skipped); d4 200 -> 220 (+10%).
    TWR = 1.1 · 1.0 · 1.1 − 1 = 0.21."""
    shares = pd.DataFrame({"A": [10.0, 10.0, 0.0, 2.0, 2.0]}, index=D)
    cash = pd.Series(0.0, index=D)
    flows = pd.Series([1000.0, -1100.0, 200.0], index=pd.DatetimeIndex([D[0], D[2], D[3]]))
    prices = pd.DataFrame({"A": [100.0, 110.0, 110.0, 100.0, 110.0]}, index=D)
    r = portfolio_performance(shares, cash, flows, prices, None)
    assert list(r.returns) == pytest.approx([0.1, 0.0, 0.1])
    assert r.skipped_periods == (D[3],)
    assert r.twr == pytest.approx(0.21)
    assert "periods starting from a value ≤ 0 have no return: see skipped_periods" in r.notes


def test_benchmark_gaps_are_filled_and_listed() -> None:
    shares, cash, flows, prices, _ = worked_inputs()
    bench = pd.Series([200.0, np.nan, 220.0], index=pd.DatetimeIndex([D[0], D[1], D[3]]))
    r = portfolio_performance(shares, cash, flows, prices, bench)
    assert r.benchmark_index is not None
    assert list(r.benchmark_index) == pytest.approx([1.0, 1.0, 1.0, 1.1, 1.1])
    assert r.benchmark_filled == (D[1], D[2], D[4])
    assert r.benchmark_return == pytest.approx(0.1)


def test_benchmark_without_a_close_at_the_start() -> None:
    shares, cash, flows, prices, _ = worked_inputs()
    bench = pd.Series([210.0], index=pd.DatetimeIndex([D[4]]))
    r = portfolio_performance(shares, cash, flows, prices, bench)
    assert r.benchmark_index is None and r.benchmark_return is None and r.active_return is None
    assert "benchmark has no close on or before the start: no benchmark return" in r.notes


def test_flows_after_the_end_are_left_out() -> None:
    shares, cash, flows, prices, bench = worked_inputs()
    flows = pd.concat([flows, pd.Series([50.0], index=pd.DatetimeIndex(["2024-02-01"]))])
    r = portfolio_performance(shares, cash, flows, prices, bench)
    assert r.twr == pytest.approx(-0.0199)
    assert "flows dated after the last day are left out" in r.notes


def test_single_day_and_empty_input() -> None:
    shares, cash, flows, prices, bench = worked_inputs()
    one = portfolio_performance(shares.iloc[:1], cash.iloc[:1], flows, prices, bench)
    assert one.twr is None and one.max_drawdown is None and one.volatility is None
    assert one.benchmark_return is None and one.gain == pytest.approx(0.0)
    assert list(one.twr_index) == [1.0]
    empty = portfolio_performance(
        pd.DataFrame(index=pd.DatetimeIndex([])),
        pd.Series(dtype=float),
        pd.Series(dtype=float),
        pd.DataFrame(),
        bench,
    )
    assert empty.twr is None and empty.start is None and empty.gain is None
    assert empty.benchmark_index is None
    assert "no valued day with a positive value: no return" in empty.notes


def test_cash_only_portfolio() -> None:
    """No tickers at all: the value is the cash; a 100 deposit on d1 is not a return."""
    shares = pd.DataFrame(index=D[:2])
    cash = pd.Series([100.0, 200.0], index=D[:2])
    flows = pd.Series([100.0, 100.0], index=D[:2])
    r = portfolio_performance(shares, cash, flows, pd.DataFrame(), None)
    assert list(r.values) == [100.0, 200.0]
    assert r.twr == pytest.approx(0.0)


@pytest.mark.parametrize(
    "change, message",
    [
        ("dup_dates", "duplicate dates"),
        ("descending", "ascending"),
        ("nan_shares", "shares has NaN"),
        ("cash_gap", "cash is missing"),
        ("nan_flow", "flows has NaN"),
        ("ppy", "periods_per_year"),
    ],
)
def test_invalid_input_is_refused(change: str, message: str) -> None:
    shares, cash, flows, prices, bench = worked_inputs()
    ppy = 252
    if change == "dup_dates":
        shares.index = pd.DatetimeIndex([D[0], D[0], D[1], D[2], D[3]])
    elif change == "descending":
        shares = shares.iloc[::-1]
    elif change == "nan_shares":
        shares.iloc[1, 0] = np.nan
    elif change == "cash_gap":
        cash = cash.iloc[:-1]
    elif change == "nan_flow":
        flows.iloc[0] = np.nan
    else:
        ppy = 0
    with pytest.raises(ValueError, match=message):
        portfolio_performance(shares, cash, flows, prices, bench, periods_per_year=ppy)


def test_building_blocks() -> None:
    values = pd.Series([100.0, 0.0, 50.0, 60.0], index=D[:4])
    flows = pd.Series([-100.0, 50.0], index=pd.DatetimeIndex([D[1], D[2]]))
    rets, per_day, skipped = time_weighted_returns(values, flows)
    # d1: (0 + 100)/100 − 1 = 0; d2 from 0: skipped; d3: 60/50 − 1 = 0.2
    assert list(rets) == pytest.approx([0.0, 0.2])
    assert list(per_day) == pytest.approx([0.0, -100.0, 50.0, 0.0])
    assert skipped == (D[2],)
    dd = drawdown_series(pd.Series([1.0, 1.2, 0.9, 1.5]))
    assert list(dd) == pytest.approx([0.0, 0.0, -0.25, 0.0])
    assert annualised_volatility(pd.Series([0.01]), 252) is None
    # stdev(0.01, 0.03) = 0.0141421356; × √12
    assert annualised_volatility(pd.Series([0.01, 0.03]), 12) == pytest.approx(
        0.0141421356 * math.sqrt(12)
    )


def test_split_adjusted_shares_back_out_later_splits() -> None:
    from backend.portfolios.performance import split_adjusted_shares

    days = pd.DatetimeIndex(["2020-08-27", "2020-08-28", "2020-08-31", "2020-09-01", "2021-04-21"])
    # AAPL: 4 shares today; its 4-for-1 on 2020-08-31 means 1 share before that day.
    splits = pd.Series([1.0, 1.0, 4.0, 1.0, 1.0], index=days)
    assert split_adjusted_shares(4.0, splits, days).tolist() == [1, 1, 4, 4, 4]
    # Days before, between and after the stored ones; NaN and <= 0 coefficients count as 1.
    odd = pd.Series([2.0, np.nan, 4.0, -1.0, 0.0], index=days)
    asked = pd.DatetimeIndex(["2020-01-02", "2020-08-27", "2020-08-29", "2021-05-01"])
    assert split_adjusted_shares(8.0, odd, asked).tolist() == [1, 2, 2, 8]
