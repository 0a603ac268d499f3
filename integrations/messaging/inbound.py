"""Messages in (issue 16 items 1-2): what a verified provider webhook says about messages,
applied in the integration's tenant (called by ``integrations.sync.hooks``):

- a delivery status (WhatsApp ``statuses``, Twilio status callback, SendGrid events) moves the
  ``message`` the hub sent -- found by the provider's id in ``externalIds`` (or the hub's id a
  SendGrid event echoes) -- forward: queued < sent < delivered < read; ``failed`` from any
  state before delivered. Callbacks arrive out of order and more than once: a late ``sent``
  after ``delivered`` changes nothing;
- an inbound WhatsApp / SMS message becomes a ``message`` record (``inbound``, ``received``)
  linked to the client whose phone matches (E.164 compare) -- unless ``logIncomingMessages`` is
  off; the provider's id makes a redelivered webhook a no-op; STOP words opt the sender out
  and START words back in (``MessageOptOut``);
- a SendGrid unsubscribe / spam report opts the address out.

One line in the integration's log per call (action ``webhook_received``, the counts).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.tenant_context import tenant_scope
from entities.models import Client, Message
from entities.services import entity_update
from integrations.audit import log_action
from integrations.models import Integration, IntegrationLog, MessageOptOut
from integrations.providers import _messaging
from integrations.providers.adapter import RemoteChange
from integrations.providers.catalog import get_provider
from integrations.providers.registry import adapter_for
from integrations.sync.importer import Job, apply_page
from integrations.sync.mapping import compile_filters, compile_mappings
from integrations.sync.plan import Pair, plan_for
from integrations.sync.runs import RunReport, run_finish
from tenancy.models import Tenant

log = logging.getLogger("architect_studio.messaging")

SOURCE = "messaging"
RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}


def messages_receive(integration: Integration, events: Sequence[_messaging.MessageEvent]) -> int:
    """Apply the events; returns how many records were written or changed."""
    started = timezone.now()
    counts = {"total": len(events), "created": 0, "updated": 0, "skipped": 0, "failed": 0}
    with tenant_scope(integration.tenant_id), transaction.atomic():
        tenant = Tenant.objects.get(pk=integration.tenant_id)
        adapter = adapter_for(get_provider(integration.provider))
        settings = {**adapter.settings_defaults(), **(integration.settings or {})}
        job: Job | None = None
        for event in events:
            if event.kind == "status":
                changed = _status(tenant, integration, event)
                counts["updated" if changed else "skipped"] += 1
            elif event.kind == "inbound":
                job = job or Job(plan=plan_for(integration), client=None, report=RunReport())
                created = _inbound(tenant, integration, settings, event, job)
                counts["created" if created else "skipped"] += 1
            elif event.kind == "opt_out":
                _opt_out(tenant, event.channel, event.to, event.status)
                counts["updated"] += 1
        if job is not None and job.report.total:
            # The inbound messages as the engine's import wrote them: an ``import`` run row.
            entry = IntegrationLog.objects.create(
                tenant_id=integration.tenant_id, integration=integration, action=IntegrationLog.Action.IMPORT,
                direction="incoming", status="success", started_at=started, summary={},
                request_snapshot={"options": {"hook": True}})
            run_finish(entry=entry, report=job.report)
        if events:
            log_action(integration=integration, action="webhook_received", status="success", started_at=started,
                       direction="incoming", summary=counts,
                       request_snapshot={"messages": [{"kind": e.kind, "status": e.status or None,
                                                       "remoteId": e.remote_id or None} for e in events[:50]]})
    return counts["created"] + counts["updated"]


def _find(tenant: Tenant, integration: Integration, event: _messaging.MessageEvent) -> Message | None:
    qs = Message.objects.filter(tenant=tenant)
    if event.hub_id:
        found = qs.filter(pk=_uuid(event.hub_id)).first() if _uuid(event.hub_id) else None
        if found is not None:
            return found
    if not event.remote_id:
        return None
    return qs.filter(**{f"external_ids__{integration.provider}": event.remote_id}).first()


def _status(tenant: Tenant, integration: Integration, event: _messaging.MessageEvent) -> bool:
    message = _find(tenant, integration, event)
    if message is None or message.direction != Message.Direction.OUTBOUND:
        return False
    current, new = message.status, event.status
    if new == current:
        return False
    if new == "failed":
        if RANK.get(current, 0) >= RANK["delivered"]:
            return False
    elif current == "failed" or RANK.get(new, -1) <= RANK.get(current, -1):
        return False
    data: dict[str, Any] = {"status": new}
    if event.error:
        data["error"] = event.error[:500]
    entity_update(instance=message, tenant=tenant, data=data, source=SOURCE)
    return True


#: An inbound message as the engine imports it: the provider's message (``RemoteChange.raw``
#: below) -> the ``message`` record, field for field.
INBOUND_FIELDS = ("channel", "direction", "from", "to", "body", "status", "clientId", "externalIds")


def inbound_pair() -> Pair:
    """The import pair inbound messages go through (built here, not in the plan: there is no
    listing to run; the provider pushes them)."""
    mapping = compile_mappings([], local_type="message", defaults=[
        {"localEntity": "message", "localField": name, "remoteField": name} for name in INBOUND_FIELDS])
    return Pair("message", "message", "import", mapping, compile_filters([]), containers=("inbound",))


def _inbound(tenant: Tenant, integration: Integration, settings: dict, event: _messaging.MessageEvent,
             job: Job) -> bool:
    """An inbound message through the engine's import of one page: created with its link to the
    provider's id (a redelivery finds the link and the same values: skipped), counted in the
    run's summary, its ``created`` entity event sourced from the integration."""
    country = str(settings.get("defaultCountryCode") or "")
    sender = _messaging.normalize_phone(event.sender, country) or event.sender[:320]
    to = _messaging.normalize_phone(event.to, country) or event.to[:320]
    word = event.body.strip().lower()
    if word in _messaging.STOP_WORDS:
        _opt_out(tenant, event.channel, sender, "inbound STOP")
    elif word in _messaging.START_WORDS:
        MessageOptOut.objects.filter(tenant=tenant, channel=event.channel, address=sender).delete()
    if settings.get("logIncomingMessages") is False:
        return False
    if event.remote_id and Message.objects.filter(
            tenant=tenant, **{f"external_ids__{integration.provider}": event.remote_id}).exists():
        return False  # the provider redelivered one recorded before its link existed
    client_id = client_for_phone(tenant, sender, country)
    raw = {"channel": event.channel, "direction": "inbound", "from": sender, "to": to or "-",
           "body": event.body[:50_000], "status": "received", "clientId": client_id,
           "externalIds": {integration.provider: event.remote_id} if event.remote_id else {}}
    change = RemoteChange(remote_id=event.remote_id or f"inbound:{uuid.uuid4()}", deleted=False, raw=raw)
    created = job.report.created
    pair = inbound_pair()
    apply_page(job, pair, pair.home_container, (change,))
    return job.report.created > created


def client_for_phone(tenant: Tenant, phone: str, country: str) -> str | None:
    """The client whose phone is ``phone`` once both are E.164 (050-123 4567 == +972501234567):
    one indexed lookup of the client's ``phone_e164`` (kept current on save). ``phone`` is the
    sender already normalised with the integration's ``defaultCountryCode`` (``country``); the
    stored column reads national numbers as core.phones.DEFAULT_COUNTRY_CODE."""
    digits = phone[1:] if phone.startswith("+") else ""
    if not digits.isdigit():
        return None
    found = (Client.objects.filter(tenant=tenant, phone_e164=digits).order_by("created_at")
             .values_list("pk", flat=True).first())
    return str(found) if found is not None else None


def _opt_out(tenant: Tenant, channel: str, address: str, reason: str) -> None:
    if address:
        MessageOptOut.objects.get_or_create(tenant=tenant, channel=channel, address=address.strip().lower()[:320],
                                            defaults={"reason": reason[:100]})


def _uuid(value: str):
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        return None
