"""The portfolio categories: targets, benchmarks, members and their current scores."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from backend.api.deps import CategoriesDep, PortfolioViewsDep
from backend.api.errors import beyond_schema, error_responses
from backend.auth.deps import AdminUser
from backend.portfolios.categories import LISTED_ONCE, ONE_CATEGORY, TARGETS_SUM
from backend.portfolios.schemas import (
    CategoryAnalysisOut,
    CategoryDetail,
    CategoryList,
    CategoryOut,
    CategoryUpdate,
    TargetsUpdate,
    category_list,
    category_out,
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


@router.get("", response_model=CategoryList, responses=error_responses(422, 503))
def list_categories(service: CategoriesDep) -> CategoryList:
    """Every category with its target, benchmark and tickers."""
    return category_list(service.categories())


@router.put(
    "/targets",
    response_model=CategoryList,
    responses=_ADMIN,
    openapi_extra=beyond_schema(TARGETS_SUM),
)
def update_targets(body: TargetsUpdate, service: CategoriesDep, _: AdminUser) -> CategoryList:
    """Set several targets at once (admin token). The result must sum to 1 ± 0.001."""
    return category_list(service.update_targets(body.targets))


@router.get("/{name}", response_model=CategoryDetail, responses=_READ)
def get_category(name: Name, views: PortfolioViewsDep) -> CategoryDetail:
    """A category and its tickers with their current scores, highest first (unscored last)."""
    return views.category_detail(name)


@router.get("/{name}/analysis", response_model=CategoryAnalysisOut, responses=_READ)
def category_analysis(name: Name, views: PortfolioViewsDep) -> CategoryAnalysisOut:
    """Average and value-weighted score, best and worst member, and the benchmark's score."""
    return views.category_analysis(name)


@router.put(
    "/{name}",
    response_model=CategoryOut,
    responses=_ADMIN,
    openapi_extra=beyond_schema(TARGETS_SUM, ONE_CATEGORY, LISTED_ONCE),
)
def update_category(
    name: Name, body: CategoryUpdate, service: CategoriesDep, _: AdminUser
) -> CategoryOut:
    """Change a category's target, benchmark or tickers (admin token). Targets must still sum
    to 1 ± 0.001 (use PUT /categories/targets to move several at once); a ticker belongs to
    one category only."""
    return category_out(service.update_category(name, body.target, body.benchmark, body.tickers))
