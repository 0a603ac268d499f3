"""Processing stored requests, top-down: drain → filters → actions → record.

:func:`incoming_drain` (Celery, woken through :mod:`core.kick`) claims a
tenant's pending rows in batches and runs :func:`incoming_process` on each,
which applies the filters and runs the actions in order
(:data:`webhooks.incoming.actions.ACTIONS`), each in its own savepoint,
recording every outcome in ``log.result``; the log ends ``success``,
``failed`` or ``skipped`` (filters did not match). The pending sweeper
(:func:`incoming_redispatch_pending`) wakes drains a lost wake-up missed.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from core.drain import drain_batches
from core.kick import kick, kick_soon
from core.realtime import publish
from core.tenant_context import operator_scope, tenant_scope
from webhooks.incoming import conf
from webhooks.incoming.actions import ACTIONS, ActionContext, filters_match
from webhooks.incoming.filters import HEADER_VERDICT, filters_after_verdict
from webhooks.incoming.models import WEBHOOK_TYPE, IncomingDedupe
from webhooks.models import IncomingWebhook, WebhookLog

logger = logging.getLogger("architect_studio.webhooks.incoming")

#: The drain task, woken by name (tasks import this module, never the reverse).
DRAIN_TASK = "webhooks.incoming.tasks.drain_incoming"


def schedule_drain(tenant_id: str) -> None:
    """After commit: make sure a drain task for the tenant is on its way.

    Why not one message per request: publishing a Celery message costs more
    than the rest of the endpoint's work together (measured in
    bench/incoming.py). :mod:`core.kick` lets one message cover every request
    stored while it waits, and ``kick_soon`` sends that kick from a
    background thread so the request does not wait for Redis; correctness
    does not depend on it (see :func:`incoming_drain`, and the pending
    sweeper behind both).
    """
    kick_soon(DRAIN_TASK, tenant_id)


#: Requests a drain claims and processes per transaction.
DRAIN_BATCH = 25


def incoming_drain(*, tenant_id: str, budget_seconds: float = 20.0, batch: int = DRAIN_BATCH) -> int:
    """Process the tenant's pending requests, oldest first, a batch per transaction.

    The task's wake-up flag is released *before* the first look (by the
    task, :func:`core.kick.kicked`), so a request committed after that look
    schedules a new drain, and one committed before it is seen by this one:
    nothing is left behind. Rows are claimed with ``SKIP LOCKED``, so
    concurrent drains (and the sweeper) share the work; a full batch kicks
    one more drain, so a backlog is worked on by as many worker threads as
    it needs, each drain taking the next batch. Each request runs in a
    savepoint of its own (one that fails is marked failed, the others
    commit); the webhooks' counters are updated once per batch, in id order.
    Stops after ``budget_seconds`` and hands the rest to a fresh task.
    """
    def claim(limit: int) -> list[WebhookLog]:
        return list(
            WebhookLog.objects.incoming_requests().select_for_update(skip_locked=True)
            .filter(tenant_id=tenant_id, status=WebhookLog.Status.PENDING)
            .order_by("timestamp")[:limit]
        )

    return drain_batches(
        tenant_id, claim=claim, work=_process_batch, wake=lambda: kick(DRAIN_TASK, tenant_id),
        batch=batch, budget_seconds=budget_seconds,
    )


def _process_batch(rows: list[WebhookLog]) -> None:
    webhooks = {w.pk: w for w in IncomingWebhook.objects.filter(pk__in={r.webhook_id for r in rows})
                .select_related("tenant")}
    received: dict[uuid.UUID, list] = {}
    for row in rows:
        webhook = webhooks.get(row.webhook_id)
        try:
            with transaction.atomic():
                incoming_process(log=row, webhook=webhook, count=False)
        except Exception as exc:  # noqa: BLE001 - a poison request must not hold the batch back
            logger.exception("incoming request %s could not be processed", row.pk)
            with transaction.atomic():
                _finish(row, WebhookLog.Status.FAILED, {"actions": []}, f"internal error ({type(exc).__name__})")
        if webhook is not None:
            received.setdefault(webhook.pk, []).append(row.timestamp or timezone.now())
    for webhook_id in sorted(received):
        stamps = received[webhook_id]
        IncomingWebhook.objects.filter(pk=webhook_id).update(
            total_received=F("total_received") + len(stamps),
            last_received_at=Greatest(Coalesce("last_received_at", Value(max(stamps))), Value(max(stamps))),
        )


def incoming_process(
    *, log: WebhookLog, inline_forward: bool = False, count: bool = True, webhook: IncomingWebhook | None = None
) -> dict[str, Any]:
    """Filters, then every action in order; records outcomes on ``log``. Call in the tenant scope.

    The caller has claimed ``log`` (``select_for_update``). ``count`` updates
    ``totalReceived``/``lastReceivedAt`` (drains count once per batch instead;
    tests and reprocessing do not count).
    """
    if webhook is None or webhook.pk != log.webhook_id:
        webhook = IncomingWebhook.objects.filter(pk=log.webhook_id).select_related("tenant").first()
    if webhook is None:
        _finish(log, WebhookLog.Status.FAILED, {"actions": []}, "webhook no longer exists")
        return {"status": log.status, "actions": [], "error": log.error_message}
    headers = log.headers or {}
    payload = log.body
    filters, verdict = filters_after_verdict(webhook.opened_filters(), log)
    if verdict is not None and not verdict.get("matched"):
        matched, reason = False, str(verdict.get("reason") or "headers do not match")
    else:
        matched, reason = filters_match(filters, headers=headers, payload=payload)
    kept = {HEADER_VERDICT: verdict} if verdict is not None else {}  # reprocessing needs it again
    if not matched:
        result: dict[str, Any] = {"filtered": True, "reason": reason, "actions": [], **kept}
        _finish(log, WebhookLog.Status.SKIPPED, result, None)
    else:
        outcomes = []
        for index, action in enumerate(webhook.actions or []):
            action_type = action.get("type") if isinstance(action, dict) else None
            handler = ACTIONS.get(action_type)
            entry: dict[str, Any] = {"index": index, "type": action_type}
            if handler is None:
                entry.update(status="failed", error=f"unknown action type {action_type!r}")
            else:
                ctx = ActionContext(
                    tenant=webhook.tenant, webhook=webhook, log=log, index=index,
                    config=dict(action.get("config") or {}), payload=payload, headers=headers,
                    inline_forward=inline_forward,
                )
                try:
                    with transaction.atomic():
                        entry.update(handler(ctx))
                except Exception as exc:  # noqa: BLE001 - one action's failure must not hide the others
                    logger.exception("incoming action %s failed on log %s", action_type, log.pk)
                    entry.update(status="failed", error=f"internal error ({type(exc).__name__})")
            outcomes.append(entry)
        failed = [o for o in outcomes if o.get("status") == "failed"]
        status = WebhookLog.Status.FAILED if failed else WebhookLog.Status.SUCCESS
        error = "; ".join(f"{o['type']}: {o.get('error', 'failed')}" for o in failed)[:2000] or None
        _finish(log, status, {"actions": outcomes, **kept}, error)
    if count:
        IncomingWebhook.objects.filter(pk=webhook.pk).update(
            total_received=F("total_received") + 1, last_received_at=log.timestamp or timezone.now()
        )
    publish(
        webhook.tenant_id,
        "webhook.received",
        {
            "webhookId": str(webhook.id),
            "webhookName": webhook.name,
            # The seed's status is success | failed; a filtered request is not a failure.
            "status": "failed" if log.status == WebhookLog.Status.FAILED else "success",
            "outcome": log.status,
            "logId": str(log.id),
        },
    )
    return {"status": log.status, **(log.result or {}), "error": log.error_message}


def _finish(log: WebhookLog, status: str, result: dict[str, Any], error: str | None) -> None:
    log.status, log.result, log.error_message = status, result, error
    log.save(update_fields=["status", "result", "error_message"])


def claim_pending(*, log_id: str) -> WebhookLog | None:
    """Lock a pending incoming request for processing (None if done or being processed)."""
    return (
        WebhookLog.objects.incoming_requests().select_for_update(skip_locked=True)
        .filter(pk=log_id, status=WebhookLog.Status.PENDING)
        .first()
    )


def incoming_reprocess(log: WebhookLog) -> dict[str, Any]:
    """Run a stored incoming request's actions again (admin "reprocess", replay endpoint)."""
    if log.webhook_type != WEBHOOK_TYPE or log.direction != WebhookLog.Direction.INCOMING:
        raise ValueError("only received requests can be reprocessed")
    with tenant_scope(log.tenant_id):
        locked = WebhookLog.objects.select_for_update().get(pk=log.pk)
        outcome = incoming_process(log=locked, count=False)
    log.status, log.result, log.error_message = locked.status, locked.result, locked.error_message
    return {"logId": str(log.id), **outcome}


def incoming_redispatch_pending(*, limit: int = 500) -> int:
    """Wake the drain of every tenant with requests still pending after the grace period
    (a lost wake-up, a worker killed mid-batch); returns how many requests that covers.

    One coalesced kick per tenant (:mod:`core.kick`), not a task per request: the
    drain takes them in batches, as it does every other request.
    """
    stale = timezone.now() - timedelta(seconds=conf.redispatch_after_seconds())
    with operator_scope("incoming pending sweeper"):
        tenants = list(
            WebhookLog.objects.incoming_requests().select_for_update(skip_locked=True)  # rows a drain holds are in hand
            .filter(status=WebhookLog.Status.PENDING, timestamp__lt=stale)
            .order_by("timestamp")
            .values_list("tenant_id", flat=True)[:limit]
        )
    woken = {tid for tid in set(tenants) if kick(DRAIN_TASK, str(tid))}
    return sum(1 for tid in tenants if tid in woken)


def incoming_cleanup() -> dict[str, int]:
    """Drop expired delivery ids and old automation runs.

    The request and forward rows themselves (``webhook_logs``) are removed by
    the shared webhook-log retention task with the outgoing ones
    (WEBHOOK_LOG_RETENTION_DAYS, 14 days).
    """
    from webhooks.incoming.models import AutomationRun

    now = timezone.now()
    with operator_scope("incoming cleanup: expired delivery ids, old automation runs"):
        dedupe, _ = IncomingDedupe.objects.filter(created_at__lt=now - timedelta(seconds=conf.dedupe_seconds())).delete()
        runs, _ = AutomationRun.objects.filter(
            started_at__lt=now - timedelta(days=conf.log_retention_days())
        ).delete()
    return {"dedupe": dedupe, "automationRuns": runs}
