"""django-celery-beat's DatabaseScheduler, riding out a database that goes away.

The stock scheduler catches database errors in ``schedule_changed`` and ``sync`` but not
when it re-reads the schedule inside ``tick`` (``all_as_schedule``): a PostgreSQL restart
(or its backends terminated) at that moment raised out of the beat loop and the beat
process exited — found by tests/faults/test_postgres_terminate.py. Here a database error
in a tick closes the broken connections, logs one warning and tries again shortly; the
schedule itself is unchanged (the next tick re-reads it).
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, InterfaceError, close_old_connections, connections
from django_celery_beat.schedulers import DatabaseScheduler as _StockScheduler

log = logging.getLogger("architect_studio.beat")

#: Seconds until the next tick after a database error.
RETRY_SECONDS = 2.0


class DatabaseScheduler(_StockScheduler):
    def tick(self, *args, **kwargs):
        try:
            return super().tick(*args, **kwargs)
        except (DatabaseError, InterfaceError) as exc:
            log.warning("beat: the database did not answer (%s); next try in %.0fs", type(exc).__name__, RETRY_SECONDS)
            for connection in connections.all():
                connection.close_if_unusable_or_obsolete()
            close_old_connections()
            return RETRY_SECONDS
