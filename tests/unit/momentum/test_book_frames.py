"""The book's compact frames on real prices: the chunked full build equals the engine's one
pass exactly, and the breakdown recomputed for one security equals the full pass's fields."""

from __future__ import annotations

import numpy as np
import pytest

from backend.momentum.book_frames import (
    BOOK_FIELDS,
    BookFrames,
    breakdown_frames,
    score_book_frames,
)
from backend.momentum.engine import FLOAT_FIELDS, CompositeWeights, score_panel
from tests.unit.momentum.conftest import PanelMaker
from tests.unit.momentum.test_engine import REAL

pytestmark = pytest.mark.unit


def test_the_chunked_build_equals_one_pass_bit_for_bit(make_panel: PanelMaker) -> None:
    close, volume, split = make_panel(REAL)
    bench = {t: "SPY" for t in close.columns}
    bench["XOM"] = "AAPL"  # a benchmark in another chunk than its ticker
    whole = BookFrames.of(score_panel(close, volume, split, bench))
    chunked = score_book_frames(close, volume, split, bench, chunk=3)
    assert chunked.tickers == whole.tickers and chunked.dates.equals(whole.dates)
    for name in (*BOOK_FIELDS, "n_closes", "left_out"):
        np.testing.assert_array_equal(getattr(chunked, name), getattr(whole, name), err_msg=name)
    assert chunked.n_closes.dtype == np.int32 and chunked.left_out.dtype == np.int16
    assert np.isfinite(chunked.overall).sum() > 0.5 * chunked.overall.size


@pytest.mark.parametrize("ticker,row", [("AAPL", -1), ("NVDA", 700), ("XOM", 300)])
def test_a_breakdown_recomputed_alone_equals_the_full_pass(
    make_panel: PanelMaker, ticker: str, row: int
) -> None:
    close, volume, split = make_panel(REAL)
    bench = {t: "SPY" for t in close.columns}
    full = score_panel(close, volume, split, bench)
    col = list(close.columns).index(ticker)
    alone = breakdown_frames(close, volume, split, ticker, "SPY", row, CompositeWeights())
    for name in FLOAT_FIELDS:
        a, b = getattr(alone, name)[0, 0], getattr(full, name)[row, col]
        assert (np.isnan(a) and np.isnan(b)) or abs(a - b) <= 1e-9 * max(1.0, abs(b)), name
    assert alone.n_closes[0, 0] == full.n_closes[row, col]
    assert alone.left_out[0, 0] == full.left_out[row, col]
