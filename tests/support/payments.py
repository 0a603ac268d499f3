"""Helpers of the payment providers' tests: an API-key integration set to sync, as connecting
with credentials leaves it (credentials encrypted as the connect flow stores them)."""

from __future__ import annotations

import json
from typing import Any

from core.tenant_context import tenant_scope
from entities.models import Client, Payment
from integrations.models import Integration
from integrations.providers.catalog import get_provider
from integrations.providers.registry import adapter_for
from tests.support.factories import Persona


def connect_payments(persona: Persona, provider: str, credentials: dict[str, str], *,
                     entities: list[tuple[str, str, str]], frequency: str = "manual",
                     settings: dict[str, Any] | None = None) -> Integration:
    """``entities``: (local, remote, direction) pairs of syncSettings.entities."""
    with tenant_scope(persona.tenant.id):
        integration = Integration(
            tenant=persona.tenant, provider=provider, name=provider, status=Integration.Status.CONNECTED,
            connected_by=persona.user,
            settings={**adapter_for(get_provider(provider)).settings_defaults(), **(settings or {})},
            sync_settings={"enabled": True, "direction": "import", "frequency": frequency,
                           "entities": [{"localEntity": local, "remoteEntity": remote, "enabled": True,
                                         "direction": direction} for local, remote, direction in entities],
                           "fieldMappings": [], "filters": []},
        )
        integration.set_secret("api_key_encrypted", json.dumps(credentials))
        integration.save()
    return integration


def payments(persona: Persona) -> list[Payment]:
    with tenant_scope(persona.tenant.id):
        return list(Payment.objects.filter(tenant=persona.tenant).order_by("created_at"))


def clients(persona: Persona) -> dict[str, Client]:
    with tenant_scope(persona.tenant.id):
        return {c.name: c for c in Client.objects.filter(tenant=persona.tenant)}
