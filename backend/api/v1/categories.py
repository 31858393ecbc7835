"""The portfolio categories: targets, benchmarks, members and their current scores."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from backend.api.deps import PortfoliosDep
from backend.api.errors import beyond_schema, error_responses
from backend.auth.deps import AdminUser
from backend.market_data.categories import CategoryRecord as CategoryInfo
from backend.portfolios.schemas import (
    CategoryAnalysisOut,
    CategoryDetail,
    CategoryList,
    CategoryOut,
    CategoryUpdate,
    ScoredTicker,
    TargetsUpdate,
)
from backend.portfolios.service import (
    LISTED_ONCE,
    ONE_CATEGORY,
    TARGETS_SUM,
    Quote,
)

router = APIRouter(prefix="/categories", tags=["categories"])

Name = Annotated[
    str,
    Path(max_length=100, description="Slug (large-cap-anchors) or name, any case"),
]
# Admin edits: no/wrong token 401, a user's token or no ADMIN_TOKEN 403, an unknown category
# 404, a body past the limit 413, invalid input 422, the database 503.
_ADMIN = error_responses(401, 403, 404, 413, 422, 503)
_READ = error_responses(404, 422, 503)


def _out(c: CategoryInfo) -> CategoryOut:
    return CategoryOut(
        name=c.name,
        slug=c.slug,
        target=c.target,
        benchmark=c.benchmark,
        is_fixed_income=c.is_fixed_income,
        tickers=list(c.tickers),
    )


def _scored(q: Quote) -> ScoredTicker:
    return ScoredTicker(
        ticker=q.ticker,
        stored_ticker=q.stored_ticker,
        score=q.score,
        rating=q.rating,
        price=q.price,
        price_date=q.price_date,
        note=q.note,
    )


def _list(cats: list[CategoryInfo]) -> CategoryList:
    return CategoryList(
        count=len(cats),
        targets_sum=round(sum(c.target for c in cats), 10),
        categories=[_out(c) for c in cats],
    )


@router.get("", response_model=CategoryList, responses=error_responses(422, 503))
def list_categories(service: PortfoliosDep) -> CategoryList:
    """Every category with its target, benchmark and tickers."""
    return _list(service.categories())


@router.put(
    "/targets",
    response_model=CategoryList,
    responses=_ADMIN,
    openapi_extra=beyond_schema(TARGETS_SUM),
)
def update_targets(body: TargetsUpdate, service: PortfoliosDep, _: AdminUser) -> CategoryList:
    """Set several targets at once (admin token). The result must sum to 1 ± 0.001."""
    return _list(service.update_targets(body.targets))


@router.get("/{name}", response_model=CategoryDetail, responses=_READ)
def get_category(name: Name, service: PortfoliosDep) -> CategoryDetail:
    """A category and its tickers with their current scores, highest first (unscored last)."""
    cat = service.category(name)
    quotes = service.quotes(cat.tickers)
    ordered = sorted(quotes.values(), key=lambda q: (q.score is None, -(q.score or 0.0), q.ticker))
    return CategoryDetail(**_out(cat).model_dump(), scores=[_scored(q) for q in ordered])


@router.get("/{name}/analysis", response_model=CategoryAnalysisOut, responses=_READ)
def category_analysis(name: Name, service: PortfoliosDep) -> CategoryAnalysisOut:
    """Average and value-weighted score, best and worst member, and the benchmark's score."""
    r = service.category_analysis(name)
    return CategoryAnalysisOut(
        name=r.category.name,
        slug=r.category.slug,
        target=r.category.target,
        benchmark=r.category.benchmark,
        members=len(r.category.tickers),
        scored=len(r.scored),
        average_score=None if r.average_score is None else round(r.average_score, 2),
        value_weighted_score=(
            None if r.value_weighted_score is None else round(r.value_weighted_score, 2)
        ),
        value_weighted_over=r.value_weighted_over,
        best=_scored(r.scored[0]) if r.scored else None,
        worst=_scored(r.scored[-1]) if r.scored else None,
        benchmark_score=_scored(r.benchmark),
        unscored=[_scored(q) for q in r.unscored],
    )


@router.put(
    "/{name}",
    response_model=CategoryOut,
    responses=_ADMIN,
    openapi_extra=beyond_schema(TARGETS_SUM, ONE_CATEGORY, LISTED_ONCE),
)
def update_category(
    name: Name, body: CategoryUpdate, service: PortfoliosDep, _: AdminUser
) -> CategoryOut:
    """Change a category's target, benchmark or tickers (admin token). Targets must still sum
    to 1 ± 0.001 (use PUT /categories/targets to move several at once); a ticker belongs to
    one category only."""
    return _out(service.update_category(name, body.target, body.benchmark, body.tickers))
