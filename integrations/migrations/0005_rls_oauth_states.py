from django.db import migrations

from core.rls import EnableTenantRLS, uuid_pk_default

# The callback knows no tenant: it may see exactly the row whose state hash it presents.
# Read and delete only (no insert/update): a callback can consume its row, nothing more.
STATE_HOLDER_SELECT = (
    "CREATE POLICY state_holder_select ON {table} FOR SELECT "
    "USING (state_hash = NULLIF(current_setting('app.oauth_state_hash', true), ''))"
)
STATE_HOLDER_DELETE = (
    "CREATE POLICY state_holder_delete ON {table} FOR DELETE "
    "USING (state_hash = NULLIF(current_setting('app.oauth_state_hash', true), ''))"
)


class Migration(migrations.Migration):
    dependencies = [("integrations", "0004_providerapp_integration_connection_config_and_more")]

    operations = [
        EnableTenantRLS("integration_oauth_states", extra_policies=(
            "DROP POLICY IF EXISTS state_holder_select ON {table}",
            STATE_HOLDER_SELECT,
            "DROP POLICY IF EXISTS state_holder_delete ON {table}",
            STATE_HOLDER_DELETE,
        )),
        uuid_pk_default("integration_oauth_states"),
        uuid_pk_default("integration_provider_apps"),
    ]
