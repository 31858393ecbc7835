"""Alert evaluation is once per data version with several replicas: two services, each with
its own engine and score book, over one database (a SQLite file, and PostgreSQL when
TEST_DATABASE_URL is set), evaluate the same new version at the same moment."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from backend.alerts.rules import Condition
from backend.alerts.schemas import RuleIn, TickersTarget
from backend.alerts.service import AlertService
from backend.db.engine import make_engine, make_session_factory
from backend.db.migrate import upgrade_to_head
from backend.db.models import AlertEvaluation, AlertFiring, User
from backend.market_data.providers.csv_file import read_price_file
from backend.market_data.sample import SAMPLE_PRICES, SAMPLE_SOURCE
from backend.market_data.store import PriceStore
from backend.momentum.service import MomentumService
from tests.conftest import fresh_pg_database, make_settings

pytestmark = [pytest.mark.database]

TICKERS = ["AAPL", "MSFT", "NVDA", "AMD", "XOM", "JPM", "SPY"]
LAST = dt.date(2021, 4, 21)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'alerts.db'}"
    else:
        request.applymarker(pytest.mark.integration)
        with fresh_pg_database() as url:
            yield url


def service(engine: Engine, url: str) -> AlertService:
    settings = make_settings(url)
    return AlertService(engine, MomentumService(PriceStore(engine), settings), settings)


def test_two_replicas_evaluate_a_version_once(db_url: str) -> None:
    bars = read_price_file(SAMPLE_PRICES)
    bars = bars[bars["ticker"].isin(TICKERS)].reset_index(drop=True)
    e1, e2 = make_engine(db_url), make_engine(db_url)
    try:
        upgrade_to_head(e1)
        store = PriceStore(e1)
        store.upsert_bars(bars[bars["date"] < LAST].reset_index(drop=True), source=SAMPLE_SOURCE)
        with make_session_factory(e1)() as s, s.begin():
            user = User(
                email="a@example.com",
                password_hash="x",
                is_active=True,
                created_at=dt.datetime.now(dt.timezone.utc),
            )
            s.add(user)
            s.flush()
            user_id = user.id
        one, two = service(e1, db_url), service(e2, db_url)
        assert one.evaluate().outcome == "evaluated"  # the baseline
        # A level between AAPL's last two scores, crossed the way it moved: it must fire.
        before = one.momentum.score("AAPL").overall_momentum_score
        store.upsert_bars(bars[bars["date"] == LAST].reset_index(drop=True), source=SAMPLE_SOURCE)
        after = one.momentum.score("AAPL").overall_momentum_score
        assert before != after
        condition = (
            Condition.SCORE_CROSSES_ABOVE if after > before else Condition.SCORE_CROSSES_BELOW
        )
        level = round((before + after) / 2, 3)
        target = TickersTarget(kind="tickers", tickers=TICKERS)
        one.create_rule(
            user_id, RuleIn(name="mid", target=target, condition=condition, level=level)
        )
        one.create_rule(
            user_id, RuleIn(name="any", target=target, condition=Condition.RATING_CHANGE)
        )

        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def run(svc: AlertService) -> None:
            svc.momentum.book()  # both score books ready, then both evaluate at once
            barrier.wait()
            outcomes.append(svc.evaluate().outcome)

        threads = [threading.Thread(target=run, args=(svc,)) for svc in (one, two)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert outcomes.count("evaluated") == 1, outcomes
        assert set(outcomes) - {"evaluated"} <= {"already_evaluated", "superseded"}
        version = store.data_version()
        with make_session_factory(e1)() as s:
            assert s.scalar(select(func.count()).select_from(AlertEvaluation)) == 2
            fired = s.execute(
                select(AlertFiring.ticker, AlertFiring.condition).where(
                    AlertFiring.data_version == version
                )
            ).all()
        assert (("AAPL", condition.value) in fired) and len(fired) == len(set(fired))
        # Once more, either replica: nothing new.
        assert one.evaluate().outcome == two.evaluate().outcome == "already_evaluated"

        # Two evaluations from the same predecessor cannot both commit (the chain).
        with pytest.raises(IntegrityError):
            two._record(version + 7, version, LAST, LAST, 0, [])
            two._record(version + 8, version, LAST, LAST, 0, [])
        one.close()
        two.close()
    finally:
        e1.dispose()
        e2.dispose()
