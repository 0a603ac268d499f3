"""The seed's webhook tables (sections ה, ו, ז), with the hub's additions.

Secrets are stored encrypted (core.crypto), so the seed's VARCHAR(200) secret
columns are TEXT here: they hold ``enc:`` + base64 of the AES-GCM ciphertext.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from core.choices import choice_label
from core.crypto import CryptoError, EncryptedFieldsMixin, is_sealed
from core.outbound import is_sensitive_header
from core.words import english, is_words, say
from tenancy.models import Tenant

#: The names of the stored values the admin and the webhook pages show (webhooks.pages.labels).
SIGNATURE_SCHEME_LABELS = {
    "hex": _("Hex HMAC-SHA256 in the signature header"),
    "standard": _("Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature)"),
}
RETRY_LABELS = {"linear": _("Linear (delay × attempt)"), "exponential": _("Exponential with jitter")}
#: An outgoing webhook's last delivery (``last_status``: what the delivery engine records).
LAST_STATUS_LABELS = {"success": _("success"), "failed": _("failed")}

#: Per verification scheme: its name.
SCHEME_NAMES = {
    "hmac": _("HMAC signature (recommended)"),
    "standard": _("Standard Webhooks"),
    "stripe": "Stripe", "twilio": "Twilio", "meta": "Meta / WhatsApp", "dropbox": "Dropbox",
    "graph": "Microsoft Graph", "hubspot": "HubSpot", "xero": "Xero", "quickbooks": "QuickBooks",
    "sendgrid": "SendGrid", "google_channel_token": "Google", "monday_jwt": "monday.com", "payplus": "PayPlus",
    "none": _("No verification"),
}

#: verification_config keys holding shared secrets: sealed at rest, masked in answers.
SECRET_CONFIG_KEYS = ("clientState", "verifyToken")


class IncomingWebhook(EncryptedFieldsMixin, models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"))
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(null=True, blank=True, verbose_name=_("description"))
    url = models.TextField(unique=True, verbose_name=_("url"))
    secret = models.TextField(verbose_name=_("secret"))  # encrypted
    actions = models.JSONField(verbose_name=_("actions"))
    filters = models.JSONField(null=True, blank=True, verbose_name=_("filters"))
    last_received_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last received at"))
    total_received = models.IntegerField(default=0, db_default=0, verbose_name=_("total received"))
    is_enabled = models.BooleanField(default=True, db_default=True, verbose_name=_("is enabled"))
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now(), verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, db_default=Now(), verbose_name=_("updated at"))
    # Beyond the seed: verification scheme per webhook and secret rotation.
    verification_scheme = models.CharField(max_length=30, default="hmac", db_default="hmac", choices=list(SCHEME_NAMES.items()),
                                           verbose_name=_("verification scheme"))
    verification_config = models.JSONField(default=dict, blank=True, verbose_name=_("verification config"))
    previous_secret = models.TextField(null=True, blank=True, verbose_name=_("previous secret"))  # encrypted
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("previous secret expires at"))

    class Meta:
        db_table = "incoming_webhooks"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant"], name="idx_incoming_webhooks_tenant"),
            models.Index(fields=["url"], name="idx_incoming_webhooks_url"),
        ]
        verbose_name = _("incoming webhook")
        verbose_name_plural = _("incoming webhooks")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.seal_plaintext_secrets()
        super().save(*args, **kwargs)

    def seal_plaintext_secrets(self) -> set[str]:
        """Seal (encrypt in place) the shared secrets of ``verification_config``, the
        credential-looking ``forwardHeaders`` of forward actions and the values of header
        filters on credential-looking headers; returns the fields changed.

        Runs on every save, whatever the path (API, admin, shell), and from
        ``rotate_encryption_key`` for rows stored before sealing existed.
        """
        changed = set()
        config = self.verification_config
        if isinstance(config, dict):
            for key in SECRET_CONFIG_KEYS:
                value = config.get(key)
                if isinstance(value, str) and value and not is_sealed(value):
                    config[key] = self.seal_value("verification_config", key, value)
                    changed.add("verification_config")
        for headers in self._forward_header_dicts():
            for name, value in headers.items():
                if is_sensitive_header(name) and isinstance(value, str) and value and not is_sealed(value):
                    headers[name] = self.seal_value("actions", name, value)
                    changed.add("actions")
        for name, value in self._filter_headers().items():
            if is_sensitive_header(name) and isinstance(value, str) and value and not is_sealed(value):
                self.filters["headers"][name] = self.seal_value("filters", name, value)
                changed.add("filters")
        return changed

    def _filter_headers(self) -> dict:
        headers = self.filters.get("headers") if isinstance(self.filters, dict) else None
        return headers if isinstance(headers, dict) else {}

    def opened_filters(self) -> dict | None:
        """``filters`` with its header values in plaintext (one that cannot be opened
        becomes ``None`` and so never matches)."""
        if not isinstance(self.filters, dict):
            return self.filters
        opened = dict(self.filters)
        if self._filter_headers():
            opened["headers"] = {
                name: self._open_or_none("filters", name, value) if is_sealed(value) else value
                for name, value in self._filter_headers().items()
            }
        return opened

    def _forward_header_dicts(self) -> list[dict]:
        found = []
        for action in self.actions if isinstance(self.actions, list) else []:
            config = action.get("config") if isinstance(action, dict) and action.get("type") == "forward" else None
            headers = config.get("forwardHeaders") if isinstance(config, dict) else None
            if isinstance(headers, dict):
                found.append(headers)
        return found

    def opened_verification_config(self) -> dict:
        """``verification_config`` with its secrets in plaintext (one that cannot be opened reads as absent)."""
        config = dict(self.verification_config or {})
        for key in SECRET_CONFIG_KEYS:
            if is_sealed(config.get(key)):
                config[key] = self._open_or_none("verification_config", key, config[key])
        return config

    def opened_headers(self, headers: dict | None) -> dict[str, str]:
        """A forward action's ``forwardHeaders`` in plaintext (one that cannot be opened is dropped)."""
        opened = {}
        for name, value in (headers or {}).items():
            value = self._open_or_none("actions", name, value) if is_sealed(value) else value
            if value is not None:
                opened[str(name)] = str(value)
        return opened

    def _open_or_none(self, field: str, key: str, value: str) -> str | None:
        try:
            return self.open_value(field, key, value)
        except CryptoError:
            import logging

            logging.getLogger("architect_studio.webhooks").error(
                "sealed %s value %r of incoming webhook %s cannot be opened (key missing or value moved)",
                field, key, self.pk,
            )
            return None


class OutgoingWebhook(EncryptedFieldsMixin, models.Model):
    class Method(models.TextChoices):
        POST = "POST", "POST"
        PUT = "PUT", "PUT"
        PATCH = "PATCH", "PATCH"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"))
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(null=True, blank=True, verbose_name=_("description"))
    url = models.TextField(verbose_name=_("url"))
    method = models.CharField(max_length=10, choices=Method.choices, default="POST", db_default="POST", verbose_name=_("method"))
    headers = models.JSONField(null=True, blank=True, verbose_name=_("headers"))
    triggers = models.JSONField(verbose_name=_("triggers"))
    payload_template = models.TextField(null=True, blank=True, verbose_name=_("payload template"))
    sign_requests = models.BooleanField(default=False, db_default=False, verbose_name=_("sign requests"))
    signature_header = models.CharField(max_length=100, default="X-Webhook-Signature", db_default="X-Webhook-Signature", verbose_name=_("signature header"))
    signature_secret = models.TextField(null=True, blank=True, verbose_name=_("signature secret"))  # encrypted
    retry_attempts = models.IntegerField(default=3, db_default=3, verbose_name=_("retry attempts"))
    retry_delay_seconds = models.IntegerField(default=60, db_default=60, verbose_name=_("retry delay seconds"))
    last_sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last sent at"))
    last_status = models.CharField(max_length=20, null=True, blank=True, choices=list(LAST_STATUS_LABELS.items()),
                                   verbose_name=_("last status"))
    total_sent = models.IntegerField(default=0, db_default=0, verbose_name=_("total sent"))
    total_failed = models.IntegerField(default=0, db_default=0, verbose_name=_("total failed"))
    is_enabled = models.BooleanField(default=True, db_default=True, verbose_name=_("is enabled"))
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now(), verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, db_default=Now(), verbose_name=_("updated at"))
    # Beyond the seed (issue: outgoing webhooks).
    signature_scheme = models.CharField(max_length=10, default="hex", db_default="hex", choices=list(SIGNATURE_SCHEME_LABELS.items()),
                                        verbose_name=_("signature scheme"))
    retry_strategy = models.CharField(max_length=12, default="linear", db_default="linear", choices=list(RETRY_LABELS.items()),
                                      verbose_name=_("retry strategy"))
    timeout_seconds = models.IntegerField(default=10, db_default=10, verbose_name=_("timeout seconds"))
    consecutive_failures = models.IntegerField(default=0, db_default=0, verbose_name=_("consecutive failures"))
    disabled_reason = models.TextField(null=True, blank=True, verbose_name=_("disabled reason"))
    previous_signature_secret = models.TextField(null=True, blank=True, verbose_name=_("previous signature secret"))  # encrypted
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("previous secret expires at"))
    # How long the receiver took to answer the last recorded attempt: a slow one
    # is sent to by the tenant's dispatcher, not by the outbox drain.
    last_duration_ms = models.IntegerField(null=True, blank=True, verbose_name=_("last duration ms"))

    class Meta:
        db_table = "outgoing_webhooks"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant"], name="idx_outgoing_webhooks_tenant"),
        ]
        # idx_outgoing_webhooks_triggers (GIN on triggers) is created by the
        # migration on PostgreSQL only (core.rls.PostgresOnlySQL).
        verbose_name = _("outgoing webhook")
        verbose_name_plural = _("outgoing webhooks")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.seal_plaintext_secrets()
        super().save(*args, **kwargs)

    def seal_plaintext_secrets(self) -> set[str]:
        """Seal credential-looking custom header values stored in plaintext (on every save:
        API, admin, shell; and for rows from before sealing); returns the fields changed."""
        changed = set()
        if isinstance(self.headers, dict):
            for name, value in self.headers.items():
                if is_sensitive_header(name) and isinstance(value, str) and value and not is_sealed(value):
                    self.headers[name] = self.seal_value("headers", name, value)
                    changed.add("headers")
        return changed


class WebhookLogQuerySet(models.QuerySet):
    """The three kinds of ``webhook_logs`` rows, by name instead of by two string filters."""

    def incoming_requests(self) -> WebhookLogQuerySet:
        """Requests received by incoming webhooks."""
        return self.filter(webhook_type=WebhookLog.Type.INCOMING, direction=WebhookLog.Direction.INCOMING)

    def outgoing_attempts(self) -> WebhookLogQuerySet:
        """Delivery attempts of outgoing webhooks (sends, retries, replays, tests)."""
        return self.filter(webhook_type=WebhookLog.Type.OUTGOING, direction=WebhookLog.Direction.OUTGOING)

    def forward_attempts(self) -> WebhookLogQuerySet:
        """Attempts of incoming webhooks' ``forward`` actions."""
        return self.filter(webhook_type=WebhookLog.Type.INCOMING, direction=WebhookLog.Direction.OUTGOING)

    def sent(self) -> WebhookLogQuerySet:
        """Every request the hub sent: outgoing attempts and forward attempts — the rows of the
        one delivery engine (``webhooks.outgoing.delivery``), which claims, sends, retries,
        sweeps and replays both kinds."""
        return self.filter(direction=WebhookLog.Direction.OUTGOING)


class WebhookLog(models.Model):
    """One row per incoming request or outgoing attempt (seed section ז).

    Three kinds, told apart by ``webhook_type`` and ``direction`` (use the
    queryset methods: ``incoming_requests()``, ``outgoing_attempts()``,
    ``forward_attempts()``).
    """

    class Type(models.TextChoices):
        """Which kind of webhook the row belongs to (``webhook_id`` points there)."""

        INCOMING = "incoming", _("Incoming")
        OUTGOING = "outgoing", _("Outgoing")

    class Direction(models.TextChoices):
        """Received by the hub, or sent by it."""

        INCOMING = "incoming", _("Incoming")
        OUTGOING = "outgoing", _("Outgoing")

    class Status(models.TextChoices):
        SUCCESS = "success", _("Success")
        FAILED = "failed", _("Failed")
        PENDING = "pending", _("Pending")
        SKIPPED = "skipped", _("Skipped")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    # db_index=False: idx_webhook_logs_tenant (the seed's) is the tenant_id index; a second one only slows inserts.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("tenant"))
    webhook_id = models.UUIDField(verbose_name=_("webhook id"))  # incoming or outgoing: no FK, as in the seed
    webhook_type = models.CharField(max_length=10, choices=Type.choices, verbose_name=_("webhook type"))
    direction = models.CharField(max_length=10, choices=Direction.choices, verbose_name=_("direction"))
    method = models.CharField(max_length=10, verbose_name=_("method"))
    url = models.TextField(verbose_name=_("url"))
    headers = models.JSONField(null=True, blank=True, verbose_name=_("headers"))
    body = models.JSONField(null=True, blank=True, verbose_name=_("body"))
    response_status = models.IntegerField(null=True, blank=True, verbose_name=_("response status"))
    response_headers = models.JSONField(null=True, blank=True, verbose_name=_("response headers"))
    response_body = models.JSONField(null=True, blank=True, verbose_name=_("response body"))
    status = models.CharField(max_length=20, choices=Status.choices, verbose_name=_("status"))
    error_message = models.TextField(null=True, blank=True, verbose_name=_("error message"))
    attempt = models.IntegerField(default=1, db_default=1, verbose_name=_("attempt"))
    max_attempts = models.IntegerField(default=3, db_default=3, verbose_name=_("max attempts"))
    next_retry_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next retry at"))
    timestamp = models.DateTimeField(auto_now_add=True, db_default=Now(), verbose_name=_("timestamp"))
    duration_ms = models.IntegerField(null=True, blank=True, verbose_name=_("duration ms"))
    # Beyond the seed: stable delivery id (same on every retry), the entity event
    # that caused it, the provider's delivery id for dedupe, per-action results.
    delivery_id = models.UUIDField(null=True, blank=True, verbose_name=_("delivery id"))
    event_type = models.CharField(max_length=60, null=True, blank=True, verbose_name=_("event type"))
    entity_event_id = models.UUIDField(null=True, blank=True, verbose_name=_("entity event id"))
    dedupe_key = models.CharField(max_length=255, null=True, blank=True, verbose_name=_("dedupe key"))
    result = models.JSONField(null=True, blank=True, verbose_name=_("result"))
    # Outgoing delivery engine (webhooks.outgoing.delivery): the exact body text
    # that was signed and sent (JSONB reorders keys, so `body` cannot give the
    # same bytes back for a retry); how many times a worker claimed this attempt
    # (the compare-and-set token that makes duplicate task messages harmless and
    # lets the sweeper recover an attempt whose worker died); when the attempt
    # finished (base of the seed's `nextRetryAt = now + delay × attempt`); and
    # when the retry this failed row asked for was created (so `nextRetryAt`
    # stays visible in the log after the retry fired).
    body_text = models.TextField(null=True, blank=True, verbose_name=_("body text"))
    claim_count = models.IntegerField(default=0, db_default=0, verbose_name=_("claim count"))
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))
    retried_at = models.DateTimeField(null=True, blank=True, verbose_name=_("retried at"))

    objects = WebhookLogQuerySet.as_manager()

    #: The key of ``result`` that keeps ``error_message`` as words (core.words), written by the
    #: delivery engine for the hardened client's refusals and failures (core.outbound).
    ERROR_WORDS = "errorWords"

    @property
    def error_text(self) -> str | None:
        """``error_message`` in the active language: its words while they still say the stored
        text, else the text as stored (a receiver's status, older rows)."""
        kept = (self.result or {}).get(self.ERROR_WORDS) if isinstance(self.result, dict) else None
        if self.error_message and is_words(kept) and english(kept)[:2000] == self.error_message[:2000]:
            return say(kept)
        return self.error_message

    @property
    def result_shown(self) -> dict | list | str | None:
        """``result`` without the words kept for :attr:`error_text` (what a page shows as the outcome)."""
        if isinstance(self.result, dict) and self.ERROR_WORDS in self.result:
            return {k: v for k, v in self.result.items() if k != self.ERROR_WORDS}
        return self.result

    class Meta:
        db_table = "webhook_logs"
        ordering = ["-timestamp"]
        indexes = [
            # The log lists (issue 12 item 9): one index per list filter, each ending in
            # ``timestamp DESC`` so a page is one range walk in the lists' order (newest first;
            # the few rows sharing a timestamp are sorted by attempt, id on top). The seed's
            # webhook and status indexes are these, extended: every query their prefix
            # served, they still serve. The per-webhook ones carry tenant_id (INCLUDE) so the
            # capped count (core.pagination) and the tenant check run on the index alone.
            models.Index(fields=["tenant"], name="idx_webhook_logs_tenant"),
            models.Index("webhook_id", models.F("timestamp").desc(), name="idx_webhook_logs_webhook",
                         include=["tenant"]),
            models.Index("tenant", models.F("timestamp").desc(), name="idx_webhook_logs_date"),
            models.Index("webhook_id", "status", models.F("timestamp").desc(), name="idx_webhook_logs_status",
                         include=["tenant"]),
            models.Index("webhook_id", "event_type", models.F("timestamp").desc(), name="idx_webhook_logs_event",
                         include=["tenant"]),
            models.Index("tenant", "status", models.F("timestamp").desc(), name="idx_webhook_logs_t_status"),
            models.Index("tenant", "event_type", models.F("timestamp").desc(), name="idx_webhook_logs_t_event"),
            # Cross-tenant, newest first: the admin's list and the retention delete.
            models.Index(models.F("timestamp").desc(), name="idx_webhook_logs_time"),
            models.Index(
                fields=["next_retry_at"],
                name="idx_webhook_logs_retry",
                condition=models.Q(status="failed", next_retry_at__isnull=False),
            ),
            models.Index(fields=["delivery_id"], name="idx_webhook_logs_delivery"),
            # The outgoing sweeper's two scans: failed attempts whose retry is due,
            # and pending attempts whose dispatch grace or worker lease ran out.
            models.Index(
                fields=["next_retry_at"],
                name="idx_webhook_logs_out_due",
                condition=models.Q(
                    direction="outgoing", status="failed", retried_at__isnull=True, next_retry_at__isnull=False
                ),
            ),
            models.Index(
                fields=["next_retry_at"],
                name="idx_webhook_logs_out_pending",
                condition=models.Q(direction="outgoing", status="pending"),
            ),
            # The dashboard's and /metrics' backlog of incoming requests waiting for the drain.
            models.Index(
                fields=["timestamp"],
                name="idx_webhook_logs_in_pending",
                condition=models.Q(direction="incoming", status="pending"),
            ),
        ]
        constraints = [
            # One row per (delivery, attempt): a duplicated subscriber run or a
            # racing retry can never create the same attempt twice.
            models.UniqueConstraint(
                fields=["delivery_id", "attempt"],
                name="uniq_webhook_logs_out_attempt",
                condition=models.Q(webhook_type="outgoing", delivery_id__isnull=False),
            ),
        ]
        verbose_name = _("webhook log")
        verbose_name_plural = _("webhook logs")

    def __str__(self) -> str:
        return f"{choice_label(self, 'direction')} {self.method} {self.url} → {choice_label(self, 'status')}"
