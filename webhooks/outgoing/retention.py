"""Webhook log retention: rows older than WEBHOOK_LOG_RETENTION_DAYS go, deliveries still due stay."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from core.tenant_context import operator_scope
from webhooks.models import WebhookLog
from webhooks.outgoing import conf


def logs_cleanup(*, batch: int = 5000) -> int:
    """Delete webhook logs (both directions) older than the retention period.

    Attempts that still carry a pending or scheduled retry are kept: a
    delivery with long linear delays may outlive 14 days, and deleting its
    row would silently drop it.
    """
    cutoff = timezone.now() - dt.timedelta(days=conf.retention_days())
    total = 0
    while True:
        with operator_scope("webhook log retention"):
            ids = list(
                WebhookLog.objects.filter(timestamp__lt=cutoff)
                .exclude(status=WebhookLog.Status.PENDING)
                .exclude(status=WebhookLog.Status.FAILED, direction=WebhookLog.Direction.OUTGOING, retried_at__isnull=True, next_retry_at__isnull=False)
                .values_list("pk", flat=True)[:batch]
            )
            if ids:
                WebhookLog.objects.filter(pk__in=ids).delete()
        total += len(ids)
        if len(ids) < batch:
            return total
