"""The Apple Calendar (CalDAV) sync adapter against a real Radicale (tests/support/radicale.py),
through the real ProviderClient of a stored integration: no mock anywhere.

Protocol references: RFC 4791 (CalDAV: calendar-home-set, MKCALENDAR, calendar-multiget),
RFC 6578 (sync-collection, DAV:valid-sync-token), RFC 5545 (iCalendar), RFC 7232 (If-Match /
If-None-Match, 412). https://datatracker.ietf.org/doc/html/rfc6578
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from core.tenant_context import tenant_scope
from integrations.client import ProviderClient
from integrations.models import Integration
from integrations.providers.adapter import ChangePage, CursorInvalid, VersionConflict
from integrations.providers.apple_calendar.adapter import AppleCalendarAdapter
from integrations.providers.catalog import get_provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(alice, radicale) -> ProviderClient:
    """A connected apple_calendar integration pointing at the session's Radicale
    (test settings allow private targets, so 127.0.0.1 is reachable)."""
    credentials = {"username": radicale.username, "appPassword": radicale.password, "serverUrl": radicale.url}
    with tenant_scope(alice.tenant.id):
        integration = Integration(tenant=alice.tenant, provider="apple_calendar", name="iCloud",
                                  connected_by=alice.user, status="connected",
                                  connection_config={"username": radicale.username, "serverUrl": radicale.url,
                                                     "verified": True})
        integration.set_secret("api_key_encrypted", json.dumps(credentials))
        integration.save()
        return ProviderClient.for_integration(integration)


@pytest.fixture
def adapter() -> AppleCalendarAdapter:
    return AppleCalendarAdapter(get_provider("apple_calendar"))


def sync_all(adapter, client, container: str, cursor: str | None) -> tuple[list, str, int]:
    """Every page until done: (changes, final cursor, pages)."""
    changes, pages = [], 0
    while True:
        page: ChangePage = adapter.list_changes(client, container=container, cursor=cursor)
        pages += 1
        changes.extend(page.changes)
        cursor = page.cursor
        if page.done:
            return changes, cursor, pages
        assert pages < 100


def other_client_event(uid: str, summary: str, extra: str = "") -> str:
    """An event as another CalDAV client (Apple Calendar, Thunderbird) would store it."""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//macOS 15.1//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261201T080000Z\r\nLAST-MODIFIED:20261201T080000Z\r\n"
        f"DTSTART:20261210T090000Z\r\nDTEND:20261210T100000Z\r\nSUMMARY:{summary}\r\n{extra}"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


MEETING = {
    "summary": "Site visit — Herzl 12",
    "description": "Measure the living room",
    "location": "Herzl 12, Tel Aviv",
    "start": {"dateTime": "2026-12-10T10:00:00+02:00"},
    "end": {"dateTime": "2026-12-10T11:30:00+02:00"},
    "attendees": [{"email": "client@example.com"}, {"email": "architect@example.com"}],
}


# ----------------------------------------------------------------- discovery
def test_list_containers_discovers_event_calendars_with_name_and_color(adapter, client, radicale):
    work = radicale.new_calendar("Work", color="#FF2968FF")
    todos = radicale.new_calendar("Reminders", components=("VTODO",))

    containers = {c.id: c for c in adapter.list_containers(client)}

    assert work in containers and radicale.calendar in containers
    assert todos not in containers  # no VEVENT in its supported-calendar-component-set
    assert (containers[work].name, containers[work].raw["color"]) == ("Work", "#FF2968FF")
    assert containers[radicale.calendar].name == "Calendar"
    assert sum(c.primary for c in containers.values()) == 1


# ----------------------------------------------------------------- create -> listed with the hub id
def test_create_is_listed_by_the_next_sync_with_its_hub_id(adapter, client, radicale):
    calendar = radicale.new_calendar("Studio")
    first, cursor, _ = sync_all(adapter, client, calendar, None)
    assert first == []
    hub_id = str(uuid.uuid4())

    created = adapter.push_create(client, container=calendar, record=MEETING, hub_id=hub_id)

    assert created.remote_id.startswith(calendar) and created.remote_id.endswith(".ics")
    assert created.version and created.hub_id == hub_id and not created.deleted
    stored = icalendar.Calendar.from_ical(radicale.get(created.remote_id).text)
    event = next(iter(stored.walk("VEVENT")))
    assert str(event["X-ARCHITECT-STUDIO-ID"]) == hub_id
    assert uuid.UUID(str(event["UID"]))  # a fresh uuid, not the hub id
    assert event.decoded("DTSTART") == datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
    changes, cursor2, _ = sync_all(adapter, client, calendar, cursor)
    assert [c.remote_id for c in changes] == [created.remote_id]
    seen = changes[0]
    assert (seen.hub_id, seen.version, seen.deleted) == (hub_id, created.version, False)
    assert seen.raw["summary"] == "Site visit — Herzl 12"
    assert (seen.raw["description"], seen.raw["location"]) == (MEETING["description"], MEETING["location"])
    assert datetime.fromisoformat(seen.raw["start"]["dateTime"]) == datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
    assert datetime.fromisoformat(seen.raw["end"]["dateTime"]) == datetime(2026, 12, 10, 9, 30, tzinfo=UTC)
    assert [a["email"] for a in seen.raw["attendees"]] == ["client@example.com", "architect@example.com"]
    assert (seen.raw["uid"], seen.raw["sequence"]) == (str(event["UID"]), 0)
    assert seen.modified_at is not None and abs(seen.modified_at - datetime.now(UTC)) < timedelta(minutes=5)
    # and nothing more since
    assert sync_all(adapter, client, calendar, cursor2)[0] == []


def test_events_from_other_clients_have_no_hub_id_and_keep_their_time_zone(adapter, client, radicale):
    calendar = radicale.new_calendar("Studio")
    radicale.put(f"{calendar}tz.ics", (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//macOS 15.1//EN\r\n"
        "BEGIN:VEVENT\r\nUID:tz-1\r\nDTSTAMP:20261201T080000Z\r\nSEQUENCE:3\r\n"
        "DTSTART;TZID=Asia/Jerusalem:20261210T100000\r\nDTEND;TZID=Asia/Jerusalem:20261210T110000\r\n"
        "SUMMARY:Client call\r\nATTENDEE;CN=Dana:mailto:dana@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))

    (change,), _, _ = sync_all(adapter, client, calendar, None)

    assert change.hub_id is None
    assert change.raw["start"] == {"dateTime": "2026-12-10T10:00:00+02:00", "timeZone": "Asia/Jerusalem"}
    assert change.raw["attendees"] == [{"email": "dana@example.com", "displayName": "Dana"}]
    assert change.raw["sequence"] == 3
    assert change.modified_at == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # DTSTAMP when no LAST-MODIFIED


def test_a_named_time_zone_is_written_as_tzid_with_its_vtimezone(adapter, client, radicale):
    calendar = radicale.new_calendar("Studio")
    record = {"summary": "Morning coffee", "start": {"dateTime": "2026-12-10T10:00:00", "timeZone": "Asia/Jerusalem"},
              "end": {"dateTime": "2026-12-10T08:30:00Z", "timeZone": "Asia/Jerusalem"}}

    created = adapter.push_create(client, container=calendar, record=record, hub_id="hub-tz")

    ics = radicale.get(created.remote_id).text
    assert "DTSTART;TZID=Asia/Jerusalem:20261210T100000" in ics and "DTEND;TZID=Asia/Jerusalem:20261210T103000" in ics
    assert "BEGIN:VTIMEZONE" in ics and "TZID:Asia/Jerusalem" in ics
    (seen,), _, _ = sync_all(adapter, client, calendar, None)
    assert seen.raw["end"] == {"dateTime": "2026-12-10T10:30:00+02:00", "timeZone": "Asia/Jerusalem"}


def test_a_record_that_is_not_a_date_is_refused_before_any_call(adapter, client, radicale):
    calendar = radicale.new_calendar("Studio")
    with pytest.raises(ValueError, match="start.dateTime"):
        adapter.push_create(client, container=calendar, record={"start": {"dateTime": "next Tuesday"}},
                            hub_id="hub-bad")
    assert sync_all(adapter, client, calendar, None)[0] == []


def test_other_clients_shapes_are_read_leniently(adapter, client, radicale):
    """DURATION instead of DTEND (RFC 5545 §3.6.1) and a value icalendar cannot read."""
    calendar = radicale.new_calendar("Studio")
    radicale.put(f"{calendar}d.ics", other_client_event("d-1", "Duration", "SEQUENCE:two\r\n").replace(
        "DTEND:20261210T100000Z\r\n", "DURATION:PT45M\r\n"))

    (change,), _, _ = sync_all(adapter, client, calendar, None)

    assert change.raw["end"] == {"dateTime": "2026-12-10T09:45:00+00:00"}
    assert (change.raw["summary"], change.raw["sequence"]) == ("Duration", 0)


# ----------------------------------------------------------------- update
def test_update_with_a_stale_etag_is_a_version_conflict(adapter, client, radicale):
    calendar = radicale.new_calendar("Studio")
    created = adapter.push_create(client, container=calendar, record=MEETING, hub_id="hub-1")
    # another client edits the event meanwhile (and adds an alarm the hub does not map)
    stored = radicale.get(created.remote_id).text
    edited = stored.replace("SUMMARY:Site visit", "SUMMARY:Moved site visit").replace(
        "END:VEVENT", "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Soon\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT")
    current = radicale.put(created.remote_id, edited)
    assert current != created.version

    with pytest.raises(VersionConflict):
        adapter.push_update(client, container=calendar, remote_id=created.remote_id,
                            record={**MEETING, "summary": "Hub title"}, version=created.version)
    assert "Moved site visit" in radicale.get(created.remote_id).text  # nothing overwritten

    updated = adapter.push_update(client, container=calendar, remote_id=created.remote_id,
                                  record={"summary": "Hub title", "location": None}, version=current)

    assert updated.version not in (current, created.version)
    event = next(iter(icalendar.Calendar.from_ical(radicale.get(created.remote_id).text).walk("VEVENT")))
    assert (str(event["SUMMARY"]), event.get("LOCATION")) == ("Hub title", None)
    assert event["SEQUENCE"] == 1 and str(event["X-ARCHITECT-STUDIO-ID"]) == "hub-1"
    assert str(event["UID"]) == created.raw["uid"] and str(event["DESCRIPTION"]) == MEETING["description"]
    assert len(event.walk("VALARM")) == 1  # what the hub does not map is kept
    assert (updated.raw["summary"], updated.raw["sequence"], updated.hub_id) == ("Hub title", 1, "hub-1")


# ----------------------------------------------------------------- delete
def test_delete_is_reported_deleted_by_the_next_sync(adapter, client, radicale):
    calendar = radicale.new_calendar("Studio")
    kept = adapter.push_create(client, container=calendar, record=MEETING, hub_id="hub-kept")
    gone = adapter.push_create(client, container=calendar, record=MEETING, hub_id="hub-gone")
    _, cursor, _ = sync_all(adapter, client, calendar, None)

    adapter.push_delete(client, container=calendar, remote_id=gone.remote_id, version=gone.version)
    adapter.push_delete(client, container=calendar, remote_id=gone.remote_id, version=gone.version)  # 404: fine

    changes, _, _ = sync_all(adapter, client, calendar, cursor)
    assert [(c.remote_id, c.deleted) for c in changes] == [(gone.remote_id, True)]
    assert radicale.get(gone.remote_id).status_code == 404
    # a delete conditional on a stale version refuses
    radicale.put(kept.remote_id, radicale.get(kept.remote_id).text.replace("SUMMARY:", "SUMMARY:Edited "))
    with pytest.raises(VersionConflict):
        adapter.push_delete(client, container=calendar, remote_id=kept.remote_id, version=kept.version)
    assert radicale.get(kept.remote_id).status_code == 200


# ----------------------------------------------------------------- invalid cursor
def test_an_invalid_sync_token_is_cursor_invalid(adapter, client, radicale):
    calendar = radicale.new_calendar("Studio")
    _, cursor, _ = sync_all(adapter, client, calendar, None)
    other = radicale.new_calendar("Other")
    _, other_cursor, _ = sync_all(adapter, client, other, None)
    radicale.put(f"{other}x.ics", other_client_event("x", "Moves the other token on"))
    _, newer_other_cursor, _ = sync_all(adapter, client, other, other_cursor)

    with pytest.raises(CursorInvalid):  # a token the server never issued for this collection
        adapter.list_changes(client, container=calendar, cursor=newer_other_cursor)
    with pytest.raises(CursorInvalid):  # not a cursor this adapter wrote
        adapter.list_changes(client, container=calendar, cursor="not json")
    assert adapter.list_changes(client, container=calendar, cursor=cursor).changes == ()


# ----------------------------------------------------------------- all-day events
def test_all_day_events_round_trip_as_dates(adapter, client, radicale):
    calendar = radicale.new_calendar("Studio")
    record = {"summary": "Permit deadline", "start": {"date": "2026-12-24"}, "end": {"date": "2026-12-25"}}

    created = adapter.push_create(client, container=calendar, record=record, hub_id="hub-day")

    ics = radicale.get(created.remote_id).text
    assert "DTSTART;VALUE=DATE:20261224" in ics and "DTEND;VALUE=DATE:20261225" in ics
    (seen,), _, _ = sync_all(adapter, client, calendar, None)
    assert (seen.raw["start"], seen.raw["end"]) == ({"date": "2026-12-24"}, {"date": "2026-12-25"})
    assert seen.raw["attendees"] == [] and seen.raw["location"] is None


# ----------------------------------------------------------------- paging
def test_changes_come_in_pages_of_one_multiget_batch(adapter, client, radicale):
    calendar = radicale.new_calendar("Studio")
    names = ["e0.ics", "e1.ics", "e2.ics", "e3.ics", "e%204.ics"]  # a percent-encoded name too
    hrefs = {calendar + name for name in names}
    for i, name in enumerate(names):
        radicale.put(calendar + name, other_client_event(f"e{i}", f"Event {i}"))
    radicale.put(f"{calendar}todo.ics", (  # not an event: skipped
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nBEGIN:VTODO\r\nUID:t1\r\n"
        "DTSTAMP:20261201T080000Z\r\nSUMMARY:Buy tiles\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"))
    adapter.batch_size = 2

    sizes, seen, cursor = [], [], None
    while True:
        page = adapter.list_changes(client, container=calendar, cursor=cursor)
        sizes.append(len(page.changes))
        seen.extend(page.changes)
        cursor = page.cursor
        if page.done:
            break

    assert len(sizes) == 3 and all(size <= 2 for size in sizes)  # 6 members, 2 per multiget
    assert {c.remote_id for c in seen} == hrefs
    assert sorted(c.raw["summary"] for c in seen) == [f"Event {i}" for i in range(5)]
    # a change after the last page: the final cursor is the next sync's start
    radicale.put(f"{calendar}e0.ics", other_client_event("e0", "Event 0 renamed"))
    (again,), _, pages = sync_all(adapter, client, calendar, cursor)
    assert (again.remote_id, again.raw["summary"], pages) == (f"{calendar}e0.ics", "Event 0 renamed", 1)


def test_default_mapping_is_the_seed_calendar_mapping(adapter):
    mapping = adapter.default_mappings("meeting", "VEVENT")
    assert {(m["localField"], m["remoteField"], m.get("transform")) for m in mapping} == {
        ("title", "summary", None), ("description", "description", None),
        ("startTime", "start.dateTime", "date_format"), ("endTime", "end.dateTime", "date_format"),
        ("location", "location", None), ("attendees", "attendees[].email", None),
    }
    assert all(m["localEntity"] == "meeting" for m in mapping)
    assert adapter.default_mappings("meeting", "event") == mapping


def test_a_record_created_twice_is_one_object_updated_not_a_copy(adapter, client, radicale):
    # given the hub created a record's event and then lost the link (a re-connect, a retried call)
    calendar = radicale.new_calendar("Studio")
    hub_id = str(uuid.uuid4())
    first = adapter.push_create(client, container=calendar, record=MEETING, hub_id=hub_id)

    # when it creates the same record again, renamed meanwhile
    again = adapter.push_create(client, container=calendar, record={**MEETING, "summary": "Renamed"}, hub_id=hub_id)

    # then the same object holds the new values; the calendar has one event
    assert again.remote_id == first.remote_id and again.version != first.version
    changes, _, _ = sync_all(adapter, client, calendar, None)
    assert [(c.remote_id, c.raw["summary"], c.hub_id) for c in changes] == [(first.remote_id, "Renamed", hub_id)]
    # another record in the same calendar, and the same record in another calendar, get their own objects
    other = adapter.push_create(client, container=calendar, record=MEETING, hub_id=str(uuid.uuid4()))
    elsewhere = adapter.push_create(client, container=radicale.new_calendar("Other"), record=MEETING, hub_id=hub_id)
    assert other.remote_id != first.remote_id and other.raw["uid"] != elsewhere.raw["uid"] != first.raw["uid"]
