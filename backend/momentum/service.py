"""Scores served from the price store: panel + engine, computed once per data version.

`ScoreBook` holds every score of every stored security on every date for one data version of
the store; the service rebuilds it when the version moves (an import or refresh wrote bars),
so a score is never older than the prices it was computed from.

A request reads the data version once (backend/cache/request.py) and passes it to every method
here as `version`; without one (the CLI, the scheduler) the store's version is read on the spot.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from backend.config import Settings
from backend.errors import (
    START_NOT_AFTER_END,
    AppError,
    InsufficientHistory,
    InvalidInput,
    NotFound,
    Unavailable,
)
from backend.market_data.providers.base import PriceProvider
from backend.market_data.store import PricePanel, PriceStore
from backend.momentum.book_frames import BookFrames, breakdown_frames, score_book_frames
from backend.momentum.engine import (
    LEFT_OUT_REASONS,
    MIN_CLOSES,
    MODEL_VERSION,
    CompositeWeights,
    left_out_names,
    percentile_rank,
    rating,
)
from backend.momentum.incremental import (
    Growable,
    PanelFrames,
    rescore,
    rescore_starts,
    splice_panel,
)
from backend.momentum.panel import percentile_within
from backend.momentum.schemas import (
    BatchEntry,
    BatchError,
    BatchResponse,
    HistoryPoint,
    LeftOut,
    MomentumBreakdown,
    MomentumHistory,
    MomentumScore,
    TopResponse,
)
from backend.momentum.snapshots import SnapshotStore, snapshot_tag
from backend.momentum.universes import ALL, not_a_member, universe_members
from backend.reference.benchmarks import EQUITY_BENCHMARK, FIXED_INCOME_BENCHMARK

log = logging.getLogger(__name__)


# Date rows whose ranks a book keeps (per universe and row); beyond that it starts afresh.
RANK_ROWS_KEPT = 4096
RANK_PATH_BLOCK = 256  # date rows ranked at a time by a history


def _r2(x: float) -> float:
    return round(float(x), 2)


def _opt(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def benchmarks_for(securities: pd.DataFrame) -> dict[str, str]:
    """SPY for everything, AGG for the securities of a fixed-income category (the store's
    panel carries the flag from the category tables)."""
    out = {}
    for ticker, fixed in securities["is_fixed_income"].items():
        is_fi = bool(fixed) if fixed is not None and fixed == fixed else False
        out[str(ticker)] = FIXED_INCOME_BENCHMARK if is_fi else EQUITY_BENCHMARK
    return out


@dataclass(frozen=True)
class LastClose:
    """A ticker's last stored close and its overall score that day (NaN: no score, for want
    of `n_closes` closes)."""

    stored_ticker: str
    date: dt.date
    close: float  # as traded; NaN when the store holds only the adjusted close
    adj_close: float
    overall: float
    n_closes: int


@dataclass
class ScoreBook:
    """Every score for one data version, with the lookups requests need."""

    panel: PricePanel
    frames: BookFrames
    weights: CompositeWeights
    aliases: dict[str, str]
    benchmarks: dict[str, str]
    # The arrays the panel and the frames live in, with spare rows for days appended by the
    # next book (backend/momentum/incremental.py); None after a full build.
    panel_space: Growable | None = None
    frame_space: Growable | None = None
    column: dict[str, int] = field(init=False)
    dates: np.ndarray = field(init=False)
    _close_rows: dict[int, np.ndarray] = field(init=False, default_factory=dict)
    _universes: dict[str, list[int]] = field(init=False, default_factory=dict)
    _scored: dict[str, np.ndarray] = field(init=False, default_factory=dict)
    _ranks: dict[tuple[str, int], tuple[dict[int, int], np.ndarray]] = field(
        init=False, default_factory=dict
    )
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.column = {t: i for i, t in enumerate(self.frames.tickers)}
        self.dates = self.frames.dates.values.astype("datetime64[D]")

    @property
    def data_version(self) -> int:
        return self.panel.data_version

    def resolve(self, ticker: str) -> str | None:
        if ticker in self.column:
            return ticker
        target = self.aliases.get(ticker)
        return target if target in self.column else None

    def close_rows(self, col: int) -> np.ndarray:
        rows = self._close_rows.get(col)
        if rows is None:
            rows = np.flatnonzero(~np.isnan(self.panel.close.values[:, col]))
            self._close_rows[col] = rows
        return rows

    def row_at(self, col: int, as_of: dt.date | None) -> int | None:
        """The row of the ticker's last close at or before `as_of` (its last close if None)."""
        rows = self.close_rows(col)
        if rows.size == 0:
            return None
        if as_of is None:
            return int(rows[-1])
        k = int(np.searchsorted(self.dates[rows], np.datetime64(as_of, "D"), side="right")) - 1
        return int(rows[k]) if k >= 0 else None

    def last_close(self, ticker: str) -> LastClose | None:
        """The last stored close of `ticker` (or the ticker it is an alias of); None when the
        store holds no close for it."""
        stored = self.resolve(ticker)
        if stored is None:
            return None
        col = self.column[stored]
        row = self.row_at(col, None)
        if row is None:
            return None
        return LastClose(
            stored_ticker=stored,
            date=pd.Timestamp(self.dates[row]).date(),
            close=float(self.panel.raw_close.values[row, col]),
            adj_close=float(self.panel.close.values[row, col]),
            overall=float(self.frames.overall[row, col]),
            n_closes=int(self.frames.n_closes[row, col]),
        )

    def universe_columns(self, universe: str) -> list[int]:
        """The columns of a universe's members (sorted), computed once per book."""
        cols = self._universes.get(universe)
        if cols is None:
            members = universe_members(universe, self.panel.categories)
            if members is None:
                cols = list(range(len(self.frames.tickers)))
            else:
                found = (self.resolve(m) for m in members)
                cols = sorted({self.column[t] for t in found if t is not None})
            self._universes[universe] = cols
        return cols

    def scored_rows(self, universe: str) -> np.ndarray:
        """The date rows on which some member of the universe has a score, computed once."""
        rows = self._scored.get(universe)
        if rows is None:
            cols = self.universe_columns(universe)
            overall = self.frames.overall
            every = len(cols) == overall.shape[1]  # no copy of the whole matrix for "all"
            scored = np.isfinite(overall if every else overall[:, cols]).any(axis=1)
            rows = np.flatnonzero(scored)
            self._scored[universe] = rows
        return rows

    def rank_row(self, universe: str, row: int) -> tuple[dict[int, int], np.ndarray]:
        """(column -> position, percentile ranks) of a universe's members on one date row,
        computed when first asked: a new book (every data version) ranks no more than the
        dates requests read."""
        key = (universe, row)
        cached = self._ranks.get(key)
        if cached is None:
            cols = self.universe_columns(universe)
            ranks = percentile_rank(self.frames.overall[row, cols])
            cached = ({c: k for k, c in enumerate(cols)}, ranks)
            with self._lock:
                if len(self._ranks) >= RANK_ROWS_KEPT:
                    self._ranks.clear()
                self._ranks[key] = cached
        return cached

    def rank_path(self, universe: str, col: int, rows: np.ndarray) -> np.ndarray:
        """The percentile ranks of column `col` on date rows `rows` within the universe (the
        column must be a member), each equal to `rank_row(universe, row)`'s. Computed in blocks
        of `RANK_PATH_BLOCK` rows, a view of the book's rows when they follow each other (a
        history usually does), so no copy of the whole matrix is made."""
        cols = np.asarray(self.universe_columns(universe))
        overall = self.frames.overall
        every = len(cols) == overall.shape[1]
        out = np.empty(len(rows))
        for start in range(0, len(rows), RANK_PATH_BLOCK):
            block = rows[start : start + RANK_PATH_BLOCK]
            lo, hi = int(block[0]), int(block[-1]) + 1
            if hi - lo == len(block):
                members = overall[lo:hi] if every else overall[lo:hi, cols]
            else:
                members = overall[block] if every else overall[np.ix_(block, cols)]
            out[start : start + len(block)] = percentile_within(overall[block, col], members)
        return out

    def left_out(self, row: int, col: int) -> list[LeftOut]:
        mask = int(self.frames.left_out[row, col])
        out = []
        for name in left_out_names(mask):
            reason = LEFT_OUT_REASONS[name]
            if name == "relative":
                bench = self.benchmarks.get(self.frames.tickers[col], EQUITY_BENCHMARK)
                reason = f"{reason} (benchmark {bench})"
            out.append(LeftOut(name=name, reason=reason))
        return out


@dataclass(frozen=True)
class BuildReport:
    """How the last score book was made: "full" or "incremental", for which version, how long."""

    how: str
    data_version: int
    seconds: float


class ScoresNotReady(Unavailable):
    """The score book of the store's data is still being computed (after start-up or a data
    change) and did not finish within SCORE_BOOK_WAIT_SECONDS: retry shortly."""

    code = "scores_not_ready"

    def __init__(self, waited: float, building_for: float | None) -> None:
        since = f" (computing for {building_for:.1f} s)" if building_for is not None else ""
        super().__init__(
            f"the scores are being computed{since} and were not ready within {waited:g} s "
            "(SCORE_BOOK_WAIT_SECONDS); retry shortly",
            {"reason": "computing", "waited_seconds": waited},
        )


class NotStored(NotFound):
    """The store holds neither the ticker nor an alias of it (the API may then fetch it)."""

    def __init__(self, ticker: str) -> None:
        super().__init__(f"no prices stored for {ticker}", {"ticker": ticker})
        self.ticker = ticker


class UniverseInsufficientHistory(InsufficientHistory):
    """No member of a universe has enough closes up to the date: what a single score answers
    for one ticker (422 `insufficient_history`), said of the universe."""

    def __init__(
        self, universe: str, members: int, as_of: dt.date | None, first_scored: dt.date | None
    ) -> None:
        up_to = f"up to {as_of}" if as_of is not None else "in the store"
        since = (
            f"; its first scored date is {first_scored}"
            if first_scored is not None
            else "; none of them has ever had enough"
        )
        AppError.__init__(
            self,
            f"no member of universe {universe!r} ({members} with prices) has {MIN_CLOSES} "
            f"closes {up_to}{since}",
            {
                "universe": universe,
                "as_of": str(as_of) if as_of is not None else None,
                "closes_needed": MIN_CLOSES,
                "first_scored_date": str(first_scored) if first_scored is not None else None,
            },
        )


class MomentumService:
    def __init__(
        self,
        store: PriceStore,
        settings: Settings,
        provider: PriceProvider | None = None,
    ) -> None:
        self.store = store
        self.provider = provider
        self.weights = CompositeWeights(
            price=settings.weight_price,
            technical=settings.weight_technical,
            relative=settings.weight_relative,
        )
        self.book_wait_seconds = settings.score_book_wait_seconds
        self._book: ScoreBook | None = None
        self._build_lock = threading.Lock()
        self._building_since: float | None = None  # monotonic start of the build under way
        self.first_build_error: str | None = None
        self.last_build: BuildReport | None = None
        # Books materialised in the database, shared by replicas and restarts (snapshots.py).
        self.snapshots = SnapshotStore(store.engine) if settings.score_snapshots else None
        self.snapshot_every = settings.score_snapshot_every_versions
        self._snapshot_tag = snapshot_tag(self.weights)
        self._snapshot_version: int | None = None  # the newest this process read or wrote
        self._saver: threading.Thread | None = None

    def start_first_build(self, then: Callable[[], None] | None = None) -> threading.Thread:
        """Compute the first score book in a thread, so the process answers (health, pages,
        cached scores) while it runs; `ready` says when it is done. `then` runs after it."""

        def run() -> None:
            try:
                self.book()
                self.first_build_error = None
            except Exception as exc:  # the database may be down: the next request retries
                self.first_build_error = f"{type(exc).__name__}"
                log.warning("the first score book could not be computed", exc_info=exc)
            if then is not None:
                then()

        thread = threading.Thread(target=run, name="first-score-book", daemon=True)
        thread.start()
        return thread

    @property
    def has_book(self) -> bool:
        return self._book is not None

    def building_for(self) -> float | None:
        """Seconds the build under way has run (None when none is)."""
        since = self._building_since
        return None if since is None else time.monotonic() - since

    # ------------------------------------------------------------- the book

    def book(self, version: int | None = None) -> ScoreBook:
        """The scores of data version `version` or a newer one (the store's version now when
        None): the book in memory, rebuilt when it is older. Versions only grow (each write
        that changes a bar adds 1), so a newer book holds every price `version` named."""
        if version is None:
            version = self.store.data_version()
        book = self._book
        if book is not None and book.data_version >= version:
            return book
        # Bounded: a request never waits on a build for longer than SCORE_BOOK_WAIT_SECONDS.
        if not self._build_lock.acquire(timeout=self.book_wait_seconds):
            raise ScoresNotReady(self.book_wait_seconds, self.building_for())
        try:
            book = self._book
            if book is None or book.data_version < version:
                self._building_since = time.monotonic()
                try:
                    book = self._build(book)
                finally:
                    self._building_since = None
                self._book = book
        finally:
            self._build_lock.release()
        return book

    def _build(self, old: ScoreBook | None = None) -> ScoreBook:
        """The book of the store's data now: from `old` (or, in a new process, from the newest
        snapshot in the database) by recomputing only what the change log names since its
        version (backend/momentum/incremental.py), else in full."""
        started = time.perf_counter()
        how = "incremental"
        if old is None and self.snapshots is not None:
            old = self._from_snapshot()
            how = "snapshot"
        book = self._update(old) if old is not None else None
        if book is None:
            how = "full"
            panel = self.store.load_panel()
            benchmarks = benchmarks_for(panel.securities)
            frames = score_book_frames(
                panel.close, panel.volume, panel.split, benchmarks, weights=self.weights
            )
            book = ScoreBook(panel, frames, self.weights, self._aliases(), benchmarks)
        self.last_build = BuildReport(how, book.data_version, time.perf_counter() - started)
        log.info(
            "score book of data version %d: %s in %.3f s",
            book.data_version,
            how,
            self.last_build.seconds,
        )
        self._maybe_save(book)
        return book

    def _from_snapshot(self) -> ScoreBook | None:
        """The newest materialised book of these weights at or below the store's version."""
        assert self.snapshots is not None
        snap = self.snapshots.load(self._snapshot_tag, self.store.data_version())
        if snap is None:
            return None
        self._snapshot_version = snap.data_version
        p = snap.panel
        panel = PricePanel(
            close=p.close,
            raw_close=p.raw_close,
            volume=p.volume,
            split=p.split,
            securities=pd.DataFrame(index=pd.Index(snap.frames.tickers)),
            data_version=snap.data_version,
        )
        return ScoreBook(
            panel,
            snap.frames,
            self.weights,
            {},
            snap.benchmarks,
            snap.panel_space,
            snap.frame_space,
        )

    def _maybe_save(self, book: ScoreBook) -> None:
        """Materialise `book` in a thread when the newest snapshot this process knows is
        `snapshot_every` versions behind (or there is none): restarts and other replicas then
        start from it. One save at a time; a failed save is logged and tried again later."""
        if self.snapshots is None or (self._saver is not None and self._saver.is_alive()):
            return
        known = self._snapshot_version
        if known is not None and book.data_version - known < self.snapshot_every:
            return
        snapshots, tag = self.snapshots, self._snapshot_tag

        def save() -> None:
            p = book.panel
            try:
                snapshots.save(
                    book.data_version,
                    tag,
                    PanelFrames(p.close, p.raw_close, p.volume, p.split),
                    book.frames,
                    book.benchmarks,
                )
                self._snapshot_version = book.data_version
            except Exception as exc:  # the scores are served all the same
                log.warning("the score book could not be materialised", exc_info=exc)

        self._saver = threading.Thread(target=save, name="score-snapshot", daemon=True)
        self._saver.start()

    def wait_for_snapshot(self, timeout: float | None = None) -> None:
        """Wait for a materialisation under way (shutdown, tests)."""
        if self._saver is not None:
            self._saver.join(timeout)

    def _aliases(self) -> dict[str, str]:
        aliases: dict[str, str] = {}
        for alias, ticker in self.store.alias_pairs():
            aliases[alias] = ticker
            aliases[ticker] = alias
        return aliases

    def _update(self, old: ScoreBook) -> ScoreBook | None:
        """`old` brought to the store's version, or None when only a full rebuild is exact."""
        update = self.store.load_update(old.data_version)
        if update is None:
            return None
        p = old.panel
        before = PanelFrames(p.close, p.raw_close, p.volume, p.split)
        spliced = splice_panel(before, update.bars, update.changes.first_dates, old.panel_space)
        if spliced is None:
            return None
        after, panel_space = spliced
        tickers = [str(t) for t in after.close.columns]
        securities = update.securities.reindex(tickers)
        benchmarks = benchmarks_for(securities)
        starts = rescore_starts(
            tickers,
            pd.DatetimeIndex(after.close.index),
            update.changes.first_dates,
            old.benchmarks,
            benchmarks,
            old.frames.tickers,
        )
        frames, frame_space = rescore(
            old.frames, after, benchmarks, self.weights, starts, old.frame_space
        )
        panel = PricePanel(
            close=after.close,
            raw_close=after.raw_close,
            volume=after.volume,
            split=after.split,
            securities=securities,
            data_version=update.data_version,
            categories=update.categories,
        )
        return ScoreBook(
            panel, frames, self.weights, self._aliases(), benchmarks, panel_space, frame_space
        )

    # ------------------------------------------------------------- lookups

    @staticmethod
    def _locate(book: ScoreBook, ticker: str) -> tuple[str, int]:
        """The stored ticker and column of `ticker`; NotStored when the store holds neither it
        nor an alias of it (the API then asks the live provider: on_demand)."""
        stored = book.resolve(ticker)
        if stored is None:
            raise NotStored(ticker)
        return stored, book.column[stored]

    def unstored(self, tickers: Sequence[str], version: int | None = None) -> list[str]:
        """Those of `tickers` the store holds neither under that name nor an alias."""
        book = self.book(version)
        return [t for t in tickers if book.resolve(t) is None]

    def maybe_unstored(self, tickers: Sequence[str]) -> list[str]:
        """Those of `tickers` the score book in memory does not hold, without reading the
        data version: a superset of `unstored` (the store never loses a ticker), so an empty
        answer needs no database read."""
        book = self._book
        if book is None:
            return list(tickers)
        return [t for t in tickers if book.resolve(t) is None]

    def _insufficient(
        self, book: ScoreBook, ticker: str, col: int, row: int | None, asked: dt.date | None
    ) -> InsufficientHistory:
        """Too few closes up to the date asked (or the last close): the asked date stays in
        the message and details, with the first stored close and the close used."""
        found = 0 if row is None else int(book.frames.n_closes[row, col])
        used = None if row is None else str(book.dates[row])
        exc = InsufficientHistory(ticker, found, MIN_CLOSES, str(asked) if asked else used)
        closes = book.close_rows(col)
        first = str(book.dates[closes[0]]) if closes.size else None
        exc.details.update({"first_close": first, "last_close_used": used})
        if row is None and first is not None:
            exc.message += f" (its first stored close is {first})"
        return exc

    def _score(
        self,
        book: ScoreBook,
        requested: str,
        col: int,
        row: int | None,
        universe: str,
        asked: dt.date | None = None,
    ) -> MomentumScore:
        f = book.frames
        ticker = f.tickers[col]
        if row is None or math.isnan(f.overall[row, col]):
            if row is None or int(f.n_closes[row, col]) < MIN_CLOSES:
                raise self._insufficient(book, ticker, col, row, asked)
            raise AppError(
                f"no score for {ticker} on {book.dates[row]} although it has "
                f"{int(f.n_closes[row, col])} closes"
            )
        where, ranks = book.rank_row(universe, row)
        k = where.get(col)
        if k is None:
            raise not_a_member(ticker, universe)
        sec = book.panel.securities.loc[ticker]
        raw = book.panel.raw_close.values[row, col]
        has_raw = not math.isnan(raw)
        overall = float(f.overall[row, col])
        left_out = book.left_out(row, col)
        return MomentumScore(
            ticker=ticker,
            requested_ticker=requested,
            name=sec["name"] if isinstance(sec["name"], str) else None,
            overall_momentum_score=_r2(overall),
            rating=rating(overall),
            price_momentum=_r2(f.price[row, col]),
            technical_momentum=_r2(f.technical[row, col]),
            relative_momentum=(
                None if math.isnan(f.relative[row, col]) else _r2(f.relative[row, col])
            ),
            percentile_rank=_r2(ranks[k]),
            universe=universe,
            universe_size=int(np.count_nonzero(~np.isnan(ranks))),
            as_of=pd.Timestamp(book.dates[row]).date(),
            current_price=float(raw if has_raw else book.panel.close.values[row, col]),
            price_basis="close" if has_raw else "adj_close",
            data_source=sec["data_source"] if isinstance(sec["data_source"], str) else None,
            complete=not left_out,
            left_out=left_out,
            closes_used=int(f.n_closes[row, col]),
            model_version=MODEL_VERSION,
        )

    # ------------------------------------------------------------- public API

    def score(
        self,
        ticker: str,
        as_of: dt.date | None = None,
        universe: str = ALL,
        version: int | None = None,
    ) -> MomentumScore:
        return self._score_in(self.book(version), ticker, as_of, universe)

    def _score_in(
        self, book: ScoreBook, ticker: str, as_of: dt.date | None, universe: str
    ) -> MomentumScore:
        _, col = self._locate(book, ticker)
        return self._score(book, ticker, col, book.row_at(col, as_of), universe, as_of)

    def breakdown(
        self, ticker: str, as_of: dt.date | None = None, version: int | None = None
    ) -> MomentumBreakdown:
        book = self.book(version)
        stored, col = self._locate(book, ticker)
        row = book.row_at(col, as_of)
        # Same validation and error as a score (insufficient history, ...).
        score = self._score(book, ticker, col, row, ALL, as_of)
        assert row is not None
        # The book keeps the scores only; the intermediates are recomputed for this one.
        p = book.panel
        bench = book.benchmarks.get(stored, EQUITY_BENCHMARK)
        f = breakdown_frames(p.close, p.volume, p.split, stored, bench, row, self.weights)

        def v(name: str) -> float | None:
            return _opt(float(getattr(f, name)[0, 0]))

        return MomentumBreakdown(
            ticker=stored,
            as_of=score.as_of,
            model_version=MODEL_VERSION,
            benchmark=bench,
            closes_used=score.closes_used,
            returns={"r21": v("r21"), "r63": v("r63"), "r126": v("r126"), "r252": v("r252")},
            weighted_return=v("weighted_return"),
            sma={
                "sma20": v("sma20"),
                "sma50": v("sma50"),
                "sma200": v("sma200"),
                "sma20_10_days_earlier": v("sma20_lag10"),
            },
            trend=v("trend"),
            magnitude=v("magnitude"),
            acceleration_input=v("acc"),
            slope=v("slope"),
            acceleration=v("acceleration"),
            price_momentum=v("price"),
            rsi=v("rsi"),
            rsi_score=v("s_rsi"),
            volume_ratio=v("volume_ratio"),
            volume_score=v("s_vol"),
            roc=v("roc"),
            roc_score=v("s_roc"),
            technical_momentum=v("technical"),
            benchmark_return_21=v("benchmark_r21"),
            relative_gap=v("relative_gap"),
            relative_momentum=v("relative"),
            overall_momentum_score=float(book.frames.overall[row, col]),
            rating=score.rating,
            weights={
                "price": self.weights.price,
                "technical": self.weights.technical,
                "relative": self.weights.relative,
            },
            complete=score.complete,
            left_out=score.left_out,
        )

    def history(
        self,
        ticker: str,
        start: dt.date | None = None,
        end: dt.date | None = None,
        universe: str = ALL,
        version: int | None = None,
    ) -> MomentumHistory:
        if start is not None and end is not None and start > end:
            raise InvalidInput(
                f"start {start} is after end {end}",
                {"field": "start", "rule": START_NOT_AFTER_END.rule},
            )
        book = self.book(version)
        stored, col = self._locate(book, ticker)
        f = book.frames
        rows = book.close_rows(col)
        scored = rows[~np.isnan(f.overall[rows, col])]
        first = pd.Timestamp(book.dates[scored[0]]).date() if scored.size else None
        if start is not None:
            scored = scored[book.dates[scored] >= np.datetime64(start, "D")]
        if end is not None:
            scored = scored[book.dates[scored] <= np.datetime64(end, "D")]
        if col not in book.universe_columns(universe):
            raise not_a_member(stored, universe)
        path = book.rank_path(universe, col, scored)
        masks = f.left_out[scored, col]
        points = [
            HistoryPoint(
                date=d,
                overall_momentum_score=_r2(o),
                rating=rating(o),
                price_momentum=_r2(p),
                technical_momentum=_r2(t),
                relative_momentum=None if math.isnan(r) else _r2(r),
                percentile_rank=_r2(pr),
                complete=int(m) == 0,
            )
            for d, o, p, t, r, pr, m in zip(
                pd.DatetimeIndex(book.dates[scored]).date,
                f.overall[scored, col].tolist(),
                f.price[scored, col].tolist(),
                f.technical[scored, col].tolist(),
                f.relative[scored, col].tolist(),
                path.tolist(),
                masks.tolist(),
            )
        ]
        source = book.panel.securities.loc[stored, "data_source"]
        return MomentumHistory(
            ticker=stored,
            start=start,
            end=end,
            universe=universe,
            model_version=MODEL_VERSION,
            data_source=source if isinstance(source, str) else None,
            count=len(points),
            first_scored_date=first,
            points=points,
        )

    def batch(
        self, tickers: Sequence[str], as_of: dt.date | None = None, version: int | None = None
    ) -> BatchResponse:
        results = []
        book = self.book(version)  # one book for the whole batch
        for ticker in tickers:
            try:
                score = self._score_in(book, ticker, as_of, ALL)
                results.append(BatchEntry(ticker=ticker, score=score))
            except AppError as exc:
                results.append(
                    BatchEntry(
                        ticker=ticker,
                        error=BatchError(code=exc.code, message=exc.message, details=exc.details),
                    )
                )
        ok = sum(1 for r in results if r.score is not None)
        return BatchResponse(
            count=len(results), succeeded=ok, failed=len(results) - ok, results=results
        )

    def top(
        self,
        limit: int,
        universe: str = ALL,
        as_of: dt.date | None = None,
        version: int | None = None,
    ) -> TopResponse:
        """The `limit` strongest scores of `universe` on its last scored date on or before
        `as_of`. Errors as a single score's: no member with prices is 404 `not_found`, no
        member with enough closes by then is 422 `insufficient_history`."""
        book = self.book(version)
        cols = book.universe_columns(universe)
        if not cols:
            raise NotFound(
                f"no member of universe {universe!r} has stored prices",
                {"universe": universe},
            )
        f = book.frames
        scored = book.scored_rows(universe)
        candidates = scored
        if as_of is not None:
            candidates = candidates[book.dates[candidates] <= np.datetime64(as_of, "D")]
        if candidates.size == 0:
            first = pd.Timestamp(book.dates[scored[0]]).date() if scored.size else None
            raise UniverseInsufficientHistory(universe, len(cols), as_of, first)
        row = int(candidates[-1])
        values = f.overall[row, cols]
        order = [k for k in np.argsort(-values, kind="stable") if not np.isnan(values[k])]
        results = [
            self._score(book, f.tickers[cols[k]], cols[k], row, universe) for k in order[:limit]
        ]
        return TopResponse(
            universe=universe,
            as_of=pd.Timestamp(book.dates[row]).date(),
            universe_size=len(order),
            limit=limit,
            results=results,
        )
