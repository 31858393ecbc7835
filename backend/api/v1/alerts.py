"""Alert rules, the alerts they fired, and the webhook they are posted to. Every route needs
the user's access token; another user's rule or alert answers 404 like a missing one."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from backend.alerts.schemas import (
    AlertOut,
    AlertPage,
    EvaluationOut,
    RuleIn,
    RuleOut,
    WebhookIn,
    WebhookOut,
)
from backend.alerts.service import RULE_COUNT, TICKER_COUNT, WEBHOOK_RULE
from backend.api.deps import AdminUser, AlertsDep, CurrentUser
from backend.api.errors import beyond_schema, error_responses
from backend.validation import INT_TEXT

router = APIRouter(prefix="/alerts", tags=["alerts"])

RuleId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Rule id"), INT_TEXT]
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Alert id"), INT_TEXT]
# Every route: no/bad token 401, the admin token 403, a malformed URL 422, the database 503.
_USER = (401, 403, 422, 503)
_RULE_RULES = beyond_schema(RULE_COUNT, TICKER_COUNT)


@router.post(
    "/rules",
    response_model=RuleOut,
    status_code=201,
    responses=error_responses(*_USER, 404, 413),
    openapi_extra=_RULE_RULES,
)
def create_rule(body: RuleIn, user: CurrentUser, service: AlertsDep) -> RuleOut:
    """A new rule on tickers or on one of your portfolios (another user's portfolio: 404)."""
    return service.create_rule(user.id, body)


@router.get("/rules", response_model=list[RuleOut], responses=error_responses(*_USER))
def list_rules(user: CurrentUser, service: AlertsDep) -> list[RuleOut]:
    """Your rules."""
    return service.list_rules(user.id)


@router.get("/rules/{rule_id}", response_model=RuleOut, responses=error_responses(*_USER, 404))
def get_rule(rule_id: RuleId, user: CurrentUser, service: AlertsDep) -> RuleOut:
    return service.get_rule(user.id, rule_id)


@router.put(
    "/rules/{rule_id}",
    response_model=RuleOut,
    responses=error_responses(*_USER, 404, 413),
    openapi_extra=beyond_schema(TICKER_COUNT),
)
def replace_rule(rule_id: RuleId, body: RuleIn, user: CurrentUser, service: AlertsDep) -> RuleOut:
    """Replace a rule (its alerts already fired stay)."""
    return service.replace_rule(user.id, rule_id, body)


@router.delete("/rules/{rule_id}", status_code=204, responses=error_responses(*_USER, 404))
def delete_rule(rule_id: RuleId, user: CurrentUser, service: AlertsDep) -> Response:
    """Delete a rule and the alerts it fired."""
    service.delete_rule(user.id, rule_id)
    return Response(status_code=204)


@router.get("/webhook", response_model=WebhookOut, responses=error_responses(*_USER))
def get_webhook(user: CurrentUser, service: AlertsDep) -> WebhookOut:
    """Your webhook URL (null when none) and its latest deliveries."""
    return service.get_webhook(user.id)


@router.put(
    "/webhook",
    response_model=WebhookOut,
    responses=error_responses(*_USER, 413),
    openapi_extra=beyond_schema(WEBHOOK_RULE),
)
def set_webhook(body: WebhookIn, user: CurrentUser, service: AlertsDep) -> WebhookOut:
    """Where your alerts are posted (Slack incoming-webhook JSON: `{"text": ...}`). The host
    is resolved now and at every delivery; loopback, private, link-local, multicast and
    reserved addresses are refused (unless ALERT_WEBHOOK_ALLOW_PRIVATE), and plain http in
    production: 422 with `field` url and `rule`."""
    return service.set_webhook(user.id, body.url)


@router.delete("/webhook", status_code=204, responses=error_responses(*_USER))
def delete_webhook(user: CurrentUser, service: AlertsDep) -> Response:
    """Stop posting your alerts anywhere."""
    service.delete_webhook(user.id)
    return Response(status_code=204)


@router.post(
    "/evaluate", response_model=EvaluationOut, responses=error_responses(401, 403, 422, 503)
)
def evaluate(_: AdminUser, service: AlertsDep) -> EvaluationOut:
    """Evaluate the rules at the store's data version now, unless that version was already
    evaluated (by any replica); `ADMIN_TOKEN` bearer. The service also does this by itself
    after every data change."""
    return service.evaluate()


@router.get("", response_model=AlertPage, responses=error_responses(*_USER))
def list_alerts(
    user: CurrentUser,
    service: AlertsDep,
    unread: Annotated[
        Literal["true", "false"] | None,
        Query(description="true: only unread; false: only read; absent: all"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500), INT_TEXT] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1), INT_TEXT] = 0,
) -> AlertPage:
    """Your alerts, newest first."""
    only = None if unread is None else unread == "true"
    return service.list_alerts(user.id, only, limit, offset)


@router.post("/{alert_id}/read", response_model=AlertOut, responses=error_responses(*_USER, 404))
def mark_read(alert_id: AlertId, user: CurrentUser, service: AlertsDep) -> AlertOut:
    """Mark an alert read (again: no change)."""
    return service.mark_read(user.id, alert_id)
