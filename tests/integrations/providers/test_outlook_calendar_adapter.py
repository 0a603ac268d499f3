"""The Outlook Calendar adapter against the local Graph fake (tests/support/fakes/graph_calendar.py),
through the hub's real ProviderClient: calendars, calendarView delta paging and deltaLink,
@removed, 410 syncStateNotFound -> CursorInvalid, create/update/delete with If-Match, the hub
id round trip, and 429 handled by the client. Long on purpose: one test per documented
Graph behaviour the adapter relies on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.utils import timezone

from core.tenant_context import tenant_scope
from integrations import ratelimit
from integrations.client import ProviderClient
from integrations.providers.adapter import CursorInvalid, VersionConflict
from integrations.providers.outlook_calendar.adapter import (
    HUB_ID_PROPERTY,
    TRANSACTION_PREFIX,
    OutlookCalendarAdapter,
)
from integrations.providers.registry import adapter_for

pytestmark = pytest.mark.django_db

SOON = (datetime.now(UTC) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)


@pytest.fixture
def outlook(outlook_on_graph_fake, alice):
    """(client, adapter, fake) inside Alice's tenant scope."""
    integration, fake = outlook_on_graph_fake
    with tenant_scope(alice.tenant.id):
        client = ProviderClient.for_integration(integration)
        yield client, client.adapter, fake


def drain(adapter, client, container, cursor=None, *, limit=50):
    """Every page of one delta round: (changes, cursors in order)."""
    changes, cursors = [], []
    for _ in range(limit):
        page = adapter.list_changes(client, container=container, cursor=cursor)
        changes += page.changes
        cursors.append(page.cursor)
        cursor = page.cursor
        if page.done:
            return changes, cursors
    raise AssertionError("the delta round never ended")


def resolve(record, path):
    """What a ``remoteField`` dot path (with ``[]`` list items) addresses in a raw record."""
    value = record
    for part in path.split("."):
        if part.endswith("[]"):
            value = value.get(part[:-2]) or []
            rest = path.split(part + ".", 1)[1]
            return [resolve(item, rest) for item in value]
        value = value.get(part) if isinstance(value, dict) else None
    return value


def test_registry_serves_the_outlook_adapter():
    from integrations.providers.catalog import get_provider

    assert isinstance(adapter_for(get_provider("outlook_calendar")), OutlookCalendarAdapter)


def test_list_containers_follows_next_link_and_marks_the_default_calendar(outlook):
    client, adapter, fake = outlook
    extra = [fake.add_calendar(f"Project {n}") for n in range(11)]  # 12 calendars: two pages of 10
    # when
    containers = adapter.list_containers(client)
    # then
    assert [c.id for c in containers] == [fake.default_calendar_id, *(c["id"] for c in extra)]
    assert [c.primary for c in containers] == [True] + [False] * 11
    assert containers[1].name == "Project 0"
    assert fake.count("GET", "/me/calendars") == 2


def test_full_listing_pages_by_maxpagesize_and_ends_with_a_delta_link(outlook, monkeypatch):
    client, adapter, fake = outlook
    monkeypatch.setattr(adapter, "page_size", 2)
    cal = fake.default_calendar_id
    inside = [fake.user_creates(f"Site visit {n}", SOON + timedelta(days=n)) for n in range(5)]
    fake.user_creates("Long ago", datetime.now(UTC) - timedelta(days=800))  # outside the window
    # when
    changes, cursors = drain(adapter, client, cal)
    # then: 3 pages of at most 2, nextLinks then a deltaLink
    assert len(cursors) == 3
    assert all("$skiptoken=" in c for c in cursors[:2]) and "$deltatoken=" in cursors[2]
    assert sorted(c.remote_id for c in changes) == sorted(e.id for e in inside)
    first = fake.requests[0]
    assert "odata.maxpagesize=2" in first.headers["prefer"] and 'outlook.timezone="UTC"' in first.headers["prefer"]
    start = datetime.fromisoformat(first.query["startDateTime"][0].replace("Z", "+00:00"))
    end = datetime.fromisoformat(first.query["endDateTime"][0].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - start) - timedelta(days=365)) < timedelta(minutes=5)
    assert abs((end - datetime.now(UTC)) - timedelta(days=730)) < timedelta(minutes=5)
    # the nextLink carries the window: later pages send no startDateTime
    assert all("startDateTime" not in r.query for r in fake.requests[1:])
    one = next(c for c in changes if c.remote_id == inside[0].id)
    assert one.raw["start"] == {"dateTime": SOON.isoformat(), "timeZone": "UTC"}
    assert one.raw["end"] == {"dateTime": (SOON + timedelta(hours=1)).isoformat(), "timeZone": "UTC"}
    assert one.version == f'W/"{inside[0].change_key}"' and not one.deleted
    assert one.modified_at == inside[0].modified
    assert one.hub_id is None  # created in Outlook, not by the hub


def test_window_and_page_size_follow_the_django_settings(outlook, settings):
    client, adapter, fake = outlook
    settings.OUTLOOK_CALENDAR_WINDOW_PAST_DAYS = 30
    settings.OUTLOOK_CALENDAR_WINDOW_FUTURE_DAYS = 90
    settings.OUTLOOK_CALENDAR_PAGE_SIZE = 3
    fake.user_creates("In 60 days", datetime.now(UTC) + timedelta(days=60))
    fake.user_creates("In 120 days", datetime.now(UTC) + timedelta(days=120))
    changes, _ = drain(adapter, client, fake.default_calendar_id)
    assert [c.raw["subject"] for c in changes] == ["In 60 days"]
    assert "odata.maxpagesize=3" in fake.requests[0].headers["prefer"]
    start = datetime.fromisoformat(fake.requests[0].query["startDateTime"][0].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - start) - timedelta(days=30)) < timedelta(minutes=5)


def test_delta_link_returns_only_what_changed_with_removed_items(outlook):
    client, adapter, fake = outlook
    cal = fake.default_calendar_id
    kept, edited, deleted = (fake.user_creates(name, SOON) for name in ("Kept", "Edited", "Deleted"))
    _, cursors = drain(adapter, client, cal)
    # when: someone works in Outlook between two syncs
    fake.user_edits(edited.id, subject="Edited in Outlook", start=SOON + timedelta(hours=2),
                    end=SOON + timedelta(hours=3))
    created = fake.user_creates("New in Outlook", SOON + timedelta(days=1),
                                location={"displayName": "Studio"},
                                attendees=[{"emailAddress": {"address": "dana@example.com", "name": "Dana"}}])
    fake.user_deletes(deleted.id)
    changes, next_cursors = drain(adapter, client, cal, cursors[-1])
    # then
    by_id = {c.remote_id: c for c in changes}
    assert set(by_id) == {edited.id, created.id, deleted.id}
    assert by_id[deleted.id].deleted and by_id[deleted.id].raw["@removed"] == {"reason": "deleted"}
    assert by_id[edited.id].raw["subject"] == "Edited in Outlook"
    assert by_id[edited.id].raw["start"]["dateTime"] == (SOON + timedelta(hours=2)).isoformat()
    assert by_id[edited.id].version == f'W/"{fake.event(edited.id).change_key}"'
    assert resolve(by_id[created.id].raw, "attendees[].emailAddress.address") == ["dana@example.com"]
    assert resolve(by_id[created.id].raw, "location.displayName") == "Studio"
    assert kept.id not in by_id
    # and the next round from the new deltaLink is empty
    again, _ = drain(adapter, client, cal, next_cursors[-1])
    assert again == []


def test_removed_outside_the_window_is_a_deletion_only_when_the_event_is_gone(outlook):
    """event-delta: events outside the window that were added, updated or deleted all come as
    @removed "deleted"; the adapter reads each back, so a move (or the hub's own update) past
    the window is an update and only a real deletion deletes."""
    client, adapter, fake = outlook
    cal = fake.default_calendar_id
    moved = fake.user_creates("Moved far away", SOON)
    far = datetime.now(UTC) + timedelta(days=2000)
    ours = adapter.push_create(client, container=cal, hub_id="m-far", record={
        "subject": "Hub's far meeting", "start": {"dateTime": far.isoformat()},
        "end": {"dateTime": (far + timedelta(hours=1)).isoformat()}})
    doomed = fake.user_creates("Far and deleted", far)
    _, cursors = drain(adapter, client, cal)
    # when
    fake.user_edits(moved.id, start=SOON + timedelta(days=2000), end=SOON + timedelta(days=2000, hours=1))
    adapter.push_update(client, container=cal, remote_id=ours.remote_id, record={"subject": "Renamed"}, version=None)
    fake.user_deletes(doomed.id)
    changes, _ = drain(adapter, client, cal, cursors[-1])
    # then: Graph said "@removed" for all three
    removed = [r for r in fake.requests if r.path.startswith("/v1.0/me/events/") and r.method == "GET"]
    assert len(removed) == 3
    by_id = {c.remote_id: c for c in changes}
    assert set(by_id) == {moved.id, ours.remote_id, doomed.id}
    assert not by_id[moved.id].deleted
    assert by_id[moved.id].raw["start"]["dateTime"] == (SOON + timedelta(days=2000)).isoformat()
    assert not by_id[ours.remote_id].deleted and by_id[ours.remote_id].raw["subject"] == "Renamed"
    assert by_id[ours.remote_id].hub_id == "m-far"
    assert by_id[doomed.id].deleted


def test_documented_delta_page_shape_is_read_as_documented():
    """A page exactly in the shape of delta-query-events' "next round" sample (values ours):
    https://learn.microsoft.com/en-us/graph/delta-query-events#the-next-round-sample-first-response"""
    page = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)",
        "@odata.deltaLink": "https://graph.microsoft.com/v1.0/me/calendarView/delta?$deltatoken=R0usmcXyZ",
        "value": [
            {"@odata.type": "#microsoft.graph.event", "id": "AAMkADRemovedAAA=", "@removed": {"reason": "deleted"}},
            {"@odata.type": "#microsoft.graph.event", "@odata.etag": 'W/"EZ9r3czxY0m2jz8c45czkwAALZu98A=="',
             "subject": "Site survey", "body": {"contentType": "html", "content": ""},
             "start": {"dateTime": "2016-12-25T06:00:00.0000000", "timeZone": "UTC"},
             "end": {"dateTime": "2016-12-25T07:30:00.0000000", "timeZone": "UTC"},
             "location": {"displayName": "Haifa port", "address": {"street": "1 Port Rd", "city": "Haifa"},
                          "coordinates": {"latitude": 32.82, "longitude": 34.99}},
             "attendees": [], "organizer": {"emailAddress": {"name": "Samantha Booth",
                                                             "address": "samanthab@contoso.onmicrosoft.com"}},
             "id": "AAMkADj1HwAAA="},
        ],
    }

    class Answer:
        def __init__(self, status, data):
            self.status, self.data = status, data

        @property
        def ok(self):
            return 200 <= self.status < 300

    class Client:
        base_url = "https://graph.microsoft.com/v1.0"
        calls: list = []

        def request(self, method, path, **kwargs):
            self.calls.append((method, path))
            if path.startswith("/me/events/"):
                return Answer(404, {"error": {"code": "ErrorItemNotFound", "message": "not found"}})
            return Answer(200, page)

    from integrations.providers.catalog import get_provider

    adapter = adapter_for(get_provider("outlook_calendar"))
    result = adapter.list_changes(Client(), container="primary",
                                  cursor="https://graph.microsoft.com/v1.0/me/calendarView/delta?$deltatoken=R0usmcOld")
    assert result.done and result.cursor == page["@odata.deltaLink"]
    removed, kept = result.changes
    assert (removed.remote_id, removed.deleted) == ("AAMkADRemovedAAA=", True)
    assert (kept.remote_id, kept.deleted, kept.version) == ("AAMkADj1HwAAA=", False, 'W/"EZ9r3czxY0m2jz8c45czkwAALZu98A=="')
    assert kept.raw["start"] == {"dateTime": "2016-12-25T06:00:00+00:00", "timeZone": "UTC"}
    assert kept.raw["location"]["displayName"] == "Haifa port" and kept.modified_at is None
    assert Client.calls == [("GET", page["@odata.deltaLink"].replace("R0usmcXyZ", "R0usmcOld")),
                            ("GET", "/me/events/AAMkADRemovedAAA%3D")]


def test_invalidated_delta_token_raises_cursor_invalid(outlook, monkeypatch):
    client, adapter, fake = outlook
    monkeypatch.setattr(adapter, "page_size", 1)
    cal = fake.default_calendar_id
    fake.user_creates("One", SOON)
    fake.user_creates("Two", SOON)
    first = adapter.list_changes(client, container=cal, cursor=None)
    _, cursors = drain(adapter, client, cal)
    # when: Graph's token cache drops the state (delta-query-overview, "synchronization reset")
    fake.invalidate_delta_tokens()
    # then: both a stored deltaLink and a mid-round nextLink answer 410 syncStateNotFound
    with pytest.raises(CursorInvalid, match="410 syncStateNotFound"):
        adapter.list_changes(client, container=cal, cursor=cursors[-1])
    with pytest.raises(CursorInvalid):
        adapter.list_changes(client, container=cal, cursor=first.cursor)
    assert [r.status for r in fake.requests[-2:]] == [410, 410]
    # and a full listing starts a new round
    changes, _ = drain(adapter, client, cal)
    assert len(changes) == 2


def test_a_cursor_off_the_api_origin_is_never_called(outlook):
    client, adapter, fake = outlook
    before = fake.count()
    with pytest.raises(CursorInvalid):
        adapter.list_changes(client, container=fake.default_calendar_id,
                             cursor="https://attacker.example/v1.0/me/calendarView/delta?$deltatoken=x")
    with pytest.raises(CursorInvalid):
        adapter.list_changes(client, container=fake.default_calendar_id, cursor=f"{fake.url}/v1.0/me/messages")
    assert fake.count() == before


def test_push_create_stamps_the_hub_id_and_sends_utc_times(outlook):
    client, adapter, fake = outlook
    cal = fake.add_calendar("Projects")["id"]
    record = {  # what the default mapping makes of a meeting (date_format gives an offset)
        "subject": "Client meeting",
        "body": {"content": "Bring the plans"},
        "start": {"dateTime": "2026-12-10T11:00:00+02:00"},
        "end": {"dateTime": "2026-12-10T12:30:00+02:00"},
        "location": {"displayName": "Tel Aviv office"},
        "attendees": [{"emailAddress": {"address": "dana@example.com"}}],
    }
    # when
    created = adapter.push_create(client, container=cal, record=record, hub_id="4f8a1c2e-hub")
    # then: stored at the right instant, text body, required attendee, the hub's stamps
    stored = fake.event(created.remote_id)
    assert stored.calendar_id == cal
    assert (stored.start, stored.end) == (datetime(2026, 12, 10, 9, 0, tzinfo=UTC), datetime(2026, 12, 10, 10, 30, tzinfo=UTC))
    assert stored.body == {"contentType": "text", "content": "Bring the plans"}
    assert stored.attendees == [{"type": "required", "emailAddress": {"address": "dana@example.com"}}]
    assert stored.extended == {HUB_ID_PROPERTY: "4f8a1c2e-hub"}
    assert stored.transaction_id == TRANSACTION_PREFIX + "4f8a1c2e-hub"
    assert created.hub_id == "4f8a1c2e-hub" and created.version == stored.etag
    assert created.raw["start"] == {"dateTime": "2026-12-10T09:00:00+00:00", "timeZone": "UTC"}
    assert created.raw["body"] == {"contentType": "text", "content": "Bring the plans"}
    # the extended property comes back on $expand (singlevaluelegacyextendedproperty-get)
    got = client.request("GET", f"/me/events/{created.remote_id}",
                         params={"$expand": f"singleValueExtendedProperties($filter=id eq '{HUB_ID_PROPERTY}')"})
    assert got.data["singleValueExtendedProperties"] == [{"id": HUB_ID_PROPERTY, "value": "4f8a1c2e-hub"}]
    assert adapter.hub_id_of(got.data) == "4f8a1c2e-hub"


def test_hub_id_round_trips_through_a_full_listing(outlook):
    """After a 410 the engine re-lists everything: events the hub created say whose they are."""
    client, adapter, fake = outlook
    cal = fake.default_calendar_id
    ours = adapter.push_create(client, container=cal, hub_id="meeting-1", record={
        "subject": "Ours", "start": {"dateTime": SOON.isoformat()}, "end": {"dateTime": (SOON + timedelta(hours=1)).isoformat()}})
    theirs = fake.user_creates("Theirs", SOON)
    changes, _ = drain(adapter, client, cal)
    assert {c.remote_id: c.hub_id for c in changes} == {ours.remote_id: "meeting-1", theirs.id: None}


def test_retried_create_with_the_same_hub_id_does_not_duplicate(outlook):
    client, adapter, fake = outlook
    cal = fake.default_calendar_id
    record = {"subject": "Once", "start": {"dateTime": SOON.isoformat()},
              "end": {"dateTime": (SOON + timedelta(hours=1)).isoformat()}}
    first = adapter.push_create(client, container=cal, record=record, hub_id="meeting-2")
    again = adapter.push_create(client, container=cal, record=record, hub_id="meeting-2")
    assert again.remote_id == first.remote_id
    assert len(fake.live_events(cal)) == 1


def test_naive_and_all_day_times_get_a_time_zone(outlook):
    client, adapter, fake = outlook
    timed = adapter.push_create(client, container="primary", hub_id="m-3", record={
        "subject": "Naive", "start": {"dateTime": "2026-12-10T09:00:00"}, "end": {"dateTime": "2026-12-10T10:00:00"}})
    all_day = adapter.push_create(client, container="primary", hub_id="m-4", record={
        "subject": "Holiday", "start": {"dateTime": "2026-12-24"}, "end": {"dateTime": "2026-12-25"}})
    assert fake.event(timed.remote_id).start == datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
    assert fake.event(timed.remote_id).calendar_id == fake.default_calendar_id
    stored = fake.event(all_day.remote_id)
    assert stored.is_all_day and stored.start == datetime(2026, 12, 24, tzinfo=UTC)
    assert fake.count("POST", "/v1.0/me/events") == 2


def test_primary_container_reads_the_default_calendar_view(outlook):
    client, adapter, fake = outlook
    event = fake.user_creates("Default calendar", SOON)
    changes, cursors = drain(adapter, client, "primary")
    assert [c.remote_id for c in changes] == [event.id]
    assert fake.requests[0].path == "/v1.0/me/calendarView/delta" and "/me/calendarView/delta" in cursors[-1]


def test_push_update_sends_if_match_and_a_stale_version_conflicts(outlook):
    client, adapter, fake = outlook
    cal = fake.default_calendar_id
    created = adapter.push_create(client, container=cal, hub_id="m-5", record={
        "subject": "Draft", "start": {"dateTime": SOON.isoformat()}, "end": {"dateTime": (SOON + timedelta(hours=1)).isoformat()}})
    # when: an update with the current version
    updated = adapter.push_update(client, container=cal, remote_id=created.remote_id,
                                  record={"subject": "Final", "location": {"displayName": "Haifa"}},
                                  version=created.version)
    # then
    assert fake.requests[-1].headers["if-match"] == created.version
    assert updated.version != created.version and updated.version == fake.event(created.remote_id).etag
    assert updated.raw["subject"] == "Final" and updated.raw["location"]["displayName"] == "Haifa"
    assert updated.hub_id == "m-5"  # transactionId stays on the event
    # when: the user edits in Outlook, then the hub writes with the version it had
    fake.user_edits(created.remote_id, subject="Edited in Outlook")
    with pytest.raises(VersionConflict):
        adapter.push_update(client, container=cal, remote_id=created.remote_id, record={"subject": "Hub's"},
                            version=updated.version)
    # then: Graph answered 412 and kept the user's edit
    assert fake.requests[-1].status == 412
    assert fake.event(created.remote_id).subject == "Edited in Outlook"


def test_push_update_of_a_deleted_event_reports_it_deleted(outlook):
    client, adapter, fake = outlook
    event = fake.user_creates("Gone soon", SOON)
    fake.user_deletes(event.id)
    result = adapter.push_update(client, container=fake.default_calendar_id, remote_id=event.id,
                                 record={"subject": "x"}, version=None)
    assert result.deleted and result.remote_id == event.id


def test_push_delete_treats_404_as_done_and_honours_if_match(outlook):
    client, adapter, fake = outlook
    cal = fake.default_calendar_id
    event = fake.user_creates("To delete", SOON)
    stale = event.etag
    fake.user_edits(event.id, subject="Changed meanwhile")
    with pytest.raises(VersionConflict):
        adapter.push_delete(client, container=cal, remote_id=event.id, version=stale)
    assert fake.event(event.id) is not None
    adapter.push_delete(client, container=cal, remote_id=event.id, version=fake.event(event.id).etag)
    assert fake.event(event.id) is None
    adapter.push_delete(client, container=cal, remote_id=event.id, version=None)  # already gone: no error
    assert [r.status for r in fake.requests[-3:]] == [412, 204, 404]


def test_429_with_retry_after_is_handled_by_the_client(outlook_on_graph_fake, alice):
    integration, fake = outlook_on_graph_fake
    now = [timezone.now().timestamp()]
    slept: list[float] = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    limiter = ratelimit.RateLimiter(clock=lambda: now[0], sleep=sleep)
    fake.throttle(count=1, retry_after=3)
    with tenant_scope(alice.tenant.id):
        client = ProviderClient.for_integration(integration, sleep=sleep, limiter=limiter)
        containers = client.adapter.list_containers(client)
    assert [c.primary for c in containers] == [True]
    assert fake.throttled == 1 and [r.status for r in fake.requests] == [429, 200]
    assert sum(slept) == pytest.approx(3.0, abs=0.05)


def test_default_mapping_addresses_the_graph_event_shape(outlook):
    client, adapter, fake = outlook
    mapping = adapter.default_mappings("meeting", "event")
    assert [(m["localField"], m["remoteField"], m.get("transform")) for m in mapping] == [
        ("title", "subject", None),
        ("description", "body.content", None),
        ("startTime", "start.dateTime", "date_format"),
        ("endTime", "end.dateTime", "date_format"),
        ("location", "location.displayName", None),
        ("attendees", "attendees[].emailAddress.address", None),
    ]
    assert all(m["localEntity"] == "meeting" for m in mapping)
    assert adapter.default_mappings("payment", "invoice") == []
    # every path addresses a value in what list_changes returns (text body thanks to Prefer)
    fake.user_creates("Review", SOON, body={"contentType": "html", "content": "<p>Plans &amp; budget</p>"},
                      location={"displayName": "Studio"},
                      attendees=[{"emailAddress": {"address": "a@example.com"}}])
    (change,), _ = drain(adapter, client, fake.default_calendar_id)
    values = {m["localField"]: resolve(change.raw, m["remoteField"]) for m in mapping}
    assert values == {"title": "Review", "description": "Plans & budget", "startTime": SOON.isoformat(),
                      "endTime": (SOON + timedelta(hours=1)).isoformat(), "location": "Studio",
                      "attendees": ["a@example.com"]}


def test_fake_requires_the_bearer_token(graph_calendar):
    answer = requests.get(f"{graph_calendar.url}/v1.0/me/calendars", timeout=5)
    wrong = requests.get(f"{graph_calendar.url}/v1.0/me/calendars", timeout=5,
                         headers={"Authorization": "Bearer nope"})
    assert answer.status_code == wrong.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"
