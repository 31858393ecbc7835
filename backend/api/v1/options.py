"""Options analytics of one underlying from the stored daily snapshots (issue 14): summary,
chain, history; and taking snapshots now (admin). The maths is in `backend.options`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import AfterValidator, BaseModel, Field
from starlette.concurrency import run_in_threadpool

from backend.api.deps import AdminUser, OptionsDep, SettingsDep
from backend.api.errors import beyond_schema, error_responses
from backend.errors import START_NOT_AFTER_END, InvalidInput
from backend.momentum.dates import FUTURE_RULE, NOT_IN_FUTURE, not_in_future
from backend.options.rank import IVRank
from backend.reference.tickers import TICKER_PATTERN, TICKER_RULE, normalize_ticker
from backend.validation import IsoDate

router = APIRouter(prefix="/options", tags=["options"])

Ticker = Annotated[
    str, Path(pattern=TICKER_PATTERN, description=f"Underlying's ticker: {TICKER_RULE}; any case")
]
AsOf = Annotated[
    IsoDate | None,
    Query(description=f"The latest snapshot on or before this day (YYYY-MM-DD); {FUTURE_RULE}"),
    AfterValidator(not_in_future),
]


class TermPointOut(BaseModel):
    expiry: dt.date
    days: float = Field(description="Days (of 24 h) to 16:00 New York on the expiry day")
    atm_iv: float | None = Field(description="ATM implied volatility at the forward")
    reason: str | None = Field(description="Why there is no ATM volatility")


class ThirtyDayOut(BaseModel):
    iv: float | None = Field(description="30-day constant-maturity ATM implied volatility")
    near_expiry: dt.date | None
    far_expiry: dt.date | None
    reason: str | None = Field(description="Why there is none (never extrapolated)")


class RankOut(BaseModel):
    iv: float | None = Field(description="The ranked value (the snapshot day's)")
    iv_rank: float | None = Field(description="100 (IV - min) / (max - min) over the window")
    iv_percentile: float | None = Field(description="Share (%) of the window's other days below")
    history: int = Field(description="Snapshots in the window (the day's included)")
    window: int
    min_history: int = Field(description="Fewer snapshots than this: no rank (null)")
    low: float | None
    high: float | None
    history_source: str = Field(description="`snapshots`, or the index series (SPY: ^VIX)")
    reason: str | None


class SignalOut(BaseModel):
    signal: str | None = Field(
        description="sell_premium (rank >= 50), cheap_hedge (< 30), neutral, earnings_soon "
        "(earnings within 7 days); null when there is no rank"
    )
    reason: str = Field(description="The rule that decided, in words")
    iv_rank: float | None
    iv_percentile: float | None
    history: int
    earnings_date: dt.date | None
    days_to_earnings: int | None
    sell_at: float
    hedge_below: float
    earnings_days: int


class OptionsSummary(BaseModel):
    ticker: str
    as_of: dt.date | None = Field(description="The day asked for (null: the latest)")
    snapshot_day: dt.date
    snapshot_time: dt.datetime
    data_source: str = Field(description="lean:<file>, yahoo-json:<file> or yfinance")
    spot: float
    risk_free_rate: float
    atm_iv_30d: ThirtyDayOut
    term_structure: list[TermPointOut] = Field(description="Expiries 7 to 365 days away")
    iv_rank: RankOut
    signal: SignalOut


class ContractOut(BaseModel):
    expiry: dt.date
    strike: float
    right: str = Field(description="C (call) or P (put)")
    bid: float | None
    ask: float | None
    last: float | None
    price: float | None = Field(description="Mid quote, or last trade where no two-sided quote")
    price_source: str | None = Field(description="mid or last")
    volume: int | None
    open_interest: int | None
    iv: float | None = Field(description="Our implied volatility")
    iv_reason: str | None = Field(description="Why there is none")
    vendor_iv: float | None
    iv_difference: float | None = Field(description="iv - vendor_iv")
    delta: float | None


class ChainOut(BaseModel):
    ticker: str
    snapshot_day: dt.date
    snapshot_time: dt.datetime
    data_source: str
    spot: float
    risk_free_rate: float
    expiries: list[dt.date]
    expiry: dt.date | None
    count: int
    contracts: list[ContractOut]


class HistoryPointOut(BaseModel):
    date: dt.date
    snapshot_time: dt.datetime
    atm_iv_30d: float | None
    reason: str | None
    data_source: str


class HistoryOut(BaseModel):
    ticker: str
    start: dt.date | None
    end: dt.date | None
    count: int
    history: list[HistoryPointOut]


class SnapshotFailure(BaseModel):
    ticker: str
    reason: str


class SnapshotTaken(BaseModel):
    ticker: str
    snapshot_day: dt.date
    contracts: int
    atm_iv_30d: float | None


class SnapshotOut(BaseModel):
    requested: int
    taken: list[SnapshotTaken]
    failed: list[SnapshotFailure]


RANKS_MAX_TICKERS = 100
RANK_TICKERS_RULE = f"comma-separated tickers, at most {RANKS_MAX_TICKERS}"


class TickerRankOut(BaseModel):
    ticker: str
    snapshot_day: dt.date | None = Field(description="The latest stored snapshot's day")
    iv_rank: RankOut | None = Field(description="Null when no snapshot is stored (see reason)")
    reason: str | None


class RanksOut(BaseModel):
    ranks: list[TickerRankOut]


def _rank_out(rank: IVRank, source: str) -> RankOut:
    return RankOut(
        iv=rank.iv,
        iv_rank=rank.rank,
        iv_percentile=rank.percentile,
        history=rank.history,
        window=rank.window,
        min_history=rank.min_history,
        low=rank.low,
        high=rank.high,
        history_source=source,
        reason=rank.reason,
    )


@router.get("", response_model=RanksOut, responses=error_responses(422, 503))
def options_ranks(
    service: OptionsDep,
    tickers: Annotated[str, Query(min_length=1, max_length=2000, description=RANK_TICKERS_RULE)],
) -> RanksOut:
    """The IV rank and percentile of each ticker's latest stored snapshot (what
    `GET /options/{ticker}` says of it), for a list such as a leaderboard's; a ticker with no
    snapshot is listed with the reason. Stored data only: nothing is fetched."""
    out = []
    wanted = _tickers(tickers, RANKS_MAX_TICKERS)
    ranks = service.ranks(wanted)
    for ticker in wanted:
        found = ranks.get(ticker)
        if found is None:
            out.append(
                TickerRankOut(
                    ticker=ticker,
                    snapshot_day=None,
                    iv_rank=None,
                    reason=f"no options snapshot stored for {ticker}",
                )
            )
            continue
        rank, source = found
        out.append(
            TickerRankOut(
                ticker=ticker,
                snapshot_day=rank.as_of,
                iv_rank=_rank_out(rank, source),
                reason=None,
            )
        )
    return RanksOut(ranks=out)


@router.get(
    "/{ticker}",
    response_model=OptionsSummary,
    responses=error_responses(404, 422, 503),
    openapi_extra=beyond_schema(NOT_IN_FUTURE),
)
def options_summary(ticker: Ticker, service: OptionsDep, as_of: AsOf = None) -> OptionsSummary:
    """Spot, 30-day ATM implied volatility, term structure, IV rank and percentile (with the
    history length; null below OPTIONS_MIN_HISTORY snapshots) and the premium signal with its
    inputs, from the latest stored snapshot on or before `as_of`."""
    s = service.summary(ticker.upper(), as_of)
    thirty = s.atm_iv_30d
    return OptionsSummary(
        ticker=s.ticker,
        as_of=s.as_of,
        snapshot_day=s.snapshot_day,
        snapshot_time=s.snapshot_time,
        data_source=s.data_source,
        spot=s.spot,
        risk_free_rate=s.rate,
        atm_iv_30d=ThirtyDayOut(
            iv=thirty.iv,
            near_expiry=thirty.near.expiry if thirty.near else None,
            far_expiry=thirty.far.expiry if thirty.far else None,
            reason=thirty.reason,
        ),
        term_structure=[TermPointOut(**vars(p)) for p in s.term_structure],
        iv_rank=_rank_out(s.rank, s.history_source),
        signal=SignalOut(**{k: v for k, v in vars(s.signal).items() if k not in ("as_of", "iv")}),
    )


@router.get(
    "/{ticker}/chain",
    response_model=ChainOut,
    responses=error_responses(404, 422, 503),
    openapi_extra=beyond_schema(NOT_IN_FUTURE),
)
def options_chain(
    ticker: Ticker,
    service: OptionsDep,
    expiry: Annotated[
        IsoDate | None, Query(description="One expiry (YYYY-MM-DD); default: all")
    ] = None,
    as_of: AsOf = None,
) -> ChainOut:
    """The contracts of the stored snapshot: quotes, mid, our IV (or why none), the vendor's
    IV and the difference, delta."""
    c = service.chain(ticker.upper(), expiry, as_of)
    return ChainOut(
        ticker=c.ticker,
        snapshot_day=c.snapshot_day,
        snapshot_time=c.snapshot_time,
        data_source=c.data_source,
        spot=c.spot,
        risk_free_rate=c.rate,
        expiries=list(c.expiries),
        expiry=c.expiry,
        count=len(c.contracts),
        contracts=[ContractOut(**row) for row in c.contracts],
    )


@router.get(
    "/{ticker}/history",
    response_model=HistoryOut,
    responses=error_responses(404, 422, 503),
    openapi_extra=beyond_schema(NOT_IN_FUTURE, START_NOT_AFTER_END),
)
def options_history(
    ticker: Ticker,
    service: OptionsDep,
    start: Annotated[
        IsoDate | None,
        Query(description=f"First day (YYYY-MM-DD); {FUTURE_RULE}"),
        AfterValidator(not_in_future),
    ] = None,
    end: Annotated[
        IsoDate | None,
        Query(description=f"Last day (YYYY-MM-DD); {FUTURE_RULE}"),
        AfterValidator(not_in_future),
    ] = None,
) -> HistoryOut:
    """The daily 30-day ATM implied volatility of the stored snapshots, oldest first."""
    points = service.history(ticker.upper(), start, end)
    return HistoryOut(
        ticker=ticker.upper(),
        start=start,
        end=end,
        count=len(points),
        history=[
            HistoryPointOut(
                date=p.day,
                snapshot_time=p.taken_at,
                atm_iv_30d=p.atm_iv_30d,
                reason=p.atm_reason,
                data_source=p.source,
            )
            for p in points
        ],
    )


SNAPSHOT_TICKERS_RULE = "comma-separated tickers, at most OPTIONS_SNAPSHOT_MAX_TICKERS"


def _tickers(raw: str, most: int) -> list[str]:
    wanted: list[str] = []
    for part in raw.split(","):
        ticker = normalize_ticker(part)
        if ticker is None:
            raise InvalidInput(
                f"ticker {part.strip()!r} is malformed: it must be {TICKER_RULE}",
                {"field": "tickers"},
            )
        if ticker not in wanted:
            wanted.append(ticker)
    if len(wanted) > most:
        raise InvalidInput(
            f"{len(wanted)} tickers; at most {most} per request", {"field": "tickers"}
        )
    return wanted


@router.post(
    "/snapshot",
    response_model=SnapshotOut,
    responses=error_responses(401, 403, 422, 503),
)
async def options_snapshot(
    service: OptionsDep,
    settings: SettingsDep,
    _: AdminUser,
    tickers: Annotated[
        str, Query(min_length=1, max_length=2000, description=SNAPSHOT_TICKERS_RULE)
    ],
) -> SnapshotOut:
    """Take these tickers' option snapshots now from the live provider (each within
    OPTIONS_SNAPSHOT_DEADLINE_SECONDS) and store them; per-ticker failures are listed. Needs
    the admin token: `Authorization: Bearer <ADMIN_TOKEN>`."""
    wanted = _tickers(tickers, settings.options_snapshot_max_tickers)
    outcome = await run_in_threadpool(service.take_snapshots, wanted)
    return SnapshotOut(
        requested=len(wanted),
        taken=[
            SnapshotTaken(
                ticker=t,
                snapshot_day=s.day,
                contracts=len(s.contracts),
                atm_iv_30d=s.atm_iv_30d,
            )
            for t, s in outcome.taken.items()
        ],
        failed=[SnapshotFailure(ticker=t, reason=r) for t, r in outcome.failed.items()],
    )
