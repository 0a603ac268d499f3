"""The integrations page (/integrations): the catalog by category, each provider's card, and
the card's actions as htmx partials (one card in, one card out).

- Connect: OAuth providers link to the API's connect URL (GET /api/integrations/connect/<id>),
  which redirects to the provider and sets the initiator-binding nonce cookie (C11);
  API-key / CalDAV providers post the catalog's credential fields here, and
  ``services.integration_connect_credentials`` (the API's own function) checks them with the
  real test call and saves them. The provider's refusal is put in words here, in the page's
  language; secrets are never rendered back (password inputs are always empty).
- Disconnect: ``services.integration_disconnect``, after a confirmation dialog.
- Members see the page without controls; their POSTs answer 403 (tenancy Membership.can_manage).
- Live: static/js/catalog.js asks for one card again when an ``integration.*`` event names its
  provider (static/js/live.js dispatches them on document.body).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.timesince import timesince
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from integrations import selectors, services
from integrations.models import Integration, ProviderApp
from integrations.oauth import app_config
from integrations.pages.common import MATURITY_LABELS, maturity_note, membership_for, message_for
from integrations.providers.catalog import PROVIDERS, Provider, providers_by_category
from integrations.providers.registry import adapter_for
from tenancy.models import Membership

WEBHOOK_BUILDER_URL = "/webhooks"

AUTH_KIND_LABELS = {
    "oauth2": _("Sign in with the provider (OAuth)"),
    "api_key": _("API key"),
    "caldav": _("CalDAV user name and password"),
    "webhook": _("Receives and sends events"),
}
SYNC_STATUS_LABELS = dict(Integration.SyncStatus.choices)

# clean_credentials' field problems (ConnectError.field_codes) in the page's own words; any
# other (an adapter's) is shown as the service said it, already in the request's language.
FIELD_MESSAGES = {
    "required": _("This field is required."),
    "url": _("Enter an address that starts with https:// (or http://)."),
    "string": _("This value is not valid."),
}


# ----------------------------------------------------------------------------- the page
@require_GET
def integrations_page(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    if isinstance(membership, HttpResponse):
        return membership
    kind, message = message_for(request)
    cards = _cards(membership)
    categories = providers_by_category()
    for category in categories:
        category["name"] = _pick(category["nameHe"], category["nameEn"])
        category["cards"] = [cards[p["id"]] for p in category["providers"]]
    return render(request, "integrations/index.html", {
        "tenant": membership.tenant,
        "categories": categories,
        "connected_count": sum(1 for c in cards.values() if c["integration"]),
        "can_manage": membership.can_manage,
        "message_kind": kind, "message": message,
    })


# ----------------------------------------------------------------------------- one card
@require_GET
def provider_card(request: HttpRequest, provider_id: str) -> HttpResponse:
    """The card as it is now (live refresh after an integration.* event)."""
    membership = _membership(request)
    if isinstance(membership, HttpResponse):
        return membership
    return _render_card(request, membership, _provider(provider_id))


@require_POST
def provider_connect(request: HttpRequest, provider_id: str) -> HttpResponse:
    """Connect an API-key / CalDAV provider with the posted credential fields."""
    membership = _manager(request)
    if isinstance(membership, HttpResponse):
        return membership
    provider = _provider(provider_id)
    if provider.auth_kind not in ("api_key", "caldav"):
        return _render_card(request, membership, provider, status=400,
                            error=gettext("%(name)s is not connected with a form.") % {"name": _name(provider)})
    raw = {key: value for key, value in request.POST.items() if key != "csrfmiddlewaretoken"}
    try:
        _integration, verified = services.integration_connect_credentials(
            tenant_id=membership.tenant_id, user_id=request.user.pk, provider_id=provider.id, credentials=raw,
        )
    except services.ConnectError as exc:
        secret = {f.name for f in provider.credential_fields if f.kind == "password"}
        kept = {k: v for k, v in raw.items() if k not in secret and isinstance(v, str)}
        return _render_card(request, membership, provider, status=exc.http_status, form_open=True,
                            error=connect_error_words(exc, provider), field_errors=_field_errors(exc),
                            values=kept)
    announce = (gettext("Connected to %(name)s.") if verified else
                gettext("Connected to %(name)s; it offers no call to check the details, so the first sync will."))
    return _render_card(request, membership, provider, announce=announce % {"name": _name(provider)})


@require_POST
def provider_disconnect(request: HttpRequest, provider_id: str) -> HttpResponse:
    membership = _manager(request)
    if isinstance(membership, HttpResponse):
        return membership
    provider = _provider(provider_id)
    integration = selectors.integration_list(tenant_id=membership.tenant_id).filter(provider=provider.id).first()
    if integration is None:
        raise Http404
    services.integration_disconnect(integration=integration)
    return _render_card(request, membership, provider,
                        announce=gettext("%(name)s was disconnected.") % {"name": _name(provider)})


urlpatterns = [
    path("integrations/providers/<str:provider_id>/card", provider_card, name="integrations-provider-card"),
    path("integrations/providers/<str:provider_id>/connect", provider_connect, name="integrations-provider-connect"),
    path("integrations/providers/<str:provider_id>/disconnect", provider_disconnect,
         name="integrations-provider-disconnect"),
]


# ----------------------------------------------------------------------------- words
def connect_error_words(exc: services.ConnectError, provider: Provider) -> str:
    """Why a connect failed, in the page's language, from the service's code and the
    provider's answer (status / kind); never the provider's text, which may quote a secret."""
    name, status = _name(provider), exc.provider_status
    words = {"name": name, "status": status}
    if exc.code == "invalid":
        return gettext("Some details are missing or not valid: see the marked fields.")
    if exc.code == "invalid_credentials":
        if status in (401, 403):
            return gettext("%(name)s refused these details (HTTP %(status)s): the key, user name or password is "
                           "wrong or has no access. Copy them again from %(name)s and try again.") % words
        if status == 404:
            return gettext("%(name)s did not find this account (HTTP 404): check the account identifiers and "
                           "the server address.") % words
        if status:
            return gettext("%(name)s did not accept these details (HTTP %(status)s).") % words
        if exc.provider_kind == "refused":
            return gettext("The hub does not call this server address (a private or blocked address).")
        return gettext("The connection details are incomplete or the server address is not valid.")
    if exc.code == "provider_unavailable":
        if exc.provider_kind == "network":
            return gettext("%(name)s could not be reached (no answer in time). Try again in a few minutes.") % words
        if exc.provider_kind == "rate_limited":
            return gettext("%(name)s is limiting requests right now. Try again in a minute.") % words
        if status:
            return gettext("%(name)s answered with an error of its own (HTTP %(status)s). Try again later.") % words
        return gettext("%(name)s could not check these details right now. Try again later.") % words
    return gettext("The connection could not be made.")


def _field_errors(exc: services.ConnectError) -> dict[str, str]:
    problems = ((exc.fields or {}).get("credentials") or {})
    if not isinstance(problems, dict):
        return {}
    out = {}
    for name, messages in problems.items():
        code = exc.field_codes.get(name)
        if code == "too_long":
            out[name] = gettext("At most %(count)s characters.") % {"count": services.MAX_CREDENTIAL_LENGTH}
        elif code in FIELD_MESSAGES:
            out[name] = str(FIELD_MESSAGES[code])
        else:
            out[name] = str(messages[0]) if messages else str(_("This value is not valid."))
    return out


def relative_time(moment: datetime | None) -> str | None:
    """"3 minutes ago" in the active language (Django's own translated units)."""
    if moment is None:
        return None
    if timezone.now() - moment < timedelta(minutes=1):
        return gettext("just now")
    return gettext("%(time)s ago") % {"time": timesince(moment, depth=1)}


# ----------------------------------------------------------------------------- cards
def _render_card(request: HttpRequest, membership: Membership, provider: Provider, *, status: int = 200,
                 **state: Any) -> HttpResponse:
    integrations = {i.provider: i for i in selectors.integration_list(tenant_id=membership.tenant_id)}
    card = _card(provider, integrations.get(provider.id), membership, **state)
    return render(request, "integrations/catalog/card_response.html", {
        "card": card, "can_manage": membership.can_manage, "connected_count": len(integrations),
    }, status=status)


def _cards(membership: Membership) -> dict[str, dict[str, Any]]:
    integrations = {i.provider: i for i in selectors.integration_list(tenant_id=membership.tenant_id)}
    return {pid: _card(p, integrations.get(pid), membership) for pid, p in PROVIDERS.items()}


def _card(provider: Provider, integration: Integration | None, membership: Membership, *, form_open: bool = False,
          error: str | None = None, field_errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
          announce: str | None = None) -> dict[str, Any]:
    status = integration.status if integration else Integration.Status.DISCONNECTED
    field_errors, values = field_errors or {}, values or {}
    card = {
        "id": provider.id,
        "name": _name(provider),
        "description": _pick(provider.description_he, provider.description_en),
        "logo": provider.logo,
        "auth_kind": provider.auth_kind,
        "auth_label": AUTH_KIND_LABELS[provider.auth_kind],
        "maturity_label": MATURITY_LABELS.get(provider.maturity),
        "maturity_note": maturity_note(provider),
        "integration": integration,
        "status": status,
        "status_label": Integration.Status(status).label,
        "last_sync": _moment(integration.last_sync_at) if integration else None,
        "last_sync_status": SYNC_STATUS_LABELS.get(integration.last_sync_status) if integration else None,
        "form_open": form_open,
        "error": error,
        "announce": announce,
        "webhook_builder_url": WEBHOOK_BUILDER_URL,
        "oauth_configured": None,
        "configure_url": None,
        "fields": [],
        "verifiable": adapter_for(provider).can_test_connection,
    }
    if provider.auth_kind == "oauth2" and integration is None:
        app = ProviderApp.objects.filter(provider=provider.id).first()
        card["oauth_configured"] = bool(app_config(provider).client_id)
        if membership.can_manage and not card["oauth_configured"]:
            card["configure_url"] = (reverse("admin:integrations_providerapp_change", args=[app.pk]) if app
                                     else reverse("admin:integrations_providerapp_add") + f"?provider={provider.id}")
    if provider.auth_kind in ("api_key", "caldav"):
        card["fields"] = [{
            "name": f.name,
            "id": f"cred-{provider.id}-{f.name}",
            "label": _pick(f.label_he, f.label_en),
            "help": gettext(f.help_en) if f.help_en else "",
            "type": {"password": "password", "url": "url"}.get(f.kind, "text"),
            "secret": f.kind == "password",
            "required": f.required,
            "value": "" if f.kind == "password" else values.get(f.name, f.default or ""),
            "error": field_errors.get(f.name),
        } for f in provider.credential_fields]
    return card


def _moment(moment: datetime | None) -> dict[str, str] | None:
    if moment is None:
        return None
    local = timezone.localtime(moment)
    return {"iso": moment.isoformat(), "relative": relative_time(moment),
            "full": date_format(local, "DATETIME_FORMAT")}


# ----------------------------------------------------------------------------- helpers
def _membership(request: HttpRequest) -> Membership | HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())  # settings.LOGIN_URL: /login
    membership = membership_for(request)
    if membership is None:
        raise Http404
    return membership


def _manager(request: HttpRequest) -> Membership | HttpResponse:
    """The caller's membership if it may change integrations; 403 for a member or a visitor."""
    if not request.user.is_authenticated:
        return HttpResponseForbidden(gettext("Sign in to change integrations."))
    membership = _membership(request)
    if isinstance(membership, HttpResponse):
        return membership
    if not membership.can_manage:
        return HttpResponseForbidden(gettext("Only the studio's owners and admins can change integrations."))
    return membership


def _provider(provider_id: str) -> Provider:
    provider = PROVIDERS.get(provider_id)
    if provider is None:
        raise Http404
    return provider


def _pick(hebrew: str, english: str) -> str:
    return english if translation.get_language() == "en" else hebrew


def _name(provider: Provider) -> str:
    return _pick(provider.name_he, provider.name_en)
