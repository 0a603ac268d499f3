"""Coalesced wake-ups: "tenant T has work for task K", at most one queued message each.

The outbox and the outgoing delivery engine keep their work in PostgreSQL
(DESIGN §3); the broker only needs to wake a worker up. Sending one message
per row costs a Celery task per row — most of the worker's time at 50
events/s. Instead each committed change *kicks* its tenant: the first kick
sets a short-lived Redis flag and enqueues one task; later kicks, while that
task is still queued, only find the flag. The task clears the flag **before**
it looks for work, so a row committed after its scan kicks a new task. When
the flag cannot be set or the task cannot be enqueued, the beat sweepers
(which scan the tables) remain the guarantee; after a Redis failure kicks are
skipped for a few seconds (``core.redis_client.is_down``) rather than each
waiting for a timeout.

Without Redis (embedded mode: eager tasks) a kick simply runs the task.

Services name the task (``kick("webhooks.outgoing.tasks.dispatch_deliveries",
tenant)``) rather than import it: tasks import services, so a service that
imported its task would close an import circle (tests/architect_studio/test_architecture.py
forbids it). :func:`resolve` finds the registered task by that name.

On the hot path of a web request, :func:`kick_soon` takes even the flag's
round trip off the request thread: it notes the (task, tenant) in a
per-process set, and one daemon thread sends the kicks a few milliseconds
later, one per pair however many requests noted it meanwhile. The order that
makes kicks safe is kept — a pair is noted only after its rows committed,
and kicked after that. A process that dies with kicks still noted leaves its
rows to the sweepers, as one that dies between commit and kick always did.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import uuid

from django.conf import settings

from core.redis_client import is_down, mark_down, redis_client

log = logging.getLogger("architect_studio.kick")

_PREFIX = "hub:kick:"
#: A flag outlives a lost message by at most this long; then kicks enqueue again.
FLAG_TTL_MS = 10_000


def _flag(task_name: str, tenant_id: str) -> str:
    return f"{_PREFIX}{task_name}:{tenant_id}"


def _redis():
    url = settings.REDIS_URL
    if not url or settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    return redis_client(url)


def resolve(task):
    """The Celery task registered under ``task`` when it is a name; ``task`` itself otherwise.

    A process that has not imported the ``<app>.tasks`` modules yet (the web
    process: only a worker autodiscovers them) has them imported once here.
    """
    if not isinstance(task, str):
        return task
    from celery import current_app

    try:
        return current_app.tasks[task]
    except KeyError:
        current_app.loader.import_default_modules()  # runs the app's autodiscover_tasks
        return current_app.tasks[task]


def kick(task, tenant_id: uuid.UUID | str) -> bool:
    """Make sure one ``task(tenant_id)`` is queued; False when the broker refused (the sweeper retries).

    ``task`` is a task or its registered name (what services pass).
    """
    task = resolve(task)
    tid = str(tenant_id)
    client = _redis()
    key = _flag(task.name, tid)
    if client is not None:
        if is_down(settings.REDIS_URL):
            return False  # Redis failed moments ago: don't wait on it again; the sweepers cover the rows
        try:
            if not client.set(key, b"1", nx=True, px=FLAG_TTL_MS):
                return True  # one is queued already and has not started yet
        except Exception as exc:  # noqa: BLE001 - Redis trouble: enqueue anyway (duplicates are harmless)
            if mark_down(settings.REDIS_URL):
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


def enqueue(task, *, args: list, **options) -> None:
    """``apply_async`` of the task registered under ``task`` (a name): work that is one row, not a tenant's queue.

    Raises what the broker raises; callers log it and leave the row to their sweeper.
    """
    resolve(task).apply_async(args=args, retry=True, **options)


def kicked(task_name: str, tenant_id: uuid.UUID | str) -> None:
    """Called by the task as it starts, before it scans for work: later commits kick again."""
    client = _redis()
    if client is None:
        return
    try:
        client.delete(_flag(task_name, str(tenant_id)))
    except Exception as exc:  # noqa: BLE001 - the flag expires by itself
        log.warning("could not clear kick flag of %s (%s)", task_name, type(exc).__name__)


#: How long the kicker thread waits after the first note, gathering others.
KICK_SOON_LINGER = 0.005

_soon: set[tuple] = set()
_soon_cond = threading.Condition()
_soon_owner: int | None = None  # the pid whose thread serves _soon


def kick_soon(task, tenant_id: uuid.UUID | str) -> None:
    """:func:`kick` from a background thread, coalesced per (task, tenant); call after commit."""
    global _soon_owner
    if _redis() is None:
        kick(task, tenant_id)  # eager/embedded: no flag to save; run it now, as tests expect
        return
    with _soon_cond:
        if _soon_owner != os.getpid():  # first use in this process (or in a forked child)
            _soon.clear()
            _soon_owner = os.getpid()
            threading.Thread(target=_kicker, name="kick-soon", daemon=True).start()
        _soon.add((task, str(tenant_id)))
        _soon_cond.notify()


def flush_soon() -> int:
    """Send every noted kick now (the kicker's step; also run at exit). Returns how many."""
    with _soon_cond:
        batch = list(_soon)
        _soon.clear()
    for task, tenant_id in batch:
        kick(task, tenant_id)
    return len(batch)


def _kicker() -> None:
    while True:
        with _soon_cond:
            while not _soon:
                _soon_cond.wait()
        time.sleep(KICK_SOON_LINGER)
        try:
            flush_soon()
        except Exception:  # noqa: BLE001 - kick() logs; the thread must live on
            log.exception("deferred kicks failed; the sweepers will pick the rows up")


atexit.register(flush_soon)
