"""The export queue (``SyncPending``): one row per local record awaiting export to one
integration, coalesced by its unique constraint (a record edited ten times before the
export runs is one row, carrying its latest operation).

Written by the entity-event subscriber (``exporter.on_entity_events``) in the outbox
drain's transaction, by an import that merged a local win the provider has yet to take,
and by scheduled runs for local records without a link. Drained by ``exporter``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from integrations.models import SyncPending


@dataclass(frozen=True)
class Pending:
    integration_id: uuid.UUID
    local_type: str
    local_id: uuid.UUID
    operation: str
    snapshot: dict[str, Any]


def pending_upsert(*, tenant_id: uuid.UUID, items: Iterable[Pending]) -> int:
    """Insert or refresh rows (the latest operation wins; a retried row becomes due now)."""
    latest: dict[tuple, Pending] = {}
    for item in items:  # one statement cannot touch a row twice: coalesce here first
        latest[(item.integration_id, item.local_type, str(item.local_id))] = item
    if not latest:
        return 0
    now = timezone.now()
    rows = [SyncPending(tenant_id=tenant_id, integration_id=p.integration_id, local_type=p.local_type,
                        local_id=p.local_id, operation=p.operation, snapshot=p.snapshot, queued_at=now,
                        attempts=0, next_attempt_at=None, last_error="")
            for p in latest.values()]
    SyncPending.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["integration", "local_type", "local_id"],
        update_fields=["operation", "snapshot", "queued_at", "attempts", "next_attempt_at", "last_error"],
    )
    return len(rows)
