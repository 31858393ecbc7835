"""Options snapshots stored and imported: the recorded GOOG Lean chains and the recorded Yahoo
answer go through `import-options` into the store and come back value for value; a bad file
imports nothing and its error names the line; a day imported again replaces itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from backend import cli
from backend.config import get_settings
from backend.db.engine import make_engine
from backend.db.migrate import upgrade_to_head
from backend.db.models import OptionContract, OptionSnapshot
from backend.options.importer import read_snapshot
from backend.options.store import OptionStore
from tests.unit.options.data import GOOG_DAYS, GOOG_DIR, YAHOO_AAPL

pytestmark = [pytest.mark.unit, pytest.mark.database]

runner = CliRunner()
RATE = 0.04


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OptionStore]:
    url = f"sqlite:///{tmp_path / 'options.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATA_PROVIDER", "none")
    monkeypatch.setenv("OPTIONS_RISK_FREE_RATE", str(RATE))
    get_settings.cache_clear()
    engine = make_engine(url)
    upgrade_to_head(engine)
    yield OptionStore(engine)
    engine.dispose()
    get_settings.cache_clear()


def counts(store: OptionStore) -> tuple[int, int]:
    with store.engine.connect() as conn:
        snapshots = conn.execute(select(func.count()).select_from(OptionSnapshot)).scalar_one()
        contracts = conn.execute(select(func.count()).select_from(OptionContract)).scalar_one()
    return snapshots, contracts


def test_a_lean_chain_is_stored_and_read_back_value_for_value(store: OptionStore) -> None:
    day = GOOG_DAYS[1]
    snapshot = read_snapshot(GOOG_DIR / f"{day:%Y%m%d}.csv", "lean", "GOOG", RATE)
    store.write([snapshot])
    back = store.latest("GOOG")
    assert back is not None and back.day == day and back.spot == snapshot.spot
    assert back.taken_at == snapshot.as_of
    assert back.source == f"lean:{day:%Y%m%d}.csv"
    assert back.atm_iv_30d == pytest.approx(snapshot.atm_iv_30d)
    key = ["expiry", "strike", "right"]
    ours = snapshot.contracts.sort_values(key).reset_index(drop=True)
    theirs = back.contracts.sort_values(key).reset_index(drop=True)
    assert len(theirs) == len(ours) > 500
    for column in ("strike", "bid", "ask", "last", "vendor_iv", "iv"):
        np.testing.assert_allclose(theirs[column], ours[column].astype(float), equal_nan=True)
    assert (theirs["iv_reason"].fillna("") == ours["iv_reason"].fillna("")).all()
    # Lean's 0 for "no volatility" (its README) is stored as missing, never as 0.
    assert not (theirs["vendor_iv"] == 0).any()
    # Every contract without our volatility says why; none with one carries a reason.
    assert theirs["iv_reason"].notna().eq(theirs["iv"].isna()).all()


def test_the_cli_imports_every_goog_day_and_a_day_again_replaces_itself(
    store: OptionStore,
) -> None:
    for day in GOOG_DAYS:
        result = runner.invoke(
            cli.app, ["import-options", str(GOOG_DIR / f"{day:%Y%m%d}.csv"), "--ticker", "goog"]
        )
        assert result.exit_code == 0, result.output
        assert f"GOOG on {day}" in result.output
    first = counts(store)
    assert first[0] == 7
    again = runner.invoke(
        cli.app, ["import-options", str(GOOG_DIR / "20151223.csv"), "--ticker", "GOOG"]
    )
    assert again.exit_code == 0 and "replaced" in again.output
    assert counts(store) == first
    history = store.history("GOOG")
    assert [p.day for p in history] == GOOG_DAYS
    # The shipped 2015-12-22 file is trimmed to 78 contracts of the nearest expiries: no
    # expiry beyond 30 days, so no 30-day volatility, with the reason.
    assert history[0].atm_iv_30d is None and "30 days" in (history[0].atm_reason or "")
    assert all(p.atm_iv_30d is not None and 0.1 < p.atm_iv_30d < 0.6 for p in history[1:])
    print("\nGOOG 30-day ATM IV from the Lean last prices:")
    for point in history:
        print(f"  {point.day}  {point.atm_iv_30d}  {point.atm_reason or ''}")


def test_the_yahoo_answer_is_imported_with_its_vendor_volatility(store: OptionStore) -> None:
    result = runner.invoke(cli.app, ["import-options", str(YAHOO_AAPL), "--format", "yahoo-json"])
    assert result.exit_code == 0, result.output
    back = store.latest("AAPL")
    assert back is not None and back.spot == 107.68 and len(back.contracts) == 76
    assert back.source == "yahoo-json:yahoo_options_aapl_2016-09-06.json"
    # One expiry three days out: no expiry on either side of 30 days, said, never a number.
    assert back.atm_iv_30d is None and back.atm_reason is not None
    near = back.contracts[(back.contracts["strike"] - 107.68).abs() <= 0.05 * 107.68]
    near = near[(near["bid"] > 0) & (near["ask"] > 0)]
    # Ours (from the mid, on the parity forward) and Yahoo's (from the ask) near the money.
    difference = (near["iv"] - near["vendor_iv"]).abs()
    print(f"\nAAPL near the money: largest |ours(mid) - Yahoo(ask)| = {difference.max():.4f}")
    assert near["iv"].notna().all() and difference.max() < 0.1


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--format", "lean"], 2, "--ticker is required"),
        (["--ticker", "GO OG"], 2, "is not a ticker"),
        (["--format", "csv", "--ticker", "GOOG"], 2, "must be one of"),
    ],
)
def test_bad_options_are_refused_before_anything_is_read(
    store: OptionStore, args: list[str], code: int, message: str
) -> None:
    result = runner.invoke(cli.app, ["import-options", str(GOOG_DIR / "20151223.csv"), *args])
    assert result.exit_code == code, result.output
    assert message in " ".join(result.output.split())
    assert counts(store) == (0, 0)


def test_a_bad_line_imports_nothing_and_is_named(store: OptionStore, tmp_path: Path) -> None:
    lines = (GOOG_DIR / "20151223.csv").read_text().splitlines()
    fields = lines[40].split(",")
    fields[2] = "X"
    lines[40] = ",".join(fields)
    bad = tmp_path / "20151223.csv"
    bad.write_text("\n".join(lines) + "\n")
    result = runner.invoke(cli.app, ["import-options", str(bad), "--ticker", "GOOG"])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "line 41" in text and "nothing was imported" in text
    assert counts(store) == (0, 0)


def test_a_yahoo_answer_for_another_ticker_is_refused(store: OptionStore) -> None:
    result = runner.invoke(
        cli.app,
        ["import-options", str(YAHOO_AAPL), "--format", "yahoo-json", "--ticker", "MSFT"],
    )
    assert result.exit_code == 2, result.output  # the caller's mistake, as a bad option
    assert "the answer is for AAPL, not MSFT" in " ".join(result.output.split())
    assert counts(store) == (0, 0)


def test_vix_is_importable_as_a_price_series(store: OptionStore) -> None:
    from backend.market_data.store import PriceStore
    from tests.unit.options.data import VIX

    result = runner.invoke(cli.app, ["import-prices", str(VIX), "--ticker", "^VIX"])
    assert result.exit_code == 0, result.output
    bars = PriceStore(store.engine).bars("^VIX", None, None)
    expected = pd.read_csv(VIX)
    assert len(bars) == len(expected)
    by_day = {b["date"].isoformat(): b["close"] for b in bars}
    assert by_day["2020-03-16"] == pytest.approx(82.69)
