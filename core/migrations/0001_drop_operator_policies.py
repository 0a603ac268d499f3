"""Cross-tenant work no longer rides on a setting: drop every ``operator_access``
policy (``current_setting('app.operator') = 'on'``, which any SQL of the runtime
role could set). The operator alias logs in as a BYPASSRLS role instead
(core.tenant_context.operator_scope, scripts/provision_db.py)."""

from django.db import migrations

from core.rls import PostgresOnlySQL

DROP = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT schemaname, tablename FROM pg_policies WHERE policyname = 'operator_access' LOOP
        EXECUTE format('DROP POLICY operator_access ON %%I.%%I', r.schemaname, r.tablename);
    END LOOP;
END
$$
"""

RESTORE = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT schemaname, tablename FROM pg_policies WHERE policyname = 'tenant_isolation' LOOP
        EXECUTE format('CREATE POLICY operator_access ON %%I.%%I USING (current_setting(''app.operator'', true) = ''on'')'
                       ' WITH CHECK (current_setting(''app.operator'', true) = ''on'')', r.schemaname, r.tablename);
    END LOOP;
END
$$
"""


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0002_rls"),
        ("entities", "0004_outbox_retry_backoff"),
        ("integrations", "0005_rls_oauth_states"),
        ("webhooks", "0004_outgoing_last_duration"),
        ("webhooks_incoming", "0003_public_lookup_function"),
    ]

    operations = [PostgresOnlySQL(DROP, RESTORE)]
