"""Request and response models of the watchlist APIs: the momentum watchlist per category and
a user's named watchlists."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from backend.reference.tickers import TICKER_PATTERN
from backend.validation import RequestModel, SafeStr

# ---------------------------------------------------------------------------- momentum watchlist


class WatchCandidate(BaseModel):
    ticker: str = Field(description="The stored ticker")
    member: str = Field(description="The category's name for it (differs for an alias)")
    name: str | None
    score: float = Field(description="Momentum score 0-100, as GET /momentum/{ticker} answers")
    rating: str
    percentile_rank: float = Field(description="Percentile among all stored securities")
    as_of: dt.date = Field(description="The date of the score (the ticker's last close)")
    score_20d_earlier: float | None = Field(
        description="The score 20 trading days (the ticker's closes) before `as_of`"
    )
    score_20d_earlier_date: dt.date | None
    score_change_20d: float | None = Field(description="score − score_20d_earlier; null: see note")
    change_note: str | None = Field(description="Why the 20-day change is null")


class UnscoredMember(BaseModel):
    ticker: str
    reason: str


class WatchCategory(BaseModel):
    name: str
    slug: str
    target: float
    current_weight: float | None = Field(
        description="The category's share of the portfolio's total value (cash included), "
        "as its analysis says; null when the portfolio has no value"
    )
    allocation_gap: float | None = Field(description="target − current_weight (positive: under)")
    priority: Literal["high", "medium", "low"] | None = Field(
        description="high: gap > 0.02; medium: 0 < gap ≤ 0.02; low: otherwise; null with no gap"
    )
    held: list[str] = Field(description="Members the portfolio holds (left out)")
    candidates: list[WatchCandidate] = Field(description="Strongest first")
    qualified: int = Field(description="Members that qualified before the per-category cut")
    unscored: list[UnscoredMember] = Field(description="Members without a score, and why")


class WatchSummary(BaseModel):
    candidates: int
    high_priority_categories: list[str] = Field(description="Their slugs")


class MomentumWatchlistOut(BaseModel):
    portfolio_id: int | None = Field(description="Null for the model portfolio")
    portfolio_name: str
    min_score: float
    max_per_category: int
    as_of: dt.date | None = Field(description="Newest score date used")
    prices_as_of: dt.date | None = Field(description="Newest price date of the portfolio")
    data_version: int
    data_sources: list[str] = Field(description="Where the candidates' prices came from")
    categories: list[WatchCategory]
    summary: WatchSummary
    notes: list[str]


# ---------------------------------------------------------------------------- named watchlists


class WatchlistName(RequestModel):
    name: SafeStr = Field(
        min_length=1,
        max_length=100,
        description="Unique among your watchlists; at most WATCHLIST_NAME_MAX_LENGTH characters",
    )


class WatchlistTickerIn(RequestModel):
    ticker: str = Field(pattern=TICKER_PATTERN, examples=["NVDA"])


class WatchlistOut(BaseModel):
    id: int
    name: str
    tickers: int
    created_at: dt.datetime
    updated_at: dt.datetime


class WatchlistItemOut(BaseModel):
    ticker: str = Field(description="The stored ticker")
    added_at: dt.datetime
    added_score: float | None = Field(description="The score when it was added")
    added_score_date: dt.date | None
    added_note: str | None = Field(description="Why it had no score when added")
    score: float | None
    rating: str | None
    percentile_rank: float | None
    as_of: dt.date | None
    change_since_added: float | None = Field(description="score − added_score")
    note: str | None = Field(description="Why the score or the change is null")


class WatchlistDetail(WatchlistOut):
    items: list[WatchlistItemOut]


class SkippedTicker(BaseModel):
    ticker: str
    reason: str


class FillResult(BaseModel):
    category: str
    portfolio_id: int | None = Field(description="Null: the model portfolio")
    added: list[str]
    skipped: list[SkippedTicker]
    watchlist: WatchlistDetail
