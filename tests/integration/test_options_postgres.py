"""Option snapshots on a real PostgreSQL (TEST_DATABASE_URL): migration 0006 up and down, the
GOOG chains written and read back, a day written again replacing itself, a failing batch
leaving nothing."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import inspect, text

from backend.db.engine import make_engine
from backend.db.migrate import upgrade_to_head
from backend.options.importer import read_snapshot
from backend.options.store import OptionStore
from tests.unit.options.data import GOOG_DAYS, GOOG_DIR

pytestmark = [pytest.mark.integration, pytest.mark.database]

RATE = 0.04


def test_snapshots_round_trip_and_replace_on_postgres(pg_url: str) -> None:
    engine = make_engine(pg_url)
    upgrade_to_head(engine)
    assert {"option_snapshots", "option_contracts"} <= set(inspect(engine).get_table_names())
    store = OptionStore(engine)
    snapshots = [
        read_snapshot(GOOG_DIR / f"{day:%Y%m%d}.csv", "lean", "GOOG", RATE) for day in GOOG_DAYS
    ]
    written = store.write(snapshots)
    assert written.snapshots == 7 and written.replaced == 0
    assert written.contracts == sum(len(s.contracts) for s in snapshots)
    again = store.write(snapshots[-1:])
    assert again.replaced == 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM option_snapshots")).scalar_one() == 7
        total = conn.execute(text("SELECT count(*) FROM option_contracts")).scalar_one()
    assert total == written.contracts
    back = store.latest("GOOG")
    assert back is not None and back.day == GOOG_DAYS[-1]
    assert back.taken_at == snapshots[-1].as_of  # timezone-aware, 16:00 New York
    key = ["expiry", "strike", "right"]
    ours = snapshots[-1].contracts.sort_values(key).reset_index(drop=True)
    theirs = back.contracts.sort_values(key).reset_index(drop=True)
    for column in ("strike", "last", "vendor_iv", "iv"):
        np.testing.assert_allclose(theirs[column], ours[column].astype(float), equal_nan=True)
    # A batch whose second snapshot cannot be written leaves the first unwritten too.
    broken = snapshots[0].contracts.copy()
    broken.loc[0, "right"] = "XX"  # longer than the column: PostgreSQL refuses the row
    bad = type(snapshots[0])(**{**vars(snapshots[0]), "contracts": broken})
    fresh = type(snapshots[1])(**{**vars(snapshots[1]), "ticker": "GOOGL"})
    with pytest.raises(Exception):
        store.write([fresh, bad])
    assert store.latest("GOOGL") is None
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM option_contracts")).scalar_one() == total
    engine.dispose()
