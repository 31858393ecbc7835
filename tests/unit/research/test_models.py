"""The published models against straightforward loop implementations and hand-worked values."""

from __future__ import annotations

import bisect
import math

import numpy as np
import pandas as pd
import pytest

from backend.errors import InvalidInput
from backend.momentum.panel import percentile_rank
from backend.research.models import (
    MODELS,
    ModelInput,
    get_model,
    parse_models,
    rank_1_99,
    risk_adjusted_normalise,
    weekly_volatility,
    zscore,
)

pytestmark = pytest.mark.unit

N_DAYS = 900  # > 781 closes: the 3-year volatility window is exercised


def random_panel(seed: int = 7) -> pd.DataFrame:
    """Five securities and SPY; one lists late, one has missing days (its own trading days)."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2017-01-02", periods=N_DAYS)
    cols = ["AAA", "BBB", "CCC", "DDD", "EEE", "SPY"]
    steps = rng.normal(0.0004, 0.018, (N_DAYS, len(cols)))
    close = pd.DataFrame(50.0 * np.exp(np.cumsum(steps, axis=0)), index=dates, columns=cols)
    close.iloc[:300, 2] = np.nan  # CCC lists on day 300
    close.iloc[rng.choice(N_DAYS, 60, replace=False), 3] = np.nan  # DDD misses 60 days
    return close


# ------------------------------------------------------------------ loop references


def own_closes(close: pd.DataFrame) -> list[tuple[list[int], list[float]]]:
    """Per ticker: the date rows where it has a close, and those closes (its own days)."""
    out = []
    for j in range(close.shape[1]):
        col = close.iloc[:, j].to_numpy()
        rows = [i for i in range(len(col)) if not math.isnan(col[i])]
        out.append((rows, [float(col[i]) for i in rows]))
    return out


def ref_jt(close: pd.DataFrame) -> np.ndarray:
    out = np.full(close.shape, np.nan)
    for j, (rows, s) in enumerate(own_closes(close)):
        for i in range(252, len(s)):
            out[rows[i], j] = s[i - 21] / s[i - 252] - 1.0
    return out


def ref_percentile(row: np.ndarray) -> np.ndarray:
    v = [x for x in row if not math.isnan(x)]
    n = len(v)
    out = np.full(len(row), np.nan)
    for k, x in enumerate(row):
        if math.isnan(x):
            continue
        below = sum(1 for y in v if y < x)
        equal = sum(1 for y in v if y == x)
        rank = below + (equal + 1) / 2.0
        out[k] = 50.0 if n == 1 else 100.0 * (rank - 1) / (n - 1)
    return out


def ref_vol(s: list[float], i: int) -> float:
    weeks = 156 if i >= 5 * 156 else 52 if i >= 5 * 52 else 0
    if not weeks:
        return math.nan
    w = [s[i - 5 * k] / s[i - 5 * (k + 1)] - 1.0 for k in range(weeks)]
    mean = sum(w) / weeks
    var = sum((x - mean) ** 2 for x in w) / (weeks - 1)
    return math.sqrt(var * 52)


def ref_z(x: list[float]) -> list[float]:
    mean = sum(x) / len(x)
    sd = math.sqrt(sum((v - mean) ** 2 for v in x) / len(x))
    return [(v - mean) / sd if sd > 0 else 0.0 for v in x]


def ref_risk_adjusted(close: pd.DataFrame) -> np.ndarray:
    ra6 = np.full(close.shape, np.nan)
    ra12 = np.full(close.shape, np.nan)
    for j, (rows, s) in enumerate(own_closes(close)):
        for i in range(273, len(s)):
            vol = ref_vol(s, i)
            ra6[rows[i], j] = (s[i - 21] / s[i - 147] - 1.0) / vol
            ra12[rows[i], j] = (s[i - 21] / s[i - 273] - 1.0) / vol
    score = np.full(close.shape, np.nan)
    for d in range(close.shape[0]):
        cols = [j for j in range(close.shape[1]) if not math.isnan(ra6[d, j])]
        if not cols:
            continue
        z6, z12 = ref_z([ra6[d, j] for j in cols]), ref_z([ra12[d, j] for j in cols])
        final = [min(3.0, max(-3.0, z)) for z in ref_z([(a + b) / 2 for a, b in zip(z6, z12)])]
        row = np.full(close.shape[1], np.nan)
        row[cols] = final
        score[d] = ref_percentile(row)
    return score


def ref_rs(close: pd.DataFrame) -> np.ndarray:
    rs = np.full(close.shape, np.nan)
    series = own_closes(close)
    spy_rows, spy = series[list(close.columns).index("SPY")]
    for j, (rows, s) in enumerate(series):
        for i in range(252, len(s)):
            # SPY's last close at or before this date
            k = bisect.bisect_right(spy_rows, rows[i]) - 1
            if k < 252:
                continue
            total = 0.0
            for n, w in ((63, 0.4), (126, 0.2), (189, 0.2), (252, 0.2)):
                total += w * (s[i] / s[i - n]) / (spy[k] / spy[k - n])
            rs[rows[i], j] = total
    return rs


# ------------------------------------------------------------------ against the loops


def scores(name: str, close: pd.DataFrame) -> np.ndarray:
    return get_model(name).scores(ModelInput(close=close))["score"]


def test_jt_12_1_matches_a_loop() -> None:
    close = random_panel()
    model = get_model("jt-12-1").scores(ModelInput(close=close))
    ref = ref_jt(close)
    np.testing.assert_allclose(model["r_12_1"], ref, rtol=1e-12, equal_nan=True)
    expected = np.vstack([ref_percentile(row) for row in ref])
    np.testing.assert_allclose(model["score"], expected, atol=1e-9, equal_nan=True)


def test_weekly_volatility_matches_a_loop() -> None:
    s = random_panel()["AAA"].tolist()
    vol = weekly_volatility(np.array(s).reshape(-1, 1))[:, 0]
    for i in (259, 260, 261, 500, 779, 780, 899):
        assert vol[i] == pytest.approx(ref_vol(s, i), rel=1e-9, nan_ok=True)
    assert math.isnan(vol[259]) and not math.isnan(vol[260])


def test_risk_adjusted_matches_a_loop() -> None:
    close = random_panel()
    expected = ref_risk_adjusted(close)
    got = scores("risk-adjusted", close)
    np.testing.assert_allclose(got, expected, atol=1e-9, equal_nan=True)
    assert np.isfinite(got[-1]).sum() == 6


def test_rs_rating_matches_a_loop() -> None:
    close = random_panel()
    model = get_model("rs-rating").scores(ModelInput(close=close))
    ref = ref_rs(close)
    np.testing.assert_allclose(model["rs"], ref, rtol=1e-12, equal_nan=True)
    expected = np.vstack([np.floor(1 + 0.98 * ref_percentile(row) + 0.5) for row in ref])
    np.testing.assert_allclose(model["score"], expected, equal_nan=True)


# ------------------------------------------------------------------ hand-worked values


def steady_panel(days: int = 300) -> pd.DataFrame:
    """UP rises 0.1% a day, DOWN falls 0.1% a day, SPY is flat."""
    dates = pd.bdate_range("2020-01-01", periods=days)
    k = np.arange(days)
    return pd.DataFrame({"UP": 1.001**k, "DOWN": 0.999**k, "SPY": np.ones(days)}, index=dates)


def test_jt_12_1_hand_worked() -> None:
    close = steady_panel()
    out = get_model("jt-12-1").scores(ModelInput(close=close))
    assert out["r_12_1"][-1, 0] == pytest.approx(1.001**231 - 1.0)
    assert out["r_12_1"][-1, 1] == pytest.approx(0.999**231 - 1.0)
    assert out["r_12_1"][-1, 2] == 0.0
    assert out["score"][-1].tolist() == [100.0, 0.0, 50.0]
    assert np.isnan(out["r_12_1"][251]).all() and np.isfinite(out["r_12_1"][252]).all()


def test_rs_rating_hand_worked() -> None:
    close = steady_panel()
    out = get_model("rs-rating").scores(ModelInput(close=close))
    rs_up = 0.4 * 1.001**63 + 0.2 * (1.001**126 + 1.001**189 + 1.001**252)
    assert out["rs"][-1, 0] == pytest.approx(rs_up)
    assert out["rs"][-1, 2] == pytest.approx(1.0)
    assert out["score"][-1].tolist() == [99.0, 1.0, 50.0]


def test_rs_rating_without_benchmark_prices_has_no_score() -> None:
    close = steady_panel().drop(columns="SPY")
    assert np.isnan(get_model("rs-rating").scores(ModelInput(close=close))["score"]).all()


def test_risk_adjusted_normalisation_hand_worked() -> None:
    ra6 = np.array([[1.0, 2.0, 3.0, np.nan]])
    ra12 = np.array([[3.0, 2.0, 1.0, 5.0]])
    out = risk_adjusted_normalise({"ra6": ra6, "ra12": ra12})
    # z6 = (-1.2247, 0, 1.2247), z12 = its mirror: the average is 0 everywhere -> 50 each
    np.testing.assert_allclose(out["z6"][0, :3], [-math.sqrt(1.5), 0.0, math.sqrt(1.5)])
    np.testing.assert_allclose(out["z"][0, :3], [0.0, 0.0, 0.0])
    assert out["score"][0, :3].tolist() == [50.0, 50.0, 50.0]
    assert math.isnan(out["score"][0, 3])  # one of the two returns is missing


def test_risk_adjusted_winsorises_at_three() -> None:
    x = np.array([[0.0] * 19 + [100.0]])
    out = risk_adjusted_normalise({"ra6": x, "ra12": x})
    # 19 zeros and one outlier: the outlier's z is sqrt(19) = 4.36 -> capped at 3
    assert out["z"][0, -1] == 3.0
    assert out["z"][0, 0] == pytest.approx(-1 / math.sqrt(19))


def test_cross_sectional_helpers() -> None:
    np.testing.assert_allclose(
        percentile_rank(np.array([[3.0, 1.0, 2.0, np.nan]])), [[100.0, 0.0, 50.0, np.nan]]
    )
    assert percentile_rank(np.array([[7.0]])).tolist() == [[50.0]]
    assert rank_1_99(np.array([[10.0, 20.0, 30.0, 40.0]])).tolist() == [[1.0, 34.0, 66.0, 99.0]]
    assert zscore(np.array([[2.0, 2.0]])).tolist() == [[0.0, 0.0]]


def test_minimum_history_is_what_each_model_declares() -> None:
    close = steady_panel(400)
    close.iloc[:, :] = close.to_numpy() * np.linspace(1, 1.3, 400)[:, None] ** np.array([1, 2, 0])
    for name, model in MODELS.items():
        if name == "alphavelocity-v1":
            continue
        sig = model.scores(ModelInput(close=close))["score"]
        first = int(np.flatnonzero(np.isfinite(sig[:, 0]))[0])
        assert first + 1 == model.min_closes, name


def test_registry_rejects_unknown_models_listing_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as exc:
        get_model("carhart")
    assert isinstance(exc.value, InvalidInput)
    assert exc.value.details["field"] == "model"
    assert exc.value.details["known"] == [
        "alphavelocity-v1",
        "jt-12-1",
        "risk-adjusted",
        "rs-rating",
    ]
    assert [m.name for m in parse_models("jt-12-1, rs-rating")] == ["jt-12-1", "rs-rating"]
    with pytest.raises(InvalidInput) as twice:
        parse_models("jt-12-1,jt-12-1")
    assert twice.value.details["rule"] == "each model at most once"
    with pytest.raises(InvalidInput):
        parse_models(" , ")
    assert {m.model_version for m in MODELS.values()} >= {"alphavelocity-v1", "jt-12-1/v1"}
