"""GoogleCalendarAdapter against the fake Calendar API v3 (tests/support/fakes/google_calendar.py,
a real HTTP server), called through the hub's real ProviderClient with the provider app's
API base pointed at the fake: calendars, paged listings, sync tokens, 410 -> CursorInvalid,
creates stamped with the hub id, If-Match -> VersionConflict, deletes, 429 + Retry-After."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import pytest
import requests

from core.tenant_context import tenant_scope
from integrations.client import ProviderClient
from integrations.providers.adapter import CursorInvalid, VersionConflict
from integrations.providers.catalog import get_provider
from integrations.providers.google_calendar.adapter import (
    GOOGLE_CALENDAR_MAPPING,
    GoogleCalendarAdapter,
    GoogleCalendarError,
)
from integrations.providers.registry import adapter_for
from integrations.services import provider_app_set
from tests.support.adapter_calls import AdapterCalls
from tests.support.fakes.google_calendar import FakeGoogleCalendar
from tests.support.oauth import make_oauth_integration

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limiter_on_test_redis")]

CAL = "studio@example.com"
TIMED = {"start": {"dateTime": "2026-12-03T10:00:00+02:00"}, "end": {"dateTime": "2026-12-03T11:00:00+02:00"}}


@dataclass
class Google(AdapterCalls):
    """The adapter, called as the sync engine calls it: a ProviderClient per call, in the tenant's scope."""

    fake: FakeGoogleCalendar
    integration: object
    adapter: GoogleCalendarAdapter
    container = CAL

    def __call__(self, method: str, **kwargs):
        with tenant_scope(self.integration.tenant_id):
            return getattr(self.adapter, method)(ProviderClient.for_integration(self.integration), **kwargs)


@pytest.fixture
def google(alice, google_calendar_fake) -> Google:
    provider_app_set(provider_id="google_calendar", client_id="gid.apps.googleusercontent.com", client_secret="gs",
                     api_base_url=google_calendar_fake.base_url)
    google_calendar_fake.add_calendar(CAL, "Studio", primary=True)
    integration = make_oauth_integration(alice, "google_calendar", access="ya29.a0AfH6SMB")
    adapter = adapter_for(get_provider("google_calendar"))
    assert isinstance(adapter, GoogleCalendarAdapter)
    return Google(google_calendar_fake, integration, adapter)


def _events(fake: FakeGoogleCalendar, count: int, calendar: str = CAL) -> list[dict]:
    return [fake.put_event(calendar, summary=f"Site visit {i}", **TIMED) for i in range(count)]


# ---------------------------------------------------------------- containers
def test_list_containers_reads_every_page_and_flags_the_primary_calendar(google):
    # given: 260 calendars, more than one calendarList page of 250
    google.fake.add_calendar("team@group.calendar.google.com", "Team", color="#f83a22", access_role="writer")
    for i in range(258):
        google.fake.add_calendar(f"c{i}@group.calendar.google.com", f"Calendar {i}", access_role="reader")
    # when
    containers = google("list_containers")
    # then
    assert len(containers) == 260
    assert google.fake.count("GET", "/calendarList") == 2
    assert [c.id for c in containers if c.primary] == [CAL]
    team = next(c for c in containers if c.id == "team@group.calendar.google.com")
    assert (team.name, team.color, team.primary, team.raw["accessRole"]) == ("Team", "#f83a22", False, "writer")
    assert google.fake.requests[-1].headers["authorization"] == "Bearer ya29.a0AfH6SMB"


# ---------------------------------------------------------------- listing
def test_full_listing_pages_then_sync_token_returns_only_the_changes(google):
    # given: 600 events = pages of 250, 250, 100
    created = _events(google.fake, 600)
    # when
    changes, cursor, pages = google.listing()
    # then: every event once, nextSyncToken only after the last page
    assert pages == 3
    assert sorted(c.remote_id for c in changes) == sorted(e["id"] for e in created)
    listed = [r for r in google.fake.requests if r.path.endswith("/events")]
    assert [("syncToken" in r.query, "pageToken" in r.query) for r in listed] == [(False, False), (False, True), (False, True)]
    assert {r.query["showDeleted"][0] for r in listed} == {"true"}
    assert {r.query["maxResults"][0] for r in listed} == {"250"}
    # given: the user edits one event, deletes one and adds one in Google
    edited = google.fake.edit_event(CAL, created[0]["id"], summary="Site visit moved")
    google.fake.remove_event(CAL, created[1]["id"])
    added = google.fake.put_event(CAL, summary="New", **TIMED)
    # when
    delta, next_cursor, pages = google.listing(cursor=cursor)
    # then: only those three, the deletion flagged, and a new cursor
    assert pages == 1
    by_id = {c.remote_id: c for c in delta}
    assert set(by_id) == {created[0]["id"], created[1]["id"], added["id"]}
    assert by_id[created[1]["id"]].deleted is True
    assert by_id[created[0]["id"]].raw["summary"] == "Site visit moved"
    assert by_id[created[0]["id"]].version == edited["etag"]
    assert by_id[created[0]["id"]].modified_at == datetime.fromisoformat(edited["updated"])
    assert "syncToken" in google.fake.requests[-1].query
    assert next_cursor != cursor
    # and nothing new means an empty page
    assert google.listing(cursor=next_cursor)[0] == []


def test_an_interrupted_full_listing_resumes_from_its_page_cursor(google):
    # given
    created = _events(google.fake, 300)
    first = google("list_changes", container=CAL, cursor=None)
    assert not first.done and len(first.changes) == 250
    # when: a later run (a new client) continues from the stored cursor
    rest, final, pages = google.listing(cursor=first.cursor)
    # then: the other 50, no overlap, and a sync cursor
    assert pages == 1
    assert {c.remote_id for c in first.changes} | {c.remote_id for c in rest} == {e["id"] for e in created}
    assert not {c.remote_id for c in first.changes} & {c.remote_id for c in rest}
    assert google("list_changes", container=CAL, cursor=final).changes == ()


def test_an_invalidated_sync_token_raises_cursor_invalid_and_a_full_listing_recovers(google):
    # given
    created = _events(google.fake, 3)
    _, cursor, _ = google.listing()
    google.fake.expire_tokens()
    # when / then: 410 fullSyncRequired
    with pytest.raises(CursorInvalid):
        google("list_changes", container=CAL, cursor=cursor)
    assert google.fake.requests[-1].status == 410
    changes, fresh, _ = google.listing(cursor=None)
    assert {c.remote_id for c in changes} == {e["id"] for e in created}
    assert google("list_changes", container=CAL, cursor=fresh).changes == ()


def test_a_page_cursor_of_an_invalidated_listing_and_a_foreign_cursor_are_cursor_invalid(google):
    # given
    _events(google.fake, 260)
    first = google("list_changes", container=CAL, cursor=None)
    google.fake.expire_tokens()
    # when / then
    with pytest.raises(CursorInvalid):
        google("list_changes", container=CAL, cursor=first.cursor)
    before = len(google.fake.requests)
    for foreign in ("CPjQ8gIEGAU=", '{"deltaLink": "x"}', "[]"):
        with pytest.raises(CursorInvalid):
            google("list_changes", container=CAL, cursor=foreign)
    assert len(google.fake.requests) == before  # refused without a call


def test_occurrences_of_recurring_series_are_skipped_and_the_series_is_one_record(google):
    # given: a series master and a moved occurrence of it (events carrying recurringEventId)
    master = google.fake.put_event(CAL, summary="Weekly", recurrence=["RRULE:FREQ=WEEKLY;BYDAY=TH"], **TIMED)
    google.fake.put_event(CAL, summary="Weekly (moved)", recurringEventId=master["id"], **TIMED)
    # when
    changes, _, _ = google.listing()
    # then
    assert [(c.remote_id, c.raw["recurrence"]) for c in changes] == [(master["id"], ["RRULE:FREQ=WEEKLY;BYDAY=TH"])]
    assert google.fake.requests[-1].query["singleEvents"] == ["false"]


def test_calendar_ids_are_url_quoted_in_paths(google):
    # given: a subscribed calendar whose id holds '#' and '@'
    holidays = "en.jewish#holiday@group.v.calendar.google.com"
    google.fake.add_calendar(holidays, "Jewish Holidays", access_role="reader")
    event = google.fake.put_event(holidays, summary="Hanukkah", start={"date": "2026-12-05"}, end={"date": "2026-12-06"})
    # when
    changes, _, _ = google.listing(container=holidays)
    # then
    assert [c.remote_id for c in changes] == [event["id"]]
    assert google.fake.requests[-1].path == f"/calendar/v3/calendars/{holidays}/events"


# ---------------------------------------------------------------- writes
def test_push_create_stamps_the_hub_id_which_a_listing_returns(google):
    # given
    hub_id = str(uuid.uuid4())
    record = {"summary": "Kickoff", "location": "Studio", "attendees": ["client@example.com"], **TIMED}
    # when
    created = google("push_create", container=CAL, record=record, hub_id=hub_id)
    # then
    stored = google.fake.event(CAL, created.remote_id)
    assert stored["extendedProperties"]["private"] == {"architectStudioId": hub_id}
    assert stored["attendees"] == [{"email": "client@example.com", "responseStatus": "needsAction"}]
    assert (created.version, created.hub_id, created.deleted) == (stored["etag"], hub_id, False)
    assert google.fake.requests[-1].method == "POST"
    # and a full listing (a resync) gives the hub id back
    (listed,), _, _ = google.listing()
    assert (listed.remote_id, listed.hub_id, listed.version) == (created.remote_id, hub_id, stored["etag"])


def test_push_create_repeated_for_one_hub_id_makes_one_event_and_revives_a_deleted_one(google):
    # given: a create whose answer was lost, so the engine creates again
    hub_id = str(uuid.uuid4())
    first = google("push_create", container=CAL, record={"summary": "Kickoff", **TIMED}, hub_id=hub_id)
    # when
    second = google("push_create", container=CAL, record={"summary": "Kickoff v2", **TIMED}, hub_id=hub_id)
    # then
    assert second.remote_id == first.remote_id
    assert [e["summary"] for e in google.fake.events(CAL, include_deleted=True)] == ["Kickoff v2"]
    assert google.fake.count("POST", status=409) == 1
    # given: the user deleted it in Google; the hub creates it again (local wins)
    google.fake.remove_event(CAL, first.remote_id)
    # when
    third = google("push_create", container=CAL, record={"summary": "Kickoff v3", **TIMED}, hub_id=hub_id)
    # then
    stored = google.fake.event(CAL, third.remote_id)
    assert (third.remote_id, stored["status"], stored["summary"]) == (first.remote_id, "confirmed", "Kickoff v3")


def test_push_update_sends_if_match_and_a_changed_etag_raises_version_conflict(google):
    # given
    created = google("push_create", container=CAL, record={"summary": "Kickoff", **TIMED}, hub_id=str(uuid.uuid4()))
    # when
    updated = google("push_update", container=CAL, remote_id=created.remote_id,
                     record={"summary": "Kickoff (agenda)"}, version=created.version)
    # then
    assert google.fake.requests[-1].headers["if-match"] == created.version
    assert updated.version != created.version and updated.raw["summary"] == "Kickoff (agenda)"
    assert google.fake.event(CAL, created.remote_id)["extendedProperties"]["private"]["architectStudioId"] == created.hub_id
    # given: the user edits it in Google meanwhile
    google.fake.edit_event(CAL, created.remote_id, summary="Kickoff (user)")
    # when / then
    with pytest.raises(VersionConflict):
        google("push_update", container=CAL, remote_id=created.remote_id, record={"summary": "Hub"}, version=updated.version)
    assert google.fake.requests[-1].status == 412
    assert google.fake.event(CAL, created.remote_id)["summary"] == "Kickoff (user)"


def test_push_update_turns_a_timed_event_into_an_all_day_one(google):
    # given
    created = google("push_create", container=CAL, record={"summary": "Deadline", **TIMED}, hub_id=str(uuid.uuid4()))
    # when: the task-style mapping writes the due date to start.date and end.date
    google("push_update", container=CAL, remote_id=created.remote_id,
           record={"start": {"date": "2026-12-10"}, "end": {"date": "2026-12-10"}}, version=created.version)
    # then: the timed form is cleared and the exclusive end is the next day
    stored = google.fake.event(CAL, created.remote_id)
    assert (stored["start"], stored["end"]) == ({"date": "2026-12-10"}, {"date": "2026-12-11"})


def test_push_create_of_a_due_date_makes_a_one_day_event(google):
    created = google("push_create", container=CAL, hub_id=str(uuid.uuid4()),
                     record={"summary": "Submit permit", "start": {"date": "2026-12-10"}, "end": {"date": "2026-12-10"}})
    stored = google.fake.event(CAL, created.remote_id)
    assert (stored["start"], stored["end"]) == ({"date": "2026-12-10"}, {"date": "2026-12-11"})


def test_push_delete_is_conditional_and_an_already_deleted_event_is_fine(google):
    # given
    created = google("push_create", container=CAL, record={"summary": "Kickoff", **TIMED}, hub_id=str(uuid.uuid4()))
    google.fake.edit_event(CAL, created.remote_id, summary="Kickoff (user)")
    # when / then: stale etag
    with pytest.raises(VersionConflict):
        google("push_delete", container=CAL, remote_id=created.remote_id, version=created.version)
    assert google.fake.event(CAL, created.remote_id)["status"] == "confirmed"
    # when: current etag
    current = google.fake.event(CAL, created.remote_id)["etag"]
    google("push_delete", container=CAL, remote_id=created.remote_id, version=current)
    # then
    assert google.fake.event(CAL, created.remote_id)["status"] == "cancelled"
    # and again (410 deleted) or an id Google never had (404): no error
    google("push_delete", container=CAL, remote_id=created.remote_id, version=None)
    google("push_delete", container=CAL, remote_id="nosuchevent1", version=None)
    assert [r.status for r in google.fake.requests[-2:]] == [410, 404]


def test_a_rate_limited_call_waits_for_retry_after_and_succeeds(google):
    # given: the provider allows one request per second and answers 429 + Retry-After: 1 beyond it
    _events(google.fake, 2)
    google.fake.limit_rate(1, retry_after="1")
    # when: two calls back to back
    started = time.monotonic()
    containers = google("list_containers")
    changes, _, _ = google.listing()
    # then: both answered, after one 429 the client waited for the bucket to reopen
    assert [c.id for c in containers] == [CAL] and len(changes) == 2
    assert google.fake.count(status=429) >= 1
    assert time.monotonic() - started >= 0.9


def test_at_the_providers_own_figure_the_hub_never_meets_its_429(google, monkeypatch):
    # given: the provider counts 10 calls in any rolling 4 seconds, and the hub's limit is that
    # figure (a 4 s period: the hub's send/arrival allowance, 5% of the period, is then 200 ms,
    # more than a thread's scheduling delay on a loaded 2-core machine; at 1 s it is 50 ms)
    import dataclasses

    from integrations.providers import catalog
    from integrations.providers.base import RateLimit

    provider = catalog.PROVIDERS["google_calendar"]
    monkeypatch.setitem(catalog.PROVIDERS, "google_calendar",
                        dataclasses.replace(provider, rate_limit=RateLimit(10, 4, "the fake's figure")))
    google.fake.limit_rate(10, period=4)
    # when: 15 calls back to back (a token bucket of 10 bursts 10, then refills into the same window)
    for _ in range(15):
        google("list_containers")
    # then: every call answered first time
    assert google.fake.count(status=429) == 0
    assert google.fake.count("GET", "/calendarList") == 15


def test_default_mappings_are_the_seeds_for_meetings_and_an_all_day_event_for_tasks(google):
    assert google.adapter.default_mappings("meeting", "event") == GOOGLE_CALENDAR_MAPPING
    assert GOOGLE_CALENDAR_MAPPING[2] == {"localEntity": "meeting", "localField": "startTime",
                                          "remoteField": "start.dateTime", "transform": "date_format"}
    task = google.adapter.default_mappings("task", "event")
    assert [(m["localField"], m["remoteField"]) for m in task] == [
        ("title", "summary"), ("description", "description"), ("dueDate", "start.date"), ("dueDate", "end.date")]
    assert google.adapter.default_mappings("client", "event") == []


def test_the_fake_refuses_calls_without_a_bearer_token_with_googles_error(google_calendar_fake):
    google_calendar_fake.add_calendar(CAL, "Studio", primary=True)
    response = requests.get(f"{google_calendar_fake.base_url}/calendar/v3/users/me/calendarList", timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]["errors"][0]["reason"] == "authError"


def test_an_unusable_answer_raises_a_clear_error_without_secrets(google):
    # given: a calendar the account cannot see (404 notFound)
    with pytest.raises(GoogleCalendarError) as failed:
        google("list_changes", container="gone@group.calendar.google.com", cursor=None)
    # then
    assert (failed.value.status, failed.value.reason) == (404, "notFound")
    assert "ya29" not in str(failed.value) and str(failed.value) == "Google Calendar event listing: HTTP 404 (notFound)"
