"""Forward attempts in flight become deliveries of the one delivery engine (issue 12 item 1).

Forward attempts (``webhook_type = 'incoming'``, ``direction = 'outgoing'``)
are now claimed, sent, retried and swept by the outgoing engine, which needs
on each attempt in flight what its own rows carry:

* ``body_text``: the exact text to send — what the forward engine derived from
  ``body`` at every send (compact JSON, UTF-8 as is), now stored once;
* ``next_retry_at`` on a pending attempt: the time it became due (its
  ``timestamp``; ``claim_count`` is 0, so the engine's sweeper wakes a
  dispatcher for it after the dispatch grace).

Failed attempts waiting for their retry (``next_retry_at`` set, ``retried_at``
empty) are already what the engine's sweeper fires. Rows that are finished
are left as they are. The table forces row-level security, so the rows are
updated tenant by tenant (``app.current_tenant_id``), a few per tenant.

The forward engine's beat entry (``incoming-forward-retries``) is removed from
django-celery-beat's table: its task no longer exists.
"""

import json

from django.db import migrations, transaction
from django.db.models import F, Q

_FORWARD_RETRIES_TASK = "webhooks.incoming.tasks.retry_due_forwards"


def _in_flight(WebhookLog, db):
    return WebhookLog.objects.using(db).filter(webhook_type="incoming", direction="outgoing").filter(
        Q(status="pending") | Q(status="failed", next_retry_at__isnull=False, retried_at__isnull=True)
    )


def _for_each_tenant(apps, schema_editor, fn):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        fn()
        return
    Tenant = apps.get_model("tenancy", "Tenant")
    # set_config(..., true) lasts until the transaction ends: one transaction (the migration's) around it all
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for tenant_id in Tenant.objects.using(connection.alias).values_list("id", flat=True):
            cursor.execute("SELECT set_config('app.current_tenant_id', %s, true)", [str(tenant_id)])
            fn()
        cursor.execute("SELECT set_config('app.current_tenant_id', '', true)")


def forwards(apps, schema_editor):
    WebhookLog = apps.get_model("webhooks", "WebhookLog")
    db = schema_editor.connection.alias  # the migrating role's connection (owner), not `default`

    def one_tenant():
        rows = list(_in_flight(WebhookLog, db).filter(body_text__isnull=True).only("id", "body"))
        for row in rows:
            row.body_text = json.dumps(row.body, separators=(",", ":"), ensure_ascii=False)
        WebhookLog.objects.using(db).bulk_update(rows, ["body_text"], batch_size=500)
        _in_flight(WebhookLog, db).filter(status="pending", next_retry_at__isnull=True).update(
            next_retry_at=F("timestamp"), claim_count=0)

    _for_each_tenant(apps, schema_editor, one_tenant)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_celery_beat_periodictask WHERE task = %s", [_FORWARD_RETRIES_TASK])


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0003_ws_ticket"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("webhooks", "0006_log_indexes"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
