"""After a transactional test, the rows it committed are gone before the next test starts
(tests/conftest.py `_truncate_after_transactional_tests`), whatever tenant they belong to:
RLS must not hide any of them from the cleanup. The two tests run in this order."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connections

from core.tenant_context import operator_scope
from tests.support.factories import create_meeting, make_persona
from tests.support.webhooks import make_webhook

pytestmark = pytest.mark.skipif("owner" not in settings.DATABASES, reason="PostgreSQL only")

KEPT = {"django_migrations", "django_content_type", "auth_permission"}


def _rows_per_table() -> dict[str, int]:
    counts = {}
    with operator_scope("test: count every table's rows") as alias, connections[alias].cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        for (table,) in cursor.fetchall():
            if table in KEPT or table.startswith("django_celery_beat"):
                continue
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
    return counts


def test_1_two_tenants_commit_rows_in_tables_that_reference_each_other(transactional_db):
    for name in ("Cleanup One", "Cleanup Two"):
        persona = make_persona(name, f"{name.split()[1].lower()}@cleanup.example")
        make_webhook(persona)
        create_meeting(persona, f"{name} meeting")
    filled = {table for table, count in _rows_per_table().items() if count}
    assert {"tenants", "users", "memberships", "api_tokens", "incoming_webhooks", "meetings",
            "entity_events"} <= filled


def test_2_the_next_test_finds_every_table_empty(transactional_db):
    assert {table: count for table, count in _rows_per_table().items() if count} == {}
