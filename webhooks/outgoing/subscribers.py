"""Registers outgoing webhooks at the foundation's single entity-event dispatch point.

:func:`register` is called by ``OutgoingWebhooksConfig.ready``: no import
side effect, and a broken import fails the start loudly instead of leaving
the hub running without outgoing webhooks.
"""

from __future__ import annotations

from collections.abc import Sequence

from entities.events import subscribe
from entities.models import EntityEvent
from webhooks.outgoing.delivery import deliveries_create_for_event, deliveries_create_for_events

SUBSCRIBER_NAME = "outgoing_webhooks"


def on_entity_event(event: EntityEvent) -> None:
    """Create one delivery per matching webhook (idempotent: the event may be processed twice)."""
    deliveries_create_for_event(event=event)


def on_entity_events(events: Sequence[EntityEvent]) -> None:
    """The same for a drained batch of one tenant's events: one insert for all their deliveries."""
    deliveries_create_for_events(events=events)


def register() -> None:
    subscribe(SUBSCRIBER_NAME, on_entity_event, batch=on_entity_events)
