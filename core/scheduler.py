"""In-process scheduler for the embedded mode (no broker, no separate beat).

Runs each CELERY_BEAT_SCHEDULE entry with a float interval in a daemon thread;
tasks execute eagerly in this process. Only started when run.py says so.
"""

from __future__ import annotations

import logging
import threading
import time

from celery import current_app
from django.conf import settings

log = logging.getLogger("architect_studio.scheduler")


def _loop(stop: threading.Event) -> None:
    entries = {
        name: (entry["task"], float(entry["schedule"]))
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
        if isinstance(entry.get("schedule"), int | float)
    }
    next_run = {name: time.monotonic() + interval for name, (_, interval) in entries.items()}
    while not stop.wait(1.0):
        now = time.monotonic()
        for name, (task_name, interval) in entries.items():
            if now >= next_run[name]:
                next_run[name] = now + interval
                try:
                    current_app.tasks[task_name].apply()
                except Exception:  # noqa: BLE001
                    log.exception("embedded scheduler: %s failed", name)


def start() -> threading.Event:
    stop = threading.Event()
    threading.Thread(target=_loop, args=(stop,), name="embedded-scheduler", daemon=True).start()
    log.info("embedded scheduler started (%d entries)", len(settings.CELERY_BEAT_SCHEDULE))
    return stop
