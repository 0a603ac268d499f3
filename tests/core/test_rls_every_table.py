"""Row-level security proven on every tenant table, behaviourally and by its definition.

For each table with a ``tenant_id`` column, as the runtime role in raw SQL with tenant
A's ``app.current_tenant_id`` set for the transaction: SELECT sees none of tenant B's
rows, UPDATE and DELETE of them change nothing, and an INSERT (or an UPDATE) that
would write a row of tenant B is refused by the policy's WITH CHECK. Tenant B's rows
are built generically from the catalog (NOT NULL columns get values of their type,
foreign keys get parent rows built the same way), so a new table needs no test code.

The table list is taken from the models at collection time (one test id per table)
and checked against ``information_schema`` at run time, so a tenant table created
without a model fails too. Besides behaviour, each table must have RLS enabled and
FORCEd — shown by the flags and by the schema owner, on a raw connection, being held
by the policy like the runtime role — and exactly the expected policies, compared by
their ``USING`` / ``WITH CHECK`` expressions, not only their names.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid

import pytest
from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from psycopg import errors as psycopg_errors

from tests.support.factories import make_persona

pytestmark = pytest.mark.django_db

TENANT_SETTING = "app.current_tenant_id"


def _model_tenant_tables() -> list[str]:
    return sorted({
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if any(getattr(field, "column", None) == "tenant_id" for field in model._meta.local_fields)
    })


TENANT_TABLES = _model_tenant_tables()

# What PostgreSQL stores for core.rls.TENANT_POLICY: the row's tenant equals the
# transaction's setting; an unset or empty setting is NULL, and NULL matches nothing
# (fail closed, for reads and for writes alike).
FAIL_CLOSED = ("(tenant_id = (NULLIF(current_setting('app.current_tenant_id'::text, true), ''::text))::uuid)")


def _holder(column: str, setting: str) -> str:
    return f"(({column})::text = NULLIF(current_setting('{setting}'::text, true), ''::text))"


# Narrow extra policies, each read-only or read-and-delete, none with a WITH CHECK
# (so none lets a row be written that tenant_isolation would refuse):
#  - memberships.member_self: at sign-in, before a tenant is chosen, a user reads their
#    own memberships (app.current_user_id), to learn which tenants they may act in.
#  - integration_oauth_states.state_holder_*: the OAuth callback knows no tenant; it
#    presents the SHA-256 of its `state` (app.oauth_state_hash) and may read and consume
#    exactly that row.
#  - ws_tickets.ticket_holder_*: the same for a one-time WebSocket ticket's hash
#    (app.ws_ticket_hash) during the socket handshake.
#  - integration_push_channels.channel_holder_select: a provider's push notification knows
#    no tenant; the endpoint presents the channel id from the URL (app.push_channel_id) and
#    may read exactly that row (read only: its tenant then scopes every write).
# All use current_setting(..., true) with NULLIF: unset means no row.
EXTRA_POLICIES: dict[str, dict[str, tuple[str, str, str | None]]] = {
    "memberships": {
        "member_self": ("SELECT", "(user_id = (NULLIF(current_setting('app.current_user_id'::text, true), ''::text))::uuid)",
                        None),
    },
    "integration_oauth_states": {
        "state_holder_select": ("SELECT", _holder("state_hash", "app.oauth_state_hash"), None),
        "state_holder_delete": ("DELETE", _holder("state_hash", "app.oauth_state_hash"), None),
    },
    "integration_push_channels": {
        "channel_holder_select": ("SELECT", "(id = (NULLIF(current_setting('app.push_channel_id'::text, true), ''::text))::uuid)",
                                  None),
    },
    "ws_tickets": {
        "ticket_holder_select": ("SELECT", _holder("ticket_hash", "app.ws_ticket_hash"), None),
        "ticket_holder_delete": ("DELETE", _holder("ticket_hash", "app.ws_ticket_hash"), None),
    },
}


# --------------------------------------------------------------------------- generic rows
def _columns(table: str, db=connection) -> list[tuple[str, str, str, int | None]]:
    """NOT NULL columns without a default: (name, data_type, udt_name, max length)."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type, udt_name, character_maximum_length FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name = %s AND is_nullable = 'NO' AND column_default IS NULL"
            " ORDER BY ordinal_position",
            [table],
        )
        return cursor.fetchall()


def _foreign_keys(table: str, db=connection) -> dict[str, tuple[str, str]]:
    """Single-column foreign keys: {column: (referenced table, referenced column)}."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname, c.confrelid::regclass::text, fa.attname FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
            " JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]"
            " WHERE c.contype = 'f' AND c.conrelid = %s::regclass AND cardinality(c.conkey) = 1",
            [table],
        )
        return {column: (ref_table.strip('"'), ref_column) for column, ref_table, ref_column in cursor.fetchall()}


def _primary_key(table: str, db=connection) -> str:
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
            " WHERE i.indrelid = %s::regclass AND i.indisprimary",
            [table],
        )
        return cursor.fetchone()[0]


def _value_of_type(data_type: str, udt: str, length: int | None):
    if udt == "uuid":
        return str(uuid.uuid4())
    if udt in ("varchar", "text", "bpchar"):
        return secrets.token_hex(16)[: length or 32]  # random: unique columns (hashes) stay unique
    if udt == "jsonb" or udt == "json":
        return "{}"
    if udt in ("int2", "int4", "int8", "numeric", "float4", "float8"):
        return 1
    if udt == "bool":
        return False
    if udt in ("timestamptz", "timestamp", "date"):
        return "2026-01-01T00:00:00+00:00"
    raise AssertionError(f"no generic value for a NOT NULL {data_type} ({udt}) column: teach _value_of_type")


def _row_values(table: str, tenant_id: str, db=connection, depth: int = 0) -> dict:
    """Values for one row of ``table`` of ``tenant_id``; parent rows (foreign keys) are
    inserted first, under the transaction's current tenant setting."""
    assert depth < 5, f"foreign keys nest too deep from {table}"
    fks = _foreign_keys(table, db)
    values: dict = {}
    for name, data_type, udt, length in _columns(table, db):
        if name == "tenant_id":
            values[name] = tenant_id
        elif name in fks:
            ref_table, ref_column = fks[name]
            if ref_table == "tenants":
                values[name] = tenant_id
            else:
                values[name] = _insert(ref_table, _row_values(ref_table, tenant_id, db, depth + 1), ref_column, db)
        else:
            values[name] = _value_of_type(data_type, udt, length)
    return values


def _insert(table: str, values: dict, returning: str | None = None, db=connection):
    returning = returning or _primary_key(table, db)
    columns = ", ".join(f'"{c}"' for c in values)
    marks = ", ".join(["%s"] * len(values))
    with db.cursor() as cursor:
        cursor.execute(f'INSERT INTO "{table}" ({columns}) VALUES ({marks}) RETURNING "{returning}"', list(values.values()))
        return cursor.fetchone()[0]


def _scope(tenant_id, db=connection) -> None:
    with db.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [TENANT_SETTING, str(tenant_id)])


def _scalar(sql: str, params=(), db=connection):
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _rowcount(sql: str, params=(), db=connection) -> int:
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _refused_by_policy(table: str, sql: str, params) -> str:
    """Run ``sql`` in a savepoint; it must fail on the table's row-level security check."""
    with pytest.raises(DatabaseError) as caught:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    return str(caught.value)


# --------------------------------------------------------------------------- the tests
def test_the_parametrized_tables_are_every_tenant_table_in_the_database():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_name FROM information_schema.columns c"
            " JOIN information_schema.tables t USING (table_schema, table_name)"
            " WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE'"
            " ORDER BY 1"
        )
        in_database = [row[0] for row in cursor.fetchall()]
    assert in_database == TENANT_TABLES
    # the seed's five, the entity stand-ins, the outbox and the narrow-policy tables at least
    assert {"integrations", "integration_logs", "incoming_webhooks", "outgoing_webhooks", "webhook_logs", "meetings",
            "entity_events", "memberships", "integration_oauth_states", "ws_tickets"} <= set(TENANT_TABLES)


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_rls_is_enabled_and_forced(table):
    """FORCE matters for the owner (migrations, a misconfigured DATABASE_URL): without it
    the owner reads every tenant's rows whatever the policies say."""
    enabled, forced = None, None
    with connection.cursor() as cursor:
        cursor.execute("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = %s::regclass", [table])
        enabled, forced = cursor.fetchone()
    assert (enabled, forced) == (True, True), f"{table}: RLS enabled={enabled}, forced={forced}"


@contextlib.contextmanager
def _owner_transaction():
    """A raw connection as the schema owner (the migrate role), in a transaction rolled back at the end."""
    import psycopg

    if "owner" not in settings.DATABASES:
        pytest.skip("no separate owner role configured")
    params = connections["owner"].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params) as owner:
        try:
            yield owner
        finally:
            owner.rollback()


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_forced_rls_holds_the_table_owner_too(table):
    """What FORCE buys, shown: the owner (who bypasses unforced RLS) under tenant A's
    setting sees and deletes none of B's rows and cannot write one."""
    with _owner_transaction() as owner:
        assert _scalar("SELECT tableowner = current_user FROM pg_tables WHERE tablename = %s", [table], owner)
        a, b = (_insert("tenants", _row_values("tenants", "", owner), "id", owner) for _ in range(2))
        _scope(b, owner)
        b_row = _insert(table, _row_values(table, str(b), owner), db=owner)
        b_attack = _row_values(table, str(b), owner)
        _scope(a, owner)
        seen = _scalar(f'SELECT count(*) FROM "{table}" WHERE tenant_id = %s', [b], owner)
        deleted = _rowcount(f'DELETE FROM "{table}" WHERE tenant_id = %s', [b], owner)
        with owner.cursor() as cursor:
            cursor.execute("SAVEPOINT attack")
            with pytest.raises(psycopg_errors.InsufficientPrivilege, match="row-level security"):
                cursor.execute(f'INSERT INTO "{table}" ({", ".join(b_attack)}) VALUES ({", ".join(["%s"] * len(b_attack))})',
                               list(b_attack.values()))
            cursor.execute("ROLLBACK TO SAVEPOINT attack")
        _scope(b, owner)
        left = _scalar(f'SELECT count(*) FROM "{table}" WHERE "{_primary_key(table, owner)}" = %s', [b_row], owner)
    assert (seen, deleted, left) == (0, 0, 1)


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_policies_are_exactly_the_fail_closed_tenant_rule_and_the_named_narrow_ones(table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT policyname, permissive, roles::text[], cmd, qual, with_check FROM pg_policies"
            " WHERE schemaname = 'public' AND tablename = %s",
            [table],
        )
        policies = {name: (permissive, roles, cmd, qual, check) for name, permissive, roles, cmd, qual, check
                    in cursor.fetchall()}
    expected = {"tenant_isolation": ("PERMISSIVE", ["public"], "ALL", FAIL_CLOSED, FAIL_CLOSED)}
    for name, (cmd, qual, check) in EXTRA_POLICIES.get(table, {}).items():
        expected[name] = ("PERMISSIVE", ["public"], cmd, qual, check)
    assert policies == expected


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_tenant_a_cannot_see_change_delete_or_write_tenant_b_rows(table):
    a = make_persona("RLS A", f"rls-a-{table}@example.com")
    b = make_persona("RLS B", f"rls-b-{table}@example.com")
    pk = _primary_key(table)
    assert _scalar("SELECT current_user") == "architect_app"  # the runtime role: not owner, no BYPASSRLS
    with transaction.atomic():
        # Given one row of B (written as B: its own tenant passes WITH CHECK) and one of A
        _scope(b.tenant.id)
        b_row = _insert(table, _row_values(table, str(b.tenant.id)), pk)
        b_attack = _row_values(table, str(b.tenant.id))  # parents of B's second row exist, as B
        _scope(a.tenant.id)
        a_row = _insert(table, _row_values(table, str(a.tenant.id)), pk)

        # When tenant A reads: its own row only (the query is not vacuously empty)
        assert _scalar(f'SELECT count(*) FROM "{table}" WHERE "{pk}" = %s', [a_row]) == 1
        assert _scalar(f'SELECT count(*) FROM "{table}" WHERE tenant_id = %s', [b.tenant.id]) == 0
        assert _scalar(f'SELECT count(*) FROM "{table}" WHERE "{pk}" = %s', [b_row]) == 0
        assert _scalar(f'SELECT count(*) FROM "{table}" WHERE tenant_id <> %s', [a.tenant.id]) == 0
        # When A updates or deletes B's row by its id: nothing is touched
        assert _rowcount(f'UPDATE "{table}" SET tenant_id = tenant_id WHERE "{pk}" = %s', [b_row]) == 0
        assert _rowcount(f'DELETE FROM "{table}" WHERE "{pk}" = %s', [b_row]) == 0
        assert _rowcount(f'DELETE FROM "{table}" WHERE tenant_id = %s', [b.tenant.id]) == 0
        # When A writes a row that belongs to B, or moves its own row to B: refused
        columns = ", ".join(f'"{c}"' for c in b_attack)
        marks = ", ".join(["%s"] * len(b_attack))
        inserted = _refused_by_policy(table, f'INSERT INTO "{table}" ({columns}) VALUES ({marks})',
                                      list(b_attack.values()))
        moved = _refused_by_policy(table, f'UPDATE "{table}" SET tenant_id = %s WHERE "{pk}" = %s', [b.tenant.id, a_row])
        # Then B still has its row, unchanged, and nothing A tried is there
        _scope(b.tenant.id)
        b_rows = _scalar(f'SELECT count(*) FROM "{table}" WHERE tenant_id = %s', [b.tenant.id])
        b_row_left = _scalar(f'SELECT count(*) FROM "{table}" WHERE "{pk}" = %s', [b_row])
    policy_error = f'new row violates row-level security policy for table "{table}"'
    assert policy_error in inserted
    assert policy_error in moved
    assert (b_row_left, b_rows) == (1, 1 + (table == "memberships"))  # B's persona has its own membership


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_no_tenant_setting_sees_and_changes_nothing(table):
    b = make_persona("RLS B", f"rls-unset-{table}@example.com")
    pk = _primary_key(table)
    with transaction.atomic():
        _scope(b.tenant.id)
        b_row = _insert(table, _row_values(table, str(b.tenant.id)), pk)
        _scope("")  # unset: NULLIF makes it NULL, which matches no row
        seen = _scalar(f'SELECT count(*) FROM "{table}"')
        deleted = _rowcount(f'DELETE FROM "{table}" WHERE "{pk}" = %s', [b_row])
        _scope(b.tenant.id)
        left = _scalar(f'SELECT count(*) FROM "{table}" WHERE "{pk}" = %s', [b_row])
    assert (seen, deleted, left) == (0, 0, 1)


# --------------------------------------------------------------------------- the narrow policies
@pytest.mark.parametrize(("table", "column", "setting"), [
    ("integration_oauth_states", "state_hash", "app.oauth_state_hash"),
    ("ws_tickets", "ticket_hash", "app.ws_ticket_hash"),
])
def test_a_holder_policy_opens_exactly_the_presented_row_for_reading_and_deleting_only(table, column, setting):
    b = make_persona("Holder B", f"holder-{table}@example.com")
    with transaction.atomic():
        _scope(b.tenant.id)
        mine = _row_values(table, str(b.tenant.id))
        other = _insert(table, _row_values(table, str(b.tenant.id)))
        mine_id = _insert(table, mine)
        attack = _row_values(table, str(b.tenant.id))  # its parents written while still B
        _scope("")  # the callback / handshake knows no tenant
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, true)", [setting, mine[column]])
        visible = [row[0] for row in _rows(f'SELECT id FROM "{table}"')]
        updated = _rowcount(f'UPDATE "{table}" SET "{column}" = "{column}"')  # no UPDATE policy: nothing
        written = _refused_by_policy(table, f'INSERT INTO "{table}" ({", ".join(attack)}) VALUES '
                                            f'({", ".join(["%s"] * len(attack))})', list(attack.values()))
        deleted = _rowcount(f'DELETE FROM "{table}"')  # only the presented row goes
        _scope(b.tenant.id)
        left = [row[0] for row in _rows(f'SELECT id FROM "{table}"')]
    assert (visible, updated, deleted) == ([mine_id], 0, 1)
    assert f'new row violates row-level security policy for table "{table}"' in written
    assert left == [other]


def test_member_self_lets_a_user_read_only_their_own_memberships():
    a = make_persona("Member A", "member-a@example.com")
    b = make_persona("Member B", "member-b@example.com")
    with transaction.atomic():
        _scope("")
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('app.current_user_id', %s, true)", [str(a.user.id)])
        mine = _rows("SELECT user_id, tenant_id FROM memberships")
        updated = _rowcount("UPDATE memberships SET role = role")  # SELECT-only: no writes through it
        deleted = _rowcount("DELETE FROM memberships")
    assert mine == [(a.user.id, a.tenant.id)]
    assert (updated, deleted) == (0, 0)
    assert b.user.id not in [row[0] for row in mine]


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
