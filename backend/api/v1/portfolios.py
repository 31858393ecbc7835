"""A user's portfolios, their transaction ledger (with CSV import/export) and the analysis,
rebalance and performance views. Every route needs the owner's access token; another user's
portfolio answers 404 exactly like a missing one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request, Response

from backend.api.deps import (
    CurrentUser,
    IdempotencyDep,
    PortfoliosDep,
    PortfolioViewsDep,
    TransactionsDep,
)
from backend.api.errors import beyond_schema, error_responses
from backend.api.idempotency import IdempotencyKeyHeader, answer_write, keyed_answer
from backend.api.v1.model_portfolio import MinTrade, NewCash
from backend.auth.ratelimit import RateLimit
from backend.errors import START_NOT_AFTER_END
from backend.portfolios import csv_io, ledger
from backend.portfolios.idempotency import REUSED
from backend.portfolios.ledger import TxType
from backend.portfolios.performance_inputs import STORED_DAYS
from backend.portfolios.quotes import STORED_PRICES
from backend.portfolios.schemas import (
    AnalysisOut,
    ImportResult,
    PerformanceOut,
    PortfolioCreate,
    PortfolioDetail,
    PortfolioOut,
    RebalanceOut,
    TransactionIn,
    TransactionOut,
    TransactionPageOut,
)
from backend.portfolios.service import PortfolioInfo
from backend.portfolios.transactions import NewTransaction, TransactionFilter
from backend.portfolios.views import NEEDS_TRANSACTIONS
from backend.reference.benchmarks import EQUITY_BENCHMARK
from backend.reference.tickers import TICKER_PATTERN
from backend.validation import INT_TEXT, IsoDate

router = APIRouter(prefix="/portfolios", tags=["portfolios"])

PortfolioId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Portfolio id"), INT_TEXT]
# Every route: no/bad token 401, the admin token 403, a malformed URL 422, the database 503.
_USER = (401, 403, 422, 503)
_ONE = error_responses(*_USER, 404)  # a portfolio by id (another user's: the same 404)
_BODY = error_responses(*_USER, 404, 413)
_VIEW = error_responses(*_USER, 404, 429)
_EXPENSIVE = RateLimit("portfolio-views", "rate_limit_expensive")
TRANSACTION_EXAMPLES = {
    "deposit": {"value": {"date": "2020-01-02", "type": "DEPOSIT", "quantity": "10000"}},
    "buy": {
        "value": {
            "date": "2020-01-03",
            "type": "BUY",
            "ticker": "AAPL",
            "quantity": "10",
            "price": "75.09",
            "fees": "1",
        }
    },
    "split": {"value": {"date": "2020-08-31", "type": "SPLIT", "ticker": "AAPL", "quantity": 4}},
}


def _out(p: PortfolioInfo) -> PortfolioOut:
    return PortfolioOut.model_validate(p)


# ----------------------------------------------------------------------------- portfolios


@router.post(
    "",
    response_model=PortfolioOut,
    status_code=201,
    responses={**keyed_answer(201, "The new portfolio"), **error_responses(*_USER, 413)},
    openapi_extra=beyond_schema(REUSED),
)
def create_portfolio(
    body: PortfolioCreate,
    user: CurrentUser,
    service: PortfoliosDep,
    idempotency: IdempotencyDep,
    key: IdempotencyKeyHeader = None,
) -> PortfolioOut | Response:
    """Create a portfolio. With an `Idempotency-Key`, at most once per key."""
    return answer_write(
        idempotency,
        key,
        user.id,
        "POST /portfolios",
        body,
        201,
        write=lambda claim: service.create(user.id, body.name, claim),
        render=_out,
    )


@router.get("", response_model=list[PortfolioOut], responses=error_responses(*_USER))
def list_portfolios(user: CurrentUser, service: PortfoliosDep) -> list[PortfolioOut]:
    """Your portfolios (only yours)."""
    return [_out(p) for p in service.list_portfolios(user.id)]


@router.get("/{portfolio_id}", response_model=PortfolioDetail, responses=_ONE)
def get_portfolio(
    portfolio_id: PortfolioId, user: CurrentUser, views: PortfolioViewsDep
) -> PortfolioDetail:
    """The portfolio with its positions, cash and gains, all derived from its ledger."""
    return views.detail(user.id, portfolio_id)


@router.patch("/{portfolio_id}", response_model=PortfolioOut, responses=_BODY)
def rename_portfolio(
    portfolio_id: PortfolioId, body: PortfolioCreate, user: CurrentUser, service: PortfoliosDep
) -> PortfolioOut:
    return _out(service.rename(user.id, portfolio_id, body.name))


@router.delete("/{portfolio_id}", status_code=204, responses=_ONE)
def delete_portfolio(
    portfolio_id: PortfolioId, user: CurrentUser, service: PortfoliosDep
) -> Response:
    """Delete the portfolio and its transactions."""
    service.delete(user.id, portfolio_id)
    return Response(status_code=204)


# ----------------------------------------------------------------------------- ledger


@router.post(
    "/{portfolio_id}/transactions",
    response_model=TransactionOut,
    status_code=201,
    responses={**keyed_answer(201, "The transaction stored"), **_BODY},
    openapi_extra=beyond_schema(*ledger.HISTORY_RULES, REUSED),
)
def add_transaction(
    portfolio_id: PortfolioId,
    body: Annotated[TransactionIn, Body(openapi_examples=TRANSACTION_EXAMPLES)],
    user: CurrentUser,
    service: TransactionsDep,
    idempotency: IdempotencyDep,
    key: IdempotencyKeyHeader = None,
) -> TransactionOut | Response:
    """Add one transaction. The whole ledger is re-checked in date order: selling more than
    held, negative quantities/prices/fees, unknown types, future dates, a split ratio of 0,
    numbers past the bounds (6 decimal places, 999,999,999.999999) and derived amounts of
    10**15 or more are refused with 422 naming the field and the rule; nothing is stored.
    With an `Idempotency-Key`, at most once per key."""
    new = NewTransaction(**body.model_dump())
    return answer_write(
        idempotency,
        key,
        user.id,
        f"POST /portfolios/{portfolio_id}/transactions",
        body,
        201,
        write=lambda claim: service.add_transactions(user.id, portfolio_id, [new], claim),
        render=lambda rows: TransactionOut.model_validate(rows[0]),
    )


@router.get("/{portfolio_id}/transactions", response_model=TransactionPageOut, responses=_ONE)
def list_transactions(
    portfolio_id: PortfolioId,
    user: CurrentUser,
    service: TransactionsDep,
    limit: Annotated[int, Query(ge=1, le=1000), INT_TEXT] = 100,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1), INT_TEXT] = 0,
    type: Annotated[TxType | None, Query(description="Only this type (upper case)")] = None,
    ticker: Annotated[str | None, Query(pattern=TICKER_PATTERN)] = None,
    start: Annotated[IsoDate | None, Query(description="From this date (YYYY-MM-DD)")] = None,
    end: Annotated[IsoDate | None, Query(description="Up to this date (YYYY-MM-DD)")] = None,
) -> TransactionPageOut:
    """Transactions in ledger order (date, then entry order), paged and filtered."""
    page = service.list_transactions(
        user.id, portfolio_id, TransactionFilter(type, ticker, start, end), limit, offset
    )
    return TransactionPageOut(
        total=page.total,
        limit=page.limit,
        offset=page.offset,
        items=[TransactionOut.model_validate(t) for t in page.items],
    )


# `:int`: only digits route here, so ".../transactions/export" never reaches this DELETE (a
# DELETE there is 405, not a malformed id).
@router.delete(
    "/{portfolio_id}/transactions/{transaction_id:int}",
    status_code=204,
    responses=_ONE,
    openapi_extra=beyond_schema(*ledger.HISTORY_RULES),
)
def delete_transaction(
    portfolio_id: PortfolioId,
    transaction_id: Annotated[int, Path(ge=1, le=2**63 - 1), INT_TEXT],
    user: CurrentUser,
    service: TransactionsDep,
) -> Response:
    service.delete_transaction(user.id, portfolio_id, transaction_id)
    return Response(status_code=204)


@router.post(
    "/{portfolio_id}/transactions/import",
    response_model=ImportResult,
    status_code=201,
    dependencies=[RateLimit("transactions-import", "rate_limit_expensive")],
    responses=error_responses(*_USER, 404, 413, 429),
    openapi_extra={
        **beyond_schema(csv_io.CSV_CONTENT),
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "date,type,ticker,quantity,price,fees,note\n"
                    "2020-01-02,DEPOSIT,,10000,,,\n"
                    "2020-01-03,BUY,AAPL,10,75.09,1,first lot\n",
                }
            },
            "description": "date,type,ticker,quantity,price,fees,note (header line first); "
            f"UTF-8, at most {csv_io.MAX_BYTES} bytes and {csv_io.MAX_ROWS} rows",
        },
    },
)
async def import_transactions(
    portfolio_id: PortfolioId, request: Request, user: CurrentUser, service: TransactionsDep
) -> ImportResult:
    """Import a CSV of transactions (the request body, `text/csv`), all or nothing. Any file
    is answered: imported whole, or 422 `invalid_import` listing each rejected line with its
    field, rule and reason (encoding, CSV syntax, control characters, bounds, ledger rules)."""
    raw = await _read_body(request, csv_io.MAX_BYTES)
    rows = service.import_csv(user.id, portfolio_id, raw)
    return ImportResult(
        imported=len(rows), transactions=[TransactionOut.model_validate(r) for r in rows]
    )


@router.get(
    "/{portfolio_id}/transactions/export",
    response_class=Response,
    responses={
        **_ONE,
        200: {"content": {"text/csv": {}}, "description": "The ledger as CSV"},
    },
)
def export_transactions(
    portfolio_id: PortfolioId, user: CurrentUser, service: TransactionsDep
) -> Response:
    """Every transaction as CSV, in ledger order; the file imports back as it is. Text cells
    that a spreadsheet would run as a formula (starting with =, +, -, @, tab, CR or LF) are
    written with a leading apostrophe, which the import removes."""
    text = service.export_csv(user.id, portfolio_id)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="portfolio-{portfolio_id}.csv"'},
    )


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, read until `limit` bytes are passed: a huge upload is refused (422 naming
    the rule) without being held in memory."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise csv_io.too_large(size)
        chunks.append(chunk)
    return b"".join(chunks)


# ----------------------------------------------------------------------------- views


@router.get("/{portfolio_id}/analysis", response_model=AnalysisOut, responses=_ONE)
def portfolio_analysis(
    portfolio_id: PortfolioId, user: CurrentUser, views: PortfolioViewsDep
) -> AnalysisOut:
    """Per holding, per category (actual vs target, drift) and for the whole portfolio."""
    return views.analysis(user.id, portfolio_id)


@router.get(
    "/{portfolio_id}/rebalance",
    response_model=RebalanceOut,
    dependencies=[_EXPENSIVE],
    responses=_VIEW,
)
def portfolio_rebalance(
    portfolio_id: PortfolioId,
    user: CurrentUser,
    views: PortfolioViewsDep,
    cash: NewCash = 0.0,
    min_trade: MinTrade = 0.0,
) -> RebalanceOut:
    """Whole-share trades toward the category targets, with the portfolio's cash plus `cash`."""
    return views.rebalance(user.id, portfolio_id, cash, min_trade)


@router.get(
    "/{portfolio_id}/performance",
    response_model=PerformanceOut,
    dependencies=[_EXPENSIVE],
    responses=_VIEW,
    openapi_extra=beyond_schema(
        START_NOT_AFTER_END, STORED_DAYS, STORED_PRICES, NEEDS_TRANSACTIONS
    ),
)
def portfolio_performance(
    portfolio_id: PortfolioId,
    user: CurrentUser,
    views: PortfolioViewsDep,
    start: Annotated[IsoDate | None, Query(description="Default: the first transaction")] = None,
    end: Annotated[IsoDate | None, Query(description="Default: the newest stored day")] = None,
    benchmark: Annotated[str, Query(pattern=TICKER_PATTERN)] = EQUITY_BENCHMARK,
) -> PerformanceOut:
    """The daily value series from the ledger and stored prices, time-weighted return,
    the benchmark's return over the same days, maximum drawdown, annualised volatility."""
    return views.performance(user.id, portfolio_id, start, end, benchmark.upper())
