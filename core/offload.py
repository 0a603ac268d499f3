"""Network waits leave the Celery worker's threads.

A worker has a few threads (``--concurrency``) shared by every tenant. A
delivery to a receiver that drips one byte a second lasts its whole deadline
(up to 30 s); done on a worker thread, a handful of them hold every thread and
the other tenants' outbox drains wait behind them (issue 10 item 12: measured
p99 of 10 s for a healthy tenant next to a dripping one, on 2 threads).

So the tasks that send (the outbox drain's first attempts, the dispatcher)
run inside :func:`offloading`, and the service hands its sending step to
:func:`run_or_offload`: inside a task it goes to this process's sender pool
and the task returns at once; anywhere else (tests, commands, embedded mode)
it runs inline as before (eager tasks of the embedded mode too). Nothing is lost by leaving: the attempts were
claimed with a lease before the hand-off, so if the process dies the lease
runs out and the sweeper has them sent again (DESIGN §3).

``key``: at most one job per key runs at a time; a job submitted while its
key runs is folded into one re-run after it (a tenant's dispatcher: one loop
per tenant, never a wake-up lost).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar

from architect_studio.env import setting_int

log = logging.getLogger("architect_studio.offload")

_offloading: ContextVar[bool] = ContextVar("offloading", default=False)


@contextlib.contextmanager
def offloading() -> Iterator[None]:
    """Mark the current task's network work as movable to the sender pool."""
    token = _offloading.set(True)
    try:
        yield
    finally:
        _offloading.reset(token)


def sender_threads() -> int:
    """OUTGOING_WEBHOOK_SENDER_THREADS: threads per worker process that wait on receivers (default 64)."""
    return max(1, setting_int("OUTGOING_WEBHOOK_SENDER_THREADS", 64))


_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None
_running: dict[str, bool] = {}  # key -> "run again when done"


def _executor() -> ThreadPoolExecutor:
    global _pool, _running
    with _lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(sender_threads(), thread_name_prefix="sender"))
            _running = {}
        return _pool[1]


def run_or_offload(job: Callable[[], object], *, name: str, key: str | None = None) -> bool:
    """Run ``job`` on the sender pool when inside :func:`offloading`, else inline.

    Returns True when it was handed off (or folded into a running job of the same key).
    """
    from django.conf import settings

    # Eager tasks (embedded mode) run in their caller's thread: keep them synchronous there.
    if not _offloading.get() or settings.CELERY_TASK_ALWAYS_EAGER:
        job()
        return False
    pool = _executor()
    if key is not None:
        with _lock:
            if key in _running:
                _running[key] = True
                return True
            _running[key] = False
    pool.submit(_run, job, name, key)
    return True


def _run(job: Callable[[], object], name: str, key: str | None) -> None:
    from django.db import connections

    try:
        while True:
            try:
                job()
            except Exception:  # noqa: BLE001 - the rows keep their leases; the sweeper takes over
                log.exception("%s failed in the sender pool; its leased attempts will be sent again", name)
            if key is None:
                return
            with _lock:
                if not _running.get(key):
                    _running.pop(key, None)
                    return
                _running[key] = False
    finally:
        connections.close_all()  # this thread's connection goes back to the pool between jobs
