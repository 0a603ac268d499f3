"""WebhookLog.webhook_type / direction get their TextChoices (issue 12 item 6).

Choices only: the stored values ("incoming" / "outgoing") and the columns are
unchanged, so this migration runs no SQL (``sqlmigrate`` prints a no-op).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0004_outgoing_last_duration"),
    ]

    operations = [
        migrations.AlterField(
            model_name="webhooklog",
            name="direction",
            field=models.CharField(choices=[("incoming", "Incoming"), ("outgoing", "Outgoing")], max_length=10),
        ),
        migrations.AlterField(
            model_name="webhooklog",
            name="webhook_type",
            field=models.CharField(choices=[("incoming", "Incoming"), ("outgoing", "Outgoing")], max_length=10),
        ),
    ]
