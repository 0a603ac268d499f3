"""The back office: provider apps and integrations. Secrets are write-only here:
the client secret is a password input that is never filled back, tokens and API keys
have no field at all. Actions call the same services as the API."""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from core.admin_logs import CappedCountPaginator, IndexedUUIDSearch, PlainActionCheckbox
from core.tenant_context import tenant_scope
from core.words import say
from integrations import services
from integrations.models import (
    CurrencyRate,
    ExternalLink,
    Integration,
    IntegrationLog,
    ProviderApp,
    PushChannel,
    SyncState,
)
from integrations.oauth import redirect_uri
from integrations.providers.catalog import PROVIDERS
from integrations.tokens import TokenUnavailable


def provider_name(provider_id: str) -> str:
    """A provider's catalog name in the admin's language (Hebrew unless English); its id when the
    catalog no longer has it."""
    provider = PROVIDERS.get(provider_id)
    if provider is None:
        return provider_id
    return provider.display_name


def _provider_choices() -> list[tuple[str, str]]:
    return sorted(((p.id, f"{provider_name(p.id)} ({p.id})") for p in PROVIDERS.values()), key=lambda c: c[1].lower())


class ProviderFilter(admin.SimpleListFilter):
    """By provider, named as the catalog names it; the parameter stays the one the field's own
    filter used (``?provider__exact=<id>``), so links made before still filter."""

    title = _("provider")
    parameter_name = "provider__exact"

    def lookups(self, request, model_admin):
        used = set(model_admin.get_queryset(request).order_by().values_list("provider", flat=True).distinct())
        return sorted(((p, provider_name(p)) for p in used), key=lambda c: str(c[1]).lower())

    def queryset(self, request, queryset):
        return queryset.filter(provider=self.value()) if self.value() else queryset


class ProviderNameColumn:
    """The ``provider_label`` column and read-only field: the catalog name, sorted by the id."""

    @admin.display(description=_("provider"), ordering="provider")
    def provider_label(self, obj) -> str:
        return provider_name(obj.provider) if obj and obj.provider else "-"


class ProviderAppForm(forms.ModelForm):
    provider = forms.ChoiceField(choices=_provider_choices, label=_("provider"))
    client_secret = forms.CharField(
        label=_("Client secret"), required=False, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Write-only. Leave empty to keep the stored secret."),
    )
    clear_client_secret = forms.BooleanField(label=_("Clear the stored secret"), required=False)
    authorization_url = forms.URLField(max_length=500, required=False, assume_scheme="https")
    token_url = forms.URLField(max_length=500, required=False, assume_scheme="https")
    revoke_url = forms.URLField(max_length=500, required=False, assume_scheme="https")
    api_base_url = forms.URLField(max_length=500, required=False, assume_scheme="https",
                                  help_text=_("Replaces the provider's API origin in every call."))

    class Meta:
        model = ProviderApp
        fields = ["provider", "client_id", "authorization_url", "token_url", "revoke_url", "api_base_url", "scopes"]

    def save(self, commit=True):
        app = super().save(commit=False)
        if self.cleaned_data.get("clear_client_secret"):
            app.set_secret("client_secret_encrypted", None)
        elif self.cleaned_data.get("client_secret"):
            app.set_secret("client_secret_encrypted", self.cleaned_data["client_secret"])
        if commit:
            app.save()
        return app


@admin.register(ProviderApp)
class ProviderAppAdmin(ProviderNameColumn, admin.ModelAdmin):
    form = ProviderAppForm
    list_display = ["provider_label", "client_id", "secret_set", "api_base_url", "updated_at"]
    readonly_fields = ["redirect_uri_to_register", "secret_set"]
    search_fields = ["provider", "client_id"]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The page's title names the provider as the catalog does (the row's str() is its id)."""
        app = self.get_object(request, object_id)
        if app is not None:
            extra_context = {"subtitle": provider_name(app.provider), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(boolean=True, description=_("secret set"))
    def secret_set(self, obj: ProviderApp) -> bool:
        return obj.has_secret("client_secret_encrypted")

    @admin.display(description=_("redirect URI to register"))
    def redirect_uri_to_register(self, obj: ProviderApp) -> str:
        return redirect_uri(obj.provider) if obj and obj.provider else "-"


class IntegrationColumn:
    """The ``integration_label`` column of the sync bookkeeping lists (and field of their detail
    pages): the integration's name and its provider as the catalog names it in the admin's
    language (``Integration.__str__`` shows the provider's id, which stays as it is for every
    other reader)."""

    @admin.display(description=_("integration"), ordering="integration__name")
    def integration_label(self, obj) -> str:
        integration = obj.integration
        return f"{integration.name} ({provider_name(integration.provider)})"

    # The detail page shows the same label in the integration field's place; the integration
    # is read with the row (the page renders after the view's operator scope has ended).
    def get_queryset(self, request):
        return super().get_queryset(request).select_related("integration")

    def get_fields(self, request, obj=None):
        return _integration_labelled(super().get_fields(request, obj))

    def get_readonly_fields(self, request, obj=None):
        return _integration_labelled(super().get_readonly_fields(request, obj))


def _integration_labelled(names) -> list[str]:
    labelled = ["integration_label" if name == "integration" else name for name in names]
    return list(dict.fromkeys(labelled))


class IntegrationLogInline(admin.TabularInline):
    model = IntegrationLog
    fields = ["started_at", "action", "status", "error_code", "error_message", "duration_ms"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-started_at"]
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).defer("request_snapshot", "response_snapshot")


@admin.register(Integration)
class IntegrationAdmin(ProviderNameColumn, admin.ModelAdmin):
    list_display = ["name", "provider_label", "tenant", "status", "last_sync_at", "last_sync_status", "token_expires_at"]
    list_filter = ["status", ProviderFilter]
    list_select_related = ["tenant"]
    search_fields = ["name", "provider", "tenant__name"]
    fields = ["tenant", "provider_label", "name", "description", "status", "scopes", "connection_config",
              "token_expires_at", "last_refresh_at", "refresh_failures", "last_sync_at", "last_sync_status",
              "last_error", "total_syncs", "sync_settings", "settings", "conflict_policy", "connected_by", "created_at", "updated_at", "secrets"]
    readonly_fields = [f for f in fields if f not in ("name", "description")]
    inlines = [IntegrationLogInline]
    actions = ["action_test", "action_refresh", "action_disconnect"]

    def has_add_permission(self, request):
        return False  # integrations are created by connecting, never by hand

    def has_delete_permission(self, request, obj=None):
        return False  # use the disconnect action (revokes at the provider first)

    @admin.display(description=_("secrets"))
    def secrets(self, obj: Integration) -> str:
        parts = []
        if obj.has_secret("oauth_encrypted"):
            parts.append(str(_("OAuth tokens (encrypted)")))
        if obj.has_secret("api_key_encrypted"):
            parts.append(str(_("API credentials (encrypted)")))
        return ", ".join(parts) or "-"

    @admin.action(description=_("Test connection"), permissions=["change"])
    def action_test(self, request, queryset):
        for integration in queryset:
            with tenant_scope(integration.tenant_id):
                result = services.integration_test(integration=integration)
            level = messages.SUCCESS if result.ok else messages.ERROR
            self.message_user(request, f"{integration}: {say(result.words) or result.message}", level)

    @admin.action(description=_("Refresh token"), permissions=["change"])
    def action_refresh(self, request, queryset):
        for integration in queryset:
            if not integration.has_secret("oauth_encrypted"):
                self.message_user(request, f"{integration}: {_('no OAuth token')}", messages.WARNING)
                continue
            try:
                with tenant_scope(integration.tenant_id):
                    services.integration_refresh(integration=integration)
            except TokenUnavailable as exc:
                self.message_user(request, f"{integration}: {exc.in_words()}", messages.ERROR)
            else:
                self.message_user(request, f"{integration}: {_('refreshed')}", messages.SUCCESS)

    @admin.action(description=_("Disconnect (revoke and delete)"), permissions=["change"])
    def action_disconnect(self, request, queryset):
        for integration in list(queryset):
            with tenant_scope(integration.tenant_id):
                services.integration_disconnect(integration=integration, reason="operator_disconnected")
            self.message_user(request, f"{integration}: {_('disconnected')}", messages.SUCCESS)


@admin.register(IntegrationLog)
class IntegrationLogAdmin(IntegrationColumn, IndexedUUIDSearch, PlainActionCheckbox, admin.ModelAdmin):
    """Newest first across tenants: every filter walks an index in that order (IntegrationLog.Meta.indexes)."""

    list_display = ["started_at", "integration_label", "action", "status", "error_code", "duration_ms"]
    list_filter = ["action", "status", ("started_at", admin.DateFieldListFilter)]
    list_select_related = ["integration"]
    uuid_search_fields = ("id", "integration_id")
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    readonly_fields = [f.name for f in IntegrationLog._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Sync bookkeeping is written by the sync engine only; operators look, never edit."""

    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SyncState)
class SyncStateAdmin(IntegrationColumn, ReadOnlyAdmin):
    list_display = ["integration_label", "local_type", "remote_type", "remote_container", "last_run_at",
                    "last_full_sync_at"]
    list_filter = ["local_type", "remote_type"]
    list_select_related = ["integration"]
    search_fields = ["integration__name", "remote_container"]


@admin.register(ExternalLink)
class ExternalLinkAdmin(IntegrationColumn, ReadOnlyAdmin):
    list_display = ["integration_label", "local_type", "local_id", "remote_type", "remote_id", "remote_version",
                    "updated_at"]
    list_filter = ["local_type", "remote_type"]
    list_select_related = ["integration"]
    search_fields = ["=remote_id"]  # exact: an id is pasted whole, never searched by part

    def get_queryset(self, request):
        return super().get_queryset(request).defer("last_synced")


@admin.register(PushChannel)
class PushChannelAdmin(IntegrationColumn, ReadOnlyAdmin):
    """Realtime import's push registrations (the secret token is never shown)."""

    list_display = ["integration_label", "kind", "container", "expires_at", "renewed_at", "last_notified_at",
                    "rerun_requested"]
    list_filter = ["kind"]
    list_select_related = ["integration"]
    search_fields = ["=channel_id"]
    exclude = ["token_encrypted"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "token_encrypted"]


class CurrencyRateForm(forms.ModelForm):
    class Meta:
        model = CurrencyRate
        fields = ["base", "quote", "rate", "valid_on", "source"]
        help_texts = {
            "base": _("ISO 4217 code, e.g. USD."),
            "quote": _("ISO 4217 code, e.g. ILS."),
            "rate": _("How many quote units one base unit buys (USD -> ILS: 3.65)."),
            "valid_on": _("Used for records dated on or after this day, until a newer rate."),
        }

    def _code(self, name: str) -> str:
        code = (self.cleaned_data.get(name) or "").strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise forms.ValidationError(_("Enter a three-letter ISO 4217 code."))
        return code

    def clean_base(self):
        return self._code("base")

    def clean_quote(self):
        return self._code("quote")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("base") and cleaned.get("base") == cleaned.get("quote"):
            self.add_error("quote", _("The quote currency must differ from the base currency."))
        rate = cleaned.get("rate")
        if rate is not None and rate <= 0:
            self.add_error("rate", _("The rate must be greater than zero."))
        return cleaned


@admin.register(CurrencyRate)
class CurrencyRateAdmin(admin.ModelAdmin):
    """Rates for the currency_convert transform (deployment-wide, no tenant): operators keep them;
    a conversion uses the newest rate valid on or before the record's date and never calls out."""

    form = CurrencyRateForm
    list_display = ["base", "quote", "rate", "valid_on", "source", "created_at"]
    list_filter = ["base", "quote"]
    search_fields = ["=base", "=quote", "source"]
    date_hierarchy = "valid_on"
    ordering = ["base", "quote", "-valid_on"]

