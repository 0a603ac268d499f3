"""The single dispatch point for entity events.

``emit`` writes the outbox row in the caller's transaction and, on commit,
kicks its tenant's outbox drain (:mod:`core.kick`: at most one queued task per
tenant, however many events commit) from the kicker thread: an entity write
never waits on Redis, even a hung one. The drain takes the tenant's unprocessed
rows in batches and hands each batch to every subscriber registered with
:func:`subscribe` — outgoing webhooks, later sync exports. Subscribers must be
idempotent: an event may be processed more than once after a crash
(at-least-once).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from core import retry
from core.db import ids_where
from core.kick import kick, kick_soon
from entities.models import EntityEvent

log = logging.getLogger("architect_studio.entities")

#: The outbox drain, woken by name (entities.tasks imports this module).
DRAIN_TASK = "entities.tasks.drain_entity_events"

Subscriber = Callable[[EntityEvent], None]
BatchSubscriber = Callable[[Sequence[EntityEvent]], None]
#: Whether a subscriber may have anything to do for a tenant (one cheap query at most).
Gate = Callable[[Any], bool]
_SUBSCRIBERS: dict[str, tuple[Subscriber, BatchSubscriber | None, Gate | None]] = {}


def subscribe(name: str, handler: Subscriber, *, batch: BatchSubscriber | None = None,
              only_for: Gate | None = None) -> None:
    """Register ``handler(event)``; ``batch(events)``, when given, handles a whole drained batch at once.

    ``only_for(tenant_id)``, when given, says whether the subscriber can have anything
    to do for that tenant's events (e.g. "has a connected integration"): it is asked
    once per drained batch and tenant — once for all the subscribers sharing the same
    check — and the subscriber gets only the events of the tenants it answers True
    for; for the others it does not run at all (no savepoint, no queries of its own).
    """
    _SUBSCRIBERS[name] = (handler, batch, only_for)


def unsubscribe(name: str) -> None:
    _SUBSCRIBERS.pop(name, None)


def emit(
    *,
    tenant_id,
    entity_type: str,
    entity_id,
    event: str,
    data: dict,
    old_status: str | None = None,
    new_status: str | None = None,
    actor_id=None,
    source: str = "api",
) -> EntityEvent:
    row = EntityEvent.objects.create(
        tenant_id=tenant_id,
        entity_type=entity_type,
        entity_id=entity_id,
        event=event,
        data=data,
        old_status=old_status,
        new_status=new_status,
        actor_id=actor_id,
        source=source,
    )
    tid = str(tenant_id)
    transaction.on_commit(lambda: enqueue_soon(tid))
    return row


def emit_bulk(rows: Sequence[dict]) -> list[EntityEvent]:
    """``emit`` for many events (each a dict of ``emit``'s keyword arguments): one INSERT,
    and one drain wake-up per tenant on commit."""
    created = EntityEvent.objects.bulk_create([EntityEvent(**row) for row in rows])
    for tid in {str(row["tenant_id"]) for row in rows}:
        transaction.on_commit(lambda tid=tid: enqueue_soon(tid))
    return created


def enqueue_soon(tenant_id: str) -> None:
    """:func:`enqueue` from the kicker thread (:func:`core.kick.kick_soon`): never blocks or raises."""
    kick_soon(DRAIN_TASK, tenant_id)


def enqueue(tenant_id: str) -> bool:
    """Wake the tenant's outbox drain. A broker failure is logged, not raised: the sweeper retries."""
    return kick(DRAIN_TASK, tenant_id)


def process_batch(events: Sequence[EntityEvent]) -> dict[str, list[str]]:
    """Run every subscriber on ``events``; returns event id → names of the subscribers that failed.

    A subscriber with a batch handler gets the whole batch in one savepoint;
    if that fails, it is run event by event so one bad event cannot hold back
    the others.
    """
    failed: dict[str, list[str]] = {str(e.id): [] for e in events}
    answers: dict[tuple[Gate, Any], bool] = {}  # (check, tenant) → its answer, for this batch
    for name, (handler, batch, only_for) in _SUBSCRIBERS.items():
        mine = events
        if only_for is not None:
            for tenant_id in {e.tenant_id for e in events}:
                if (only_for, tenant_id) not in answers:
                    answers[only_for, tenant_id] = bool(only_for(tenant_id))
            mine = [e for e in events if answers[only_for, e.tenant_id]]
        if batch is not None and len(mine) > 1:
            try:
                with transaction.atomic():
                    batch(mine)
                continue
            except Exception:  # noqa: BLE001 - isolate the culprit below
                log.warning("entity event subscriber %s failed on a batch of %d; retrying one by one", name, len(mine))
        for event in mine:
            try:
                with transaction.atomic():
                    if batch is not None:
                        batch([event])
                    else:
                        handler(event)
            except Exception:  # noqa: BLE001 - one subscriber's bug must not block the others
                log.exception("entity event subscriber %s failed for %s", name, event.id)
                failed[str(event.id)].append(name)
    return failed


def retry_delay(attempts: int) -> timedelta:
    """Wait before run ``attempts + 1`` of an event whose subscriber failed: 10 s doubling, ≤ 1 h."""
    return timedelta(seconds=retry.exponential(attempts, base=10, cap=3600))


def mark_processed(events: Sequence[EntityEvent], failed: dict[str, list[str]]) -> None:
    """Done events are marked processed; failed ones wait with backoff, or are given up."""
    now = timezone.now()
    done = [e.pk for e in events if not failed.get(str(e.id))]
    if done:
        where, params = ids_where("id", done)
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {EntityEvent._meta.db_table} SET processed_at = %s, last_error = '', "
                           f"retry_at = NULL WHERE {where}", [now, *params])
    limit = settings.OUTBOX_MAX_ATTEMPTS
    for event in events:
        names = failed.get(str(event.id))
        if not names:
            continue
        attempts = event.attempts + 1
        error = f"subscribers failed: {', '.join(names)}"
        if attempts >= limit:
            log.error("entity event %s given up after %d runs (%s)", event.id, attempts, error)
            EntityEvent.objects.filter(pk=event.pk).update(
                attempts=attempts, last_error=f"{error} (given up after {attempts} runs)",
                retry_at=None, failed_at=now, processed_at=now,
            )
        else:
            EntityEvent.objects.filter(pk=event.pk).update(
                attempts=attempts, last_error=error, retry_at=now + retry_delay(attempts)
            )


def redispatch(queryset) -> int:
    """Hand events back to the drain now: unprocessed ones, and given-up ones from the start."""
    rows = list(queryset.filter(Q(processed_at__isnull=True) | Q(failed_at__isnull=False)).values_list("pk", "tenant_id"))
    if not rows:
        return 0
    EntityEvent.objects.filter(pk__in=[pk for pk, _ in rows]).update(
        processed_at=None, failed_at=None, retry_at=None, attempts=0
    )
    woken = {tid for tid in {t for _, t in rows} if enqueue(str(tid))}
    return sum(1 for _, tid in rows if tid in woken)
