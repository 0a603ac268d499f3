"""In-process scheduler for the embedded mode (no broker, no separate beat).

Runs each CELERY_BEAT_SCHEDULE entry with a float interval in a daemon thread;
tasks execute eagerly in this process. Only started when run.py says so.

The web process never starts a Celery worker, so Celery's lazy autodiscovery
of ``<app>.tasks`` modules never happens there: ``start()`` imports them first,
otherwise every entry would fail with ``NotRegistered``.
"""

from __future__ import annotations

import logging
import threading
import time

from celery import current_app
from django.conf import settings

log = logging.getLogger("architect_studio.scheduler")


def _register_tasks() -> None:
    current_app.loader.import_default_modules()  # runs the app's autodiscover_tasks


def run_entry(name: str) -> str:
    """Run one beat entry's task eagerly; answer its final state (``SUCCESS`` …)."""
    _register_tasks()
    entry = settings.CELERY_BEAT_SCHEDULE[name]
    result = current_app.tasks[entry["task"]].apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}))
    if result.failed():
        log.error("embedded scheduler: %s failed: %r", name, result.result)
    return result.state


def _loop(stop: threading.Event) -> None:
    intervals = {
        name: float(entry["schedule"])
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
        if isinstance(entry.get("schedule"), int | float)
    }
    next_run = {name: time.monotonic() + interval for name, interval in intervals.items()}
    while not stop.wait(1.0):
        now = time.monotonic()
        for name, interval in intervals.items():
            if now >= next_run[name]:
                next_run[name] = now + interval
                try:
                    run_entry(name)
                except Exception:  # noqa: BLE001 - one entry's failure never stops the others
                    log.exception("embedded scheduler: %s failed", name)


def start() -> threading.Event:
    _register_tasks()
    stop = threading.Event()
    threading.Thread(target=_loop, args=(stop,), name="embedded-scheduler", daemon=True).start()
    log.info("embedded scheduler started (%d entries)", len(settings.CELERY_BEAT_SCHEDULE))
    return stop
