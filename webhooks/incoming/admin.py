"""Back office for incoming webhooks (the WebhookLog admin, with "reprocess", is shared)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from webhooks.incoming import selectors, services
from webhooks.incoming.models import AutomationRun
from webhooks.models import IncomingWebhook


@admin.register(IncomingWebhook)
class IncomingWebhookAdmin(admin.ModelAdmin):
    list_display = ("name", "tenant", "verification_scheme", "is_enabled", "total_received", "last_received_at", "logs")
    list_filter = ("is_enabled", "verification_scheme")
    list_select_related = ("tenant",)
    search_fields = ("name", "id")
    exclude = ("secret", "previous_secret")
    readonly_fields = ("id", "tenant", "url", "total_received", "last_received_at", "previous_secret_expires_at",
                       "created_at", "updated_at", "logs")
    actions = ["rotate_secret", "reprocess_failed"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False  # created by tenants through the API (the secret is shown to them once)

    @admin.display(description=_("logs"))
    def logs(self, obj: IncomingWebhook) -> str:
        url = reverse("admin:webhooks_webhooklog_changelist") + f"?webhook_id={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _g("logs"))

    @admin.action(description=_("Rotate the secret (old one valid for the grace period)"), permissions=["change"])
    def rotate_secret(self, request, queryset) -> TemplateResponse:
        """Answer with a page holding the new secrets, shown this once: the API never shows a
        secret again after create/rotate, and a message would keep it in the session or a cookie."""
        rotated = [services.incoming_rotate_secret(webhook=webhook) for webhook in queryset.select_related("tenant")]
        response = TemplateResponse(request, "admin/webhooks/incomingwebhook/rotated_secrets.html", {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _g("New secrets"),
            "rotated": rotated,
            "changelist_url": reverse("admin:webhooks_incomingwebhook_changelist"),
        })
        add_never_cache_headers(response)
        return response

    @admin.action(description=_("Reprocess failed requests of the last 24 h"), permissions=["change"])
    def reprocess_failed(self, request, queryset) -> None:
        done = 0
        for webhook in queryset:
            for log in selectors.recent_failed_requests(webhook=webhook, hours=24, limit=200):
                services.incoming_reprocess(log)
                done += 1
        self.message_user(request, ngettext("Reprocessed %(count)d request.", "Reprocessed %(count)d requests.", done)
                          % {"count": done}, messages.INFO)


@admin.register(AutomationRun)
class AutomationRunAdmin(admin.ModelAdmin):
    list_display = ("automation_id", "tenant", "status", "started_at", "duration_ms", "webhook_log_id")
    list_filter = ("status",)
    list_select_related = ("tenant",)
    search_fields = ("automation_id", "webhook_log_id")
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
