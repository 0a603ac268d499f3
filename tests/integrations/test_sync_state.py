"""Sync state and links (issue 11 item 2): uniqueness both ways, a cursor that moves only
with the page that produced it, tenant isolation through the ORM, a stable content hash,
cascade with the integration, and the read-only admin. Raw-SQL RLS on both tables is
proven by tests/core/test_rls_every_table.py (it finds them by their tenant_id column)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from core.tenant_context import tenant_scope
from integrations.models import ExternalLink, Integration, SyncState
from integrations.sync_state import (
    CursorMoved,
    LinkConflict,
    OutsideTransaction,
    content_hash,
    link_delete,
    link_for_local,
    link_for_remote,
    link_upsert,
    links_by_remote_id,
    sync_state_advance,
    sync_state_get_or_create,
)

pytestmark = pytest.mark.django_db


class PageFailed(Exception):
    pass


def make_calendar(persona, provider: str = "google_calendar") -> Integration:
    with tenant_scope(persona.tenant.id):
        return Integration.objects.create(tenant=persona.tenant, provider=provider, name=provider,
                                          connected_by=persona.user, status="connected")


def link(integration: Integration, *, local_id: uuid.UUID | None = None, remote_id: str = "evt-1", **extra) -> ExternalLink:
    return link_upsert(integration=integration, local_type="meeting", local_id=local_id or uuid.uuid4(),
                       remote_type="event", remote_id=remote_id, **extra)


@pytest.fixture
def calendar(alice) -> Integration:
    return make_calendar(alice)


# --------------------------------------------------------------------------- links: uniqueness
def test_the_database_refuses_a_second_link_for_the_same_remote_record_or_the_same_local_record(alice, calendar):
    local_id = uuid.uuid4()
    with tenant_scope(alice.tenant.id):
        ExternalLink.objects.create(tenant=alice.tenant, integration=calendar, local_type="meeting", local_id=local_id,
                                    remote_type="event", remote_id="evt-1")
        with pytest.raises(IntegrityError, match="unique_link_remote"), transaction.atomic():
            ExternalLink.objects.create(tenant=alice.tenant, integration=calendar, local_type="meeting",
                                        local_id=uuid.uuid4(), remote_type="event", remote_id="evt-1")
        with pytest.raises(IntegrityError, match="unique_link_local"), transaction.atomic():
            ExternalLink.objects.create(tenant=alice.tenant, integration=calendar, local_type="meeting",
                                        local_id=local_id, remote_type="event", remote_id="evt-2")
        # the same remote id under another remote type, or in another integration, is another record
        ExternalLink.objects.create(tenant=alice.tenant, integration=calendar, local_type="task",
                                    local_id=uuid.uuid4(), remote_type="task", remote_id="evt-1")
        other = Integration.objects.create(tenant=alice.tenant, provider="outlook_calendar", name="o",
                                           connected_by=alice.user)
        ExternalLink.objects.create(tenant=alice.tenant, integration=other, local_type="meeting", local_id=local_id,
                                    remote_type="event", remote_id="evt-1")
        assert ExternalLink.objects.count() == 3


def test_link_upsert_finds_the_link_by_either_side_and_updates_it(alice, calendar):
    local_id = uuid.uuid4()
    with tenant_scope(alice.tenant.id):
        first = link(calendar, local_id=local_id, remote_id="evt-1", remote_version='"etag-1"')
        # the remote object was recreated under a new id: the local record keeps its one link
        moved = link(calendar, local_id=local_id, remote_id="evt-9", remote_version='"etag-2"',
                     remote_hash=content_hash({"summary": "x"}), last_synced={"title": "x"})
        # a new local record for a linked remote object: the remote keeps its one link
        other_local = uuid.uuid4()
        relinked = link(calendar, local_id=other_local, remote_id="evt-9")
        rows = list(ExternalLink.objects.values_list("pk", "local_id", "remote_id"))
    assert moved.pk == first.pk == relinked.pk
    assert (moved.remote_version, moved.last_synced) == ('"etag-2"', {"title": "x"})
    assert rows == [(first.pk, other_local, "evt-9")]


def test_last_synced_keeps_dates_as_the_hash_writes_them(alice, calendar):
    values = {"title": "Kickoff", "startTime": datetime(2026, 1, 5, 8, tzinfo=UTC), "day": date(2026, 1, 5)}
    with tenant_scope(alice.tenant.id):
        made = link(calendar, last_synced=values, local_hash=content_hash(values))
        stored = ExternalLink.objects.get(pk=made.pk)
    assert stored.last_synced == {"title": "Kickoff", "startTime": "2026-01-05T08:00:00Z", "day": "2026-01-05"}
    assert content_hash(stored.last_synced) == stored.local_hash  # what was stored hashes as what was written


def test_link_upsert_refuses_to_merge_two_existing_links(alice, calendar):
    a_local, b_local = uuid.uuid4(), uuid.uuid4()
    with tenant_scope(alice.tenant.id):
        link(calendar, local_id=a_local, remote_id="evt-a")
        link(calendar, local_id=b_local, remote_id="evt-b")
        with pytest.raises(LinkConflict):
            link(calendar, local_id=a_local, remote_id="evt-b")
        pairs = sorted(ExternalLink.objects.values_list("remote_id", "local_id"))
    assert pairs == [("evt-a", a_local), ("evt-b", b_local)]


def test_selectors_find_a_link_by_remote_by_local_and_a_page_at_once_and_delete_removes_it(alice, calendar):
    local_id = uuid.uuid4()
    with tenant_scope(alice.tenant.id):
        made = link(calendar, local_id=local_id, remote_id="evt-1")
        link(calendar, remote_id="evt-2")
        by_remote = link_for_remote(integration=calendar, remote_type="event", remote_id="evt-1")
        by_local = link_for_local(integration=calendar, local_type="meeting", local_id=local_id)
        page = links_by_remote_id(integration=calendar, remote_type="event", remote_ids=["evt-1", "evt-2", "evt-3"])
        link_delete(link=made)
        gone = link_for_remote(integration=calendar, remote_type="event", remote_id="evt-1")
    assert by_remote.pk == by_local.pk == made.pk
    assert sorted(page) == ["evt-1", "evt-2"]
    assert gone is None


# --------------------------------------------------------------------------- sync state and its cursor
def test_sync_state_is_one_row_per_integration_entity_pair_and_container(alice, calendar):
    with tenant_scope(alice.tenant.id):
        primary = sync_state_get_or_create(integration=calendar, local_type="meeting", remote_type="event",
                                           remote_container="primary")
        again = sync_state_get_or_create(integration=calendar, local_type="meeting", remote_type="event",
                                         remote_container="primary")
        team = sync_state_get_or_create(integration=calendar, local_type="meeting", remote_type="event",
                                        remote_container="team@group.calendar.google.com")
        with pytest.raises(IntegrityError, match="unique_sync_state_per_container"), transaction.atomic():
            SyncState.objects.create(tenant=alice.tenant, integration=calendar, local_type="meeting",
                                     remote_type="event", remote_container="primary")
    assert again.pk == primary.pk != team.pk
    assert (primary.cursor, primary.last_run_at, primary.last_full_sync_at) == (None, None, None)


def test_a_page_that_fails_leaves_the_old_cursor_and_a_page_that_commits_moves_it(alice, calendar):
    with tenant_scope(alice.tenant.id):
        state = sync_state_get_or_create(integration=calendar, local_type="meeting", remote_type="event")
        state = sync_state_advance(state=state, cursor="token-1", full=True)
    # When a page's transaction advances the cursor, links a record, then fails
    with pytest.raises(PageFailed), tenant_scope(alice.tenant.id):
        sync_state_advance(state=state, cursor="token-2")
        link(calendar, remote_id="evt-from-failed-page")
        raise PageFailed
    with tenant_scope(alice.tenant.id):
        after_failure = SyncState.objects.get(pk=state.pk)
        links_after_failure = ExternalLink.objects.count()
    # Then neither the cursor nor the link stayed; the next run reads the page again and commits it
    with tenant_scope(alice.tenant.id):
        advanced = sync_state_advance(state=state, cursor="token-2")
    with tenant_scope(alice.tenant.id):
        stored = SyncState.objects.get(pk=state.pk)
    assert (after_failure.cursor, links_after_failure) == ("token-1", 0)
    assert state.cursor == "token-1"  # the caller's copy is untouched: right after a rollback
    assert (advanced.cursor, stored.cursor) == ("token-2", "token-2")
    assert stored.last_full_sync_at == after_failure.last_full_sync_at  # an incremental page is not a full sync
    assert stored.last_run_at > after_failure.last_run_at


def test_a_stale_run_cannot_move_a_cursor_another_run_already_moved(alice, calendar):
    with tenant_scope(alice.tenant.id):
        state = sync_state_get_or_create(integration=calendar, local_type="meeting", remote_type="event")
        sync_state_advance(state=state, cursor="token-from-run-1")
        with pytest.raises(CursorMoved), transaction.atomic():
            sync_state_advance(state=state, cursor="token-from-stale-run-2")  # read when the cursor was None
        stored = SyncState.objects.get(pk=state.pk).cursor
    assert stored == "token-from-run-1"


# --------------------------------------------------------------------------- tenants
def test_another_tenant_sees_no_state_or_link_through_the_orm_even_holding_the_integration(alice, bob, calendar):
    bobs = make_calendar(bob)
    with tenant_scope(alice.tenant.id):
        sync_state_advance(state=sync_state_get_or_create(integration=calendar, local_type="meeting",
                                                          remote_type="event"), cursor="alice-token")
        alices_link = link(calendar, remote_id="shared-looking-id")
    with tenant_scope(bob.tenant.id):
        # the same remote id in Bob's own integration is Bob's own record
        bobs_link = link(bobs, remote_id="shared-looking-id")
        seen = (
            link_for_remote(integration=calendar, remote_type="event", remote_id="shared-looking-id"),
            link_for_local(integration=calendar, local_type="meeting", local_id=alices_link.local_id),
            links_by_remote_id(integration=calendar, remote_type="event", remote_ids=["shared-looking-id"]),
            list(SyncState.objects.all()),
            list(ExternalLink.objects.values_list("pk", flat=True)),
        )
        deleted, _ = ExternalLink.objects.filter(pk=alices_link.pk).delete()
    with tenant_scope(alice.tenant.id):
        alice_still = link_for_remote(integration=calendar, remote_type="event", remote_id="shared-looking-id")
    assert seen == (None, None, {}, [], [bobs_link.pk])
    assert deleted == 0 and alice_still.pk == alices_link.pk


# --------------------------------------------------------------------------- hash and cascade
def test_content_hash_is_the_same_for_the_same_values_in_any_key_order():
    one = {"summary": "Kickoff", "start": {"dateTime": "2026-01-05T10:00:00+02:00", "timeZone": "Asia/Jerusalem"},
           "attendees": [{"email": "a@example.com"}], "day": date(2026, 1, 5)}
    other = {"day": date(2026, 1, 5), "attendees": [{"email": "a@example.com"}],
             "start": {"timeZone": "Asia/Jerusalem", "dateTime": "2026-01-05T10:00:00+02:00"}, "summary": "Kickoff"}
    assert content_hash(one) == content_hash(other)
    assert content_hash({"b": 2, "a": 1}) == hashlib.sha256(b'{"a":1,"b":2}').hexdigest()
    assert content_hash({**one, "summary": "Kickoff!"}) != content_hash(one)
    assert content_hash({"attendees": ["a", "b"]}) != content_hash({"attendees": ["b", "a"]})  # lists keep order
    assert content_hash({"at": datetime(2026, 1, 5, 8, tzinfo=UTC)}) == content_hash({"at": "2026-01-05T08:00:00Z"})


def test_deleting_the_integration_deletes_its_states_and_links_only(alice, calendar):
    other = make_calendar(alice, "outlook_calendar")
    with tenant_scope(alice.tenant.id):
        for integration in (calendar, other):
            sync_state_get_or_create(integration=integration, local_type="meeting", remote_type="event")
            link(integration)
        calendar.delete()
        left = (list(SyncState.objects.values_list("integration_id", flat=True)),
                list(ExternalLink.objects.values_list("integration_id", flat=True)))
    assert left == ([other.pk], [other.pk])


# --------------------------------------------------------------------------- outside a transaction; the admin
@pytest.mark.django_db(transaction=True)  # autocommit, and the admin's operator_scope on its own connection
def test_cursor_and_links_refuse_to_be_written_outside_a_transaction_and_the_admin_only_shows_them(alice):
    from django.contrib.auth import get_user_model

    calendar = make_calendar(alice)
    with tenant_scope(alice.tenant.id):
        state = sync_state_get_or_create(integration=calendar, local_type="meeting", remote_type="event")
        made = link(calendar, remote_id="evt-admin")
    with pytest.raises(OutsideTransaction):
        sync_state_advance(state=state, cursor="token-outside")
    with pytest.raises(OutsideTransaction):
        link(calendar, remote_id="evt-outside")
    with pytest.raises(OutsideTransaction):
        link_delete(link=made)

    staff = get_user_model().objects.create_superuser("op", "op@example.com", "pw-123456789")
    client = Client()
    client.force_login(staff)
    pages = [client.get(url) for url in (
        "/admin/integrations/syncstate/", f"/admin/integrations/syncstate/{state.pk}/change/",
        "/admin/integrations/externallink/?q=evt-admin", f"/admin/integrations/externallink/{made.pk}/change/",
    )]
    add = client.get("/admin/integrations/externallink/add/")
    with tenant_scope(alice.tenant.id):
        stored = (SyncState.objects.get(pk=state.pk).cursor, ExternalLink.objects.count())
    assert [page.status_code for page in pages] == [200, 200, 200, 200]
    assert b"evt-admin" in pages[2].content
    assert b'name="_save"' not in pages[3].content  # view only
    assert add.status_code == 403
    assert stored == (None, 1)
