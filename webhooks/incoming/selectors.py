"""Reads of the incoming side. Callers are already inside a tenant scope."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from core.tenant_context import remember_db_tenant, set_db_tenant
from webhooks.models import IncomingWebhook, WebhookLog


def incoming_list(*, tenant) -> QuerySet[IncomingWebhook]:
    return IncomingWebhook.objects.filter(tenant=tenant)


_WANTED = {
    "id", "tenant_id", "name", "secret", "previous_secret", "previous_secret_expires_at",
    "verification_scheme", "verification_config", "url", "filters",  # filters: judged on arrival
}
# In the model's field order, as Model.from_db requires for partial rows.
_PUBLIC_FIELDS = tuple(f.attname for f in IncomingWebhook._meta.concrete_fields if f.attname in _WANTED)
_JSON_INDEXES = (_PUBLIC_FIELDS.index("verification_config"), _PUBLIC_FIELDS.index("filters"))
_PUBLIC_SQL = (
    f"SELECT {', '.join(_PUBLIC_FIELDS)} FROM incoming_webhooks "
    "WHERE id = %s AND tenant_id = %s AND is_enabled"
)
# PostgreSQL: set the tenant and read the row in one round trip (migration 0003).
_PUBLIC_SQL_SCOPED = f"SELECT {', '.join(_PUBLIC_FIELDS)} FROM hub_incoming_webhook_public(%s, %s)"


def incoming_get_public(*, tenant_id: uuid.UUID, webhook_id: uuid.UUID) -> IncomingWebhook | None:
    """Return the enabled webhook behind a public URL, or None (unknown, disabled, other
    tenant); inside a transaction, also scope it to ``tenant_id``.

    One hand-written query instead of a QuerySet: this runs on every request
    to the public endpoint, and compiling the ORM query cost more than
    executing it (bench/incoming.py). On PostgreSQL the tenant setting and the
    read are one round trip. The row becomes a normal (partially loaded)
    model instance through ``from_db``.
    """
    if connection.vendor == "postgresql":
        if connection.in_atomic_block:  # the function's setting lasts for the enclosing transaction
            remember_db_tenant(tenant_id)
        sql, params = _PUBLIC_SQL_SCOPED, [tenant_id, webhook_id]
    else:
        set_db_tenant(tenant_id)
        sql, params = _PUBLIC_SQL, [webhook_id, tenant_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for index in _JSON_INDEXES:
        if isinstance(values[index], str):  # backends that do not decode JSON themselves
            values[index] = json.loads(values[index])
    return IncomingWebhook.from_db(connection.alias, list(_PUBLIC_FIELDS), values)


def incoming_valid_secrets(*, webhook: IncomingWebhook, now=None) -> list[str]:
    """Current secret first, then the previous one while its rotation grace period lasts."""
    now = now or timezone.now()
    secrets = []
    current = webhook.get_secret("secret")
    if current:
        secrets.append(current)
    if webhook.previous_secret and webhook.previous_secret_expires_at and webhook.previous_secret_expires_at > now:
        previous = webhook.get_secret("previous_secret")
        if previous:
            secrets.append(previous)
    return secrets


def recent_failed_requests(*, webhook: IncomingWebhook, hours: int = 24, limit: int = 200) -> QuerySet[WebhookLog]:
    """Requests ``webhook`` received in the last ``hours`` whose processing failed (at most ``limit``)."""
    since = timezone.now() - timedelta(hours=hours)
    return WebhookLog.objects.incoming_requests().filter(
        webhook_id=webhook.pk, status=WebhookLog.Status.FAILED, timestamp__gte=since,
    )[:limit]


def incoming_logs(*, webhook: IncomingWebhook) -> QuerySet[WebhookLog]:
    """Requests received by ``webhook`` and the forward attempts they caused."""
    return WebhookLog.objects.filter(webhook_id=webhook.id, webhook_type=WebhookLog.Type.INCOMING)
