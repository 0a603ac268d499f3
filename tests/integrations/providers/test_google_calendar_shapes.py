"""Google's own client library pins the fake and the adapter to the real API's shapes.

- The fake is driven by ``google-api-python-client`` (with the Calendar v3 discovery
  document it ships) exactly as Google's sync guide does it
  (https://developers.google.com/calendar/api/guides/sync): full listing with ``list_next``,
  incremental with ``syncToken``, and the library reads the fake's documented 410 / 412
  error bodies as it reads Google's.
- Every field the fake returns is a property of the discovery document's schemas (Events,
  Event, EventDateTime, EventAttendee, CalendarList, CalendarListEntry).
- Every request the adapter makes matches one of the discovery document's methods (HTTP
  method + path template) and sends only that method's documented query parameters and
  schema properties.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from pathlib import Path

import google_auth_httplib2
import googleapiclient
import httplib2
import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from tests.integrations.providers.test_google_calendar_adapter import (  # noqa: F401 - fixtures
    CAL,
    TIMED,
    google,
)
from tests.support.fakes.google_calendar import FakeGoogleCalendar

pytestmark = pytest.mark.usefixtures("limiter_on_test_redis")

DISCOVERY = json.loads((Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "calendar.v3.json").read_text())
SCHEMAS = DISCOVERY["schemas"]


def _methods() -> list[tuple[str, re.Pattern, dict]]:
    """(HTTP method, path regex, method description) of every documented method."""
    found = []

    def walk(resources):
        for resource in resources.values():
            for method in resource.get("methods", {}).values():
                pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(method["path"]))
                found.append((method["httpMethod"], re.compile(f"^/{DISCOVERY['servicePath']}{pattern}$"), method))
            walk(resource.get("resources", {}))

    walk(DISCOVERY["resources"])
    return found


def _properties(schema: str) -> set[str]:
    return set(SCHEMAS[schema]["properties"])


def _undocumented(value: dict, schema: str) -> set[str]:
    """Keys of ``value`` (recursively, through $ref'd objects and arrays) not in ``schema``."""
    extra = set(value) - _properties(schema)
    for key, item in value.items():
        spec = SCHEMAS[schema]["properties"].get(key, {})
        ref = spec.get("$ref") or spec.get("items", {}).get("$ref")
        for nested in (item if isinstance(item, list) else [item]):
            if ref and isinstance(nested, dict):
                extra |= {f"{key}.{k}" for k in _undocumented(nested, ref)}
    return extra


@pytest.fixture
def service(google_calendar_fake):
    google_calendar_fake.add_calendar(CAL, "Studio", primary=True)
    http = google_auth_httplib2.AuthorizedHttp(Credentials(token="ya29.library"), http=httplib2.Http())
    return build("calendar", "v3", http=http, static_discovery=True,
                 client_options={"api_endpoint": f"{google_calendar_fake.base_url}/calendar/v3/"})


def test_googles_client_runs_the_sync_guides_algorithm_against_the_fake(service, google_calendar_fake: FakeGoogleCalendar):
    # given
    for i in range(7):
        google_calendar_fake.put_event(CAL, summary=f"Event {i}", **TIMED)
    # when: the guide's full sync, pages of 3
    request = service.events().list(calendarId=CAL, maxResults=3, showDeleted=True)
    pages = []
    while request is not None:
        page = request.execute()
        pages.append(page)
        request = service.events().list_next(request, page)
    # then: nextSyncToken only on the last page
    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    assert ["nextSyncToken" in p for p in pages] == [False, False, True]
    assert all("nextPageToken" in p for p in pages[:-1])
    # when: incremental after a deletion
    google_calendar_fake.remove_event(CAL, pages[0]["items"][0]["id"])
    delta = service.events().list(calendarId=CAL, syncToken=pages[-1]["nextSyncToken"]).execute()
    # then
    assert [(e["id"], e["status"]) for e in delta["items"]] == [(pages[0]["items"][0]["id"], "cancelled")]
    # when: the server invalidates the token
    google_calendar_fake.expire_tokens()
    with pytest.raises(HttpError) as gone:
        service.events().list(calendarId=CAL, syncToken=delta["nextSyncToken"]).execute()
    # then: the library reads the documented body
    assert gone.value.resp.status == 410
    assert gone.value.error_details[0]["reason"] == "fullSyncRequired"
    assert gone.value.reason == "Sync token is no longer valid, a full sync is required."


def test_googles_client_sees_412_on_a_stale_if_match(service, google_calendar_fake):
    created = service.events().insert(calendarId=CAL, body={"summary": "Kickoff", **TIMED}).execute()
    google_calendar_fake.edit_event(CAL, created["id"], summary="Changed by the user")
    request = service.events().patch(calendarId=CAL, eventId=created["id"], body={"summary": "Hub"})
    request.headers["If-Match"] = created["etag"]
    with pytest.raises(HttpError) as failed:
        request.execute()
    assert failed.value.resp.status == 412
    assert failed.value.error_details[0]["reason"] == "conditionNotMet"


def test_every_field_the_fake_returns_is_in_the_discovery_documents_schemas(service, google_calendar_fake):
    # given
    google_calendar_fake.add_calendar("team@group.calendar.google.com", "Team", access_role="writer")
    service.events().insert(calendarId=CAL, body={
        "summary": "Kickoff", "description": "Agenda", "location": "Studio", **TIMED,
        "attendees": [{"email": "client@example.com"}],
        "extendedProperties": {"private": {"architectStudioId": str(uuid.uuid4())}},
    }).execute()
    deleted = service.events().insert(calendarId=CAL, body={"summary": "Gone", **TIMED}).execute()
    service.events().delete(calendarId=CAL, eventId=deleted["id"]).execute()
    # when
    events = service.events().list(calendarId=CAL, showDeleted=True).execute()
    calendars = service.calendarList().list().execute()
    # then
    assert _undocumented({k: v for k, v in events.items() if k != "items"}, "Events") == set()
    assert [_undocumented(e, "Event") for e in events["items"]] == [set(), set()]
    assert _undocumented({k: v for k, v in calendars.items() if k != "items"}, "CalendarList") == set()
    assert [_undocumented(c, "CalendarListEntry") for c in calendars["items"]] == [set(), set()]


def test_every_request_the_adapter_makes_is_a_documented_method_with_documented_fields(google):  # noqa: F811
    # given: each adapter method once
    google.fake.put_event(CAL, summary="Existing", **TIMED)
    google("list_containers")
    google.listing()
    created = google("push_create", container=CAL, hub_id=str(uuid.uuid4()), record={
        "summary": "Kickoff", "description": "Agenda", "location": "Studio", "attendees": ["client@example.com"], **TIMED})
    again = google("push_create", container=CAL, hub_id=created.hub_id, record={"summary": "Kickoff", **TIMED})  # 409
    updated = google("push_update", container=CAL, remote_id=created.remote_id, version=again.version,
                     record={"start": {"date": "2026-12-10"}, "end": {"date": "2026-12-10"}})
    google("push_delete", container=CAL, remote_id=created.remote_id, version=updated.version)
    # then
    methods = _methods()
    assert len(google.fake.requests) == 7
    for seen in google.fake.requests:
        (method,) = [m for http, path, m in methods if http == seen.method and path.match(seen.path)]
        assert set(seen.query) <= set(method.get("parameters", {})), (method["id"], seen.query)
        if seen.body is not None:
            schema = method["request"]["$ref"]
            assert _undocumented(seen.body, schema) == set(), method["id"]


class _Receiver:
    """A local HTTP endpoint that records what reaches it (the hub's webhook URL stands here)."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                received.append(({k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/webhooks/google_calendar"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_googles_client_watches_the_fake_which_pushes_documented_notifications(service, google_calendar_fake):
    receiver = _Receiver()
    try:
        # when: watch, one change, stop, another change
        channel = service.events().watch(calendarId=CAL, body={
            "id": "chan-1", "type": "web_hook", "address": receiver.url, "token": "target=hub&secret=s3"}).execute()
        google_calendar_fake.put_event(CAL, summary="New", **TIMED)
        sent = google_calendar_fake.wait_for_notifications(2)
        service.channels().stop(body={"id": channel["id"], "resourceId": channel["resourceId"]}).execute()
        google_calendar_fake.put_event(CAL, summary="After stop", **TIMED)
        # then
        assert _undocumented(channel, "Channel") == set()
        assert (channel["kind"], channel["id"], channel["token"]) == ("api#channel", "chan-1", "target=hub&secret=s3")
        assert int(channel["expiration"]) > time.time() * 1000
        assert [(n["status"], n["headers"]["X-Goog-Resource-State"], n["headers"]["X-Goog-Message-Number"])
                for n in sent] == [(200, "sync", "1"), (200, "exists", "2")]
        headers, body = receiver.received[1]
        assert (headers["x-goog-channel-id"], headers["x-goog-channel-token"], headers["x-goog-resource-id"]) == (
            "chan-1", "target=hub&secret=s3", channel["resourceId"])
        assert headers["x-goog-channel-expiration"].endswith(" GMT") and body == b""
        # and the change after the stop sent nothing: the next notification out (one sender,
        # in order) is a new channel's sync
        service.events().watch(calendarId=CAL, body={"id": "chan-2", "type": "web_hook", "address": receiver.url}).execute()
        third = google_calendar_fake.wait_for_notifications(3)[2]["headers"]
        assert (third["X-Goog-Channel-ID"], third["X-Goog-Resource-State"]) == ("chan-2", "sync")
        assert "X-Goog-Channel-Token" not in third
    finally:
        receiver.close()
