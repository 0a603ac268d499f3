"""Each xdist worker's test database is a copy of one template per run (tests/support/
db_template.py): built once per run, rebuilt when an earlier run left it, dropped at the end."""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest
from django.conf import settings
from django.db import connections

from tests.support.db_template import clone_from_template, drop_template

pytestmark = pytest.mark.skipif("owner" not in settings.DATABASES, reason="PostgreSQL only")


def _prefix() -> str:
    return "test_template_probe" + os.environ.get("TEST_DB_SUFFIX", "") + os.environ.get("PYTEST_XDIST_WORKER", "")


def _tables(database: str) -> list[str]:
    owner = settings.DATABASES["owner"]
    with psycopg.connect(host=owner["HOST"], port=owner["PORT"] or 5432, user=owner["USER"], dbname=database) as conn:
        return [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]


def _exists(database: str) -> bool:
    with connections["owner"]._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
        return cursor.fetchone() is not None


@pytest.fixture
def names(django_db_blocker):
    template, first, second = (f"{_prefix()}_{part}" for part in ("template", "a", "b"))
    with django_db_blocker.unblock():
        yield template, first, second
        with connections["owner"]._nodb_cursor() as cursor:
            for name in (template, first, second):
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _builder(calls: list[str], table: str):
    """A ``build`` that creates the database with one table (a migration stand-in)."""

    def build(name: str) -> None:
        calls.append(name)
        with connections["owner"]._nodb_cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        owner = settings.DATABASES["owner"]
        with psycopg.connect(host=owner["HOST"], port=owner["PORT"] or 5432, user=owner["USER"], dbname=name,
                             autocommit=True) as conn:
            conn.execute(f"CREATE TABLE {table} (id int)")

    return build


def test_one_build_per_run_and_every_worker_gets_a_copy(names, django_db_blocker):
    template, first, second = names
    run, calls = uuid.uuid4().hex, []
    with django_db_blocker.unblock():
        assert clone_from_template("owner", template, first, run, _builder(calls, "migrated")) is True
        assert clone_from_template("owner", template, second, run, _builder(calls, "migrated")) is False
        assert calls == [template]
        assert _tables(first) == _tables(second) == ["migrated"]


def test_a_template_left_by_another_run_is_rebuilt_not_reused(names, django_db_blocker):
    template, first, second = names
    with django_db_blocker.unblock():
        clone_from_template("owner", template, first, "an-earlier-run", _builder([], "old_schema"))
        calls = []
        assert clone_from_template("owner", template, second, uuid.uuid4().hex, _builder(calls, "new_schema")) is True
        assert calls == [template]
        assert _tables(second) == ["new_schema"]


def test_the_template_is_dropped_at_the_end(names, django_db_blocker):
    template, first, _ = names
    with django_db_blocker.unblock():
        clone_from_template("owner", template, first, uuid.uuid4().hex, _builder([], "migrated"))
        assert _exists(template)
        drop_template("owner", template)
        assert not _exists(template)
        assert _exists(first)  # the workers' copies are theirs to drop
