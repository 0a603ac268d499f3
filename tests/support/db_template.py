"""One migrated template database per test run, cloned by every xdist worker.

Migrating a database costs ~15 s of CPU here (59 migrations, the RLS policies, the
grants); four workers each migrating their own cost a minute of the suite's wall time on
two cores. Instead the first worker to arrive builds ``<test name>_template`` once, and
each worker's database is a ``CREATE DATABASE … TEMPLATE`` copy of it (about a second).

The template is marked with the run's id (xdist's ``testrun_uid``, shared by the
workers of one run) in its comment: a template left by an earlier run, or by a run that
stopped half-way, is rebuilt, never reused, so a migration changed since is always
applied. A cluster-wide advisory lock (taken in the ``postgres`` database, since
advisory locks are per database) makes the workers build it once and clone it one at a
time (PostgreSQL refuses a clone while another session is connected to the template).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connections


@contextmanager
def _cluster_lock(alias: str, key: str) -> Iterator:
    """A cursor on the server's maintenance database, holding an advisory lock on ``key``."""
    with connections[alias]._nodb_cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [key])
        try:
            yield cursor
        finally:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [key])


def _comment(cursor, database: str) -> tuple[bool, str | None]:
    cursor.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [database])
    row = cursor.fetchone()
    return (row is not None, row[0] if row else None)


def clone_from_template(alias: str, template: str, target: str, run_id: str,
                        build: Callable[[str], None]) -> bool:
    """Create ``target`` as a copy of ``template``, building the template first (``build``
    creates and migrates the database it is given) unless this run already built it.
    Returns whether this call built it."""
    built = False
    with _cluster_lock(alias, template) as cursor:
        exists, mark = _comment(cursor, template)
        if mark != run_id:
            if exists:
                cursor.execute(f'DROP DATABASE "{template}"')
            build(template)
            cursor.execute(f'COMMENT ON DATABASE "{template}" IS %s', [run_id])
            built = True
        cursor.execute(f'DROP DATABASE IF EXISTS "{target}"')
        cursor.execute(f'CREATE DATABASE "{target}" TEMPLATE "{template}"')
    return built


def drop_template(alias: str, template: str) -> None:
    """Drop the template at the end of a worker's session; a worker still cloning it (or
    one that arrives later and rebuilds it) is not disturbed: the drop waits for the lock,
    and a template someone is connected to is left for the next run to replace."""
    from django.db import DatabaseError

    with _cluster_lock(alias, template) as cursor:
        try:
            cursor.execute(f'DROP DATABASE IF EXISTS "{template}"')
        except DatabaseError:
            pass


def migrate_into(alias: str) -> Callable[[str], None]:
    """The ``build`` of :func:`clone_from_template` for Django: ``alias``'s connection
    creates and migrates the named database (Django's own test-database creation, so the
    post-migrate signals run as for any test database), then lets it go."""

    def build(name: str) -> None:
        connection = connections[alias]
        test_settings = connection.settings_dict["TEST"]
        saved_test_name, saved_name = test_settings.get("NAME"), connection.settings_dict["NAME"]
        test_settings["NAME"] = name
        try:
            connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        finally:
            connection.close()
            test_settings["NAME"] = saved_test_name
            connection.settings_dict["NAME"] = saved_name

    return build
