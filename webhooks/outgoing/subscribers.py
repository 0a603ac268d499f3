"""Registers outgoing webhooks at the foundation's single entity-event dispatch point."""

from __future__ import annotations

from entities.events import subscribe
from entities.models import EntityEvent


def on_entity_event(event: EntityEvent) -> None:
    """Create one delivery per matching webhook (idempotent: the event may be processed twice)."""
    from webhooks.outgoing.services import deliveries_create_for_event

    deliveries_create_for_event(event=event)


subscribe("outgoing_webhooks", on_entity_event)
