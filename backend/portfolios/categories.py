"""The categories: reading them (from the database, through the store's category repository)
and the admin's edits of targets, benchmarks and members.

Every edit moves the store's data version in its own transaction: the score book, its universes
and every cached score are keyed by it, so none of them can serve the categories of before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from sqlalchemy import Engine, delete, update
from sqlalchemy.orm import Session

from backend.db.engine import make_session_factory
from backend.db.models import Category, CategoryMember
from backend.errors import InvalidInput, NotFound, Rule
from backend.market_data.categories import (
    CategoryRecord,
    CategoryRepository,
    bump_data_version,
    read_categories,
)
from backend.portfolios.analysis import CategoryTarget, category_targets
from backend.reference.tickers import TICKER_RULE, normalize_ticker

TARGET_TOLERANCE = 0.001
# The rules of these edits that no schema can state (declared by their routes).
TARGETS_SUM = Rule(
    "invalid_input",
    f"category targets must sum to 1 (within {TARGET_TOLERANCE})",
    f"after the change, the category targets must sum to 1 (within {TARGET_TOLERANCE})",
)
ONE_CATEGORY = Rule(
    "invalid_input", "a ticker belongs to one category", "a ticker belongs to one category only"
)
LISTED_ONCE = Rule("invalid_input", "unique", "each ticker at most once, whatever its case")


def find_category(cats: Sequence[CategoryRecord], name: str) -> CategoryRecord:
    """A category by slug (`large-cap-anchors`) or name, case-insensitive; NotFound listing the
    known slugs."""
    key = name.strip().lower()
    for c in cats:
        if key in (c.slug, c.name.lower()):
            return c
    raise NotFound(f"no category {name!r}", {"category": name, "known": [c.slug for c in cats]})


def _check_targets_sum(targets: Mapping[str, float]) -> None:
    total = sum(targets.values())
    if abs(total - 1.0) > TARGET_TOLERANCE:
        rule = TARGETS_SUM.rule
        raise InvalidInput(
            f"{rule}; with this change they sum to {total:.6g}",
            {"field": "target", "rule": rule, "sum": total, "targets": dict(targets)},
        )


def _check_target(value: float, name: str) -> None:
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise InvalidInput(
            f"target of {name!r} must be between 0 and 1, not {value}",
            {"field": "target", "rule": "0 <= target <= 1", "category": name},
        )


def _members(cats: Sequence[CategoryRecord], cat: CategoryRecord, raw: Sequence[str]) -> list[str]:
    """The new members of `cat`, normalised; InvalidInput naming the field and the rule."""
    owner = {t: c for c in cats if c.id != cat.id for t in c.tickers}
    tickers: list[str] = []
    for i, value in enumerate(raw):
        ticker = normalize_ticker(value)
        if ticker is None:
            raise InvalidInput(
                f"ticker {value!r} is malformed: it must be {TICKER_RULE}",
                {"field": f"tickers.{i}", "rule": TICKER_RULE},
            )
        if ticker in owner:
            raise InvalidInput(
                f"{ticker} already belongs to category {owner[ticker].name!r}; a ticker "
                "belongs to one category only (remove it there first)",
                {
                    "field": f"tickers.{i}",
                    "rule": ONE_CATEGORY.rule,
                    "ticker": ticker,
                    "category": owner[ticker].slug,
                },
            )
        if ticker in tickers:
            raise InvalidInput(
                f"{ticker} is listed twice",
                {"field": f"tickers.{i}", "rule": LISTED_ONCE.rule, "ticker": ticker},
            )
        tickers.append(ticker)
    return tickers


class CategoryService:
    def __init__(self, engine: Engine, repository: CategoryRepository) -> None:
        self.sessions = make_session_factory(engine)
        self.repository = repository

    # ------------------------------------------------------------------ reads

    def categories(self) -> list[CategoryRecord]:
        return list(self.repository.current().categories)

    def category(self, name: str) -> CategoryRecord:
        """A category by slug (`large-cap-anchors`) or name, case-insensitive."""
        return find_category(self.categories(), name)

    def targets(self) -> tuple[CategoryTarget, ...]:
        return category_targets(self.categories())

    def model_holdings(self) -> dict[str, float]:
        """The model portfolio's shares today (floats: its views are floating-point maths)."""
        return dict(self.repository.current().model_holdings)

    # ------------------------------------------------------------------ admin edits

    def update_category(
        self,
        name: str,
        target: float | None = None,
        benchmark: str | None = None,
        tickers: Sequence[str] | None = None,
    ) -> CategoryRecord:
        """Change one category (admin). Targets must still sum to 1 within 0.001; a ticker
        may belong to one category only."""
        with self.sessions() as s, s.begin():
            bump_data_version(s)
            cats = read_categories(s)
            cat = find_category(cats, name)
            row = s.get(Category, cat.id)
            assert row is not None
            if target is not None:
                _check_target(target, cat.name)
                _check_targets_sum({c.name: (target if c.id == cat.id else c.target) for c in cats})
                row.target = target
            if benchmark is not None:
                bench = normalize_ticker(benchmark)
                if bench is None:
                    raise InvalidInput(
                        f"benchmark {benchmark!r} is malformed: it must be {TICKER_RULE}",
                        {"field": "benchmark", "rule": TICKER_RULE},
                    )
                row.benchmark = bench
            if tickers is not None:
                self._replace_members(s, cat, _members(cats, cat, tickers))
        return self.category(cat.slug)

    @staticmethod
    def _replace_members(s: Session, cat: CategoryRecord, tickers: Sequence[str]) -> None:
        s.execute(delete(CategoryMember).where(CategoryMember.category_id == cat.id))
        s.flush()
        s.add_all(
            CategoryMember(ticker=t, category_id=cat.id, position=k) for k, t in enumerate(tickers)
        )

    def update_targets(self, targets: Mapping[str, float]) -> list[CategoryRecord]:
        """Set several targets at once (admin); the categories not named keep theirs."""
        with self.sessions() as s, s.begin():
            bump_data_version(s)
            cats = read_categories(s)
            new = {c.name: c.target for c in cats}
            rows: dict[int, float] = {}
            for key, value in targets.items():
                cat = find_category(cats, key)
                _check_target(value, cat.name)
                new[cat.name] = value
                rows[cat.id] = value
            _check_targets_sum(new)
            for cat_id, value in rows.items():
                s.execute(update(Category).where(Category.id == cat_id).values(target=value))
        return self.categories()
