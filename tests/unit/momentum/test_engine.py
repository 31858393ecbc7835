"""score_panel as a whole: history rules, gaps, no look-ahead, the fast path and its inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backend.momentum.engine import (
    FLOAT_FIELDS,
    LEFT_OUT,
    LEFT_OUT_REASONS,
    MIN_CLOSES,
    CompositeWeights,
    ScoreFrames,
    left_out_names,
    left_out_reasons,
    percentile_rank,
    score_panel,
)
from tests.support.reference_momentum import reference_scores
from tests.unit.momentum.conftest import Panel, PanelMaker, panel_maker

pytestmark = pytest.mark.unit

REAL = ["AAPL", "MSFT", "XOM", "JNJ", "VTRS", "OTIS", "CARR", "DOW", "KO", "NVDA"]


@pytest.fixture(scope="module")
def panel(make_panel: PanelMaker) -> Panel:
    return make_panel(REAL)


def same(a: ScoreFrames, b: ScoreFrames, rows_a: slice | list[int], rtol: float = 0.0) -> None:
    """``a`` on ``rows_a`` equals ``b`` on every row: every field, NaN where NaN."""
    assert list(a.tickers) == list(b.tickers)
    for name in FLOAT_FIELDS:
        x, y = getattr(a, name)[rows_a], getattr(b, name)
        if rtol:
            np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol, err_msg=name)
        else:
            np.testing.assert_array_equal(x, y, err_msg=name)
    np.testing.assert_array_equal(a.n_closes[rows_a], b.n_closes)
    np.testing.assert_array_equal(a.left_out[rows_a], b.left_out)


# ----------------------------------------------------------------------------- history rules


def test_fewer_than_64_closes_has_no_score_and_says_how_many(panel: Panel) -> None:
    frames = score_panel(*panel, benchmark={})
    vtrs = frames.tickers.index("VTRS")
    closes = frames.n_closes[:, vtrs]
    row63 = int(np.flatnonzero(closes == 63)[0])
    row64 = int(np.flatnonzero(closes == MIN_CLOSES)[0])
    assert np.isnan(frames.overall[row63, vtrs]) and np.isfinite(frames.overall[row64, vtrs])
    assert "history" in left_out_names(int(frames.left_out[row63, vtrs]))
    assert not frames.complete[row63, vtrs]
    # before the first close: n_closes 0, nothing computed
    assert closes[0] == 0 and np.isnan(frames.rsi[0, vtrs])
    assert left_out_names(int(frames.left_out[0, vtrs])) == ["close"]
    for name in ("price", "technical", "relative", "trend", "weighted_return"):
        assert np.isnan(getattr(frames, name)[:row64, vtrs]).all(), name


@pytest.mark.parametrize(
    ("n", "names"),
    [
        (64, ["r126", "r252", "sma200"]),
        (126, ["r126", "r252", "sma200"]),
        (127, ["r252", "sma200"]),
        (199, ["r252", "sma200"]),
        (200, ["r252"]),
        (252, ["r252"]),
        (253, []),
    ],
)
def test_64_to_252_closes_leave_out_and_rescale(panel: Panel, n: int, names: list[str]) -> None:
    close, volume, split = panel
    frames = score_panel(close, volume, split, {})
    j = frames.tickers.index("MSFT")
    row = int(np.flatnonzero(frames.n_closes[:, j] == n)[0])
    assert left_out_names(int(frames.left_out[row, j])) == names
    assert bool(frames.complete[row, j]) == (not names)
    # rescaling by hand from the raw closes
    c = close["MSFT"].dropna().to_numpy()[:n]
    weights = {21: 0.4, 63: 0.3, 126: 0.2, 252: 0.1}
    terms = [(w, float(c[-1] / c[-1 - h] - 1)) for h, w in weights.items() if n > h]
    wr = sum(w * x for w, x in terms) / sum(w for w, _ in terms)
    assert frames.weighted_return[row, j] == pytest.approx(wr, rel=1e-12)
    points = [(7, 20), (6, 50)] + ([(7, 200)] if n >= 200 else [])
    earned = sum(p for p, k in points if c[-1] > c[-k:].mean())
    trend = 20 * earned / sum(p for p, _ in points)
    assert frames.trend[row, j] == pytest.approx(trend, rel=1e-12)


def test_benchmark_with_fewer_than_22_closes(panel: Panel) -> None:
    close, volume, split = panel
    late = close.copy()
    late.loc[: late.index[99], "SPY"] = np.nan  # SPY starts on row 100
    frames = score_panel(late, volume, split, {})
    j = frames.tickers.index("AAPL")
    short = 100 + 20  # 21 SPY closes
    assert np.isnan(frames.relative[short, j]) and np.isfinite(frames.relative[short + 1, j])
    assert left_out_reasons(int(frames.left_out[short, j]))["relative"].startswith(
        "the benchmark has fewer than 22 closes"
    )
    assert "no prices" in left_out_reasons(int(frames.left_out[50, j]))["relative"]
    assert "relative" in LEFT_OUT_REASONS and left_out_names(0) == []


def test_missing_volume_leaves_volume_out_for_31_sessions(panel: Panel) -> None:
    close, volume, split = panel
    holed = volume.copy()
    j = list(close.columns).index("KO")
    holed.iloc[500, j] = np.nan
    frames = score_panel(close, holed, split, {})
    out = [int(r) for r in np.flatnonzero(np.isnan(frames.s_vol[:, j])) if r >= 31]
    assert out == list(range(500, 531))
    row = 510
    assert "volume" in left_out_names(int(frames.left_out[row, j]))
    s_rsi, s_roc = frames.s_rsi[row, j], frames.s_roc[row, j]
    expected = (0.4 * s_rsi + 0.3 * s_roc) / 0.7
    assert frames.technical[row, j] == pytest.approx(expected, rel=1e-12)


def test_non_positive_close_counts_as_no_bar(panel: Panel) -> None:
    close, volume, split = panel
    zero, gone = close.copy(), close.copy()
    zero.iloc[700, 0] = 0.0
    gone.iloc[700, 0] = np.nan
    same(score_panel(zero, volume, split, {}), score_panel(gone, volume, split, {}), slice(None))


# ----------------------------------------------------------------------------- gaps


def test_a_gap_is_skipped_not_filled(panel: Panel) -> None:
    close, volume, split = panel
    holed = close.copy()
    rng = np.random.default_rng(11)
    missing = np.sort(rng.choice(np.arange(300, len(close) - 5), size=6, replace=False))
    missing = np.append(missing, len(close) - 2)  # one inside the last windows too
    holed.iloc[missing, list(holed.columns).index("XOM")] = np.nan
    frames = score_panel(holed, volume, split, {})
    j = frames.tickers.index("XOM")
    ref = reference_scores(holed["XOM"], volume["XOM"], split["XOM"], holed["SPY"])
    assert len(ref) == close["XOM"].notna().sum() - len(missing)
    rows = holed.index.get_indexer(ref.index)
    for name in FLOAT_FIELDS:
        np.testing.assert_allclose(
            getattr(frames, name)[rows, j], ref[name].to_numpy(float), rtol=1e-9, atol=1e-9
        )
    assert np.isnan(frames.overall[missing, j]).all()
    assert (frames.left_out[missing, j] == 128).all()
    # the gap matters: the day after a hole is scored on 21 own closes back, not 21 rows back
    after = int(missing[0]) + 1
    own = holed["XOM"].dropna()
    k = int(own.index.searchsorted(holed.index[after]))
    assert frames.r21[after, j] == pytest.approx(own.iloc[k] / own.iloc[k - 21] - 1, rel=1e-15)
    assert frames.r21[after, j] != pytest.approx(
        close["XOM"].iloc[after] / close["XOM"].iloc[after - 21] - 1, rel=1e-12
    )
    # and the fast path gives the same on the gappy column
    latest = score_panel(holed, volume, split, {}, rows=[-1])
    same(frames, latest, [-1], rtol=1e-12)


def test_benchmark_gap_uses_its_last_close_before(panel: Panel) -> None:
    close, volume, split = panel
    holed = close.copy()
    day = 800
    holed.iloc[day, list(holed.columns).index("SPY")] = np.nan
    frames = score_panel(holed, volume, split, {})
    j, b = frames.tickers.index("KO"), frames.tickers.index("SPY")
    assert frames.benchmark_r21[day, j] == frames.r21[day - 1, b]
    assert np.isfinite(frames.relative[day, j])


# ----------------------------------------------------------------------------- no look-ahead


def test_appending_later_bars_never_changes_an_earlier_score(
    sp500_bars: pd.DataFrame, make_panel: PanelMaker
) -> None:
    rng = np.random.default_rng(20240607)
    tickers = sorted(set(sp500_bars["ticker"]) - {"VTRS", "OTIS"})  # the shipped slice's
    for _ in range(4):
        pick = list(rng.choice(tickers, size=12, replace=False)) + ["VTRS", "OTIS"]
        close, volume, split = make_panel(pick)
        start = int(rng.integers(0, 300))
        end = int(rng.integers(start + 400, len(close) + 1))
        cut = int(rng.integers(start + 70, end - 1))
        window = slice(start, end)
        full = score_panel(close[window], volume[window], split[window], {})
        early = slice(start, cut)
        head = score_panel(close[early], volume[early], split[early], {})
        same(full, head, slice(0, cut - start))
        latest = score_panel(close[early], volume[early], split[early], {}, rows=[-1])
        same(full, latest, [cut - start - 1], rtol=1e-12)


# ----------------------------------------------------------------------------- fast path


@pytest.mark.parametrize("rows", [[-1], [-1, -2], [0, 300, -250, -1], list(range(-12, 0))])
def test_rows_equal_the_full_computation(panel: Panel, rows: list[int]) -> None:
    close, volume, split = panel
    ended = close.copy()
    ended.iloc[-30:, 1] = np.nan  # MSFT stops 30 days before the end
    full = score_panel(ended, volume, split, {})
    part = score_panel(ended, volume, split, {}, rows=rows)
    assert list(part.dates) == list(close.index[rows])
    same(full, part, rows, rtol=1e-12)


def test_rows_fast_path_on_the_whole_real_universe(
    universe_bars: pd.DataFrame, spy_close: pd.Series
) -> None:
    panel = panel_maker(universe_bars, spy_close)(sorted(universe_bars["ticker"].unique()))
    full = score_panel(*panel, benchmark={})
    latest = score_panel(*panel, benchmark={}, rows=[-1])
    same(full, latest, [-1], rtol=1e-12)
    # 503 stocks and SPY have a close on the last date (VAR's history ends on 2021-04-16)
    assert np.isfinite(latest.overall).sum() == panel[0].iloc[-1].notna().sum() == 504
    ranks = percentile_rank(latest.overall)
    assert np.nanmin(ranks) == 0.0 and np.nanmax(ranks) == 100.0


# ----------------------------------------------------------------------------- interface


def test_score_frames_interface(panel: Panel) -> None:
    frames = score_panel(*panel, benchmark={}, rows=[-1])
    frame = frames.frame("overall")
    assert list(frame.columns) == frames.tickers and frame.index.equals(frames.dates)
    assert frames.overall.dtype == np.float64 and frames.overall.shape == (1, len(REAL) + 1)
    assert frames.frame("n_closes").dtypes.iloc[0] == np.int64
    assert frames.complete.dtype == bool and frames.scored.all()
    with pytest.raises(KeyError):
        frames.frame("nope")
    names = {item.name for item in LEFT_OUT.values()}
    assert {"r126", "r252", "sma200", "volume", "relative"} <= names
    assert left_out_names(1 | 2 | 16 | 32) == ["r126", "r252", "relative"]


def test_inputs_are_checked_and_aligned(panel: Panel) -> None:
    close, volume, split = panel
    with pytest.raises(ValueError):
        score_panel(close.iloc[::-1], volume, split, {})
    with pytest.raises(ValueError):
        score_panel(close.reset_index(drop=True), volume, split, {})
    with pytest.raises(IndexError):
        score_panel(close, volume, split, {}, rows=[len(close)])
    with pytest.raises(ValueError):
        CompositeWeights(0.5, 0.5, 0.5)
    # volume and split in another column order are re-indexed to close
    shuffled = score_panel(close, volume[volume.columns[::-1]], split, {}, rows=[-1])
    same(score_panel(close, volume, split, {}, rows=[-1]), shuffled, slice(None))
    empty = score_panel(close, volume, split, {}, rows=[])
    assert empty.overall.shape == (0, len(REAL) + 1)
