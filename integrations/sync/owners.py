"""Owners of exported records: a subsystem that writes records of one local type for the
engine to export, and wants to hear how each export ended (issue 16: the messaging rules own
outgoing ``message`` records).

An owner is registered by local type in ``IntegrationsConfig.ready``. For a pair the adapter
exports standing (``ProviderAdapter.standing_exports``) the owner writes the queue rows itself
(``integrations.sync.queue.pending_upsert``, in the transaction that writes the record); the
engine then exports them like any other row -- claim, map, ``push_create``, link, retry with
backoff, the run's log and events -- and tells the owner the outcome, inside the tenant's
scope, in the transaction that finishes the row:

- ``sent``: the provider took it (``remote`` is what ``push_create`` returned); returns what
  the run's log keeps about it (or None);
- ``failed``: it failed; ``final`` when it will not be retried (the provider refused the
  record, or it ran out of attempts), else ``retry_at`` is when it is tried again; returns
  fields added to the run's failed item.

A provider webhook about such records (``ProviderAdapter.hook_messages``) is handed to the
owner's ``receive`` by ``integrations.sync.hooks``. The engine imports no owner; owners import
the engine (queue, importer). No cycle.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

from integrations.models import Integration
from integrations.providers.adapter import RemoteChange


class RecordOwner(Protocol):
    #: The key the run's request snapshot lists its items under (``messages``) -- and the last
    #: one under the singular (``message``), as the per-message log lines had it.
    log_key: str

    def sent(self, *, integration: Integration, local_id: uuid.UUID, remote: RemoteChange) -> dict[str, Any] | None: ...

    def failed(self, *, integration: Integration, local_id: uuid.UUID, error: str, final: bool, attempts: int,
               retry_at: datetime | None) -> dict[str, Any]: ...

    def receive(self, integration: Integration, events: Any) -> int:
        """What a provider's verified webhook said about these records (``hook_messages``:
        delivery statuses, inbound messages, opt-outs); returns how many were written."""
        ...


_OWNERS: dict[str, RecordOwner] = {}


def register(local_type: str, owner: RecordOwner) -> None:
    _OWNERS[local_type] = owner


def owner_of(local_type: str) -> RecordOwner | None:
    return _OWNERS.get(local_type)
