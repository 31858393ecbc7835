"""The tests' slice of real prices (``tests/fixtures/real_prices/``): the files its PROVENANCE.md
describes, and, when ``../shared/data`` is here, exactly what a fresh cut from it gives."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from tests.support.real_prices import (
    NEEDS_SHARED,
    SHARED_DATA,
    SHARED_PRICES,
    SLICE_DIR,
    SLICE_PRICES,
    SLICE_SPY,
    TICKERS,
    build,
)

pytestmark = pytest.mark.unit


def test_the_slice_holds_the_named_tickers_over_the_whole_window() -> None:
    bars = pd.read_csv(SLICE_PRICES, dtype={"date": str, "ticker": str})
    assert sorted(bars["ticker"].unique()) == sorted(TICKERS) and len(bars) == 30_678
    assert (bars["date"].min(), bars["date"].max()) == ("2016-01-04", "2021-04-21")
    spy = pd.read_csv(SLICE_SPY, dtype={"date": str})
    assert list(spy.columns) == ["date", "adj_close"] and len(spy) == 1_334
    assert set(spy["date"]) == set(bars["date"])  # the same trading days


def test_the_provenance_names_each_file_and_its_sha256() -> None:
    text = (SLICE_DIR / "PROVENANCE.md").read_text(encoding="utf-8")
    for path in (SLICE_PRICES, SLICE_SPY):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert f"* `{path.name}` (output): `{digest}`" in text
    assert ", ".join(sorted(TICKERS)) in " ".join(text.split())
    assert ".venv/bin/python -m tests.support.real_prices ../shared/data" in text


@pytest.mark.skipif(
    not SHARED_PRICES.is_file(), reason=f"re-cutting the slice {NEEDS_SHARED}: {SHARED_DATA}"
)
def test_a_fresh_cut_from_the_shared_data_gives_the_same_bytes() -> None:
    for path, data in build(SHARED_DATA).items():
        assert data == path.read_bytes(), path.name
