"""Request and response models of the alerts API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from backend.alerts.rules import NEEDS_LEVEL, Condition, level_problem
from backend.reference.tickers import TICKER_PATTERN
from backend.validation import RequestModel, SafeStr

# The schema's hard bound; ALERT_TICKERS_MAX_PER_RULE (at most this) is the one enforced.
TICKERS_CEILING = 500
CONDITIONS = (
    "rating_change; score_crosses_above / score_crosses_below (need `level`, 0-100); "
    "enters_top_quintile / leaves_top_quintile (percentile 80 in universe `all`)"
)


def _not_a_boolean(value: Any) -> Any:
    """`value` unchanged unless it is true or false, which pydantic would read as 1 or 0."""
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "a boolean is not a number")
    return value


class TickersTarget(RequestModel):
    """A list of tickers (alias-aware; those without stored prices are skipped, said so)."""

    kind: Literal["tickers"]
    tickers: list[Annotated[str, Field(pattern=TICKER_PATTERN)]] = Field(
        min_length=1, max_length=TICKERS_CEILING
    )


class PortfolioTarget(RequestModel):
    """The open positions of one of your portfolios, as they are at each evaluation."""

    kind: Literal["portfolio"]
    # The validator after the bounds, or the schema loses them.
    portfolio_id: Annotated[int, Field(ge=1, le=2**31 - 1), BeforeValidator(_not_a_boolean)]


class WatchlistTarget(RequestModel):
    """The tickers of one of your watchlists, as they are at each evaluation."""

    kind: Literal["watchlist"]
    watchlist_id: Annotated[int, Field(ge=1, le=2**31 - 1), BeforeValidator(_not_a_boolean)]


# Told apart by `kind` (a plain union: RequestModel's text check runs before any field, which
# pydantic's discriminator does not allow).
RuleTarget = Union[TickersTarget, PortfolioTarget, WatchlistTarget]


class RuleIn(RequestModel):
    name: SafeStr = Field(min_length=1, max_length=100)
    target: RuleTarget
    condition: Condition = Field(description=CONDITIONS)
    # strict: a JSON number only (false is not 0, "50" is not 50).
    level: float | None = Field(
        None,
        ge=0,
        le=100,
        strict=True,
        description="the score level of a crossing (0-100); else absent",
    )
    enabled: bool = Field(True, strict=True)  # true or false, not 0 or "yes"

    @model_validator(mode="after")
    def _level_suits_condition(self) -> "RuleIn":
        problem = level_problem(self.condition, self.level)
        if problem is not None:
            raise ValueError(problem)
        return self

    @classmethod
    def schema_rules(cls) -> list[dict[str, Any]]:
        """A score crossing needs a level; the other conditions take none."""
        crossings = sorted(c.value for c in NEEDS_LEVEL)
        return [
            {
                "if": {"properties": {"condition": {"enum": crossings}}},
                "then": {"required": ["level"], "properties": {"level": {"type": "number"}}},
                "else": {"properties": {"level": {"type": "null"}}},
            }
        ]


class TargetOut(BaseModel):
    kind: Literal["tickers", "portfolio", "watchlist"]
    tickers: list[str] | None = None
    portfolio_id: int | None = None
    watchlist_id: int | None = None


class RuleOut(BaseModel):
    id: int
    name: str
    target: TargetOut
    condition: Condition
    level: float | None
    enabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class StateOut(BaseModel):
    date: dt.date
    score: float
    rating: str
    percentile: float | None = Field(description="percentile rank in universe `all`")


class DeliveryOut(BaseModel):
    id: int
    data_version: int
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    http_status: int | None
    error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


class AlertOut(BaseModel):
    id: int
    rule_id: int
    ticker: str
    condition: Condition
    level: float | None
    message: str
    data_version: int = Field(description="the price store's data version it fired at")
    previous: StateOut
    current: StateOut
    created_at: dt.datetime
    read: bool
    read_at: dt.datetime | None
    delivery_status: Literal["none", "pending", "delivered", "failed"] = Field(
        description="none: no webhook was configured when it fired"
    )


class AlertPage(BaseModel):
    total: int = Field(description="alerts matching the filter")
    unread: int = Field(description="all your unread alerts")
    limit: int
    offset: int
    items: list[AlertOut]


class WebhookIn(RequestModel):
    url: str = Field(
        min_length=1,
        max_length=2048,
        pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[^\x00-\x20\x7f-\x9f]+$",
        description="https:// (plain http outside production); a public address",
    )


class WebhookOut(BaseModel):
    url: str | None = Field(description="null: no webhook configured")
    deliveries: list[DeliveryOut] = Field(description="the latest deliveries, newest first")


class EvaluationOut(BaseModel):
    outcome: Literal["evaluated", "already_evaluated", "superseded", "no_data"]
    data_version: int | None
    previous_version: int | None = None
    reference_date: dt.date | None = None
    last_date: dt.date | None = None
    rules: int = 0
    firings: int = 0
    deliveries: int = 0
