"""Indexes for the integration log list at scale (issue 12 item 9), as webhooks 0006.

``GET /api/integrations/{id}/logs`` pages newest first by ``started_at``: the seed's
``idx_integration_logs_integration`` becomes ``(integration_id, started_at DESC) INCLUDE
(tenant_id)``
(PostgreSQL only, as in 0003: its seed name is over Django's 30 characters),
``idx_integration_logs_status`` gains ``started_at DESC``, the action filter and the
cross-tenant order (admin, retention) get theirs, and Django's index on the
``tenant_id`` foreign key goes (it duplicated ``idx_integration_logs_tenant``). The
per-integration ones INCLUDE tenant_id: the capped count and the tenant check read the index only.
Built CONCURRENTLY on PostgreSQL (core.indexes), so ``atomic = False``.
"""

import django.db.models.deletion
from django.db import migrations, models

from core.indexes import AddIndexOnline, RemoveIndexOnline
from core.rls import PostgresOnlySQL


def _desc(field):
    return models.OrderBy(models.F(field), descending=True)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("integrations", "0008_sync_engine"),
        ("tenancy", "0003_ws_ticket"),
    ]

    operations = [
        migrations.AlterField(
            model_name="integrationlog",
            name="tenant",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                    to="tenancy.tenant"),
        ),
        PostgresOnlySQL("DROP INDEX CONCURRENTLY IF EXISTS idx_integration_logs_integration",
                        "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_integration_logs_integration"
                        " ON integration_logs(integration_id)"),
        PostgresOnlySQL("CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_integration_logs_integration"
                        " ON integration_logs(integration_id, started_at DESC) INCLUDE (tenant_id)",
                        "DROP INDEX CONCURRENTLY IF EXISTS idx_integration_logs_integration"),
        RemoveIndexOnline(model_name="integrationlog", name="idx_integration_logs_status"),
        AddIndexOnline(
            model_name="integrationlog",
            index=models.Index(models.F("integration"), models.F("status"), _desc("started_at"),
                               name="idx_integration_logs_status", include=["tenant"]),
        ),
        AddIndexOnline(
            model_name="integrationlog",
            index=models.Index(models.F("integration"), models.F("action"), _desc("started_at"),
                               name="idx_integration_logs_action", include=["tenant"]),
        ),
        AddIndexOnline(
            model_name="integrationlog",
            index=models.Index(_desc("started_at"), name="idx_integration_logs_time"),
        ),
    ]
