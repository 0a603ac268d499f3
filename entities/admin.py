from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from entities.models import (
    Client,
    Document,
    EntityEvent,
    Expense,
    Meeting,
    Message,
    Payment,
    Supplier,
    Task,
    event_source_label,
)


class EntityAdmin(admin.ModelAdmin):
    list_select_related = ["tenant"]
    readonly_fields = ["id", "created_at", "updated_at"]
    list_filter = ["tenant"]


@admin.register(Meeting)
class MeetingAdmin(EntityAdmin):
    list_display = ["title", "tenant", "start_time", "end_time", "status"]
    search_fields = ["title", "location"]


@admin.register(Task)
class TaskAdmin(EntityAdmin):
    list_display = ["title", "tenant", "status", "priority", "due_date"]
    search_fields = ["title"]


@admin.register(Document)
class DocumentAdmin(EntityAdmin):
    list_display = ["name", "tenant", "status", "mime_type"]
    search_fields = ["name"]


@admin.register(Payment)
class PaymentAdmin(EntityAdmin):
    list_display = ["id", "tenant", "amount", "currency", "status", "due_date", "invoiced"]
    list_filter = ["tenant", "status", "invoiced"]


@admin.register(Expense)
class ExpenseAdmin(EntityAdmin):
    list_display = ["id", "tenant", "amount", "currency", "status", "category"]
    list_filter = ["tenant", "status"]


@admin.register(Client)
class ClientAdmin(EntityAdmin):
    list_display = ["name", "tenant", "email", "phone", "status"]
    search_fields = ["name", "email"]


@admin.register(Supplier)
class SupplierAdmin(EntityAdmin):
    list_display = ["name", "tenant", "email", "category"]
    search_fields = ["name", "email"]


@admin.register(Message)
class MessageAdmin(EntityAdmin):
    list_display = ["created_at", "tenant", "channel", "direction", "to_address", "status"]
    list_filter = ["tenant", "channel", "direction", "status"]
    search_fields = ["to_address", "from_address"]


@admin.register(EntityEvent)
class EntityEventAdmin(admin.ModelAdmin):
    """Read-only outbox view; 're-dispatch' hands stuck events back to the worker, and
    events given up after OUTBOX_MAX_ATTEMPTS failed runs back from the start."""

    list_display = ["created_at", "tenant", "entity_type", "event", "source_label", "entity_id", "processed_at",
                    "enqueue_count", "attempts", "retry_at", "failed_at", "last_error"]
    list_filter = ["entity_type", "event", ("processed_at", admin.EmptyFieldListFilter),
                   ("failed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["tenant"]
    search_fields = ["entity_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["redispatch"]
    readonly_fields = ["source_label"]

    def get_fields(self, request, obj=None):
        """The stored ``source`` shown by its words, in its own place."""
        fields = [f for f in super().get_fields(request, obj) if f != "source_label"]
        return ["source_label" if f == "source" else f for f in fields]

    @admin.display(description=_("source"), ordering="source")
    def source_label(self, obj: EntityEvent) -> str:
        label, integration_id = event_source_label(obj.source)
        if integration_id is None:
            return label
        try:
            url = reverse("admin:integrations_integration_change", args=[integration_id])
        except NoReverseMatch:
            return label
        return format_html('<a href="{}">{}</a>', url, label)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_redispatch_permission(self, request) -> bool:
        """The rows stay read-only (has_change_permission), but the change permission allows re-dispatching."""
        return request.user.has_perm("entities.change_entityevent")

    @admin.action(description=_("Re-dispatch selected events"), permissions=["redispatch"])
    def redispatch(self, request, queryset):
        from entities.events import redispatch

        sent = redispatch(queryset)
        self.message_user(request, _("%(count)d event(s) re-dispatched.") % {"count": sent})
