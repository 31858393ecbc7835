"""The data-version reader and gate on PostgreSQL (TEST_DATABASE_URL): a dedicated autocommit
connection that sees each committed write at once, and survives a lost connection."""

from __future__ import annotations

import asyncio
import datetime as dt

import pandas as pd
import pytest

from backend.cache.version import DataVersionGate, DataVersionReader
from backend.db.engine import make_engine
from backend.db.migrate import upgrade_to_head
from backend.market_data.store import PriceStore
from tests.unit.cache.support import run_async

pytestmark = [pytest.mark.integration, pytest.mark.database]


def bar(day: dt.date, price: float) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "date": day,
                "ticker": "AAA",
                "open": price,
                "high": price,
                "low": price,
                "close": price,
                "adj_close": price,
                "volume": 1e6,
                "dividend": 0.0,
                "split": 1.0,
            }
        ]
    )


def test_reader_sees_each_committed_write_and_reconnects(pg_url: str) -> None:
    engine = make_engine(pg_url)
    upgrade_to_head(engine)
    store = PriceStore(engine)
    reader = DataVersionReader(engine)
    assert reader.local is False and reader.sqlite is False
    try:
        start = reader.read()
        assert start == store.data_version()
        store.upsert_bars(bar(dt.date(2024, 1, 2), 10.0), source="test")
        assert reader.read() == start + 1  # no transaction of the reader hides the write
        store.upsert_bars(bar(dt.date(2024, 1, 2), 10.0), source="test")  # unchanged
        assert reader.read() == start + 1
        # The connection dies (server restart, network): the next read fails, the one after
        # reconnects.
        reader._conn.close()
        with pytest.raises(Exception):
            reader.read()
        assert reader.read() == start + 1

        async def many() -> list[int]:
            gate = DataVersionGate(reader.read)
            values = await asyncio.gather(*(gate.current() for _ in range(50)))
            assert gate.reads < 50  # shared reads
            return list(values)

        assert run_async(many()) == [start + 1] * 50
    finally:
        reader.close()
        engine.dispose()
