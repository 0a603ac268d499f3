"""The builder's preview and the "send test" button: render or send a sample without a delivery.

A preview renders what would be sent (sample entity, given entity or real
one); a test send posts it now, synchronously, logs the attempt and never
retries it or touches the webhook's counters.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from core import outbound
from core.tenant_context import tenant_scope
from entities.models import ENTITY_EVENTS, ENTITY_MODELS, ENTITY_TYPES
from entities.services import entity_snapshot
from tenancy.models import Tenant
from webhooks.models import OutgoingWebhook, WebhookLog
from webhooks.outgoing import conf
from webhooks.outgoing.config import WebhookConfigError, validate_payload_template
from webhooks.outgoing.delivery import attempt_finish
from webhooks.outgoing.payload import build_headers, render_body
from webhooks.outgoing.targets import webhook_target
from webhooks.templating import BodyTooLarge, TemplateError

_SAMPLES: dict[str, dict[str, Any]] = {
    "meeting": {"title": "פגישת היכרות - משפחת כהן", "location": "תל אביב", "attendees": [{"email": "client@example.com", "name": "דנה כהן"}], "status": "scheduled"},
    "task": {"title": "להכין הדמיה לסלון", "status": "todo", "priority": "high", "assignee_email": "designer@example.com"},
    "document": {"name": "תוכנית קומה.pdf", "mime_type": "application/pdf", "size_bytes": 123456, "status": "draft", "file_url": "https://files.example.com/plan.pdf"},
    "payment": {"amount": Decimal("1500.00"), "currency": "ILS", "status": "pending", "description": "מקדמה"},
    "expense": {"amount": Decimal("320.50"), "currency": "ILS", "status": "pending", "category": "חומרים"},
    "client": {"name": "משפחת כהן", "email": "cohen@example.com", "phone": "+972-50-000-0000", "status": "active"},
    "supplier": {"name": "נגריית הגליל", "email": "info@example.com", "category": "נגרות"},
}


def sample_entity(*, tenant: Tenant, entity_type: str) -> dict[str, Any]:
    """A realistic, unsaved entity of ``entity_type`` as the API shows it (for test sends and previews)."""
    model = ENTITY_MODELS[entity_type]
    values = dict(_SAMPLES.get(entity_type, {}))
    if entity_type == "meeting":
        start = timezone.now().replace(microsecond=0) + dt.timedelta(days=1)
        values.update(start_time=start, end_time=start + dt.timedelta(hours=1))
    instance = model(tenant=tenant, **values)
    instance.created_at = instance.updated_at = timezone.now().replace(microsecond=0)
    return entity_snapshot(instance)


#: The event's own names (webhooks.templating.build_context), in the helper's order.
_CONTEXT_PLACEHOLDERS = ("event", "entityType", "entityId", "tenantId", "timestamp")


def template_placeholders(*, tenant: Tenant, entity_types: list[str]) -> list[dict[str, Any]]:
    """Every placeholder a template can use for triggers on ``entity_types`` (the builder's helper).

    The event's names first, then ``entity.<field>`` for each field of the chosen types as
    a delivery renders it (the entity snapshot of a sample, camelCase), each with the types
    that have it and an example value; unknown types are ignored.
    """
    out: list[dict[str, Any]] = [{"path": name, "entityTypes": [], "example": None} for name in _CONTEXT_PLACEHOLDERS]
    fields: dict[str, dict[str, Any]] = {}
    for entity_type in dict.fromkeys(t for t in entity_types if t in ENTITY_MODELS):
        for key, value in sample_entity(tenant=tenant, entity_type=entity_type).items():
            item = fields.setdefault(f"entity.{key}", {"path": f"entity.{key}", "entityTypes": [], "example": None})
            item["entityTypes"].append(entity_type)
            if item["example"] is None and value not in (None, "", [], {}):
                item["example"] = value if isinstance(value, str | int | float | bool) else json.dumps(value, ensure_ascii=False)[:80]
    return [*out, *fields.values()]


def entity_for_preview(*, tenant: Tenant, entity_type: str, entity_id: str) -> dict[str, Any] | None:
    instance = ENTITY_MODELS[entity_type].objects.filter(tenant=tenant, pk=entity_id).first()
    return entity_snapshot(instance) if instance is not None else None


def _default_trigger(webhook: OutgoingWebhook) -> tuple[str, str]:
    for trig in webhook.triggers or []:
        if isinstance(trig, dict) and trig.get("entityType") in ENTITY_TYPES and trig.get("events"):
            return trig["entityType"], trig["events"][0]
    return ENTITY_TYPES[0], ENTITY_EVENTS[0]


def webhook_preview(
    *,
    webhook: OutgoingWebhook | None,
    tenant: Tenant,
    template: str | None,
    use_webhook_template: bool,
    entity_type: str | None,
    event: str | None,
    entity: dict[str, Any] | None,
    entity_id: str | None,
) -> dict[str, Any]:
    """Render what would be sent for a sample or given entity (the builder's preview)."""
    default_type, default_event = _default_trigger(webhook) if webhook else (ENTITY_TYPES[0], ENTITY_EVENTS[0])
    entity_type = entity_type or default_type
    event = event or default_event
    if entity is None and entity_id:
        entity = entity_for_preview(tenant=tenant, entity_type=entity_type, entity_id=entity_id)
        if entity is None:
            raise WebhookConfigError({"entityId": [f"no {entity_type} with this id"]})
    if entity is None:
        entity = sample_entity(tenant=tenant, entity_type=entity_type)
    if use_webhook_template:
        template = webhook.payload_template if webhook else None
    else:
        template = validate_payload_template(template)
    probe = webhook or OutgoingWebhook(tenant=tenant, triggers=[])
    try:
        text = render_body(
            webhook=probe,
            entity=entity,
            entity_type=entity_type,
            entity_id=str(entity.get("id", "")),
            event=event,
            tenant_id=str(tenant.pk),
            timestamp=timezone.now().isoformat(),
            template=template or "",
        )
    except (BodyTooLarge, TemplateError) as exc:
        raise WebhookConfigError({"payloadTemplate": [str(exc)]}) from None
    from webhooks.templating import placeholders

    return {
        "entity_type": entity_type,
        "event": event,
        "body": json.loads(text),
        "body_text": text,
        "placeholders": placeholders(template) if template else [],
    }


def webhook_test_send(*, webhook: OutgoingWebhook, payload: dict[str, Any] | None = None,
                      entity_type: str | None = None, event: str | None = None) -> tuple[WebhookLog, outbound.OutboundResult]:
    """Send a sample (or the given ``payload`` as the entity) now, synchronously, and log it.

    No transaction is open while the request is in flight (the view is not
    atomic): the attempt row is committed in the tenant's scope first, the
    request sent (its deadline is the webhook's timeout), and the outcome
    written in a second transaction. Test sends do not touch the webhook's
    counters and are not retried (no ``next_retry_at``: no sweeper takes them).
    """
    with tenant_scope(webhook.tenant_id):
        row, headers, body = _test_attempt(webhook=webhook, payload=payload, entity_type=entity_type, event=event)
    if not connection.in_atomic_block:
        connection.close()  # nor a pooled connection while the receiver takes its time
    result = outbound.send(
        method=webhook.method, url=webhook.url, headers=headers, body=body,
        timeout=webhook.timeout_seconds, allow_private=conf.allow_private(),
    )
    with tenant_scope(webhook.tenant_id):
        attempt_finish(row, webhook_target(webhook), result)
    return row, result


def _test_attempt(*, webhook: OutgoingWebhook, payload: dict[str, Any] | None, entity_type: str | None,
                  event: str | None) -> tuple[WebhookLog, dict[str, str], bytes]:
    """The test send's attempt row (saved), the headers to send and the body."""
    default_type, default_event = _default_trigger(webhook)
    entity_type = entity_type or default_type
    event = event or default_event
    entity = payload if payload is not None else sample_entity(tenant=webhook.tenant, entity_type=entity_type)
    now = timezone.now()
    text = render_body(
        webhook=webhook,
        entity=entity,
        entity_type=entity_type,
        entity_id=str(entity.get("id", "")) if isinstance(entity, dict) else "",
        event=event,
        tenant_id=str(webhook.tenant_id),
        timestamp=now.isoformat(),
    )
    body = text.encode("utf-8")
    delivery_id = uuid.uuid4()
    headers, logged = build_headers(
        webhook=webhook, delivery_id=str(delivery_id), event_type=f"{entity_type}.{event}", body=body,
        timestamp=int(now.timestamp()), now=now, test=True,
    )
    row = WebhookLog.objects.create(
        tenant_id=webhook.tenant_id, webhook_id=webhook.pk, webhook_type=WebhookLog.Type.OUTGOING, direction=WebhookLog.Direction.OUTGOING,
        method=webhook.method, url=webhook.url, headers=logged, body=json.loads(text), body_text=text,
        status=WebhookLog.Status.PENDING, attempt=1, max_attempts=1, delivery_id=delivery_id,
        event_type=f"{entity_type}.{event}", result={"trigger": "test"}, claim_count=1,
    )
    return row, headers, body
