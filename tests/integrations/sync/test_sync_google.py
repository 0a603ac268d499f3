"""The sync engine with the real Google Calendar adapter, through the hub's ProviderClient, against
the fake Calendar API v3 (tests/support/fakes/google_calendar.py: a real HTTP server with the
documented sync-token, paging, 410, etag and If-Match semantics): the engine's contract with a
real adapter, beside tests/integrations/sync/test_sync_engine.py's in-memory provider."""

from __future__ import annotations

import pytest

from core.tenant_context import tenant_scope
from entities.services import entity_create, entity_update
from integrations.models import Integration
from integrations.services import provider_app_set
from tests.support import calendar_sync as proofs
from tests.support.calendar_sync import Side, when
from tests.support.oauth import make_oauth_integration
from tests.support.sync_runs import drain_entity_events, links, meetings, pending, run_sync, sync_export_drain

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limiter_on_test_redis")]

CAL = "studio@example.com"


def timed(day: int, hour: int = 10) -> dict:
    return {"start": {"dateTime": f"2026-12-{day:02d}T{hour:02d}:00:00+02:00"},
            "end": {"dateTime": f"2026-12-{day:02d}T{hour + 1:02d}:00:00+02:00"}}


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


# --------------------------------------------------------------------------- end to end, each behaviour
# The shared proofs (tests/support/calendar_sync.py) with Google's side: the fake's store
# mutated as a person in Google Calendar would (https://developers.google.com/calendar/api/v3/reference/events).
class GoogleSide(Side):
    remote_entity = "event"
    container = CAL

    def __init__(self, fake, integration):
        self.fake, self.integration = fake, integration

    def create(self, title, n, *, location=""):
        start, end = when(n)
        return self.fake.put_event(CAL, summary=title, location=location,
                                   start={"dateTime": start.isoformat()}, end={"dateTime": end.isoformat()})["id"]

    def edit(self, remote_id, *, title=None, location=None):
        changes = {k: v for k, v in {"summary": title, "location": location}.items() if v is not None}
        self.fake.edit_event(CAL, remote_id, **changes)

    def delete(self, remote_id):
        self.fake.remove_event(CAL, remote_id)

    def forget_cursor(self):
        self.fake.expire_tokens()

    def fingerprint(self):
        return {e["id"]: e["etag"] for e in self.fake.events(CAL, include_deleted=True)}

    def hub_id(self, remote_id):
        return ((self.fake.event(CAL, remote_id) or {}).get("extendedProperties") or {}).get("private", {}).get(
            "architectStudioId")

    def last_if_match(self):
        return [r for r in self.fake.requests if r.method == "PATCH"][-1].headers.get("if-match")


@pytest.fixture
def google(alice, fake):
    return GoogleSide(fake, connected(alice))


def test_google_import_only_remote_creates_edits_and_deletes_reach_the_meetings(alice, google):
    proofs.prove_import(google, alice)


def test_google_export_only_local_creates_edits_and_deletes_reach_google(alice, google):
    proofs.prove_export(google, alice, if_match=google.last_if_match)


def test_google_bidirectional_both_sides_change_in_the_same_runs(alice, google):
    proofs.prove_bidirectional(google, alice)


@pytest.mark.parametrize(("policy", "newer"), [("newest_wins", "remote"), ("newest_wins", "local"),
                                                ("remote_wins", "local"), ("local_wins", "remote")])
def test_google_conflict_is_decided_by_the_policy_and_logged_with_both_values(alice, google, policy, newer):
    proofs.prove_conflict(google, alice, policy=policy, newer=newer)


def test_google_a_stale_etag_on_export_merges_instead_of_overwriting(alice, google):
    proofs.prove_version_conflict_on_export(google, alice)
    assert google.fake.count("PATCH", status=412) == 1


def test_google_a_410_in_a_two_way_sync_resyncs_without_duplicates(alice, google):
    proofs.prove_cursor_lost(google, alice)
    assert google.fake.count("GET", "/events", status=410) == 1


@pytest.mark.parametrize("direction", ["bidirectional", "import"])
def test_google_a_reconnect_relinks_instead_of_duplicating(alice, google, fake, monkeypatch, direction):
    monkeypatch.setattr("integrations.oauth.revoke", lambda app, **kw: 200)  # no call to Google's real revoke URL
    proofs.prove_reconnect(google, alice, lambda: connected(alice), direction=direction)


@pytest.mark.usefixtures("sync_worker")
def test_google_a_worker_killed_mid_run_is_resumed_by_the_sweeper_without_duplicates(
        alice, google, monkeypatch, settings):
    monkeypatch.setattr("integrations.providers.google_calendar.adapter.PAGE_SIZE", 2)
    proofs.prove_killed_worker(google, alice, monkeypatch, settings)


def test_google_an_export_only_reconnect_creates_no_second_copy(alice, google, monkeypatch):
    monkeypatch.setattr("integrations.oauth.revoke", lambda app, **kw: 200)
    proofs.prove_reconnect_export_only(google, alice, lambda: connected(alice))


@pytest.mark.usefixtures("sync_worker")
def test_google_a_worker_killed_between_the_create_and_its_link_leaves_no_copy(alice, google, monkeypatch, settings):
    proofs.prove_killed_during_export(google, alice, monkeypatch, settings)


def test_google_a_task_exported_as_an_event_is_not_imported_back_as_a_meeting(alice, google):
    # given meetings synced both ways and tasks exported to the same calendar (seed ג syncTasks)
    with tenant_scope(alice.tenant.id):
        integration = Integration.objects.get(pk=google.integration.pk)
        integration.sync_settings = {
            "enabled": True, "direction": "bidirectional", "frequency": "manual", "fieldMappings": [], "filters": [],
            "entities": [{"localEntity": "meeting", "remoteEntity": "event", "enabled": True,
                          "direction": "bidirectional"},
                         {"localEntity": "task", "remoteEntity": "event", "enabled": True, "direction": "export"}]}
        integration.save()
        task = entity_create(tenant=alice.tenant, entity_type="task", source="api", data={
            "title": "Submit permit", "due_date": "2026-12-20T12:00:00+02:00"})
    drain_entity_events(str(alice.tenant.id))

    # when the task is exported, and the calendar read again
    first = run_sync(integration)
    second = run_sync(integration)

    # then the event is the task's (an all-day event on its due date), and no meeting is made of it
    assert first.status == second.status == "success", (first.error_message, second.error_message)
    (stored,) = fake_events = google.fake.events(CAL)
    assert stored["summary"] == "Submit permit" and stored["start"] == {"date": "2026-12-20"}
    assert stored["extendedProperties"]["private"]["architectStudioId"] == str(task.pk)
    assert meetings(alice) == {} and len(fake_events) == 1
    assert [(link.local_type, link.local_id) for link in links(integration)] == [("task", task.pk)]

    # and when the task's event is deleted in Google, the task stays (tasks are only exported)
    google.fake.remove_event(CAL, stored["id"])
    third = run_sync(integration)
    assert third.status == "success" and third.summary["deleted"] == 0
    with tenant_scope(alice.tenant.id):
        assert type(task).objects.filter(pk=task.pk).exists()
