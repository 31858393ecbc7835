"""The built-in model portfolio and its nine categories (docs/model-portfolio.md), as data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    name: str
    target: float
    benchmark: str
    tickers: Sequence[str]
    fixed_income: bool = False


CATEGORIES: tuple[Category, ...] = (
    Category(
        "Large-Cap Anchors",
        0.20,
        "QQQ",
        (
            "NVDA TSM ASML AVGO MSFT META AAPL AMD GOOGL TSLA PLTR CSCO CRWV ORCL DT AUR MBLY "
            "NOW INTC SNDK COHR TSEM"
        ).split(),
    ),
    Category(
        "Small-Cap Specialists",
        0.15,
        "XLK",
        "VRT MOD BE CIEN ATKR UI APLD SMCI GDS VNET LITE WYFI PSIX".split(),
    ),
    Category(
        "Data Center Infrastructure",
        0.15,
        "VNQ",
        "SRVR DLR EQIX AMT CCI COR IRM ACM JCI IDGT DTCR CORZ KRC".split(),
    ),
    Category("International Tech/Momentum", 0.12, "VEA", "EWJ EWT INDA EWY EWU INFY".split()),
    Category(
        "Tactical Fixed Income",
        0.08,
        "AGG",
        "SHY VCIT TIP IEF BIL LQD FLOT XHLF SWVXX".split(),
        fixed_income=True,
    ),
    Category("Sector Momentum Rotation", 0.10, "SPY", "XLE XLF XLI XLU XLB LBRT PUMP".split()),
    Category("Critical Metals & Mining", 0.07, "XLB", "MP ALB SQM LAC FCX SCCO TECK".split()),
    Category("Specialized Materials ETFs", 0.05, "XLB", ("REMX", "LIT")),
    Category(
        "AI Power/Energy Infrastructure",
        0.08,
        "XLU",
        ("VST CEG NRG GEV CCJ OKLO SMR TLN IREN CIFR EQT SEI RIOT HUT BTDR CLSK BITF BW").split(),
    ),
)

MARKET_BENCHMARKS: tuple[str, ...] = ("SPY", "QQQ", "MTUM", "AIQ")

MODEL_HOLDINGS: dict[str, int] = {
    "NVDA": 7, "AVGO": 4, "MSFT": 2, "META": 1, "NOW": 1, "AAPL": 4, "GOOGL": 4, "VRT": 7,
    "MOD": 10, "BE": 30, "UI": 3, "DLR": 6, "SRVR": 58, "IRM": 10, "CCI": 10, "EWJ": 14,
    "EWT": 17, "SHY": 13, "XLI": 7, "MP": 16,
}  # fmt: skip

FIXED_INCOME_TICKERS: frozenset[str] = frozenset(
    t for c in CATEGORIES if c.fixed_income for t in c.tickers
)


def category_of(ticker: str) -> Category | None:
    for category in CATEGORIES:
        if ticker in category.tickers:
            return category
    return None


def slug(name: str) -> str:
    """URL form of a category name: "Large-Cap Anchors" -> "large-cap-anchors"."""
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in name)
    return "-".join(part for part in out.split("-") if part)
