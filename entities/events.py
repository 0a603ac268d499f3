"""The single dispatch point for entity events.

``emit`` writes the outbox row in the caller's transaction and, on commit, asks
Celery to process it. Outgoing webhooks and sync exports register a subscriber
with :func:`subscribe`; the worker calls every subscriber for every event
(subscribers must be idempotent: an event may be processed more than once after
a crash — at-least-once).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from entities.models import EntityEvent

log = logging.getLogger("architect_studio.entities")

Subscriber = Callable[[EntityEvent], None]
_SUBSCRIBERS: dict[str, Subscriber] = {}


def subscribe(name: str, handler: Subscriber) -> None:
    _SUBSCRIBERS[name] = handler


def subscribers() -> dict[str, Subscriber]:
    return dict(_SUBSCRIBERS)


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
    event_id, tid = str(row.id), str(tenant_id)
    transaction.on_commit(lambda: enqueue(event_id, tid))
    return row


def enqueue(event_id: str, tenant_id: str) -> bool:
    """Hand the event to Celery. A broker failure is logged, not raised: the sweeper retries."""
    from entities.tasks import process_entity_event

    try:
        process_entity_event.apply_async(args=[event_id, tenant_id], retry=True)
    except Exception as exc:  # noqa: BLE001 - broker down: the outbox row stays for the sweeper
        log.warning("could not enqueue entity event %s (%s); the sweeper will retry", event_id, type(exc).__name__)
        return False
    return True


def process(event: EntityEvent) -> list[str]:
    """Run every subscriber; returns the names that failed (the event then stays pending)."""
    failed: list[str] = []
    for name, handler in _SUBSCRIBERS.items():
        try:
            with transaction.atomic():
                handler(event)
        except Exception:  # noqa: BLE001 - one subscriber's bug must not block the others
            log.exception("entity event subscriber %s failed for %s", name, event.id)
            failed.append(name)
    return failed


def mark_processed(event: EntityEvent, failed: list[str]) -> None:
    if failed:
        EntityEvent.objects.filter(pk=event.pk).update(last_error=f"subscribers failed: {', '.join(failed)}")
    else:
        EntityEvent.objects.filter(pk=event.pk).update(processed_at=timezone.now(), last_error="")
