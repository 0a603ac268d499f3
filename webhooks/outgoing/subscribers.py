"""Registers outgoing webhooks at the foundation's single entity-event dispatch point."""

from __future__ import annotations

from entities.events import subscribe
from entities.models import EntityEvent


def on_entity_event(event: EntityEvent) -> None:
    """Create one delivery per matching webhook (idempotent: the event may be processed twice)."""
    from webhooks.outgoing.services import deliveries_create_for_event

    deliveries_create_for_event(event=event)


def on_entity_events(events) -> None:
    """The same for a drained batch of one tenant's events: one insert for all their deliveries."""
    from webhooks.outgoing.services import deliveries_create_for_events

    deliveries_create_for_events(events=events)


subscribe("outgoing_webhooks", on_entity_event, batch=on_entity_events)
