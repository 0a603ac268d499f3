"""The session teardown drops the test database only once the sessions of the last tests'
workers and threads have ended (tests/support/db_teardown.py), however slowly they close."""

from __future__ import annotations

import os
import threading

import psycopg
import pytest
from django.conf import settings
from django.db import connections

from tests.support.db_teardown import other_sessions, wait_until_alone

pytestmark = pytest.mark.skipif("owner" not in settings.DATABASES, reason="PostgreSQL only")


@pytest.fixture(scope="session")
def scratch_database(django_db_blocker):
    """An empty database of its own, so only the sessions these tests open are on it. Dropped
    at the end of the session, just before the test database: PostgreSQL checkpoints on every
    DROP DATABASE, which took 47 s on a busy run; back to back, the second one is cheap."""
    name = "test_teardown_probe" + os.environ.get("TEST_DB_SUFFIX", "") + os.environ.get("PYTEST_XDIST_WORKER", "")
    with django_db_blocker.unblock():
        with connections["owner"]._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield name
        with connections["owner"]._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _connect(database: str) -> psycopg.Connection:
    owner = settings.DATABASES["owner"]
    return psycopg.connect(host=owner["HOST"], port=owner["PORT"] or 5432, user=owner["USER"],
                           dbname=database, application_name="lingering-worker")


def test_the_teardown_waits_for_a_session_that_closes_late(scratch_database, django_db_blocker):
    lingering = _connect(scratch_database)
    with django_db_blocker.unblock():
        assert [row[1] for row in other_sessions("owner", scratch_database)] == ["lingering-worker"]
        # PostgreSQL's own DROP DATABASE would give up after 5 s; this one closes after 6 s.
        closer = threading.Timer(6.0, lingering.close)
        closer.start()
        wait_until_alone("owner", scratch_database, timeout=30)
        closer.join()
        assert lingering.closed
        assert other_sessions("owner", scratch_database) == []


def test_a_session_that_never_ends_is_named_in_the_failure(scratch_database, django_db_blocker):
    lingering = _connect(scratch_database)
    try:
        with django_db_blocker.unblock(), pytest.raises(RuntimeError) as failure:
            wait_until_alone("owner", scratch_database, timeout=1)
    finally:
        lingering.close()
    assert "1 session(s) still on " + scratch_database in str(failure.value)
    assert "lingering-worker" in str(failure.value)
