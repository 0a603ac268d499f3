"""The sync engine with the real Apple Calendar (CalDAV) adapter, through the hub's
ProviderClient, against a real Radicale started by the tests (tests/support/radicale.py): no
mock. A person's edits in another CalDAV client are PUT / DELETE of iCalendar objects
(RFC 4791 §5.3.2, RFC 5545); the provider forgetting the cursor is Radicale dropping the sync
tokens it issued (the next REPORT answers 403 DAV:valid-sync-token, RFC 6578 §3.2).
https://datatracker.ietf.org/doc/html/rfc4791 , https://datatracker.ietf.org/doc/html/rfc6578

Each behaviour of issue 11's "Done when" is one shared proof (tests/support/calendar_sync.py)
run on a CalDAV calendar: after every run both sides hold the same records and a second run
changes nothing on either side (every object keeps its ETag).
"""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import icalendar
import pytest

from core.tenant_context import tenant_scope
from integrations.models import Integration
from integrations.providers.apple_calendar.adapter import AppleCalendarAdapter
from tests.support import calendar_sync as proofs
from tests.support.calendar_sync import Side, when

pytestmark = pytest.mark.django_db

# RFC 4918 §9.1 PROPFIND for every member's ETag.
PROPFIND_ETAGS = ('<?xml version="1.0" encoding="utf-8"?>'
                  '<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>')


def ics(uid: str, title: str, n: int, location: str) -> str:
    """An event as Apple Calendar writes one (RFC 5545 §3.6.1)."""
    start, end = when(n)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Apple Inc.//macOS 14.5//EN", "CALSCALE:GREGORIAN",
             "BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{stamp}", f"CREATED:{stamp}", f"LAST-MODIFIED:{stamp}",
             f"DTSTART:{start:%Y%m%dT%H%M%SZ}", f"DTEND:{end:%Y%m%dT%H%M%SZ}", f"SUMMARY:{title}",
             *([f"LOCATION:{location}"] if location else []), "SEQUENCE:0", "END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


class CalDAVSide(Side):
    """One Radicale calendar, edited by another CalDAV client between two syncs."""

    remote_entity = "VEVENT"

    def __init__(self, radicale, integration, calendar: str):
        self.radicale, self.integration, self.container = radicale, integration, calendar

    def url(self, href: str) -> str:
        return urljoin(self.radicale.url + self.container, href)

    def create(self, title, n, *, location=""):
        uid = str(uuid.uuid4()).upper()
        href = f"{self.container}{uid}.ics"
        self.radicale.put(href, ics(uid, title, n, location))
        return href

    def edit(self, remote_id, *, title=None, location=None):
        href = urlsplit(self.url(remote_id)).path
        current = self.radicale.get(href)
        assert current.status_code == 200, current.status_code
        body = icalendar.Calendar.from_ical(current.text)
        (event,) = [c for c in body.walk("VEVENT")]
        for name, value in (("SUMMARY", title), ("LOCATION", location)):
            if value is not None:
                event.pop(name, None)
                event.add(name, value)
        sequence = int(event.pop("SEQUENCE", 0))
        event.add("SEQUENCE", sequence + 1)
        for name in ("LAST-MODIFIED", "DTSTAMP"):
            event.pop(name, None)
            event.add(name, datetime.now(UTC).replace(microsecond=0))
        with self.radicale.session() as s:
            answer = s.put(self.radicale.url + href, data=body.to_ical(), timeout=10,
                           headers={"Content-Type": "text/calendar; charset=utf-8",
                                    "If-Match": current.headers["ETag"]})
        assert answer.status_code in (201, 204), answer.status_code

    def delete(self, remote_id):
        with self.radicale.session() as s:
            answer = s.delete(self.url(remote_id), timeout=10)
        assert answer.status_code in (200, 204), answer.status_code

    def forget_cursor(self):
        self.radicale.forget_sync_tokens(self.container)

    def fingerprint(self):
        with self.radicale.session() as s:
            answer = s.request("PROPFIND", self.radicale.url + self.container, data=PROPFIND_ETAGS, timeout=10,
                               headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"})
        assert answer.status_code == 207, answer.status_code
        found = {}
        for response in ET.fromstring(answer.content).iter("{DAV:}response"):
            href = response.findtext("{DAV:}href")
            etag = response.findtext(".//{DAV:}getetag")
            if href and etag and href.endswith(".ics"):
                found[href] = etag
        return found

    def hub_id(self, remote_id):
        answer = self.radicale.get(urlsplit(self.url(remote_id)).path)
        (event,) = list(icalendar.Calendar.from_ical(answer.text).walk("VEVENT"))
        value = event.get("X-ARCHITECT-STUDIO-ID")
        return str(value) if value is not None else None


def connect_caldav(persona, radicale, calendar: str) -> Integration:
    """A connected apple_calendar integration on the session's Radicale (test settings allow
    private targets), the calendar chosen in its settings as the connect's discovery would."""
    credentials = {"username": radicale.username, "appPassword": radicale.password, "serverUrl": radicale.url}
    with tenant_scope(persona.tenant.id):
        integration = Integration(tenant=persona.tenant, provider="apple_calendar", name="iCloud",
                                  connected_by=persona.user, status="connected",
                                  connection_config={"username": radicale.username, "serverUrl": radicale.url,
                                                     "verified": True},
                                  settings={"calendars": [{"calendarId": calendar, "calendarName": "Studio",
                                                           "syncEnabled": True}]})
        integration.set_secret("api_key_encrypted", json.dumps(credentials))
        integration.save()
    return integration


@pytest.fixture
def caldav(alice, radicale):
    calendar = radicale.new_calendar("Studio")
    return CalDAVSide(radicale, connect_caldav(alice, radicale, calendar), calendar)


def test_caldav_import_only_remote_creates_edits_and_deletes_reach_the_meetings(alice, caldav):
    proofs.prove_import(caldav, alice)


def test_caldav_export_only_local_creates_edits_and_deletes_reach_the_calendar(alice, caldav):
    proofs.prove_export(caldav, alice)


def test_caldav_bidirectional_both_sides_change_in_the_same_runs(alice, caldav):
    proofs.prove_bidirectional(caldav, alice)


@pytest.mark.parametrize(("policy", "newer"), [("newest_wins", "remote"), ("newest_wins", "local"),
                                                ("remote_wins", "local"), ("local_wins", "remote")])
def test_caldav_conflict_is_decided_by_the_policy_and_logged_with_both_values(alice, caldav, policy, newer):
    proofs.prove_conflict(caldav, alice, policy=policy, newer=newer)


def test_caldav_a_stale_etag_on_export_merges_instead_of_overwriting(alice, caldav):
    # Radicale refuses the PUT whose If-Match is the old ETag (412): without If-Match the
    # remote title edit would be overwritten by the hub's copy, and this proof would fail.
    proofs.prove_version_conflict_on_export(caldav, alice)


def test_caldav_an_invalid_sync_token_in_a_two_way_sync_resyncs_without_duplicates(alice, caldav):
    proofs.prove_cursor_lost(caldav, alice)


@pytest.mark.parametrize("direction", ["bidirectional", "import"])
def test_caldav_a_reconnect_relinks_instead_of_duplicating(alice, caldav, radicale, direction):
    proofs.prove_reconnect(caldav, alice, lambda: connect_caldav(alice, radicale, caldav.container), direction=direction)


@pytest.mark.usefixtures("sync_worker")
def test_caldav_a_worker_killed_mid_run_is_resumed_by_the_sweeper_without_duplicates(
        alice, caldav, monkeypatch, settings):
    monkeypatch.setattr(AppleCalendarAdapter, "batch_size", 2)
    proofs.prove_killed_worker(caldav, alice, monkeypatch, settings)


def test_caldav_an_export_only_reconnect_creates_no_second_copy(alice, caldav, radicale):
    proofs.prove_reconnect_export_only(caldav, alice, lambda: connect_caldav(alice, radicale, caldav.container))


@pytest.mark.usefixtures("sync_worker")
def test_caldav_a_worker_killed_between_the_create_and_its_link_leaves_no_copy(alice, caldav, monkeypatch, settings):
    proofs.prove_killed_during_export(caldav, alice, monkeypatch, settings)
