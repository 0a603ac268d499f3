"""Messages out, part 1 (issue 16 item 1): entity events -> the messages the rules owe.

An entity-event subscriber (registered in ``IntegrationsConfig.ready``), run in the outbox
drain's transaction. For every connected messaging integration of the tenant
(``ProviderAdapter.message_channel``) and every enabled rule of its ``settings.messageRules``
on the event's entity type (gated by the seed's ``sendMeetingReminders`` /
``sendPaymentReminders``), it writes one ``MessageDispatch`` per recipient:

- a reminder (``minutesBefore``): due ``minutesBefore`` before the entity's time field
  (``startTime``); its occurrence is that time, so the meeting moved is a new reminder and the
  pending one of the old time is dropped; a cancelled or deleted meeting drops its reminders;
- an event rule (``event``, optional ``status``): due now; its occurrence is the event and the
  status reached (``status_changed:paid``).

The unique (integration, rule, entity, occurrence, recipient) row is the idempotency: the same
event twice, or an event redelivered by the outbox, inserts nothing new. The sending is
``integrations.messaging.send`` (woken after commit when something is due now; the beat
sweeper finds the rest), which hands each due one to the sync engine as a ``message`` record.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.kick import kick_soon
from entities.models import Client, EntityEvent
from integrations.models import Integration, MessageDispatch
from integrations.providers import _messaging
from integrations.providers.catalog import get_provider
from integrations.providers.registry import adapter_for

log = logging.getLogger("architect_studio.messaging")

SEND_TASK = "integrations.tasks.messaging_send"
MAX_RECIPIENTS = 50


def messaging_integrations(tenant_id) -> list[tuple[Integration, str, dict[str, Any]]]:
    """(integration, channel, settings with defaults) of the tenant's connected messaging integrations."""
    found = []
    for integration in Integration.objects.filter(tenant_id=tenant_id, status=Integration.Status.CONNECTED):
        adapter = adapter_for(get_provider(integration.provider))
        if adapter.message_channel:
            found.append((integration, adapter.message_channel,
                          {**adapter.settings_defaults(), **(integration.settings or {})}))
    return found


def on_entity_events(events: Sequence[EntityEvent]) -> None:
    """The subscriber: dispatch rows for every rule the events match (the drain's transaction)."""
    by_tenant: dict[Any, list[EntityEvent]] = {}
    for event in events:
        if event.entity_type != "message":  # a message never triggers a message
            by_tenant.setdefault(event.tenant_id, []).append(event)
    for tenant_id, tenant_events in by_tenant.items():
        integrations = messaging_integrations(tenant_id)
        due_now = False
        for integration, channel, settings in integrations:
            for event in tenant_events:
                due_now |= plan_event(integration, channel, settings, event)
        if due_now:
            transaction.on_commit(lambda t=str(tenant_id): kick_soon(SEND_TASK, t))


def rule_applies(rule: Mapping[str, Any], settings: Mapping[str, Any], entity_type: str) -> bool:
    if not isinstance(rule, Mapping) or rule.get("enabled", True) is False or rule.get("entityType") != entity_type:
        return False
    gate = _messaging.GATES.get(entity_type)
    return not (gate and settings.get(gate) is False)


def plan_event(integration: Integration, channel: str, settings: Mapping[str, Any], event: EntityEvent) -> bool:
    """Write the dispatches one event owes under one integration's rules; True when one is due now."""
    due_now = False
    for rule in settings.get("messageRules") or []:
        if not rule_applies(rule, settings, event.entity_type):
            continue
        scope = MessageDispatch.objects.filter(integration=integration, rule_id=rule["id"],
                                               entity_type=event.entity_type, entity_id=event.entity_id,
                                               status=MessageDispatch.Status.PENDING,
                                               message__isnull=True)  # not yet handed to the engine
        if "minutesBefore" in rule:
            if event.event == "deleted" or (event.data or {}).get("status") == "cancelled":
                scope.update(status=MessageDispatch.Status.SKIPPED, last_error=f"the {event.entity_type} was {event.event if event.event == 'deleted' else 'cancelled'}")
                continue
            if event.event not in ("created", "updated"):
                continue
            when = occurrence_time(event.data or {}, rule)
            if when is None:
                continue
            occurrence = when.isoformat()
            due = when - timedelta(minutes=rule["minutesBefore"])
        else:
            if event.event != rule.get("event") or (rule.get("status") and event.new_status != rule["status"]):
                continue
            occurrence = f"{event.event}:{event.new_status or ''}"
            due = timezone.now()
        recipients = resolve_recipients(event.tenant_id, rule, event.entity_type, event.data or {}, channel, settings)
        # Pending messages of another time (the meeting moved) or to someone no longer invited: dropped.
        scope.exclude(occurrence=occurrence, recipient__in=list(recipients)).update(
            status=MessageDispatch.Status.SKIPPED, last_error="the occurrence or its recipients changed")
        if not recipients:
            continue
        MessageDispatch.objects.bulk_create([
            MessageDispatch(tenant_id=event.tenant_id, integration=integration, rule_id=rule["id"],
                            entity_type=event.entity_type, entity_id=event.entity_id, occurrence=occurrence,
                            recipient=address, due_at=due)
            for address in recipients
        ], ignore_conflicts=True)
        due_now |= due <= timezone.now()
    return due_now


def occurrence_time(data: Mapping[str, Any], rule: Mapping[str, Any]) -> datetime | None:
    value = data.get(rule.get("timeField") or "startTime")
    when = parse_datetime(value) if isinstance(value, str) else None
    if when is None or timezone.is_naive(when):
        return None
    return when.astimezone(UTC)


def resolve_recipients(tenant_id, rule: Mapping[str, Any], entity_type: str, data: Mapping[str, Any], channel: str,
                       settings: Mapping[str, Any]) -> dict[str, str | None]:
    """address -> client id (or None) of the people a rule writes to: the entity's client
    (``clientId``; a client rule: the client itself), or a meeting's attendees (their phone where given, else the phone of the
    client with their email). Addresses are E.164 phones for WhatsApp/SMS, emails for email."""
    country = str(settings.get("defaultCountryCode") or "")
    found: dict[str, str | None] = {}

    def add(email: str = "", phone: str = "", client: Client | None = None) -> None:
        if channel == "email":
            address = (email or (client.email if client else "")).strip().lower()
        else:
            address = _messaging.normalize_phone(phone or (client.phone if client else ""), country)
        if address and len(found) < MAX_RECIPIENTS:
            found.setdefault(address, str(client.pk) if client else None)

    if rule.get("recipients", "client") == "client":
        client_id = data.get("id") if entity_type == "client" else data.get("clientId")
        client = Client.objects.filter(tenant_id=tenant_id, pk=client_id).first() if client_id else None
        if client is not None:
            add(client=client)
        return found
    for attendee in data.get("attendees") or []:
        email = attendee if isinstance(attendee, str) else str((attendee or {}).get("email") or "")
        phone = "" if isinstance(attendee, str) else str((attendee or {}).get("phone") or "")
        client = Client.objects.filter(tenant_id=tenant_id, email__iexact=email).first() if email else None
        add(email=email, phone=phone, client=client)
    return found
