"""One round trip for the public endpoint's first step: scope the transaction to
the tenant, then read the enabled webhook (RLS applies: the function runs as
its caller). PL/pgSQL runs its statements in order, which one SQL statement
combining set_config and the read would not promise."""

from django.db import migrations

from core.rls import PostgresOnlySQL

FUNCTION = """
CREATE OR REPLACE FUNCTION hub_incoming_webhook_public(p_tenant uuid, p_id uuid)
RETURNS SETOF incoming_webhooks
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM set_config('app.current_tenant_id', p_tenant::text, true);
    RETURN QUERY SELECT * FROM incoming_webhooks WHERE id = p_id AND tenant_id = p_tenant AND is_enabled;
END
$$
"""


class Migration(migrations.Migration):
    dependencies = [("webhooks_incoming", "0002_rls"), ("webhooks", "0003_outgoing_delivery_engine")]

    operations = [
        PostgresOnlySQL(FUNCTION, "DROP FUNCTION IF EXISTS hub_incoming_webhook_public(uuid, uuid)"),
    ]
