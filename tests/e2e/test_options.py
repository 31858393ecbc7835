"""The options section of the security page in a real browser: GOOG's recorded Lean chains
(seven days of December 2015) imported into a copy of the sample store, served by its own
server; the term structure chart, the IV rank gauge with its history length and the signal in
words; a ticker without a snapshot says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.db.engine import make_engine
from backend.options.importer import read_snapshot
from backend.options.store import OptionStore
from tests.e2e.conftest import copy_sample_store, served, watched_page
from tests.unit.options.data import GOOG_DAYS, GOOG_DIR

pytestmark = pytest.mark.e2e

RATE = 0.04


@pytest.fixture(scope="module")
def options_server(
    chromium_path: str, sample_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The service over a copy of the sample store holding GOOG's seven option snapshots,
    with an IV rank from five snapshots on (OPTIONS_MIN_HISTORY=5)."""
    folder = tmp_path_factory.mktemp("e2e-options")
    db = folder / "options.db"
    copy_sample_store(sample_db_url, db)
    engine = make_engine(f"sqlite:///{db}")
    OptionStore(engine).write(
        read_snapshot(GOOG_DIR / f"{day:%Y%m%d}.csv", "lean", "GOOG", RATE) for day in GOOG_DAYS
    )
    engine.dispose()
    with served(folder, db, OPTIONS_MIN_HISTORY="5", OPTIONS_RISK_FREE_RATE=str(RATE)) as base:
        yield base


@pytest.fixture
def options_page(browser: Any, options_server: str) -> Iterator[Any]:
    with watched_page(browser, options_server) as pg:
        yield pg


def test_the_security_page_shows_goog_options(
    options_page: Any, options_server: str, shots: Path
) -> None:
    from playwright.sync_api import expect

    summary = httpx.get(f"{options_server}/api/v1/options/GOOG").json()
    page = options_page
    page.goto("/app/security/GOOG")
    panel = page.locator("#options-panel")
    expect(panel.locator("#options-atm30")).to_have_text(
        f"{100 * summary['atm_iv_30d']['iv']:.1f}%"
    )
    drawn = [p for p in summary["term_structure"] if p["atm_iv"] is not None]
    chart = panel.locator('#options-term-chart path[data-series="ATM IV"]')
    expect(chart).to_have_count(1)
    assert page.locator("#options-term-chart .line-chart").get_attribute("data-points") == str(
        len(drawn)
    )
    gauge = panel.locator("#iv-rank-gauge")
    rank = summary["iv_rank"]
    assert rank["history"] == 6 and rank["iv_rank"] is not None
    assert float(gauge.get_attribute("value") or "nan") == pytest.approx(rank["iv_rank"])
    assert gauge.get_attribute("data-history") == "6"
    expect(panel.locator("#iv-rank-text")).to_contain_text("over 6 daily snapshots")
    words = {"sell_premium": "Sell premium", "cheap_hedge": "Cheap hedge", "neutral": "Neutral"}
    expect(panel.locator("#options-signal")).to_contain_text(words[summary["signal"]["signal"]])
    # The options section comes after the other panels once they are drawn.
    page.wait_for_selector("#breakdown-panel")
    last = page.locator("main section.panel").last
    expect(last).to_have_attribute("id", "options-panel")
    page.screenshot(path=str(shots / "security-options-goog.png"), full_page=True)


def test_a_ticker_without_a_snapshot_says_so(options_page: Any) -> None:
    from playwright.sync_api import expect

    options_page.goto("/app/security/NVDA")
    expect(options_page.locator("#options-empty")).to_have_text(
        "No options snapshot is stored for NVDA."
    )


def test_the_leaderboard_shows_iv_rank_as_a_column(
    options_page: Any, options_server: str, shots: Path
) -> None:
    """With "IV rank column" ticked, GOOG's row says the rank its summary says; a ticker with
    no snapshot shows a dash with the reason on hover; the choice is kept in the address."""
    from playwright.sync_api import expect

    rank = httpx.get(f"{options_server}/api/v1/options/GOOG").json()["iv_rank"]["iv_rank"]
    page = options_page
    page.goto("/app/")
    table = "#leaderboard-table"
    page.wait_for_selector(f"{table} tbody tr")
    assert page.locator(f'{table} thead th[data-key="iv_rank"]').count() == 0
    page.get_by_label("IV rank column").check()
    header = page.locator(f'{table} thead th[data-key="iv_rank"]')
    expect(header).to_have_count(1)
    assert "iv=1" in page.url
    index = page.locator(f"{table} thead th").evaluate_all(
        "(ths) => ths.findIndex((th) => th.dataset.key === 'iv_rank')"
    )
    page.get_by_label("Search").fill("GOOG")
    goog = page.locator(f"{table} tbody tr", has=page.locator('a:text-is("GOOG")'))
    # The ranks arrive after the scores (6 requests of 100 tickers): the page's own time-out.
    expect(goog.locator(f"td:nth-child({index + 1})")).to_have_text(f"{rank:.1f}", timeout=20_000)
    page.screenshot(path=str(shots / "leaderboard-iv-rank.png"), full_page=False)
    page.get_by_label("Search").fill("NVDA")
    nvda = page.locator(f"{table} tbody tr", has=page.locator('a:text-is("NVDA")'))
    cell = nvda.locator(f"td:nth-child({index + 1}) span")
    expect(cell).to_have_text("—")
    expect(cell).to_have_attribute("title", "no options snapshot stored for NVDA")
