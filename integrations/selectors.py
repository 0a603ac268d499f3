"""Reads of the connections feature (always through the caller's tenant scope)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from integrations.models import Integration, IntegrationLog, PushChannel
from integrations.oauth import app_config
from integrations.providers.catalog import get_provider, providers_by_category

_FREQUENCY_STEP = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}
#: Realtime imports without push (CalDAV, or a push the provider refused) are synced this
#: often; those with a live push channel after this much silence (integrations.sync.push).
POLL_INTERVAL = timedelta(minutes=5)
PUSH_SAFETY_INTERVAL = timedelta(hours=1)
IMPORTS = ("import", "bidirectional")


def integration_list(*, tenant_id: uuid.UUID) -> QuerySet[Integration]:
    return Integration.objects.filter(tenant_id=tenant_id).order_by("provider")


#: The log list's order (newest first) as keys for core.pagination.LogPagination; each filter
#: has an index ending in ``started_at DESC`` (IntegrationLog.Meta.indexes, migration 0009).
LOG_ORDER = ("started_at", "id")


def tenant_has_connected_integrations(tenant_id: uuid.UUID) -> bool:
    """Whether the tenant has any connected integration: the outbox subscribers' cheap first
    question (exports and messaging rules need one), asked once per drained batch."""
    return Integration.objects.filter(tenant_id=tenant_id, status=Integration.Status.CONNECTED).exists()


def integration_logs(
    *,
    integration: Integration,
    status: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[IntegrationLog]:
    """One integration's runs and calls, newest first; ``since`` inclusive, ``until`` exclusive."""
    qs = IntegrationLog.objects.filter(tenant_id=integration.tenant_id, integration=integration)
    if status:
        qs = qs.filter(status=status)
    if action:
        qs = qs.filter(action=action)
    if since is not None:
        qs = qs.filter(started_at__gte=since)
    if until is not None:
        qs = qs.filter(started_at__lt=until)
    return qs.order_by(*(f"-{key}" for key in LOG_ORDER))


def wants_realtime_import(integration: Integration) -> bool:
    """Sync on, realtime, connected, and at least one enabled entity pair imports."""
    sync = integration.sync_settings or {}
    if integration.status != Integration.Status.CONNECTED or not sync.get("enabled"):
        return False
    if sync.get("frequency") != "realtime":
        return False
    default = sync.get("direction") or "import"
    return any(isinstance(item, dict) and item.get("enabled", True) and (item.get("direction") or default) in IMPORTS
               for item in sync.get("entities") or [])


def next_sync_at(integration: Integration, *, now: datetime | None = None) -> datetime | None:
    """When beat will next start a run: hourly/daily after the last sync; for a realtime
    import, the next poll (``POLL_INTERVAL``) or, with a live push channel, the safety sync
    (``PUSH_SAFETY_INTERVAL``); None for manual, a realtime export (driven by local changes)
    or disabled sync."""
    settings = integration.sync_settings or {}
    if not settings.get("enabled") or integration.status != Integration.Status.CONNECTED:
        return None
    step = _FREQUENCY_STEP.get(settings.get("frequency"))
    if step is None and wants_realtime_import(integration):
        live = PushChannel.objects.filter(tenant_id=integration.tenant_id, integration=integration,
                                          expires_at__gt=now or timezone.now()).exists()
        step = PUSH_SAFETY_INTERVAL if live else POLL_INTERVAL
    if step is None:
        return None
    base = integration.last_sync_at or integration.created_at
    return base + step if base else None


def integration_status(*, integration: Integration) -> dict[str, Any]:
    running = (IntegrationLog.objects.filter(tenant_id=integration.tenant_id, integration=integration, status="running")
               .values("progress").first())
    progress = (running or {}).get("progress") or {}
    return {
        "status": integration.status,
        "syncing": running is not None,
        "progress": {"done": int(progress.get("done") or 0), "total": progress.get("total")} if running else None,
        "last_sync_at": integration.last_sync_at,
        "last_sync_status": integration.last_sync_status,
        "last_error": integration.last_error,
        "next_sync_at": next_sync_at(integration),
        "total_syncs": integration.total_syncs,
        "token_expires_at": integration.token_expires_at,
    }


def catalog_for_tenant(*, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """The catalog grouped by category, with this tenant's connection per provider and
    whether the hub has an OAuth app for it (the UI hides Connect otherwise)."""
    mine = {i.provider: i for i in Integration.objects.filter(tenant_id=tenant_id)}
    categories = providers_by_category()
    for category in categories:
        for entry in category["providers"]:
            provider = get_provider(entry["id"])
            integration = mine.get(entry["id"])
            entry["integrationId"] = str(integration.pk) if integration else None
            entry["status"] = integration.status if integration else "disconnected"
            if provider.auth_kind == "oauth2":
                entry["oauthConfigured"] = bool(app_config(provider).client_id)
            entry["connectUrl"] = (
                None if provider.auth_kind == "webhook" else f"/api/integrations/connect/{provider.id}"
            )
    return categories
