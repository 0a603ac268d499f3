"""Migration operations for row-level security and `updated_at` triggers.

``EnableTenantRLS("table")`` is the one reusable operation every tenant table's
migration applies: ENABLE + FORCE row level security, the seed's
``tenant_isolation`` policy written fail-closed. Cross-tenant work uses the
operator role (BYPASSRLS) instead of a policy (see core.tenant_context). No-ops
on SQLite.
"""

from __future__ import annotations

from django.db.migrations.operations.base import Operation

TENANT_POLICY = (
    "CREATE POLICY tenant_isolation ON {table} "
    "USING (tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid) "
    "WITH CHECK (tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid)"
)


class EnableTenantRLS(Operation):
    reversible = True
    reduces_to_sql = True

    def __init__(self, table: str, extra_policies: tuple[str, ...] = ()):
        self.table = table
        self.extra_policies = tuple(extra_policies)

    def deconstruct(self):
        kwargs = {"table": self.table}
        if self.extra_policies:
            kwargs["extra_policies"] = self.extra_policies
        return (self.__class__.__qualname__, [], kwargs)

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        t = schema_editor.quote_name(self.table)
        schema_editor.execute(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY")
        schema_editor.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {t}")
        schema_editor.execute(TENANT_POLICY.format(table=t))
        # Tables of older migrations had an `operator_access` policy on a setting;
        # core 0001 dropped it, and no table gets one again.
        schema_editor.execute(f"DROP POLICY IF EXISTS operator_access ON {t}")
        for policy in self.extra_policies:
            schema_editor.execute(policy.format(table=t))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        t = schema_editor.quote_name(self.table)
        schema_editor.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {t}")
        schema_editor.execute(f"DROP POLICY IF EXISTS operator_access ON {t}")
        schema_editor.execute(f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {t} DISABLE ROW LEVEL SECURITY")

    def describe(self):
        return f"Enable and force row-level security on {self.table}"


UPDATED_AT_FUNCTION = """
CREATE OR REPLACE FUNCTION update_updated_at_column() RETURNS trigger AS $$
BEGIN
  NEW.updated_at = NOW();
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


class UpdatedAtTrigger(Operation):
    """The seed's `update_<table>_updated_at` BEFORE UPDATE trigger."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, table: str):
        self.table = table

    def deconstruct(self):
        return (self.__class__.__qualname__, [], {"table": self.table})

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        t = schema_editor.quote_name(self.table)
        name = schema_editor.quote_name(f"update_{self.table}_updated_at")
        schema_editor.execute(UPDATED_AT_FUNCTION)
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {t}")
        schema_editor.execute(
            f"CREATE TRIGGER {name} BEFORE UPDATE ON {t} FOR EACH ROW EXECUTE FUNCTION update_updated_at_column()"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        t = schema_editor.quote_name(self.table)
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {schema_editor.quote_name(f'update_{self.table}_updated_at')} ON {t}")

    def describe(self):
        return f"updated_at trigger on {self.table}"


class PostgresOnlySQL(Operation):
    """Raw SQL that only makes sense on PostgreSQL (GIN indexes, column defaults)."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, sql: str, reverse_sql: str = ""):
        self.sql = sql
        self.reverse_sql = reverse_sql

    def deconstruct(self):
        return (self.__class__.__qualname__, [], {"sql": self.sql, "reverse_sql": self.reverse_sql})

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(self.sql)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql" and self.reverse_sql:
            schema_editor.execute(self.reverse_sql)

    def describe(self):
        return "PostgreSQL-only SQL"


def uuid_pk_default(table: str) -> PostgresOnlySQL:
    """The seed's `id UUID PRIMARY KEY DEFAULT uuid_generate_v4()` (gen_random_uuid is core since PG13)."""
    return PostgresOnlySQL(f'ALTER TABLE "{table}" ALTER COLUMN id SET DEFAULT gen_random_uuid()')
