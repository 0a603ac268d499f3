"""Dropping the session's test database once every other session on it has ended.

PostgreSQL's ``DROP DATABASE`` waits only 5 seconds for other sessions on the database to
end, then fails ("is being accessed by other users"). The tests start real workers, web
servers and worker threads whose connections close a moment after the test ends; on a
loaded machine that moment can be longer than 5 seconds (seen once at the end of a
four-worker run). The owner cannot end another role's sessions, so the teardown waits for
them: it collects garbage (connections left in the thread-locals of finished threads are
closed when collected) and polls ``pg_stat_activity`` until the test database has no
session but ours, for up to ``timeout`` seconds. A session that never ends is named in the
failure (role, application, state, since when) instead of PostgreSQL's bare message.
"""

from __future__ import annotations

import gc
import time

from django.db import connections

_OTHERS = """
    SELECT usename, application_name, state, backend_start
      FROM pg_stat_activity
     WHERE datname = %s AND pid <> pg_backend_pid()
"""


def other_sessions(alias: str, database: str) -> list[tuple]:
    """The sessions on ``database`` other than this one, seen from ``alias``'s server
    without connecting to ``database`` itself."""
    with connections[alias]._nodb_cursor() as cursor:
        cursor.execute(_OTHERS, [database])
        return cursor.fetchall()


def wait_until_alone(alias: str, database: str, *, timeout: float = 60.0) -> None:
    """Return once no other session is connected to ``database``; raise naming them after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        gc.collect()
        sessions = other_sessions(alias, database)
        if not sessions:
            return
        if time.monotonic() >= deadline:
            listed = "; ".join(f"{user} {app or '-'} {state or '-'} since {start:%H:%M:%S}"
                               for user, app, state, start in sessions)
            raise RuntimeError(f"{len(sessions)} session(s) still on {database} after {timeout:.0f} s: {listed}")
        time.sleep(0.5)
