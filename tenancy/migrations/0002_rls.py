from django.db import migrations

from core.rls import EnableTenantRLS

# A user may read their own memberships before choosing a tenant (auth step).
MEMBER_SELF = (
    "CREATE POLICY member_self ON {table} FOR SELECT "
    "USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)"
)


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0001_initial")]

    operations = [
        EnableTenantRLS("memberships", extra_policies=("DROP POLICY IF EXISTS member_self ON {table}", MEMBER_SELF)),
    ]
