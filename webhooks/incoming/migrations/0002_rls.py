from django.db import migrations

from core.rls import EnableTenantRLS, uuid_pk_default


class Migration(migrations.Migration):
    dependencies = [("webhooks_incoming", "0001_initial"), ("webhooks", "0002_rls")]

    operations = [
        *[
            op
            for table in ("incoming_webhook_dedupe", "automation_runs")
            for op in (EnableTenantRLS(table), uuid_pk_default(table))
        ],
    ]
