"""What a warmup computes when it is not told: the model portfolio and the benchmarks."""

from __future__ import annotations

from backend.market_data.categories import CategorySnapshot
from backend.reference.benchmarks import MARKET_BENCHMARKS, SCORING_BENCHMARKS


def default_warmup_tickers(snapshot: CategorySnapshot) -> list[str]:
    """Model holdings, market benchmarks, category benchmarks (as the database holds them) and
    scoring benchmarks: sorted, without repeats."""
    tickers = set(snapshot.model_holdings) | set(MARKET_BENCHMARKS) | set(SCORING_BENCHMARKS)
    tickers |= {c.benchmark for c in snapshot.categories}
    return sorted(tickers)
