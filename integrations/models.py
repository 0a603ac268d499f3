"""The seed's integration tables (sections ב, ד) and the sync engine's (issue 11).

Long on purpose: one app's models in one module, as Django expects them -- the seed's
tables, the provider apps and OAuth states, and the sync engine's state, links, export
queue, currency rates and push channels; each class documents itself.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from core.choices import choice_label
from core.crypto import EncryptedFieldsMixin
from entities.models import ENTITY_TYPE_CHOICES
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

    class ConflictPolicy(models.TextChoices):
        NEWEST_WINS = "newest_wins", _("Newest wins")
        REMOTE_WINS = "remote_wins", _("Remote wins")
        LOCAL_WINS = "local_wins", _("Local wins")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"))
    provider = models.CharField(max_length=50, verbose_name=_("provider"))
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(null=True, blank=True, verbose_name=_("description"))
    status = models.CharField(max_length=20, choices=Status.choices, default="disconnected", db_default="disconnected", verbose_name=_("status"))
    oauth_encrypted = models.BinaryField(null=True, blank=True, verbose_name=_("oauth encrypted"))  # AES-GCM of the OAuthCredentials JSON
    api_key_encrypted = models.BinaryField(null=True, blank=True, verbose_name=_("api key encrypted"))
    webhook_url = models.TextField(null=True, blank=True, verbose_name=_("webhook url"))
    webhook_secret = models.TextField(null=True, blank=True, verbose_name=_("webhook secret"))  # encrypted (enc:…)
    sync_settings = models.JSONField(default=dict, db_default=models.Value({}, models.JSONField()), verbose_name=_("sync settings"))
    last_sync_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last sync at"))
    last_sync_status = models.CharField(max_length=20, choices=SyncStatus.choices, null=True, blank=True, verbose_name=_("last sync status"))
    last_error = models.TextField(null=True, blank=True, verbose_name=_("last error"))
    # last_error as words (core.words: msgid + params) when it was written by a worker: the
    # settings page says it in the reader's language while it still renders to last_error.
    last_error_words = models.JSONField(null=True, blank=True, verbose_name=_("last error words"))
    total_syncs = models.IntegerField(default=0, db_default=0, verbose_name=_("total syncs"))
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now(), verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, db_default=Now(), verbose_name=_("updated at"))
    connected_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, db_column="connected_by", related_name="+", verbose_name=_("connected by"))
    # --- hub columns beyond the seed (issue 5): non-secret, so beat and the admin can
    # query them without decrypting anything.
    # Provider values the API needs that are not secrets: QuickBooks realmId, Mailchimp dc,
    # Twilio accountSid, a CalDAV server URL... (filled into the catalog's {placeholders}).
    connection_config = models.JSONField(default=dict, blank=True, db_default=models.Value({}, models.JSONField()), verbose_name=_("connection config"))
    scopes = models.JSONField(default=list, blank=True, db_default=models.Value([], models.JSONField()), verbose_name=_("scopes"))
    # Mirror of OAuthCredentials.tokenExpiresAt (the token itself stays encrypted).
    token_expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("token expires at"))
    # Bumped on every token write; a refresh that lost a race sees it changed.
    token_version = models.IntegerField(default=0, db_default=0, verbose_name=_("token version"))
    refresh_failures = models.IntegerField(default=0, db_default=0, verbose_name=_("refresh failures"))
    last_refresh_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last refresh at"))
    next_refresh_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next refresh attempt at"))
    expiry_warned_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expiry warned at"))
    # --- sync engine (issue 11, DESIGN C12)
    # The seed's provider config (section ג, e.g. GoogleCalendarConfig.settings: calendars[],
    # syncMeetings, autoCreateEvents...), validated per provider by its adapter.
    settings = models.JSONField(default=dict, blank=True, db_default=models.Value({}, models.JSONField()), verbose_name=_("settings"))
    conflict_policy = models.CharField(max_length=20, choices=ConflictPolicy.choices, default="newest_wins",
                                       db_default="newest_wins", verbose_name=_("conflict policy"))

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
    # The labels are the ones the settings page's history shows (integrations.pages.settings._labels).
    class Action(models.TextChoices):
        SYNC = "sync", _("Sync")
        IMPORT = "import", _("Import")
        EXPORT = "export", _("Export")
        WEBHOOK_RECEIVED = "webhook_received", _("Webhook received")
        WEBHOOK_SENT = "webhook_sent", _("Webhook sent")
        # Connection lifecycle (hub additions; the column has no DB-level choices).
        CONNECT = "connect", _("Connection")
        TEST = "test", _("Connection test")
        TOKEN_REFRESH = "token_refresh", _("Token refresh")
        REVOKE = "revoke", _("Revocation")
        API_CALL = "api_call", _("API call")

    class Direction(models.TextChoices):  # the seed's 'incoming' | 'outgoing' (integrations.sync.runs.log_direction)
        INCOMING = "incoming", _("Incoming")
        OUTGOING = "outgoing", _("Outgoing")

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCESS = "success", _("Success")
        PARTIAL = "partial", _("Partial")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    # db_index=False: idx_integration_logs_tenant (the seed's) is the tenant_id index.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("tenant"))
    # db_index=False: the seed names this index idx_integration_logs_integration (32 chars,
    # over Django's limit), so the migration creates it on PostgreSQL.
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="logs", db_index=False, verbose_name=_("integration"))
    action = models.CharField(max_length=30, choices=Action.choices, verbose_name=_("action"))
    direction = models.CharField(max_length=10, choices=Direction.choices, verbose_name=_("direction"))
    status = models.CharField(max_length=20, choices=Status.choices, verbose_name=_("status"))
    summary = models.JSONField(default=dict, db_default=models.Value({}, models.JSONField()), verbose_name=_("summary"))
    failed_items = models.JSONField(null=True, blank=True, verbose_name=_("failed items"))
    error_message = models.TextField(null=True, blank=True, verbose_name=_("error message"))
    error_code = models.CharField(max_length=50, null=True, blank=True, verbose_name=_("error code"))
    started_at = models.DateTimeField(default=None, null=False, db_default=Now(), verbose_name=_("started at"))
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))
    duration_ms = models.IntegerField(null=True, blank=True, verbose_name=_("duration ms"))
    request_snapshot = models.JSONField(null=True, blank=True, verbose_name=_("request snapshot"))
    response_snapshot = models.JSONField(null=True, blank=True, verbose_name=_("response snapshot"))
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now(), verbose_name=_("created at"))
    # --- sync runs (issue 11): a run's row is `running` until it ends; `progress` is
    # {"done": n, "total": n|null}, written every page; `heartbeat_at` is refreshed by the
    # worker running it, so the sweeper can tell a run whose worker died from a slow one.
    progress = models.JSONField(null=True, blank=True, verbose_name=_("progress"))
    heartbeat_at = models.DateTimeField(null=True, blank=True, verbose_name=_("heartbeat at"))

    class Meta:
        db_table = "integration_logs"
        ordering = ["-started_at"]
        constraints = [
            # One sync run per integration at a time (POST /sync answers 409 with the running logId).
            models.UniqueConstraint(fields=["integration"], condition=models.Q(status="running"),
                                    name="unique_running_sync_per_integration"),
        ]
        indexes = [
            # The log list (issue 12 item 9) pages newest first by (started_at, id): each of its
            # filters has an index ending in ``started_at DESC`` (idx_integration_logs_integration,
            # the seed's name, is (integration_id, started_at DESC) INCLUDE (tenant_id) — migration
            # 0009 — so it is not declared here). tenant_id is included so the capped count and
            # the tenant check read the index only.
            models.Index(fields=["tenant"], name="idx_integration_logs_tenant"),
            models.Index("tenant", models.F("started_at").desc(), name="idx_integration_logs_date"),
            models.Index("integration", "status", models.F("started_at").desc(), name="idx_integration_logs_status",
                         include=["tenant"]),
            models.Index("integration", "action", models.F("started_at").desc(), name="idx_integration_logs_action",
                         include=["tenant"]),
            # Cross-tenant, newest first: the admin's list and the retention delete.
            models.Index(models.F("started_at").desc(), name="idx_integration_logs_time"),
        ]
        verbose_name = _("integration log")
        verbose_name_plural = _("integration logs")

    def __str__(self) -> str:  # the admin's row label (its checkbox's accessible name), as WebhookLog's
        return (f"{choice_label(self, 'action')} {choice_label(self, 'direction')}"
                f" → {choice_label(self, 'status')}")

    def save(self, *args, **kwargs):
        if self.started_at is None:
            from django.utils import timezone

            self.started_at = timezone.now()
        super().save(*args, **kwargs)


class ProviderApp(EncryptedFieldsMixin, models.Model):
    """Per-deployment settings of one provider (DESIGN C2): the OAuth app's client
    credentials and URL overrides. Not tenant data: one row per provider, operators
    edit it in the admin or with ``manage.py set_provider_app``; no tenant_id, so no RLS.
    Values missing here fall back to the environment (see integrations.oauth.app_config).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    provider = models.CharField(max_length=50, unique=True, verbose_name=_("provider"))
    client_id = models.CharField(max_length=500, blank=True, default="", verbose_name=_("client id"))
    client_secret_encrypted = models.BinaryField(null=True, blank=True, editable=False, verbose_name=_("client secret encrypted"))
    authorization_url = models.URLField(max_length=500, blank=True, default="", verbose_name=_("authorization url"))
    token_url = models.URLField(max_length=500, blank=True, default="", verbose_name=_("token url"))
    revoke_url = models.URLField(max_length=500, blank=True, default="", verbose_name=_("revoke url"))
    # Replaces the provider's API origin (or the whole base when it has a path) in every call.
    api_base_url = models.URLField(max_length=500, blank=True, default="", verbose_name=_("api base url"))
    scopes = models.CharField(max_length=1000, blank=True, default="", help_text=_("Space-separated; empty = catalog defaults."), verbose_name=_("scopes"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        db_table = "integration_provider_apps"
        ordering = ["provider"]
        verbose_name = _("provider app")
        verbose_name_plural = _("provider apps")

    def __str__(self) -> str:
        return self.provider


class OAuthState(EncryptedFieldsMixin, models.Model):
    """One pending authorization: single use, bound to tenant + user + provider, 10 minutes.

    Only the SHA-256 of ``state`` is stored. The callback arrives without a logged-in
    tenant, so besides the usual tenant policies the table has a narrow RLS policy
    ``state_holder``: a transaction that has set ``app.oauth_state_hash`` to the hash
    of the state it received sees that one row and nothing else (knowing the state
    is the credential, C3).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user"))
    provider = models.CharField(max_length=50, verbose_name=_("provider"))
    state_hash = models.CharField(max_length=64, unique=True, verbose_name=_("state hash"))
    # SHA-256 of the nonce cookie set in the initiator's browser (C11): the callback
    # refuses the state without it. Empty on rows from before the column: refused.
    nonce_hash = models.CharField(max_length=64, blank=True, default="", verbose_name=_("nonce hash"))
    code_verifier_encrypted = models.BinaryField(null=True, blank=True, verbose_name=_("code verifier encrypted"))
    redirect_uri = models.TextField(verbose_name=_("redirect uri"))
    scopes = models.JSONField(default=list, verbose_name=_("scopes"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))

    class Meta:
        db_table = "integration_oauth_states"
        verbose_name = _("OAuth state")
        verbose_name_plural = _("OAuth states")
        indexes = [models.Index(fields=["expires_at"], name="idx_oauth_states_expiry")]


class SyncState(models.Model):
    """Where the import of one entity pair from one remote container stands (seed יא,
    SyncState.lastSyncToken): the provider's cursor (Google syncToken, Graph deltaLink,
    CalDAV sync-token) and when the last full and the last incremental runs ended.

    Advanced only by ``integrations.sync_state.sync_state_advance``, inside the
    transaction that commits the page the cursor came from: a page that fails leaves
    the cursor where it was, so the next run reads that page again.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"))
    # db_index=False: the unique constraint below leads with integration.
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="sync_states", db_index=False, verbose_name=_("integration"))
    local_type = models.CharField(max_length=50, choices=ENTITY_TYPE_CHOICES, verbose_name=_("local type"))  # "meeting"
    remote_type = models.CharField(max_length=50, verbose_name=_("remote type"))  # "event"
    # The provider's container (Google calendarId, Graph calendar id, CalDAV collection URL);
    # blank for providers with one collection per entity.
    remote_container = models.CharField(max_length=500, blank=True, default="", db_default="", verbose_name=_("remote container"))
    cursor = models.TextField(null=True, blank=True, verbose_name=_("cursor"))  # None: no cursor yet, the next run is a full one
    last_full_sync_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last full sync at"))
    # Set when a full listing starts (first run, or the provider refused the cursor); links of
    # this container not seen (``ExternalLink.seen_at``) since then are remote removals once
    # the listing's last page commits; cleared then.
    full_sync_started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("full sync started at"))
    last_run_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last run at"))
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now(), verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, db_default=Now(), verbose_name=_("updated at"))

    class Meta:
        db_table = "integration_sync_states"
        constraints = [
            models.UniqueConstraint(fields=["integration", "local_type", "remote_type", "remote_container"],
                                    name="unique_sync_state_per_container"),
        ]
        verbose_name = _("sync state")
        verbose_name_plural = _("sync states")

    def __str__(self) -> str:
        container = f" [{self.remote_container}]" if self.remote_container else ""
        return f"{self.get_local_type_display()} ↔ {self.remote_type}{container}"


class ExternalLink(models.Model):
    """One synced record: our row (local type + uuid) and the provider's (remote type + id).

    ``remote_version`` is the provider's concurrency token (Google etag, Graph changeKey,
    CalDAV etag / iCalendar SEQUENCE), sent back as If-Match on export. ``local_hash`` and
    ``remote_hash`` are ``content_hash`` of the mapped values last written to each side:
    a change whose hash equals what we wrote ourselves is our own echo. ``last_synced`` is
    the field values both sides agreed on at the last sync, the base of a three-way merge.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"))
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="links", db_index=False, verbose_name=_("integration"))
    local_type = models.CharField(max_length=50, choices=ENTITY_TYPE_CHOICES, verbose_name=_("local type"))
    local_id = models.UUIDField(verbose_name=_("local id"))
    remote_type = models.CharField(max_length=50, verbose_name=_("remote type"))
    remote_id = models.TextField(verbose_name=_("remote id"))  # provider ids are opaque and can be long (Graph ids, CalDAV hrefs)
    remote_container = models.CharField(max_length=500, blank=True, default="", db_default="", verbose_name=_("remote container"))
    remote_version = models.TextField(null=True, blank=True, verbose_name=_("remote version"))
    local_hash = models.CharField(max_length=64, blank=True, default="", db_default="", verbose_name=_("local hash"))
    remote_hash = models.CharField(max_length=64, blank=True, default="", db_default="", verbose_name=_("remote hash"))
    # Django's encoder, as content_hash uses: mapped values may hold dates and decimals.
    last_synced = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder,
                                   db_default=models.Value({}, models.JSONField()), verbose_name=_("last synced"))
    # Storage providers: which of the local record's files the remote file holds
    # (integrations.sync.files.file_fingerprint); a different one is uploaded again.
    file_fingerprint = models.CharField(max_length=64, blank=True, default="", db_default="",
                                        verbose_name=_("file fingerprint"))
    # When an import last saw the remote record (a full listing's reconciliation reads it).
    seen_at = models.DateTimeField(null=True, blank=True, verbose_name=_("seen at"))
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now(), verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, db_default=Now(), verbose_name=_("updated at"))

    class Meta:
        db_table = "integration_external_links"
        constraints = [
            models.UniqueConstraint(fields=["integration", "remote_type", "remote_id"], name="unique_link_remote"),
            models.UniqueConstraint(fields=["integration", "local_type", "local_id"], name="unique_link_local"),
        ]
        verbose_name = _("external link")
        verbose_name_plural = _("external links")

    def __str__(self) -> str:
        return f"{self.get_local_type_display()}:{self.local_id} ↔ {self.remote_type}:{self.remote_id}"


class SyncPending(models.Model):
    """The export queue: one row per local record that changed and awaits export to one integration.

    Written by the entity-event subscriber in the outbox drain's transaction (coalesced: a
    record edited ten times before the export runs is one row, its latest ``operation``);
    a realtime integration's export task is woken at once, an hourly or daily one drains
    the queue on its schedule. A row is deleted in the transaction that records its export,
    or kept with ``attempts`` / ``next_attempt_at`` / ``last_error`` when the provider failed.
    """

    class Operation(models.TextChoices):
        UPSERT = "upsert", _("Create or update")
        DELETE = "delete", _("Delete")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"))
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="pending_exports",
                                    db_index=False, verbose_name=_("integration"))
    local_type = models.CharField(max_length=50, choices=ENTITY_TYPE_CHOICES, verbose_name=_("local type"))
    local_id = models.UUIDField(verbose_name=_("local id"))
    operation = models.CharField(max_length=10, choices=Operation.choices, verbose_name=_("operation"))
    # The record as the event carried it (a deleted record can no longer be read).
    snapshot = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder, verbose_name=_("snapshot"))
    queued_at = models.DateTimeField(default=None, null=False, db_default=Now(), verbose_name=_("queued at"))
    attempts = models.IntegerField(default=0, db_default=0, verbose_name=_("attempts"))
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    last_error = models.TextField(blank=True, default="", db_default="", verbose_name=_("last error"))

    class Meta:
        db_table = "integration_sync_pending"
        constraints = [
            models.UniqueConstraint(fields=["integration", "local_type", "local_id"], name="unique_pending_export"),
        ]
        verbose_name = _("pending export")
        verbose_name_plural = _("pending exports")

    def save(self, *args, **kwargs):
        if self.queued_at is None:
            from django.utils import timezone

            self.queued_at = timezone.now()
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.get_operation_display()} {self.get_local_type_display()}:{self.local_id}"


class CurrencyRate(models.Model):
    """Exchange rates for the ``currency_convert`` transform, kept by operators in the admin.

    Not tenant data (one table for the deployment, like ProviderApp; no RLS). A conversion
    on a date uses the newest rate valid on or before it; no network call is ever made.
    ``rate`` is how many ``quote`` units one ``base`` unit buys (base USD, quote ILS: 3.65).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    base = models.CharField(max_length=3, verbose_name=_("base"))
    quote = models.CharField(max_length=3, verbose_name=_("quote"))
    rate = models.DecimalField(max_digits=18, decimal_places=8, verbose_name=_("rate"))
    valid_on = models.DateField(verbose_name=_("valid on"))
    source = models.CharField(max_length=200, blank=True, default="", help_text=_("Where the rate came from."), verbose_name=_("source"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        db_table = "integration_currency_rates"
        ordering = ["base", "quote", "-valid_on"]
        constraints = [
            models.UniqueConstraint(fields=["base", "quote", "valid_on"], name="unique_currency_rate_per_day"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="currency_rate_positive"),
        ]
        verbose_name = _("currency rate")
        verbose_name_plural = _("currency rates")

    def __str__(self) -> str:
        return f"1 {self.base} = {self.rate} {self.quote} ({self.valid_on})"


class PushChannel(EncryptedFieldsMixin, models.Model):
    """One provider push registration for realtime import (issue 11 item 8): a Google
    Calendar watch channel (events.watch) or a Microsoft Graph subscription, on one
    calendar of one integration.

    The row's ``id`` is in the notification URL the provider calls
    (``/api/integrations/push/<google|graph>/<id>``); for Google it is also the channel id.
    ``token_encrypted`` is the secret the provider echoes with every notification (Google
    ``X-Goog-Channel-Token``, Graph ``clientState``), compared in constant time.

    The public endpoint knows no tenant: besides the tenant policy the table has a narrow
    RLS policy ``channel_holder`` -- a transaction that set ``app.push_channel_id`` to a
    row's id may SELECT that one row (its tenant then scopes the rest), nothing more.
    """

    class Kind(models.TextChoices):
        GOOGLE = "google", _("Google Calendar watch channel")
        GRAPH = "graph", _("Microsoft Graph subscription")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"))
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="push_channels",
                                    db_index=False, verbose_name=_("integration"))
    kind = models.CharField(max_length=10, choices=Kind.choices, verbose_name=_("kind"))
    container = models.CharField(max_length=500, verbose_name=_("container"))  # calendarId / Graph calendar id
    channel_id = models.CharField(max_length=200, verbose_name=_("channel id"))  # Google channel id / Graph subscription id
    resource_id = models.TextField(blank=True, default="", verbose_name=_("resource id"))  # Google resourceId / Graph resource path
    token_encrypted = models.BinaryField(null=True, blank=True, editable=False, verbose_name=_("token encrypted"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now(), verbose_name=_("created at"))
    renewed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("renewed at"))
    # Coalescing of triggers: the last run a notification started, and a notification that
    # arrived while a run was running (or within the rate window) asks for one more.
    last_notified_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last notified at"))
    last_triggered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last triggered at"))
    rerun_requested = models.BooleanField(default=False, db_default=False, verbose_name=_("rerun requested"))

    class Meta:
        db_table = "integration_push_channels"
        # No unique (integration, container): a Google renewal overlaps the new channel and the old.
        indexes = [
            models.Index(fields=["integration", "container"], name="idx_push_channels_container"),
            models.Index(fields=["expires_at"], name="idx_push_channels_expiry"),
        ]
        verbose_name = _("push channel")
        verbose_name_plural = _("push channels")

    def __str__(self) -> str:
        return _("%(kind)s %(container)s until %(expires)s") % {
            "kind": self.get_kind_display(), "container": self.container,
            "expires": f"{self.expires_at:%Y-%m-%d %H:%M}"}


class MessageDispatch(models.Model):
    """One message a messaging rule owes (issue 16): at most one row per (integration, rule,
    entity, occurrence, recipient) -- the unique constraint is what makes a repeated entity
    event (or a redelivered outbox row) send nothing twice.

    Written by the entity-event subscriber in the outbox drain's transaction with ``due_at``
    (a reminder: ``startTime - offset``; an event rule: now); handed to the sync engine by the
    messaging task (``integrations.messaging.send``, claiming due rows ``FOR UPDATE SKIP
    LOCKED``) as a queued ``message`` record (``message``) in the export queue; the engine's
    export sends it and ``integrations.messaging.outcomes`` mirrors the outcome here.
    ``status``: pending -> sent / skipped (opt-out, the moment passed, the meeting moved or was
    cancelled) / failed (the provider refused it, or out of attempts); a 429, 5xx or network
    failure keeps it pending with ``attempts`` and ``due_at`` = the engine's next attempt.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        SKIPPED = "skipped", _("Skipped")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"))
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="message_dispatches",
                                    db_index=False, verbose_name=_("integration"))
    rule_id = models.CharField(max_length=100, verbose_name=_("rule id"))
    entity_type = models.CharField(max_length=30, verbose_name=_("entity type"))
    entity_id = models.UUIDField(verbose_name=_("entity id"))
    occurrence = models.CharField(max_length=100, verbose_name=_("occurrence"))
    recipient = models.CharField(max_length=320, verbose_name=_("recipient"))
    due_at = models.DateTimeField(verbose_name=_("due at"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=_("status"))
    attempts = models.IntegerField(default=0, verbose_name=_("attempts"))
    last_error = models.TextField(blank=True, default="", verbose_name=_("last error"))
    message = models.ForeignKey("entities.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("message"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        db_table = "message_dispatches"
        constraints = [
            models.UniqueConstraint(fields=["integration", "rule_id", "entity_type", "entity_id", "occurrence", "recipient"],
                                    name="unique_message_dispatch"),
        ]
        indexes = [
            models.Index(fields=["due_at"], name="idx_message_dispatch_due", condition=models.Q(status="pending")),
        ]
        verbose_name = _("message dispatch")
        verbose_name_plural = _("message dispatches")


class MessageOptOut(models.Model):
    """A recipient who asked for no more messages on a channel (an inbound STOP, a SendGrid
    unsubscribe or spam report, or the tenant's own list in the admin): rules skip them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"))
    channel = models.CharField(max_length=20, verbose_name=_("channel"))
    address = models.CharField(max_length=320, verbose_name=_("address"))
    reason = models.CharField(max_length=100, blank=True, default="", verbose_name=_("reason"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        db_table = "message_opt_outs"
        constraints = [models.UniqueConstraint(fields=["tenant", "channel", "address"], name="unique_message_opt_out")]
        verbose_name = _("message opt-out")
        verbose_name_plural = _("message opt-outs")
