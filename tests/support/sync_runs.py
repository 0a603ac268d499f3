"""Helpers of the sync engine's tests: a connected calendar integration set to sync, a
run executed in-process (as the sync worker would), what the tenant holds."""

from __future__ import annotations

from typing import Any

from core.tenant_context import tenant_scope
from entities.models import Client, Document, Meeting
from entities.services import entity_create, entity_update
from entities.tasks import _drain as drain_entity_events
from integrations.client import ProviderClient
from integrations.models import ExternalLink, Integration, IntegrationLog, SyncPending, SyncState
from integrations.sync.importer import Job
from integrations.sync.plan import plan_for
from integrations.sync.runs import RunReport
from integrations.sync.services import sync_execute, sync_export_drain, sync_request
from tests.support.factories import Persona
from tests.support.waiting import wait_until

__all__ = ["clients", "connect_calendar", "documents", "drain_entity_events", "entity_pair", "export_job", "links", "local_document", "local_rename", "meetings",
           "pending", "reload", "run_sync", "set_cursor", "state", "sync_export_drain", "sync_on_worker", "sync_settings"]


def event(summary: str, start: str = "2026-12-10T10:00:00+02:00", end: str = "2026-12-10T11:00:00+02:00",
          **extra: Any) -> dict[str, Any]:
    """A Google Calendar Event resource's mapped fields
    (https://developers.google.com/calendar/api/v3/reference/events#resource)."""
    return {"summary": summary, "description": extra.pop("description", ""), "location": extra.pop("location", ""),
            "start": {"dateTime": start}, "end": {"dateTime": end}, **extra}


def entity_pair(local: str, remote: str, direction: str = "bidirectional") -> dict[str, Any]:
    """One enabled entry of ``syncSettings.entities``."""
    return {"localEntity": local, "remoteEntity": remote, "enabled": True, "direction": direction}


def sync_settings(*entities: dict[str, Any], direction: str = "bidirectional", frequency: str = "manual",
                  **extra: Any) -> dict[str, Any]:
    """An enabled ``syncSettings`` with these entity pairs and no mappings or filters of its own."""
    return {"enabled": True, "direction": direction, "frequency": frequency, "fieldMappings": [], "filters": [],
            "entities": list(entities), **extra}


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
    """POST /sync's service, then the task's body in this thread; the finished log row.

    When a real worker runs beside the test (``sync_worker``), the run's queued message may
    reach it first: this thread's ``sync_execute`` then finds the run claimed, and the row is
    awaited until that worker ends it (on a loaded machine the worker wins now and then)."""
    with tenant_scope(integration.tenant_id):
        entry = sync_request(integration=Integration.objects.get(pk=integration.pk), **options)
    if sync_execute(log_id=entry.pk, tenant_id=integration.tenant_id) == "not-claimed":
        wait_until(lambda: _ended(integration, entry.pk), 60, what=f"run {entry.pk}, claimed by a worker, to end")
    with tenant_scope(integration.tenant_id):
        return IntegrationLog.objects.get(pk=entry.pk)


def _ended(integration: Integration, log_id) -> bool:
    with tenant_scope(integration.tenant_id):
        return IntegrationLog.objects.filter(pk=log_id).exclude(status="running").exists()


def reload(integration: Integration) -> Integration:
    with tenant_scope(integration.tenant_id):
        return Integration.objects.get(pk=integration.pk)


def meetings(persona: Persona) -> dict[str, Meeting]:
    """The tenant's meetings by title."""
    with tenant_scope(persona.tenant.id):
        return {m.title: m for m in Meeting.objects.filter(tenant=persona.tenant)}


def documents(persona: Persona) -> dict[str, Document]:
    """The tenant's documents by name."""
    with tenant_scope(persona.tenant.id):
        return {d.name: d for d in Document.objects.filter(tenant=persona.tenant)}


def clients(persona: Persona) -> dict[str, Client]:
    """The tenant's clients by name."""
    with tenant_scope(persona.tenant.id):
        return {c.name: c for c in Client.objects.filter(tenant=persona.tenant)}


def local_document(persona: Persona, name: str, url: str = "", mime: str = "application/pdf") -> Document:
    """A document created in the hub (its outbox event drained, so an export is queued)."""
    with tenant_scope(persona.tenant.id):
        doc = entity_create(tenant=persona.tenant, entity_type="document", source="api",
                            data={"name": name, "file_url": url, "mime_type": mime})
    drain_entity_events(str(persona.tenant.id))
    return doc


def local_edit(persona: Persona, document_name: str, **data: Any) -> None:
    """The document named ``document_name`` edited in the hub through the entity service (its
    outbox event drained, so an export is queued)."""
    with tenant_scope(persona.tenant.id):
        doc = Document.objects.get(tenant=persona.tenant, name=document_name)
        entity_update(instance=doc, data=data, tenant=persona.tenant, source="api")
    drain_entity_events(str(persona.tenant.id))


def local_rename(persona: Persona, name: str, new_name: str) -> None:
    """A document renamed in the hub."""
    local_edit(persona, name, name=new_name)


def change_file(persona: Persona, name: str, url: str, **more: Any) -> None:
    """A document's file replaced in the hub (a new address), with any other changes."""
    local_edit(persona, name, file_url=url, **more)


def export_job(integration: Integration) -> Job:
    """A run's job (plan, provider client, report) for calling the exporter directly."""
    with tenant_scope(integration.tenant_id):
        plan = plan_for(Integration.objects.get(pk=integration.pk))
        return Job(plan=plan, client=ProviderClient.for_integration(plan.integration), report=RunReport())


def sync_on_worker(persona: Persona, integration: Integration, *, seconds: float = 30) -> dict[str, Any]:
    """``POST /sync`` as ``persona`` (202), then wait for the sync worker to end that run: its
    entry in the integration's log list."""
    from tests.support.factories import client_for
    from tests.support.waiting import wait_until

    response = client_for(persona).post(f"/api/integrations/{integration.pk}/sync", {}, format="json")
    assert response.status_code == 202, response.content
    log_id = response.json()["logId"]

    def finished():
        entries = client_for(persona).get(f"/api/integrations/{integration.pk}/logs").json()["results"]
        return next((e for e in entries if e["id"] == log_id and e["status"] != "running"), None)

    return wait_until(finished, seconds, what="the run")


def links(integration: Integration) -> list[ExternalLink]:
    with tenant_scope(integration.tenant_id):
        return list(ExternalLink.objects.filter(integration=integration).order_by("remote_id"))


def pending(integration: Integration) -> list[SyncPending]:
    with tenant_scope(integration.tenant_id):
        return list(SyncPending.objects.filter(integration=integration))


def set_cursor(integration: Integration, cursor: str, **which: str) -> None:
    """Overwrite the stored cursor of one of the integration's sync states (``which``: its
    ``remote_container`` or ``remote_type``), as a stale or garbled one would be."""
    with tenant_scope(integration.tenant_id):
        row = integration.sync_states.get(**which)
        row.cursor = cursor
        row.save()


def state(integration: Integration, container: str = "primary") -> SyncState:
    with tenant_scope(integration.tenant_id):
        return SyncState.objects.get(integration=integration, remote_container=container)
