"""The export hands each mapped record to ``adapter.complete_record`` with the integration's
settings before writing it (an accounting provider adds the tax rate, due days and ledger
account of seed section ג there); what it adds is not mapped back, so the next run is quiet."""

from __future__ import annotations

import pytest

from core.tenant_context import tenant_scope
from entities.services import entity_create, entity_update
from integrations.models import Integration
from integrations.providers import registry
from tests.support.memory_provider import memory_provider  # noqa: F401 - fixture
from tests.support.sync_runs import connect_calendar, drain_entity_events, run_sync

pytestmark = pytest.mark.django_db


def test_creates_and_updates_are_completed_with_the_settings(alice, memory_provider, monkeypatch):  # noqa: F811
    calendar = memory_provider("google_calendar")
    adapter = registry.ADAPTERS["google_calendar"]
    seen: list[tuple] = []

    def complete(self, record, *, local_type, remote_type, settings, hub_id, create):
        seen.append((local_type, remote_type, hub_id, create))
        return {**record, "colorId": settings["colour"], "stage": "create" if create else "update"}

    monkeypatch.setattr(adapter, "complete_record", complete)
    integration = connect_calendar(alice, direction="export")
    with tenant_scope(alice.tenant.id):
        Integration.objects.filter(pk=integration.pk).update(settings={"colour": "5"})
        meeting = entity_create(tenant=alice.tenant, entity_type="meeting", source="api", data={
            "title": "Kickoff", "start_time": "2026-12-11T09:00:00+02:00", "end_time": "2026-12-11T10:00:00+02:00"})
    drain_entity_events(str(alice.tenant.id))
    run_sync(integration)
    (stored,) = calendar.live().values()
    assert (stored["summary"], stored["colorId"], stored["stage"]) == ("Kickoff", "5", "create")

    with tenant_scope(alice.tenant.id):
        meeting.refresh_from_db()
        entity_update(instance=meeting, data={"title": "Kickoff (moved)"}, tenant=alice.tenant, source="api")
    drain_entity_events(str(alice.tenant.id))
    run_sync(integration)
    (stored,) = calendar.live().values()
    assert (stored["summary"], stored["stage"]) == ("Kickoff (moved)", "update")
    assert seen == [("meeting", "event", str(meeting.pk), True), ("meeting", "event", str(meeting.pk), False)]

    # and a run with nothing changed here writes nothing (the added fields are not compared)
    writes = len(calendar.writes())
    assert run_sync(integration).summary["updated"] == 0
    assert len(calendar.writes()) == writes


def test_the_default_completion_is_the_record_itself():
    from integrations.providers.adapter import ProviderAdapter
    from integrations.providers.catalog import get_provider

    adapter = ProviderAdapter(get_provider("google_calendar"))
    record = {"summary": "x"}
    assert adapter.complete_record(record, local_type="meeting", remote_type="event", settings={"a": 1},
                                   hub_id="h", create=True) == record
