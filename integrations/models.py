"""The seed's integration tables (sections ב, ד)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from core.crypto import EncryptedFieldsMixin
from tenancy.models import Tenant


class Integration(EncryptedFieldsMixin, models.Model):
    class Status(models.TextChoices):
        DISCONNECTED = "disconnected", _("Disconnected")
        CONNECTED = "connected", _("Connected")
        ERROR = "error", _("Error")
        EXPIRED = "expired", _("Expired")

    class SyncStatus(models.TextChoices):
        SUCCESS = "success", _("Success")
        PARTIAL = "partial", _("Partial")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=50)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default="disconnected", db_default="disconnected")
    oauth_encrypted = models.BinaryField(null=True, blank=True)  # AES-GCM of the OAuthCredentials JSON
    api_key_encrypted = models.BinaryField(null=True, blank=True)
    webhook_url = models.TextField(null=True, blank=True)
    webhook_secret = models.TextField(null=True, blank=True)  # encrypted (enc:…)
    sync_settings = models.JSONField(default=dict, db_default=models.Value({}, models.JSONField()))
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_sync_status = models.CharField(max_length=20, choices=SyncStatus.choices, null=True, blank=True)
    last_error = models.TextField(null=True, blank=True)
    total_syncs = models.IntegerField(default=0, db_default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())
    connected_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, db_column="connected_by", related_name="+")

    class Meta:
        db_table = "integrations"
        ordering = ["provider"]
        constraints = [models.UniqueConstraint(fields=["tenant", "provider"], name="unique_tenant_provider")]
        indexes = [
            models.Index(fields=["tenant"], name="idx_integrations_tenant"),
            models.Index(fields=["tenant", "provider"], name="idx_integrations_provider"),
            models.Index(fields=["tenant", "status"], name="idx_integrations_status"),
        ]
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")

    def __str__(self) -> str:
        return f"{self.name} ({self.provider})"


class IntegrationLog(models.Model):
    class Action(models.TextChoices):
        SYNC = "sync"
        IMPORT = "import"
        EXPORT = "export"
        WEBHOOK_RECEIVED = "webhook_received"
        WEBHOOK_SENT = "webhook_sent"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    # db_index=False: the seed names this index idx_integration_logs_integration (32 chars,
    # over Django's limit), so the migration creates it on PostgreSQL.
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="logs", db_index=False)
    action = models.CharField(max_length=30)
    direction = models.CharField(max_length=10)
    status = models.CharField(max_length=20)
    summary = models.JSONField(default=dict, db_default=models.Value({}, models.JSONField()))
    failed_items = models.JSONField(null=True, blank=True)
    error_message = models.TextField(null=True, blank=True)
    error_code = models.CharField(max_length=50, null=True, blank=True)
    started_at = models.DateTimeField(default=None, null=False, db_default=Now())
    completed_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.IntegerField(null=True, blank=True)
    request_snapshot = models.JSONField(null=True, blank=True)
    response_snapshot = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now())

    class Meta:
        db_table = "integration_logs"
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["tenant"], name="idx_integration_logs_tenant"),
            models.Index("tenant", models.F("started_at").desc(), name="idx_integration_logs_date"),
            models.Index(fields=["integration", "status"], name="idx_integration_logs_status"),
        ]
        verbose_name = _("integration log")
        verbose_name_plural = _("integration logs")

    def save(self, *args, **kwargs):
        if self.started_at is None:
            from django.utils import timezone

            self.started_at = timezone.now()
        super().save(*args, **kwargs)
