"""Backtest statistics on a hand-worked universe of four securities over three months.

Prices (all 100 up to 2021-01-29):

    date            A      B      C      D      SPY
    01-29 (rebal)   100    100    100    100    100
    02-01..02-26    101    99     104    102    102
    03-01..03-31    111.1  99     93.6   107.1  99.96

Scores: on 01-29 A<B<C<D, on 02-26 C<D<B<A, on 03-31 B<C<D<A. Two quantiles, horizon 1 day.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from backend.errors import InvalidInput
from backend.research.backtest import (
    BacktestParams,
    BacktestResult,
    NotEnoughData,
    mean_t,
    quantile_labels,
    rebalance_rows,
    run_backtest,
    spearman,
)

pytestmark = pytest.mark.unit

DATES = pd.bdate_range("2021-01-25", "2021-03-31")


def _panel() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    close = np.full((len(DATES), 4), 100.0)
    spy = np.full(len(DATES), 100.0)
    feb = DATES >= "2021-02-01"
    mar = DATES >= "2021-03-01"
    close[feb] = [101.0, 99.0, 104.0, 102.0]
    close[mar] = [111.1, 99.0, 93.6, 107.1]
    spy[feb] = 102.0
    spy[mar] = 99.96
    scores = np.full(close.shape, np.nan)
    scores[DATES.get_loc("2021-01-29")] = [1, 2, 3, 4]
    scores[DATES.get_loc("2021-02-26")] = [4, 3, 1, 2]
    scores[DATES.get_loc("2021-03-31")] = [4, 1, 2, 3]
    return scores, close, spy


def _run(**kw: object) -> BacktestResult:
    scores, close, spy = _panel()
    params = BacktestParams(quantiles=2, horizon=1, **kw)  # type: ignore[arg-type]
    return run_backtest(scores, close, DATES, params, spy)


def test_rebalance_dates_are_the_last_date_of_each_month() -> None:
    rows = rebalance_rows(DATES, "monthly")
    assert [str(d.date()) for d in DATES[rows]] == ["2021-01-29", "2021-02-26", "2021-03-31"]
    weekly = rebalance_rows(DATES, "weekly", start=pd.Timestamp("2021-03-20").date())
    assert [str(d.date()) for d in DATES[weekly]] == ["2021-03-26", "2021-03-31"]
    assert [str(d.date()) for d in DATES[rebalance_rows(DATES, "quarterly")]] == ["2021-03-31"]


def test_quantile_returns_and_spread() -> None:
    r = _run()
    assert list(r.evaluated) == [True, True, False]  # 03-31 has no day after it
    np.testing.assert_allclose(r.quantile_mean[0], [0.0, 0.03], atol=1e-12)
    np.testing.assert_allclose(r.quantile_mean[1], [-0.025, 0.05], atol=1e-12)
    np.testing.assert_allclose(r.mean_quantile_return, [-0.0125, 0.04], atol=1e-12)
    assert r.quantile_count[0].tolist() == [2, 2]
    np.testing.assert_allclose(r.spread[:2], [0.03, 0.075], atol=1e-12)
    assert r.spread_stat.mean == pytest.approx(0.0525)
    # sd = 0.045 / sqrt 2; t = 0.0525 / (sd / sqrt 2) = 0.0525 / 0.0225
    assert r.spread_stat.t_stat == pytest.approx(0.0525 / 0.0225)
    assert r.spread_stat.n == 2


def test_information_coefficient() -> None:
    r = _run()
    # 01-29: d = (-1, 1, -1, 1), rho = 1 - 6*4/(4*15) = 0.6; 02-26: d = (0, 1, 0, -1) -> 0.8
    np.testing.assert_allclose(r.ic[:2], [0.6, 0.8], atol=1e-12)
    assert math.isnan(r.ic[2])
    assert r.ic_stat.mean == pytest.approx(0.7)
    assert r.ic_stat.t_stat == pytest.approx(7.0)
    assert r.ic_hit_rate == 1.0


def test_turnover_of_the_top_quantile() -> None:
    r = _run()
    assert [m.tolist() for m in r.top_members] == [[2, 3], [0, 1], [0, 3]]
    assert math.isnan(r.turnover[0])
    np.testing.assert_allclose(r.turnover[1:], [1.0, 0.5])
    assert r.mean_turnover == pytest.approx(0.75)
    np.testing.assert_allclose(r.traded, [1.0, 2.0, 1.0])


def test_growth_of_one() -> None:
    r = _run()
    np.testing.assert_allclose(r.growth_top, [1.0, 1.03, 1.03 * 1.05])
    np.testing.assert_allclose(r.growth_universe, [1.0, 1.015, 1.015 * 1.0125])
    np.testing.assert_allclose(r.growth_benchmark, [1.0, 1.02, 0.9996])
    np.testing.assert_allclose(r.growth_top_net, r.growth_top)  # no costs by default


def test_costs_are_charged_on_traded_notional() -> None:
    r = _run(cost_bps=100.0)
    # 1% of 1.0 bought on 01-29, 1% of 2.0 (sell all, buy all) on 02-26
    np.testing.assert_allclose(r.growth_top_net, [1.0, 0.99 * 1.03, 0.99 * 1.03 * 0.98 * 1.05])
    np.testing.assert_allclose(r.growth_top, [1.0, 1.03, 1.03 * 1.05])


def test_end_bounds_the_forward_returns() -> None:
    r = _run(end=pd.Timestamp("2021-02-26").date())
    assert [str(d.date()) for d in r.dates] == ["2021-01-29", "2021-02-26"]
    assert list(r.evaluated) == [True, False]  # 03-01 is after end
    np.testing.assert_allclose(r.growth_top, [1.0, 1.03])


def test_dates_with_too_few_scores_are_skipped() -> None:
    scores, close, spy = _panel()
    scores[DATES.get_loc("2021-01-29"), 1:] = np.nan  # one score: fewer than 2 quantiles
    r = run_backtest(scores, close, DATES, BacktestParams(quantiles=2, horizon=1), spy)
    assert r.skipped == 1
    assert [str(d.date()) for d in r.dates] == ["2021-02-26", "2021-03-31"]
    with pytest.raises(NotEnoughData) as exc:
        run_backtest(scores, close, DATES, BacktestParams(quantiles=5, horizon=1), spy)
    assert isinstance(exc.value, InvalidInput) and exc.value.details["needed"] == 5


def test_a_security_without_a_close_on_the_date_is_not_ranked() -> None:
    scores, close, spy = _panel()
    close[DATES.get_loc("2021-01-29"), 0] = np.nan
    r = run_backtest(scores, close, DATES, BacktestParams(quantiles=2, horizon=1), spy)
    assert r.n_ranked.tolist() == [3, 4, 4]


def test_quantile_labels_with_ties_and_uneven_sizes() -> None:
    assert quantile_labels(np.array([5.0, 1, 4, 2, 3]), 5).tolist() == [5, 1, 4, 2, 3]
    assert quantile_labels(np.array([1.0, 2, 3, 4]), 2).tolist() == [1, 1, 2, 2]
    # average ranks 1.5, 1.5, 3, 4: the tied pair shares quantile 1
    assert quantile_labels(np.array([1.0, 1, 3, 4]), 3).tolist() == [1, 1, 2, 3]
    sizes = np.bincount(quantile_labels(np.arange(504.0), 5))[1:]
    assert sizes.tolist() == [101, 101, 101, 101, 100]


def test_spearman_and_mean_t() -> None:
    assert spearman(np.array([1.0, 2, 3]), np.array([10.0, 30, 20])) == pytest.approx(0.5)
    assert math.isnan(spearman(np.array([1.0, 1.0]), np.array([1.0, 2.0])))
    s = mean_t(np.array([1.0, 2.0, 3.0, np.nan]))
    assert (s.mean, s.n) == (2.0, 3) and s.t_stat == pytest.approx(2.0 / (1.0 / math.sqrt(3)))


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"rebalance": "daily"}, "rebalance"),
        ({"horizon": 0}, "horizon"),
        ({"quantiles": 1}, "quantiles"),
        ({"cost_bps": -1.0}, "cost_bps"),
        ({"cost_bps": float("nan")}, "cost_bps"),
        (
            {"start": pd.Timestamp("2021-03-01").date(), "end": pd.Timestamp("2021-02-01").date()},
            "start",
        ),
    ],
)
def test_bad_parameters_name_the_field_and_the_rule(kw: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        BacktestParams(**kw).validate()  # type: ignore[arg-type]
    assert exc.value.details["field"] == field and exc.value.details["rule"]
