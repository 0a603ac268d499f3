"""Import: remote pages -> local records (issue 11 item 3).

Long (~540 lines) on purpose: one flow, a page from its listing to its commit with the
bulk fast path and the record-by-record fallback beside it, reads top-down in one module.

For one entity pair and one remote container::

    SyncState (cursor) -> adapter.list_changes (outside any transaction)
      -> one transaction per page: for each change (a savepoint each, so one bad record
         fails alone): filters on the remote record -> mapping.to_local -> create / update /
         delete through entities.services with source "integration:<id>" -> link upsert;
         then the cursor advance (integrations.sync_state), seen_at, progress
    CursorInvalid -> a full listing: SyncState.full_sync_started_at is set, the listing
         starts from no cursor, each record is matched by its link, then by the hub id the
         hub stamped on it, then (no hub id) by an unlinked local record with the same mapped
         values, else created; when the last page commits, links of the container not seen
         since the listing started are remote removals. (The first run is a full listing too:
         after a re-connect -- a new integration row, the old links gone -- nothing doubles.)
    relink_exported -> an export-only pair's first run lists once and only links back the
         events that carry the hub id of an unlinked record (imports nothing, removes nothing).
    Another pair's event (a task exported as an event into the calendar the meetings sync
         with) is skipped: never imported, updated or deleted as a meeting.

Echo suppression: a change whose mapped values hash to ``link.remote_hash`` is what we
wrote ourselves (or nothing we map changed): skipped. A record changed on both sides is
merged (``merge.three_way``) when the pair is bidirectional; local wins the provider has
not seen yet go back to the export queue.

Past ~400 lines on purpose: the import flow reads top-down in one module, from the listing
to the page, the record and the reconciliation.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as N_
from djangorestframework_camel_case.util import camel_to_underscore
from rest_framework.exceptions import ValidationError

from core.tenant_context import tenant_scope
from core.words import Words, words, words_of
from entities.models import EntityModel
from entities.serializers import SERIALIZERS
from entities.services import entity_bulk_create, entity_create, entity_delete, entity_snapshot, entity_update
from integrations.models import ExternalLink, IntegrationLog, SyncState
from integrations.providers.adapter import Caller, ChangePage, CursorInvalid, RemoteChange
from integrations.sync import merge
from integrations.sync.plan import Pair, SyncPlan
from integrations.sync.queue import Pending, pending_upsert
from integrations.sync.runs import RunReport, run_progress
from integrations.sync_state import (
    CursorMoved,
    content_hash,
    link_delete,
    link_for_local,
    link_upsert,
    links_by_remote_id,
    sync_state_advance,
    sync_state_get_or_create,
)

log = logging.getLogger("architect_studio.sync")

#: A full listing pairs an event that has no link and no hub id with the unlinked local record
#: holding identical mapped values, chosen among at most this many unlinked local records.
MAX_ADOPTABLE = 10_000


@dataclass
class Job:
    """One run's working set: what to sync, how to call the provider, what happened so far."""

    plan: SyncPlan
    client: Caller
    report: RunReport
    entry: IntegrationLog | None = None  # None: a dry run (no log row)
    dry_run: bool = False
    max_pages: int | None = None  # a dry run's bound
    done: int = 0
    pages: int = 0
    full_listing: bool = False  # the page being applied belongs to a full listing
    relink_only: bool = False  # an export-only pair's listing: link the hub's own events, import nothing
    #: local type -> identity of mapped values -> unlinked local ids (built once per run, full listings only)
    adoptable: dict[str, dict[str, list[Any]]] = field(default_factory=dict, repr=False)
    _tenant: Any = field(default=None, repr=False)

    @property
    def source(self) -> str:
        return f"integration:{self.plan.integration.pk}"

    @property
    def tenant(self):
        if self._tenant is None:
            self._tenant = self.plan.integration.tenant
        return self._tenant

    @property
    def tenant_id(self):
        return self.plan.integration.tenant_id

    def out_of_pages(self) -> bool:
        return self.max_pages is not None and self.pages >= self.max_pages


# --------------------------------------------------------------------------- local records
def local_model(local_type: str) -> type[EntityModel]:
    return SERIALIZERS[local_type].Meta.model


def local_load(job: Job, local_type: str, local_id: Any) -> EntityModel | None:
    return local_model(local_type).objects.filter(tenant_id=job.tenant_id, pk=local_id).first()


def local_values(pair: Pair, job: Job, instance: EntityModel) -> dict[str, Any]:
    """The local record as the provider would give it back: mapped there and back again, so
    local and remote values compare in one shape (only mapped fields, transforms applied)."""
    ctx = job.plan.context()
    return pair.mapping.to_local(pair.mapping.to_remote(entity_snapshot(instance), ctx), ctx)


def as_entity_data(values: dict[str, Any]) -> dict[str, Any]:
    """camelCase mapped values -> the entity serializer's snake_case input (keys at every
    depth, as ``underscoreize`` does). A value the provider left empty (None) is not
    written: the entity keeps its own (or its default)."""
    return {k: v for k, v in _underscoreize(values).items() if v is not None}


@lru_cache(maxsize=2048)
def _snake(key: str) -> str:
    return camel_to_underscore(key)


def _underscoreize(data: Any) -> Any:
    if isinstance(data, dict):
        return {_snake(k) if isinstance(k, str) else k: _underscoreize(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_underscoreize(item) for item in data]
    return data


def describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return f"invalid record: {exc.detail}"
    return f"{type(exc).__name__}: {exc}"


def described_words(exc: Exception) -> Words | None:
    """What :func:`describe` says, as words a page can say in its reader's language (the
    record's own problem, without the exception's class name); None for an error that is
    the provider's or a program's own text."""
    if isinstance(exc, ValidationError):
        return words(N_("invalid record: %(detail)s"), detail=str(exc.detail))
    return words_of(exc)


# --------------------------------------------------------------------------- the flow
def import_all(job: Job, *, full: bool = False) -> None:
    for pair in job.plan.importing():
        for container in pair.containers or job.plan.containers:
            if job.out_of_pages():
                return
            import_container(job, pair, container, full=full)


def relink_exported(job: Job, pair: Pair) -> None:
    """An export-only pair's first run (or a full one): list each calendar once and link
    back the events carrying the hub id of a local record without a link -- what the hub
    created before its links were lost (a re-connect makes a new integration row) -- so the
    export that follows updates them instead of creating each again. Imports nothing,
    removes nothing."""
    job.relink_only = True
    try:
        for container in pair.containers or job.plan.containers:
            import_container(job, pair, container, full=True)
    finally:
        job.relink_only = False


def import_container(job: Job, pair: Pair, container: str, *, full: bool = False) -> None:
    integration = job.plan.integration
    with tenant_scope(job.tenant_id):
        state = sync_state_get_or_create(integration=integration, local_type=pair.local_type,
                                         remote_type=pair.remote_type, remote_container=container)
        if full or (state.cursor is None and state.full_sync_started_at is None):
            state = begin_full_listing(state)
    restarted = False
    while not job.out_of_pages():
        try:
            page = job.plan.adapter.list_changes(job.client, container=container, cursor=state.cursor)
        except CursorInvalid:
            if restarted:
                raise
            log.info("sync %s: cursor of %s refused; full listing", integration.pk, container)
            restarted = True
            with tenant_scope(job.tenant_id):
                state = begin_full_listing(state)
            continue
        job.pages += 1
        try:
            state = commit_page(job, pair, container, state, page)
        except CursorMoved:  # another run (an export's conflict import) took this page: read on from its cursor
            with tenant_scope(job.tenant_id):
                state = SyncState.objects.get(pk=state.pk, tenant_id=state.tenant_id)
            continue
        if page.done:
            return


def commit_page(job: Job, pair: Pair, container: str, state: SyncState, page: ChangePage) -> SyncState:
    """The page's records, links, cursor and progress: one transaction."""
    with tenant_scope(job.tenant_id):
        job.full_listing = state.full_sync_started_at is not None
        apply_page(job, pair, container, page.changes)
        ends_full = page.done and state.full_sync_started_at is not None
        if ends_full and not job.relink_only:
            remove_unseen(job, pair, container, since=state.full_sync_started_at)
        state = sync_state_advance(state=state, cursor=page.cursor, full=ends_full)
        if ends_full:
            SyncState.objects.filter(pk=state.pk, tenant_id=state.tenant_id).update(full_sync_started_at=None)
            state.full_sync_started_at = None
        if job.entry is not None:
            run_progress(entry=job.entry, done=job.done, report=job.report)
    return state


def begin_full_listing(state: SyncState) -> SyncState:
    """Forget the cursor and mark when the listing started (what reconciliation compares
    ``seen_at`` with). Inside the caller's tenant transaction."""
    now = timezone.now()
    SyncState.objects.filter(pk=state.pk, tenant_id=state.tenant_id).update(
        cursor=None, full_sync_started_at=now, updated_at=now)
    state.cursor, state.full_sync_started_at = None, now
    return state


@dataclass(frozen=True)
class NewRecord:
    """A remote record with no link and no local record yet: created with the page's others."""

    change: RemoteChange
    remote: dict[str, Any]
    remote_hash: str


@dataclass
class PageWork:
    """The fast path's page-wide state: the page's linked local records (loaded with one query),
    the new records to create together and the links to update together when the page ends."""

    instances: dict[Any, EntityModel]
    new: list[NewRecord] = field(default_factory=list)
    link_updates: list[ExternalLink] = field(default_factory=list)

    def instance(self, job: Job, local_type: str, local_id: Any) -> EntityModel | None:
        if local_id in self.instances:
            return self.instances[local_id]
        return local_load(job, local_type, local_id)


#: What a link update writes (ExternalLink fields; ``updated_at`` set by the caller).
LINK_FIELDS = ("remote_container", "remote_version", "local_hash", "remote_hash", "last_synced", "updated_at")


def page_work(job: Job, pair: Pair, links: dict[str, ExternalLink]) -> PageWork:
    ids = [link.local_id for link in links.values() if link.local_type == pair.local_type]
    found = local_model(pair.local_type).objects.filter(tenant_id=job.tenant_id, pk__in=ids) if ids else []
    return PageWork(instances={instance.pk: instance for instance in found})


def finish_page(job: Job, pair: Pair, container: str, work: PageWork) -> None:
    create_locals(job, pair, container, work.new)
    if work.link_updates:
        now = timezone.now()
        for link in work.link_updates:
            link.updated_at = now
        ExternalLink.objects.bulk_update(work.link_updates, fields=LINK_FIELDS)


def change_name(change: RemoteChange) -> str:
    raw = change.raw or {}
    return str(raw.get("summary") or raw.get("subject") or raw.get("name") or change.remote_id)


def apply_page(job: Job, pair: Pair, container: str, changes: tuple[RemoteChange, ...]) -> None:
    """The page's changes in one savepoint (the fast path: the page's new records created
    together by ``create_locals``, a record the entity's rules refuse failing alone); if
    anything else fails, that is rolled back and the page is applied again record by
    record, each in its own savepoint, so one bad record fails alone."""
    integration = job.plan.integration
    changes = tuple({c.remote_id: c for c in changes}.values())  # listed twice in a page: its last state
    remote_ids = [c.remote_id for c in changes]
    links = links_by_remote_id(integration=integration, remote_type=pair.remote_type, remote_ids=remote_ids)
    before = (copy.deepcopy(job.report), job.done)
    try:
        with transaction.atomic():
            work = page_work(job, pair, links)
            for change in changes:
                job.done += 1
                apply_change(job, pair, container, change, links.get(change.remote_id), work=work)
            finish_page(job, pair, container, work)
    except Exception:  # noqa: BLE001 - some record failed: redo the page one record at a time
        job.report, job.done = before
        job.adoptable.pop(pair.local_type, None)  # rolled back: adoptions made in the attempt are undone
        links = links_by_remote_id(integration=integration, remote_type=pair.remote_type, remote_ids=remote_ids)
        for change in changes:
            job.done += 1
            try:
                with transaction.atomic():
                    apply_change(job, pair, container, change, links.get(change.remote_id))
            except Exception as exc:  # noqa: BLE001 - counted in failedItems, the run goes on
                job.report.fail(entity_id=change.remote_id, entity_name=change_name(change), error=describe(exc),
                                said=described_words(exc))
    seen = [c.remote_id for c in changes if not c.deleted]
    if seen:
        ExternalLink.objects.filter(tenant_id=job.tenant_id, integration=integration, remote_type=pair.remote_type,
                                    remote_id__in=seen).update(seen_at=timezone.now())


def apply_change(job: Job, pair: Pair, container: str, change: RemoteChange, link: ExternalLink | None,
                 *, work: PageWork | None = None) -> None:
    """One remote change. With ``work`` (the fast path) linked records come from the page's
    load, and new records and link updates are left for ``finish_page``; without it each is
    read and written here."""
    report = job.report
    if job.relink_only:
        relink_own_event(job, pair, container, change, link)
        return
    if other_pairs_event(job, pair, change, link):
        report.skipped += 1  # e.g. a task exported as an event: never imported (or deleted) as a meeting
        return
    if change.deleted:
        remove_linked(job, link, remote_id=change.remote_id, work=work)
        return
    if not pair.filters.matches(change.raw):
        report.skipped += 1
        return
    ctx = job.plan.context()
    remote = pair.mapping.to_local(change.raw, ctx)
    report.note(ctx.notes)
    remote_hash = content_hash(remote)
    if link is not None and link.remote_hash == remote_hash:
        report.skipped += 1  # our own write coming back, or nothing we map changed
        if link.remote_version != change.version and work is not None:
            link.remote_version = change.version
            work.link_updates.append(link)
        elif link.remote_version != change.version:
            ExternalLink.objects.filter(pk=link.pk, tenant_id=link.tenant_id).update(remote_version=change.version)
        return
    load = work.instance if work is not None else local_load
    instance = load(job, pair.local_type, link.local_id) if link is not None else None
    base: dict[str, Any] = dict(link.last_synced) if link is not None else {}
    if instance is None and link is None and change.hub_id:
        instance = relink_by_hub_id(job, pair, change.hub_id)
    if instance is None and link is None and job.full_listing:
        instance = adopt_identical(job, pair, remote)
    if instance is None and link is None and (
            not pair.creates_local
            or not job.plan.adapter.syncs_record(pair.local_type, remote, job.plan.integration.settings or {})):
        report.skipped += 1  # autoCreate<Local>s is off, or a kind not synced: a new remote record creates nothing here
        return
    if instance is None and link is None and work is not None:
        work.new.append(NewRecord(change, remote, remote_hash))
        return
    if instance is None:
        create_local(job, pair, container, change, remote, remote_hash, link=link)
        return
    update_local(job, pair, container, change, instance, base, remote, remote_hash,
                 link=link if work is not None and link is not None and link.local_id == instance.pk else None,
                 work=work)


def other_pairs_event(job: Job, pair: Pair, change: RemoteChange, link: ExternalLink | None) -> bool:
    """The event belongs to another entity pair of the same remote type (the calendars export
    tasks as events beside the meetings): linked to a record of another type, or stamped with
    the hub id of one (its link lost; ``relink_exported`` links it back)."""
    if link is not None:
        return link.local_type != pair.local_type
    if not change.hub_id:
        return False
    for other in job.plan.pairs:
        if other.local_type != pair.local_type and other.remote_type == pair.remote_type:
            try:
                if local_load(job, other.local_type, change.hub_id) is not None:
                    return True
            except Exception:  # noqa: BLE001 - not a uuid: not one of ours
                return False
    return False


def relink_by_hub_id(job: Job, pair: Pair, hub_id: str) -> EntityModel | None:
    """The record the hub created there (a full resync after the link was lost): ours again."""
    try:
        instance = local_load(job, pair.local_type, hub_id)
    except Exception:  # noqa: BLE001 - not a uuid: not ours
        return None
    if instance is None or link_for_local(integration=job.plan.integration, local_type=pair.local_type,
                                          local_id=instance.pk) is not None:
        return None
    return instance


def relink_own_event(job: Job, pair: Pair, container: str, change: RemoteChange, link: ExternalLink | None) -> None:
    """``relink_exported``'s per-event step: an unlinked event the hub created for a local
    record without a link is linked to it; if the record changed since, it is queued for
    export (nothing else queues it: its changes happened while no integration existed)."""
    if change.deleted or link is not None or not change.hub_id:
        return
    instance = relink_by_hub_id(job, pair, change.hub_id)
    if instance is None:
        return
    ctx = job.plan.context()
    remote = pair.mapping.to_local(change.raw, ctx)
    remote_hash = content_hash(remote)
    link_upsert(integration=job.plan.integration, local_type=pair.local_type, local_id=instance.pk,
                remote_type=pair.remote_type, remote_id=change.remote_id, remote_container=container,
                remote_version=change.version, local_hash=remote_hash, remote_hash=remote_hash, last_synced=remote)
    if merge.identity(local_values(pair, job, instance)) != merge.identity(remote):
        pending_upsert(tenant_id=job.tenant_id, items=[Pending(job.plan.integration.pk, pair.local_type, instance.pk,
                                                               "upsert", entity_snapshot(instance))])


def adopt_identical(job: Job, pair: Pair, remote: dict[str, Any]) -> EntityModel | None:
    """A full listing's event with no link and no hub id, and an unlinked local record with
    the same mapped values: one record, linked rather than duplicated. This is how a
    re-connect (a new integration row: the old links and cursors went with the old one)
    finds the meetings the hub imported from that calendar before; the events the hub
    created there come back by their hub id. Each local record is adopted once."""
    index = job.adoptable.get(pair.local_type)
    if index is None:
        linked = ExternalLink.objects.filter(tenant_id=job.tenant_id, integration=job.plan.integration,
                                             local_type=pair.local_type).values("local_id")
        index = job.adoptable[pair.local_type] = {}
        unlinked = (local_model(pair.local_type).objects.filter(tenant_id=job.tenant_id).exclude(pk__in=linked)
                    .order_by("created_at")[:MAX_ADOPTABLE])
        for candidate in unlinked:
            index.setdefault(merge.identity(local_values(pair, job, candidate)), []).append(candidate.pk)
    candidates = index.get(merge.identity({k: v for k, v in remote.items() if k not in pair.mapping.import_only}))
    candidates = candidates or []
    while candidates:
        instance = local_load(job, pair.local_type, candidates.pop(0))
        if instance is not None and link_for_local(integration=job.plan.integration, local_type=pair.local_type,
                                                   local_id=instance.pk) is None:
            return instance
    return None


def create_local(job: Job, pair: Pair, container: str, change: RemoteChange, remote: dict, remote_hash: str,
                 *, link: ExternalLink | None) -> None:
    instance = entity_create(tenant=job.tenant, entity_type=pair.local_type, data=as_entity_data(remote),
                             source=job.source)
    # What we wrote to each side is the mapped remote values: both hashes are theirs.
    values = {"remote_container": container, "remote_version": change.version, "local_hash": remote_hash,
              "remote_hash": remote_hash, "last_synced": remote}
    if link is None:  # a new remote record and a new local one: nothing to look up, one INSERT
        ExternalLink.objects.create(tenant_id=job.tenant_id, integration=job.plan.integration,
                                    local_type=pair.local_type, local_id=instance.pk, remote_type=pair.remote_type,
                                    remote_id=change.remote_id, seen_at=timezone.now(), **values)
    else:  # linked, but the local record was deleted here meanwhile: linked to its re-creation
        link_upsert(integration=job.plan.integration, local_type=pair.local_type, local_id=instance.pk,
                    remote_type=pair.remote_type, remote_id=change.remote_id, **values)
    job.report.created += 1
    job.report.sample({"action": "create", "remoteId": change.remote_id, "localId": str(instance.pk), "values": remote})


def create_locals(job: Job, pair: Pair, container: str, new: list[NewRecord]) -> None:
    """The page's new records as ``create_local`` makes them, in bulk: the meetings and their
    events (entities.services.entity_bulk_create), then their links in one INSERT. A record
    the entity's rules refuse fails alone, with the message the one-by-one path gives."""
    if not new:
        return
    results = entity_bulk_create(tenant=job.tenant, entity_type=pair.local_type,
                                 items=[as_entity_data(n.remote) for n in new], source=job.source)
    now, links = timezone.now(), []
    for record, result in zip(new, results, strict=True):
        change = record.change
        if isinstance(result, ValidationError):
            job.report.fail(entity_id=change.remote_id, entity_name=change_name(change), error=describe(result),
                            said=described_words(result))
            continue
        links.append(ExternalLink(
            tenant_id=job.tenant_id, integration=job.plan.integration, local_type=pair.local_type, local_id=result.pk,
            remote_type=pair.remote_type, remote_id=change.remote_id, seen_at=now, remote_container=container,
            remote_version=change.version, local_hash=record.remote_hash, remote_hash=record.remote_hash,
            last_synced=record.remote))
        job.report.created += 1
        job.report.sample({"action": "create", "remoteId": change.remote_id, "localId": str(result.pk),
                           "values": record.remote})
    ExternalLink.objects.bulk_create(links)


def update_local(job: Job, pair: Pair, container: str, change: RemoteChange, instance: EntityModel,
                 base: dict[str, Any], remote: dict[str, Any], remote_hash: str,
                 *, link: ExternalLink | None = None, work: PageWork | None = None) -> None:
    """``link`` and ``work`` given: the record's own link, updated with the page's others."""
    current = local_values(pair, job, instance)
    current.update({k: base.get(k) for k in pair.mapping.import_only})  # the provider's alone: unchanged here
    if pair.exports:
        result = merge.three_way(base=base, local=current, remote=remote, policy=job.plan.integration.conflict_policy,
                                 local_modified=instance.updated_at, remote_modified=change.modified_at)
        to_local, to_remote, conflicts = result.to_local, result.to_remote, result.conflicts
    else:  # import only: the provider is the source of truth
        to_local = {k: v for k, v in remote.items() if not merge.same(current.get(k), v)}
        to_remote, conflicts = {}, []
    for conflict in conflicts:
        job.report.conflict({"entityId": str(instance.pk), "remoteId": change.remote_id, **conflict.as_log()})
    if to_local:
        instance = entity_update(instance=instance, data=as_entity_data(to_local), tenant=job.tenant,
                                 source=job.source)
        job.report.updated += 1
        job.report.sample({"action": "update", "remoteId": change.remote_id, "localId": str(instance.pk),
                           "values": to_local})
    else:
        job.report.skipped += 1
    if to_remote:  # local values the provider has yet to take: the export queue carries them
        pending_upsert(tenant_id=job.tenant_id, items=[Pending(job.plan.integration.pk, pair.local_type, instance.pk,
                                                               "upsert", entity_snapshot(instance))])
    # The base is what the provider holds now: local wins not yet exported still differ from it.
    if link is not None and work is not None:
        link.remote_container, link.remote_version, link.last_synced = container, change.version, remote
        link.local_hash = link.remote_hash = remote_hash
        work.link_updates.append(link)
        return
    link_upsert(integration=job.plan.integration, local_type=pair.local_type, local_id=instance.pk,
                remote_type=pair.remote_type, remote_id=change.remote_id, remote_container=container,
                remote_version=change.version, local_hash=remote_hash, remote_hash=remote_hash, last_synced=remote)


def remove_linked(job: Job, link: ExternalLink | None, *, remote_id: str, work: PageWork | None = None) -> None:
    """A remote removal deletes the linked local record (nothing linked: nothing to do)."""
    if link is None:
        job.report.skipped += 1
        return
    load = work.instance if work is not None else local_load
    instance = load(job, link.local_type, link.local_id)
    if instance is not None:
        entity_delete(instance=instance, source=job.source)
    link_delete(link=link)
    job.report.deleted += 1
    job.report.sample({"action": "delete", "remoteId": remote_id, "localId": str(link.local_id), "values": {}})


def remove_unseen(job: Job, pair: Pair, container: str, *, since: datetime) -> None:
    """The end of a full listing: linked records the listing did not return are gone remotely."""
    from django.db.models import Q

    gone = ExternalLink.objects.filter(
        Q(seen_at__isnull=True) | Q(seen_at__lt=since), tenant_id=job.tenant_id, integration=job.plan.integration,
        local_type=pair.local_type, remote_type=pair.remote_type, remote_container=container,
    )
    for link in list(gone):
        try:
            with transaction.atomic():
                remove_linked(job, link, remote_id=link.remote_id)
        except Exception as exc:  # noqa: BLE001 - one bad record fails alone
            job.report.fail(entity_id=link.remote_id, entity_name=str(link.local_id), error=describe(exc),
                            said=described_words(exc))
