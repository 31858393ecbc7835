"""The worked check of the model document, computed by hand.

A security whose adjusted close rises by exactly 0.1% every day for 300 days, with constant volume,
against a flat benchmark.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backend.momentum.engine import MODEL_VERSION, ScoreFrames, rating, score_panel

pytestmark = pytest.mark.unit

DAYS = 300
TOL = 1e-9


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, x))


def _by_hand() -> dict[str, float]:
    g = 1.001  # growth per day
    r = {n: g**n - 1 for n in (21, 63, 126, 252)}
    wr = 0.4 * r[21] + 0.3 * r[63] + 0.2 * r[126] + 0.1 * r[252]
    magnitude = _clamp(20 + 80 * wr, 0, 40)
    acc = (1 + r[21]) ** 12 - (1 + r[63]) ** 4  # = 1.001^252 - 1.001^252 = 0
    slope = (g**10 - 1) * 25.2  # SMA_20(t) / SMA_20(t-10) = 1.001^10 for a geometric series
    acceleration = _clamp(20 + 30 * (0.7 * acc + 0.3 * slope), 0, 40)
    trend = 20.0  # the close is above every SMA
    price = trend + magnitude + acceleration
    s_rsi = 0.0  # RSI = 100
    s_vol = 50.0  # ratio 1
    roc = (g**10 - 1) * 100
    s_roc = _clamp(50 + 10 * roc, 0, 100)
    technical = 0.4 * s_rsi + 0.3 * s_vol + 0.3 * s_roc
    gap = r[21] - 0.0  # flat benchmark
    relative = min(100.0, 50 + 1000 * gap)
    overall = 0.50 * price + 0.35 * technical + 0.15 * relative
    return {
        "r21": r[21],
        "r63": r[63],
        "r126": r[126],
        "r252": r[252],
        "weighted_return": wr,
        "magnitude": magnitude,
        "acc": acc,
        "slope": slope,
        "acceleration": acceleration,
        "trend": trend,
        "price": price,
        "rsi": 100.0,
        "s_rsi": s_rsi,
        "volume_ratio": 1.0,
        "s_vol": s_vol,
        "roc": roc,
        "s_roc": s_roc,
        "technical": technical,
        "benchmark_r21": 0.0,
        "relative_gap": gap,
        "relative": relative,
        "overall": overall,
    }


def _panel() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    dates = pd.bdate_range("2020-01-01", periods=DAYS)
    close = pd.DataFrame(
        {"UP": 50.0 * 1.001 ** np.arange(DAYS), "SPY": np.full(DAYS, 400.0)}, index=dates
    )
    volume = pd.DataFrame({"UP": np.full(DAYS, 1e6), "SPY": np.full(DAYS, 5e7)}, index=dates)
    split = pd.DataFrame(1.0, index=dates, columns=close.columns)
    return close, volume, split


@pytest.mark.parametrize("rows", [None, [-1]], ids=["full", "latest"])
def test_worked_check_every_component(rows: list[int] | None) -> None:
    frames = score_panel(*_panel(), benchmark={"UP": "SPY"}, rows=rows)
    expected = _by_hand()
    assert expected["acc"] == pytest.approx(0.0, abs=1e-12)
    for name, value in expected.items():
        got = float(frames.frame(name)["UP"].iloc[-1])
        assert got == pytest.approx(value, rel=TOL, abs=TOL), name
    assert frames.frame("sma20")["UP"].iloc[-1] < frames.frame("sma50")["UP"].iloc[-1] * 1.1
    assert int(frames.frame("n_closes")["UP"].iloc[-1]) == DAYS
    assert int(frames.frame("left_out")["UP"].iloc[-1]) == 0
    assert bool(frames.complete[-1, 0])
    assert frames.model_version == MODEL_VERSION == "alphavelocity-v1"
    overall = float(frames.frame("overall")["UP"].iloc[-1])
    assert 50 <= expected["overall"] < 65 and rating(overall) == "Hold"


def test_worked_check_flat_benchmark_itself() -> None:
    frames: ScoreFrames = score_panel(*_panel(), benchmark={"UP": "SPY"})
    spy = frames.frame("rsi")["SPY"]
    assert (spy.iloc[14:] == 50.0).all()  # no gain, no loss
    assert (frames.frame("relative")["SPY"].dropna() == 50.0).all()
    assert (frames.frame("trend")["SPY"].dropna() == 0.0).all()  # a flat close is not above
