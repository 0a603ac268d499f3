from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from core.tenant_context import operator_scope, tenant_scope
from entities import events
from entities.models import EntityEvent

log = logging.getLogger("architect_studio.entities")


@shared_task(acks_late=True, ignore_result=True)
def process_entity_event(event_id: str, tenant_id: str) -> str:
    with tenant_scope(tenant_id):
        # SKIP LOCKED: if the sweeper re-sent an event a worker is already on, skip it.
        event = (
            EntityEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, processed_at__isnull=True)
            .first()
        )
        if event is None:
            return "skipped"
        failed = events.process(event)
        events.mark_processed(event, failed)
        return "failed" if failed else "processed"


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
            .order_by("created_at")
            .values_list("id", "tenant_id")[:limit]
        )
        if due:
            EntityEvent.objects.filter(pk__in=[d[0] for d in due]).update(
                enqueued_at=timezone.now(), enqueue_count=F("enqueue_count") + 1
            )
    sent = sum(events.enqueue(str(eid), str(tid)) for eid, tid in due)
    if due:
        log.info("outbox sweeper re-dispatched %d/%d events", sent, len(due))
    return sent
