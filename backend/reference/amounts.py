"""How ledger amounts are stored: `NUMERIC(PRECISION, SCALE)` columns (backend/db/models.py),
the bounds the ledger's exact decimals keep to (backend/portfolios/decimals.py)."""

from __future__ import annotations

from typing import Final

SCALE: Final = 6
PRECISION: Final = 15
