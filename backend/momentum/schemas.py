"""Response models of the momentum API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from backend.validation import RequestModel

# Longer than any ticker (1-15 characters), so a malformed one still gets its own error entry;
# the whole body is refused only past this.
MAX_BATCH_ITEM_LENGTH = 32
MAX_BATCH_TICKERS = 500


class LeftOut(BaseModel):
    name: str = Field(description="What was left out of the score, e.g. r252, volume, relative")
    reason: str


class MomentumScore(BaseModel):
    ticker: str = Field(description="The stored ticker the score is for")
    requested_ticker: str = Field(description="The ticker as asked (an alias resolves: META->FB)")
    name: str | None = None
    overall_momentum_score: float = Field(description="0-100, rounded to 2 decimals")
    rating: str = Field(description="Strong Buy, Buy, Hold, Weak Hold or Sell (unrounded score)")
    price_momentum: float
    technical_momentum: float
    relative_momentum: float | None = Field(
        description="Null when left out (benchmark without enough prices); see left_out"
    )
    percentile_rank: float = Field(description="0-100 among the universe on the same date")
    universe: str
    universe_size: int = Field(description="Securities scored in the universe on that date")
    as_of: dt.date = Field(description="Date of the last close used")
    current_price: float = Field(description="The close on as_of, as traded")
    price_basis: str = Field(
        description="'close' (as traded) or 'adj_close' when the source had no raw close"
    )
    data_source: str | None = Field(
        description="Where the prices came from (sample, csv:..., yfinance)"
    )
    complete: bool = Field(description="True only when nothing was left out")
    left_out: list[LeftOut]
    closes_used: int
    model_version: str


class MomentumBreakdown(BaseModel):
    """Every intermediate of the model at one date (unrounded)."""

    ticker: str
    as_of: dt.date
    model_version: str
    benchmark: str
    closes_used: int
    returns: dict[str, float | None] = Field(description="r(21), r(63), r(126), r(252)")
    weighted_return: float | None
    sma: dict[str, float | None] = Field(description="SMA 20, 50, 200 and SMA 20 ten rows earlier")
    trend: float | None = Field(description="D, 0-20")
    magnitude: float | None = Field(description="M, 0-40")
    acceleration_input: float | None = Field(description="acc = (1+r21)^12 - (1+r63)^4")
    slope: float | None
    acceleration: float | None = Field(description="A, 0-40")
    price_momentum: float | None
    rsi: float | None
    rsi_score: float | None
    volume_ratio: float | None
    volume_score: float | None
    roc: float | None
    roc_score: float | None
    technical_momentum: float | None
    benchmark_return_21: float | None
    relative_gap: float | None = Field(description="g = r(21) - r_B(21)")
    relative_momentum: float | None
    overall_momentum_score: float
    rating: str
    weights: dict[str, float]
    complete: bool
    left_out: list[LeftOut]


class HistoryPoint(BaseModel):
    date: dt.date
    overall_momentum_score: float
    rating: str
    price_momentum: float
    technical_momentum: float
    relative_momentum: float | None
    percentile_rank: float
    complete: bool


class MomentumHistory(BaseModel):
    ticker: str
    start: dt.date | None
    end: dt.date | None
    universe: str
    model_version: str
    data_source: str | None
    count: int
    first_scored_date: dt.date | None = Field(
        description="The first date with enough history (64 closes) for a score"
    )
    points: list[HistoryPoint]


class BatchRequest(RequestModel):
    tickers: list[Annotated[str, StringConstraints(max_length=MAX_BATCH_ITEM_LENGTH)]] = Field(
        min_length=1,
        max_length=MAX_BATCH_TICKERS,
        description="1 to 500 tickers; a malformed one gets its own error entry",
    )


class BatchError(BaseModel):
    code: str
    message: str
    details: dict[str, object] = Field(default_factory=dict)


class BatchEntry(BaseModel):
    ticker: str
    score: MomentumScore | None = None
    error: BatchError | None = None


class BatchResponse(BaseModel):
    count: int
    succeeded: int
    failed: int
    results: list[BatchEntry]


class TopResponse(BaseModel):
    universe: str
    as_of: dt.date
    universe_size: int
    limit: int
    results: list[MomentumScore]
