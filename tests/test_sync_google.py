"""The sync engine with the real Google Calendar adapter, through the hub's ProviderClient, against
the fake Calendar API v3 (tests/support/fakes/google_calendar.py: a real HTTP server with the
documented sync-token, paging, 410, etag and If-Match semantics): the engine's contract with a
real adapter, beside tests/test_sync_engine.py's in-memory provider."""

from __future__ import annotations

import pytest
import redis

from core.tenant_context import tenant_scope
from entities.services import entity_create, entity_update
from integrations.models import Integration
from integrations.services import provider_app_set
from tests.support.sync_runs import drain_entity_events, links, meetings, pending, run_sync, sync_export_drain
from tests.test_integrations_providers import make_oauth_integration

pytestmark = pytest.mark.django_db

CAL = "studio@example.com"


def timed(day: int, hour: int = 10) -> dict:
    return {"start": {"dateTime": f"2026-12-{day:02d}T{hour:02d}:00:00+02:00"},
            "end": {"dateTime": f"2026-12-{day:02d}T{hour + 1:02d}:00:00+02:00"}}


@pytest.fixture(autouse=True)
def _limiter_on_test_redis(settings):
    settings.INTEGRATIONS_RATELIMIT_REDIS_URL = settings.CELERY_BROKER_URL
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for key in client.scan_iter("integrations:ratelimit:*"):
        client.delete(key)


@pytest.fixture
def fake(google_calendar_fake):
    provider_app_set(provider_id="google_calendar", client_id="gid.apps.googleusercontent.com", client_secret="gs",
                     api_base_url=google_calendar_fake.base_url)
    google_calendar_fake.add_calendar(CAL, "Studio", primary=True)
    return google_calendar_fake


def connected(persona, *, frequency: str = "realtime") -> Integration:
    integration = make_oauth_integration(persona, "google_calendar", access="ya29.a0AfH6SMB")
    with tenant_scope(persona.tenant.id):
        integration.settings = {"calendars": [{"calendarId": CAL, "calendarName": "Studio", "syncEnabled": True}]}
        integration.sync_settings = {
            "enabled": True, "direction": "bidirectional", "frequency": frequency, "fieldMappings": [], "filters": [],
            "entities": [{"localEntity": "meeting", "remoteEntity": "event", "enabled": True,
                          "direction": "bidirectional"}]}
        integration.save()
    return integration


def test_google_events_import_and_a_410_resyncs_without_duplicates(alice, fake):
    # given three Google events imported into meetings
    created = [fake.put_event(CAL, summary=f"Site visit {n}", location="Tel Aviv", **timed(3 + n)) for n in range(3)]
    integration = connected(alice)
    first = run_sync(integration)
    assert first.status == "success" and first.summary["created"] == 3
    assert meetings(alice)["Site visit 0"].location == "Tel Aviv"

    # when one is cancelled, one edited, and Google invalidates the sync token (410 fullSyncRequired)
    fake.remove_event(CAL, created[0]["id"])
    fake.edit_event(CAL, created[1]["id"], summary="Site visit 1 (moved)")
    fake.expire_tokens()
    second = run_sync(integration)

    # then the full listing reconciles: the removal found, the edit applied, nothing doubled
    assert second.status == "success", second.error_message
    assert (second.summary["created"], second.summary["updated"], second.summary["deleted"]) == (0, 1, 1)
    assert set(meetings(alice)) == {"Site visit 1 (moved)", "Site visit 2"}
    assert fake.count("GET", "/events", status=410) == 1
    # an import writes nothing back (fields Google omits and a meeting holds empty are equal)
    assert fake.count("PATCH") == fake.count("POST", "/events") == 0
    assert {link.remote_id for link in links(integration)} == {created[1]["id"], created[2]["id"]}


def test_a_local_meeting_reaches_google_with_the_hub_id_and_updates_use_if_match(alice, fake):
    integration = connected(alice)
    run_sync(integration)

    # when a meeting is created here and exported
    with tenant_scope(alice.tenant.id):
        meeting = entity_create(tenant=alice.tenant, entity_type="meeting", source="api", data={
            "title": "Design review", "start_time": "2026-12-09T09:00:00+02:00",
            "end_time": "2026-12-09T10:00:00+02:00"})
    drain_entity_events(str(alice.tenant.id))
    sync_export_drain(tenant_id=alice.tenant.id)

    # then Google holds it, stamped with our id
    (link,) = links(integration)
    stored = fake.event(CAL, link.remote_id)
    assert stored["summary"] == "Design review"
    assert stored["extendedProperties"]["private"]["architectStudioId"] == str(meeting.pk)
    assert link.remote_version == stored["etag"] and pending(integration) == []

    # when it is edited here: the patch is conditional on the etag we hold
    with tenant_scope(alice.tenant.id):
        meeting.refresh_from_db()
        entity_update(instance=meeting, data={"title": "Design review (moved)"}, tenant=alice.tenant, source="api")
    drain_entity_events(str(alice.tenant.id))
    sync_export_drain(tenant_id=alice.tenant.id)
    patch = [r for r in fake.requests if r.method == "PATCH"][-1]
    assert patch.headers["if-match"] == link.remote_version
    assert fake.event(CAL, link.remote_id)["summary"] == "Design review (moved)"

    # and the next import sees our own writes and changes nothing (no ping-pong)
    run = run_sync(integration)
    assert (run.summary["created"], run.summary["updated"], run.summary["conflicts"]) == (0, 0, 0)
    assert list(meetings(alice)) == ["Design review (moved)"]
