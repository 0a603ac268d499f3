"""Messages out, part 2 (issue 16 item 1): due dispatches -> the provider, one at a time.

``send_due(tenant_id)`` (the ``messaging_send`` task, woken after a rule wrote something due
now, and by the beat sweeper ``sweep_due`` every minute for reminders that came due):

1. claim a few due pending rows of connected integrations ``FOR UPDATE SKIP LOCKED`` and move
   their ``due_at`` a lease ahead, in a short transaction (two workers never send one row;
   a worker killed mid-send leaves the row to be retried after the lease);
2. per row, with no transaction open across the provider call:
   - skipped: the rule gone or disabled, the entity deleted, a reminder's time moved or
     passed, the recipient opted out (``MessageOptOut``);
   - postponed: inside the integration's quiet hours -> ``due_at`` = their end;
   - otherwise the ``message`` record is written (``queued``; unless ``logOutgoingMessages``
     is off) before the call, the adapter sends (``send_message``) and the record becomes
     ``sent`` with the provider's id in ``externalIds``, or ``failed`` with the provider's error;
3. every outcome is a line in the integration's log (``IntegrationLog``, action ``export``).

Errors: refused credentials -> the integration ``expired`` (as a sync does), the row waits
for the reconnect; 429 / 5xx / network -> retried with backoff (``Retry-After`` honoured) up
to ``MAX_ATTEMPTS``; any other 4xx -> the message failed, a failed item in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from core import retry
from core.kick import kick
from core.tenant_context import operator_scope, tenant_scope
from entities.models import ENTITY_MODELS, Message
from entities.services import entity_create, entity_snapshot, entity_update
from integrations.audit import log_action
from integrations.client import ProviderClient, ProviderError
from integrations.messaging.rules import SEND_TASK, occurrence_time, resolve_recipients, rule_applies
from integrations.models import Integration, MessageDispatch, MessageOptOut
from integrations.providers import _messaging
from integrations.providers.adapter import CredentialsRefused
from integrations.providers.catalog import get_provider
from integrations.providers.registry import adapter_for
from integrations.tokens import integration_credentials_refused
from tenancy.models import Tenant

log = logging.getLogger("architect_studio.messaging")

BATCH = 20
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 6
SOURCE = "messaging"


def retry_delay(attempts: int, retry_after: float | None = None) -> timedelta:
    seconds = retry.exponential(attempts, base=30, cap=3600)
    return timedelta(seconds=max(seconds, retry_after or 0))


# --------------------------------------------------------------------------- the task's entry points
def sweep_due() -> int:
    """Beat: wake the send task of every tenant with a due dispatch (operator scope: ids only)."""
    with operator_scope("messaging: tenants with due messages"):
        tenants = set(MessageDispatch.objects.filter(status=MessageDispatch.Status.PENDING, due_at__lte=timezone.now())
                      .values_list("tenant_id", flat=True).distinct()[:1000])
    for tenant_id in tenants:
        kick(SEND_TASK, str(tenant_id))
    return len(tenants)


def send_due(tenant_id) -> int:
    """Send the tenant's due messages; returns how many rows were handled."""
    handled = 0
    while True:
        with tenant_scope(tenant_id):
            with transaction.atomic():
                rows = list(
                    MessageDispatch.objects.select_for_update(skip_locked=True)
                    .filter(tenant_id=tenant_id, status=MessageDispatch.Status.PENDING, due_at__lte=timezone.now(),
                            integration__status=Integration.Status.CONNECTED)
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
    message = _message_record(row, integration, settings, outbound, snapshot)
    if message is not None:
        outbound = _with_hub_id(outbound, str(message.pk))
    client = ProviderClient.for_integration(integration)
    started = timezone.now()
    try:
        sent = adapter.send_message(client, outbound)
    except CredentialsRefused as exc:
        with transaction.atomic():
            integration_credentials_refused(integration, str(exc))
            MessageDispatch.objects.filter(pk=row.pk).update(due_at=timezone.now(), last_error=str(exc)[:500])
        _log(integration, row, outbound, message, "failed", started, error=str(exc), code="provider_expired")
        return "expired"
    except (_messaging.SendDeferred, ProviderError) as exc:
        if isinstance(exc, ProviderError) and exc.kind not in ("rate_limited", "network", "server"):
            return _failed(row, integration, outbound, message, started, f"{exc.kind}: {exc}")
        attempts = row.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            return _failed(row, integration, outbound, message, started, f"gave up after {attempts} attempts: {exc}")
        retry_after = getattr(exc, "retry_after", None)
        MessageDispatch.objects.filter(pk=row.pk).update(
            attempts=attempts, due_at=timezone.now() + retry_delay(attempts, retry_after), last_error=str(exc)[:500])
        _log(integration, row, outbound, message, "partial", started, error=str(exc), code="provider_retry")
        return "deferred"
    except _messaging.SendRefused as exc:
        return _failed(row, integration, outbound, message, started, str(exc))
    tenant = Tenant.objects.get(pk=row.tenant_id)
    with transaction.atomic():
        if message is not None:
            ids = {**(message.external_ids or {}), integration.provider: sent.remote_id}
            message = entity_update(instance=message, tenant=tenant, source=SOURCE,
                                    data={"status": sent.status, "external_ids": ids})
        MessageDispatch.objects.filter(pk=row.pk).update(status=MessageDispatch.Status.SENT, message=message,
                                                         attempts=row.attempts + 1, last_error="")
    _log(integration, row, outbound, message, "success", started, remote_id=sent.remote_id)
    return "sent"


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
def _with_hub_id(outbound: _messaging.OutboundMessage, hub_id: str) -> _messaging.OutboundMessage:
    from dataclasses import replace

    return replace(outbound, hub_id=hub_id)


def _message_record(row: MessageDispatch, integration: Integration, settings: Mapping[str, Any],
                    outbound: _messaging.OutboundMessage, snapshot: Mapping[str, Any]) -> Message | None:
    """The ``message`` record of this dispatch: written once (a retried row reuses it)."""
    if row.message_id:
        return Message.objects.filter(pk=row.message_id, tenant_id=row.tenant_id).first()
    if settings.get("logOutgoingMessages") is False:
        return None
    rule = next((r for r in settings.get("messageRules") or [] if r.get("id") == row.rule_id), {})
    linked = resolve_recipients(row.tenant_id, rule, row.entity_type, snapshot, outbound.channel, settings)
    client_id = linked.get(row.recipient) or _client_of(row)
    body = outbound.body or (f"[{outbound.template}] " + " | ".join(outbound.parameters)).strip()
    with transaction.atomic():
        message = entity_create(tenant=Tenant.objects.get(pk=row.tenant_id), entity_type="message", source=SOURCE, data={
            "channel": outbound.channel, "direction": "outbound", "from": outbound.sender[:320], "to": outbound.to,
            "subject": outbound.subject[:500], "body": body[:50_000], "status": "queued", "client_id": client_id})
        MessageDispatch.objects.filter(pk=row.pk).update(message=message)
    return message


def _client_of(row: MessageDispatch) -> str | None:
    from entities.models import Client

    field = "email__iexact" if "@" in row.recipient else "phone"
    found = Client.objects.filter(tenant_id=row.tenant_id, **{field: row.recipient}).values_list("pk", flat=True).first()
    return str(found) if found else None


def _skip(row: MessageDispatch, integration: Integration, reason: str) -> str:
    MessageDispatch.objects.filter(pk=row.pk).update(status=MessageDispatch.Status.SKIPPED, last_error=reason)
    log_action(integration=integration, action="export", status="success", started_at=timezone.now(),
               summary={"total": 1, "created": 0, "skipped": 1, "failed": 0},
               request_snapshot=_snapshot(row, None, None, reason=reason))
    return "skipped"


def _failed(row: MessageDispatch, integration: Integration, outbound, message: Message | None,
            started: datetime, error: str) -> str:
    with transaction.atomic():
        if message is not None:
            message = entity_update(instance=message, tenant=Tenant.objects.get(pk=row.tenant_id), source=SOURCE,
                                    data={"status": "failed", "error": error[:500]})
        MessageDispatch.objects.filter(pk=row.pk).update(status=MessageDispatch.Status.FAILED,
                                                         attempts=row.attempts + 1, last_error=error[:500])
    _log(integration, row, outbound, message, "failed", started, error=error, code="message_failed")
    return "failed"


def _log(integration: Integration, row: MessageDispatch, outbound, message: Message | None, status: str,
         started: datetime, *, error: str = "", code: str = "", remote_id: str = "") -> None:
    failed = status == "failed"
    entry = log_action(
        integration=integration, action="export", status=status, started_at=started,
        error_message=error or None, error_code=code or None,
        summary={"total": 1, "created": int(status == "success"), "skipped": 0, "failed": int(failed)},
        request_snapshot=_snapshot(row, outbound, message, remote_id=remote_id))
    if failed:
        entry.failed_items = [{"entityType": row.entity_type, "entityId": str(row.entity_id),
                               "messageId": str(message.pk) if message else None, "error": error[:500]}]
        entry.save(update_fields=["failed_items"])


def _snapshot(row: MessageDispatch, outbound, message: Message | None, *, reason: str = "",
              remote_id: str = "") -> dict[str, Any]:
    return {"message": {
        "ruleId": row.rule_id, "entityType": row.entity_type, "entityId": str(row.entity_id),
        "occurrence": row.occurrence, "to": row.recipient, "channel": outbound.channel if outbound else None,
        "template": (outbound.template or None) if outbound else None,
        "messageId": str(message.pk) if message else None, "remoteId": remote_id or None,
        **({"skipped": reason} if reason else {}),
    }}
