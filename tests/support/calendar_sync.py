"""End-to-end sync proofs shared by the three calendars (tests/integrations/sync/test_sync_google.py,
test_sync_outlook.py, test_sync_caldav.py): the real engine (integrations.sync.services) with
the real adapter through the hub's ProviderClient, against the Google fake, the Graph fake or
a real Radicale.

A ``Side`` is one calendar as a person at the provider uses it (create / edit / delete an
event there, the provider forgetting its sync cursor) plus what the test reads back: a
fingerprint of the stored events (id -> etag / changeKey; equal fingerprints = the provider
took no write) and the hub id stamped on an event.

``assert_sides_equal`` is the issue's "keeps both sides equal": every local meeting and every
remote event, mapped into one shape with the integration's own mapping (the local record
mapped there and back, as the engine compares them), are the same multiset, and the links
pair them one to one. ``assert_quiet`` is "no ping-pong": one more run changes nothing on
either side. The ``prove_*`` functions are the behaviours of issue 11's "Done when", each
run by the three calendars' test modules with their own ``Side``.

Longer than ~400 lines on purpose: one module holds every shared proof, so each calendar's
test module is only its Side and one short test per behaviour.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.tenant_context import tenant_scope
from entities.models import Meeting
from entities.services import entity_create, entity_delete, entity_snapshot, entity_update
from integrations.client import ProviderClient
from integrations.models import Integration, IntegrationLog
from integrations.sync import merge
from integrations.sync.plan import plan_for
from tests.support.factories import Persona
from tests.support.sync_runs import drain_entity_events, links, meetings, run_sync, state

#: Event times: a few days ahead of now, inside every provider's window (Graph's calendar view).
BASE_DAY = (datetime.now(UTC) + timedelta(days=3)).replace(hour=8, minute=0, second=0, microsecond=0)


def when(n: int, hours: int = 1) -> tuple[datetime, datetime]:
    start = BASE_DAY + timedelta(days=n)
    return start, start + timedelta(hours=hours)


class Side:
    """One provider calendar as the tests drive it. Subclasses in each test module."""

    integration: Integration
    container: str

    def create(self, title: str, n: int, *, location: str = "") -> str:  # -> remote id
        raise NotImplementedError

    def edit(self, remote_id: str, *, title: str | None = None, location: str | None = None) -> None:
        raise NotImplementedError

    def delete(self, remote_id: str) -> None:
        raise NotImplementedError

    def forget_cursor(self) -> None:
        """The provider invalidates the stored sync cursor (Google 410, Graph syncStateNotFound,
        CalDAV valid-sync-token)."""
        raise NotImplementedError

    def fingerprint(self) -> dict[str, str]:
        """id -> version of every stored event: unchanged means the provider took no write."""
        raise NotImplementedError

    def hub_id(self, remote_id: str) -> str | None:
        raise NotImplementedError

    # -------------------------------------------------------------- what the provider holds
    def listing(self) -> dict[str, dict[str, Any]]:
        """remote id -> raw record, from a full listing with the real adapter (no cursor)."""
        integration = reload(self.integration)
        with tenant_scope(integration.tenant_id):
            client = ProviderClient.for_integration(integration)
        adapter = plan_for(integration).adapter
        records: dict[str, dict[str, Any]] = {}
        cursor = None
        for _ in range(200):
            page = adapter.list_changes(client, container=self.container, cursor=cursor)
            for change in page.changes:
                if change.deleted:
                    records.pop(change.remote_id, None)
                else:
                    records[change.remote_id] = dict(change.raw)
            cursor = page.cursor
            if page.done:
                return records
        raise AssertionError("the listing never ended")


def reload(integration: Integration) -> Integration:
    with tenant_scope(integration.tenant_id):
        return Integration.objects.get(pk=integration.pk)


# ------------------------------------------------------------------ local edits (as the API would)
def local_create(persona: Persona, title: str, n: int, *, location: str = "") -> Meeting:
    start, end = when(n)
    with tenant_scope(persona.tenant.id):
        meeting = entity_create(tenant=persona.tenant, entity_type="meeting", source="api", data={
            "title": title, "location": location, "start_time": start.isoformat(), "end_time": end.isoformat()})
    drain_entity_events(str(persona.tenant.id))
    return meeting


def local_edit(persona: Persona, which: str, **data: Any) -> Meeting:
    """Edit the meeting titled ``which`` (snake_case fields, as the API's serializer takes them)."""
    with tenant_scope(persona.tenant.id):
        meeting = Meeting.objects.get(tenant=persona.tenant, title=which)
        meeting = entity_update(instance=meeting, data=data, tenant=persona.tenant, source="api")
    drain_entity_events(str(persona.tenant.id))
    return meeting


def local_delete(persona: Persona, title: str) -> None:
    with tenant_scope(persona.tenant.id):
        entity_delete(instance=Meeting.objects.get(tenant=persona.tenant, title=title), source="api")
    drain_entity_events(str(persona.tenant.id))


# ------------------------------------------------------------------ the assertions
def _shape(values: dict[str, Any]) -> tuple:
    """A mapped record as a hashable, normalised value (merge.same's notion of equal)."""
    def plain(value: Any) -> str:
        value = merge._normal(value)
        return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else repr(value)

    return tuple(sorted((k, plain(v)) for k, v in values.items() if merge._normal(v) is not None))


def mapped_sides(side: Side) -> tuple[Counter, Counter]:
    integration = reload(side.integration)
    plan = plan_for(integration)
    (pair,) = [p for p in plan.pairs if p.local_type == "meeting"]
    ctx = plan.context()
    with tenant_scope(integration.tenant_id):
        local = Counter(_shape(pair.mapping.to_local(pair.mapping.to_remote(entity_snapshot(m), ctx), ctx))
                        for m in Meeting.objects.filter(tenant_id=integration.tenant_id))
    remote = Counter(_shape(pair.mapping.to_local(raw, ctx)) for raw in side.listing().values())
    return local, remote


def assert_sides_equal(side: Side, *, titles: set[str] | None = None) -> None:
    """Both sides hold the same records (mapped values), linked one to one."""
    local, remote = mapped_sides(side)
    assert local == remote, f"local only: {local - remote}\nremote only: {remote - local}"
    remote_ids = set(side.listing())
    found = links(side.integration)
    with tenant_scope(side.integration.tenant_id):
        local_ids = set(Meeting.objects.filter(tenant_id=side.integration.tenant_id).values_list("pk", flat=True))
    assert {link.remote_id for link in found} == remote_ids
    assert {link.local_id for link in found} == local_ids
    assert len(found) == len(remote_ids) == len(local_ids)
    if titles is not None:
        owner = side.integration.tenant_id
        with tenant_scope(owner):
            assert set(Meeting.objects.filter(tenant_id=owner).values_list("title", flat=True)) == titles


def assert_quiet(side: Side, persona: Persona) -> IntegrationLog:
    """No ping-pong: another run reads the provider's changes (its own writes among them)
    and changes nothing on either side; the provider takes no write."""
    before_remote = side.fingerprint()
    with tenant_scope(persona.tenant.id):
        before_local = {m.pk: m.updated_at for m in Meeting.objects.filter(tenant=persona.tenant)}
    run = run_sync(side.integration)
    assert run.status == "success", run.error_message
    counts = {k: run.summary[k] for k in ("created", "updated", "deleted", "conflicts", "failed")}
    assert counts == {"created": 0, "updated": 0, "deleted": 0, "conflicts": 0, "failed": 0}, run.summary
    assert side.fingerprint() == before_remote
    with tenant_scope(persona.tenant.id):
        assert {m.pk: m.updated_at for m in Meeting.objects.filter(tenant=persona.tenant)} == before_local
    return run


def synced(side: Side, persona: Persona, **options: Any) -> IntegrationLog:
    """A run that succeeds, after which both sides are equal and a second run is quiet."""
    run = run_sync(side.integration, **options)
    assert run.status == "success", (run.error_message, run.failed_items)
    assert_sides_equal(side)
    assert_quiet(side, persona)
    return run


def by_title(persona: Persona) -> dict[str, Meeting]:
    return meetings(persona)


def set_sync(integration: Integration, *, direction: str, policy: str = "newest_wins", remote: str = "event",
             frequency: str = "manual") -> Integration:
    """Turn sync on for meetings <-> events in one direction (manual runs)."""
    with tenant_scope(integration.tenant_id):
        fresh = Integration.objects.get(pk=integration.pk)
        fresh.conflict_policy = policy
        fresh.sync_settings = {
            "enabled": True, "direction": direction, "frequency": frequency, "fieldMappings": [], "filters": [],
            "entities": [{"localEntity": "meeting", "remoteEntity": remote, "enabled": True,
                          "direction": direction}]}
        fresh.save()
    integration.sync_settings, integration.conflict_policy = fresh.sync_settings, policy
    return fresh


# ------------------------------------------------------------------ the scenarios (one per behaviour)
def remote_titles(side: Side) -> dict[str, str]:
    """title -> remote id, as the provider holds them (mapped with the integration's mapping)."""
    plan = plan_for(reload(side.integration))
    (pair,) = plan.pairs
    ctx = plan.context()
    return {pair.mapping.to_local(raw, ctx).get("title"): rid for rid, raw in side.listing().items()}


def prove_import(side: Side, persona: Persona) -> None:
    """Import only: remote creates, edits and deletions reach the meetings; nothing goes back."""
    set_sync(side.integration, direction="import", remote=side.remote_entity)
    ids = [side.create(f"Site visit {n}", n, location="Tel Aviv") for n in range(3)]
    first = synced(side, persona)
    assert first.summary["created"] == 3 and first.action == "import"
    assert by_title(persona)["Site visit 0"].location == "Tel Aviv"

    side.edit(ids[1], title="Site visit 1 (moved)", location="Haifa")
    side.delete(ids[0])
    side.create("Site visit 3", 3)
    second = synced(side, persona)
    assert (second.summary["created"], second.summary["updated"], second.summary["deleted"]) == (1, 1, 1)
    assert set(by_title(persona)) == {"Site visit 1 (moved)", "Site visit 2", "Site visit 3"}
    assert by_title(persona)["Site visit 1 (moved)"].location == "Haifa"

    # a local edit is not exported by an import-only integration (the provider keeps its value)
    before = side.fingerprint()
    local_edit(persona, "Site visit 2", location="Local only")
    run_sync(side.integration)
    assert side.fingerprint() == before


def prove_export(side: Side, persona: Persona, *, if_match=None) -> None:
    """Export only: local creates, edits and deletions reach the provider, each created event
    stamped with the hub's id, updates conditional on the version the hub holds."""
    set_sync(side.integration, direction="export", remote=side.remote_entity)
    first_meeting = local_create(persona, "Design review", 1, location="Studio")
    second_meeting = local_create(persona, "Client call", 2)
    first = synced(side, persona)
    assert first.summary["created"] == 2 and first.action == "export"
    remote = remote_titles(side)
    assert side.hub_id(remote["Design review"]) == str(first_meeting.pk)
    assert side.hub_id(remote["Client call"]) == str(second_meeting.pk)

    (link,) = [lk for lk in links(side.integration) if lk.local_id == first_meeting.pk]
    local_edit(persona, "Design review", title="Design review (moved)", location="Site")
    second = synced(side, persona)
    assert second.summary["updated"] == 1
    if if_match is not None:  # the provider saw If-Match with the version the link held
        assert if_match() == link.remote_version
    assert set(remote_titles(side)) == {"Design review (moved)", "Client call"}

    local_delete(persona, "Client call")
    third = synced(side, persona)
    assert third.summary["deleted"] == 1
    assert set(remote_titles(side)) == {"Design review (moved)"}

    # a remote edit is not imported by an export-only integration
    side.edit(remote_titles(side)["Design review (moved)"], title="Renamed there")
    run_sync(side.integration)
    assert set(by_title(persona)) == {"Design review (moved)"}


def prove_bidirectional(side: Side, persona: Persona) -> None:
    """Both directions in the same runs: each side's creates, edits and deletions reach the other."""
    set_sync(side.integration, direction="bidirectional", remote=side.remote_entity)
    there = [side.create(f"Remote {n}", n) for n in range(3)]
    for n in range(3):
        local_create(persona, f"Local {n}", 4 + n)
    first = synced(side, persona)
    assert first.action == "sync" and first.summary["created"] == 6  # 3 imported + 3 exported
    assert set(remote_titles(side)) == {f"Remote {n}" for n in range(3)} | {f"Local {n}" for n in range(3)}

    # when both sides create, edit and delete between two runs
    side.create("Remote 3", 8)
    side.edit(there[0], title="Remote 0 (edited there)")
    side.delete(there[1])
    local_create(persona, "Local 3", 9)
    local_edit(persona, "Local 0", title="Local 0 (edited here)", location="Jaffa")
    local_delete(persona, "Local 1")
    synced(side, persona)

    expected = {"Remote 0 (edited there)", "Remote 2", "Remote 3", "Local 0 (edited here)", "Local 2", "Local 3"}
    assert set(by_title(persona)) == expected and set(remote_titles(side)) == expected


def prove_conflict(side: Side, persona: Persona, *, policy: str, newer: str) -> None:
    """The same field changed on both sides: the policy picks the winner, the log keeps both
    values; a field changed on one side only is merged whatever the policy."""
    set_sync(side.integration, direction="bidirectional", policy=policy, remote=side.remote_entity)
    remote_id = side.create("Kickoff", 1, location="Studio")
    synced(side, persona)

    if newer == "remote":  # edited here a minute ago, there just now
        local_edit(persona, "Kickoff", title="Kickoff (ours)", location="Ours")
        with tenant_scope(persona.tenant.id):
            Meeting.objects.filter(tenant=persona.tenant).update(updated_at=datetime.now(UTC) - timedelta(minutes=1))
        side.edit(remote_id, title="Kickoff (theirs)")
    else:
        side.edit(remote_id, title="Kickoff (theirs)")
        local_edit(persona, "Kickoff", title="Kickoff (ours)", location="Ours")
    run = run_sync(side.integration)

    assert run.status == "success", run.error_message
    assert run.summary["conflicts"] == 1
    (conflict,) = run.response_snapshot["conflicts"]
    winner = {"remote_wins": "remote", "local_wins": "local", "newest_wins": newer}[policy]
    assert conflict["field"] == "title" and conflict["winner"] == winner
    assert (conflict["localValue"], conflict["remoteValue"]) == ("Kickoff (ours)", "Kickoff (theirs)")
    title = {"remote": "Kickoff (theirs)", "local": "Kickoff (ours)"}[winner]
    (meeting,) = by_title(persona).values()
    assert meeting.title == title and meeting.location == "Ours"  # location changed here only: merged
    assert_sides_equal(side, titles={title})
    assert_quiet(side, persona)


def prove_version_conflict_on_export(side: Side, persona: Persona) -> None:
    """A realtime export of a record edited there since the hub's version: the provider refuses
    the conditional write (If-Match), the engine imports the newer copy, merges, and writes
    once more -- the remote edit of another field survives."""
    from integrations.sync.services import sync_export_drain

    set_sync(side.integration, direction="bidirectional", remote=side.remote_entity, frequency="realtime")
    remote_id = side.create("Kickoff", 1, location="Studio")
    synced(side, persona)

    local_edit(persona, "Kickoff", location="Ours")
    side.edit(remote_id, title="Kickoff (theirs)")
    sync_export_drain(tenant_id=persona.tenant.id)

    (meeting,) = by_title(persona).values()
    assert (meeting.title, meeting.location) == ("Kickoff (theirs)", "Ours")
    assert_sides_equal(side, titles={"Kickoff (theirs)"})
    assert_quiet(side, persona)


def prove_cursor_lost(side: Side, persona: Persona) -> None:
    """The provider forgets the cursor: a full listing reconciled against the links -- no
    duplicate, the edit applied, the removal found, a new event created once."""
    set_sync(side.integration, direction="bidirectional", remote=side.remote_entity)
    there = [side.create(f"Remote {n}", n) for n in range(3)]
    local_create(persona, "Ours", 5)
    synced(side, persona)

    side.delete(there[0])
    side.edit(there[1], title="Remote 1 (moved)")
    side.create("Remote 3", 4)
    full_before = state(side.integration, side.container).last_full_sync_at
    side.forget_cursor()
    run = run_sync(side.integration)

    assert run.status == "success", run.error_message
    assert state(side.integration, side.container).last_full_sync_at > full_before  # a full listing ran
    assert (run.summary["created"], run.summary["updated"], run.summary["deleted"]) == (1, 1, 1), run.summary
    assert_sides_equal(side, titles={"Remote 1 (moved)", "Remote 2", "Remote 3", "Ours"})
    assert_quiet(side, persona)


def prove_reconnect(side: Side, persona: Persona, reconnect, *, direction: str = "bidirectional") -> None:
    """Disconnect (the Integration row, its links and cursors deleted) and connect again (a
    new row): the first run's full listing pairs each event with the meeting it already is --
    by the hub id stamped on events the hub created, by identical values on events it
    imported -- and duplicates nothing on either side."""
    from integrations.services import integration_disconnect

    set_sync(side.integration, direction=direction, remote=side.remote_entity)
    for n in range(2):
        side.create(f"Remote {n}", n, location="There")
    titles = {"Remote 0", "Remote 1"}
    if direction == "bidirectional":
        for n in range(2):
            local_create(persona, f"Local {n}", 3 + n)
        titles |= {"Local 0", "Local 1"}
    synced(side, persona)
    before_remote = side.fingerprint()

    with tenant_scope(persona.tenant.id):
        integration_disconnect(integration=reload(side.integration))
    side.integration = reconnect()
    set_sync(side.integration, direction=direction, remote=side.remote_entity)
    run = run_sync(side.integration)

    assert run.status == "success", run.error_message
    assert (run.summary["created"], run.summary["deleted"]) == (0, 0), run.summary
    assert side.fingerprint() == before_remote  # nothing re-created (or rewritten) there
    assert_sides_equal(side, titles=titles)
    assert_quiet(side, persona)


def prove_killed_worker(side: Side, persona: Persona, monkeypatch, settings) -> None:
    """A worker killed after committing the run's first page (SystemExit: nothing records an
    end) leaves a ``running`` row; once its heartbeat is stale the sweeper hands it back to the
    sync queue, the real sync worker resumes it from the stored cursor, and nothing is
    duplicated on either side. Needs the ``sync_worker`` fixture (tests/conftest.py) and
    the side's pages set to 2 events."""
    from django.utils import timezone

    from integrations.sync.runs import run_start, runs_sweep_stale
    from integrations.sync.services import sync_execute
    from tests.support.waiting import wait_until

    set_sync(side.integration, direction="bidirectional", remote=side.remote_entity)
    for n in range(5):
        side.create(f"Remote {n}", n)
    local_create(persona, "Ours", 6)
    with tenant_scope(persona.tenant.id):
        # The row only (no task queued): this thread plays the worker that dies.
        entry = run_start(integration=reload(side.integration), direction="bidirectional", options={})
    adapter = type(plan_for(reload(side.integration)).adapter)
    original, calls = adapter.list_changes, []

    def dies(self, client, *, container, cursor):
        calls.append(cursor)
        if len(calls) == 2:
            raise SystemExit("worker killed")
        return original(self, client, container=container, cursor=cursor)

    monkeypatch.setattr(adapter, "list_changes", dies)
    with pytest.raises(SystemExit):
        sync_execute(log_id=entry.pk, tenant_id=persona.tenant.id)
    monkeypatch.setattr(adapter, "list_changes", original)
    assert len(by_title(persona)) == 3  # "Ours" and the first page's 2 events: committed before the kill

    swept = runs_sweep_stale(now=timezone.now() + timedelta(seconds=settings.SYNC_RUN_STALE_SECONDS + 1))
    assert swept.requeued == [str(entry.pk)]

    def finished():
        with tenant_scope(persona.tenant.id):
            row = IntegrationLog.objects.get(pk=entry.pk)
        return row if row.status != "running" else None

    row = wait_until(finished, 30, what="the resumed run to end")
    assert row.status == "success", row.error_message
    assert (row.summary["created"], row.summary["failed"]) == (4, 0), row.summary  # Remote 2-4 here, Ours there
    assert_sides_equal(side, titles={"Ours", *(f"Remote {n}" for n in range(5))})
    assert_quiet(side, persona)


def prove_reconnect_export_only(side: Side, persona: Persona, reconnect) -> None:
    """An export-only integration re-connected: its first run queues every meeting (none is
    linked any more) and must not create a second copy of the events it created before."""
    from integrations.services import integration_disconnect

    set_sync(side.integration, direction="export", remote=side.remote_entity)
    for n in range(2):
        local_create(persona, f"Local {n}", n)
    synced(side, persona)

    with tenant_scope(persona.tenant.id):
        integration_disconnect(integration=reload(side.integration))
    side.integration = reconnect()
    set_sync(side.integration, direction="export", remote=side.remote_entity)
    run = run_sync(side.integration)

    assert run.status == "success", (run.error_message, run.failed_items)
    assert len(side.listing()) == 2, sorted(remote_titles(side))
    assert_sides_equal(side, titles={"Local 0", "Local 1"})
    assert_quiet(side, persona)


def prove_killed_during_export(side: Side, persona: Persona, monkeypatch, settings) -> None:
    """A worker killed after the provider stored a created event but before the link
    committed: the resumed run (sweeper, real sync worker) and the retry once the export
    row's lease runs out find the hub's own event -- one event, linked, no copy."""
    from django.utils import timezone

    from integrations.models import SyncPending
    from integrations.sync import exporter
    from integrations.sync.runs import run_start, runs_sweep_stale
    from integrations.sync.services import sync_execute
    from tests.support.waiting import wait_until

    set_sync(side.integration, direction="export", remote=side.remote_entity)
    local_create(persona, "Ours", 1, location="Studio")
    with tenant_scope(persona.tenant.id):
        entry = run_start(integration=reload(side.integration), direction="export", options={})

    def dies(*args, **kwargs):
        raise SystemExit("worker killed")

    original = exporter.record_success
    monkeypatch.setattr(exporter, "record_success", dies)
    with pytest.raises(SystemExit):
        sync_execute(log_id=entry.pk, tenant_id=persona.tenant.id)
    monkeypatch.setattr(exporter, "record_success", original)
    assert list(remote_titles(side)) == ["Ours"] and links(side.integration) == []  # stored there, not linked

    swept = runs_sweep_stale(now=timezone.now() + timedelta(seconds=settings.SYNC_RUN_STALE_SECONDS + 1))
    assert swept.requeued == [str(entry.pk)]

    def finished():
        with tenant_scope(persona.tenant.id):
            row = IntegrationLog.objects.get(pk=entry.pk)
        return row if row.status != "running" else None

    assert wait_until(finished, 30, what="the resumed run to end").status == "success"
    with tenant_scope(persona.tenant.id):  # the dead worker's lease on the export row runs out
        SyncPending.objects.filter(integration=side.integration).update(next_attempt_at=timezone.now())
    run = run_sync(side.integration)

    assert run.status == "success", (run.error_message, run.failed_items)
    assert len(side.listing()) == 1
    assert_sides_equal(side, titles={"Ours"})
    assert_quiet(side, persona)
