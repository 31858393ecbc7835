"""The research service over an in-memory score book (no database), and the README report."""

from __future__ import annotations

import xml.dom.minidom

import numpy as np
import pandas as pd
import pytest

from backend.market_data.store import PricePanel
from backend.momentum.book_frames import BookFrames
from backend.momentum.engine import CompositeWeights, score_panel
from backend.momentum.service import ScoreBook, benchmarks_for
from backend.research.backtest import BacktestParams
from backend.research.models import MODELS, model_names
from backend.research.report import BEGIN, END, markdown_table, replace_section, svg_chart
from backend.research.service import ResearchService

pytestmark = pytest.mark.unit


def book(seed: int, version: int) -> ScoreBook:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2019-01-01", periods=420)
    cols = [f"S{i:02d}" for i in range(12)] + ["SPY"]
    close = pd.DataFrame(
        20.0 * np.exp(np.cumsum(rng.normal(0.0004, 0.02, (420, 13)), axis=0)), dates, cols
    )
    volume = pd.DataFrame(rng.integers(1_000, 9_000, (420, 13)).astype(float), dates, cols)
    split = pd.DataFrame(1.0, index=dates, columns=cols)
    securities = pd.DataFrame(
        {
            "name": None,
            "sector": None,
            "category": None,
            "is_fixed_income": False,
            "data_source": "test",
        },
        index=pd.Index(cols, name="ticker"),
    )
    panel = PricePanel(close, close, volume, split, securities, version)
    benchmarks = benchmarks_for(securities)
    frames = score_panel(close, volume, split, benchmarks)
    return ScoreBook(panel, BookFrames.of(frames), CompositeWeights(), {}, benchmarks)


class Momentum:
    def __init__(self, b: ScoreBook) -> None:
        self.current = b

    def book(self, version: int | None = None) -> ScoreBook:
        return self.current


def test_signals_are_computed_once_per_data_version() -> None:
    momentum = Momentum(book(1, 1))
    svc = ResearchService(momentum)  # type: ignore[arg-type]
    jt = MODELS["jt-12-1"]
    first = svc.signals(jt)
    assert svc.signals(jt) is first
    a = svc.backtest("jt-12-1", "all", BacktestParams(quantiles=3))
    assert svc.backtest("jt-12-1", "all", BacktestParams(quantiles=3)) is a
    momentum.current = book(2, 2)  # the store's data version moved
    assert svc.signals(jt) is not first
    b = svc.backtest("jt-12-1", "all", BacktestParams(quantiles=3))
    assert b.data_version == 2 and b.ic.mean != a.ic.mean
    # alphavelocity-v1 is the score book's own array, not recomputed
    assert svc.signals(MODELS["alphavelocity-v1"])["overall"] is momentum.current.frames.overall


def test_backtest_ranks_members_not_the_benchmark() -> None:
    svc = ResearchService(Momentum(book(3, 1)))  # type: ignore[arg-type]
    r = svc.backtest("rs-rating", "all", BacktestParams(quantiles=3))
    assert r.universe_size == 12 and r.benchmark == "SPY"
    assert r.growth.benchmark is not None


def test_compare_and_the_report() -> None:
    svc = ResearchService(Momentum(book(4, 1)))  # type: ignore[arg-type]
    cmp = svc.compare(model_names(), "all", BacktestParams(quantiles=3))
    assert [row.model for row in cmp.summary] == model_names()
    assert len({r.first_rebalance for r in cmp.results}) == 1
    table = markdown_table(cmp)
    assert len(table.strip().splitlines()) == 2 + 4
    svg = svg_chart(cmp, "test chart")
    xml.dom.minidom.parseString(svg)  # well-formed
    assert svg.count("<polyline") == 4 + 2  # four models, the universe, SPY
    text = "# title\n\nbefore\n\n" + BEGIN + "\nold\n" + END + "\n\nafter\n"
    once = replace_section(text, BEGIN + "\nnew\n" + END)
    assert once == "# title\n\nbefore\n\n" + BEGIN + "\nnew\n" + END + "\n\nafter\n"
    assert replace_section(once, BEGIN + "\nnew\n" + END) == once
