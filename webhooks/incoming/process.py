"""Processing stored requests, top-down: drain → filters → actions → record.

:func:`incoming_drain` (Celery, woken through :mod:`core.kick`) claims a
tenant's pending rows in batches and runs :func:`incoming_process` on each,
which applies the filters and runs the actions in order
(:data:`webhooks.incoming.actions.ACTIONS`), each in its own savepoint,
recording every outcome in ``log.result``; the log ends ``success``,
``failed`` or ``skipped`` (filters did not match). Consecutive requests of a
batch whose actions are all ``create_entity`` take a faster road with the same
outcomes (:func:`_create_together`): their entities are created with one
``entity_bulk_create`` per entity type and their logs recorded in one
statement; a record the serializer refuses fails its own request, anything
raised sends the group back through :func:`incoming_process` one by one. The
pending sweeper (:func:`incoming_redispatch_pending`) wakes drains a lost
wake-up missed.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext_noop as N_

from core.drain import drain_batches
from core.kick import kick, kick_soon
from core.realtime import publish
from core.tenant_context import operator_scope, tenant_scope
from core.words import Words, english, is_words, words
from webhooks.incoming import conf
from webhooks.incoming.actions import ACTIONS, ActionContext, create_entities, filters_match
from webhooks.incoming.filters import HEADER_VERDICT, filters_after_verdict
from webhooks.incoming.models import WEBHOOK_TYPE, IncomingDedupe
from webhooks.incoming.said import failed, failures_words, said, words_of
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


#: Requests a drain claims and processes per transaction. 100, not 25: the
#: claim, the tenant scope, the counters and the commit are paid per batch, and
#: creates run together per batch (one drain went from ~600 to ~850 requests/s
#: in-process); the rows stay locked ~0.1 s, and other drains skip them.
DRAIN_BATCH = 100


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
    """Process a claimed batch in order; consecutive requests whose actions are all
    ``create_entity`` have their entities created together (:func:`_create_together`)."""
    webhooks = {w.pk: w for w in IncomingWebhook.objects.filter(pk__in={r.webhook_id for r in rows})
                .select_related("tenant")}
    received: dict[uuid.UUID, list] = {}
    together: list[tuple[WebhookLog, IncomingWebhook, dict[str, Any]]] = []
    for row in rows:
        webhook = webhooks.get(row.webhook_id)
        kept = _ready_together(row, webhook)
        if kept is not None:
            together.append((row, webhook, kept))
        else:
            # In arrival order: an earlier request's entities exist before a later one's actions run.
            _create_together(together)
            together = []
            _process_one(row, webhook)
        if webhook is not None:
            received.setdefault(webhook.pk, []).append(row.timestamp or timezone.now())
    _create_together(together)
    for webhook_id in sorted(received):
        stamps = received[webhook_id]
        IncomingWebhook.objects.filter(pk=webhook_id).update(
            total_received=F("total_received") + len(stamps),
            last_received_at=Greatest(Coalesce("last_received_at", Value(max(stamps))), Value(max(stamps))),
        )


def _process_one(row: WebhookLog, webhook: IncomingWebhook | None) -> None:
    try:
        with transaction.atomic():
            incoming_process(log=row, webhook=webhook, count=False)
    except Exception as exc:  # noqa: BLE001 - a poison request must not hold the batch back
        logger.exception("incoming request %s could not be processed", row.pk)
        with transaction.atomic():
            _finish(row, WebhookLog.Status.FAILED, {"actions": []}, internal_error_words(exc))


def _ready_together(row: WebhookLog, webhook: IncomingWebhook | None) -> dict[str, Any] | None:
    """What the result keeps, when the request's actions are all ``create_entity`` and its
    filters match; None sends it through :func:`incoming_process` (which records a failure)."""
    actions = (webhook.actions or []) if webhook is not None else []
    if not actions or not all(isinstance(a, dict) and a.get("type") == "create_entity" for a in actions):
        return None
    try:
        matched, _reason, kept = _screen(row, webhook)
    except Exception:  # noqa: BLE001 - processed (and recorded as failed) one at a time
        return None
    return kept if matched else None


def _create_together(group: list[tuple[WebhookLog, IncomingWebhook, dict[str, Any]]]) -> None:
    """The ``create_entity`` actions of matched requests, as one bulk create per entity type.

    Why: one request at a time costs ~9 statements (two savepoints, the row,
    its event, the log's update) and a serializer build; together they are a
    handful per batch (measured in bench/incoming.py, processing line). The
    outcomes are the ones :func:`incoming_process` records - a refused record
    fails its own request only. Anything raised rolls the group back, and its
    requests go through :func:`incoming_process` one by one, as before.
    """
    if not group:
        return
    contexts = [
        ActionContext(tenant=webhook.tenant, webhook=webhook, log=row, index=index,
                      config=dict(action.get("config") or {}), payload=row.body, headers=row.headers or {})
        for row, webhook, _kept in group for index, action in enumerate(webhook.actions)
    ]
    try:
        with transaction.atomic():
            outcomes = iter(create_entities(contexts))
            for row, webhook, kept in group:
                entries = [{"index": index, "type": "create_entity", **next(outcomes)}
                           for index in range(len(webhook.actions))]
                row.status, row.result, row.error_message = _recorded(entries, kept)
            _record_together([row for row, _w, _k in group])
    except Exception:  # noqa: BLE001 - fall back to one request at a time (each isolated)
        logger.exception("creating the entities of %d requests together failed; one at a time instead", len(group))
        for row, webhook, _kept in group:
            row.refresh_from_db(fields=["status", "result", "error_message"])
            _process_one(row, webhook)
        return
    for row, webhook, _kept in group:
        _announce(webhook, row)


def _record_together(rows: list[WebhookLog]) -> None:
    """Each row's status, result and error message, in one statement.

    PostgreSQL: one ``UPDATE … FROM (VALUES …)`` (Django's ``bulk_update``
    builds a CASE per field and row, which cost more than the rest of the
    batch); its SQLite twin is ``bulk_update``. Runs in the tenant's scope:
    row security limits it to the tenant's rows.
    """
    if connection.vendor != "postgresql":
        WebhookLog.objects.bulk_update(rows, ["status", "result", "error_message"])
        return
    values = ", ".join(["(%s::uuid, %s, %s::jsonb, %s)"] * len(rows))
    params = [p for r in rows for p in (r.pk, r.status, json.dumps(r.result, cls=DjangoJSONEncoder), r.error_message)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {WebhookLog._meta.db_table} AS l SET status = v.status, result = v.result,"
            f" error_message = v.error FROM (VALUES {values}) AS v(id, status, result, error) WHERE l.id = v.id",
            params,
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
        _finish(log, WebhookLog.Status.FAILED, {"actions": []}, words(N_("webhook no longer exists")))
        return {"status": log.status, **(log.result or {}), "error": log.error_message}
    headers = log.headers or {}
    payload = log.body
    matched, reason, kept = _screen(log, webhook)
    if not matched:
        result: dict[str, Any] = {"filtered": True, **said("reason", reason), "actions": [], **kept}
        _finish(log, WebhookLog.Status.SKIPPED, result, None)
    else:
        outcomes = []
        for index, action in enumerate(webhook.actions or []):
            action_type = action.get("type") if isinstance(action, dict) else None
            handler = ACTIONS.get(action_type)
            entry: dict[str, Any] = {"index": index, "type": action_type}
            if handler is None:
                entry.update(failed(words(N_("unknown action type %(type)s"), type=repr(action_type))))
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
                    entry.update(failed(internal_error_words(exc)))
            outcomes.append(entry)
        _finish(log, *_recorded(outcomes, kept))
    if count:
        IncomingWebhook.objects.filter(pk=webhook.pk).update(
            total_received=F("total_received") + 1, last_received_at=log.timestamp or timezone.now()
        )
    _announce(webhook, log)
    return {"status": log.status, **(log.result or {}), "error": log.error_message}


def _screen(log: WebhookLog, webhook: IncomingWebhook) -> tuple[bool, Words | str, dict[str, Any]]:
    """The webhook's filters on the request: (matched, reason if not - words, or the English
    text of an arrival verdict stored without them -, what the result keeps)."""
    filters, verdict = filters_after_verdict(webhook.opened_filters(), log)
    if verdict is not None and not verdict.get("matched"):
        matched, reason = False, words_of(verdict, "reason") or words(N_("headers do not match"))
    else:
        matched, reason = filters_match(filters, headers=log.headers or {}, payload=log.body)
    kept = {HEADER_VERDICT: verdict} if verdict is not None else {}  # reprocessing needs it again
    return matched, reason, kept


def _recorded(outcomes: list[dict[str, Any]], kept: dict[str, Any]) -> tuple[str, dict[str, Any], str | None]:
    """The log's (status, result, error message) once its actions have run; the error
    message's words are kept in the result (``errorWords``, read by ``WebhookLog.error_text``)."""
    said_error = failures_words(outcomes)
    status = WebhookLog.Status.FAILED if said_error is not None else WebhookLog.Status.SUCCESS
    result: dict[str, Any] = {"actions": outcomes, **kept}
    if said_error is None:
        return status, result, None
    return status, {**result, WebhookLog.ERROR_WORDS: said_error}, english(said_error)[:2000]


def _announce(webhook: IncomingWebhook, log: WebhookLog) -> None:
    """The live event of a processed request (sent after commit)."""
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


def internal_error_words(exc: BaseException) -> Words:
    return words(N_("internal error (%(type)s)"), type=type(exc).__name__)


def _finish(log: WebhookLog, status: str, result: dict[str, Any], error: Words | str | None) -> None:
    """Record the outcome; an ``error`` that is words keeps them in the result beside the English."""
    if is_words(error):
        result = {**result, WebhookLog.ERROR_WORDS: error}
        error = english(error)[:2000]
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
