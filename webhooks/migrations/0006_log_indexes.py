"""Indexes for the log lists at 10M rows (issue 12 item 9).

Each list filter gets an index ending in ``timestamp DESC`` (the lists' order), so a
page is one index range walk: per webhook (the seed's ``idx_webhook_logs_webhook`` and
``idx_webhook_logs_status``, extended by ``timestamp DESC``; by event), per tenant (the
seed's ``idx_webhook_logs_date``; by status, by event) and across tenants (the admin's
list, the retention delete). The per-webhook ones INCLUDE tenant_id: the capped count and
the tenant check (code filter and RLS) then read the index only. Django's own index on the ``tenant_id`` foreign key went:
it duplicated the seed's ``idx_webhook_logs_tenant``.

Built CONCURRENTLY on PostgreSQL (core.indexes), so ``atomic = False``: the table keeps
taking inserts during the build (minutes at tens of millions of rows).
"""

import django.db.models.deletion
from django.db import migrations, models

from core.indexes import AddIndexOnline, RemoveIndexOnline


def _desc(field):
    return models.OrderBy(models.F(field), descending=True)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tenancy", "0003_ws_ticket"),
        ("webhooks", "0005_webhooklog_typed_kinds"),
    ]

    operations = [
        migrations.AlterField(
            model_name="webhooklog",
            name="tenant",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                    to="tenancy.tenant"),
        ),
        RemoveIndexOnline(model_name="webhooklog", name="idx_webhook_logs_webhook"),
        AddIndexOnline(
            model_name="webhooklog",
            index=models.Index(models.F("webhook_id"), _desc("timestamp"), name="idx_webhook_logs_webhook",
                               include=["tenant"]),
        ),
        RemoveIndexOnline(model_name="webhooklog", name="idx_webhook_logs_status"),
        AddIndexOnline(
            model_name="webhooklog",
            index=models.Index(models.F("webhook_id"), models.F("status"), _desc("timestamp"),
                               name="idx_webhook_logs_status", include=["tenant"]),
        ),
        AddIndexOnline(
            model_name="webhooklog",
            index=models.Index(models.F("webhook_id"), models.F("event_type"), _desc("timestamp"),
                               name="idx_webhook_logs_event", include=["tenant"]),
        ),
        AddIndexOnline(
            model_name="webhooklog",
            index=models.Index(models.F("tenant"), models.F("status"), _desc("timestamp"),
                               name="idx_webhook_logs_t_status"),
        ),
        AddIndexOnline(
            model_name="webhooklog",
            index=models.Index(models.F("tenant"), models.F("event_type"), _desc("timestamp"),
                               name="idx_webhook_logs_t_event"),
        ),
        AddIndexOnline(
            model_name="webhooklog",
            index=models.Index(_desc("timestamp"), name="idx_webhook_logs_time"),
        ),
    ]
