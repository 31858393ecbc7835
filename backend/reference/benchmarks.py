"""Benchmark symbols: what the engine scores relative momentum against, and the market
benchmarks a warmup keeps scored. (The categories' own benchmarks are in the database.)"""

from __future__ import annotations

from typing import Final

# Relative momentum: every security against the equity benchmark, except the securities of a
# fixed-income category, which are measured against the bond benchmark.
EQUITY_BENCHMARK: Final = "SPY"
FIXED_INCOME_BENCHMARK: Final = "AGG"
SCORING_BENCHMARKS: Final = (EQUITY_BENCHMARK, FIXED_INCOME_BENCHMARK)

# The market's broad and momentum benchmarks the dashboard compares against.
MARKET_BENCHMARKS: Final = ("SPY", "QQQ", "MTUM", "AIQ")
