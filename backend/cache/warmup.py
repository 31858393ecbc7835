"""What a warmup computes when it is not told: the model portfolio and the benchmarks."""

from __future__ import annotations

from backend.portfolios.model_portfolio import CATEGORIES, MARKET_BENCHMARKS, MODEL_HOLDINGS

# The benchmarks the momentum service scores against (relative momentum).
SCORING_BENCHMARKS = ("SPY", "AGG")


def default_warmup_tickers() -> list[str]:
    """Model holdings, market benchmarks, category benchmarks and scoring benchmarks: sorted,
    without repeats."""
    tickers = set(MODEL_HOLDINGS) | set(MARKET_BENCHMARKS) | set(SCORING_BENCHMARKS)
    tickers |= {c.benchmark for c in CATEGORIES}
    return sorted(tickers)
