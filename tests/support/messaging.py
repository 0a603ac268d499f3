"""Helpers of the messaging providers' tests (issue 16): an API-key integration of WhatsApp,
Twilio or SendGrid as connecting leaves it (credentials encrypted, its hook URL set), with
``messageRules`` in its settings; and the steps of sending run by hand: the rules, the due
dispatches handed to the sync engine as ``message`` records, the engine's realtime export."""

from __future__ import annotations

import json
from typing import Any

from core.tenant_context import tenant_scope
from entities.models import Message
from integrations.messaging.send import send_due
from integrations.models import Integration, IntegrationLog, MessageDispatch
from integrations.providers.catalog import get_provider
from integrations.providers.registry import adapter_for
from integrations.sync.hooks import hook_url
from integrations.sync.services import sync_export_drain
from tests.support.factories import Persona
from tests.support.sync_runs import drain_entity_events

CREDENTIALS = {
    "twilio": {"accountSid": "AC" + "1" * 32, "authToken": "twilio-auth-token"},
    "whatsapp_business": {"accessToken": "EAAG-token", "phoneNumberId": "106540352242922",
                          "businessAccountId": "102290129340398", "appSecret": "meta-app-secret",
                          "verifyToken": "studio-verify"},
    "sendgrid": {"apiKey": "SG.test-key"},
}


def connect_messaging(persona: Persona, provider: str, *, rules: list[dict[str, Any]],
                      settings: dict[str, Any] | None = None, credentials: dict[str, str] | None = None) -> Integration:
    with tenant_scope(persona.tenant.id):
        integration = Integration(
            tenant=persona.tenant, provider=provider, name=provider, status=Integration.Status.CONNECTED,
            connected_by=persona.user,
            settings={**adapter_for(get_provider(provider)).settings_defaults(), "messageRules": rules,
                      **(settings or {})},
        )
        integration.set_secret("api_key_encrypted", json.dumps(credentials or CREDENTIALS[provider]))
        integration.save()
        integration.webhook_url = hook_url(integration)
        integration.save(update_fields=["webhook_url"])
    return integration


def deliver(persona: Persona) -> int:
    """The outbox drain (rules write dispatches), the send task (due dispatches become queued
    ``message`` records in the engine's export queue), then the engine's realtime export drain
    (the sends), in this thread. Returns how many dispatches the send task handled."""
    tenant_id = str(persona.tenant.id)
    drain_entity_events(tenant_id)
    handled = send_due(tenant_id)
    drain_entity_events(tenant_id)
    sync_export_drain(tenant_id=tenant_id)
    return handled


def messages(persona: Persona, **filters: Any) -> list[Message]:
    with tenant_scope(persona.tenant.id):
        return list(Message.objects.filter(tenant=persona.tenant, **filters).order_by("created_at"))


def dispatches(integration: Integration) -> list[MessageDispatch]:
    with tenant_scope(integration.tenant_id):
        return list(MessageDispatch.objects.filter(integration=integration).order_by("created_at"))


def log_lines(integration: Integration, action: str = "export") -> list[IntegrationLog]:
    with tenant_scope(integration.tenant_id):
        return list(IntegrationLog.objects.filter(integration=integration, action=action).order_by("created_at"))
