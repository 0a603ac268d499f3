from django.db import migrations

from core.rls import EnableTenantRLS, uuid_pk_default

TABLES = ["meetings", "tasks", "documents", "payments", "expenses", "clients", "suppliers", "entity_events"]


class Migration(migrations.Migration):
    dependencies = [("entities", "0002_initial")]

    operations = [op for table in TABLES for op in (EnableTenantRLS(table), uuid_pk_default(table))]
