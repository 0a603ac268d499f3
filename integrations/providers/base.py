"""The types of a provider's catalog entry, and the small helpers entries share.

Everything the hub needs to know about a provider *before* it talks to it is
frozen data: category, display names (Hebrew first), logo, how a tenant
authenticates, OAuth endpoints/scopes/quirks, the API origin and a cheap
"who am I" call, the published (or, when nothing is published, a conservative
hub-chosen) rate limit, how incoming webhooks are verified, and which local
entity types map to which remote objects. Each provider's entry lives in its own
folder (``<provider_id>/entry.py``); how it *talks* to the provider is its
adapter (``<provider_id>/adapter.py``, see :mod:`integrations.providers.adapter`).

The catalog holds no client ids or secrets: those are per-deployment and are
stored with ``python manage.py set_provider_app`` (DESIGN.md §4 C2).

Conventions used by the entries:

* ``api_base_url`` and ``test_endpoint`` may contain ``{placeholders}``; they
  are filled from the connection's configuration: a credential field of the
  same name (``{accountSid}``, ``{serverUrl}``), an OAuth callback parameter
  (QuickBooks ``{realmId}``), or a value derived at connect time (Mailchimp
  ``{dc}``, the datacenter suffix of the key or of the OAuth metadata call).
* ``auth_kind`` decides the connect flow (redirect for ``oauth2``; POSTed
  credentials for ``api_key``/``caldav``; nothing for ``webhook``). An
  ``oauth`` config on a provider whose ``auth_kind`` is not ``oauth2``
  describes an *optional alternative* (Stripe Connect, Mailchimp OAuth) that
  the hub does not use by default.
* ``webhook_scheme``: ``None`` means the hub does not accept incoming events
  from the provider (none exist, or they are not wired yet); ``"none"`` means
  the provider delivers events **unsigned** -- authenticate them with a shared
  token / secret URL named in the notes and re-read the object through the API
  before trusting it. A scheme of the provider's own is a
  :class:`core.signatures.Scheme` in its folder (``<provider_id>/verification.py``,
  exported as ``SCHEME``); the generic ones (``hmac``, ``standard``, ``none``) are
  ``webhooks.verification``'s. webhooks sits above integrations (it reads the
  catalog, never the reverse), so the check is there: the hub refuses to start
  when a provider names a scheme without a verifier
  (``webhooks.apps.check_verifiers``).
* Facts the research could not confirm carry the word ``VERIFY`` in the notes.
  Sources: /work/shared/reference/providers.md and oauth-sync.md (each fact
  there cites the provider's public documentation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

AuthKind = Literal["oauth2", "api_key", "caldav", "webhook"]
TokenAuthMethod = Literal["client_secret_post", "client_secret_basic"]
RevokeAuth = Literal["rfc7009", "bearer"]
Maturity = Literal["stable", "limited", "experimental"]

FieldKind = Literal["text", "password", "url"]

AUTH_KINDS: tuple[str, ...] = ("oauth2", "api_key", "caldav", "webhook")
MATURITIES: tuple[str, ...] = ("stable", "limited", "experimental")
TOKEN_AUTH_METHODS: tuple[str, ...] = ("client_secret_post", "client_secret_basic")
# The platform's entity types (DESIGN.md §4 C4); sync pairs may only name these.
LOCAL_ENTITY_TYPES: tuple[str, ...] = (
    "meeting",
    "task",
    "document",
    "payment",
    "expense",
    "client",
    "supplier",
    "message",
)
# The seed's SyncDirection values.
SYNC_DIRECTIONS: tuple[str, ...] = ("import", "export", "bidirectional")


class UnknownProvider(ValueError):
    """Raised by :func:`get_provider` for an id that is not in the catalog."""


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` calls per ``per_seconds`` for one connection.

    ``source`` says where the number comes from; "hub default" means the
    provider publishes no number and the hub picked a conservative one.
    """

    requests: int
    per_seconds: int
    source: str

    def __post_init__(self) -> None:
        if self.requests <= 0 or self.per_seconds <= 0:
            raise ValueError(f"rate limit must be positive: {self!r}")


@dataclass(frozen=True, kw_only=True)
class OAuthConfig:
    authorization_url: str
    token_url: str
    revoke_url: str | None
    default_scopes: tuple[str, ...]
    scope_separator: str
    pkce: bool
    # Extra query parameters for the authorization redirect (read-only mapping).
    extra_authorize_params: Mapping[str, str] = field(default_factory=dict)
    token_auth_method: TokenAuthMethod
    # True when a refresh may return a new refresh token that replaces the old one.
    refresh_rotates: bool
    # Query parameters of the callback, besides code/state, to keep on the connection.
    callback_params: tuple[str, ...] = ()
    # Non-secret fields of the token response to keep on the connection (Dropbox ``account_id``:
    # its app webhook names accounts, integrations.sync.app_push finds the integration by it).
    token_params: tuple[str, ...] = ()
    # Only when refreshing uses a different endpoint from ``token_url``.
    refresh_url: str | None = None
    # How the revoke call authenticates: ``rfc7009`` (form with token + client authentication) or
    # ``bearer`` (the access token as bearer, no body -- Dropbox).
    revoke_auth: RevokeAuth = "rfc7009"
    notes: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "extra_authorize_params", MappingProxyType(dict(self.extra_authorize_params))
        )
        if self.token_auth_method not in TOKEN_AUTH_METHODS:
            raise ValueError(f"unknown token_auth_method {self.token_auth_method!r}")
        if self.revoke_auth not in ("rfc7009", "bearer"):
            raise ValueError(f"unknown revoke_auth {self.revoke_auth!r}")

    def scope_string(self, scopes: tuple[str, ...] | list[str] | None = None) -> str:
        """The ``scope`` parameter value, joined the way this provider expects."""
        return self.scope_separator.join(self.default_scopes if scopes is None else scopes)


@dataclass(frozen=True, kw_only=True)
class CredentialField:
    """One input of the connect form for api_key / caldav providers."""

    name: str  # camelCase key, also the {placeholder} name in URLs
    label_he: str
    label_en: str
    kind: FieldKind = "text"
    required: bool = True
    default: str | None = None
    help_en: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "labelHe": self.label_he,
            "labelEn": self.label_en,
            "kind": self.kind,
            "required": self.required,
            "default": self.default,
            "helpEn": self.help_en,
        }


@dataclass(frozen=True)
class EntityPair:
    """A local entity type and the remote object it syncs with."""

    local: str
    remote: str
    directions: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.local not in LOCAL_ENTITY_TYPES:
            raise ValueError(f"unknown local entity type {self.local!r}")
        if not self.directions or set(self.directions) - set(SYNC_DIRECTIONS):
            raise ValueError(f"bad directions {self.directions!r} for {self.local}->{self.remote}")


@dataclass(frozen=True, kw_only=True)
class Provider:
    id: str
    category: str
    name_he: str
    name_en: str
    description_he: str
    description_en: str
    logo: str
    auth_kind: AuthKind
    oauth: OAuthConfig | None
    api_base_url: str
    test_endpoint: tuple[str, str] | None
    credential_fields: tuple[CredentialField, ...]
    rate_limit: RateLimit
    webhook_scheme: str | None
    entity_pairs: tuple[EntityPair, ...]
    docs_url: str
    maturity: Maturity
    maturity_note: str = ""
    notes: str = ""

    @property
    def display_name(self) -> str:
        """The catalog name in the active language: English when it is English, else Hebrew."""
        from django.utils.translation import get_language

        return self.name_en if (get_language() or "").startswith("en") else self.name_he

    def __post_init__(self) -> None:
        problems = []
        if self.category not in CATEGORY_IDS:
            problems.append(f"unknown category {self.category!r}")
        if self.auth_kind not in AUTH_KINDS:
            problems.append(f"unknown auth_kind {self.auth_kind!r}")
        if self.auth_kind == "oauth2" and self.oauth is None:
            problems.append("oauth2 provider without an OAuthConfig")
        if self.auth_kind in ("api_key", "caldav") and not self.credential_fields:
            problems.append(f"{self.auth_kind} provider without credential fields")
        if self.maturity not in MATURITIES:
            problems.append(f"unknown maturity {self.maturity!r}")
        if self.maturity != "stable" and not self.maturity_note:
            problems.append("a non-stable provider must explain itself in maturity_note")
        if problems:
            raise ValueError(f"provider {self.id}: " + "; ".join(problems))

    @property
    def scopes(self) -> tuple[str, ...]:
        return self.oauth.default_scopes if self.oauth else ()


@dataclass(frozen=True)
class Category:
    id: str
    name_he: str
    name_en: str
    icon: str
    providers: tuple[str, ...]


# --------------------------------------------------------------------------------------------
# Categories. The seed's INTEGRATION_CATEGORIES has six entries, but its IntegrationProvider
# type also lists "Design Tools" (canva, figma) and "CRM" (hubspot, monday), which no seed
# category contains. We add `design` and `crm` after payments and before webhooks so that
# every provider is in exactly one category.
# --------------------------------------------------------------------------------------------
CATEGORY_DEFS: tuple[tuple[str, str, str, str], ...] = (
    # (id, name_he, name_en, icon)
    ("calendar", "יומן", "Calendar", "calendar"),
    ("storage", "אחסון קבצים", "File storage", "folder"),
    ("accounting", "הנהלת חשבונות", "Accounting", "calculator"),
    ("communication", "תקשורת", "Communication", "message"),
    ("payments", "תשלומים", "Payments", "credit-card"),
    ("design", "כלי עיצוב", "Design tools", "palette"),  # not in the seed's category list
    ("crm", "CRM", "CRM", "users"),  # not in the seed's category list
    ("webhooks", "Webhooks", "Webhooks", "webhook"),
)
CATEGORY_IDS = frozenset(c[0] for c in CATEGORY_DEFS)


# Directions shorthands for entity pairs.
ALL_DIRECTIONS: tuple[str, ...] = ("import", "export", "bidirectional")
IMPORT_ONLY: tuple[str, ...] = ("import",)
EXPORT_ONLY: tuple[str, ...] = ("export",)


def logo_path(provider_id: str) -> str:
    return f"integrations/logos/{provider_id}.svg"


def hub_default(requests: int, per_seconds: int, why: str) -> RateLimit:
    """A rate limit the hub chose because the provider publishes none (``why`` says so)."""
    return RateLimit(requests, per_seconds, f"hub default (no published number): {why}")
