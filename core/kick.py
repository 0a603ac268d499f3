"""Coalesced wake-ups: "tenant T has work for task K", at most one queued message each.

The outbox and the outgoing delivery engine keep their work in PostgreSQL
(DESIGN §3); the broker only needs to wake a worker up. Sending one message
per row costs a Celery task per row — most of the worker's time at 50
events/s. Instead each committed change *kicks* its tenant: the first kick
sets a short-lived Redis flag and enqueues one task; later kicks, while that
task is still queued, only find the flag. The task clears the flag **before**
it looks for work, so a row committed after its scan kicks a new task. When
the flag cannot be set or the task cannot be enqueued, the beat sweepers
(which scan the tables) remain the guarantee.

Without Redis (embedded mode: eager tasks) a kick simply runs the task.
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings

from core.redis_client import redis_client

log = logging.getLogger("architect_studio.kick")

_PREFIX = "hub:kick:"
#: A flag outlives a lost message by at most this long; then kicks enqueue again.
FLAG_TTL_MS = 10_000


def _flag(task_name: str, tenant_id: str) -> str:
    return f"{_PREFIX}{task_name}:{tenant_id}"


def _redis():
    url = getattr(settings, "REDIS_URL", None)
    if not url or getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        return None
    return redis_client(url)


def kick(task, tenant_id: uuid.UUID | str) -> bool:
    """Make sure one ``task(tenant_id)`` is queued; False when the broker refused (the sweeper retries)."""
    tid = str(tenant_id)
    client = _redis()
    key = _flag(task.name, tid)
    if client is not None:
        try:
            if not client.set(key, b"1", nx=True, px=FLAG_TTL_MS):
                return True  # one is queued already and has not started yet
        except Exception as exc:  # noqa: BLE001 - Redis trouble: enqueue anyway (duplicates are harmless)
            log.warning("kick flag for %s unavailable (%s)", task.name, type(exc).__name__)
            client = None
    try:
        task.apply_async(args=[tid], retry=True)
    except Exception as exc:  # noqa: BLE001 - broker down: the rows stay for the sweeper
        log.warning("could not enqueue %s for tenant %s (%s); the sweeper will retry", task.name, tid, type(exc).__name__)
        if client is not None:
            try:
                client.delete(key)
            except Exception:  # noqa: BLE001
                pass
        return False
    return True


def kicked(task_name: str, tenant_id: uuid.UUID | str) -> None:
    """Called by the task as it starts, before it scans for work: later commits kick again."""
    client = _redis()
    if client is None:
        return
    try:
        client.delete(_flag(task_name, str(tenant_id)))
    except Exception as exc:  # noqa: BLE001 - the flag expires by itself
        log.warning("could not clear kick flag of %s (%s)", task_name, type(exc).__name__)
