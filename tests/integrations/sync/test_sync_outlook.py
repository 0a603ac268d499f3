"""The sync engine with the real Outlook Calendar adapter, through the hub's ProviderClient,
against the local Microsoft Graph fake (tests/support/fakes/graph_calendar.py: a real HTTP
server with calendarView delta, deltaLink / nextLink paging, @removed, 410 syncStateNotFound,
changeKey / If-Match and transactionId as documented at
https://learn.microsoft.com/en-us/graph/delta-query-events and
https://learn.microsoft.com/en-us/graph/api/resources/event).

Each behaviour of issue 11's "Done when" is one shared proof (tests/support/calendar_sync.py)
run on Outlook's side: after every run both sides hold the same records and a second run
changes nothing on either side.
"""

from __future__ import annotations

import pytest

from core.tenant_context import tenant_scope
from integrations.providers.outlook_calendar.adapter import HUB_ID_PROPERTY
from tests.support import calendar_sync as proofs
from tests.support.calendar_sync import Side, when
from tests.support.oauth import make_oauth_integration

pytestmark = pytest.mark.django_db


class OutlookSide(Side):
    """Outlook's default calendar, edited by a person in Outlook between two syncs."""

    remote_entity = "event"

    def __init__(self, fake, integration):
        self.fake, self.integration = fake, integration
        self.container = fake.default_calendar_id

    def create(self, title, n, *, location=""):
        start, end = when(n)
        return self.fake.user_creates(title, start, end, location={"displayName": location}).id

    def edit(self, remote_id, *, title=None, location=None):
        props = {}
        if title is not None:
            props["subject"] = title
        if location is not None:
            props["location"] = {"displayName": location}
        self.fake.user_edits(remote_id, **props)

    def delete(self, remote_id):
        self.fake.user_deletes(remote_id)

    def forget_cursor(self):
        self.fake.invalidate_delta_tokens()

    def fingerprint(self):
        return {e.id: e.change_key for e in self.fake.live_events()}

    def hub_id(self, remote_id):
        return self.fake.event(remote_id).extended.get(HUB_ID_PROPERTY)

    def last_if_match(self):
        return [r for r in self.fake.requests if r.method == "PATCH"][-1].headers.get("if-match")


def calendars_of(integration, fake):
    with tenant_scope(integration.tenant_id):
        integration.settings = {"calendars": [{"calendarId": fake.default_calendar_id, "calendarName": "Calendar",
                                               "syncEnabled": True}]}
        integration.save()
    return integration


@pytest.fixture
def outlook(outlook_on_graph_fake):
    integration, fake = outlook_on_graph_fake
    return OutlookSide(fake, calendars_of(integration, fake))


def test_outlook_import_only_remote_creates_edits_and_deletes_reach_the_meetings(alice, outlook):
    proofs.prove_import(outlook, alice)


def test_outlook_export_only_local_creates_edits_and_deletes_reach_outlook(alice, outlook):
    proofs.prove_export(outlook, alice, if_match=outlook.last_if_match)
    # created with the hub's transactionId (Graph's guard against a retried POST duplicating)
    (event,) = outlook.fake.live_events()
    assert event.transaction_id == f"architect-studio:{outlook.hub_id(event.id)}"


def test_outlook_bidirectional_both_sides_change_in_the_same_runs(alice, outlook):
    proofs.prove_bidirectional(outlook, alice)


@pytest.mark.parametrize(("policy", "newer"), [("newest_wins", "remote"), ("newest_wins", "local"),
                                                ("remote_wins", "local"), ("local_wins", "remote")])
def test_outlook_conflict_is_decided_by_the_policy_and_logged_with_both_values(alice, outlook, policy, newer):
    proofs.prove_conflict(outlook, alice, policy=policy, newer=newer)


def test_outlook_a_stale_change_key_on_export_merges_instead_of_overwriting(alice, outlook):
    proofs.prove_version_conflict_on_export(outlook, alice)
    assert sum(1 for r in outlook.fake.requests if r.method == "PATCH" and r.status == 412) == 1


def test_outlook_sync_state_not_found_in_a_two_way_sync_resyncs_without_duplicates(alice, outlook):
    proofs.prove_cursor_lost(outlook, alice)
    assert sum(1 for r in outlook.fake.requests if "/delta" in r.path and r.status == 410) == 1


@pytest.mark.parametrize("direction", ["bidirectional", "import"])
def test_outlook_a_reconnect_relinks_instead_of_duplicating(alice, outlook, monkeypatch, direction):
    monkeypatch.setattr("integrations.oauth.revoke", lambda app, **kw: 200)  # no call to Microsoft's revoke URL

    def reconnect():
        fresh = make_oauth_integration(alice, "outlook_calendar", access=outlook.fake.token, refresh="graph-rt")
        return calendars_of(fresh, outlook.fake)

    proofs.prove_reconnect(outlook, alice, reconnect, direction=direction)


@pytest.mark.usefixtures("sync_worker")
def test_outlook_a_worker_killed_mid_run_is_resumed_by_the_sweeper_without_duplicates(
        alice, outlook, monkeypatch, settings):
    settings.OUTLOOK_CALENDAR_PAGE_SIZE = 2
    proofs.prove_killed_worker(outlook, alice, monkeypatch, settings)


def test_outlook_an_export_only_reconnect_creates_no_second_copy(alice, outlook, monkeypatch):
    monkeypatch.setattr("integrations.oauth.revoke", lambda app, **kw: 200)

    def reconnect():
        fresh = make_oauth_integration(alice, "outlook_calendar", access=outlook.fake.token, refresh="graph-rt")
        return calendars_of(fresh, outlook.fake)

    proofs.prove_reconnect_export_only(outlook, alice, reconnect)


@pytest.mark.usefixtures("sync_worker")
def test_outlook_a_worker_killed_between_the_create_and_its_link_leaves_no_copy(alice, outlook, monkeypatch, settings):
    proofs.prove_killed_during_export(outlook, alice, monkeypatch, settings)
