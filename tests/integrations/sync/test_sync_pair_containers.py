"""The engine asks an adapter where each remote type lives (``ProviderAdapter.pair_containers``):
a provider that keeps one collection per type (Stripe's payment intents and customers, with no
calendars to pick) receives the pair's own container in ``list_changes`` and ``push_create``,
with its own cursor; adapters that answer None keep the settings' enabled calendars."""

from __future__ import annotations

import pytest

from core.tenant_context import tenant_scope
from entities.services import entity_create
from integrations.providers import registry
from integrations.sync.plan import plan_for
from tests.support.memory_provider import memory_provider  # noqa: F401 - fixture
from tests.support.sync_runs import (
    connect_calendar,
    drain_entity_events,
    event,
    links,
    meetings,
    run_sync,
    state,
)

pytestmark = pytest.mark.django_db


def test_an_adapter_naming_a_container_per_remote_type_is_listed_and_written_there(alice, memory_provider,  # noqa: F811
                                                                                     monkeypatch):
    # given a provider whose events live in a collection named after the type, not in "primary"
    calendar = memory_provider("google_calendar", containers=("primary", "event"))
    adapter = registry.ADAPTERS["google_calendar"]
    monkeypatch.setattr(adapter, "pair_containers", lambda self, remote_type: (remote_type,))
    calendar.put(None, event("In the type's collection"), container="event")
    calendar.put(None, event("In primary"), container="primary")
    integration = connect_calendar(alice, direction="bidirectional")
    assert plan_for(integration).pairs[0].containers == ("event",)

    # when it syncs, and a local meeting is exported
    run_sync(integration)
    with tenant_scope(alice.tenant.id):
        entity_create(tenant=alice.tenant, entity_type="meeting", source="api", data={
            "title": "Made here", "start_time": "2026-12-11T09:00:00+02:00", "end_time": "2026-12-11T10:00:00+02:00"})
    drain_entity_events(str(alice.tenant.id))
    run_sync(integration)

    # then only the type's collection was read, with its own cursor, and the create went there
    assert set(meetings(alice)) == {"In the type's collection", "Made here"}
    assert {call[1] for call in calendar.calls if call[0] in ("list", "create")} == {"event"}
    assert state(integration, "event").cursor
    assert {link.remote_container for link in links(integration)} == {"event"}
    assert "Made here" in {r.get("summary") for r in calendar.live("event").values()}


def test_adapters_that_name_none_keep_the_enabled_calendars(alice, memory_provider):  # noqa: F811
    memory_provider("google_calendar")
    integration = connect_calendar(alice, direction="import")
    assert plan_for(integration).pairs[0].containers == ("primary",)
