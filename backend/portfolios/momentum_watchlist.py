"""The momentum watchlist (`GET /api/v1/watchlist`): for each category, the strongest members
that a portfolio (a user's, or the model portfolio) does not hold, beside the category's
allocation gap and priority.

Weights and targets come from the portfolio's analysis (`PortfolioViews`), scores from the
momentum service's score book (`watch_scores`), the rules from `watchlist_rules`.
"""

from __future__ import annotations

from backend.market_data.categories import CategoryRecord
from backend.momentum.schemas import MomentumScore
from backend.momentum.service import MomentumService, ScoreBook
from backend.portfolios import watch_scores
from backend.portfolios.schemas import AnalysisOut
from backend.portfolios.views import PortfolioViews
from backend.portfolios.watchlist_rules import (
    Scored,
    allocation_gap,
    priority,
    score_change,
    select_candidates,
)
from backend.portfolios.watchlist_schemas import (
    MomentumWatchlistOut,
    UnscoredMember,
    WatchCandidate,
    WatchCategory,
    WatchSummary,
)


def held_tickers(book: ScoreBook, analysis: AnalysisOut) -> set[str]:
    """The stored tickers of the holdings (an alias held counts as its stored ticker)."""
    return {book.resolve(h.ticker) or h.ticker for h in analysis.analysis.holdings}


def _candidate(
    momentum: MomentumService, book: ScoreBook, member: str, s: MomentumScore
) -> WatchCandidate:
    then = watch_scores.earlier(momentum, book, s.ticker)
    return WatchCandidate(
        ticker=s.ticker,
        member=member,
        name=s.name,
        score=s.overall_momentum_score,
        rating=s.rating,
        percentile_rank=s.percentile_rank,
        as_of=s.as_of,
        score_20d_earlier=then.score,
        score_20d_earlier_date=then.date,
        score_change_20d=score_change(s.overall_momentum_score, then.score),
        change_note=then.note,
    )


class MomentumWatchlist:
    def __init__(self, views: PortfolioViews, momentum: MomentumService, per_category: int):
        self.views = views
        self.momentum = momentum
        self.per_category = per_category

    def analysis(self, user_id: int | None, portfolio_id: int | None) -> AnalysisOut:
        """The user's portfolio's analysis (NotFound when not theirs), or the model's."""
        if portfolio_id is None:
            return self.views.model_analysis()
        assert user_id is not None, "a portfolio is read for its owner only"
        return self.views.analysis(user_id, portfolio_id)

    def watchlist(
        self, user_id: int | None, portfolio_id: int | None, min_score: float
    ) -> MomentumWatchlistOut:
        analysis = self.analysis(user_id, portfolio_id)
        book = self.views.quotes.require_book()
        held = held_tickers(book, analysis)
        weights = {c.name: c.weight for c in analysis.analysis.categories}
        out: list[WatchCategory] = []
        for cat in self.views.categories.categories():
            out.append(self._category(book, cat, weights.get(cat.name), held, min_score))
        scores = [c for cat in out for c in cat.candidates]
        sources = {
            str(book.panel.securities.loc[c.ticker, "data_source"])
            for c in scores
            if isinstance(book.panel.securities.loc[c.ticker, "data_source"], str)
        }
        notes = [
            "weights are shares of total value, cash included (the portfolio's analysis)",
            f"score_change_20d: the score now less the score {watch_scores.CHANGE_DAYS} "
            "closes of the ticker earlier",
        ]
        if analysis.analysis.total_value <= 0:
            notes.append("the portfolio has no value: weights, gaps and priorities are null")
        return MomentumWatchlistOut(
            portfolio_id=analysis.portfolio_id,
            portfolio_name=analysis.name,
            min_score=min_score,
            max_per_category=self.per_category,
            as_of=max((c.as_of for c in scores), default=None),
            prices_as_of=analysis.prices_as_of,
            data_version=book.data_version,
            data_sources=sorted(sources),
            categories=out,
            summary=WatchSummary(
                candidates=len(scores),
                high_priority_categories=[c.slug for c in out if c.priority == "high"],
            ),
            notes=notes,
        )

    def _category(
        self,
        book: ScoreBook,
        cat: CategoryRecord,
        weight: float | None,
        held: set[str],
        min_score: float,
    ) -> WatchCategory:
        scored: dict[str, tuple[str, MomentumScore]] = {}
        unscored: list[UnscoredMember] = []
        in_portfolio: list[str] = []
        for member in cat.tickers:
            stored = book.resolve(member) or member
            if stored in held:
                in_portfolio.append(member)
                continue
            found = watch_scores.current(self.momentum, book, member)
            if isinstance(found, str):
                unscored.append(UnscoredMember(ticker=member, reason=found))
            else:
                scored[found.ticker] = (member, found)
        picked, qualified = select_candidates(
            [Scored(t, s.overall_momentum_score) for t, (_, s) in scored.items()],
            held,
            min_score,
            self.per_category,
        )
        gap = allocation_gap(cat.target, weight)
        return WatchCategory(
            name=cat.name,
            slug=cat.slug,
            target=cat.target,
            current_weight=weight,
            allocation_gap=gap,
            priority=priority(gap),
            held=in_portfolio,
            candidates=[
                _candidate(self.momentum, book, scored[p.ticker][0], scored[p.ticker][1])
                for p in picked
            ],
            qualified=qualified,
            unscored=unscored,
        )
