"""Universes: the sets of securities ranked together (percentile ranks, top lists).

`all` is every stored security, `model-portfolio` the model's holdings, and each category's slug
its members: as the database holds them at the score book's data version (the store's panel
carries that snapshot), so after an admin edits a category its universe ranks the new members.
"""

from __future__ import annotations

from backend.errors import InvalidInput, Rule
from backend.market_data.categories import CategorySnapshot
from backend.reference.seed import SEED_CATEGORIES, slug

ALL = "all"
MODEL_PORTFOLIO = "model-portfolio"
UNIVERSE_MEMBER = Rule(
    "invalid_input",
    "a member of the universe",
    "the ticker must be a member of ?universe= (`all` holds every stored security)",
)


def not_a_member(ticker: str, universe: str) -> InvalidInput:
    return InvalidInput(
        f"{ticker} is not a member of universe {universe!r}",
        {"field": "universe", "rule": UNIVERSE_MEMBER.rule, "ticker": ticker, "universe": universe},
    )


def universe_names() -> list[str]:
    """The universe names the API documents. Categories cannot be added or renamed through the
    API, so the seeded slugs are the category universes' names (their members are read from
    the database: `universe_members`)."""
    return [ALL, MODEL_PORTFOLIO] + [slug(c.name) for c in SEED_CATEGORIES]


def _unknown(name: str, known: list[str]) -> InvalidInput:
    return InvalidInput(
        f"unknown universe {name!r}", {"field": "universe", "value": name, "known": known}
    )


def check_universe(name: str) -> None:
    """InvalidInput unless `name` is a documented universe (a check before the store is read)."""
    if name not in universe_names():
        raise _unknown(name, universe_names())


def universe_members(name: str, snapshot: CategorySnapshot) -> list[str] | None:
    """The listed tickers of a universe in `snapshot` (None for `all`: every stored security).

    Raises InvalidInput for an unknown name, listing the known ones."""
    if name == ALL:
        return None
    if name == MODEL_PORTFOLIO:
        return list(snapshot.model_holdings)
    for category in snapshot.categories:
        if category.slug == name:
            return list(category.tickers)
    raise _unknown(name, [ALL, MODEL_PORTFOLIO] + [c.slug for c in snapshot.categories])
