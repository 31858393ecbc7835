"""The seed of the nine categories and of the model portfolio (docs/model-portfolio.md), as data.

A new database starts from these values (migration 0002 holds its own frozen copy); from then on
the database is what runs: admins edit the categories there (`PUT /api/v1/categories/{slug}`),
and nothing at run time reads this module except for the universe names the API documents
(categories cannot be added or renamed through the API).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SeedCategory:
    name: str
    target: float
    benchmark: str
    tickers: Sequence[str]
    fixed_income: bool = False


SEED_CATEGORIES: tuple[SeedCategory, ...] = (
    SeedCategory(
        "Large-Cap Anchors",
        0.20,
        "QQQ",
        (
            "NVDA TSM ASML AVGO MSFT META AAPL AMD GOOGL TSLA PLTR CSCO CRWV ORCL DT AUR MBLY "
            "NOW INTC SNDK COHR TSEM"
        ).split(),
    ),
    SeedCategory(
        "Small-Cap Specialists",
        0.15,
        "XLK",
        "VRT MOD BE CIEN ATKR UI APLD SMCI GDS VNET LITE WYFI PSIX".split(),
    ),
    SeedCategory(
        "Data Center Infrastructure",
        0.15,
        "VNQ",
        "SRVR DLR EQIX AMT CCI COR IRM ACM JCI IDGT DTCR CORZ KRC".split(),
    ),
    SeedCategory("International Tech/Momentum", 0.12, "VEA", "EWJ EWT INDA EWY EWU INFY".split()),
    SeedCategory(
        "Tactical Fixed Income",
        0.08,
        "AGG",
        "SHY VCIT TIP IEF BIL LQD FLOT XHLF SWVXX".split(),
        fixed_income=True,
    ),
    SeedCategory("Sector Momentum Rotation", 0.10, "SPY", "XLE XLF XLI XLU XLB LBRT PUMP".split()),
    SeedCategory("Critical Metals & Mining", 0.07, "XLB", "MP ALB SQM LAC FCX SCCO TECK".split()),
    SeedCategory("Specialized Materials ETFs", 0.05, "XLB", ("REMX", "LIT")),
    SeedCategory(
        "AI Power/Energy Infrastructure",
        0.08,
        "XLU",
        ("VST CEG NRG GEV CCJ OKLO SMR TLN IREN CIFR EQT SEI RIOT HUT BTDR CLSK BITF BW").split(),
    ),
)

SEED_MODEL_HOLDINGS: dict[str, int] = {
    "NVDA": 7, "AVGO": 4, "MSFT": 2, "META": 1, "NOW": 1, "AAPL": 4, "GOOGL": 4, "VRT": 7,
    "MOD": 10, "BE": 30, "UI": 3, "DLR": 6, "SRVR": 58, "IRM": 10, "CCI": 10, "EWJ": 14,
    "EWT": 17, "SHY": 13, "XLI": 7, "MP": 16,
}  # fmt: skip


def slug(name: str) -> str:
    """URL form of a category name: "Large-Cap Anchors" -> "large-cap-anchors"."""
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in name)
    return "-".join(part for part in out.split("-") if part)
