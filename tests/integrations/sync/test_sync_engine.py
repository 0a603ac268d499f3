"""The sync engine (issue 11 items 3-5, 8-9; DESIGN C12) against an in-memory provider
(tests/support/memory_provider.py) served as google_calendar's adapter: import, cursors,
full resync after an invalid cursor, export with hub ids and versions, no ping-pong,
the three conflict policies, one bad record, and runs a dead worker left behind. Long on
purpose: the engine's behaviours read in one place, each a short given/when/then."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.tenant_context import tenant_scope
from entities.models import Meeting
from entities.services import entity_create, entity_delete, entity_update
from integrations.models import Integration, IntegrationLog
from integrations.sync.runs import MAX_RESUMES, run_start, runs_sweep_stale
from integrations.sync.services import sync_execute
from tests.support.factories import make_meeting
from tests.support.memory_provider import ProviderDown, memory_provider  # noqa: F401 - fixture
from tests.support.sync_runs import (
    connect_calendar,
    drain_entity_events,
    event,
    links,
    meetings,
    pending,
    reload,
    run_sync,
    state,
    sync_export_drain,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def calendar(memory_provider):  # noqa: F811
    return memory_provider("google_calendar", page_size=2)


def local_edit(persona, meeting, **data):
    with tenant_scope(persona.tenant.id):
        meeting.refresh_from_db()
        return entity_update(instance=meeting, data=data, tenant=persona.tenant, source="api")


def local_create(persona, **data):
    with tenant_scope(persona.tenant.id):
        return entity_create(tenant=persona.tenant, entity_type="meeting", source="api", data={
            "start_time": "2026-12-11T09:00:00+02:00", "end_time": "2026-12-11T10:00:00+02:00", **data})


# --------------------------------------------------------------------------- import
def test_import_creates_updates_and_deletes_local_records(alice, calendar):
    # given three remote events and an integration that imports them
    kickoff = calendar.put(None, event("Kickoff", location="Studio"))
    review = calendar.put(None, event("Review"))
    calendar.put(None, event("Site visit"))
    integration = connect_calendar(alice, direction="import")

    # when it syncs
    first = run_sync(integration)

    # then each became a meeting, linked, and the run says so
    assert first.status == "success" and first.action == "import"
    assert first.summary == {"total": 3, "created": 3, "updated": 0, "deleted": 0, "skipped": 0, "failed": 0,
                             "conflicts": 0}
    assert set(meetings(alice)) == {"Kickoff", "Review", "Site visit"}
    assert meetings(alice)["Kickoff"].location == "Studio"
    assert {link.remote_id for link in links(integration)} == set(calendar.live())

    # when one is edited and one removed at the provider
    calendar.edit(kickoff, summary="Kickoff (moved)")
    calendar.remove(review)
    second = run_sync(integration)

    # then the local records follow
    assert (second.summary["updated"], second.summary["deleted"], second.summary["created"]) == (1, 1, 0)
    assert set(meetings(alice)) == {"Kickoff (moved)", "Site visit"}
    assert len(links(integration)) == 2
    integration = reload(integration)
    assert (integration.last_sync_status, integration.total_syncs) == ("success", 2)


def test_the_cursor_advances_with_each_page_and_a_failing_page_leaves_it(alice, calendar):
    # given five remote events served two per page, the second listing call failing
    for n in range(5):
        calendar.put(f"evt{n}", event(f"Meeting {n}"))
    integration = connect_calendar(alice, direction="import")
    calendar.fail_on_page = 2

    # when it syncs
    failed = run_sync(integration)

    # then the first page is committed with its cursor; the run failed, saying why
    assert failed.status == "failed" and "listing call 2 failed" in failed.error_message
    assert len(meetings(alice)) == 2
    stored = state(integration).cursor
    assert stored is not None and stored.startswith("p:")  # the next page's token, committed with page 1
    integration = reload(integration)
    assert integration.last_sync_status == "failed" and "listing call 2" in integration.last_error

    # when the provider recovers and it syncs again
    calendar.fail_on_page = None
    again = run_sync(integration)

    # then it resumed from that cursor: the first page is not read again, nothing is duplicated
    assert calendar.calls[2] == ("list", "primary", stored)
    assert again.status == "success" and again.summary["created"] == 3
    assert sorted(meetings(alice)) == [f"Meeting {n}" for n in range(5)]
    assert state(integration).cursor.startswith("s:") and state(integration).full_sync_started_at is None


def test_an_invalid_cursor_means_a_full_resync_without_duplicates_and_with_removals(alice, calendar):
    # given three imported events
    ids = [calendar.put(None, event(f"Meeting {n}")) for n in range(3)]
    integration = connect_calendar(alice, direction="import")
    run_sync(integration)
    before = {m.title: m.pk for m in meetings(alice).values()}

    # when one is removed, one edited, and the provider forgets every sync token (410 Gone)
    calendar.remove(ids[0])
    calendar.edit(ids[1], summary="Meeting 1 (edited)")
    calendar.forget_history()
    run = run_sync(integration)

    # then a full listing reconciled against the links: no duplicate, the removal found
    assert run.status == "success"
    assert run.summary["deleted"] == 1 and run.summary["updated"] == 1 and run.summary["created"] == 0
    assert set(meetings(alice)) == {"Meeting 1 (edited)", "Meeting 2"}
    assert meetings(alice)["Meeting 2"].pk == before["Meeting 2"]
    assert {link.remote_id for link in links(integration)} == {ids[1], ids[2]}
    listed_from = [c[2] for c in calendar.calls if c[0] == "list"]
    assert None in listed_from[2:]  # the refused cursor, then the listing from scratch
    assert state(integration).last_full_sync_at is not None


def test_a_full_resync_relinks_records_the_hub_created_by_their_hub_id(alice, calendar):
    # given a meeting exported to the calendar, whose link is then lost
    integration = connect_calendar(alice)
    meeting = local_create(alice, title="Ours")
    run_sync(integration)  # the first run exports records without a link
    (link,) = links(integration)
    assert calendar.hub_id(link.remote_id) == str(meeting.pk)
    with tenant_scope(alice.tenant.id):
        link.delete()

    # when a full sync lists the calendar
    run = run_sync(integration, full=True)

    # then the remote event is linked back to the same meeting, not imported twice
    assert run.summary["created"] == 0
    assert list(meetings(alice)) == ["Ours"]
    (relinked,) = links(integration)
    assert relinked.local_id == meeting.pk and relinked.remote_id == link.remote_id


def test_a_full_listing_links_an_unstamped_event_to_one_unlinked_meeting_with_the_same_values(alice, calendar):
    # given meetings already here (imported before a re-connect, whose links went with the old
    # integration): one equal to two identical remote events, one that differs from its event
    calendar.put("e1", event("Kickoff"))
    calendar.put("e2", event("Kickoff"))
    calendar.put("e3", event("Review", location="Studio"))
    times = {"start_time": "2026-12-10T10:00:00+02:00", "end_time": "2026-12-10T11:00:00+02:00"}
    kickoff = local_create(alice, title="Kickoff", **times)
    review = local_create(alice, title="Review", location="Elsewhere", **times)
    integration = connect_calendar(alice, direction="import")

    # when the first (full) listing runs
    run = run_sync(integration)

    # then the equal meeting is linked to one of the two events (not duplicated), the other
    # event and the one that differs are created
    assert run.summary["created"] == 2, run.summary
    by_remote = {link.remote_id: link.local_id for link in links(integration)}
    assert set(by_remote) == {"e1", "e2", "e3"}
    assert kickoff.pk in by_remote.values() and review.pk not in by_remote.values()
    with tenant_scope(alice.tenant.id):
        titles = sorted(Meeting.objects.filter(tenant=alice.tenant).values_list("title", flat=True))
    assert titles == ["Kickoff", "Kickoff", "Review", "Review"]


def test_filters_on_the_remote_record_skip_what_they_refuse(alice, calendar):
    calendar.put(None, event("In the studio", location="Studio"))
    calendar.put(None, event("Elsewhere", location="Cafe"))
    integration = connect_calendar(alice, direction="import",
                                   filters=[{"field": "location", "operator": "equals", "value": "Studio"}])

    run = run_sync(integration)

    assert set(meetings(alice)) == {"In the studio"}
    assert (run.summary["created"], run.summary["skipped"]) == (1, 1)


def test_one_bad_record_fails_alone_and_the_run_is_partial(alice, calendar):
    calendar.put(None, event("Fine"))
    bad = calendar.put(None, event("Backwards", start="2026-12-10T11:00:00+02:00", end="2026-12-10T10:00:00+02:00"))
    integration = connect_calendar(alice, direction="import")

    run = run_sync(integration)

    assert run.status == "partial"
    assert (run.summary["created"], run.summary["failed"]) == (1, 1)
    assert run.failed_items[0]["entityId"] == bad and run.failed_items[0]["entityName"] == "Backwards"
    assert "end_time" in run.failed_items[0]["error"]
    assert set(meetings(alice)) == {"Fine"}


# --------------------------------------------------------------------------- export
def test_export_creates_updates_and_deletes_with_the_hub_id_and_the_version(alice, calendar):
    # given a realtime two-way integration with nothing to import
    integration = connect_calendar(alice, frequency="realtime")
    run_sync(integration)

    # when a meeting is created locally and the outbox drains
    meeting = local_create(alice, title="Design review", location="Studio")
    drain_entity_events(str(alice.tenant.id))
    assert [(p.operation, p.local_id) for p in pending(integration)] == [("upsert", meeting.pk)]
    sync_export_drain(tenant_id=alice.tenant.id)

    # then it exists at the provider, stamped with the hub's id, linked with its version
    (link,) = links(integration)
    remote = calendar.get(link.remote_id)
    assert remote["summary"] == "Design review" and remote["location"] == "Studio"
    assert calendar.hub_id(link.remote_id) == str(meeting.pk)
    assert link.remote_version == calendar.version(link.remote_id) and pending(integration) == []

    # when it is edited locally
    local_edit(alice, meeting, title="Design review (moved)")
    drain_entity_events(str(alice.tenant.id))
    sync_export_drain(tenant_id=alice.tenant.id)

    # then the update was conditional on the version we held
    assert calendar.get(link.remote_id)["summary"] == "Design review (moved)"
    assert calendar.writes()[-1] == ("update", "primary", link.remote_id, link.remote_version)

    # when it is deleted locally
    with tenant_scope(alice.tenant.id):
        meeting.refresh_from_db()
        entity_delete(instance=meeting, source="api")
    drain_entity_events(str(alice.tenant.id))
    sync_export_drain(tenant_id=alice.tenant.id)

    # then it is deleted there too, and the link is gone
    assert calendar.live() == {} and links(integration) == [] and pending(integration) == []
    with tenant_scope(alice.tenant.id):
        exports = list(IntegrationLog.objects.filter(integration=integration, action="export"))
    assert sorted(e.summary["created"] + e.summary["updated"] + e.summary["deleted"] for e in exports) == [1, 1, 1]


def test_a_failed_export_stays_queued_with_its_error_and_backoff(alice, calendar, monkeypatch):
    integration = connect_calendar(alice, frequency="realtime")
    run_sync(integration)
    local_create(alice, title="Unlucky")
    drain_entity_events(str(alice.tenant.id))

    def down(*args, **kwargs):
        raise ProviderDown("503 from the provider")

    monkeypatch.setattr(calendar, "create", down)
    sync_export_drain(tenant_id=alice.tenant.id)

    (row,) = pending(integration)
    assert row.attempts == 1 and "503 from the provider" in row.last_error
    assert row.next_attempt_at > timezone.now() + timedelta(seconds=20)
    assert calendar.live() == {}


def test_nothing_ping_pongs(alice, calendar):
    # given a realtime two-way integration that imports two events
    calendar.put(None, event("Remote one"))
    calendar.put(None, event("Remote two"))
    integration = connect_calendar(alice, frequency="realtime")
    run_sync(integration)

    # when the outbox drains the import's entity events
    drain_entity_events(str(alice.tenant.id))

    # then nothing is queued for export: an import produces no export write
    assert pending(integration) == []
    sync_export_drain(tenant_id=alice.tenant.id)
    assert calendar.writes() == []

    # when a local record is exported, and the next import lists our own write
    meeting = local_create(alice, title="Local")
    drain_entity_events(str(alice.tenant.id))
    sync_export_drain(tenant_id=alice.tenant.id)
    updated_at = meetings(alice)["Local"].updated_at
    run = run_sync(integration)

    # then the import changes nothing: an export produces no import change
    assert (run.summary["created"], run.summary["updated"], run.summary["conflicts"]) == (0, 0, 0)
    assert meetings(alice)["Local"].updated_at == updated_at and meetings(alice)["Local"].pk == meeting.pk
    assert len(calendar.writes()) == 1


# --------------------------------------------------------------------------- merge and conflicts
@pytest.mark.parametrize(("policy", "local_last", "winner"), [
    ("remote_wins", True, "remote"),
    ("local_wins", False, "local"),
    ("newest_wins", True, "local"),
    ("newest_wins", False, "remote"),
])
def test_a_field_changed_on_both_sides_is_decided_by_the_policy_and_logged(alice, calendar, policy, local_last,
                                                                            winner):
    # given an event synced both ways
    remote_id = calendar.put(None, event("Kickoff", location="Studio", description="Agenda"))
    integration = connect_calendar(alice, policy=policy)
    run_sync(integration)
    meeting = meetings(alice)["Kickoff"]

    # when the title changes on both sides, the location only remotely, the description only locally
    def remote_side():
        calendar.edit(remote_id, summary="Kickoff (remote)", location="Cafe")

    def local_side():
        local_edit(alice, meeting, title="Kickoff (local)", description="Agenda v2")

    first, second = (remote_side, local_side) if local_last else (local_side, remote_side)
    first()
    second()
    drain_entity_events(str(alice.tenant.id))
    run = run_sync(integration)

    # then one-sided changes merge, the conflict follows the policy, both sides end equal
    title = {"local": "Kickoff (local)", "remote": "Kickoff (remote)"}[winner]
    with tenant_scope(alice.tenant.id):
        meeting.refresh_from_db()
    assert (meeting.title, meeting.location, meeting.description) == (title, "Cafe", "Agenda v2")
    there = calendar.get(remote_id)
    assert (there["summary"], there["location"], there["description"]) == (title, "Cafe", "Agenda v2")
    assert run.summary["conflicts"] == 1
    (conflict,) = run.response_snapshot["conflicts"]
    assert conflict["field"] == "title" and conflict["winner"] == winner
    assert (conflict["localValue"], conflict["remoteValue"]) == ("Kickoff (local)", "Kickoff (remote)")


def test_an_export_that_meets_a_newer_remote_version_merges_and_retries(alice, calendar):
    # given an event synced both ways
    remote_id = calendar.put(None, event("Kickoff", location="Studio"))
    integration = connect_calendar(alice, frequency="realtime")
    run_sync(integration)
    meeting = meetings(alice)["Kickoff"]
    held = links(integration)[0].remote_version

    # when the location changes remotely and, before any import, the title locally
    calendar.edit(remote_id, location="Cafe")
    local_edit(alice, meeting, title="Kickoff (moved)")
    drain_entity_events(str(alice.tenant.id))
    sync_export_drain(tenant_id=alice.tenant.id)

    # then the stale update was refused, the remote change merged in, and the retry carried both
    updates = [w for w in calendar.writes() if w[0] == "update"]
    assert updates[0][3] == held and updates[-1][3] != held
    assert (calendar.get(remote_id)["summary"], calendar.get(remote_id)["location"]) == ("Kickoff (moved)", "Cafe")
    with tenant_scope(alice.tenant.id):
        meeting.refresh_from_db()
    assert (meeting.title, meeting.location) == ("Kickoff (moved)", "Cafe")
    assert pending(integration) == []


# --------------------------------------------------------------------------- runs a worker left behind
@pytest.mark.django_db(transaction=True)
def test_a_run_whose_worker_died_is_resumed_from_its_cursor_without_duplicates(alice, calendar, settings):
    # given five events and a run whose worker dies after the first page
    for n in range(5):
        calendar.put(f"evt{n}", event(f"Meeting {n}"))
    integration = connect_calendar(alice, direction="import")
    with tenant_scope(alice.tenant.id):  # the row only: this thread is the worker (no message left queued)
        entry = run_start(integration=integration, direction="import", options={})
    calendar.fail_on_page = 2
    original = calendar.list_changes

    def killed(container, cursor):
        try:
            return original(container, cursor)
        except ProviderDown:
            raise SystemExit("worker killed") from None  # not an Exception: nothing records the end

    calendar.list_changes = killed
    with pytest.raises(SystemExit):
        sync_execute(log_id=entry.pk, tenant_id=alice.tenant.id)
    with tenant_scope(alice.tenant.id):
        entry.refresh_from_db()
    assert entry.status == "running" and entry.progress["done"] == 2

    # when its heartbeat goes stale and the sweeper runs
    calendar.fail_on_page = None
    assert sync_execute(log_id=entry.pk, tenant_id=alice.tenant.id) == "not-claimed"  # alive as far as we know
    swept = runs_sweep_stale(now=timezone.now() + timedelta(seconds=settings.SYNC_RUN_STALE_SECONDS + 1))
    assert swept.requeued == [str(entry.pk)]

    # then the re-queued run resumes from the stored cursor and ends; nothing is duplicated
    assert sync_execute(log_id=entry.pk, tenant_id=alice.tenant.id) == "success"
    with tenant_scope(alice.tenant.id):
        entry.refresh_from_db()
    assert entry.status == "success" and entry.summary["created"] == 3
    assert sorted(meetings(alice)) == [f"Meeting {n}" for n in range(5)]


@pytest.mark.django_db(transaction=True)
def test_the_sweeper_fails_a_run_resumed_too_often(alice, calendar):
    integration = connect_calendar(alice, direction="import")
    with tenant_scope(alice.tenant.id):
        entry = run_start(integration=integration, direction="import", options={})
        IntegrationLog.objects.filter(pk=entry.pk).update(
            heartbeat_at=timezone.now() - timedelta(hours=1),
            progress={"done": 4, "total": None, "resumes": MAX_RESUMES, "summary": {"created": 4}})

    swept = runs_sweep_stale()

    assert swept.failed == [str(entry.pk)] and swept.requeued == []
    with tenant_scope(alice.tenant.id):
        entry.refresh_from_db()
        integration.refresh_from_db()
    assert (entry.status, entry.error_code, entry.summary["created"]) == ("failed", "worker_lost", 4)
    assert integration.last_sync_status == "failed"


def test_each_enabled_calendar_is_synced_with_its_own_cursor(alice, memory_provider):  # noqa: F811
    # given two calendars with an event each, and a third the tenant did not enable
    calendar = memory_provider("google_calendar", containers=("primary", "team", "holidays"))
    calendar.put(None, event("Mine"), container="primary")
    calendar.put(None, event("Team standup"), container="team")
    calendar.put(None, event("Holiday"), container="holidays")
    integration = connect_calendar(alice, direction="import")
    with tenant_scope(alice.tenant.id):
        integration.settings = {"calendars": [
            {"calendarId": "primary", "calendarName": "Mine", "syncEnabled": True},
            {"calendarId": "team", "calendarName": "Team", "syncEnabled": True},
            {"calendarId": "holidays", "calendarName": "Holidays", "syncEnabled": False},
        ]}
        integration.save()

    run_sync(integration)

    assert set(meetings(alice)) == {"Mine", "Team standup"}
    assert {link.remote_container for link in links(integration)} == {"primary", "team"}
    assert state(integration, "team").cursor.startswith("s:") and state(integration, "primary").cursor.startswith("s:")


def test_an_hourly_integration_exports_on_its_schedule_not_at_once(alice, calendar):
    # given an hourly two-way integration past its first run, and a local meeting never exported
    integration = connect_calendar(alice, frequency="hourly")
    run_sync(integration)
    unlinked = make_meeting(alice.tenant, title="Old one")  # from before the integration: no event, no link

    # when a local meeting changes, the outbox drains, and the tenant's realtime export drain runs
    edited = local_create(alice, title="New one")
    drain_entity_events(str(alice.tenant.id))
    sync_export_drain(tenant_id=alice.tenant.id)

    # then the change waits in the queue for the schedule
    assert [p.local_id for p in pending(integration)] == [edited.pk]
    assert calendar.live() == {}

    # when the scheduled run comes
    run = run_sync(integration, scheduled=True)

    # then every local meeting is at the provider, the unlinked one included, once each
    assert sorted(r["summary"] for r in calendar.live().values()) == ["New one", "Old one"]
    assert {link.local_id for link in links(integration)} == {unlinked.pk, edited.pk}
    assert run.status == "success" and pending(integration) == []


def test_an_export_only_integration_overwrites_a_remote_edit_and_imports_nothing(alice, calendar):
    # given a meeting exported by an export-only integration
    integration = connect_calendar(alice, direction="export", frequency="realtime")
    meeting = local_create(alice, title="Ours", location="Studio")
    run_sync(integration)
    (link,) = links(integration)
    calendar.calls.clear()  # the first run listed the calendar once, for the hub's own events only

    # when someone edits it at the provider, then it is edited here
    calendar.edit(link.remote_id, summary="Theirs", location="Cafe")
    local_edit(alice, meeting, title="Ours (moved)")
    drain_entity_events(str(alice.tenant.id))
    sync_export_drain(tenant_id=alice.tenant.id)

    # then the local record is pushed as it is; nothing of theirs comes back
    there = calendar.get(link.remote_id)
    assert (there["summary"], there["location"]) == ("Ours (moved)", "Studio")
    with tenant_scope(alice.tenant.id):
        meeting.refresh_from_db()
    assert (meeting.title, meeting.location) == ("Ours (moved)", "Studio")
    assert [c for c in calendar.calls if c[0] == "list"] == [] and pending(integration) == []


def test_an_export_only_reconnect_links_back_the_events_it_created_before(alice, calendar):
    # given two meetings exported by an export-only integration, one edited here after the
    # disconnect (no integration to queue it for), and the integration re-connected (a new row:
    # links and cursors gone). The provider keeps no memory of earlier creates (no idempotency key).
    from integrations.services import integration_disconnect

    first = connect_calendar(alice, direction="export")
    local_create(alice, title="Kickoff")
    edited = local_create(alice, title="Review")
    run_sync(first)
    assert len(calendar.live()) == 2
    with tenant_scope(alice.tenant.id):
        integration_disconnect(integration=reload(first))
    local_edit(alice, edited, location="Moved while disconnected")
    again = connect_calendar(alice, direction="export")

    # when its first run exports every meeting without a link
    run = run_sync(again)

    # then the events it created are linked back by the hub id stamped on them, not created
    # twice, and the one edited meanwhile is brought up to date; nothing is imported
    assert run.status == "success", run.error_message
    live = calendar.live()
    assert sorted((r["summary"], r.get("location", "")) for r in live.values()) == [
        ("Kickoff", ""), ("Review", "Moved while disconnected")]
    assert {link.remote_id for link in links(again)} == set(live)
    assert run.summary["created"] == 0 and sorted(meetings(alice)) == ["Kickoff", "Review"]


# --------------------------------------------------------------------------- provider settings (seed ג)
def _set_settings(integration, **flags):
    with tenant_scope(integration.tenant_id):
        Integration.objects.filter(pk=integration.pk).update(settings={**(reload(integration).settings or {}), **flags})
    return reload(integration)


def test_auto_create_meetings_off_imports_edits_of_linked_events_but_creates_no_meeting(alice, calendar):
    # given a linked event, then autoCreateMeetings turned off
    kickoff = calendar.put(None, event("Kickoff"))
    integration = connect_calendar(alice, direction="import")
    run_sync(integration)
    integration = _set_settings(integration, autoCreateMeetings=False)

    # when a new event appears and the linked one is edited at the provider
    calendar.put(None, event("Someone else's lunch"))
    calendar.edit(kickoff, summary="Kickoff (moved)")
    run = run_sync(integration)

    # then the edit is imported and the new event creates nothing
    assert set(meetings(alice)) == {"Kickoff (moved)"}
    assert (run.summary["created"], run.summary["updated"], run.summary["skipped"]) == (0, 1, 1)


def test_auto_create_events_off_exports_edits_of_linked_meetings_but_creates_no_event(alice, calendar):
    # given a meeting already at the provider, then autoCreateEvents turned off
    integration = connect_calendar(alice, direction="export", frequency="realtime")
    run_sync(integration)
    linked = local_create(alice, title="Design review")
    drain_entity_events(str(alice.tenant.id))
    sync_export_drain(tenant_id=alice.tenant.id)
    integration = _set_settings(integration, autoCreateEvents=False)

    # when a new meeting is created and the linked one edited locally
    local_create(alice, title="Internal only")
    local_edit(alice, linked, title="Design review (moved)")
    drain_entity_events(str(alice.tenant.id))
    sync_export_drain(tenant_id=alice.tenant.id)

    # then only the edit reached the provider, and nothing waits in the queue
    assert sorted(e["summary"] for e in calendar.live().values()) == ["Design review (moved)"]
    assert pending(integration) == []


def test_sync_meetings_off_leaves_the_meeting_pair_out(alice, alice_api, calendar):
    calendar.put(None, event("Kickoff"))
    integration = _set_settings(connect_calendar(alice, direction="bidirectional"), syncMeetings=False)

    refused = alice_api.post(f"/api/integrations/{integration.pk}/sync", {}, format="json")

    assert refused.status_code == 400 and "syncMeetings" in refused.json()["error"]["message"]
    assert meetings(alice) == {} and links(integration) == []
    integration = _set_settings(integration, syncMeetings=True)
    run_sync(integration)
    assert set(meetings(alice)) == {"Kickoff"}
