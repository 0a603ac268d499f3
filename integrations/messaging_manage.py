"""(A sibling of integrations.messaging, not inside it: it uses integrations.services, which sits above
the messaging package through the sync hooks.) A studio's own hand on messaging (issue 14, the messaging page): its rules (stored in the
integration's ``settings.messageRules``, changed only through ``IntegrationUpdateSerializer``
and ``integrations.services.integration_update``, as ``PATCH /api/integrations/{id}`` does),
its per-recipient opt-outs (``MessageOptOut``, the same rows an inbound STOP or a SendGrid
unsubscribe writes) and the recent dispatches with their delivery status.

Addresses are stored as the senders do: a phone in E.164 (``_messaging.normalize_phone`` with
the integration's ``defaultCountryCode``) for WhatsApp and SMS, an email lower-cased."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.db import IntegrityError, transaction

from integrations import services
from integrations.models import Integration, MessageDispatch, MessageOptOut
from integrations.providers import _messaging
from integrations.providers.catalog import get_provider
from integrations.providers.registry import adapter_for
from integrations.serializers import IntegrationUpdateSerializer

RECENT_DISPATCHES = 50
MAX_OPT_OUTS_SHOWN = 500
MANUAL_REASON = "manual"
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")


class OptOutRefused(ValueError):
    """The address is not one this channel sends to (the page shows why)."""


def channel_of(integration: Integration) -> str | None:
    """whatsapp / sms / email, or None when the integration does not send messages."""
    return adapter_for(get_provider(integration.provider)).message_channel


def rules_of(integration: Integration) -> list[dict[str, Any]]:
    return [r for r in services.settings_with_defaults(integration).get("messageRules") or [] if isinstance(r, dict)]


def settings_update(*, integration: Integration, settings: dict[str, Any]) -> tuple[Integration, Any]:
    """Merge ``settings`` over the stored ones through the API's serializer and service:
    (integration, None) when saved, (integration unchanged, the serializer's errors) when not."""
    body = IntegrationUpdateSerializer(data={"settings": settings}, context={"integration": integration})
    if not body.is_valid():
        return integration, body.errors
    return services.integration_update(integration=integration, data=body.validated_data), None


def rule_save(*, integration: Integration, rule: dict[str, Any], replace_id: str | None) -> tuple[Integration, Any]:
    """Add ``rule`` (``replace_id`` None) or put it in place of the rule ``replace_id``."""
    rules = rules_of(integration)
    if replace_id is None:
        rules.append(rule)
    else:
        rules = [rule if r.get("id") == replace_id else r for r in rules]
    return settings_update(integration=integration, settings={"messageRules": rules})


def rule_remove(*, integration: Integration, rule_id: str) -> Integration:
    rules = [r for r in rules_of(integration) if r.get("id") != rule_id]
    return settings_update(integration=integration, settings={"messageRules": rules})[0]


def new_rule_id(integration: Integration) -> str:
    taken = {r.get("id") for r in rules_of(integration)}
    while True:
        candidate = f"rule-{uuid.uuid4().hex[:8]}"
        if candidate not in taken:
            return candidate


def address_normalize(integration: Integration, channel: str, address: str) -> str:
    """The address as the channel's senders store it; OptOutRefused when it is none."""
    if channel == "email":
        value = (address or "").strip().lower()
        if not _EMAIL.match(value) or len(value) > 320:
            raise OptOutRefused("email")
        return value
    country = str(services.settings_with_defaults(integration).get("defaultCountryCode") or "")
    value = _messaging.normalize_phone(address or "", country)
    if not value:
        raise OptOutRefused("phone")
    return value


def opt_outs(*, tenant_id, channel: str) -> list[MessageOptOut]:
    return list(MessageOptOut.objects.filter(tenant_id=tenant_id, channel=channel)
                .order_by("-created_at")[:MAX_OPT_OUTS_SHOWN])


def opt_out_add(*, integration: Integration, channel: str, address: str) -> tuple[MessageOptOut, bool]:
    """(row, created): the same row an inbound STOP would write (a repeat adds nothing)."""
    value = address_normalize(integration, channel, address)
    try:
        with transaction.atomic():
            return MessageOptOut.objects.get_or_create(
                tenant_id=integration.tenant_id, channel=channel, address=value,
                defaults={"reason": MANUAL_REASON})
    except IntegrityError:  # added at the same moment by a STOP
        return MessageOptOut.objects.get(tenant_id=integration.tenant_id, channel=channel, address=value), False


def opt_out_remove(*, integration: Integration, channel: str, opt_out_id: Any) -> bool:
    try:
        pk = uuid.UUID(str(opt_out_id))
    except ValueError:
        return False
    deleted, _rows = MessageOptOut.objects.filter(tenant_id=integration.tenant_id, channel=channel, pk=pk).delete()
    return bool(deleted)


def recent_dispatches(*, integration: Integration, limit: int = RECENT_DISPATCHES) -> list[MessageDispatch]:
    return list(MessageDispatch.objects.filter(integration=integration).select_related("message")
                .order_by("-created_at")[:limit])
