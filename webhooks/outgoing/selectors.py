"""Reads of outgoing webhooks and webhook logs (tenant-scoped in code; RLS is the second layer)."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import connections, router
from django.db.models import QuerySet

from tenancy.models import Tenant
from webhooks.models import IncomingWebhook, OutgoingWebhook, WebhookLog

LOG_STATUSES = tuple(WebhookLog.Status.values)


def outgoing_webhook_list(*, tenant: Tenant) -> QuerySet[OutgoingWebhook]:
    return OutgoingWebhook.objects.filter(tenant=tenant)


def outgoing_webhooks_by_trigger(*, tenant_id: uuid.UUID) -> dict[tuple[str, str], list[OutgoingWebhook]]:
    """The tenant's enabled webhooks, grouped by every (entityType, event) they trigger on.

    One plain indexed query per outbox batch, whatever mix of events it
    holds (a tenant has at most ``OUTGOING_WEBHOOK_MAX_PER_TENANT``
    webhooks); matching the triggers in Python costs less than compiling a
    JSONB containment lookup per (entity type, event) pair.
    """
    out: dict[tuple[str, str], list[OutgoingWebhook]] = {}
    for webhook in OutgoingWebhook.objects.filter(tenant_id=tenant_id, is_enabled=True).order_by("created_at"):
        for trigger in webhook.triggers or []:
            if not isinstance(trigger, dict):
                continue
            for event in dict.fromkeys(trigger.get("events") or []):
                out.setdefault((trigger.get("entityType"), event), []).append(webhook)
    return out


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


_WEBHOOK_ID_SQL = (
    f'SELECT "id" FROM "{OutgoingWebhook._meta.db_table}" WHERE "tenant_id" = %s AND "id" = %s'
    f' UNION ALL SELECT "id" FROM "{IncomingWebhook._meta.db_table}" WHERE "tenant_id" = %s AND "id" = %s LIMIT 1'
)


def webhook_id_of_tenant(*, tenant: Tenant, webhook_id: str) -> uuid.UUID | None:
    """The id of ``tenant``'s outgoing or incoming webhook ``webhook_id``, or None (→ 404).

    For the log list, which needs to know only that the webhook is the tenant's:
    one statement for either kind, written once (no webhook row loaded, no ORM
    query compiled on every page).
    """
    pk = _uuid(webhook_id)
    if pk is None:
        return None
    alias = router.db_for_read(OutgoingWebhook)
    connection = connections[alias]
    prep = OutgoingWebhook._meta.pk.get_db_prep_value
    params = [prep(tenant.pk, connection), prep(pk, connection)] * 2
    with connection.cursor() as cursor:
        cursor.execute(_WEBHOOK_ID_SQL, params)
        found = cursor.fetchone()
    return pk if found else None


#: The log lists' order (newest first), as keys for core.pagination.LogPagination: each list
#: filter has an index ending in ``timestamp DESC`` (WebhookLog.Meta.indexes); the planner
#: walks it and sorts the few rows sharing a timestamp by the other two keys.
LOG_ORDER = ("timestamp", "attempt", "id")


def webhook_logs(
    *,
    tenant: Tenant,
    webhook_id: uuid.UUID | None = None,
    status: str | None = None,
    event: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[WebhookLog]:
    """A tenant's webhook logs, of one webhook or all, newest first; ``since`` inclusive, ``until`` exclusive."""
    qs = WebhookLog.objects.filter(tenant=tenant)
    if webhook_id is not None:
        qs = qs.filter(webhook_id=webhook_id)
    if status:
        qs = qs.filter(status=status)
    if event:
        qs = qs.filter(event_type=event)
    if since is not None:
        qs = qs.filter(timestamp__gte=since)
    if until is not None:
        qs = qs.filter(timestamp__lt=until)
    return qs.order_by(*(f"-{key}" for key in LOG_ORDER))


def webhook_log_get(*, tenant: Tenant, log_id: str) -> WebhookLog | None:
    pk = _uuid(log_id)
    if pk is None:
        return None
    return WebhookLog.objects.filter(tenant=tenant, pk=pk).first()
