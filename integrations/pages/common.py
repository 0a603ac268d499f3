"""What the studio pages share: the signed-in membership and the callback messages.
Server-rendered pages (Hebrew first, right-to-left). Session login; the tenant is the user's
membership (``?tenant=<id>`` picks one when the user belongs to several). The pages change
nothing themselves: their buttons call the API, which enforces the roles (C11); a member
is not offered them."""

from __future__ import annotations

import re

from django.http import HttpRequest
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from integrations.providers.catalog import PROVIDERS, Provider
from tenancy.models import Membership
from tenancy.selectors import TenantChoiceError, membership_choose

# The callback redirects with ?error=<code>: each code has a fixed, readable message
# (nothing from the query string is echoed back).
CALLBACK_MESSAGES = {
    "access_denied": _("The connection was cancelled at the provider: access was not granted."),
    "consent_required": _("The provider requires consent that was not given."),
    "invalid_scope": _("The provider refused the requested permissions."),
    "provider_error": _("The provider reported an error during authorization. Please try again."),
    "invalid_state": _("This connection link is invalid or was already used. Please start again."),
    "expired_state": _("The connection attempt expired (10 minutes). Please start again."),
    "browser_mismatch": _(
        "This connection was started in another browser (or its cookie is missing), so it was refused. "
        "Start the connection again from this browser."
    ),
    "insecure_transport": _(
        "The provider's OAuth endpoints are not https. For a local or test server only, "
        "start the hub with OAUTHLIB_INSECURE_TRANSPORT=1."
    ),
    "missing_code": _("The provider did not return an authorization code. Please try again."),
    "exchange_failed": _("The provider did not accept the authorization code. Please try again."),
    "unknown_provider": _("Unknown provider."),
}


# The catalog's maturity: the badge of a provider that is not ``stable``, and its note.
MATURITY_LABELS = {"limited": _("Partial support"), "experimental": _("Experimental")}
_CODE = re.compile(r"`([^`]+)`")


def maturity_note(provider: Provider) -> SafeString | None:
    """What is not verified about a ``limited`` / ``experimental`` provider, in the page's
    language, as HTML (None for a stable one).

    The note is the catalog's English ``maturity_note``, translated like the credential fields'
    help (its Hebrew is in integrations/locale); identifiers in it (API calls, field names,
    headers) are written between backticks in the translation and shown as left-to-right
    ``<code>``, so product and field names keep their Latin spelling inside Hebrew prose."""
    if provider.maturity == "stable" or not provider.maturity_note:
        return None
    parts = _CODE.split(gettext(provider.maturity_note))
    return mark_safe("".join(  # noqa: S308 - every part is escaped
        f'<code dir="ltr">{escape(part)}</code>' if i % 2 else escape(part) for i, part in enumerate(parts)))


def provider_display_name(provider: Provider) -> str:
    """The provider's catalog name in the page's language (Hebrew unless English)."""
    return provider.display_name


def membership_for(request: HttpRequest) -> Membership | None:
    try:
        return membership_choose(user=request.user, wanted=request.GET.get("tenant"), first_if_many=True)
    except TenantChoiceError:
        return None


def message_for(request: HttpRequest) -> tuple[str | None, str | None]:
    error = request.GET.get("error")
    if error:
        return "error", str(CALLBACK_MESSAGES.get(error, CALLBACK_MESSAGES["provider_error"]))
    connected = request.GET.get("connected")
    if connected in PROVIDERS:
        return "success", str(_("Connected to %(name)s.") % {"name": provider_display_name(PROVIDERS[connected])})
    return None, None
