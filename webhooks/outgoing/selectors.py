"""Reads of outgoing webhooks and webhook logs (tenant-scoped in code; RLS is the second layer)."""

from __future__ import annotations

import uuid

from django.db import connection
from django.db.models import QuerySet

from tenancy.models import Tenant
from webhooks.models import IncomingWebhook, OutgoingWebhook, WebhookLog

LOG_STATUSES = tuple(WebhookLog.Status.values)


def outgoing_webhook_list(*, tenant: Tenant) -> QuerySet[OutgoingWebhook]:
    return OutgoingWebhook.objects.filter(tenant=tenant)


def outgoing_webhooks_matching(*, tenant_id: uuid.UUID, entity_type: str, event: str) -> list[OutgoingWebhook]:
    """Enabled webhooks of the tenant whose triggers include ``entity_type``/``event``.

    On PostgreSQL this is a JSONB containment query that the seed's GIN index
    ``idx_outgoing_webhooks_triggers`` serves; elsewhere (embedded SQLite) the
    same rule is applied in Python.
    """
    qs = OutgoingWebhook.objects.filter(tenant_id=tenant_id, is_enabled=True)
    if connection.vendor == "postgresql":
        return list(qs.filter(triggers__contains=[{"entityType": entity_type, "events": [event]}]))
    return [
        w
        for w in qs
        if any(
            isinstance(t, dict) and t.get("entityType") == entity_type and event in (t.get("events") or [])
            for t in (w.triggers or [])
        )
    ]


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def webhook_of_tenant(*, tenant: Tenant, webhook_id: str) -> OutgoingWebhook | IncomingWebhook | None:
    """The outgoing or incoming webhook ``webhook_id`` of ``tenant``, or None (→ 404)."""
    pk = _uuid(webhook_id)
    if pk is None:
        return None
    return (
        OutgoingWebhook.objects.filter(tenant=tenant, pk=pk).first()
        or IncomingWebhook.objects.filter(tenant=tenant, pk=pk).first()
    )


def webhook_logs(*, tenant: Tenant, webhook_id: uuid.UUID, status: str | None = None) -> QuerySet[WebhookLog]:
    qs = WebhookLog.objects.filter(tenant=tenant, webhook_id=webhook_id).order_by("-timestamp", "-attempt")
    if status:
        qs = qs.filter(status=status)
    return qs


def webhook_log_get(*, tenant: Tenant, log_id: str) -> WebhookLog | None:
    pk = _uuid(log_id)
    if pk is None:
        return None
    return WebhookLog.objects.filter(tenant=tenant, pk=pk).first()
