"""A sync run's life: its IntegrationLog row (seed ד), progress, events, the end, the sweeper.

A run is a row before anything else happens: ``run_start`` inserts the ``running`` log
(one per integration: the partial unique constraint ``unique_running_sync_per_integration``
refuses a second, and the caller learns the running one's id). The worker that executes it
first claims it (``run_claim``: a compare-and-set on ``heartbeat_at``), refreshes the
heartbeat with every page (``run_progress``), and ends it with ``run_finish``. A worker
killed mid-run leaves a ``running`` row whose heartbeat goes stale: ``runs_sweep_stale``
re-queues it (the task resumes from the stored cursors; links make a re-run safe) or,
after ``MAX_RESUMES``, marks it failed.

Events go to the tenant's browsers after the transaction that wrote the row commits
(core.realtime.publish): integration.sync_started, integration.sync_progress,
integration.sync_completed (with the summary) and integration.sync_failed.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from core import kick
from core.realtime import publish
from core.tenant_context import operator_scope
from core.words import Words, english, is_words, say, words_of
from integrations.audit import ERROR_WORDS
from integrations.models import Integration, IntegrationLog

log = logging.getLogger("architect_studio.sync")

#: The Celery task that executes a run, woken by name (services never import tasks).
RUN_TASK = "integrations.tasks.sync_run"
RUNNING = "running"
#: Caps of what one log row keeps (one bad record never fails the run; a million do not bloat it).
MAX_FAILED_ITEMS = 100
MAX_CONFLICTS = 100
MAX_SAMPLES = 50
MAX_NOTES = 50
MAX_RESUMES = 3


def stale_after() -> timedelta:
    """A running run whose heartbeat is older than this has lost its worker."""
    return timedelta(seconds=settings.SYNC_RUN_STALE_SECONDS)


class RunBusy(Exception):
    """Another run of this integration is running (``log_id`` is its row)."""

    def __init__(self, log_id: uuid.UUID | None):
        super().__init__(f"a sync run is already running ({log_id})")
        self.log_id = log_id


@dataclass
class RunReport:
    """What a run did: the seed's SyncSummary counters, failedItems, conflicts (capped)."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0
    failed: int = 0
    conflicts: int = 0
    failed_items: list[dict[str, Any]] = field(default_factory=list)
    conflict_items: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)  # dry runs: what would change
    notes: list[Any] = field(default_factory=list)  # mapping notes (currency rates used)
    #: What owners of exported records (integrations.sync.owners) asked the log to keep, by key.
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.deleted + self.skipped + self.failed

    def summary(self) -> dict[str, int]:
        return {"total": self.total, "created": self.created, "updated": self.updated, "deleted": self.deleted,
                "skipped": self.skipped, "failed": self.failed, "conflicts": self.conflicts}

    def fail(self, *, entity_id: Any, entity_name: str, error: str, extra: dict[str, Any] | None = None,
             said: Words | None = None) -> None:
        """One failed record. ``error`` is the English text every reader of the log has always
        had; ``said`` (core.words), when the error can say itself, is kept beside it as
        ``errorWords`` so a page shows it in its reader's language (:func:`failed_item_text`)."""
        self.failed += 1
        if len(self.failed_items) < MAX_FAILED_ITEMS:
            item = {"entityId": str(entity_id), "entityName": entity_name[:200], "error": error[:500], **(extra or {})}
            if said is not None:
                item[ERROR_WORDS] = said
            self.failed_items.append(item)

    def item(self, key: str, item: dict[str, Any]) -> None:
        """An exported record's line in the run's request snapshot (``<key>s``, the last as ``<key>``)."""
        found = self.items.setdefault(key, [])
        if len(found) < MAX_SAMPLES:
            found.append(item)

    def conflict(self, item: dict[str, Any]) -> None:
        self.conflicts += 1
        if len(self.conflict_items) < MAX_CONFLICTS:
            self.conflict_items.append(item)

    def note(self, notes: list[Any]) -> None:
        """Mapping notes (a currency rate used...), kept up to MAX_NOTES, each once."""
        for note in notes:
            if len(self.notes) < MAX_NOTES and note not in self.notes:
                self.notes.append(note)

    def sample(self, item: dict[str, Any]) -> None:
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(item)

    @property
    def status(self) -> str:
        return Integration.SyncStatus.PARTIAL if self.failed else Integration.SyncStatus.SUCCESS


def failed_item_text(item: Any) -> str:
    """A stored failed item's error in the active language: its words when it kept them,
    else the text it kept (older rows; a provider's own answer, which is data)."""
    if not isinstance(item, dict):
        return ""
    return say(item.get(ERROR_WORDS)) or str(item.get("error") or "")


def run_error_text(entry: IntegrationLog) -> str:
    """A finished run's error in the active language (its words kept in the response
    snapshot by :func:`run_finish`), else the stored ``error_message``."""
    kept = (entry.response_snapshot or {}).get(ERROR_WORDS) if isinstance(entry.response_snapshot, dict) else None
    return say(kept) or (entry.error_message or "")


def last_error_text(integration: Integration) -> str | None:
    """The integration's ``last_error`` in the active language: its words while they still say
    the stored text (a writer that changed ``last_error`` alone leaves them stale), else the text."""
    kept, text = integration.last_error_words, integration.last_error
    if text and is_words(kept) and english(kept)[:2000] == text:
        return say(kept)
    return text


def action_for(direction: str) -> str:
    """The seed's log action: ``import`` / ``export`` for one-way integrations, else ``sync``."""
    return {"import": IntegrationLog.Action.IMPORT, "export": IntegrationLog.Action.EXPORT}.get(
        direction, IntegrationLog.Action.SYNC)


def log_direction(direction: str) -> str:
    """The seed's IntegrationLog.direction ('incoming' | 'outgoing'): an export run sends, an
    import or a two-way run (which imports first; ``action`` "sync" says it is both) receives."""
    return "outgoing" if direction == "export" else "incoming"


def _event_base(entry: IntegrationLog) -> dict[str, Any]:
    return {"integrationId": str(entry.integration_id), "logId": str(entry.pk), "action": entry.action}


def running_log_id(*, integration: Integration) -> uuid.UUID | None:
    return (IntegrationLog.objects.filter(tenant_id=integration.tenant_id, integration=integration, status=RUNNING)
            .values_list("pk", flat=True).first())


def run_start(*, integration: Integration, direction: str, options: dict[str, Any]) -> IntegrationLog:
    """Insert the ``running`` row (inside the caller's tenant transaction); raises RunBusy.

    The row is queued, not started: ``heartbeat_at`` stays empty until a worker claims it.
    """
    try:
        # A savepoint on the alias the row is written to (the operator's inside operator_scope,
        # e.g. the admin dashboard's "sync now"): the unique violation leaves the caller's
        # transaction usable.
        with transaction.atomic(using=router.db_for_write(IntegrationLog)):
            entry = IntegrationLog.objects.create(
                tenant_id=integration.tenant_id, integration=integration, action=action_for(direction),
                direction=log_direction(direction), status=RUNNING, summary={},
                progress={"done": 0, "total": None}, request_snapshot={"options": options, "direction": direction},
            )
    except IntegrityError:
        raise RunBusy(running_log_id(integration=integration)) from None
    publish(integration.tenant_id, "integration.sync_started",
            {**_event_base(entry), "provider": integration.provider, "direction": direction})
    return entry


def run_claim(*, log_id: uuid.UUID | str, tenant_id: uuid.UUID | str) -> IntegrationLog | None:
    """Take a queued run, or one whose worker's heartbeat went stale; None when another
    worker holds it (a redelivered message of a run that is alive) or it has ended."""
    now = timezone.now()
    claimed = IntegrationLog.objects.filter(
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - stale_after()),
        pk=log_id, tenant_id=tenant_id, status=RUNNING,
    ).update(heartbeat_at=now)
    if claimed != 1:
        return None
    return IntegrationLog.objects.select_related("integration").get(pk=log_id, tenant_id=tenant_id)


def run_progress(*, entry: IntegrationLog, done: int, total: int | None = None,
                 report: RunReport | None = None) -> None:
    """Heartbeat and progress, written in the transaction of the page they follow (with the
    counters so far, so a run the sweeper gives up on still reports what it did)."""
    entry.progress = {**(entry.progress or {}), "done": done, "total": total}
    if report is not None:
        entry.progress["summary"] = report.summary()
    entry.heartbeat_at = timezone.now()
    IntegrationLog.objects.filter(pk=entry.pk, tenant_id=entry.tenant_id).update(
        progress=entry.progress, heartbeat_at=entry.heartbeat_at)
    publish(entry.tenant_id, "integration.sync_progress", {**_event_base(entry), "done": done, "total": total})


def run_finish(*, entry: IntegrationLog, report: RunReport, error: Exception | None = None,
               error_code: str | None = None, status: str | None = None) -> IntegrationLog:
    """End the run: status, summary, failedItems, conflicts, duration; the integration's
    lastSync* columns; the completed or failed event. Call inside the tenant's transaction.
    ``status`` overrides the report's (a realtime drain whose every record failed)."""
    now = timezone.now()
    status = Integration.SyncStatus.FAILED if error is not None else (status or report.status)
    entry.status = status
    entry.summary = report.summary()
    entry.failed_items = report.failed_items or None
    entry.completed_at = now
    entry.duration_ms = int((now - entry.started_at).total_seconds() * 1000)
    entry.error_message = str(error)[:2000] if error is not None else None
    entry.error_code = (error_code or "sync_failed") if error is not None else None
    entry.response_snapshot = {"conflicts": report.conflict_items, "notes": report.notes}
    said = words_of(error) if error is not None else None
    if said is not None:
        entry.response_snapshot[ERROR_WORDS] = said
    fields = ["status", "summary", "failed_items", "completed_at", "duration_ms", "error_message", "error_code",
              "response_snapshot"]
    if report.items:
        stored = (IntegrationLog.objects.filter(pk=entry.pk, tenant_id=entry.tenant_id)  # a wake's "rerun" kept
                  .values_list("request_snapshot", flat=True).first())
        entry.request_snapshot = {**(stored or entry.request_snapshot or {}),
                                  **{f"{key}s": items for key, items in report.items.items()},
                                  **{key: items[-1] for key, items in report.items.items()}}
        fields.append("request_snapshot")
    entry.save(update_fields=fields)
    Integration.objects.filter(pk=entry.integration_id, tenant_id=entry.tenant_id).update(
        last_sync_at=now, last_sync_status=status, total_syncs=F("total_syncs") + 1,
        last_error=entry.error_message, last_error_words=said, updated_at=now,
    )
    if error is not None:
        publish(entry.tenant_id, "integration.sync_failed",
                {**_event_base(entry), "error": entry.error_message, "errorCode": entry.error_code,
                 "summary": entry.summary})
    else:
        publish(entry.tenant_id, "integration.sync_completed",
                {**_event_base(entry), "status": status, "summary": entry.summary, "durationMs": entry.duration_ms})
    return entry


@dataclass(frozen=True)
class SweepResult:
    requeued: list[str]
    failed: list[str]


def runs_sweep_stale(*, now: datetime | None = None) -> SweepResult:
    """Beat: runs whose worker died. Re-queued up to MAX_RESUMES times (the task resumes from
    the stored cursors), then marked failed. A queued run whose message was lost (never
    claimed) counts from its start.

    Cross-tenant on purpose (operator scope): it reads the ids of stale runs and stamps
    them; each resumed run executes in its own tenant scope.
    """
    now = now or timezone.now()
    cutoff = now - stale_after()
    requeued: list[tuple[str, str]] = []
    failed: list[IntegrationLog] = []
    with operator_scope("sync: stale run sweeper"):
        stale = (IntegrationLog.objects.select_for_update(skip_locked=True)
                 .filter(status=RUNNING)
                 .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff))
                 .order_by("started_at")[:100])
        for entry in stale:
            resumes = int((entry.progress or {}).get("resumes", 0))
            if resumes >= MAX_RESUMES:
                failed.append(entry)
                continue
            entry.progress = {**(entry.progress or {}), "resumes": resumes + 1}
            # Claimable at once by the re-queued task (heartbeat older than the stale window).
            IntegrationLog.objects.filter(pk=entry.pk).update(progress=entry.progress, heartbeat_at=None)
            requeued.append((str(entry.pk), str(entry.tenant_id)))
        for entry in failed:
            run_finish(entry=entry, report=RunReport(**_counters(entry)),
                       error=RuntimeError("the worker running this sync stopped (no heartbeat); "
                                          f"gave up after {MAX_RESUMES} resumes"), error_code="worker_lost")
    for log_id, tenant_id in requeued:
        run_enqueue(log_id=log_id, tenant_id=tenant_id)
    return SweepResult([r[0] for r in requeued], [str(e.pk) for e in failed])


def _counters(entry: IntegrationLog) -> dict[str, int]:
    partial = (entry.progress or {}).get("summary") or {}
    return {k: int(partial.get(k, 0)) for k in ("created", "updated", "deleted", "skipped", "failed", "conflicts")}


def run_enqueue(*, log_id: uuid.UUID | str, tenant_id: uuid.UUID | str) -> None:
    """Hand the run to the sync queue's worker; a broker failure leaves it to the sweeper."""
    try:
        kick.enqueue(RUN_TASK, args=[str(log_id), str(tenant_id)])
    except Exception as exc:  # noqa: BLE001 - the row is the truth; the sweeper re-queues it
        log.warning("could not enqueue sync run %s (%s); the sweeper will", log_id, type(exc).__name__)
