"""Row-level security: the second layer of tenant isolation, proven with raw SQL."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from core.tenant_context import operator_scope, tenant_scope
from tests.support.factories import make_meeting, make_persona

pytestmark = pytest.mark.django_db


def _tenant_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.table_name FROM information_schema.columns c
            JOIN information_schema.tables t USING (table_schema, table_name)
            WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE'
            ORDER BY 1
            """
        )
        return [row[0] for row in cursor.fetchall()]


def test_runtime_role_is_neither_owner_nor_superuser_nor_bypassrls():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        user, is_super, bypass = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user"
        )
        owned = cursor.fetchone()[0]
    assert user == "architect_app"
    assert connection.settings_dict["NAME"].startswith("test_")
    assert (is_super, bypass, owned) == (False, False, 0)


def test_every_tenant_table_has_rls_enabled_and_forced_with_tenant_isolation():
    tables = _tenant_tables()
    # the seed's five, the entity stand-ins, the outbox and memberships at least
    for expected in ("integrations", "integration_logs", "incoming_webhooks", "outgoing_webhooks", "webhook_logs",
                     "meetings", "tasks", "documents", "payments", "expenses", "clients", "suppliers",
                     "entity_events", "memberships"):
        assert expected in tables
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY(%s)", [tables]
        )
        flags = {name: (enabled, forced) for name, enabled, forced in cursor.fetchall()}
        cursor.execute("SELECT tablename FROM pg_policies WHERE policyname = 'tenant_isolation'")
        with_policy = {row[0] for row in cursor.fetchall()}
    assert {t: flags[t] for t in tables} == {t: (True, True) for t in tables}
    assert set(tables) <= with_policy


def test_raw_sql_under_tenant_a_sees_none_of_tenant_b_rows():
    alice = make_persona("Alice Studio", "alice@example.com")
    bob = make_persona("Bob Studio", "bob@example.com")
    make_meeting(alice.tenant, "Alice's meeting")
    bob_meeting = make_meeting(bob.tenant, "Bob's meeting")
    with tenant_scope(alice.tenant.id), connection.cursor() as cursor:
        cursor.execute("SELECT title, tenant_id FROM meetings")
        rows = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM meetings WHERE id = %s", [bob_meeting.id])
        direct = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM memberships WHERE tenant_id = %s", [bob.tenant.id])
        bob_memberships = cursor.fetchone()[0]
    assert rows == [("Alice's meeting", alice.tenant.id)]
    assert (direct, bob_memberships) == (0, 0)


def test_no_tenant_context_sees_nothing_fail_closed():
    alice = make_persona("Alice Studio", "alice@example.com")
    make_meeting(alice.tenant)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.current_tenant_id', '', true)")
        cursor.execute("SELECT count(*) FROM meetings")
        assert cursor.fetchone()[0] == 0


def test_writes_into_another_tenant_are_refused():
    from django.db import DatabaseError

    alice = make_persona("Alice Studio", "alice@example.com")
    bob = make_persona("Bob Studio", "bob@example.com")
    with pytest.raises(DatabaseError, match="row-level security"):
        with tenant_scope(alice.tenant.id), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO meetings (id, tenant_id, created_at, updated_at, external_ids, title, description,"
                " start_time, end_time, location, attendees, status) VALUES (gen_random_uuid(), %s, now(), now(),"
                " '{}', 'x', '', now(), now(), '', '[]', 'scheduled')",
                [bob.tenant.id],
            )


@pytest.mark.django_db(transaction=True)
def test_operator_scope_sees_all_tenants_through_its_own_role_and_ends_with_its_block():
    from django.db import connections

    from entities.models import Meeting

    alice = make_persona("Alice Studio", "alice@example.com")
    bob = make_persona("Bob Studio", "bob@example.com")
    make_meeting(alice.tenant)
    make_meeting(bob.tenant)
    with tenant_scope(alice.tenant.id):
        with operator_scope("test: cross-tenant count"):
            assert Meeting.objects.count() == 2  # the ORM is routed to the operator alias
            with connections["operator"].cursor() as cursor:
                cursor.execute("SELECT current_user, count(*) FROM meetings GROUP BY 1")
                assert cursor.fetchone() == ("architect_operator", 2)
        assert Meeting.objects.count() == 1  # back in alice's scope, on the runtime role
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM meetings")
            assert cursor.fetchone()[0] == 1


def test_the_operator_role_bypasses_rls_but_owns_nothing_and_is_no_superuser():
    from django.db import connections

    with connections["operator"].cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        user, is_super, bypass = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user")
        owned = cursor.fetchone()[0]
        cursor.execute("SELECT current_database()")
        database = cursor.fetchone()[0]
    assert (user, is_super, bypass, owned) == ("architect_operator", False, True, 0)
    assert database == connection.settings_dict["NAME"]


def test_app_operator_setting_is_no_longer_a_switch_any_sql_can_flip():
    """The runtime role sets the old operator flag itself: it still sees only what RLS allows."""
    alice = make_persona("Alice Studio", "alice@example.com")
    bob = make_persona("Bob Studio", "bob@example.com")
    make_meeting(alice.tenant)
    make_meeting(bob.tenant)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.operator', 'on', true)")
        cursor.execute("SELECT count(*) FROM meetings")
        no_tenant = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('app.current_tenant_id', %s, true)", [str(alice.tenant.id)])
        cursor.execute("SELECT count(*) FROM meetings WHERE tenant_id = %s", [bob.tenant.id])
        bobs = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM pg_policies WHERE schemaname = 'public'"
                       " AND (qual LIKE '%%app.operator%%' OR with_check LIKE '%%app.operator%%')")
        policies = cursor.fetchone()[0]
    assert (no_tenant, bobs, policies) == (0, 0, 0)


# --------------------------------------------------------------------------- insert_scoped


def _log_row(tenant_id, **extra) -> dict:
    import uuid

    return {"id": uuid.uuid4(), "tenant_id": tenant_id, "webhook_id": uuid.uuid4(), "webhook_type": "incoming",
            "direction": "incoming", "method": "POST", "url": "https://hub.example/x",
            "headers": {"X-A": "1"}, "body": {"שלום": [1, 2.5, None]}, "status": "pending", **extra}


@pytest.mark.django_db(transaction=True)
def test_insert_scoped_outside_a_transaction_writes_as_its_tenant_and_leaves_no_setting():
    from core.tenant_context import insert_scoped
    from webhooks.models import WebhookLog

    a, b = make_persona("Scoped A", "scoped-a@example.com"), make_persona("Scoped B", "scoped-b@example.com")
    assert connection.get_autocommit()
    row = _log_row(a.tenant.id)
    insert_scoped(WebhookLog, a.tenant.id, row)
    with connection.cursor() as cursor:  # committed, and the tenant setting ended with the statement
        cursor.execute("SELECT coalesce(current_setting('app.current_tenant_id', true), '')")
        assert cursor.fetchone()[0] == ""
    with tenant_scope(a.tenant.id):
        stored = WebhookLog.objects.get(pk=row["id"])
        assert (stored.body, stored.headers, stored.attempt, stored.claim_count) == (row["body"], {"X-A": "1"}, 1, 0)
        assert stored.timestamp is not None  # database defaults fill what was left out
    with tenant_scope(b.tenant.id):
        assert not WebhookLog.objects.filter(pk=row["id"]).exists()


@pytest.mark.django_db(transaction=True)
def test_insert_scoped_refuses_a_row_of_another_tenant_and_overlong_values():
    from django.db import DataError, ProgrammingError

    from core.tenant_context import insert_scoped
    from webhooks.models import WebhookLog

    a, b = make_persona("Scoped C", "scoped-c@example.com"), make_persona("Scoped D", "scoped-d@example.com")
    with pytest.raises(ProgrammingError, match="row-level security"):
        insert_scoped(WebhookLog, a.tenant.id, _log_row(b.tenant.id))  # scoped to A, row says B
    with pytest.raises(DataError):  # varchar(10): refused, never truncated
        insert_scoped(WebhookLog, a.tenant.id, _log_row(a.tenant.id, method="X" * 11))
    with operator_scope("test: nothing was stored"):
        assert WebhookLog.objects.filter(tenant_id__in=[a.tenant.id, b.tenant.id]).count() == 0
