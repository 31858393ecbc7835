"""Diversification figures and a side-by-side comparison of two portfolios (pure functions).

Conventions
-----------
* **Position weights** are of the *invested* value (holdings only, cash excluded: cash is not a
  position): ``wᵢ = vᵢ / Σ v`` over the holdings with a value ``vᵢ > 0`` (market value, or cost
  when unpriced, as ``analysis.py`` values them). Holdings without a value are left out, named.
* **Top-5 concentration** ``= Σ`` of the five largest ``wᵢ`` (1 with five positions or fewer).
* **Herfindahl index** ``HHI = Σ wᵢ²`` (from ``1/N`` for ``N`` equal positions to 1 for one);
  ``effective_positions = 1 / HHI``.
* **Largest position**: the largest ``wᵢ`` (ticker as tie-break).
* **Sectors held**: the distinct sectors of the valued holdings, each with ``Σ wᵢ`` of its
  holdings; holdings without a sector are named, not counted as a sector.
* **Allocation comparison** (two ``PortfolioAnalysis`` over the same categories): per category
  its target, each portfolio's weight (of total value, cash included, as in ``analysis.py``),
  its gap ``weight − target`` and the difference ``weight_b − weight_a``; the cash line beside
  them (``cash_target = max(0, 1 − Σ targets)``). Undefined weights (total value ≤ 0) are None.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from backend.portfolios.analysis import (
    UNCATEGORISED,
    CategoryAnalysis,
    HoldingAnalysis,
    PortfolioAnalysis,
    safe_ratio,
)

TOP_N: Final = 5


@dataclass(frozen=True)
class PositionWeight:
    ticker: str
    weight: float


@dataclass(frozen=True)
class SectorWeight:
    """A sector held: ``weight = Σ wᵢ`` of its holdings, ``tickers`` largest first."""

    sector: str
    weight: float
    tickers: tuple[str, ...]


@dataclass(frozen=True)
class Diversification:
    """The figures of one portfolio (module docstring). ``invested_value = Σ vᵢ``; every
    figure is None without a valued position."""

    positions: int
    invested_value: float
    top5_weight: float | None
    top5: tuple[PositionWeight, ...]
    herfindahl: float | None
    effective_positions: float | None
    largest: PositionWeight | None
    sectors_held: int
    sectors: tuple[SectorWeight, ...]
    no_sector: tuple[str, ...]
    left_out: tuple[str, ...]


def diversification(
    values: Mapping[str, float | None], sectors: Mapping[str, str | None]
) -> Diversification:
    """Top-5 concentration ``Σ_{5 largest} wᵢ``, Herfindahl ``Σ wᵢ²``, largest position and
    sectors held, with ``wᵢ = vᵢ / Σ v`` over ``values`` (ticker -> value; None, NaN or ≤ 0: not
    valued, left out). ``sectors``: ticker -> sector (missing, None or blank: no sector)."""
    valued: dict[str, float] = {}
    left_out: list[str] = []
    for ticker, value in values.items():
        v = math.nan if value is None else float(value)
        if math.isfinite(v) and v > 0:
            valued[ticker] = v
        else:
            left_out.append(ticker)
    total = sum(valued.values())
    weights = sorted(
        (PositionWeight(t, v / total) for t, v in valued.items()),
        key=lambda p: (-p.weight, p.ticker),
    )
    by_sector: dict[str, list[PositionWeight]] = {}
    no_sector: list[str] = []
    for p in weights:
        sector = (sectors.get(p.ticker) or "").strip()
        if sector:
            by_sector.setdefault(sector, []).append(p)
        else:
            no_sector.append(p.ticker)
    sector_rows = sorted(
        (
            SectorWeight(name, sum(p.weight for p in held), tuple(p.ticker for p in held))
            for name, held in by_sector.items()
        ),
        key=lambda s: (-s.weight, s.sector),
    )
    hhi = sum(p.weight**2 for p in weights) if weights else None
    top = tuple(weights[:TOP_N])
    return Diversification(
        positions=len(weights),
        invested_value=total,
        top5_weight=sum(p.weight for p in top) if weights else None,
        top5=top,
        herfindahl=hhi,
        effective_positions=1.0 / hhi if hhi else None,
        largest=weights[0] if weights else None,
        sectors_held=len(sector_rows),
        sectors=tuple(sector_rows),
        no_sector=tuple(sorted(no_sector)),
        left_out=tuple(sorted(left_out)),
    )


def diversification_of(
    analysis: PortfolioAnalysis, sectors: Mapping[str, str | None]
) -> Diversification:
    """:func:`diversification` of an analysed portfolio's holdings (their ``value``)."""
    return diversification({h.ticker: h.value for h in analysis.holdings}, sectors)


@dataclass(frozen=True)
class AllocationRow:
    """One category (or the cash line, ``is_cash``) of two portfolios: ``gap_x = weight_x −
    target``, ``difference = weight_b − weight_a`` (None where a weight is undefined)."""

    name: str
    target: float
    weight_a: float | None
    weight_b: float | None
    gap_a: float | None
    gap_b: float | None
    difference: float | None
    is_cash: bool = False


def _gap(weight: float | None, target: float) -> float | None:
    return None if weight is None else weight - target


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


def _row(
    name: str, target: float, wa: float | None, wb: float | None, is_cash: bool = False
) -> AllocationRow:
    gaps = _gap(wa, target), _gap(wb, target)
    return AllocationRow(name, target, wa, wb, *gaps, _difference(wa, wb), is_cash)


def compare_allocations(a: PortfolioAnalysis, b: PortfolioAnalysis) -> tuple[AllocationRow, ...]:
    """Category allocations of ``a`` and ``b`` side by side with the targets and gaps, in the
    categories' order (``"Uncategorised"``, target 0, when either has such holdings), then the
    cash line. Raises ``ValueError`` when the two were analysed against different targets."""
    cats_a = {c.name: c for c in a.categories}
    cats_b = {c.name: c for c in b.categories}
    named_a = [c for c in a.categories if not c.uncategorised]
    named_b = [c for c in b.categories if not c.uncategorised]
    if [(c.name, c.target) for c in named_a] != [(c.name, c.target) for c in named_b]:
        raise ValueError("the two portfolios were analysed against different category targets")
    names: Sequence[str] = [c.name for c in named_a]
    if UNCATEGORISED in cats_a or UNCATEGORISED in cats_b:
        names = [*names, UNCATEGORISED]

    def weight(cats: Mapping[str, CategoryAnalysis], name: str, total: float) -> float | None:
        if name in cats:
            return cats[name].weight
        return safe_ratio(0.0, total)  # no uncategorised holding: 0 of a defined total

    rows = [
        _row(
            name,
            cats_a[name].target if name in cats_a else 0.0,
            weight(cats_a, name, a.total_value),
            weight(cats_b, name, b.total_value),
        )
        for name in names
    ]
    rows.append(_row("Cash", a.cash_target, a.cash_weight, b.cash_weight, is_cash=True))
    return tuple(rows)


@dataclass(frozen=True)
class HoldingRow:
    """A ticker held by either portfolio: its weights (of total value; 0 when not held, None
    when held but unvalued or the total is undefined), its category and its score."""

    ticker: str
    category: str
    weight_a: float | None
    weight_b: float | None
    score: float | None


def _held_weight(held: Mapping[str, HoldingAnalysis], ticker: str, total: float) -> float | None:
    h = held.get(ticker)
    return safe_ratio(0.0, total) if h is None else h.weight


def compare_holdings(a: PortfolioAnalysis, b: PortfolioAnalysis) -> tuple[HoldingRow, ...]:
    """Every ticker held by ``a`` or ``b`` with both weights, largest weight first (then
    ticker). A ticker one portfolio does not hold has weight 0 there (when its total value is
    defined); the score is ``a``'s, else ``b``'s."""
    ha = {h.ticker: h for h in a.holdings}
    hb = {h.ticker: h for h in b.holdings}
    rows = []
    for ticker in set(ha) | set(hb):
        both = [h for h in (ha.get(ticker), hb.get(ticker)) if h is not None]
        scores = [h.score for h in both if h.score is not None]
        rows.append(
            HoldingRow(
                ticker,
                both[0].category,
                _held_weight(ha, ticker, a.total_value),
                _held_weight(hb, ticker, b.total_value),
                scores[0] if scores else None,
            )
        )
    rows.sort(key=lambda r: (-max(r.weight_a or 0.0, r.weight_b or 0.0), r.ticker))
    return tuple(rows)
