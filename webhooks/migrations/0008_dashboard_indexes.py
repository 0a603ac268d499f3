"""The backlog of incoming requests waiting for the drain, across tenants (issue 14 item 7:
the admin dashboard and /metrics count it): a partial index, small as the backlog.
Built CONCURRENTLY on PostgreSQL (core.indexes), so ``atomic = False``."""

from django.db import migrations, models

from core.indexes import AddIndexOnline


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("webhooks", "0007_forward_deliveries"),
    ]

    operations = [
        AddIndexOnline(
            model_name="webhooklog",
            index=models.Index(condition=models.Q(("direction", "incoming"), ("status", "pending")),
                               fields=["timestamp"], name="idx_webhook_logs_in_pending"),
        ),
    ]
