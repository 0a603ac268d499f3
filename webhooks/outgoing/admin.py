"""Back office for outgoing webhooks and all webhook logs (operators; runs in operator scope).

Logs are read-only; actions call the same services as the API. Secrets are
never rendered: the secret fields are excluded and only "set a new secret"
is offered.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from core.admin_logs import CappedCountPaginator, IndexedUUIDSearch, PlainActionCheckbox
from webhooks.incoming import services as incoming_services
from webhooks.models import OutgoingWebhook, WebhookLog
from webhooks.outgoing import services


class OutgoingWebhookForm(forms.ModelForm):
    new_signature_secret = forms.CharField(
        label=_("new signature secret"), required=False, widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to keep the current secret. The secret is never shown."),
    )

    class Meta:
        model = OutgoingWebhook
        fields = [
            "tenant", "name", "description", "url", "method", "headers", "triggers", "payload_template",
            "sign_requests", "signature_header", "signature_scheme", "retry_strategy", "retry_attempts",
            "retry_delay_seconds", "timeout_seconds", "is_enabled", "disabled_reason",
        ]

    def clean(self):
        cleaned = super().clean()
        webhook: OutgoingWebhook = self.instance
        data = {k: cleaned[k] for k in services._FIELDS if k in cleaned}
        if cleaned.get("new_signature_secret"):
            data["signature_secret"] = cleaned["new_signature_secret"]
        try:
            if webhook.tenant_id is None and cleaned.get("tenant") is not None:
                webhook.tenant = cleaned["tenant"]
            services._apply(webhook, data)
        except services.WebhookConfigError as exc:
            raise forms.ValidationError([f"{k}: {' '.join(v)}" for k, v in exc.fields.items()]) from None
        return cleaned


@admin.register(OutgoingWebhook)
class OutgoingWebhookAdmin(admin.ModelAdmin):
    form = OutgoingWebhookForm
    list_display = ["name", "tenant", "url", "is_enabled", "last_status", "last_sent_at", "total_sent", "total_failed", "consecutive_failures"]
    list_filter = ["is_enabled", "last_status", "signature_scheme", "retry_strategy"]
    list_select_related = ["tenant"]
    search_fields = ["name", "url", "=id"]
    readonly_fields = ["id", "has_secret", "last_sent_at", "last_status", "total_sent", "total_failed", "consecutive_failures", "created_at", "updated_at"]
    show_full_result_count = False

    @admin.display(boolean=True, description=_("secret set"))
    def has_secret(self, obj: OutgoingWebhook) -> bool:
        return obj.has_secret("signature_secret")


class OutgoingWebhookFilter(admin.SimpleListFilter):
    title = _("outgoing webhook")
    parameter_name = "webhook_id"

    def lookups(self, request, model_admin):
        return [(str(w.pk), f"{w.name} ({w.tenant_id})") for w in OutgoingWebhook.objects.only("pk", "name", "tenant_id").order_by("-created_at")[:100]]

    def has_output(self):
        # With no outgoing webhook there is no choice to offer, and Django would drop the filter
        # and its parameter: an incoming webhook's "logs" link would list every webhook's logs.
        return super().has_output() or self.value() is not None

    def queryset(self, request, queryset):
        return queryset.filter(webhook_id=self.value()) if self.value() else queryset


@admin.register(WebhookLog)
class WebhookLogAdmin(IndexedUUIDSearch, PlainActionCheckbox, admin.ModelAdmin):
    """Newest first across tenants: every filter walks an index in that order (WebhookLog.Meta.indexes)."""

    list_display = ["timestamp", "tenant", "direction", "webhook_type", "status", "event_type", "method", "short_url", "response_status", "attempt_label", "duration_ms", "next_retry_at"]
    list_filter = ["status", "direction", "webhook_type", ("timestamp", admin.DateFieldListFilter), OutgoingWebhookFilter]
    list_select_related = ["tenant"]
    uuid_search_fields = ("id", "delivery_id", "webhook_id")
    date_hierarchy = None
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    actions = ["retry_now", "replay", "reprocess"]
    _LARGE = ("body", "body_text", "response_body", "headers", "response_headers", "result")

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs.defer(*self._LARGE) if request.resolver_match and request.resolver_match.url_name.endswith("changelist") else qs

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in WebhookLog._meta.fields if f.name != "body_text"]

    def get_exclude(self, request, obj=None):
        return ["body_text"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("URL"))
    def short_url(self, obj: WebhookLog) -> str:
        return obj.url if len(obj.url) <= 60 else obj.url[:57] + "…"

    @admin.display(description=_("attempt"))
    def attempt_label(self, obj: WebhookLog) -> str:
        return f"{obj.attempt}/{obj.max_attempts}"

    def has_deliver_permission(self, request) -> bool:
        """Retry and replay send again: the right to change outgoing webhooks (as the dashboard's replay)."""
        return request.user.has_perm("webhooks.change_outgoingwebhook")

    def has_reprocess_permission(self, request) -> bool:
        return request.user.has_perm("webhooks.change_incomingwebhook")

    @admin.action(description=_("Retry now (sent attempts waiting for a retry)"), permissions=["deliver"])
    def retry_now(self, request, queryset):
        fired = 0
        for row in queryset.sent().filter(status=WebhookLog.Status.FAILED):
            if services.retry_fire(log_id=str(row.pk), tenant_id=str(row.tenant_id), force=True) is not None:
                fired += 1
        self.message_user(request, _("%(n)d retries started.") % {"n": fired}, messages.SUCCESS if fired else messages.WARNING)

    @admin.action(description=_("Replay (sent attempts: send again as a new attempt)"), permissions=["deliver"])
    def replay(self, request, queryset):
        done, refused = 0, 0
        for row in queryset.sent():
            try:
                services.log_replay(log=row)
                done += 1
            except services.ReplayRefused:
                refused += 1
        self.message_user(request, _("%(n)d replays queued, %(r)d refused.") % {"n": done, "r": refused})

    @admin.action(description=_("Reprocess (incoming: run the actions again)"), permissions=["reprocess"])
    def reprocess(self, request, queryset):
        done = 0
        for row in queryset.incoming_requests():
            incoming_services.incoming_reprocess(row)
            done += 1
        self.message_user(request, _("%(n)d requests reprocessed.") % {"n": done})
