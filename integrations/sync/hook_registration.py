"""Registering an integration's webhook URL at providers whose API takes one (Mailchimp
``POST /lists/{id}/webhooks``, monday.com ``create_webhook``): the URL (with its secret,
integrations.hook_secret) is registered for the container the settings chose (the audience,
the board) and removed again when the choice changes or the integration is disconnected.

What was registered is kept in ``connection_config["hookRegistration"]`` (``{"container",
"ids"}``: provider ids, no secret). Called from ``integrations.sync.push.push_reconcile`` (the
task run after a settings change) and ``push_stop_all`` (disconnect). Provider calls are made
outside database transactions (both providers call the URL back while they register it).
A failed registration is logged and tried again at the next settings change; the schedule
still syncs meanwhile.
"""

from __future__ import annotations

import logging
import uuid

from core.tenant_context import tenant_scope
from integrations.client import ProviderClient
from integrations.models import Integration
from integrations.providers.catalog import get_provider
from integrations.providers.registry import adapter_for
from integrations.sync.hooks import hook_url

log = logging.getLogger("architect_studio.sync.hooks")

KEY = "hookRegistration"


def _store(integration: Integration, value: dict | None) -> None:
    with tenant_scope(integration.tenant_id):
        row = Integration.objects.select_for_update().filter(pk=integration.pk, tenant_id=integration.tenant_id).first()
        if row is None:
            return
        config = dict(row.connection_config or {})
        if value:
            config[KEY] = value
        else:
            config.pop(KEY, None)
        Integration.objects.filter(pk=row.pk, tenant_id=row.tenant_id).update(connection_config=config)


def hooks_reconcile(*, integration_id: uuid.UUID | str, tenant_id: uuid.UUID | str) -> str:
    """Make the registration match the settings: ``registered``, ``removed``, ``replaced``,
    ``kept``, ``none`` (nothing to do) or ``failed``. Safe to run twice."""
    with tenant_scope(tenant_id):
        integration = Integration.objects.filter(pk=integration_id, tenant_id=tenant_id).first()
    if integration is None:
        return "none"
    adapter = adapter_for(get_provider(integration.provider))
    if not adapter.registers_hooks:
        return "none"
    held = (integration.connection_config or {}).get(KEY) or {}
    containers = adapter.sync_containers(integration.settings or {}) or ()
    wanted = containers[0] if containers and integration.status == Integration.Status.CONNECTED else None
    if held.get("container") == wanted and (held.get("ids") or wanted is None):
        return "kept"
    with tenant_scope(tenant_id):
        client = ProviderClient.for_integration(integration)
    outcome = "none"
    if held.get("ids"):
        try:
            adapter.hook_unregister(client, container=str(held.get("container") or ""), ids=list(held["ids"]))
        except Exception as exc:  # noqa: BLE001 - the old registration then calls a URL that still verifies
            log.warning("hooks: removing %s webhooks of integration %s failed: %s", integration.provider,
                        integration.pk, exc)
        _store(integration, None)
        outcome = "removed"
    if wanted is None:
        return outcome
    try:
        ids = adapter.hook_register(client, container=wanted, url=hook_url(integration))
    except Exception as exc:  # noqa: BLE001 - logged; the schedule still syncs, the next settings change retries
        log.warning("hooks: registering %s webhooks of integration %s failed: %s", integration.provider,
                    integration.pk, exc)
        return "failed"
    _store(integration, {"container": wanted, "ids": [str(i) for i in ids]})
    return "replaced" if outcome == "removed" else "registered"


def hooks_unregister_all(*, integration: Integration) -> None:
    """Disconnect: remove the registrations while the credentials still work (best effort)."""
    held = (integration.connection_config or {}).get(KEY) or {}
    adapter = adapter_for(get_provider(integration.provider))
    if not held.get("ids") or not adapter.registers_hooks:
        return
    try:
        with tenant_scope(integration.tenant_id):
            client = ProviderClient.for_integration(integration)
        adapter.hook_unregister(client, container=str(held.get("container") or ""), ids=list(held["ids"]))
    except Exception as exc:  # noqa: BLE001 - the provider stops calling once the URL answers 404
        log.warning("hooks: removing %s webhooks of integration %s failed: %s", integration.provider,
                    integration.pk, exc)
