"""Messages out, part 2 (issue 16 item 1): due dispatches -> ``message`` records the sync
engine exports.

``send_due(tenant_id)`` (the ``messaging_send`` task, woken after a rule wrote something due
now, and by the beat sweeper ``sweep_due`` every minute for reminders that came due):

1. claim a few due pending rows not yet materialised ``FOR UPDATE SKIP LOCKED`` and move their
   ``due_at`` a lease ahead, in a short transaction (two workers never take one row; a worker
   killed mid-way leaves the row to be retried after the lease);
2. per row:
   - skipped: the rule gone or disabled, the entity deleted, a reminder's time moved or
     passed, the recipient opted out (``MessageOptOut``);
   - postponed: inside the integration's quiet hours -> ``due_at`` = their end (deferred,
     never dropped);
   - otherwise, in one transaction: the ``message`` record (outbound, ``queued``, with what
     the rule rendered in ``content``), the dispatch pointing at it, and the engine's export
     queue row for the integration (``SyncPending``; the adapter's standing ``message``
     export) -- then the export task is woken after commit.
3. the sync engine sends it (``integrations.sync.exporter``: ``push_create`` is the send) in a
   realtime export drain or a run: one ``export`` log row per drain with its summary, failed
   items and the messages sent; 429 / 5xx / network retried with backoff (``Retry-After``
   honoured) up to the adapter's ``max_export_attempts``; another 4xx a failed item; refused
   credentials the integration ``expired``. ``integrations.messaging.outcomes`` is told the
   outcome (the record's status and provider id, the dispatch's state).

A skipped dispatch is a line in the integration's log (``export``, skipped 1).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.kick import kick, kick_soon
from core.tenant_context import operator_scope, tenant_scope
from entities.models import ENTITY_MODELS, Message
from entities.services import entity_create, entity_snapshot
from integrations.audit import log_action
from integrations.messaging.rules import SEND_TASK, occurrence_time, resolve_recipients, rule_applies
from integrations.models import Integration, MessageDispatch, MessageOptOut, SyncPending
from integrations.providers import _messaging
from integrations.providers.catalog import get_provider
from integrations.providers.registry import adapter_for
from integrations.sync.exporter import EXPORT_TASK
from integrations.sync.queue import Pending, pending_upsert
from tenancy.models import Tenant

log = logging.getLogger("architect_studio.messaging")

BATCH = 20
LEASE = timedelta(minutes=5)
SOURCE = "messaging"


# --------------------------------------------------------------------------- the task's entry points
def sweep_due() -> int:
    """Beat: wake the send task of every tenant with a due dispatch, and the export of every
    tenant with a due message left in the export queue (a lost kick, a retry that came due).
    Operator scope: ids only."""
    now = timezone.now()
    with operator_scope("messaging: tenants with due messages"):
        tenants = set(MessageDispatch.objects.filter(status=MessageDispatch.Status.PENDING, due_at__lte=now,
                                                     message__isnull=True)
                      .values_list("tenant_id", flat=True).distinct()[:1000])
        exports = set(SyncPending.objects.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
                                                 local_type="message")
                      .values_list("tenant_id", flat=True).distinct()[:1000])
    for tenant_id in tenants:
        kick(SEND_TASK, str(tenant_id))
    for tenant_id in exports:
        kick(EXPORT_TASK, str(tenant_id))
    return len(tenants | exports)


def send_due(tenant_id) -> int:
    """Send the tenant's due messages; returns how many rows were handled."""
    handled = 0
    while True:
        with tenant_scope(tenant_id):
            with transaction.atomic():
                rows = list(
                    MessageDispatch.objects.select_for_update(skip_locked=True)
                    .filter(tenant_id=tenant_id, status=MessageDispatch.Status.PENDING, due_at__lte=timezone.now(),
                            message__isnull=True, integration__status=Integration.Status.CONNECTED)
                    .order_by("due_at")[:BATCH])
                if rows:
                    MessageDispatch.objects.filter(pk__in=[r.pk for r in rows]).update(due_at=timezone.now() + LEASE)
            for row in rows:
                send_one(row)
        handled += len(rows)
        if len(rows) < BATCH:
            return handled


# --------------------------------------------------------------------------- one message
def send_one(row: MessageDispatch) -> str:
    """One claimed dispatch, in its tenant's scope; returns what became of it."""
    integration = Integration.objects.get(pk=row.integration_id, tenant_id=row.tenant_id)
    adapter = adapter_for(get_provider(integration.provider))
    settings = {**adapter.settings_defaults(), **(integration.settings or {})}
    rule = next((r for r in settings.get("messageRules") or [] if isinstance(r, Mapping) and r.get("id") == row.rule_id), None)
    if rule is None or not rule_applies(rule, settings, row.entity_type):
        return _skip(row, integration, "the rule was removed or turned off")
    instance = ENTITY_MODELS[row.entity_type].objects.filter(pk=row.entity_id, tenant_id=row.tenant_id).first()
    if instance is None:
        return _skip(row, integration, f"the {row.entity_type} was deleted")
    snapshot = entity_snapshot(instance)
    now = timezone.now()
    if "minutesBefore" in rule:
        when = occurrence_time(snapshot, rule)
        if when is None or when.isoformat() != row.occurrence:
            return _skip(row, integration, f"the {row.entity_type}'s time changed")
        if when <= now:
            return _skip(row, integration, "the time passed before the reminder could be sent")
    channel = adapter.message_channel
    if MessageOptOut.objects.filter(tenant_id=row.tenant_id, channel=channel, address__iexact=row.recipient).exists():
        return _skip(row, integration, "the recipient opted out")
    quiet_end = quiet_hours_end(settings.get("quietHours"), now)
    if quiet_end is not None:
        MessageDispatch.objects.filter(pk=row.pk).update(due_at=quiet_end)
        return "postponed"
    outbound = compose(rule, settings, channel, row, snapshot, integration)
    _materialise(row, integration, settings, outbound, snapshot)
    return "queued"


def compose(rule: Mapping[str, Any], settings: Mapping[str, Any], channel: str, row: MessageDispatch,
            snapshot: Mapping[str, Any], integration: Integration) -> _messaging.OutboundMessage:
    context = {"entity": snapshot, "entityType": row.entity_type, "recipient": row.recipient}
    sender = str(settings.get("fromEmail") if channel == "email" else
                 settings.get("messagingServiceSid") or settings.get("fromNumber") or "")
    return _messaging.OutboundMessage(
        channel=channel, to=row.recipient,
        body=_messaging.render(str(rule.get("body", "")), context),
        subject=_messaging.render(str(rule.get("subject", "")), context),
        template=str(rule.get("template", "")), language=str(rule.get("language", "")),
        parameters=tuple(_messaging.render(p, context) for p in rule.get("parameters") or []),
        dynamic_data={k: _messaging.render(v, context) for k, v in (rule.get("dynamicData") or {}).items()},
        sender=sender, sender_name=str(settings.get("fromName") or ""),
        status_callback=integration.webhook_url or None,
    )


def quiet_hours_end(value: Any, now: datetime) -> datetime | None:
    """When the quiet hours ``now`` falls in end (None: not in quiet hours). A window may cross
    midnight (21:00-08:00)."""
    window = _messaging.quiet_window(value)
    if window is None:
        return None
    start, end, zone = window
    local = now.astimezone(zone)
    clock = local.time()
    inside = (start <= clock < end) if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    end_day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=zone)


# --------------------------------------------------------------------------- records and log lines
def _materialise(row: MessageDispatch, integration: Integration, settings: Mapping[str, Any],
                 outbound: _messaging.OutboundMessage, snapshot: Mapping[str, Any]) -> Message:
    """The dispatch's ``message`` record and its export queue row, in one transaction; the
    export task is woken after commit. ``logOutgoingMessages: false`` still writes the record
    (it is what the engine sends); it is deleted once the provider took it."""
    rule = next((r for r in settings.get("messageRules") or [] if r.get("id") == row.rule_id), {})
    linked = resolve_recipients(row.tenant_id, rule, row.entity_type, snapshot, outbound.channel, settings)
    client_id = linked.get(row.recipient) or _client_of(row)
    body = outbound.body or (f"[{outbound.template}] " + " | ".join(outbound.parameters)).strip()
    content: dict[str, Any] = {}
    if outbound.template:
        content.update(template=outbound.template, language=outbound.language)
    if outbound.parameters:
        content["parameters"] = list(outbound.parameters)
    if outbound.dynamic_data:
        content["dynamicData"] = [{"name": k, "value": v} for k, v in outbound.dynamic_data.items()]
    if outbound.sender_name:
        content["fromName"] = outbound.sender_name
    with transaction.atomic():
        message = entity_create(tenant=Tenant.objects.get(pk=row.tenant_id), entity_type="message", source=SOURCE, data={
            "channel": outbound.channel, "direction": "outbound", "from": outbound.sender[:320], "to": outbound.to,
            "subject": outbound.subject[:500], "body": body[:50_000], "status": "queued", "client_id": client_id,
            "content": content})
        MessageDispatch.objects.filter(pk=row.pk).update(message=message, due_at=timezone.now())
        pending_upsert(tenant_id=row.tenant_id, items=[
            Pending(integration.pk, "message", message.pk, "upsert", {"title": f"{row.rule_id} -> {row.recipient}"})])
        tenant_id = str(row.tenant_id)
        transaction.on_commit(lambda: kick_soon(EXPORT_TASK, tenant_id))
    return message


def _client_of(row: MessageDispatch) -> str | None:
    from entities.models import Client

    lookup = ({"email__iexact": row.recipient} if "@" in row.recipient
              else {"phone_e164": row.recipient.lstrip("+")})
    found = Client.objects.filter(tenant_id=row.tenant_id, **lookup).values_list("pk", flat=True).first()
    return str(found) if found else None


def _skip(row: MessageDispatch, integration: Integration, reason: str) -> str:
    MessageDispatch.objects.filter(pk=row.pk).update(status=MessageDispatch.Status.SKIPPED, last_error=reason)
    log_action(integration=integration, action="export", status="success", started_at=timezone.now(),
               summary={"total": 1, "created": 0, "skipped": 1, "failed": 0},
               request_snapshot=_snapshot(row, None, None, reason=reason))
    return "skipped"


def _snapshot(row: MessageDispatch, outbound, message: Message | None, *, reason: str = "",
              remote_id: str = "") -> dict[str, Any]:
    return {"message": {
        "ruleId": row.rule_id, "entityType": row.entity_type, "entityId": str(row.entity_id),
        "occurrence": row.occurrence, "to": row.recipient, "channel": outbound.channel if outbound else None,
        "template": (outbound.template or None) if outbound else None,
        "messageId": str(message.pk) if message else None, "remoteId": remote_id or None,
        **({"skipped": reason} if reason else {}),
    }}
