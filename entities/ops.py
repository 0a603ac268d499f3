"""The entity-event outbox on the operators' dashboard and in /metrics (core.ops registers it).

Unprocessed events are a capped count over idx_entity_events_pending (partial:
``processed_at IS NULL``); given-up ones over idx_entity_events_failed (partial:
``failed_at IS NOT NULL``). Re-dispatch is entities.events.redispatch, the admin's own.
"""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse
from django.utils.translation import pgettext_lazy
from prometheus_client.core import GaugeMetricFamily

from core.ops import Action, ActionRefused, Figure, Row, Section, capped_count
from entities.events import redispatch
from entities.models import EntityEvent


def _unprocessed():
    return EntityEvent.objects.filter(processed_at__isnull=True)


def _given_up():
    return EntityEvent.objects.filter(failed_at__isnull=False)


def sections(now: datetime):
    listing = reverse("admin:entities_entityevent_changelist")
    stuck = (_given_up().select_related("tenant").order_by("-failed_at")[:15])
    oldest = _unprocessed().order_by("created_at").select_related("tenant")[:10]
    rows = [
        Row(cells=[e.created_at, e.tenant.name, e.name, e.attempts, e.last_error or "",
                   pgettext_lazy("ops", "given up") if e.failed_at else pgettext_lazy("ops", "waiting")],
            actions=[("event_redispatch", str(e.pk))], url=reverse("admin:entities_entityevent_change", args=[e.pk]))
        for e in [*stuck, *oldest]
    ]
    yield Section(
        key="outbox", order=35, title=pgettext_lazy("ops", "Entity events (outbox)"),
        figures=[
            Figure(pgettext_lazy("ops", "Unprocessed"), capped_count(_unprocessed()), f"{listing}?processed_at__isnull=True", alert=True),
            Figure(pgettext_lazy("ops", "Given up"), capped_count(_given_up()), f"{listing}?failed_at__isnull=False", alert=True),
        ],
        columns=[pgettext_lazy("ops", "Created"), pgettext_lazy("ops", "Studio"), pgettext_lazy("ops", "Event"), pgettext_lazy("ops", "Failed runs"), pgettext_lazy("ops", "Last error"), pgettext_lazy("ops", "State")],
        rows=rows, empty=pgettext_lazy("ops", "Every entity event has been processed."),
    )


def redispatch_one(pk: str):
    sent = redispatch(EntityEvent.objects.filter(pk=pk))
    if not sent:
        raise ActionRefused(pgettext_lazy("ops", "That event is processed already, or no longer exists."))
    return pgettext_lazy("ops", "The event was handed back to the worker.")


ACTIONS = [Action("event_redispatch", pgettext_lazy("ops", "Re-dispatch"), "entities.change_entityevent", redispatch_one)]


def metrics(now: datetime, window: int):
    backlog = GaugeMetricFamily("hub_backlog", "Work waiting, by queue (capped at 10000).", labels=["queue"])
    oldest = GaugeMetricFamily("hub_backlog_oldest_seconds", "Age of the oldest item waiting, by queue.",
                               labels=["queue"])
    backlog.add_metric(["entity_events_unprocessed"], capped_count(_unprocessed()))
    first = _unprocessed().order_by("created_at").values_list("created_at", flat=True).first()  # the index's first row
    oldest.add_metric(["entity_events_unprocessed"], max(0.0, (now - first).total_seconds()) if first else 0.0)
    backlog.add_metric(["entity_events_given_up"], capped_count(_given_up()))
    yield backlog
    yield oldest
