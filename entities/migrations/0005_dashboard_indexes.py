"""Entity events the outbox gave up on, across tenants (issue 14 item 7: the admin dashboard
and /metrics list and count them): a partial index, small as that set.
Built CONCURRENTLY on PostgreSQL (core.indexes), so ``atomic = False``."""

from django.db import migrations, models

from core.indexes import AddIndexOnline


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("entities", "0004_outbox_retry_backoff"),
    ]

    operations = [
        AddIndexOnline(
            model_name="entityevent",
            index=models.Index(condition=models.Q(("failed_at__isnull", False)), fields=["failed_at"],
                               name="idx_entity_events_failed"),
        ),
    ]
