"""Outgoing delivery, top-down: fan-out → claim → send → record.

The engine follows DESIGN §3 ("Postgres is the source of truth"): every
attempt is a ``WebhookLog`` row *before* anything leaves the process, and the
broker only carries wake-ups ("tenant T has work", :mod:`core.kick`). An
attempt row moves through:

``pending`` and due (``claim_count`` 0, ``next_retry_at`` = now) → claimed
(``claim_count`` + 1, ``next_retry_at`` = a lease of twice the timeout per
wave plus a margin, committed **before** the request is sent) → ``success`` |
``failed`` (``next_retry_at`` = the seed's ``now + retryDelaySeconds ×
attempt`` when another attempt is allowed) | ``skipped`` (webhook disabled or
deleted meanwhile).

Who claims: the outbox drain inserts a batch's first attempts already claimed
and sends them right after its commit (:func:`deliveries_create_for_events`);
everything else — retries, replays, attempts whose lease ran out, first
attempts to a receiver whose last attempt failed — is claimed by the tenant's
dispatcher (:func:`deliveries_dispatch`, ``FOR UPDATE SKIP LOCKED``).

Why a claim counter: the outcome is written with a compare-and-set on the
counter the sender claimed with. A worker killed mid-request leaves a pending
row whose lease runs out; the sweeper wakes a dispatcher, which claims it
again (counter + 1) and sends the same attempt (same delivery id, same body):
at-least-once, never lost. If the first sender was only slow, its late result
fails the compare-and-set and is dropped.

One engine, two kinds of deliveries: an attempt row names its target through
``webhook_type`` — an outgoing webhook's attempt, or an incoming webhook's
``forward`` action's (:mod:`targets` resolves url, headers, signing, timeout
and retry policy when the attempt is claimed). The record step then updates
what the target owns: a webhook's counters (and auto-disable), or the
received request a forward came from (:func:`webhooks.incoming.forward.forward_reflect`).

A little over 400 lines because it is the engine's one flow read top-down
(fan-out, claim, send, record, settle), which splitting would scatter; the
pieces with a life of their own are apart: :mod:`attempts` (rows,
leases, wake-ups), :mod:`targets`, :mod:`payload`, :mod:`sender` (requests in flight),
:mod:`repository` (raw SQL), :mod:`retries` (policy, due retries, replays) and
:mod:`sweeper` (the beat task's recovery).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext_noop as N_

from core import outbound
from core.offload import run_or_offload
from core.realtime import publish
from core.tenant_context import tenant_scope
from core.words import english, words
from entities.models import EntityEvent
from webhooks.incoming.bodies import clean_json
from webhooks.incoming.forward import forward_reflect
from webhooks.models import OutgoingWebhook, WebhookLog
from webhooks.outgoing import conf
from webhooks.outgoing.attempts import (
    AttemptOutcome,
    ClaimedAttempt,
    ReadyAttempt,
    attempt_lease,
    dispatch_on_commit,
    enqueue_retry_on_commit,
    first_attempt_row,
)
from webhooks.outgoing.repository import (
    claim_due_ids,
    claim_one,
    ids_present,
    jsonb,
    record_rows,
    webhook_counters_add,
)
from webhooks.outgoing.retries import retry_delay
from webhooks.outgoing.selectors import outgoing_webhooks_by_trigger
from webhooks.outgoing.sender import send_all
from webhooks.outgoing.targets import Target, targets_for, webhook_target

log = logging.getLogger("architect_studio.webhooks.outgoing")


def deliveries_create_for_event(*, event: EntityEvent) -> list[uuid.UUID]:
    return deliveries_create_for_events(events=[event])


def deliveries_create_for_events(*, events: Sequence[EntityEvent]) -> list[uuid.UUID]:
    """Create attempt 1 of one delivery per (event, matching webhook) and send them after commit.

    The rows are inserted already claimed (``claim_count`` 1, a lease of
    twice the webhook's timeout plus a margin), in the subscriber's
    transaction; once it commits, this worker sends them and records the
    outcomes (:func:`_send_and_record`) — no second task, no claiming
    transaction. If the process dies in between, the lease runs out and the
    sweeper wakes a dispatcher that claims and sends them again.

    Idempotent (the subscriber runs at least once): the unique
    (delivery_id, attempt) index makes a second run insert — and send — nothing.
    """
    if not events:
        return []
    tenant_id = events[0].tenant_id
    matching = outgoing_webhooks_by_trigger(tenant_id=tenant_id)
    now = timezone.now()
    rows: list[tuple[WebhookLog, OutgoingWebhook]] = []
    for event in events:
        for webhook in matching.get((event.entity_type, event.event), ()):
            rows.append((first_attempt_row(event, webhook, now), webhook))
    if not rows:
        return []
    pending = [(row, webhook) for row, webhook in rows if row.status == WebhookLog.Status.PENDING]
    # A receiver whose last attempt failed (down, timing out) or answered slowly
    # is not waited on here: its attempts go to the tenant's dispatcher, so it
    # cannot hold up the outbox, and every drain that follows, for up to twice
    # its timeout.
    slow_ms = conf.slow_receiver_ms()
    inline = [(row, webhook) for row, webhook in pending if not _lagging(webhook, slow_ms)]
    deferred = [row for row, webhook in pending if _lagging(webhook, slow_ms)]
    waves = -(-len(inline) // conf.send_concurrency())
    for row, webhook in inline:
        row.next_retry_at = attempt_lease(webhook, now, waves)
    for row in deferred:
        row.claim_count, row.next_retry_at = 0, now
    WebhookLog.objects.bulk_create([row for row, _w in rows], ignore_conflicts=True)
    inserted = ids_present([row.pk for row, _w in rows])
    claimed = [ClaimedAttempt.of(row, webhook_target(webhook)) for row, webhook in inline if row.pk in inserted]
    tid = str(tenant_id)
    if claimed:
        # In a worker task the requests go to the sender pool (core.offload): a
        # receiver that takes its whole timeout must not hold the drain's thread.
        transaction.on_commit(lambda: run_or_offload(lambda: _send_and_record(tenant_id=tid, claimed=claimed),
                                                     name="outgoing first attempts"), robust=True)
    if any(row.pk in inserted for row in deferred):
        dispatch_on_commit(tid)
    return [row.delivery_id for row, _w in rows if row.pk in inserted]


def _lagging(webhook: OutgoingWebhook, slow_ms: int) -> bool:
    return webhook.last_status == "failed" or (webhook.last_duration_ms or 0) >= slow_ms


def deliveries_dispatch(*, tenant_id: str, limit: int | None = None) -> dict[str, int]:
    """Claim the tenant's due attempts (retries, replays, lost ones) in batches and send them.

    One transaction claims up to ``limit`` rows (default: the send
    concurrency, so the lease of each starts as its request does; ``FOR UPDATE SKIP LOCKED``,
    so concurrent dispatchers split the work; ``claim_count`` + 1 and the
    lease committed **before** anything is sent), then :func:`_send_and_record`.
    """
    limit = limit or conf.send_concurrency()  # one wave: every claimed attempt starts at once
    totals = {"sent": 0, "skipped": 0, "superseded": 0}
    while True:
        claimed, count = _dispatch_claim(tenant_id=tenant_id, limit=limit, totals=totals)
        if claimed:
            done = _send_and_record(tenant_id=tenant_id, claimed=claimed)
            totals["sent"] += done["sent"]
            totals["superseded"] += done["superseded"]
        if count < limit:
            return totals


def _dispatch_claim(*, tenant_id: str, limit: int, totals: dict[str, int]) -> tuple[list[ClaimedAttempt], int]:
    """One claiming transaction: the attempts to send, and how many rows were claimed."""
    with tenant_scope(tenant_id):
        now = timezone.now()
        ids = claim_due_ids(tenant_id=tenant_id, limit=limit, now=now)
        if not ids:
            return [], 0
        rows = list(WebhookLog.objects.filter(pk__in=ids).order_by("next_retry_at", "attempt"))
        return _claimed(rows, now, totals), len(ids)


def _claimed(rows: list[WebhookLog], now: dt.datetime, totals: dict[str, int]) -> list[ClaimedAttempt]:
    """The claimed rows with their targets; attempts of a deleted or disabled webhook end as ``skipped``."""
    targets = targets_for(rows)
    claimed: list[ClaimedAttempt] = []
    skipped: dict[str, list[uuid.UUID]] = {}
    for row in rows:
        target = targets[row.pk]
        if isinstance(target, str):  # a forward whose action is gone: a failed attempt that says so
            claimed.append(ClaimedAttempt.of(row, None, refused=target))
            continue
        manual = (row.result or {}).get("trigger") in ("manual", "test")
        if target is None or (target.webhook is not None and not target.webhook.is_enabled and not manual):
            skipped.setdefault(N_("webhook deleted") if target is None else N_("webhook disabled"), []).append(row.pk)
            continue
        claimed.append(ClaimedAttempt.of(row, target))
    for reason, pks in skipped.items():
        said = words(reason)  # error_message said in a reader's language, kept beside the row's result
        WebhookLog.objects.filter(pk__in=pks).update(
            status=WebhookLog.Status.SKIPPED, error_message=english(said), next_retry_at=None, completed_at=now,
            result=RawSQL("COALESCE(result, '{}'::jsonb) || %s::jsonb", [json.dumps({WebhookLog.ERROR_WORDS: said})]))
        totals["skipped"] += len(pks)
    return claimed


def deliveries_send_one(*, tenant_id: str, log_id: str) -> str:
    """Claim one attempt by id whatever its due time, send it and record it; its status then, or ``skipped``.

    The test endpoint's inline forward uses it (the caller reports the
    answer). Claimed as the dispatcher claims (pending, not held by a live
    lease, claim counter + 1), so a second call or a racing dispatcher never
    sends the attempt twice.
    """
    totals = {"sent": 0, "skipped": 0, "superseded": 0}
    with tenant_scope(tenant_id):
        now = timezone.now()
        row = claim_one(log_id=log_id, now=now)
        if row is None:
            return "skipped"
        claimed = _claimed([row], now, totals)
    if claimed:
        _send_and_record(tenant_id=tenant_id, claimed=claimed)
    with tenant_scope(tenant_id):
        return WebhookLog.objects.filter(pk=log_id).values_list("status", flat=True).first() or "skipped"


def _send_and_record(*, tenant_id: str, claimed: list[ClaimedAttempt]) -> dict[str, int]:
    """Sign and send claimed attempts concurrently; record the outcomes as they arrive.

    No transaction is held while requests are in flight. Outcomes are written
    a group at a time (whatever finished together), each row with a
    compare-and-set on its claim, so a lease another worker took over is
    never overwritten.
    """
    now = timezone.now()
    ready: list[ReadyAttempt] = []
    unprepared: list[tuple[ReadyAttempt, outbound.OutboundResult]] = []
    for c in claimed:
        if c.target is None:
            said = words(c.refused or "")  # a fixed reason (targets: a msgid), said in a reader's language
            unprepared.append((ReadyAttempt(c, {}, None), outbound.OutboundResult(
                error=english(said), error_kind="refused", error_words=said)))
            continue
        try:
            headers, logged = c.target.sign(str(c.delivery_id), c.event_type, c.body, int(now.timestamp()), now,
                                            c.result.get("trigger") == "test", int(c.result.get("hops") or 1))
        except Exception as exc:  # noqa: BLE001 - a broken secret must be visible, not a stuck row
            said = words(N_("request could not be prepared: %(error)s"), error=type(exc).__name__)
            unprepared.append((ReadyAttempt(c, {}, None), outbound.OutboundResult(
                error=english(said), error_kind="refused", error_words=said)))
            continue
        ready.append(ReadyAttempt(c, headers, logged))
    totals = {"sent": 0, "superseded": 0}
    if not connection.in_atomic_block:
        # Waiting on receivers must not hold one of the process's few pooled
        # database connections (the sender pool has more threads than the
        # database pool has connections): give it back; _record takes one again.
        connection.close()
    if unprepared:
        totals["superseded"] += _record(tenant_id=tenant_id, outcomes=unprepared)
    for group in send_all(ready):
        totals["sent"] += len(group)
        totals["superseded"] += _record(tenant_id=tenant_id, outcomes=group)
    return totals


def _record(*, tenant_id: str, outcomes: list[tuple[ReadyAttempt, outbound.OutboundResult]]) -> int:
    """Write a group of outcomes in one transaction; returns how many leases had been taken over.

    Each row is a compare-and-set on its claim (``status = 'pending' AND
    claim_count = token``); the statements go to PostgreSQL as one pipelined
    batch (psycopg's ``executemany``) instead of a round trip each.
    """
    with tenant_scope(tenant_id):
        now = timezone.now()
        computed: list[tuple[ClaimedAttempt, AttemptOutcome]] = []
        params: list[tuple[Any, ...]] = []
        for r, result in outcomes:
            c = r.claimed
            outcome = _outcome(attempt=c.attempt, max_attempts=c.max_attempts, extra=c.result,
                               target=c.target, result=result, now=now)
            f = outcome.fields
            sent = r.logged is not None
            params.append((
                c.target.method if sent else None, c.target.url if sent else None, jsonb(r.logged), c.max_attempts,
                f["status"], f["response_status"], jsonb(f["response_headers"]), jsonb(f["response_body"]),
                f["duration_ms"], f["error_message"], f["completed_at"], f["next_retry_at"], jsonb(f["result"]),
                c.row_id, c.token,
            ))
            computed.append((c, outcome))
        recorded = record_rows(params, computed)
        settled: dict[uuid.UUID, tuple[OutgoingWebhook, list[AttemptOutcome]]] = {}
        superseded = 0
        for c, outcome in computed:
            if c.row_id not in recorded:
                # The lease ran out and the sweeper handed the attempt to another worker.
                log.warning("attempt %s finished after its lease was taken over; result dropped", c.row_id)
                superseded += 1
                continue
            outcome.row_id = c.row_id
            _log_attempt(c, outcome, tenant_id=tenant_id)
            if c.kind == WebhookLog.Type.INCOMING:
                _settle_forward(c.row_id, c.result, c.attempt, outcome, tenant_id)
            elif c.webhook is not None:
                settled.setdefault(c.webhook.pk, (c.webhook, []))[1].append(outcome)
        # Counters last and in a fixed order: each webhook row stays locked only
        # until the commit just after, and two recorders never wait on each
        # other in opposite orders (a deadlock Postgres needs a second to break).
        for webhook_id in sorted(settled, key=str):
            webhook, results = settled[webhook_id]
            _settle(webhook, results, now)
    return superseded


def _log_attempt(c: ClaimedAttempt, outcome: AttemptOutcome, *, tenant_id: str) -> None:
    """The one line per delivery attempt that ``make run`` shows."""
    f = outcome.fields
    result = f["response_status"] if f["response_status"] is not None else (f["error_message"] or "no answer")
    then = "" if outcome.final else f", retry at {f['next_retry_at']:%H:%M:%S}"
    log.log(logging.INFO if outcome.success else logging.WARNING,
            "delivery %s %s attempt %d/%d to %r: %s in %s ms%s", c.delivery_id, c.event_type, c.attempt,
            c.max_attempts, c.target.name if c.target else c.kind, result, f["duration_ms"], then,
            extra={"delivery_id": str(c.delivery_id), "tenant_id": tenant_id})


def _outcome(*, attempt: int, max_attempts: int, extra: dict[str, Any], target: Target | None,
             result: outbound.OutboundResult, now: dt.datetime) -> AttemptOutcome:
    """The columns an attempt's result writes, and whether it ends the delivery (C8).

    The target's retry policy plans the next attempt; 410 Gone disables an
    ``exponential`` webhook (a forward has nothing to disable).
    """
    success = result.ok
    extra = dict(extra)
    extra.pop(WebhookLog.ERROR_WORDS, None)  # an earlier attempt's, on a row read back
    if result.error is not None and result.error_words is not None:
        extra[WebhookLog.ERROR_WORDS] = result.error_words  # error_message said in a reader's language
    if result.truncated:
        extra["responseTruncated"] = True
    trigger = extra.get("trigger")
    fields: dict[str, Any] = {
        "status": WebhookLog.Status.SUCCESS if success else WebhookLog.Status.FAILED,
        "response_status": result.status,
        # clean_json: JSONB refuses NUL and unpaired surrogates a receiver may answer with
        "response_headers": clean_json(outbound.redact_headers(result.headers)) if result.status is not None else None,
        "response_body": clean_json(result.body_json if result.body_json is not None else (result.body_text or ""))
        if result.status is not None else None,
        "duration_ms": result.duration_ms,
        "error_message": result.error or (None if success else f"HTTP {result.status}"),
        "completed_at": now,
        "next_retry_at": None,
        "result": extra,
    }
    outcome = AttemptOutcome(fields=fields, success=success, final=True, trigger=trigger)
    if not success and target is not None:
        if target.webhook is not None and target.retry_strategy == "exponential" and result.status == 410:
            outcome.disable_reason = "the receiver answered 410 Gone"
        elif attempt < max_attempts and trigger not in ("manual", "test") and result.error_kind != "refused":
            fields["next_retry_at"] = now + dt.timedelta(seconds=retry_delay(webhook=target, attempt=attempt, result=result))
            outcome.final = False
    return outcome


def attempt_finish(row: WebhookLog, target: Target | None, result: outbound.OutboundResult) -> str:
    """Write one attempt's outcome on ``row`` (test sends, give-ups) and settle the delivery."""
    now = timezone.now()
    outcome = _outcome(attempt=row.attempt, max_attempts=row.max_attempts, extra=row.result or {},
                       target=target, result=result, now=now)
    for name, value in outcome.fields.items():
        setattr(row, name, value)
    # Only the outcome columns: the stored request (body, headers) is never rewritten.
    row.save(update_fields=list(outcome.fields))
    outcome.row_id = row.pk
    if row.webhook_type == WebhookLog.Type.INCOMING:
        _settle_forward(row.pk, row.result or {}, row.attempt, outcome, str(row.tenant_id))
    elif target is not None and target.webhook is not None:
        _settle(target.webhook, [outcome], now)
    return row.status


def _settle_forward(row_id: uuid.UUID, meta: dict[str, Any], attempt: int, outcome: AttemptOutcome, tenant_id: str) -> None:
    """A forward's recorded attempt: its outcome on the received request, its retry's ETA wake-up."""
    forward_reflect(log_id=row_id, meta=meta, attempt=attempt, fields=outcome.fields)
    if not outcome.final:
        enqueue_retry_on_commit(row_id, tenant_id, outcome.fields["next_retry_at"])


def _settle(webhook: OutgoingWebhook, outcomes: list[AttemptOutcome], now: dt.datetime) -> None:
    """Counters (one race-free UPDATE with F()), ``webhook.sent``, retries, auto-disable.

    ``outcomes`` are one webhook's recorded attempts, in the order they were
    recorded. Test sends touch nothing here.
    """
    outcomes = [o for o in outcomes if o.trigger != "test"]
    if not outcomes:
        return
    finals = [o for o in outcomes if o.final]
    ok = sum(1 for o in finals if o.success)
    last_ok = max((i for i, o in enumerate(finals) if o.success), default=None)
    webhook_counters_add(
        webhook_id=webhook.pk, now=now, last_status="success" if outcomes[-1].success else "failed",
        last_duration_ms=outcomes[-1].fields.get("duration_ms"), sent=ok, failed=len(finals) - ok,
        failures_since_last_ok=None if last_ok is None else len(finals) - 1 - last_ok,
    )
    qs = OutgoingWebhook.objects.filter(pk=webhook.pk)
    for o in outcomes:
        if o.final:
            publish(webhook.tenant_id, "webhook.sent",
                    {"webhookId": str(webhook.pk), "webhookName": webhook.name, "status": "success" if o.success else "failed"})
        else:
            enqueue_retry_on_commit(o.row_id, str(webhook.tenant_id), o.fields["next_retry_at"])
    reason = next((o.disable_reason for o in finals if o.disable_reason), None)
    if reason is None and any(not o.success for o in finals):
        failures = qs.values_list("consecutive_failures", flat=True).first() or 0
        limit = conf.disable_after()
        if limit > 0 and failures >= limit:
            reason = f"disabled after {failures} consecutive failed deliveries"
    if reason is not None:
        webhook_disable(webhook=webhook, reason=reason)


def webhook_disable(*, webhook: OutgoingWebhook, reason: str) -> bool:
    """Disable once (conditional update) and tell the tenant's browsers."""
    changed = OutgoingWebhook.objects.filter(pk=webhook.pk, is_enabled=True).update(is_enabled=False, disabled_reason=reason)
    if changed:
        log.info("outgoing webhook %s disabled: %s", webhook.pk, reason)
        publish(webhook.tenant_id, "webhook.disabled", {"webhookId": str(webhook.pk), "webhookName": webhook.name, "reason": reason})
    return bool(changed)
