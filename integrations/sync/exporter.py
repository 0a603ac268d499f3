"""Export: local changes -> the provider (issue 11 item 4).

(Past 400 lines because the per-record decisions -- create, update, merge after a version
conflict, a storage file's new content and its conflict -- read best side by side, and the
batch path's bookkeeping is those same steps; its provider calls live in export_batch.)

Two halves, joined by the export queue (``SyncPending``, integrations.sync.queue):

1. ``on_entity_events`` -- an entity-event subscriber (registered in
   ``IntegrationsConfig.ready``): in the outbox drain's transaction it queues one row per
   changed record for every connected integration that exports that record's type,
   skipping events that integration's own import caused (``source``), and -- for a
   ``realtime`` integration -- wakes the export task by name after commit.
2. ``export_pending`` -- drains the queue: rows are claimed in small batches with
   ``FOR UPDATE SKIP LOCKED`` and a lease (``next_attempt_at`` moved ahead) in a short
   transaction; each provider call happens with no transaction open; then the link upsert
   and the row's deletion commit together. A failed row stays, with ``attempts``,
   ``next_attempt_at`` (core.retry backoff) and ``last_error``.

Per record: filters on the local record -> ``mapping.to_remote`` -> ``adapter.complete_record``
(the integration's settings: tax rate, due days, ledger accounts) -> ``push_create`` (the
hub's id stamped on the remote object) / ``push_update`` (conditional on the link's
version; a ``VersionConflict`` imports the container's changes -- merging them -- and
retries once) / ``push_delete``. ``prepare`` decides, ``push_one`` pushes, ``pushed`` records.

An adapter with batch writes (``push_batch_max``: HubSpot) takes the creates and updates of a
claim together (``export_batched`` + integrations.sync.export_batch); each row is prepared and
recorded exactly as above, only the provider calls are shared.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_noop as N_

from core import retry
from core.kick import kick_soon
from core.tenant_context import tenant_scope
from core.words import words
from entities.models import EntityEvent
from entities.services import entity_snapshot, entity_update
from integrations.models import ExternalLink, Integration, SyncPending
from integrations.providers.adapter import (
    BatchItem,
    CredentialsRefused,
    RecordRefused,
    RemoteChange,
    RetryLater,
    VersionConflict,
)
from integrations.sync import export_batch, files, merge, owners
from integrations.sync.importer import (
    Job,
    as_entity_data,
    describe,
    described_words,
    import_container,
    local_load,
    local_model,
    local_values,
)
from integrations.sync.plan import Pair, plan_for
from integrations.sync.queue import Pending, pending_upsert
from integrations.sync.runs import run_progress
from integrations.sync_state import content_hash, link_delete, link_for_local, link_upsert

log = logging.getLogger("architect_studio.sync")

#: The export task, woken by name (core.kick: at most one queued per tenant).
EXPORT_TASK = "integrations.tasks.sync_export"
BATCH = 20
#: A claimed row is invisible to other drains this long (a worker killed mid-push loses it for this long).
LEASE = timedelta(minutes=5)


def retry_delay(attempts: int, retry_after: float | None = None) -> timedelta:
    """Exponential backoff, never sooner than the provider's ``Retry-After``."""
    return timedelta(seconds=max(retry.exponential(attempts, base=30, cap=3600), retry_after or 0))


# --------------------------------------------------------------------------- 1. the subscriber
def exporting_integrations(tenant_id: uuid.UUID) -> list[tuple[Integration, Any]]:
    found = []
    for integration in Integration.objects.filter(tenant_id=tenant_id, status=Integration.Status.CONNECTED):
        if not (integration.sync_settings or {}).get("enabled"):
            continue
        plan = plan_for(integration)
        if plan.exporting():
            found.append((integration, plan))
    return found


def on_entity_events(events: Sequence[EntityEvent]) -> None:
    """Queue exports for a drained batch of one tenant's entity events (idempotent: upserts)."""
    by_tenant: dict[uuid.UUID, list[EntityEvent]] = {}
    for event in events:
        if event.event in ("created", "updated", "deleted"):
            by_tenant.setdefault(event.tenant_id, []).append(event)
    for tenant_id, tenant_events in by_tenant.items():
        wake = False
        items: list[Pending] = []
        for integration, plan in exporting_integrations(tenant_id):
            source = f"integration:{integration.pk}"
            for event in tenant_events:
                pair = plan.export_pair(event.entity_type)
                if event.source == source or pair is None or pair.owner_queued:
                    continue  # its own import's write (no echo), a type it does not export, or one its owner queues
                items.append(Pending(integration.pk, event.entity_type, event.entity_id,
                                     "delete" if event.event == "deleted" else "upsert", dict(event.data or {})))
                wake = wake or plan.frequency == "realtime"
        pending_upsert(tenant_id=tenant_id, items=items)
        if items and wake:
            tid = str(tenant_id)
            transaction.on_commit(lambda tid=tid: kick_soon(EXPORT_TASK, tid))


def queue_unlinked(job: Job, pair: Pair) -> int:
    """Local records of ``pair`` without a link (scheduled runs, the first run): queued."""
    integration = job.plan.integration
    linked = ExternalLink.objects.filter(tenant_id=job.tenant_id, integration=integration,
                                         local_type=pair.local_type).values("local_id")
    queued = 0
    with tenant_scope(job.tenant_id):
        ids = list(local_model(pair.local_type).objects.filter(tenant_id=job.tenant_id)
                   .exclude(pk__in=linked).values_list("pk", flat=True)[:10_000])
        pending = SyncPending.objects.filter(tenant_id=job.tenant_id, integration=integration,
                                             local_type=pair.local_type, local_id__in=ids).values_list("local_id", flat=True)
        fresh = set(ids) - set(pending)
        queued = pending_upsert(tenant_id=job.tenant_id,
                                items=[Pending(integration.pk, pair.local_type, pk, "upsert", {}) for pk in fresh])
    return queued


# --------------------------------------------------------------------------- 2. the drain
def pair_rank(job: Job) -> Case:
    """Rows in the order of the settings' entity pairs (clients before the payments that refer
    to them: a ``link`` reference resolves in the same run), then oldest first."""
    order = [pair.local_type for pair in job.plan.exporting()]
    return Case(*(When(local_type=t, then=Value(i)) for i, t in enumerate(order)), default=Value(len(order)))


def claim_batch(job: Job, size: int = BATCH) -> list[SyncPending]:
    now = timezone.now()
    with tenant_scope(job.tenant_id):
        rows = list(SyncPending.objects.select_for_update(skip_locked=True)
                    .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
                            tenant_id=job.tenant_id, integration=job.plan.integration)
                    .order_by(pair_rank(job), "queued_at")[:size])
        if rows:
            SyncPending.objects.filter(pk__in=[r.pk for r in rows]).update(next_attempt_at=now + LEASE)
    return rows


def export_pending(job: Job) -> None:
    """Drain this integration's due rows; provider calls with no transaction open. An adapter
    with batch writes (``push_batch``) gets its claims in batches of its maximum."""
    batched = job.plan.adapter.batches_writes
    while True:
        rows = claim_batch(job, max(BATCH, job.plan.adapter.push_batch_max) if batched else BATCH)
        if not rows:
            return
        if batched:
            export_batched(job, rows)
        else:
            for row in rows:
                job.done += 1
                try:
                    export_one(job, row)
                except CredentialsRefused as exc:  # every other row would meet it too: the run stops
                    record_failure(job, row, exc)
                    release(job, rows[rows.index(row) + 1:])
                    raise
                except Exception as exc:  # noqa: BLE001 - the row stays for its retry; the run goes on
                    record_failure(job, row, exc)
        if job.entry is not None:
            with tenant_scope(job.tenant_id):
                run_progress(entry=job.entry, done=job.done, report=job.report)


def export_batched(job: Job, rows: list[SyncPending]) -> None:
    """The batch path: each run of claimed rows of one entity type (claims come in pair order,
    so a payment's client is written before the payment is mapped) is prepared row by row as
    ``export_one`` prepares it, its creates and updates go out together (export_batch: one
    ``push_batch`` call per container and ``push_batch_max``), then each row's result is
    settled as a single push's would be. Refused credentials stop the run as they do there:
    the rows not tried yet go back to the queue untouched."""
    start = 0
    while start < len(rows):
        end = start + 1
        while end < len(rows) and rows[end].local_type == rows[start].local_type:
            end += 1
        ready: list[Outgoing] = []
        for index in range(start, end):
            job.done += 1
            try:
                out = prepare(job, rows[index])  # a delete or a skip is done here
            except CredentialsRefused as exc:
                record_failure(job, rows[index], exc)
                release(job, [o.row for o in ready] + rows[index + 1:])
                raise
            except Exception as exc:  # noqa: BLE001 - the row stays for its retry; the run goes on
                record_failure(job, rows[index], exc)
                continue
            if out is not None:
                ready.append(out)
        work = [(o.container, BatchItem(record=o.record, hub_id=str(o.local_id),
                                        remote_id=o.link.remote_id if o.link else None,
                                        version=o.link.remote_version if o.link else None)) for o in ready]
        settled: set[int] = set()
        for chunk, results in export_batch.pushes(job.plan.adapter, job.client, work):
            refused = None
            for index, result in zip(chunk, results, strict=True):
                settled.add(index)
                try:
                    settle(job, ready[index], result)
                except CredentialsRefused as exc:
                    record_failure(job, ready[index].row, exc)
                    refused = exc
                except Exception as exc:  # noqa: BLE001 - as a single push's failure
                    record_failure(job, ready[index].row, exc)
            if refused is not None:
                release(job, [o.row for i, o in enumerate(ready) if i not in settled] + rows[end:])
                raise refused
        start = end


def settle(job: Job, out: Outgoing, result: RemoteChange | Exception) -> None:
    """One row's result from a batch, as ``push_one`` takes a single push's: a version
    conflict merged and pushed once more on its own, a failure raised for ``record_failure``."""
    if isinstance(result, VersionConflict) and out.link is not None:
        result = update_after_conflict(job, out.pair, out.row, out.link)
        if result is None:
            return
    if isinstance(result, Exception):
        raise result
    pushed(job, out, result)


def export_one(job: Job, row: SyncPending) -> None:
    out = prepare(job, row)
    if out is not None:
        push_one(job, out)


@dataclass
class Outgoing:
    """A row decided and ready to push: the local record mapped and completed (``record``),
    a create (``link`` None, into ``container``) or an update of ``link``; ``current`` (the
    local values) and ``snapshot`` are what ``record_success`` keeps of a create, ``new_file``
    says an update writes a storage provider's file."""

    row: SyncPending
    pair: Pair
    local_id: Any
    record: dict[str, Any]
    snapshot: dict[str, Any]
    current: dict[str, Any]
    link: ExternalLink | None
    container: str
    new_file: bool = False
    modified: Any = None  # the local record's updated_at (a file conflict is decided by it)


def prepare(job: Job, row: SyncPending) -> Outgoing | None:
    """Everything before a create or update is pushed. None: the row is done already --
    a delete pushed, or skipped (no longer exported, filtered out, held by the provider)."""
    pair = job.plan.export_pair(row.local_type)
    integration = job.plan.integration
    with tenant_scope(job.tenant_id):
        link = link_for_local(integration=integration, local_type=row.local_type, local_id=row.local_id)
        instance = local_load(job, row.local_type, row.local_id) if row.operation == "upsert" else None
    if pair is None or (row.operation == "upsert" and instance is None):
        finish_row(job, row)  # no longer exported, or deleted since (its delete row follows)
        job.report.skipped += 1
        return None
    if row.operation == "delete":
        export_delete(job, row, link)
        return None
    with tenant_scope(job.tenant_id):
        snapshot = entity_snapshot(instance)
        current = local_values(pair, job, instance)
    if not pair.filters.matches(snapshot) or (
            link is None and not job.plan.adapter.syncs_record(pair.local_type, snapshot,
                                                               job.plan.integration.settings or {})):
        finish_row(job, row)  # filtered out, or of a kind the settings do not sync (storage)
        job.report.skipped += 1
        return None
    ctx = job.plan.context()
    record = outgoing(job, pair, pair.mapping.to_remote(snapshot, ctx), row.local_id, create=link is None)
    if link is None and not pair.creates_remote:
        finish_row(job, row)  # autoCreate<Remote>s is off: a new local record creates nothing there
        job.report.skipped += 1
        return None
    if link is None:
        home = pair.home_container if pair.containers else job.plan.home_container
        return Outgoing(row, pair, instance.pk, record, snapshot, current, None, home)
    new_file = job.plan.adapter.carries_files and files.file_changed(snapshot, link)
    if not new_file and provider_holds(pair, current, link.last_synced) and set(current) <= set(link.last_synced):
        finish_row(job, row)  # the provider holds these values already
        job.report.skipped += 1
        return None
    return Outgoing(row, pair, instance.pk, record, snapshot, current, link, link.remote_container,
                    new_file=new_file, modified=instance.updated_at)


def push_one(job: Job, out: Outgoing) -> None:
    """A create (``push_create``, the hub's id stamped) or an update (``push_update``,
    conditional on the link's version; a ``VersionConflict`` merges and retries once)."""
    row, link, snapshot = out.row, out.link, out.snapshot
    if link is None:
        if job.plan.adapter.carries_files:  # a document's file into the folder its structure names
            remote = files.upload_new(job, record=out.record, snapshot=snapshot, hub_id=str(out.local_id))
        else:
            remote = job.plan.adapter.push_create(job.client, container=out.container, record=out.record,
                                                  hub_id=str(out.local_id))
        pushed(job, out, remote)
        return
    try:
        if out.new_file:  # the document's file changed since its upload: a new version of the remote file
            remote = files.upload_changed(job, link=link, record=out.record, snapshot=snapshot,
                                          version=link.remote_version)
        else:
            remote = job.plan.adapter.push_update(job.client, container=link.remote_container,
                                                  remote_id=link.remote_id, record=out.record,
                                                  version=link.remote_version)
    except VersionConflict as conflict:
        if out.new_file:
            remote, snapshot = file_after_conflict(job, out.pair, row, link, conflict, local_modified=out.modified)
        else:
            remote = update_after_conflict(job, out.pair, row, link)
        if remote is None:
            return
    pushed(job, out, remote, snapshot=snapshot)


def pushed(job: Job, out: Outgoing, remote: RemoteChange, *, snapshot: dict[str, Any] | None = None) -> None:
    """The provider took the row's create or update: its link recorded, the row done, counted.
    Which file the provider holds changes only when a file was written (a metadata write keeps it)."""
    if out.link is None:
        record_success(job, out.row, out.pair, out.local_id, out.current, remote, container=out.container,
                       snapshot=out.snapshot)
        job.report.created += 1
        return
    record_success(job, out.row, out.pair, out.local_id, None, remote, container=out.link.remote_container,
                   snapshot=snapshot if out.new_file else None)
    job.report.updated += 1


def outgoing(job: Job, pair: Pair, record: dict[str, Any], local_id: Any, *, create: bool) -> dict[str, Any]:
    """The mapped record completed by the adapter with the integration's settings."""
    return job.plan.adapter.complete_record(record, local_type=pair.local_type, remote_type=pair.remote_type,
                                            settings=job.plan.integration.settings or {}, hub_id=str(local_id),
                                            create=create)


def provider_holds(pair: Pair, current: dict, synced: dict) -> bool:
    """The provider holds the local values already (fields only the provider sets left out)."""
    return all(merge.same(current.get(k), v) for k, v in synced.items() if k not in pair.mapping.import_only)


def update_after_conflict(job: Job, pair: Pair, row: SyncPending, link: ExternalLink) -> RemoteChange | None:
    """The provider's copy changed since our version: import it (three-way merge into the
    local record, conflicts by policy), then push the merged record once more. An export-only
    pair never reads the provider: the local record is the truth, pushed unconditionally."""
    if not pair.imports:
        with tenant_scope(job.tenant_id):
            instance = local_load(job, row.local_type, row.local_id)
            snapshot = entity_snapshot(instance) if instance is not None else None
        if snapshot is None:
            finish_row(job, row)
            return None
        return job.plan.adapter.push_update(job.client, container=link.remote_container, remote_id=link.remote_id,
                                            record=outgoing(job, pair, pair.mapping.to_remote(snapshot, job.plan.context()),
                                                            row.local_id, create=False), version=None)
    import_container(job, pair, link.remote_container)
    with tenant_scope(job.tenant_id):
        link = link_for_local(integration=job.plan.integration, local_type=row.local_type, local_id=row.local_id)
        instance = local_load(job, row.local_type, row.local_id)
        if link is None or instance is None:  # removed remotely: the import deleted it here too
            finish_row(job, row)
            job.report.skipped += 1
            return None
        snapshot = entity_snapshot(instance)
        current = local_values(pair, job, instance)
    if provider_holds(pair, current, link.last_synced):
        finish_row(job, row)
        job.report.skipped += 1
        return None
    return job.plan.adapter.push_update(job.client, container=link.remote_container, remote_id=link.remote_id,
                                        record=outgoing(job, pair, pair.mapping.to_remote(snapshot, job.plan.context()),
                                                        row.local_id, create=False),
                                        version=link.remote_version)


def file_after_conflict(job: Job, pair: Pair, row: SyncPending, link: ExternalLink, conflict: VersionConflict, *,
                        local_modified: Any) -> tuple[RemoteChange | None, dict[str, Any] | None]:
    """The document's file changed and so did the provider's copy since our version: the
    provider's changes are imported first (metadata merged), then the integration's
    ``conflictPolicy`` decides the file -- local: uploaded over the provider's new version;
    remote: the document's file becomes the provider's. An export-only pair never reads the
    provider: the document's file is uploaded unconditionally. Returns the written remote file
    (None: nothing more to record) and the snapshot it was written from."""
    if pair.imports:
        import_container(job, pair, link.remote_container)
    with tenant_scope(job.tenant_id):
        link = link_for_local(integration=job.plan.integration, local_type=row.local_type, local_id=row.local_id)
        instance = local_load(job, row.local_type, row.local_id)
        snapshot = entity_snapshot(instance) if instance is not None else None
    if link is None or instance is None or snapshot is None:  # removed remotely: the import deleted it here too
        finish_row(job, row)
        job.report.skipped += 1
        return None, None
    record = outgoing(job, pair, pair.mapping.to_remote(snapshot, job.plan.context()), row.local_id, create=False)
    if not pair.imports:
        return files.upload_changed(job, link=link, record=record, snapshot=snapshot, version=None), snapshot
    if not files.file_changed(snapshot, link):
        finish_row(job, row)
        job.report.skipped += 1
        return None, None
    winner = merge.conflict_winner(policy=job.plan.integration.conflict_policy, local_modified=local_modified,
                                   remote_modified=conflict.modified_at)
    remote_url = (link.last_synced or {}).get("fileUrl") or ""
    job.report.conflict({"entityId": str(row.local_id), "remoteId": link.remote_id, "field": "file",
                         "localValue": snapshot.get("fileUrl"), "remoteValue": remote_url, "winner": winner,
                         "detail": str(conflict)[:200]})
    if winner == "local":
        return files.upload_changed(job, link=link, record=record, snapshot=snapshot,
                                    version=link.remote_version), snapshot
    with tenant_scope(job.tenant_id):  # the provider's file is the document's now (no export echoes it)
        instance = entity_update(instance=instance, data={"file_url": remote_url}, tenant=job.tenant,
                                 source=job.source)
        ExternalLink.objects.filter(pk=link.pk, tenant_id=link.tenant_id).update(
            file_fingerprint=files.file_fingerprint(entity_snapshot(instance), link.last_synced or {}))
        finish_row(job, row)
    job.report.skipped += 1
    return None, None


def export_delete(job: Job, row: SyncPending, link: ExternalLink | None) -> None:
    if link is None:
        finish_row(job, row)
        job.report.skipped += 1
        return
    try:
        job.plan.adapter.push_delete(job.client, container=link.remote_container, remote_id=link.remote_id,
                                     version=link.remote_version)
    except VersionConflict as exc:
        # Changed remotely after our last sync, deleted here: the deletion stands (logged as a conflict).
        job.report.conflict({"entityId": str(row.local_id), "remoteId": link.remote_id, "field": None,
                             "localValue": "deleted", "remoteValue": "changed", "winner": "local",
                             "detail": str(exc)[:200]})
        job.plan.adapter.push_delete(job.client, container=link.remote_container, remote_id=link.remote_id,
                                     version=None)
    with tenant_scope(job.tenant_id):
        link_delete(link=link)
        finish_row(job, row)
    job.report.deleted += 1


def record_success(job: Job, row: SyncPending, pair: Pair, local_id: uuid.UUID, current: dict | None,
                   remote: RemoteChange, *, container: str, snapshot: dict[str, Any] | None = None) -> None:
    """The written record's link: its version, the values both sides hold now and -- for a
    storage provider, from ``snapshot`` (the document as it was written) -- which file it holds."""
    ctx = job.plan.context()
    created = current is not None
    with tenant_scope(job.tenant_id):
        if current is None:
            instance = local_load(job, pair.local_type, local_id)
            current = local_values(pair, job, instance) if instance is not None else {}
        remote_values = pair.mapping.to_local(remote.raw, ctx) if remote.raw else current
        if created:
            current = write_back_assigned(job, pair, local_id, current, remote_values)
        link = link_upsert(integration=job.plan.integration, local_type=pair.local_type, local_id=local_id,
                           remote_type=pair.remote_type, remote_id=remote.remote_id, remote_container=container,
                           remote_version=remote.version, local_hash=content_hash(current),
                           remote_hash=content_hash(remote_values), last_synced=remote_values)
        marks: dict[str, Any] = {"seen_at": timezone.now()}
        if job.plan.adapter.carries_files and snapshot is not None:
            if not snapshot.get("fileUrl"):  # no file of its own: the provider's link written back is its file
                written = local_load(job, pair.local_type, local_id)
                snapshot = entity_snapshot(written) if written is not None else snapshot
            marks["file_fingerprint"] = files.file_fingerprint(snapshot, remote_values)
        ExternalLink.objects.filter(pk=link.pk, tenant_id=link.tenant_id).update(**marks)
        owner = owners.owner_of(pair.local_type) if pair.owner_queued else None
        if owner is not None:  # e.g. the message becomes "sent" with the provider's id
            item = owner.sent(integration=job.plan.integration, local_id=local_id, remote=remote)
            if item:
                job.report.item(owner.log_key, item)
        finish_row(job, row)


def write_back_assigned(job: Job, pair: Pair, local_id: uuid.UUID, current: dict[str, Any],
                        remote_values: dict[str, Any]) -> dict[str, Any]:
    """Values the provider assigned when it created the object (a payment page's link) that the
    local record lacks are written to it -- as the integration (``source``), so no export echoes
    it -- and the SPA sees them. Only empty local fields are filled: nothing the user typed is
    overwritten. Returns the local values after the write. Inside the tenant's transaction.
    Emptiness is the record's own (its snapshot): ``current`` leaves out the fields only the
    provider sets, and a document's own ``fileUrl`` or ``kind`` is not the provider's to replace."""
    instance = local_load(job, pair.local_type, local_id)
    if instance is None:
        return current
    local = {**entity_snapshot(instance), **current}
    assigned = {k: v for k, v in remote_values.items()
                if v not in (None, "", [], {}) and local.get(k) in (None, "", [], {})}
    if not assigned:
        return current
    entity_update(instance=instance, data=as_entity_data(assigned), tenant=job.tenant, source=job.source)
    return {**current, **assigned}


def release(job: Job, rows: list[SyncPending]) -> None:
    """Claimed rows not tried: due again at once (the lease would hide them for minutes)."""
    if rows:
        with tenant_scope(job.tenant_id):
            SyncPending.objects.filter(pk__in=[r.pk for r in rows], tenant_id=job.tenant_id).update(next_attempt_at=None)


def finish_row(job: Job, row: SyncPending) -> None:
    """Delete the row -- unless the record changed again while we pushed (a newer upsert
    refreshed ``queued_at``): then it stays, due now."""
    with tenant_scope(job.tenant_id):
        deleted, _ = SyncPending.objects.filter(pk=row.pk, tenant_id=row.tenant_id, queued_at=row.queued_at).delete()
        if not deleted:
            SyncPending.objects.filter(pk=row.pk, tenant_id=row.tenant_id).update(next_attempt_at=None)


def record_failure(job: Job, row: SyncPending, exc: Exception) -> None:
    """A failed row: retried with backoff (``Retry-After`` honoured), unless the provider
    refused the record itself (``RecordRefused``: a 4xx) or it ran out of the adapter's
    ``max_export_attempts`` -- then it is a failed item and leaves the queue. The record's
    owner (a standing export's) hears either way, in the same transaction."""
    attempts = row.attempts + 1
    error = str(exc) if isinstance(exc, RecordRefused | RetryLater) else describe(exc)
    said = described_words(exc)
    limit = job.plan.adapter.max_export_attempts
    final = isinstance(exc, RecordRefused) or (limit is not None and attempts >= limit
                                              and not isinstance(exc, CredentialsRefused))
    if final and not isinstance(exc, RecordRefused):
        said = words(N_("gave up after %(attempts)s attempts: %(error)s"), attempts=attempts, error=said or error)
        error = f"gave up after {attempts} attempts: {error}"
    log.warning("sync export of %s:%s to %s failed (attempt %d%s): %s", row.local_type, row.local_id,
                job.plan.integration.pk, attempts, ", final" if final else "", error)
    pair = job.plan.export_pair(row.local_type)
    owner = owners.owner_of(row.local_type) if pair is not None and pair.owner_queued else None
    retry_at = None if final else timezone.now() + retry_delay(attempts, getattr(exc, "retry_after", None))
    with tenant_scope(job.tenant_id):
        extra = owner.failed(integration=job.plan.integration, local_id=row.local_id, error=error, final=final,
                             attempts=attempts, retry_at=retry_at) if owner is not None else None
        job.report.fail(entity_id=row.local_id, entity_name=str((row.snapshot or {}).get("title") or row.local_type),
                        error=error, extra=extra, said=said)
        if final:
            finish_row(job, row)
            return
        SyncPending.objects.filter(pk=row.pk, tenant_id=row.tenant_id, queued_at=row.queued_at).update(
            attempts=attempts, last_error=error[:2000], next_attempt_at=retry_at,
        )
