"""Request and response models of the category and portfolio APIs."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from typing import Annotated, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from backend.market_data.categories import CategoryRecord
from backend.portfolios import decimals, ledger
from backend.portfolios.analysis import PortfolioAnalysis
from backend.portfolios.decimals import Amount, DecimalRuleError
from backend.portfolios.ledger import NOTE_MAX_LENGTH, TxType
from backend.portfolios.performance import PerformanceReport
from backend.portfolios.quotes import Quote
from backend.portfolios.rebalance import RebalancePlan
from backend.reference.tickers import TICKER_PATTERN
from backend.validation import IsoDate, MultilineStr, RequestModel, SafeStr

TX_TYPES = "BUY, SELL, DIVIDEND, SPLIT, DEPOSIT, WITHDRAW, FEE"

# ---------------------------------------------------------------------------- decimals
#
# Exact ledger figures are answered as JSON strings holding their decimal text ("5065.1",
# never 5065.099999999999): a JSON number would be read back as a binary float by most
# clients. Requests may send them as JSON numbers (read by their shortest decimal text: 0.1
# is 0.1) or as decimal strings. The bounds are the ledger's (backend/portfolios/decimals.py)
# and its rules answer 422 `ledger_rule` naming the field and the rule.


_INPUT_TEXT = re.compile(decimals.INPUT_TEXT_PATTERN)


def _decimal_in(value: Any) -> Decimal:
    if isinstance(value, str) and not _INPUT_TEXT.fullmatch(value):
        raise PydanticCustomError(
            "decimal_text",
            "a decimal string must be plain decimal text: up to {digits} digits, then at most "
            '{places} decimal places (e.g. "75.09")',
            {"digits": decimals.PRECISION - decimals.SCALE, "places": decimals.SCALE},
        )
    try:
        return decimals.parse(value)
    except DecimalRuleError as exc:
        raise PydanticCustomError(exc.rule, exc.message) from None


def _decimal_schema(minimum: str, description: str) -> dict[str, Any]:
    """A decimal input as a JSON number or its text. `multipleOf` is the 6-place rule: on the
    number as written, which is how the ledger reads it (0.3 is 0.3, a multiple of 0.000001)."""
    positive = minimum == "exclusiveMinimum"
    return {
        "anyOf": [
            {
                "type": "number",
                minimum: 0,
                "maximum": float(decimals.MAX_INPUT),
                "multipleOf": float(decimals.INPUT_QUANTUM),
            },
            {
                "type": "string",
                "pattern": (
                    decimals.POSITIVE_INPUT_TEXT_PATTERN
                    if positive
                    else decimals.INPUT_TEXT_PATTERN
                ),
            },
        ],
        "description": f"{description} A decimal with at most {decimals.SCALE} places, at most "
        f"{decimals.MAX_INPUT}: a JSON number or its decimal text.",
    }


DecimalOut = Annotated[
    Decimal,
    PlainSerializer(decimals.text, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "format": "decimal",
            "pattern": decimals.OUTPUT_TEXT_PATTERN,
            "description": "An exact decimal as text (no exponent, no trailing zeros)",
            "examples": ["5065.1"],
        },
        mode="serialization",
    ),
]
_IN = PlainValidator(_decimal_in)
Quantity = Annotated[
    Decimal,
    _IN,
    WithJsonSchema(
        _decimal_schema(
            "exclusiveMinimum",
            "Shares (BUY, SELL; DIVIDEND: shares paid on), the ratio (SPLIT: 4 for 4-for-1), "
            "or the cash amount (DEPOSIT, WITHDRAW, FEE); above 0.",
        )
    ),
]
Price = Annotated[
    Decimal,
    _IN,
    WithJsonSchema(
        _decimal_schema("minimum", "Per share (BUY, SELL; DIVIDEND: per-share dividend); cash: 1.")
    ),
]
Fees = Annotated[
    Decimal,
    _IN,
    WithJsonSchema(_decimal_schema("minimum", "Commission, withholding tax, ... (>= 0).")),
]
Shares = Annotated[
    Decimal, _IN, WithJsonSchema(_decimal_schema("exclusiveMinimum", "Shares, above 0."))
]
Cash = Annotated[Decimal, _IN, WithJsonSchema(_decimal_schema("minimum", "An amount >= 0."))]

# ---------------------------------------------------------------------------- categories


class ScoredTicker(BaseModel):
    ticker: str
    stored_ticker: str | None = Field(description="The stored name when an alias (META -> FB)")
    score: float | None = Field(description="Momentum score 0-100; null when there is none")
    rating: str | None
    price: float | None = Field(description="Last close as traded (adjusted when none)")
    price_date: dt.date | None
    note: str | None = Field(description="Why score or price is missing")


class CategoryOut(BaseModel):
    name: str
    slug: str
    target: float
    benchmark: str
    is_fixed_income: bool
    tickers: list[str]


class CategoryList(BaseModel):
    count: int
    targets_sum: float
    categories: list[CategoryOut]


class CategoryDetail(CategoryOut):
    scores: list[ScoredTicker] = Field(description="The tickers by score, highest first")


class CategoryAnalysisOut(BaseModel):
    name: str
    slug: str
    target: float
    benchmark: str
    members: int
    scored: int
    average_score: float | None = Field(description="Mean score of the scored members")
    value_weighted_score: float | None = Field(
        description="Scores weighted by the market value of the model portfolio's holdings "
        "in this category; null when it holds none with a price and a score"
    )
    value_weighted_over: list[str] = Field(description="The model holdings that weighted it")
    best: ScoredTicker | None
    worst: ScoredTicker | None
    benchmark_score: ScoredTicker
    unscored: list[ScoredTicker]


def category_out(c: CategoryRecord) -> CategoryOut:
    return CategoryOut(
        name=c.name,
        slug=c.slug,
        target=c.target,
        benchmark=c.benchmark,
        is_fixed_income=c.is_fixed_income,
        tickers=list(c.tickers),
    )


def category_list(cats: list[CategoryRecord]) -> CategoryList:
    return CategoryList(
        count=len(cats),
        targets_sum=round(sum(c.target for c in cats), 10),
        categories=[category_out(c) for c in cats],
    )


def scored_ticker(q: Quote) -> ScoredTicker:
    return ScoredTicker(
        ticker=q.ticker,
        stored_ticker=q.stored_ticker,
        score=q.score,
        rating=q.rating,
        price=q.price,
        price_date=q.price_date,
        note=q.note,
    )


Target = Annotated[float, Field(ge=0, le=1, strict=True)]
TickerIn = Annotated[str, Field(pattern=TICKER_PATTERN, examples=["NVDA"])]


class CategoryUpdate(RequestModel):
    target: Target | None = Field(None, description="0 to 1; all targets must sum to 1 ± 0.001")
    benchmark: TickerIn | None = None
    tickers: list[TickerIn] | None = Field(None, max_length=500)


class TargetsUpdate(RequestModel):
    targets: dict[Annotated[SafeStr, Field(max_length=100)], Target] = Field(
        description="Category slug or name -> target; the result must sum to 1 ± 0.001",
        min_length=1,
        max_length=50,
    )


# ---------------------------------------------------------------------------- portfolios


class PortfolioCreate(RequestModel):
    name: SafeStr = Field(min_length=1, max_length=100)


class PortfolioOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = Field(description="Goes up with every write")
    transactions: int


class PositionOut(BaseModel):
    ticker: str
    shares: DecimalOut
    cost_basis: DecimalOut
    average_cost: DecimalOut | None = Field(description="Cost basis / shares (12 places)")
    price: float | None = Field(description="Last close as traded; null when none is stored")
    price_date: dt.date | None
    market_value: DecimalOut | None = Field(
        description="This position only: shares x price (6 places); null without a price"
    )
    unrealised_gain: DecimalOut | None = Field(description="Null without a price (never 0)")
    realised_gain: DecimalOut
    dividends: DecimalOut
    fees: DecimalOut


class LedgerSummary(BaseModel):
    cash: DecimalOut
    deposits: DecimalOut
    withdrawals: DecimalOut
    implicit_deposits: DecimalOut = Field(
        description="Shortfalls of BUY/FEE entries funded from outside (cash never < 0)"
    )
    net_contributions: DecimalOut
    fees: DecimalOut
    dividends: DecimalOut
    realised_gain: DecimalOut
    unrealised_gain: DecimalOut | None = Field(description="Over the priced open positions")
    holdings_value: DecimalOut | None = Field(
        description="The open positions at market, without cash; null when one has no price"
    )
    total_value: DecimalOut | None = Field(
        description="holdings_value + cash; null when a position has no price"
    )
    unpriced: list[str]


class PortfolioDetail(PortfolioOut):
    summary: LedgerSummary
    positions: list[PositionOut] = Field(description="Open positions")
    closed_positions: list[PositionOut]


class TransactionIn(RequestModel):
    """One transaction. Which fields a type needs or refuses is in the schema's `allOf`
    (`schema_rules`, from the ledger's own type sets); the ledger checks them."""

    date: IsoDate
    type: TxType = Field(description=TX_TYPES, examples=["BUY"])
    ticker: TickerIn | None = None
    quantity: Quantity
    price: Price | None = None
    fees: Fees | None = None
    note: MultilineStr | None = Field(None, max_length=NOTE_MAX_LENGTH)

    @classmethod
    def schema_rules(cls) -> list[dict[str, Any]]:
        """`make_transaction`'s rules between the type and the other fields, as JSON schemas:
        a ticker for BUY, SELL, DIVIDEND and SPLIT, none for DEPOSIT and WITHDRAW; a price for
        BUY, SELL and DIVIDEND; a SPLIT takes no price and no fees other than 0."""

        def when(types: frozenset[TxType], then: dict[str, Any]) -> dict[str, Any]:
            kinds = sorted(t.value for t in types)
            return {"if": {"properties": {"type": {"enum": kinds}}}, "then": then}

        null = {"type": "null"}
        zero = {
            "anyOf": [
                null,
                {"type": "number", "maximum": 0},
                {"type": "string", "pattern": decimals.ZERO_TEXT_PATTERN},
            ]
        }
        return [
            when(
                ledger.TICKER_TYPES,
                {"required": ["ticker"], "properties": {"ticker": {"type": "string"}}},
            ),
            when(ledger.TICKERLESS_TYPES, {"properties": {"ticker": null}}),
            when(
                ledger.PRICED_TYPES,
                {"required": ["price"], "properties": {"price": {"not": null}}},
            ),
            when(
                frozenset({TxType.SPLIT}),
                {"properties": {"price": null, "fees": zero}},
            ),
        ]


class TransactionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    date: dt.date
    type: str
    ticker: str | None
    quantity: DecimalOut
    price: DecimalOut | None
    fees: DecimalOut
    note: str | None
    created_at: dt.datetime


class TransactionPageOut(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[TransactionOut]


class ImportResult(BaseModel):
    imported: int
    transactions: list[TransactionOut]


# ---------------------------------------------------------------------------- analysis


class AnalyzeRequest(RequestModel):
    holdings: dict[TickerIn, Shares] = Field(
        description="Ticker -> shares (> 0), 1 to 1,000 positions",
        min_length=1,
        max_length=1000,
        examples=[{"NVDA": 7, "MSFT": 2}],
    )
    cash: Cash = Decimal(0)
    cost_basis: dict[TickerIn, Cash] | None = Field(
        None,
        description="Ticker -> total cost, to value unpriced holdings and gains; each ticker "
        "one of holdings'",
    )


class AnalysisOut(BaseModel):
    portfolio_id: int | None = Field(description="Null for the model portfolio and /analyze")
    name: str
    prices_as_of: dt.date | None = Field(description="Newest price date used")
    realised_gain: DecimalOut | None = Field(description="From the ledger; null without one")
    dividends: DecimalOut | None
    analysis: PortfolioAnalysis


class RebalanceOut(BaseModel):
    portfolio_id: int | None
    name: str
    new_cash: Amount = Field(description="The `cash` asked for: new money to invest")
    prices_as_of: dt.date | None
    plan: RebalancePlan


class MissingPriceOut(BaseModel):
    date: dt.date
    ticker: str
    filled_from: dt.date | None = Field(description="Close used instead; null: not valued")


class PerformancePoint(BaseModel):
    date: dt.date
    total_value: Amount | None = Field(
        description="holdings_value + cash at the close; null: not valued"
    )
    holdings_value: Amount | None = Field(description="The holdings at the close, no cash")
    cash: Amount
    flow: Amount | None = Field(description="External money since the previous day")
    twr_index: float | None = Field(description="Growth of 1 (time-weighted)")
    drawdown: float | None
    benchmark_index: float | None


class PerformanceOut(BaseModel):
    portfolio_id: int | None
    name: str
    benchmark: str
    start: dt.date | None = Field(description="First day of the return window")
    end: dt.date | None
    periods: int
    twr: float | None = Field(description="Time-weighted return over the window (fraction)")
    benchmark_return: float | None = Field(description="Adjusted-close return, same days")
    active_return: float | None
    max_drawdown: float | None = Field(description="Of the TWR index (fraction <= 0)")
    drawdown_peak: dt.date | None
    drawdown_trough: dt.date | None
    volatility: float | None = Field(description="Annualised stdev of daily returns")
    gain: Amount | None = Field(description="End value - start value - flows in between")
    net_flows: Amount
    price_basis: dict[str, str | None] = Field(
        description="Per ticker: close (as traded) or adj_close; null: no prices stored"
    )
    missing_prices: list[MissingPriceOut] = Field(description="At most 500, oldest first")
    missing_prices_count: int
    missing_tickers: list[str] = Field(description="Held tickers with any day without a close")
    unvalued_days: list[dt.date]
    benchmark_filled: list[dt.date]
    skipped_periods: list[dt.date]
    flow_convention: str
    notes: list[str]
    series: list[PerformancePoint]


def _opt(value: Any) -> float | None:
    if value is None:
        return None
    x = float(value)
    return None if math.isnan(x) else x


def _day(value: Any) -> dt.date | None:
    return None if value is None else pd.Timestamp(value).date()


def performance_out(
    report: PerformanceReport,
    portfolio_id: int | None,
    name: str,
    benchmark: str,
    price_basis: dict[str, str | None],
    notes: list[str],
) -> PerformanceOut:
    def at(series: pd.Series | None, day: pd.Timestamp) -> float | None:
        if series is None or day not in series.index:
            return None
        return _opt(series.loc[day])

    series = [
        PerformancePoint(
            date=day.date(),
            total_value=at(report.values, day),
            holdings_value=at(report.holdings_value, day),
            cash=float(report.cash.loc[day]),
            flow=at(report.flows, day),
            twr_index=at(report.twr_index, day),
            drawdown=at(report.drawdown, day),
            benchmark_index=at(report.benchmark_index, day),
        )
        for day in pd.DatetimeIndex(report.values.index)
    ]
    return PerformanceOut(
        portfolio_id=portfolio_id,
        name=name,
        benchmark=benchmark,
        start=_day(report.start),
        end=_day(report.end),
        periods=report.periods,
        twr=report.twr,
        benchmark_return=report.benchmark_return,
        active_return=report.active_return,
        max_drawdown=report.max_drawdown,
        drawdown_peak=_day(report.drawdown_peak),
        drawdown_trough=_day(report.drawdown_trough),
        volatility=report.volatility,
        gain=report.gain,
        net_flows=report.net_flows,
        price_basis=price_basis,
        missing_prices=[
            MissingPriceOut(
                date=pd.Timestamp(m.date).date(), ticker=m.ticker, filled_from=_day(m.filled_from)
            )
            for m in report.missing_prices[:500]
        ],
        missing_prices_count=len(report.missing_prices),
        missing_tickers=list(report.missing_tickers),
        unvalued_days=[pd.Timestamp(d).date() for d in report.unvalued_days],
        benchmark_filled=[pd.Timestamp(d).date() for d in report.benchmark_filled],
        skipped_periods=[pd.Timestamp(d).date() for d in report.skipped_periods],
        flow_convention=report.flow_convention,
        notes=notes + list(report.notes),
        series=series,
    )
