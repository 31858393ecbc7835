"""Stored daily prices of one security, and the list of stored securities.

Read-only views of the price store: what the dashboard draws its price chart from (the SMAs are
computed by the page from `adj_close`, the close the model scores) and where it finds each
security's name and sector. Nothing here asks the live provider: a ticker the store does not
hold is 404 (asking its momentum score first is what fetches it, when a provider is set)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import AfterValidator, BaseModel, Field

from backend.api.deps import StoreDep
from backend.api.errors import beyond_schema, error_responses
from backend.errors import START_NOT_AFTER_END, InvalidInput, NotFound
from backend.momentum.dates import FUTURE_RULE, NOT_IN_FUTURE, not_in_future
from backend.reference.tickers import TICKER_PATTERN, TICKER_RULE
from backend.validation import IsoDate

router = APIRouter(tags=["prices"])


class PriceBar(BaseModel):
    date: dt.date
    open: float | None = None
    high: float | None = None
    low: float | None = None
    close: float | None = Field(
        None, description="The close as traded (null if the source had none)"
    )
    adj_close: float = Field(
        description="Split- and dividend-adjusted close (what the model scores)"
    )
    volume: int | None = None
    dividend: float = 0.0
    split: float = 1.0


class SecurityOut(BaseModel):
    ticker: str
    name: str | None = None
    sector: str | None = None
    category: str | None = None
    is_fixed_income: bool = False
    data_source: str | None = Field(None, description="sample, csv:<file> or yfinance")
    bars: int = Field(0, description="Daily bars stored")
    first_date: dt.date | None = None
    last_date: dt.date | None = None


class PriceSeries(SecurityOut):
    requested_ticker: str = Field(description="The ticker as asked (an alias resolves: META->FB)")
    start: dt.date | None = Field(None, description="The start asked for")
    end: dt.date | None = Field(None, description="The end asked for")
    count: int = Field(description="Bars in the answer")
    prices: list[PriceBar]


class SecurityList(BaseModel):
    count: int
    securities: list[SecurityOut]


@router.get(
    "/prices/{ticker}",
    response_model=PriceSeries,
    responses=error_responses(404, 422, 503),
    openapi_extra=beyond_schema(NOT_IN_FUTURE, START_NOT_AFTER_END),
)
def prices(
    ticker: Annotated[
        str, Path(pattern=TICKER_PATTERN, description=f"Ticker symbol: {TICKER_RULE}; any case")
    ],
    store: StoreDep,
    start: Annotated[
        IsoDate | None,
        Query(description=f"First date (YYYY-MM-DD); {FUTURE_RULE}"),
        AfterValidator(not_in_future),
    ] = None,
    end: Annotated[
        IsoDate | None,
        Query(description=f"Last date (YYYY-MM-DD); {FUTURE_RULE}"),
        AfterValidator(not_in_future),
    ] = None,
) -> PriceSeries:
    """The stored daily bars of one security between `start` and `end` (both inclusive),
    oldest first, with its name, sector and data source."""
    if start is not None and end is not None and start > end:
        raise InvalidInput(
            f"start {start} is after end {end}",
            {"field": "start", "rule": START_NOT_AFTER_END.rule},
        )
    requested = ticker.upper()
    stored = store.resolve(requested)
    if stored is None:
        raise NotFound(f"no prices stored for {requested}", {"ticker": requested})
    info = next(iter(store.securities([stored])), {"ticker": stored})
    bars = [PriceBar(**b) for b in store.bars(stored, start, end)]
    return PriceSeries(
        **info,
        requested_ticker=requested,
        start=start,
        end=end,
        count=len(bars),
        prices=bars,
    )


@router.get("/securities", response_model=SecurityList, responses=error_responses(503))
def securities(store: StoreDep) -> SecurityList:
    """Every stored security: name, sector, data source and the span of its bars."""
    rows = [SecurityOut(**s) for s in store.securities()]
    return SecurityList(count=len(rows), securities=rows)
