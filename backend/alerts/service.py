"""Alert rules, their evaluation once per data version, the firings, and webhook deliveries.

**When.** Rules are evaluated after each change of the price store's data version (an import,
a refresh, a category edit: `backend/alerts/watcher.py` notices it), by `evaluate()`.

**Once per data version, whatever the replicas.** Each evaluation is a row of
`alert_evaluations` written in the same transaction as its firings: its primary key is the data
version (a second evaluation of that version fails to insert and writes nothing), and its
`previous_version` (the version of the evaluation before it, 0 for the first) is unique, so two
replicas evaluating different new versions from the same predecessor cannot both commit: the
evaluations form one chain and no change is reported twice. The loser's work is discarded;
the watcher tries again later from the new predecessor.

**What "changed" means.** The scores are the score book's of the new version
(`MomentumService.book`). For each ticker of a rule, the *current* state is the one at its last
stored close; the *previous* state is the one at its last close on or before the *reference
date*, which is the last date of the store at the previous evaluation (the last date of the
book then). With no previous evaluation, the previous state is the one at the ticker's
previous close. A ticker with no close after the reference date has not changed and is not
compared; a ticker without a score at either date (too little history) or without stored
prices is skipped. The states compared are those the score API serves (`rules.TickerState`),
so a firing can be checked against `GET /api/v1/momentum/{ticker}?as_of=`.

**Webhook.** When the user has a webhook configured at evaluation time, their firings of that
evaluation are posted as one Slack-style message (`webhooks.slack_body`) by a background
thread after the commit: a slow or failing webhook never delays an evaluation or a refresh.
Its outcome is stored in `alert_deliveries` (pending, delivered, failed; attempts, HTTP
status, error).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.alerts import webhooks
from backend.alerts.rules import Condition, TickerState, describe, fires
from backend.alerts.schemas import (
    AlertOut,
    AlertPage,
    DeliveryOut,
    EvaluationOut,
    PortfolioTarget,
    RuleIn,
    RuleOut,
    StateOut,
    TargetOut,
    WatchlistTarget,
    WebhookOut,
)
from backend.config import Settings
from backend.db.engine import make_session_factory
from backend.db.models import (
    AlertDelivery,
    AlertEvaluation,
    AlertFiring,
    AlertRule,
    AlertWebhook,
)
from backend.errors import InvalidInput, NotFound, Rule
from backend.momentum.engine import rating
from backend.momentum.service import MomentumService, ScoreBook
from backend.momentum.universes import ALL
from backend.portfolios import ledger
from backend.portfolios.service import as_utc, now, owned
from backend.portfolios.transactions import TransactionService
from backend.portfolios.watchlists import watchlist_tickers
from backend.reference.tickers import normalize_ticker

log = logging.getLogger(__name__)

RULE_COUNT = Rule(
    "invalid_input", "rule count", "a user has at most ALERT_RULES_MAX_PER_USER rules"
)
TICKER_COUNT = Rule(
    "invalid_input",
    "tickers per rule",
    "a rule names at most ALERT_TICKERS_MAX_PER_RULE distinct tickers",
)
WEBHOOK_RULE = Rule(
    "invalid_input",
    "webhook target",
    "a webhook URL must resolve only to public addresses (unless "
    "ALERT_WEBHOOK_ALLOW_PRIVATE) and use https in production",
)
DELIVERIES_SHOWN = 20


def rule_not_found(rule_id: int) -> NotFound:
    return NotFound(f"alert rule {rule_id} not found", {"rule_id": rule_id})


def alert_not_found(alert_id: int) -> NotFound:
    return NotFound(f"alert {alert_id} not found", {"alert_id": alert_id})


@dataclass(frozen=True)
class Change:
    """A ticker's previous and current states in one book."""

    ticker: str
    previous: TickerState
    current: TickerState


def _state(book: ScoreBook, row: int, col: int) -> TickerState | None:
    overall = float(book.frames.overall[row, col])
    if math.isnan(overall):
        return None
    where, ranks = book.rank_row(ALL, row)  # percentile among every stored ticker that day
    k = where.get(col)
    pct = float(ranks[k]) if k is not None else math.nan
    return TickerState(
        date=pd.Timestamp(book.dates[row]).date(),
        score=round(overall, 2),
        rating=rating(overall),
        percentile=None if math.isnan(pct) else round(pct, 2),
    )


def change_of(book: ScoreBook, stored: str, reference: dt.date | None) -> Change | None:
    """The ticker's states at the previous and current dates (the module's docstring says
    which), or None when it has not changed or cannot be compared."""
    col = book.column[stored]
    rows = book.close_rows(col)
    if rows.size == 0:
        return None
    current_row = int(rows[-1])
    if reference is None:
        if rows.size < 2:
            return None
        previous_row = int(rows[-2])
    else:
        found = book.row_at(col, reference)
        if found is None or found >= current_row:
            return None
        previous_row = found
    previous = _state(book, previous_row, col)
    current = _state(book, current_row, col)
    if previous is None or current is None:
        return None
    return Change(stored, previous, current)


def _tickers(raw: str | None) -> list[str]:
    return [t for t in (raw or "").split(",") if t]


def _rule_out(row: AlertRule) -> RuleOut:
    if row.target_kind == "portfolio":
        target = TargetOut(kind="portfolio", portfolio_id=row.portfolio_id)
    elif row.target_kind == "watchlist":
        target = TargetOut(kind="watchlist", watchlist_id=row.watchlist_id)
    else:
        target = TargetOut(kind="tickers", tickers=_tickers(row.tickers))
    return RuleOut(
        id=row.id,
        name=row.name,
        target=target,
        condition=Condition(row.condition),
        level=row.level,
        enabled=row.enabled,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


def _delivery_out(row: AlertDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        data_version=row.data_version,
        status=row.status,
        attempts=row.attempts,
        http_status=row.http_status,
        error=row.error,
        created_at=as_utc(row.created_at),
        finished_at=as_utc(row.finished_at) if row.finished_at else None,
    )


def _alert_out(row: AlertFiring, delivery_status: str | None) -> AlertOut:
    return AlertOut(
        id=row.id,
        rule_id=row.rule_id,
        ticker=row.ticker,
        condition=Condition(row.condition),
        level=row.level,
        message=row.message,
        data_version=row.data_version,
        previous=StateOut(
            date=row.previous_date,
            score=row.previous_score,
            rating=row.previous_rating,
            percentile=row.previous_percentile,
        ),
        current=StateOut(
            date=row.current_date,
            score=row.current_score,
            rating=row.current_rating,
            percentile=row.current_percentile,
        ),
        created_at=as_utc(row.created_at),
        read=row.read_at is not None,
        read_at=as_utc(row.read_at) if row.read_at else None,
        delivery_status=delivery_status or "none",
    )


class AlertService:
    def __init__(
        self,
        engine: Engine,
        momentum: MomentumService,
        settings: Settings,
        resolver: webhooks.Resolver = webhooks.resolve,
    ) -> None:
        self.sessions = make_session_factory(engine)
        self.momentum = momentum
        self.transactions = TransactionService(engine)
        self.settings = settings
        # Name lookups (at configuration and before each post) wait at most the post's time-out.
        self.resolver = webhooks.bounded(resolver, settings.alert_webhook_timeout_seconds)
        # Deliveries run here, never in an evaluation's or a request's thread.
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="alert-webhook")
        self.pending: list[Future[None]] = []

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ rules

    def _target_fields(self, s: Session, user_id: int, body: RuleIn) -> dict[str, Any]:
        if isinstance(body.target, PortfolioTarget):
            owned(s, user_id, body.target.portfolio_id)  # another user's: 404
            return {
                "target_kind": "portfolio",
                "tickers": None,
                "portfolio_id": body.target.portfolio_id,
                "watchlist_id": None,
            }
        if isinstance(body.target, WatchlistTarget):
            watchlist_tickers(s, user_id, body.target.watchlist_id)  # another user's: 404
            return {
                "target_kind": "watchlist",
                "tickers": None,
                "portfolio_id": None,
                "watchlist_id": body.target.watchlist_id,
            }
        tickers = list(dict.fromkeys(str(normalize_ticker(t)) for t in body.target.tickers))
        most = self.settings.alert_tickers_max_per_rule
        if len(tickers) > most:
            raise InvalidInput(
                f"a rule names at most {most} distinct tickers, not {len(tickers)}",
                {"field": "target.tickers", "rule": TICKER_COUNT.rule, "limit": most},
            )
        return {
            "target_kind": "tickers",
            "tickers": ",".join(tickers),
            "portfolio_id": None,
            "watchlist_id": None,
        }

    def create_rule(self, user_id: int, body: RuleIn) -> RuleOut:
        with self.sessions() as s, s.begin():
            count = s.scalar(
                select(func.count()).select_from(AlertRule).where(AlertRule.user_id == user_id)
            )
            most = self.settings.alert_rules_max_per_user
            if int(count or 0) >= most:
                raise InvalidInput(
                    f"you have {count} alert rules, the most allowed ({most})",
                    {"field": "body", "rule": RULE_COUNT.rule, "limit": most},
                )
            stamp = now()
            row = AlertRule(
                user_id=user_id,
                name=body.name.strip() or body.name,
                condition=body.condition.value,
                level=body.level,
                enabled=body.enabled,
                created_at=stamp,
                updated_at=stamp,
                **self._target_fields(s, user_id, body),
            )
            s.add(row)
            s.flush()
            return _rule_out(row)

    def _owned_rule(self, s: Session, user_id: int, rule_id: int) -> AlertRule:
        row = s.get(AlertRule, rule_id)
        if row is None or row.user_id != user_id:
            raise rule_not_found(rule_id)
        return row

    def list_rules(self, user_id: int) -> list[RuleOut]:
        with self.sessions() as s:
            rows = s.scalars(
                select(AlertRule).where(AlertRule.user_id == user_id).order_by(AlertRule.id)
            ).all()
            return [_rule_out(r) for r in rows]

    def get_rule(self, user_id: int, rule_id: int) -> RuleOut:
        with self.sessions() as s:
            return _rule_out(self._owned_rule(s, user_id, rule_id))

    def replace_rule(self, user_id: int, rule_id: int, body: RuleIn) -> RuleOut:
        with self.sessions() as s, s.begin():
            row = self._owned_rule(s, user_id, rule_id)
            fields = self._target_fields(s, user_id, body)
            row.name = body.name.strip() or body.name
            row.condition = body.condition.value
            row.level = body.level
            row.enabled = body.enabled
            row.target_kind = fields["target_kind"]
            row.tickers = fields.get("tickers")
            row.portfolio_id = fields.get("portfolio_id")
            row.watchlist_id = fields.get("watchlist_id")
            row.updated_at = now()
            s.flush()
            return _rule_out(row)

    def delete_rule(self, user_id: int, rule_id: int) -> None:
        with self.sessions() as s, s.begin():
            self._owned_rule(s, user_id, rule_id)
            s.execute(delete(AlertFiring).where(AlertFiring.rule_id == rule_id))
            s.execute(delete(AlertRule).where(AlertRule.id == rule_id))

    # ------------------------------------------------------------------ firings

    def list_alerts(self, user_id: int, unread: bool | None, limit: int, offset: int) -> AlertPage:
        where = [AlertFiring.user_id == user_id]
        if unread is True:
            where.append(AlertFiring.read_at.is_(None))
        elif unread is False:
            where.append(AlertFiring.read_at.is_not(None))
        with self.sessions() as s:
            total = s.scalar(select(func.count()).select_from(AlertFiring).where(*where))
            unread_count = s.scalar(
                select(func.count())
                .select_from(AlertFiring)
                .where(AlertFiring.user_id == user_id, AlertFiring.read_at.is_(None))
            )
            rows = s.execute(
                select(AlertFiring, AlertDelivery.status)
                .outerjoin(AlertDelivery, AlertDelivery.id == AlertFiring.delivery_id)
                .where(*where)
                .order_by(AlertFiring.id.desc())
                .limit(limit)
                .offset(offset)
            ).all()
            return AlertPage(
                total=int(total or 0),
                unread=int(unread_count or 0),
                limit=limit,
                offset=offset,
                items=[_alert_out(r, status) for r, status in rows],
            )

    def mark_read(self, user_id: int, alert_id: int) -> AlertOut:
        """Mark an alert read (a second call keeps the first time)."""
        with self.sessions() as s, s.begin():
            row = s.get(AlertFiring, alert_id)
            if row is None or row.user_id != user_id:
                raise alert_not_found(alert_id)
            if row.read_at is None:
                row.read_at = now()
            status = (
                s.scalar(select(AlertDelivery.status).where(AlertDelivery.id == row.delivery_id))
                if row.delivery_id is not None
                else None
            )
            s.flush()
            return _alert_out(row, status)

    # ------------------------------------------------------------------ webhook

    def check_webhook_url(self, url: str) -> webhooks.Target:
        return webhooks.check_url(
            url,
            allow_private=self.settings.alert_webhook_allow_private,
            require_https=self.settings.environment == "production",
            resolver=self.resolver,
        )

    def set_webhook(self, user_id: int, url: str) -> WebhookOut:
        try:
            self.check_webhook_url(url)
        except webhooks.WebhookRefused as exc:
            raise InvalidInput(
                f"webhook URL refused: {exc.message}",
                {"field": "url", "rule": WEBHOOK_RULE.rule, "reason": exc.rule},
            ) from None
        with self.sessions() as s, s.begin():
            row = s.get(AlertWebhook, user_id)
            if row is None:
                s.add(AlertWebhook(user_id=user_id, url=url, updated_at=now()))
            else:
                row.url, row.updated_at = url, now()
        return self.get_webhook(user_id)

    def get_webhook(self, user_id: int) -> WebhookOut:
        with self.sessions() as s:
            row = s.get(AlertWebhook, user_id)
            deliveries = s.scalars(
                select(AlertDelivery)
                .where(AlertDelivery.user_id == user_id)
                .order_by(AlertDelivery.id.desc())
                .limit(DELIVERIES_SHOWN)
            ).all()
            return WebhookOut(
                url=row.url if row is not None else None,
                deliveries=[_delivery_out(d) for d in deliveries],
            )

    def delete_webhook(self, user_id: int) -> None:
        with self.sessions() as s, s.begin():
            s.execute(delete(AlertWebhook).where(AlertWebhook.user_id == user_id))

    # ------------------------------------------------------------------ evaluation

    def last_evaluated_version(self) -> int | None:
        with self.sessions() as s:
            value = s.scalar(select(func.max(AlertEvaluation.data_version)))
            return None if value is None else int(value)

    def _rule_tickers(self, rule: AlertRule) -> list[str]:
        if rule.target_kind == "portfolio" and rule.portfolio_id is not None:
            try:
                entries = self.transactions.ledger_entries(rule.user_id, rule.portfolio_id)
            except NotFound:  # the portfolio went away between reading the rule and now
                return []
            return sorted(ledger.replay(entries).open_positions)
        if rule.target_kind == "watchlist" and rule.watchlist_id is not None:
            with self.sessions() as s:
                try:
                    return watchlist_tickers(s, rule.user_id, rule.watchlist_id)
                except NotFound:  # the watchlist went away meanwhile
                    return []
        return _tickers(rule.tickers)

    def evaluate(self) -> EvaluationOut:
        """Evaluate every enabled rule at the store's data version, once (module docstring)."""
        if self.momentum.store.is_empty():
            return EvaluationOut(outcome="no_data", data_version=None)
        book = self.momentum.book()
        version = book.data_version
        with self.sessions() as s:
            last = s.scalars(
                select(AlertEvaluation).order_by(AlertEvaluation.data_version.desc()).limit(1)
            ).first()
            if last is not None and last.data_version >= version:
                return EvaluationOut(outcome="already_evaluated", data_version=last.data_version)
            rules = s.scalars(
                select(AlertRule).where(AlertRule.enabled.is_(True)).order_by(AlertRule.id)
            ).all()
            s.expunge_all()
        previous_version = last.data_version if last is not None else 0
        reference = last.last_date if last is not None else None
        last_date = pd.Timestamp(book.dates[-1]).date() if len(book.dates) else None
        changes: dict[str, Change | None] = {}
        found: list[tuple[AlertRule, Change]] = []
        for rule in rules:
            condition = Condition(rule.condition)
            seen: set[str] = set()
            for ticker in self._rule_tickers(rule):
                stored = book.resolve(ticker)
                if stored is None or stored in seen:
                    continue
                seen.add(stored)
                if stored not in changes:
                    changes[stored] = change_of(book, stored, reference)
                change = changes[stored]
                if change is not None and fires(
                    condition, rule.level, change.previous, change.current
                ):
                    found.append((rule, change))
        try:
            deliveries = self._record(
                version, previous_version, reference, last_date, len(rules), found
            )
        except IntegrityError:
            # Another replica evaluated this version, or a newer one from the same predecessor.
            log.info("alert evaluation of data version %d: done by another process", version)
            return EvaluationOut(outcome="superseded", data_version=version)
        for delivery_id, url, body in deliveries:
            self.pending.append(self._pool.submit(self._deliver, delivery_id, url, body))
        self.pending = [f for f in self.pending if not f.done()]
        log.info(
            "alert evaluation of data version %d: %d rules, %d firings, %d deliveries",
            version,
            len(rules),
            len(found),
            len(deliveries),
        )
        return EvaluationOut(
            outcome="evaluated",
            data_version=version,
            previous_version=previous_version or None,
            reference_date=reference,
            last_date=last_date,
            rules=len(rules),
            firings=len(found),
            deliveries=len(deliveries),
        )

    def _record(
        self,
        version: int,
        previous_version: int,
        reference: dt.date | None,
        last_date: dt.date | None,
        rules: int,
        found: list[tuple[AlertRule, Change]],
    ) -> list[tuple[int, str, dict[str, str]]]:
        """Store the evaluation, its firings and pending deliveries in one transaction; the
        deliveries to start after the commit."""
        stamp = now()
        out: list[tuple[int, str, dict[str, str]]] = []
        with self.sessions() as s, s.begin():
            s.add(
                AlertEvaluation(
                    data_version=version,
                    previous_version=previous_version,
                    reference_date=reference,
                    last_date=last_date,
                    rules=rules,
                    firings=len(found),
                    evaluated_at=stamp,
                )
            )
            s.flush()  # the once-per-version claim first: a loser stops here
            users = sorted({rule.user_id for rule, _ in found})
            hooks: dict[int, str] = {
                user_id: url
                for user_id, url in s.execute(
                    select(AlertWebhook.user_id, AlertWebhook.url).where(
                        AlertWebhook.user_id.in_(users)
                    )
                )
            }
            delivery_of: dict[int, AlertDelivery] = {}
            for user_id, url in hooks.items():
                delivery = AlertDelivery(
                    user_id=user_id,
                    data_version=version,
                    url=url,
                    status="pending",
                    attempts=0,
                    created_at=stamp,
                )
                s.add(delivery)
                delivery_of[user_id] = delivery
            s.flush()
            lines: dict[int, list[str]] = {}
            for rule, change in found:
                condition = Condition(rule.condition)
                message = describe(
                    change.ticker, condition, rule.level, change.previous, change.current
                )
                lines.setdefault(rule.user_id, []).append(f"{message} [rule “{rule.name}”]")
                batch = delivery_of.get(rule.user_id)
                s.add(
                    AlertFiring(
                        rule_id=rule.id,
                        user_id=rule.user_id,
                        data_version=version,
                        ticker=change.ticker,
                        condition=condition.value,
                        level=rule.level,
                        message=message[:500],
                        previous_date=change.previous.date,
                        previous_score=change.previous.score,
                        previous_rating=change.previous.rating,
                        previous_percentile=change.previous.percentile,
                        current_date=change.current.date,
                        current_score=change.current.score,
                        current_rating=change.current.rating,
                        current_percentile=change.current.percentile,
                        delivery_id=batch.id if batch is not None else None,
                        created_at=stamp,
                    )
                )
            for user_id, delivery in delivery_of.items():
                header = (
                    f"AlphaVelocity: {len(lines[user_id])} alert(s), prices to {last_date} "
                    f"(data version {version})"
                )
                out.append((delivery.id, delivery.url, webhooks.slack_body(lines[user_id], header)))
        return out

    def _deliver(self, delivery_id: int, url: str, body: dict[str, str]) -> None:
        result = webhooks.post(
            url,
            body,
            allow_private=self.settings.alert_webhook_allow_private,
            require_https=self.settings.environment == "production",
            timeout=self.settings.alert_webhook_timeout_seconds,
            retries=self.settings.alert_webhook_retries,
            backoff=self.settings.alert_webhook_backoff_seconds,
            resolver=self.resolver,
        )
        if not result.delivered:
            log.warning("alert webhook delivery %d failed: %s", delivery_id, result.error)
        try:
            with self.sessions() as s, s.begin():
                s.execute(
                    update(AlertDelivery)
                    .where(AlertDelivery.id == delivery_id)
                    .values(
                        status="delivered" if result.delivered else "failed",
                        attempts=result.attempts,
                        http_status=result.http_status,
                        error=result.error,
                        finished_at=now(),
                    )
                )
        except Exception:  # the database may be down: the row stays pending, said in the log
            log.exception("could not record the outcome of alert delivery %d", delivery_id)
