"""The sync flows tasks, views and beat call (thin layers over these).

* ``sync_request`` -- POST /sync: the run's row (202) and its task after commit (409 while one runs).
* ``sync_execute`` -- the task: claim the run, import, export, finish.
* ``sync_dry_run`` -- POST /sync {"dryRun": true}: the import in a rolled-back transaction.
* ``sync_export_drain`` -- the realtime export task: drain a tenant's export queue.
* ``syncs_schedule_due`` -- beat: hourly/daily runs that are due; realtime queues left behind.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.kick import kick, kicked
from core.tenant_context import operator_scope, tenant_scope
from integrations.client import ProviderClient, ProviderError
from integrations.models import Integration, IntegrationLog, SyncPending
from integrations.providers.adapter import CredentialsRefused
from integrations.selectors import next_sync_at
from integrations.sync.exporter import EXPORT_TASK, export_pending, queue_unlinked
from integrations.sync.importer import Job, import_all, relink_exported
from integrations.sync.plan import SyncPlan, plan_for
from integrations.sync.runs import (
    RunBusy,
    RunReport,
    run_claim,
    run_enqueue,
    run_finish,
    run_start,
)
from integrations.tokens import integration_credentials_refused

log = logging.getLogger("architect_studio.sync")

#: A dry run reads at most this many pages (per run, over all pairs and containers):
#: it answers within the request, so it previews the start of the import, not all of it.
DRY_RUN_MAX_PAGES = 5
#: Realtime queue rows older than this with no export under way were not woken (a lost kick).
KICK_GRACE_SECONDS = 30

__all__ = ["RunBusy", "SyncNotConfigured", "sync_dry_run", "sync_execute", "sync_export_drain", "sync_request",
           "sync_wake", "syncs_schedule_due"]


class SyncNotConfigured(Exception):
    """Nothing to sync: the integration is not connected or names no enabled entity pair."""


def _direction(plan: SyncPlan) -> str:
    directions = {p.direction for p in plan.pairs}
    if directions <= {"import"}:
        return "import"
    if directions <= {"export"}:
        return "export"
    return "bidirectional"


def _checked_plan(integration: Integration, *, preview: bool = False) -> SyncPlan:
    """A dry run may preview a sync that is not turned on yet; a run needs it on."""
    if integration.status != Integration.Status.CONNECTED:
        # The reasons are shown as they are (the settings page, the API's 400): in the request's language.
        raise SyncNotConfigured(_("the integration is %(status)s; reconnect it first")
                                % {"status": str(integration.get_status_display()).lower()})
    plan = plan_for(integration)
    if not plan.pairs:
        raise SyncNotConfigured(_("no enabled entity pair: syncSettings.entities names none, or the settings turn them off "
                                  "(e.g. syncMeetings: false)"))
    if not plan.enabled and not preview:
        raise SyncNotConfigured(_("sync is turned off (syncSettings.enabled); a dry run can preview it"))
    return plan


# --------------------------------------------------------------------------- runs
def sync_request(*, integration: Integration, full: bool = False, scheduled: bool = False) -> IntegrationLog:
    """Insert the run's row and queue its task after commit. Raises RunBusy, SyncNotConfigured.
    Call inside the tenant's transaction (a request's, or tenant_scope)."""
    plan = _checked_plan(integration)
    entry = run_start(integration=integration, direction=_direction(plan),
                      options={"full": full, "scheduled": scheduled})
    log_id, tenant_id = str(entry.pk), str(integration.tenant_id)
    transaction.on_commit(lambda: run_enqueue(log_id=log_id, tenant_id=tenant_id))
    return entry


def sync_wake(*, integration_id: uuid.UUID | str, tenant_id: uuid.UUID | str) -> bool:
    """A provider said something changed (a webhook): start an incremental run now instead of
    waiting for the schedule. A run already running may have read past the change: it is asked
    to run once more when it ends. Returns whether a run was started."""
    with tenant_scope(tenant_id):
        integration = Integration.objects.filter(pk=integration_id, tenant_id=tenant_id).first()
        if integration is None:
            return False
        try:
            sync_request(integration=integration)
        except RunBusy as busy:
            # Asked on the running run's own row (the worker running it reads it when it ends).
            running = IntegrationLog.objects.filter(pk=busy.log_id, tenant_id=tenant_id).first()
            if running is not None:
                running.request_snapshot = {**(running.request_snapshot or {}), "rerun": True}
                running.save(update_fields=["request_snapshot"])
            return False
        except SyncNotConfigured as exc:
            log.info("sync: a wake of integration %s starts nothing: %s", integration_id, exc)
            return False
    return True


def _rerun_if_asked(entry: IntegrationLog) -> None:
    """A wake arrived while this run ran: one more run (a wake during that one asks again)."""
    with tenant_scope(entry.tenant_id):
        snapshot = (IntegrationLog.objects.filter(pk=entry.pk, tenant_id=entry.tenant_id)
                    .values_list("request_snapshot", flat=True).first()) or {}
    if snapshot.get("rerun"):
        sync_wake(integration_id=entry.integration_id, tenant_id=entry.tenant_id)


def _error_code(exc: Exception) -> str:
    if isinstance(exc, ProviderError):
        return f"provider_{exc.kind}"
    if isinstance(exc, CredentialsRefused):
        return "provider_expired"
    return "sync_failed"


def sync_execute(*, log_id: uuid.UUID | str, tenant_id: uuid.UUID | str) -> str:
    """Run one queued run. Safe to run twice: a run another worker holds, or one that
    ended, is left alone; a resumed run starts from the stored cursors and links."""
    with tenant_scope(tenant_id):
        entry = run_claim(log_id=log_id, tenant_id=tenant_id)
        if entry is None:
            return "not-claimed"
        integration = entry.integration
        plan = plan_for(integration)
        client = ProviderClient.for_integration(integration)
    options = (entry.request_snapshot or {}).get("options") or {}
    job = Job(plan=plan, client=client, report=RunReport(), entry=entry)
    try:
        if plan.importing():
            import_all(job, full=bool(options.get("full")))
        if plan.exporting():
            if options.get("scheduled") or options.get("full") or integration.total_syncs == 0:
                for pair in plan.exporting():
                    if pair.owner_queued:
                        continue  # its owner queues what it wants sent (a message), nothing else is
                    if not pair.imports and (options.get("full") or integration.total_syncs == 0):
                        relink_exported(job, pair)  # an import pair's listing above did it
                    queue_unlinked(job, pair)
            export_pending(job)
    except Exception as exc:  # noqa: BLE001 - the run ends failed, with what it did so far
        log.warning("sync run %s failed: %s", log_id, exc,
                    exc_info=not isinstance(exc, ProviderError | CredentialsRefused))
        with tenant_scope(tenant_id):
            run_finish(entry=entry, report=job.report, error=exc, error_code=_error_code(exc))
            if isinstance(exc, CredentialsRefused):
                integration_credentials_refused(integration, exc)
        _rerun_if_asked(entry)
        return "failed"
    with tenant_scope(tenant_id):
        run_finish(entry=entry, report=job.report)
    _rerun_if_asked(entry)
    return job.report.status


class _DryRunDone(Exception):
    pass


@dataclass(frozen=True)
class DryRunResult:
    summary: dict[str, int]
    records: list[dict[str, Any]]
    pages: int
    truncated: bool


def sync_dry_run(*, integration: Integration) -> DryRunResult:
    """The import as it would run now, inside a transaction that is rolled back: local
    records, links, cursors and events are all undone; only the answer remains. Bounded
    to DRY_RUN_MAX_PAGES pages. Raises SyncNotConfigured."""
    plan = _checked_plan(integration, preview=True)
    if not plan.importing():
        raise SyncNotConfigured(_("a dry run previews an import; this integration only exports"))
    job = Job(plan=plan, client=ProviderClient.for_integration(integration), report=RunReport(), dry_run=True,
              max_pages=DRY_RUN_MAX_PAGES)
    try:
        with transaction.atomic():
            import_all(job)
            raise _DryRunDone
    except _DryRunDone:
        pass
    return DryRunResult(job.report.summary(), job.report.samples, job.pages, job.out_of_pages())


# --------------------------------------------------------------------------- realtime export
def sync_export_drain(*, tenant_id: uuid.UUID | str) -> int:
    """The realtime export task: every due queued row of the tenant's realtime integrations.
    A drain that did something leaves one ``export`` log row per integration."""
    kicked(EXPORT_TASK, tenant_id)
    now = timezone.now()
    with tenant_scope(tenant_id):
        due = list(SyncPending.objects.filter(tenant_id=tenant_id).values_list("integration_id", flat=True).distinct())
        integrations = list(Integration.objects.filter(tenant_id=tenant_id, pk__in=due,
                                                       status=Integration.Status.CONNECTED))
        # Hourly/daily integrations export on their schedule (their run drains their rows).
        plans = [p for p in map(plan_for, integrations) if p.enabled and p.frequency == "realtime"]
        jobs = [Job(plan=p, client=ProviderClient.for_integration(p.integration), report=RunReport()) for p in plans]
    done = 0
    for job in jobs:
        refused: CredentialsRefused | None = None
        try:
            export_pending(job)
        except CredentialsRefused as exc:
            refused = exc
            with tenant_scope(tenant_id):
                integration_credentials_refused(job.plan.integration, exc)
        done += job.done
        if job.done:
            with tenant_scope(tenant_id):
                # Written finished (never "running": a scheduled run may hold that slot).
                entry = IntegrationLog.objects.create(
                    tenant_id=tenant_id, integration=job.plan.integration, action=IntegrationLog.Action.EXPORT,
                    direction="outgoing", status=job.report.status, started_at=now, summary={},
                    request_snapshot={"options": {"realtime": True}},
                )
                # A drain whose every record failed (a message refused) failed; "partial" says some went through.
                all_failed = job.report.failed and job.report.failed == job.report.total
                run_finish(entry=entry, report=job.report, error=refused,
                           error_code=_error_code(refused) if refused is not None else None,
                           status=Integration.SyncStatus.FAILED if all_failed else None)
    return done


# --------------------------------------------------------------------------- beat
def syncs_schedule_due(*, now: datetime | None = None) -> dict[str, int]:
    """Beat fan-out: start the hourly/daily runs that are due (one per integration), and wake
    the export of realtime integrations whose queue has due rows nobody woke (a lost kick).

    Cross-tenant on purpose (operator scope): it reads ids and schedules; each run executes
    in its own tenant scope.
    """
    now = now or timezone.now()
    with operator_scope("sync: schedule fan-out"):
        candidates = list(Integration.objects.filter(status=Integration.Status.CONNECTED,
                                                     sync_settings__enabled=True)
                          .only("pk", "tenant_id", "sync_settings", "status", "last_sync_at", "created_at"))
        realtime = {i.pk for i in candidates if (i.sync_settings or {}).get("frequency") == "realtime"}
        stale_queues = list(SyncPending.objects.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
                                                       integration_id__in=realtime)
                            .values("tenant_id").annotate(oldest=Min("queued_at")))
    started = woken = 0
    for integration in candidates:
        due_at = next_sync_at(integration)
        if due_at is None or due_at > now:
            continue
        with tenant_scope(integration.tenant_id):
            fresh = Integration.objects.filter(pk=integration.pk, tenant_id=integration.tenant_id).first()
            if fresh is None:
                continue
            try:
                sync_request(integration=fresh, scheduled=True)
                started += 1
            except (RunBusy, SyncNotConfigured):
                continue
    for row in stale_queues:  # a kick is normally on its way within milliseconds: only rows left behind
        if (now - row["oldest"]).total_seconds() > KICK_GRACE_SECONDS:
            woken += int(kick(EXPORT_TASK, row["tenant_id"]))
    return {"started": started, "woken": woken}
