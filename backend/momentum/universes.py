"""Universes: the sets of securities ranked together (percentile ranks, top lists)."""

from __future__ import annotations

from backend.errors import InvalidInput, Rule
from backend.portfolios.model_portfolio import CATEGORIES, MODEL_HOLDINGS, slug

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
    return [ALL, MODEL_PORTFOLIO] + [slug(c.name) for c in CATEGORIES]


def universe_members(name: str) -> list[str] | None:
    """The listed tickers of a universe (None for `all`: every stored security).

    Raises InvalidInput for an unknown name, listing the known ones."""
    if name == ALL:
        return None
    if name == MODEL_PORTFOLIO:
        return list(MODEL_HOLDINGS)
    for category in CATEGORIES:
        if slug(category.name) == name:
            return list(category.tickers)
    raise InvalidInput(
        f"unknown universe {name!r}",
        {"field": "universe", "value": name, "known": universe_names()},
    )
