"""Tables of the incoming side beyond the seed's (those live in ``webhooks.models``).

* :class:`IncomingDedupe` - the durable half of duplicate detection. Redis
  remembers committed delivery ids for the fast path; this table's unique
  constraint is what actually guarantees "processed once" when two copies of
  the same delivery race, or when Redis was flushed or down.
* :class:`AutomationRun` - one row per ``trigger_automation`` action run
  (see :mod:`webhooks.incoming.automations`).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import Tenant

#: ``WebhookLog.webhook_type`` of the incoming side's rows (received requests and forward attempts).
WEBHOOK_TYPE = "incoming"


class IncomingDedupe(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"))
    webhook_id = models.UUIDField(verbose_name=_("webhook id"))
    dedupe_key = models.CharField(max_length=255, verbose_name=_("dedupe key"))
    log_id = models.UUIDField(verbose_name=_("log id"))
    created_at = models.DateTimeField(default=timezone.now, db_default=Now(), verbose_name=_("created at"))

    class Meta:
        db_table = "incoming_webhook_dedupe"
        constraints = [
            models.UniqueConstraint(fields=["webhook_id", "dedupe_key"], name="uniq_incoming_dedupe_key"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idx_incoming_dedupe_created")]
        verbose_name = _("incoming delivery id")
        verbose_name_plural = _("incoming delivery ids")

    def __str__(self) -> str:
        return self.dedupe_key


class AutomationRun(models.Model):
    class Status(models.TextChoices):
        SUCCESS = "success", _("Success")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"))
    automation_id = models.CharField(max_length=200, verbose_name=_("automation id"))
    trigger = models.CharField(max_length=30, default="webhook", db_default="webhook", verbose_name=_("trigger"))
    webhook_id = models.UUIDField(null=True, blank=True, verbose_name=_("webhook id"))
    webhook_log_id = models.UUIDField(null=True, blank=True, verbose_name=_("webhook log id"))
    status = models.CharField(max_length=20, choices=Status.choices, verbose_name=_("status"))
    payload = models.JSONField(null=True, blank=True, verbose_name=_("payload"))
    output = models.JSONField(null=True, blank=True, verbose_name=_("output"))
    error_message = models.TextField(null=True, blank=True, verbose_name=_("error message"))
    started_at = models.DateTimeField(auto_now_add=True, db_default=Now(), verbose_name=_("started at"))
    duration_ms = models.IntegerField(null=True, blank=True, verbose_name=_("duration ms"))

    class Meta:
        db_table = "automation_runs"
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["tenant", "automation_id"], name="idx_automation_runs_tenant")]
        verbose_name = _("automation run")
        verbose_name_plural = _("automation runs")

    def __str__(self) -> str:
        return f"{self.automation_id} → {self.get_status_display()}"
