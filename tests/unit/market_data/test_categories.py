"""The category repository: one snapshot per data version, read again after an edit."""

from __future__ import annotations

import pytest

from backend.errors import InvalidInput
from backend.market_data.store import PriceStore
from backend.portfolios.categories import CategoryService
from backend.reference.seed import SEED_CATEGORIES, SEED_MODEL_HOLDINGS, slug


def test_the_snapshot_is_the_seed_of_a_new_database(empty_store: PriceStore) -> None:
    snapshot = empty_store.categories.current()
    assert [(c.slug, c.target, c.benchmark, c.tickers) for c in snapshot.categories] == [
        (slug(c.name), c.target, c.benchmark, tuple(c.tickers)) for c in SEED_CATEGORIES
    ]
    assert snapshot.model_holdings == {t: float(n) for t, n in SEED_MODEL_HOLDINGS.items()}
    assert snapshot.by_ticker()["SHY"].is_fixed_income


def test_kept_while_the_version_stands_and_read_again_after_an_edit(
    empty_store: PriceStore,
) -> None:
    repo = empty_store.categories
    first = repo.current()
    assert repo.current() is first
    version = empty_store.data_version()
    service = CategoryService(empty_store.engine, repo)
    service.update_category("specialized-materials-etfs", tickers=["remx", "LIT", "URA"])
    # The edit moved the data version: every cache keyed by it (scores too) starts afresh.
    assert empty_store.data_version() == version + 1
    after = repo.current()
    assert after is not first and after.data_version == version + 1
    assert after.by_ticker()["URA"].slug == "specialized-materials-etfs"
    assert service.category("Specialized Materials ETFs").tickers == ("REMX", "LIT", "URA")


def test_a_refused_edit_changes_nothing(empty_store: PriceStore) -> None:
    service = CategoryService(empty_store.engine, empty_store.categories)
    version = empty_store.data_version()
    with pytest.raises(InvalidInput, match="Large-Cap Anchors"):  # NVDA belongs there
        service.update_category("specialized-materials-etfs", tickers=["NVDA"])
    assert empty_store.data_version() == version
    assert service.category("specialized-materials-etfs").tickers == ("REMX", "LIT")
