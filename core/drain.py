"""One drain loop: take a tenant's work a batch per transaction, wake help when there is more.

Used by the outbox drain (``entities.tasks``) and the incoming-request drain
(``webhooks.incoming.process``). Each round opens the tenant's transaction,
asks ``claim(batch)`` for the oldest rows (the caller's query locks them
``FOR UPDATE SKIP LOCKED``, so concurrent drains of the same tenant take the
next rows instead), and hands them to ``work`` in that same transaction. A
full batch means more is waiting: ``wake()`` starts another drain (through
``core.kick``) *before* the work, so the backlog gets as many workers as it
needs. The outgoing dispatcher claims with one ``UPDATE … RETURNING``
statement and sends concurrently; it has its own loop
(``webhooks.outgoing.repository``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from core.tenant_context import tenant_scope

Row = TypeVar("Row")


def drain_batches(
    tenant_id: str,
    *,
    claim: Callable[[int], Sequence[Row]],
    work: Callable[[Sequence[Row]], Any],
    wake: Callable[[], Any],
    batch: int,
    stop_on_partial: bool = False,
    budget_seconds: float | None = None,
) -> int:
    """Drain until nothing is claimable; returns the rows worked on.

    ``stop_on_partial`` ends after a batch that was not full (what is left is
    not due yet, or a newer kick covers it). ``budget_seconds`` ends after that
    much time and hands the rest to a fresh drain (``wake()``).
    """
    started = time.monotonic()
    done = 0
    while True:
        with tenant_scope(tenant_id):
            rows = claim(batch)
            if not rows:
                return done
            if len(rows) == batch:
                wake()  # more is waiting: another drain takes the next batch meanwhile
            work(rows)
        done += len(rows)
        if stop_on_partial and len(rows) < batch:
            return done
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            wake()
            return done
