from django.db import migrations

from core.rls import EnableTenantRLS, PostgresOnlySQL, UpdatedAtTrigger, uuid_pk_default

CLEANUP_INTEGRATION_LOGS = """
CREATE OR REPLACE FUNCTION cleanup_old_integration_logs()
RETURNS void AS $$
BEGIN
  DELETE FROM integration_logs
  WHERE started_at < NOW() - INTERVAL '30 days';
END;
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    dependencies = [("integrations", "0002_initial")]

    operations = [
        EnableTenantRLS("integrations"),
        uuid_pk_default("integrations"),
        EnableTenantRLS("integration_logs"),
        uuid_pk_default("integration_logs"),
        UpdatedAtTrigger("integrations"),
        PostgresOnlySQL(
            "CREATE INDEX IF NOT EXISTS idx_integration_logs_integration ON integration_logs(integration_id)",
            "DROP INDEX IF EXISTS idx_integration_logs_integration",
        ),
        PostgresOnlySQL(CLEANUP_INTEGRATION_LOGS, "DROP FUNCTION IF EXISTS cleanup_old_integration_logs()"),
    ]
