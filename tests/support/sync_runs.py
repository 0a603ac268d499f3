"""Helpers of the sync engine's tests: a connected calendar integration set to sync, a
run executed in-process (as the sync worker would), what the tenant holds."""

from __future__ import annotations

from typing import Any

from core.tenant_context import tenant_scope
from entities.models import Meeting
from entities.tasks import _drain as drain_entity_events
from integrations.models import ExternalLink, Integration, IntegrationLog, SyncPending, SyncState
from integrations.sync.services import sync_execute, sync_export_drain, sync_request
from tests.support.factories import Persona

__all__ = ["connect_calendar", "drain_entity_events", "links", "meetings", "pending", "reload", "run_sync", "state",
           "sync_export_drain"]


def event(summary: str, start: str = "2026-12-10T10:00:00+02:00", end: str = "2026-12-10T11:00:00+02:00",
          **extra: Any) -> dict[str, Any]:
    """A Google Calendar Event resource's mapped fields
    (https://developers.google.com/calendar/api/v3/reference/events#resource)."""
    return {"summary": summary, "description": extra.pop("description", ""), "location": extra.pop("location", ""),
            "start": {"dateTime": start}, "end": {"dateTime": end}, **extra}


def connect_calendar(persona: Persona, *, direction: str = "bidirectional", frequency: str = "manual",
                     policy: str = "newest_wins", filters: list | None = None, provider: str = "google_calendar",
                     enabled: bool = True) -> Integration:
    with tenant_scope(persona.tenant.id):
        return Integration.objects.create(
            tenant=persona.tenant, provider=provider, name="Calendar", status=Integration.Status.CONNECTED,
            connected_by=persona.user, conflict_policy=policy,
            sync_settings={"enabled": enabled, "direction": direction, "frequency": frequency,
                           "entities": [{"localEntity": "meeting", "remoteEntity": "event", "enabled": True,
                                         "direction": direction}],
                           "fieldMappings": [], "filters": filters or []},
        )


def run_sync(integration: Integration, **options: Any) -> IntegrationLog:
    """POST /sync's service, then the task's body in this thread; the finished log row."""
    with tenant_scope(integration.tenant_id):
        entry = sync_request(integration=Integration.objects.get(pk=integration.pk), **options)
    sync_execute(log_id=entry.pk, tenant_id=integration.tenant_id)
    with tenant_scope(integration.tenant_id):
        return IntegrationLog.objects.get(pk=entry.pk)


def reload(integration: Integration) -> Integration:
    with tenant_scope(integration.tenant_id):
        return Integration.objects.get(pk=integration.pk)


def meetings(persona: Persona) -> dict[str, Meeting]:
    """The tenant's meetings by title."""
    with tenant_scope(persona.tenant.id):
        return {m.title: m for m in Meeting.objects.filter(tenant=persona.tenant)}


def links(integration: Integration) -> list[ExternalLink]:
    with tenant_scope(integration.tenant_id):
        return list(ExternalLink.objects.filter(integration=integration).order_by("remote_id"))


def pending(integration: Integration) -> list[SyncPending]:
    with tenant_scope(integration.tenant_id):
        return list(SyncPending.objects.filter(integration=integration))


def state(integration: Integration, container: str = "primary") -> SyncState:
    with tenant_scope(integration.tenant_id):
        return SyncState.objects.get(integration=integration, remote_container=container)
