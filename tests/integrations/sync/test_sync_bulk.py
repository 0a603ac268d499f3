"""The import's bulk path (issue 11 item 11): ``entities.services.entity_bulk_create`` keeps
``entity_create``'s rules, rows and events, and a page of new remote records imports into the
same meetings, outbox events and links the one-by-one path writes."""

from __future__ import annotations

import secrets

import pytest
from rest_framework.exceptions import ValidationError

from core.tenant_context import tenant_scope
from entities.models import EntityEvent, Meeting, Payment
from entities.services import entity_bulk_create, entity_create, entity_snapshot
from integrations.sync_state import content_hash
from tests.support.memory_provider import memory_provider  # noqa: F401 - fixture
from tests.support.sync_runs import connect_calendar, event, links, meetings, run_sync

pytestmark = pytest.mark.django_db

START, END = "2026-12-10T10:00:00+02:00", "2026-12-10T11:00:00+02:00"

GOOD = [
    {"title": "Kickoff", "start_time": START, "end_time": END},
    {"title": "Site visit", "description": "Bring the plans", "location": "Tel Aviv", "start_time": START,
     "end_time": END, "attendees": ["dana@example.com", {"email": "omer@example.com"}], "status": "completed"},
]

BAD = [
    {"title": "Backwards", "start_time": END, "end_time": START},
    {"title": "No end", "start_time": START},
    {"title": "x" * 301, "start_time": START, "end_time": END},
    {"title": "Odd status", "start_time": START, "end_time": END, "status": "postponed"},
    {"title": "Not a time", "start_time": "tomorrow", "end_time": END},
    {"title": "Attendees", "start_time": START, "end_time": END, "attendees": "dana@example.com"},
    {"title": "Attendee", "start_time": START, "end_time": END, "attendees": [7]},
    {"title": 12, "start_time": START, "end_time": END},
    {"title": "Huge", "description": "y" * 50_001, "start_time": START, "end_time": END},
    ["not", "an", "object"],
]

# Set by the database or the clock, different for every row.
VOLATILE = {"id", "createdAt", "updatedAt"}


def stored(meeting: Meeting) -> dict:
    return {k: v for k, v in entity_snapshot(meeting).items() if k not in VOLATILE}


def created_event(meeting: Meeting) -> EntityEvent:
    return EntityEvent.objects.get(entity_id=meeting.pk, event="created")


def test_bulk_create_writes_the_rows_and_events_entity_create_writes(alice):
    with tenant_scope(alice.tenant.id):
        one_by_one = [entity_create(tenant=alice.tenant, entity_type="meeting", data=dict(item), source="integration:1")
                      for item in GOOD]
        bulk = entity_bulk_create(tenant=alice.tenant, entity_type="meeting", items=[dict(i) for i in GOOD],
                                  source="integration:1")

        assert all(isinstance(m, Meeting) for m in bulk)
        for slow, fast in zip(one_by_one, bulk, strict=True):
            fast = Meeting.objects.get(pk=fast.pk)  # what the database holds
            assert stored(fast) == stored(Meeting.objects.get(pk=slow.pk))
            assert fast.created_at is not None and fast.updated_at is not None
            slow_event, fast_event = created_event(slow), created_event(fast)
            assert (fast_event.source, fast_event.new_status, fast_event.old_status, fast_event.entity_type) == (
                slow_event.source, slow_event.new_status, slow_event.old_status, slow_event.entity_type)
            # the same snapshot shape, holding the row as stored
            assert fast_event.data.keys() == slow_event.data.keys()
            assert fast_event.data == entity_snapshot(fast)
            assert fast_event.processed_at is None


@pytest.mark.parametrize("item", BAD, ids=lambda item: str(item.get("title") if isinstance(item, dict) else "list")[:12])
def test_bulk_create_refuses_what_entity_create_refuses_with_the_same_errors(alice, item):
    with tenant_scope(alice.tenant.id):
        with pytest.raises(ValidationError) as refused:
            entity_create(tenant=alice.tenant, entity_type="meeting", data=item)
        before = (Meeting.objects.count(), EntityEvent.objects.count())

        results = entity_bulk_create(tenant=alice.tenant, entity_type="meeting", items=[item, dict(GOOD[0])])

        assert isinstance(results[0], ValidationError) and results[0].detail == refused.value.detail
        # the good one beside it is created alone, with its one event
        assert isinstance(results[1], Meeting)
        assert (Meeting.objects.count(), EntityEvent.objects.count()) == (before[0] + 1, before[1] + 1)


def test_bulk_create_resolves_related_records_in_the_callers_tenant_only(alice, bob):
    with tenant_scope(bob.tenant.id):
        bobs = entity_create(tenant=bob.tenant, entity_type="client", data={"name": "Bob's client"})
    with tenant_scope(alice.tenant.id):
        mine = entity_create(tenant=alice.tenant, entity_type="client", data={"name": "Alice's client"})
        with pytest.raises(ValidationError) as refused:
            entity_create(tenant=alice.tenant, entity_type="payment", data={"amount": "10.00", "client_id": str(bobs.pk)})
        results = entity_bulk_create(tenant=alice.tenant, entity_type="payment", items=[
            {"amount": "10.00", "client_id": str(bobs.pk)}, {"amount": "12.50", "currency": "usd",
                                                               "client_id": str(mine.pk)}])

        assert isinstance(results[0], ValidationError) and results[0].detail == refused.value.detail
        payment = Payment.objects.get(pk=results[1].pk)
        assert (payment.client_id, payment.currency, str(payment.amount)) == (mine.pk, "USD", "12.50")


@pytest.fixture
def calendar(memory_provider):  # noqa: F811
    return memory_provider("google_calendar", page_size=5)


def test_a_page_of_new_records_imports_into_meetings_events_and_links(alice, calendar):
    # given a page of four new remote events, one of them refused by the meeting's rules
    ids = [calendar.put(None, event(f"Visit {n}", location="Haifa")) for n in range(3)]
    bad = calendar.put(None, event("Backwards", start=END, end=START))
    integration = connect_calendar(alice, direction="import")

    run = run_sync(integration)

    # then the three are created, the bad one fails alone with the entity's own message
    assert run.status == "partial"
    assert (run.summary["created"], run.summary["failed"]) == (3, 1)
    error = run.failed_items[0]["error"]
    # (the words beside the text let a page say the "invalid record" part in its reader's language)
    assert run.failed_items == [{"entityId": bad, "entityName": "Backwards", "error": error,
                                 "errorWords": {"msgid": "invalid record: %(detail)s",
                                                "params": {"detail": error.removeprefix("invalid record: ")}}}]
    assert "end_time" in error and error.startswith("invalid record: ")
    found = meetings(alice)
    assert set(found) == {"Visit 0", "Visit 1", "Visit 2"}
    by_remote = {link.remote_id: link for link in links(integration)}
    assert set(by_remote) == set(ids)
    with tenant_scope(alice.tenant.id):
        for n, remote_id in enumerate(ids):
            meeting, link = found[f"Visit {n}"], by_remote[remote_id]
            # each meeting has its "created" event, marked as this integration's (no echo export)
            outbox = created_event(meeting)
            assert outbox.source == f"integration:{integration.pk}" and outbox.data == entity_snapshot(meeting)
            # and its link holds what was written to each side: the mapped remote values
            assert (link.local_type, link.local_id, link.remote_type) == ("meeting", meeting.pk, "event")
            assert link.last_synced["title"] == f"Visit {n}" and link.last_synced["location"] == "Haifa"
            assert link.local_hash == link.remote_hash == content_hash(link.last_synced)
            assert link.seen_at is not None and link.remote_version

    # and the next run finds every record as it left it: nothing created twice, nothing changed
    again = run_sync(integration)
    assert (again.summary["created"], again.summary["updated"]) == (0, 0)
    assert len(links(integration)) == 3


def test_a_page_of_edits_removals_and_echoes_updates_links_like_the_one_by_one_path(alice, calendar):
    # given four imported events
    ids = [calendar.put(None, event(f"Visit {n}", location="Haifa")) for n in range(4)]
    integration = connect_calendar(alice, direction="import")
    run_sync(integration)
    before = {link.remote_id: link for link in links(integration)}

    # when, in one page, one is edited, one removed, one saved again unchanged (a new version only)
    calendar.edit(ids[0], summary="Visit 0 (moved)", location="Akko")
    calendar.remove(ids[1])
    calendar.edit(ids[2])
    run = run_sync(integration)

    # then the edit reaches its meeting (one "updated" event) and its link holds the new values
    assert (run.summary["updated"], run.summary["deleted"], run.summary["skipped"]) == (1, 1, 1)
    found = meetings(alice)
    assert set(found) == {"Visit 0 (moved)", "Visit 2", "Visit 3"}
    after = {link.remote_id: link for link in links(integration)}
    assert set(after) == {ids[0], ids[2], ids[3]}
    edited = after[ids[0]]
    assert edited.local_id == found["Visit 0 (moved)"].pk
    assert (edited.last_synced["title"], edited.last_synced["location"]) == ("Visit 0 (moved)", "Akko")
    assert edited.local_hash == edited.remote_hash == content_hash(edited.last_synced) != before[ids[0]].remote_hash
    assert edited.remote_version == calendar.version(ids[0]) != before[ids[0]].remote_version
    with tenant_scope(alice.tenant.id):
        updated = EntityEvent.objects.get(entity_id=edited.local_id, event="updated")
        assert updated.source == f"integration:{integration.pk}"
        assert updated.data == entity_snapshot(found["Visit 0 (moved)"])
        # the removed one's meeting is gone, with its "deleted" event
        assert EntityEvent.objects.filter(entity_id=before[ids[1]].local_id, event="deleted").count() == 1
        assert not Meeting.objects.filter(pk=before[ids[1]].local_id).exists()
    # the echo only moves the version it was seen at; its values and hashes stay
    echo = after[ids[2]]
    assert echo.remote_version == calendar.version(ids[2]) != before[ids[2]].remote_version
    assert (echo.remote_hash, echo.last_synced) == (before[ids[2]].remote_hash, before[ids[2]].last_synced)
    assert after[ids[3]].remote_version == before[ids[3]].remote_version


def test_mapped_values_become_the_serializers_input_as_underscoreize_makes_it():
    from djangorestframework_camel_case.util import underscoreize

    from integrations.sync.importer import as_entity_data

    values = {"title": "Kickoff", "startTime": "2026-12-10T10:00:00+02:00", "externalIds": {"googleCalendar": "x1"},
              "attendees": [{"email": "dana@example.com", "responseStatus": "accepted"}, "omer@example.com"],
              "location": None, "sizeBytes": 12, "fileURL": "https://example.com/a", "line2Address": "b"}
    assert as_entity_data(values) == {k: v for k, v in underscoreize(values).items() if v is not None}


def test_a_record_the_database_refuses_fails_alone_after_the_page_is_redone_one_by_one(alice, calendar):
    # given a page whose one record passes the serializer but not PostgreSQL: a remote id too long
    # for the links' unique index (a btree row holds at most ~2.7 kB), so the page's bulk insert fails
    ids = [calendar.put(None, event(f"Visit {n}")) for n in range(3)]
    bad = calendar.put(secrets.token_urlsafe(6000), event("Long id"))
    integration = connect_calendar(alice, direction="import")

    run = run_sync(integration)

    # then the page is applied again record by record: the three are imported, the one fails alone
    assert run.status == "partial", run.error_message
    assert (run.summary["created"], run.summary["failed"]) == (3, 1)
    assert [item["entityId"] for item in run.failed_items] == [bad]
    assert set(meetings(alice)) == {"Visit 0", "Visit 1", "Visit 2"}
    assert {link.remote_id for link in links(integration)} == set(ids)
    with tenant_scope(alice.tenant.id):
        assert EntityEvent.objects.filter(entity_type="meeting", event="created").count() == 3
