from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from core.drain import drain_batches
from core.kick import kicked
from core.offload import offloading
from core.tenant_context import operator_scope
from entities import events
from entities.models import EntityEvent

log = logging.getLogger("architect_studio.entities")


#: Events handed to the subscribers in one transaction.
DRAIN_BATCH = 50


@shared_task(acks_late=True, ignore_result=True)
def drain_entity_events(tenant_id: str) -> int:
    """Process the tenant's unprocessed outbox rows, oldest first, in batches (see core.kick)."""
    kicked(drain_entity_events.name, tenant_id)
    with offloading():  # subscribers' network work (first delivery attempts) leaves this thread
        return _drain(tenant_id)


def _drain(tenant_id: str) -> int:
    # Stops after a partial batch: failed events wait (retry_at) for the sweeper
    # to wake a drain when they are due.
    return drain_batches(
        tenant_id, claim=_claim_events, work=_run_subscribers, wake=lambda: events.enqueue(tenant_id),
        batch=DRAIN_BATCH, stop_on_partial=True,
    )


def _claim_events(limit: int) -> list[EntityEvent]:
    # SKIP LOCKED: a concurrent drain of the same tenant takes the next rows instead.
    return list(
        EntityEvent.objects.select_for_update(skip_locked=True)
        .filter(processed_at__isnull=True)
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=timezone.now()))  # failed ones wait their turn
        .order_by("created_at")[:limit]
    )


def _run_subscribers(batch: list[EntityEvent]) -> None:
    events.mark_processed(batch, events.process_batch(batch))


@shared_task(ignore_result=True)
def sweep_undispatched_events(limit: int = 500) -> int:
    """Re-dispatch outbox rows still unprocessed after the grace period."""
    grace = timedelta(seconds=settings.OUTBOX_REDISPATCH_AFTER_SECONDS)
    cutoff = timezone.now() - grace
    with operator_scope("outbox sweeper"):
        due = list(
            EntityEvent.objects.select_for_update(skip_locked=True)
            .filter(processed_at__isnull=True, created_at__lt=cutoff)
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=cutoff))
            .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=timezone.now()))
            .order_by("created_at")
            .values_list("id", "tenant_id")[:limit]
        )
        if due:
            EntityEvent.objects.filter(pk__in=[d[0] for d in due]).update(
                enqueued_at=timezone.now(), enqueue_count=F("enqueue_count") + 1
            )
    tenants = {str(tid) for _eid, tid in due}
    woken = {tid for tid in tenants if events.enqueue(tid)}
    sent = sum(1 for _eid, tid in due if str(tid) in woken)
    if due:
        log.info("outbox sweeper re-dispatched %d/%d events", sent, len(due))
    return sent


@shared_task(ignore_result=True)
def cleanup_entity_events(batch: int = 1000) -> int:
    """Processed outbox rows older than ENTITY_EVENT_RETENTION_DAYS (default 14),
    in batches so one run never holds a long lock. Unprocessed rows stay whatever
    their age: they are the sweeper's until handed to the subscribers."""
    cutoff = timezone.now() - timedelta(days=settings.ENTITY_EVENT_RETENTION_DAYS)
    total = 0
    while True:
        with operator_scope("outbox retention"):
            ids = list(
                EntityEvent.objects.filter(processed_at__isnull=False, created_at__lt=cutoff)
                .values_list("pk", flat=True)[:batch]
            )
            if ids:
                EntityEvent.objects.filter(pk__in=ids).delete()
        total += len(ids)
        if len(ids) < batch:
            if total:
                log.info("outbox retention: removed %d processed events", total)
            return total
