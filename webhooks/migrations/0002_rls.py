from django.db import migrations

from core.rls import EnableTenantRLS, PostgresOnlySQL, UpdatedAtTrigger, uuid_pk_default

CLEANUP_WEBHOOK_LOGS = """
CREATE OR REPLACE FUNCTION cleanup_old_webhook_logs()
RETURNS void AS $$
BEGIN
  DELETE FROM webhook_logs
  WHERE timestamp < NOW() - INTERVAL '14 days';
END;
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial")]

    operations = [
        *[
            op
            for table in ("incoming_webhooks", "outgoing_webhooks", "webhook_logs")
            for op in (EnableTenantRLS(table), uuid_pk_default(table))
        ],
        UpdatedAtTrigger("incoming_webhooks"),
        UpdatedAtTrigger("outgoing_webhooks"),
        PostgresOnlySQL(
            "CREATE INDEX IF NOT EXISTS idx_outgoing_webhooks_triggers ON outgoing_webhooks USING gin(triggers)",
            "DROP INDEX IF EXISTS idx_outgoing_webhooks_triggers",
        ),
        PostgresOnlySQL(CLEANUP_WEBHOOK_LOGS, "DROP FUNCTION IF EXISTS cleanup_old_webhook_logs()"),
    ]
