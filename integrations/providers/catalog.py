"""The provider catalog: one declarative entry per provider the seed names.

Everything the hub needs to know about a provider *before* it talks to it lives
here as frozen data: category, display names (Hebrew first), logo, how a tenant
authenticates, OAuth endpoints/scopes/quirks, the API origin and a cheap
"who am I" call, the published (or, when nothing is published, a conservative
hub-chosen) rate limit, how incoming webhooks are verified, and which local
entity types map to which remote objects.

The catalog holds no client ids or secrets: those are per-deployment and are
stored with ``python manage.py set_provider_app`` (DESIGN.md §4 C2).

Conventions used by the entries below:

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
  before trusting it.
* Facts the research could not confirm carry the word ``VERIFY`` in the notes.
  Sources: /work/shared/reference/providers.md and oauth-sync.md (each fact
  there cites the provider's public documentation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from webhooks.verification import SCHEMES as VERIFICATION_SCHEMES

AuthKind = Literal["oauth2", "api_key", "caldav", "webhook"]
TokenAuthMethod = Literal["client_secret_post", "client_secret_basic"]
Maturity = Literal["stable", "limited", "experimental"]

FieldKind = Literal["text", "password", "url"]

AUTH_KINDS: tuple[str, ...] = ("oauth2", "api_key", "caldav", "webhook")
MATURITIES: tuple[str, ...] = ("stable", "limited", "experimental")
TOKEN_AUTH_METHODS: tuple[str, ...] = ("client_secret_post", "client_secret_basic")
# The incoming pipeline's verifiers (google_channel_token and monday_jwt included).
WEBHOOK_SCHEMES: tuple[str, ...] = VERIFICATION_SCHEMES
# The platform's entity types (DESIGN.md §4 C4); sync pairs may only name these.
LOCAL_ENTITY_TYPES: tuple[str, ...] = (
    "meeting",
    "task",
    "document",
    "payment",
    "expense",
    "client",
    "supplier",
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
    # Only when refreshing uses a different endpoint from ``token_url``.
    refresh_url: str | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "extra_authorize_params", MappingProxyType(dict(self.extra_authorize_params))
        )
        if self.token_auth_method not in TOKEN_AUTH_METHODS:
            raise ValueError(f"unknown token_auth_method {self.token_auth_method!r}")

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

    def __post_init__(self) -> None:
        problems = []
        if self.category not in _CATEGORY_IDS:
            problems.append(f"unknown category {self.category!r}")
        if self.auth_kind not in AUTH_KINDS:
            problems.append(f"unknown auth_kind {self.auth_kind!r}")
        if self.auth_kind == "oauth2" and self.oauth is None:
            problems.append("oauth2 provider without an OAuthConfig")
        if self.auth_kind in ("api_key", "caldav") and not self.credential_fields:
            problems.append(f"{self.auth_kind} provider without credential fields")
        if self.webhook_scheme is not None and self.webhook_scheme not in WEBHOOK_SCHEMES:
            problems.append(f"unknown webhook_scheme {self.webhook_scheme!r}")
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
_CATEGORY_DEFS: tuple[tuple[str, str, str, str], ...] = (
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
_CATEGORY_IDS = frozenset(c[0] for c in _CATEGORY_DEFS)

_ALL = ("import", "export", "bidirectional")
_IMPORT = ("import",)
_EXPORT = ("export",)


def _logo(provider_id: str) -> str:
    return f"integrations/logos/{provider_id}.svg"


def _hub_default(requests: int, per_seconds: int, why: str) -> RateLimit:
    return RateLimit(requests, per_seconds, f"hub default (no published number): {why}")


# Shared OAuth endpoint sets -------------------------------------------------------------------

_GOOGLE_AUTHORIZE = "https://accounts.google.com/o/oauth2/v2/auth"
_GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"
_GOOGLE_REVOKE = "https://oauth2.googleapis.com/revoke"
# Without access_type=offline Google returns no refresh token; prompt=consent makes it
# return one again when the same user reconnects.
_GOOGLE_PARAMS = {"access_type": "offline", "prompt": "consent"}
_GOOGLE_OAUTH_NOTES = (
    "Refresh token is reused (not rotated). It dies after ~6 months unused, on user revocation, "
    "or after 7 days while the OAuth consent screen is in 'Testing' status."
)

# Tenant 'common' accepts both work/school and personal Microsoft accounts; pin a tenant with
# set_provider_app --authorization-url/--token-url if needed.
_MS_AUTHORIZE = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
_MS_TOKEN = "https://login.microsoftonline.com/common/oauth2/v2.0/token"
_MS_OAUTH_NOTES = (
    "Each refresh returns a new refresh token that must replace the stored one (the old one is not "
    "revoked; 90-day lifetime). No per-token revoke endpoint: /me/revokeSignInSessions would revoke "
    "all of the user's sessions, so disconnect only forgets the tokens. Access tokens live 60-90 min."
)

_MS_GRAPH = "https://graph.microsoft.com/v1.0"


PROVIDERS: dict[str, Provider] = {
    p.id: p
    for p in (
        # ------------------------------------------------------------------ Calendar
        Provider(
            id="google_calendar",
            category="calendar",
            name_he="יומן Google",
            name_en="Google Calendar",
            description_he="סנכרון דו-כיווני של פגישות, ויעדי משימות כאירועים, מול יומני Google.",
            description_en="Two-way sync of meetings, and task due dates as events, with Google Calendar.",
            logo=_logo("google_calendar"),
            auth_kind="oauth2",
            oauth=OAuthConfig(
                authorization_url=_GOOGLE_AUTHORIZE,
                token_url=_GOOGLE_TOKEN,
                revoke_url=_GOOGLE_REVOKE,
                # calendar.readonly is there only so the tenant can pick calendars
                # (calendarList, as the seed's settings need); events are written via calendar.events.
                default_scopes=(
                    "https://www.googleapis.com/auth/calendar.events",
                    "https://www.googleapis.com/auth/calendar.readonly",
                ),
                scope_separator=" ",
                pkce=True,
                extra_authorize_params=_GOOGLE_PARAMS,
                token_auth_method="client_secret_post",
                refresh_rotates=False,
                notes=_GOOGLE_OAUTH_NOTES,
            ),
            api_base_url="https://www.googleapis.com",
            test_endpoint=("GET", "/calendar/v3/users/me/calendarList?maxResults=1"),
            credential_fields=(),
            rate_limit=RateLimit(
                100,
                60,
                "seed PROVIDER_RATE_LIMITS (Google publishes 600 req/min per user and 10,000 req/min per "
                "project: https://developers.google.com/workspace/calendar/api/guides/quota)",
            ),
            webhook_scheme="google_channel_token",
            entity_pairs=(
                EntityPair("meeting", "event", _ALL),
                EntityPair("task", "event", _EXPORT),
            ),
            docs_url="https://developers.google.com/calendar/api/guides/sync",
            maturity="stable",
            notes=(
                "Incremental sync: events.list with syncToken (nextSyncToken is on the last page only; "
                "deletions arrive as status=cancelled). 410 Gone means the token is invalid: full resync "
                "and diff. Push channels (events.watch) are unsigned: compare X-Goog-Channel-Token, treat "
                "the notification as a trigger, renew before X-Goog-Channel-Expiration. Quota model "
                "changed for Cloud projects created on/after 2026-05-01."
            ),
        ),
        Provider(
            id="outlook_calendar",
            category="calendar",
            name_he="יומן Outlook",
            name_en="Outlook Calendar",
            description_he="סנכרון דו-כיווני של פגישות מול יומן Outlook / Microsoft 365.",
            description_en="Two-way sync of meetings with Outlook / Microsoft 365 calendars.",
            logo=_logo("outlook_calendar"),
            auth_kind="oauth2",
            oauth=OAuthConfig(
                authorization_url=_MS_AUTHORIZE,
                token_url=_MS_TOKEN,
                revoke_url=None,
                default_scopes=("offline_access", "User.Read", "Calendars.ReadWrite"),
                scope_separator=" ",
                pkce=True,
                extra_authorize_params={},
                token_auth_method="client_secret_post",
                refresh_rotates=True,
                notes=_MS_OAUTH_NOTES,
            ),
            api_base_url=_MS_GRAPH,
            test_endpoint=("GET", "/me"),
            credential_fields=(),
            rate_limit=RateLimit(
                10_000,
                600,
                "Microsoft Graph Outlook limit: 10,000 requests per 10 min per app per mailbox, max 4 "
                "concurrent (https://learn.microsoft.com/graph/throttling-limits)",
            ),
            webhook_scheme="graph",
            entity_pairs=(
                EntityPair("meeting", "event", _ALL),
                EntityPair("task", "event", _EXPORT),
            ),
            docs_url="https://learn.microsoft.com/graph/delta-query-events",
            maturity="stable",
            notes=(
                "Incremental sync: /me/calendarView/delta (window fixed by the first call); store the "
                "@odata.deltaLink; 410 means restart. Change notifications: answer the validationToken "
                "POST with text/plain within 10 s, compare clientState on every item; event subscriptions "
                "expire after ~3 days (newer docs say up to 7 days - VERIFY) and must be renewed."
            ),
        ),
        Provider(
            id="apple_calendar",
            category="calendar",
            name_he="יומן Apple (iCloud)",
            name_en="Apple Calendar (iCloud)",
            description_he="סנכרון פגישות מול יומן iCloud דרך CalDAV, עם סיסמה ייעודית לאפליקציה.",
            description_en="Meeting sync with iCloud Calendar over CalDAV, using an app-specific password.",
            logo=_logo("apple_calendar"),
            auth_kind="caldav",
            oauth=None,
            api_base_url="https://caldav.icloud.com",
            # PROPFIND current-user-principal; iCloud redirects to the account's pNN-caldav host.
            test_endpoint=("PROPFIND", "/"),
            credential_fields=(
                CredentialField(
                    name="username",
                    label_he="Apple ID (אימייל)",
                    label_en="Apple ID (email)",
                ),
                CredentialField(
                    name="appPassword",
                    label_he="סיסמה ייעודית לאפליקציה",
                    label_en="App-specific password",
                    kind="password",
                    help_en="Created at account.apple.com (needs two-factor authentication); "
                    "all are revoked when the Apple ID password changes.",
                ),
                CredentialField(
                    name="serverUrl",
                    label_he="כתובת שרת CalDAV",
                    label_en="CalDAV server URL",
                    kind="url",
                    required=False,
                    default="https://caldav.icloud.com",
                ),
            ),
            rate_limit=_hub_default(60, 60, "Apple publishes no CalDAV limit; back off on 429/503"),
            webhook_scheme=None,
            entity_pairs=(
                EntityPair("meeting", "VEVENT", _ALL),
                EntityPair("task", "VEVENT", _EXPORT),
            ),
            docs_url="https://support.apple.com/en-us/102654",
            maturity="stable",
            maturity_note=(
                "CalDAV is a standard protocol and works with iCloud, but Apple documents no developer "
                "API for it; the iCloud quirks we rely on come from community projects."
            ),
            notes=(
                "No push: poll with REPORT sync-collection (RFC 6578 sync-token), fall back to getctag + "
                "ETags; an invalid sync-token (403/409) means full resync. iCloud REPORTs need a VEVENT "
                "filter. Apple's support page mentions that supported apps may sign in with the Apple "
                "Account instead of an app password; no public developer program for it was found (VERIFY)."
            ),
        ),
        # ------------------------------------------------------------------ Storage
        Provider(
            id="google_drive",
            category="storage",
            name_he="Google Drive",
            name_en="Google Drive",
            description_he="העלאה וייבוא של מסמכי פרויקטים לתיקייה ב-Google Drive.",
            description_en="Upload and import project documents to and from a Google Drive folder.",
            logo=_logo("google_drive"),
            auth_kind="oauth2",
            oauth=OAuthConfig(
                authorization_url=_GOOGLE_AUTHORIZE,
                token_url=_GOOGLE_TOKEN,
                revoke_url=_GOOGLE_REVOKE,
                # drive.file is non-sensitive: only files the app created or the user opened with it.
                # drive / drive.readonly are "restricted" (verification + yearly security assessment).
                default_scopes=("https://www.googleapis.com/auth/drive.file",),
                scope_separator=" ",
                pkce=True,
                extra_authorize_params=_GOOGLE_PARAMS,
                token_auth_method="client_secret_post",
                refresh_rotates=False,
                notes=_GOOGLE_OAUTH_NOTES,
            ),
            api_base_url="https://www.googleapis.com",
            test_endpoint=("GET", "/drive/v3/about?fields=user"),
            credential_fields=(),
            rate_limit=RateLimit(
                1000,
                60,
                "seed PROVIDER_RATE_LIMITS (Google now meters quota units per project/user: "
                "https://developers.google.com/drive/api/guides/limits)",
            ),
            webhook_scheme="google_channel_token",
            entity_pairs=(EntityPair("document", "file", _ALL),),
            docs_url="https://developers.google.com/workspace/drive/api/guides/manage-changes",
            maturity="stable",
            notes=(
                "Incremental sync: changes.getStartPageToken once, then changes.list with pageToken until "
                "newStartPageToken. With drive.file only app-touched files are visible (so 'import from "
                "folder' sees files the user picked or the app created). Channel expiry: files.watch "
                "about 1 day, changes.watch about 1 week (VERIFY)."
            ),
        ),
        Provider(
            id="dropbox",
            category="storage",
            name_he="Dropbox",
            name_en="Dropbox",
            description_he="גיבוי וייבוא של מסמכי פרויקטים מול תיקייה ב-Dropbox.",
            description_en="Back up and import project documents with a Dropbox folder.",
            logo=_logo("dropbox"),
            auth_kind="oauth2",
            oauth=OAuthConfig(
                authorization_url="https://www.dropbox.com/oauth2/authorize",
                token_url="https://api.dropboxapi.com/oauth2/token",
                revoke_url="https://api.dropboxapi.com/2/auth/token/revoke",
                default_scopes=(
                    "account_info.read",
                    "files.metadata.read",
                    "files.content.read",
                    "files.content.write",
                ),
                scope_separator=" ",
                pkce=True,
                # Without token_access_type=offline Dropbox issues no refresh token.
                extra_authorize_params={"token_access_type": "offline"},
                token_auth_method="client_secret_post",
                refresh_rotates=False,
                notes="Short-lived access tokens (~4 h); the refresh token is long-lived and not rotated. "
                "Revoke is POST with the access token as bearer.",
            ),
            api_base_url="https://api.dropboxapi.com",
            test_endpoint=("POST", "/2/users/get_current_account"),
            credential_fields=(),
            rate_limit=_hub_default(
                300, 60, "Dropbox publishes no numbers; 429 always carries Retry-After (seconds)"
            ),
            webhook_scheme="dropbox",
            entity_pairs=(EntityPair("document", "file", _ALL),),
            docs_url="https://www.dropbox.com/developers/documentation/http/documentation",
            maturity="stable",
            notes=(
                "Incremental sync: files/list_folder (recursive) then list_folder/continue with the "
                "cursor; a 'reset' error means relist. Webhooks are per app (not per user): GET "
                "?challenge= echo, then X-Dropbox-Signature = hex HMAC-SHA256(app secret, raw body); "
                "the body only lists account ids, so run the cursor sync for each."
            ),
        ),
        Provider(
            id="onedrive",
            category="storage",
            name_he="OneDrive",
            name_en="OneDrive",
            description_he="סנכרון מסמכי פרויקטים מול OneDrive / SharePoint דרך Microsoft Graph.",
            description_en="Sync project documents with OneDrive / SharePoint through Microsoft Graph.",
            logo=_logo("onedrive"),
            auth_kind="oauth2",
            oauth=OAuthConfig(
                authorization_url=_MS_AUTHORIZE,
                token_url=_MS_TOKEN,
                revoke_url=None,
                default_scopes=("offline_access", "User.Read", "Files.ReadWrite"),
                scope_separator=" ",
                pkce=True,
                extra_authorize_params={},
                token_auth_method="client_secret_post",
                refresh_rotates=True,
                notes=_MS_OAUTH_NOTES,
            ),
            api_base_url=_MS_GRAPH,
            test_endpoint=("GET", "/me/drive"),
            credential_fields=(),
            rate_limit=_hub_default(
                600,
                60,
                "SharePoint/OneDrive throttle by resource units per app per tenant with no fixed "
                "public number (VERIFY); honour Retry-After on 429/503",
            ),
            webhook_scheme="graph",
            entity_pairs=(EntityPair("document", "driveItem", _ALL),),
            docs_url="https://learn.microsoft.com/graph/api/driveitem-delta",
            maturity="stable",
            notes=(
                "Incremental sync: /me/drive/root/delta (token=latest to start from now); 410 "
                "resyncRequired means re-enumerate; deleted items carry the 'deleted' facet. "
                "driveItem subscriptions last under 30 days and support only changeType=updated."
            ),
        ),
        # ------------------------------------------------------------------ Accounting
        Provider(
            id="quickbooks",
            category="accounting",
            name_he="QuickBooks Online",
            name_en="QuickBooks Online",
            description_he="לקוחות, ספקים, חשבוניות והוצאות מול QuickBooks Online.",
            description_en="Customers, vendors, invoices and expenses with QuickBooks Online.",
            logo=_logo("quickbooks"),
            auth_kind="oauth2",
            oauth=OAuthConfig(
                authorization_url="https://appcenter.intuit.com/connect/oauth2",
                token_url="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
                revoke_url="https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
                default_scopes=("com.intuit.quickbooks.accounting",),
                scope_separator=" ",
                pkce=False,  # not documented for web apps
                extra_authorize_params={},
                token_auth_method="client_secret_basic",
                refresh_rotates=True,
                # The company id comes back on the redirect, not in the token response.
                callback_params=("realmId",),
                notes=(
                    "The refresh token value can change on refresh (about daily): always store the "
                    "latest. It expires after 100 days unused and has a 5-year hard maximum "
                    "(x_refresh_token_expires_in). Endpoints from Intuit's OpenID discovery document."
                ),
            ),
            # Sandbox companies: set_provider_app quickbooks --api-base-url https://sandbox-quickbooks.api.intuit.com
            api_base_url="https://quickbooks.api.intuit.com/v3/company/{realmId}",
            test_endpoint=("GET", "/companyinfo/{realmId}"),
            credential_fields=(),
            rate_limit=RateLimit(
                500,
                60,
                "seed PROVIDER_RATE_LIMITS; matches Intuit's 500 req/min per realm (also 10 req/s and 10 "
                "concurrent per realm+app): "
                "https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles",
            ),
            webhook_scheme="quickbooks",
            entity_pairs=(
                EntityPair("client", "Customer", _ALL),
                EntityPair("supplier", "Vendor", _ALL),
                EntityPair("payment", "Invoice", ("export", "bidirectional")),
                EntityPair("expense", "Purchase", _EXPORT),
                EntityPair("expense", "Bill", _EXPORT),
            ),
            docs_url="https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture",
            maturity="stable",
            notes=(
                "Incremental sync: CDC (/cdc?entities=...&changedSince=) looks back at most 30 days and "
                "returns at most 1,000 objects per call, so use short windows; deletions come as "
                "status=Deleted. Writes need the object's SyncToken. Webhooks: intuit-signature = "
                "base64 HMAC-SHA256(verifier token, raw body), no timestamp; payloads moved to the "
                "CloudEvents format."
            ),
        ),
        Provider(
            id="xero",
            category="accounting",
            name_he="Xero",
            name_en="Xero",
            description_he="אנשי קשר, חשבוניות וחשבונות ספקים מול Xero.",
            description_en="Contacts, sales invoices and bills with Xero.",
            logo=_logo("xero"),
            auth_kind="oauth2",
            oauth=OAuthConfig(
                authorization_url="https://login.xero.com/identity/connect/authorize",
                token_url="https://identity.xero.com/connect/token",
                revoke_url="https://identity.xero.com/connect/revocation",
                default_scopes=(
                    "offline_access",
                    "openid",
                    "profile",
                    "email",
                    "accounting.contacts",
                    "accounting.invoices",
                    "accounting.settings.read",
                ),
                scope_separator=" ",
                pkce=True,
                extra_authorize_params={},
                token_auth_method="client_secret_basic",
                refresh_rotates=True,
                notes=(
                    "Refresh tokens are single-use (the old one may be retried for 30 min after a lost "
                    "response) and expire after 60 days unused: serialise refreshes per connection. Apps "
                    "created on/after 2026-03-02 get granular scopes only (accounting.invoices etc.); the "
                    "exact granular names come from third-party write-ups (VERIFY)."
                ),
            ),
            api_base_url="https://api.xero.com",
            # Lists the organisations (tenant ids) this token may access; every accounting call then
            # needs the Xero-tenant-id header.
            test_endpoint=("GET", "/connections"),
            credential_fields=(),
            rate_limit=RateLimit(
                60,
                60,
                "Xero: 60 calls/min, 5 concurrent and 5,000/day per organisation; 10,000/min per app "
                "(https://developer.xero.com/documentation/guides/oauth2/limits/)",
            ),
            webhook_scheme="xero",
            entity_pairs=(
                EntityPair("client", "Contact", _ALL),
                EntityPair("supplier", "Contact", _ALL),
                EntityPair("payment", "Invoice[ACCREC]", ("export", "bidirectional")),
                EntityPair("expense", "Invoice[ACCPAY]", _EXPORT),
            ),
            docs_url="https://developer.xero.com/documentation/guides/oauth2/auth-flow/",
            maturity="stable",
            notes=(
                "Incremental sync: If-Modified-Since on GETs, paged; keep the server's max "
                "UpdatedDateUTC, not the local clock. Send Idempotency-Key on writes. Webhooks: "
                "x-xero-signature = base64 HMAC-SHA256(webhook key, raw body); the Intent-to-Receive "
                "check requires 200 for a good signature and 401 for a bad one."
            ),
        ),
        Provider(
            id="hashavshevet",
            category="accounting",
            name_he="חשבשבת",
            name_en="Hashavshevet",
            description_he="העברת לקוחות, ספקים, חשבוניות וקבלות לחשבשבת (WizCloud).",
            description_en="Push clients, suppliers, invoices and receipts to Hashavshevet (WizCloud).",
            logo=_logo("hashavshevet"),
            auth_kind="api_key",
            oauth=None,
            api_base_url="https://{wizcloudServer}",
            # Returns a wizAuthToken (24 h) that later calls send in the Authorization header.
            # The private key is part of the path, so this URL must be redacted in logs.
            test_endpoint=("GET", "/createSession/{privateKey}/{dbName}"),
            credential_fields=(
                CredentialField(
                    name="wizcloudServer",
                    label_he="שרת WizCloud",
                    label_en="WizCloud server",
                    help_en="Host name given by Wizsoft, e.g. lb1.wizcloud.co.il",
                ),
                CredentialField(
                    name="privateKey",
                    label_he="מפתח API פרטי",
                    label_en="API private key",
                    kind="password",
                    help_en="Per-user key issued by the company administrator in WizCloud.",
                ),
                CredentialField(
                    name="dbName",
                    label_he="קוד מסד הנתונים (חברה)",
                    label_en="Database (company) code",
                ),
            ),
            rate_limit=_hub_default(30, 60, "Wizsoft publishes no limits"),
            webhook_scheme=None,
            entity_pairs=(
                EntityPair("client", "account", _EXPORT),
                EntityPair("supplier", "account", _EXPORT),
                EntityPair("payment", "document", _EXPORT),
                EntityPair("expense", "document", _EXPORT),
            ),
            docs_url="https://docs.wizcloud.co.il/docs/getting-started",
            maturity="limited",
            maturity_note=(
                "Only WizCloud (Wizsoft's cloud Hashavshevet) has a public REST API: session token, "
                "create/issue documents, receipts, index (account/item) import. The on-premise product's "
                "H-Connect API needs a contract with Wizsoft and is not publicly documented; legacy file "
                "import and ODBC reads are out of scope. No webhooks, no change feed, no published "
                "limits, so the connector is push-only (hub to Hashavshevet) and incremental import is a "
                "no-op."
            ),
            notes=(
                "Calls are POST https://{wizcloudServer}/{apiPath} with the session token, e.g. "
                "invApi/createDoc, invApi/issueDocument, IndexApi/importIndex, docsApi/v2/createReceipt."
            ),
        ),
        Provider(
            id="priority",
            category="accounting",
            name_he="פריוריטי",
            name_en="Priority ERP",
            description_he="לקוחות, ספקים ומסמכים מול Priority ERP דרך ממשק ה-REST (OData).",
            description_en="Customers, suppliers and documents with Priority ERP through its REST (OData) API.",
            logo=_logo("priority"),
            auth_kind="api_key",
            oauth=None,
            api_base_url="{serverUrl}/odata/Priority/{tabulaIni}/{company}",
            test_endpoint=("GET", "/CUSTOMERS?$top=1"),
            credential_fields=(
                CredentialField(
                    name="serverUrl",
                    label_he="כתובת השרת",
                    label_en="Server URL",
                    kind="url",
                    help_en="The customer's Priority host, e.g. https://priority.example.co.il",
                ),
                CredentialField(
                    name="tabulaIni",
                    label_he="קובץ tabula.ini",
                    label_en="tabula.ini name",
                    default="tabula.ini",
                    help_en="Append ',<language code>' to pick the response language.",
                ),
                CredentialField(name="company", label_he="חברה", label_en="Company"),
                CredentialField(
                    name="username",
                    label_he="משתמש API",
                    label_en="API user",
                    help_en="API user name, or a personal access token (Priority 19.1+).",
                ),
                CredentialField(
                    name="password",
                    label_he="סיסמה",
                    label_en="Password",
                    kind="password",
                    help_en="The user's password, or the literal 'PAT' when the user name is a token.",
                ),
                CredentialField(
                    name="appId",
                    label_he="App ID",
                    label_en="App ID",
                    required=False,
                    help_en="Only when the installation licenses per application (X-App-Id).",
                ),
                CredentialField(
                    name="appKey",
                    label_he="App Key",
                    label_en="App key",
                    kind="password",
                    required=False,
                    help_en="Sent as X-App-Key together with X-App-Id.",
                ),
            ),
            rate_limit=_hub_default(
                60, 60, "Priority documents no rate limit (rows capped by MAXFORMLINES, 350 MB responses)"
            ),
            webhook_scheme="none",
            entity_pairs=(
                EntityPair("client", "CUSTOMERS", _ALL),
                EntityPair("supplier", "SUPPLIERS", _ALL),  # form name VERIFY per installation
                EntityPair("payment", "AINVOICES", _EXPORT),  # form name VERIFY per installation
            ),
            docs_url="https://prioritysoftware.github.io/restapi/",
            maturity="limited",
            maturity_note=(
                "The REST API is documented publicly, but every customer runs its own instance, version "
                "and licences (REST API, Webhooks and External ID modules), with no published rate limits "
                "and forms that vary by installation; only Basic/PAT auth is wired. OAuth (auth-code + "
                "PKCE, scope 'openid rest_api' at {serverUrl}/accounts/connect/...) exists only with the "
                "External ID module, which also disables Basic."
            ),
            notes=(
                "Incremental sync: $since=<ISO datetime> (v20.0+, BPM entities only), otherwise $filter="
                "UDATE ge <datetime> (URL-encode '+'); page with $top/$skip. Webhooks come from BPM rules "
                "(v20.1+, Webhooks module) and are unsigned: compare the static 'priority-bpm-token' "
                "header in constant time and re-read the record."
            ),
        ),
        # ------------------------------------------------------------------ Communication
        Provider(
            id="whatsapp_business",
            category="communication",
            name_he="WhatsApp Business",
            name_en="WhatsApp Business",
            description_he="תזכורות לתשלומים ולפגישות בתבניות מאושרות, ותיעוד הודעות נכנסות.",
            description_en="Payment and meeting reminders with approved templates; incoming messages logged.",
            logo=_logo("whatsapp_business"),
            auth_kind="api_key",
            oauth=None,
            # Graph versions expire about two years after release; bump with --api-base-url (VERIFY version).
            api_base_url="https://graph.facebook.com/v23.0",
            test_endpoint=("GET", "/{phoneNumberId}"),
            credential_fields=(
                CredentialField(
                    name="accessToken",
                    label_he="אסימון גישה (System User)",
                    label_en="Access token (system user)",
                    kind="password",
                ),
                CredentialField(name="phoneNumberId", label_he="מזהה מספר טלפון", label_en="Phone number ID"),
                CredentialField(
                    name="businessAccountId",
                    label_he="מזהה חשבון WhatsApp Business",
                    label_en="WhatsApp Business account ID",
                ),
                CredentialField(
                    name="appSecret",
                    label_he="סוד האפליקציה ב-Meta",
                    label_en="Meta app secret",
                    kind="password",
                    required=False,
                    help_en="Verifies X-Hub-Signature-256 on incoming webhooks.",
                ),
            ),
            rate_limit=RateLimit(
                80,
                1,
                "Cloud API throughput: 80 messages/s per business phone number (plus a daily unique-user "
                "messaging limit per portfolio): "
                "https://developers.facebook.com/documentation/business-messaging/whatsapp/throughput",
            ),
            webhook_scheme="meta",
            entity_pairs=(
                EntityPair("payment", "template_message", _EXPORT),
                EntityPair("meeting", "template_message", _EXPORT),
            ),
            docs_url="https://developers.facebook.com/documentation/business-messaging/whatsapp/",
            maturity="stable",
            notes=(
                "Credentials follow the seed's WhatsAppConfig (phoneNumberId, businessAccountId, "
                "accessToken). Onboarding tenants as a Tech Provider through Embedded Signup v4 (exchange "
                "code at graph.facebook.com/{version}/oauth/access_token) is not wired (v2 ends "
                "2026-10-15). No message history API: everything inbound arrives by webhook (GET "
                "hub.challenge handshake, X-Hub-Signature-256 = sha256=hex HMAC(app secret, raw body))."
            ),
        ),
        Provider(
            id="twilio",
            category="communication",
            name_he="Twilio",
            name_en="Twilio",
            description_he="שליחת SMS ותזכורות ללקוחות דרך Twilio.",
            description_en="SMS reminders and notifications to clients through Twilio.",
            logo=_logo("twilio"),
            auth_kind="api_key",
            oauth=None,
            api_base_url="https://api.twilio.com/2010-04-01",
            test_endpoint=("GET", "/Accounts/{accountSid}.json"),
            credential_fields=(
                CredentialField(name="accountSid", label_he="Account SID", label_en="Account SID"),
                CredentialField(
                    name="authToken",
                    label_he="Auth Token",
                    label_en="Auth token",
                    kind="password",
                    help_en="Also the key Twilio signs webhooks with.",
                ),
            ),
            rate_limit=_hub_default(
                10,
                1,
                "Twilio has an account concurrency limit without a published number and per-sender "
                "throughput by number type; 429 / error 20429 are safe to retry",
            ),
            webhook_scheme="twilio",
            entity_pairs=(
                EntityPair("meeting", "message", _EXPORT),
                EntityPair("payment", "message", _EXPORT),
            ),
            docs_url="https://www.twilio.com/docs/usage/webhooks/webhooks-security",
            maturity="stable",
            notes=(
                "An API key SID + secret may be used instead of the auth token for REST calls, but "
                "webhook signatures still use the auth token. X-Twilio-Signature = base64 HMAC-SHA1 over "
                "the exact URL Twilio called plus the sorted POST params (JSON bodies: bodySHA256 in the "
                "URL); behind a proxy rebuild the public URL. Message list date filters (DateSent>=) are "
                "day-granular (VERIFY filter names)."
            ),
        ),
        Provider(
            id="sendgrid",
            category="communication",
            name_he="SendGrid",
            name_en="SendGrid",
            description_he="שליחת אימיילים תפעוליים ומעקב אחר מסירה ופתיחה.",
            description_en="Transactional email with delivery and open tracking.",
            logo=_logo("sendgrid"),
            auth_kind="api_key",
            oauth=None,
            api_base_url="https://api.sendgrid.com",
            test_endpoint=("GET", "/v3/scopes"),
            credential_fields=(
                CredentialField(
                    name="apiKey",
                    label_he="מפתח API",
                    label_en="API key",
                    kind="password",
                    help_en="Needs mail.send (+ user.webhooks.event.settings.read to fetch the signing key).",
                ),
                CredentialField(
                    name="eventWebhookPublicKey",
                    label_he="מפתח אימות ל-Event Webhook",
                    label_en="Event Webhook verification key",
                    required=False,
                    help_en="Base64 public key shown when 'Signed Event Webhook' is enabled.",
                ),
            ),
            rate_limit=RateLimit(
                600,
                60,
                "SendGrid v2 endpoints: 600 req/min per user; v3 limits are per endpoint and reported in "
                "X-RateLimit-* headers (https://www.twilio.com/docs/sendgrid/api-reference/"
                "how-to-use-the-sendgrid-v3-api/rate-limits)",
            ),
            webhook_scheme="sendgrid",
            entity_pairs=(
                EntityPair("meeting", "mail", _EXPORT),
                EntityPair("payment", "mail", _EXPORT),
            ),
            docs_url="https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features",
            maturity="stable",
            notes=(
                "No event listing API (Email Activity is a paid add-on): store Event Webhook batches. "
                "Signature: ECDSA P-256/SHA-256 over timestamp + raw body (which ends in CRLF); SendGrid "
                "states no tolerance, the hub uses 300 s."
            ),
        ),
        Provider(
            id="mailchimp",
            category="communication",
            name_he="Mailchimp",
            name_en="Mailchimp",
            description_he="סנכרון לקוחות לרשימת תפוצה (Audience) ב-Mailchimp.",
            description_en="Sync clients with a Mailchimp audience.",
            logo=_logo("mailchimp"),
            auth_kind="api_key",
            # Optional alternative to an API key.
            oauth=OAuthConfig(
                authorization_url="https://login.mailchimp.com/oauth2/authorize",
                token_url="https://login.mailchimp.com/oauth2/token",
                revoke_url=None,
                default_scopes=(),
                scope_separator=" ",
                pkce=False,
                extra_authorize_params={},
                token_auth_method="client_secret_post",
                refresh_rotates=False,
                notes=(
                    "No scopes and no refresh token; the access token does not expire. After the exchange "
                    "GET https://login.mailchimp.com/oauth2/metadata gives 'dc' for the API host. "
                    "Disconnecting happens on the user's side."
                ),
            ),
            api_base_url="https://{dc}.api.mailchimp.com/3.0",
            test_endpoint=("GET", "/ping"),
            credential_fields=(
                CredentialField(
                    name="apiKey",
                    label_he="מפתח API",
                    label_en="API key",
                    kind="password",
                    help_en="Ends with '-usNN': that suffix is the datacenter ({dc}) of the API host.",
                ),
            ),
            rate_limit=_hub_default(
                10,
                1,
                "Mailchimp caps a key at 10 simultaneous connections and publishes no request rate",
            ),
            webhook_scheme="none",
            entity_pairs=(EntityPair("client", "list_member", _ALL),),
            docs_url="https://mailchimp.com/developer/marketing/docs/fundamentals/",
            maturity="stable",
            notes=(
                "Incremental sync: lists/{list_id}/members?since_last_changed=<ISO>, offset paging "
                "(count <= 1000). Webhooks are form-encoded and unsigned: put a secret in the URL query "
                "and compare it on POST; Mailchimp checks the URL with a GET that must get 200."
            ),
        ),
        # ------------------------------------------------------------------ Payments
        Provider(
            id="stripe",
            category="payments",
            name_he="Stripe",
            name_en="Stripe",
            description_he="עדכון אוטומטי של סטטוס תשלומים ולקוחות מ-Stripe.",
            description_en="Automatic payment status and customer updates from Stripe.",
            logo=_logo("stripe"),
            auth_kind="api_key",
            # Optional alternative: Stripe Connect OAuth for Standard accounts.
            oauth=OAuthConfig(
                authorization_url="https://connect.stripe.com/oauth/authorize",
                token_url="https://connect.stripe.com/oauth/token",
                revoke_url="https://connect.stripe.com/oauth/deauthorize",
                default_scopes=("read_write",),
                scope_separator=" ",
                pkce=False,
                extra_authorize_params={},
                token_auth_method="client_secret_post",
                refresh_rotates=False,
                notes=(
                    "Connect OAuth: the client id is the platform's ca_... id and the 'client secret' is "
                    "the platform's secret API key; the access token does not expire. Stripe now steers "
                    "new platforms towards Connect onboarding instead of OAuth (VERIFY)."
                ),
            ),
            api_base_url="https://api.stripe.com",
            # A restricted key may lack account read permission; /v1/balance is the fallback.
            test_endpoint=("GET", "/v1/account"),
            credential_fields=(
                CredentialField(
                    name="apiKey",
                    label_he="מפתח API סודי",
                    label_en="Secret API key",
                    kind="password",
                    help_en="sk_... or a restricted rk_... key.",
                ),
                CredentialField(
                    name="webhookSecret",
                    label_he="סוד חתימת Webhook",
                    label_en="Webhook signing secret",
                    kind="password",
                    required=False,
                    help_en="whsec_... of the endpoint that points at the hub.",
                ),
            ),
            rate_limit=RateLimit(
                100,
                1,
                "seed PROVIDER_RATE_LIMITS; matches Stripe's global live-mode limit (sandbox 25/s, most "
                "endpoints 25/s): https://docs.stripe.com/rate-limits",
            ),
            webhook_scheme="stripe",
            entity_pairs=(
                EntityPair("payment", "payment_intent", _IMPORT),
                EntityPair("client", "customer", _ALL),
            ),
            docs_url="https://docs.stripe.com/webhooks",
            maturity="stable",
            notes=(
                "Incremental sync: /v1/events?created[gt]=... with starting_after paging; events are kept "
                "30 days. Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(whsec, '{t}.{body}')>, any v1 may "
                "match, 300 s tolerance. Send Idempotency-Key on creates."
            ),
        ),
        Provider(
            id="payplus",
            category="payments",
            name_he="PayPlus",
            name_en="PayPlus",
            description_he="דפי תשלום וסליקה דרך PayPlus, ועדכון סטטוס התשלום אוטומטית.",
            description_en="Payment pages and card processing with PayPlus, with automatic status updates.",
            logo=_logo("payplus"),
            auth_kind="api_key",
            oauth=None,
            # Sandbox: https://restapidev.payplus.co.il/api/v1.0 (set_provider_app --api-base-url).
            api_base_url="https://restapi.payplus.co.il/api/v1.0",
            # No dedicated "who am I" call is documented; a narrow report query is the cheapest check (VERIFY).
            test_endpoint=("POST", "/TransactionReports/TransactionsHistory"),
            credential_fields=(
                CredentialField(name="apiKey", label_he="מפתח API", label_en="API key", kind="password"),
                CredentialField(
                    name="secretKey",
                    label_he="מפתח סודי",
                    label_en="Secret key",
                    kind="password",
                    help_en="Also the key PayPlus signs callbacks with.",
                ),
                CredentialField(
                    name="terminalUid",
                    label_he="מזהה מסוף",
                    label_en="Terminal UID",
                    required=False,
                ),
                CredentialField(
                    name="paymentPageUid",
                    label_he="מזהה דף תשלום",
                    label_en="Payment page UID",
                    required=False,
                    help_en="Needed to generate payment links.",
                ),
            ),
            rate_limit=_hub_default(60, 60, "PayPlus publishes no limits"),
            # The 'hash' header is base64 HMAC-SHA256(secretKey, body), with 'user-agent: PayPlus'.
            webhook_scheme="payplus",
            entity_pairs=(
                EntityPair("payment", "payment_page", _EXPORT),
                EntityPair("payment", "transaction", _IMPORT),
            ),
            docs_url="https://docs.payplus.co.il/reference/introduction",
            maturity="limited",
            maturity_note=(
                "Public ReadMe docs cover payment pages, transactions, tokens, recurring payments and "
                "reports, but there is no official SDK, no published rate limit, no change feed (reconcile "
                "by date window and transaction_uid), and the callback signing sample hashes a "
                "re-serialised JSON body rather than the raw bytes."
            ),
            notes=(
                'Authorization header carries JSON {"api_key": ..., "secret_key": ...}. Callbacks go to '
                "refURL_callback; verify the hash over the raw body first, then over compact "
                "re-serialised JSON (ensure_ascii=False), and confirm the status through "
                "Transactions/View since there is no timestamp."
            ),
        ),
        Provider(
            id="cardcom",
            category="payments",
            name_he="קארדקום",
            name_en="Cardcom",
            description_he="דפי תשלום (Low Profile) של קארדקום, עם אימות תוצאת העסקה מול השרת.",
            description_en="Cardcom Low Profile payment pages, with the deal result re-checked server-side.",
            logo=_logo("cardcom"),
            auth_kind="api_key",
            oauth=None,
            api_base_url="https://secure.cardcom.solutions/api/v11",
            test_endpoint=None,  # no lightweight read-only call is documented (VERIFY in /api/v11/Docs)
            credential_fields=(
                CredentialField(name="terminalNumber", label_he="מספר מסוף", label_en="Terminal number"),
                CredentialField(name="apiName", label_he="שם משתמש API", label_en="API name"),
                CredentialField(
                    name="apiPassword",
                    label_he="סיסמת API",
                    label_en="API password",
                    kind="password",
                    required=False,
                    help_en="Only some operations (e.g. refunds) need it (VERIFY).",
                ),
            ),
            rate_limit=_hub_default(60, 60, "Cardcom publishes no limits"),
            webhook_scheme="none",
            entity_pairs=(
                EntityPair("payment", "LowProfile", _EXPORT),
                EntityPair("payment", "transaction", _IMPORT),
            ),
            docs_url="https://secure.cardcom.solutions/api/v11/Docs",
            maturity="limited",
            maturity_note=(
                "API v11 has public OpenAPI docs, but most guidance lives in a Hebrew knowledge base "
                "written for API 10; there is no SDK, no published rate limit, the reports endpoints were "
                "not reviewed, and webhooks are unsigned, so every result is re-queried."
            ),
            notes=(
                "Credentials travel in the JSON body. Flow: LowProfile/Create (Operation, Amount, "
                "WebHookUrl, redirects, optional Document for an automatic invoice) returns a "
                "LowProfileId and URL; Cardcom then POSTs WebHookUrl unsigned, so authenticate by calling "
                "LowProfile/GetLpResult and dedupe on LowProfileId. Error 603 = bad user/password."
            ),
        ),
        # ------------------------------------------------------------------ Design tools
        Provider(
            id="canva",
            category="design",
            name_he="Canva",
            name_en="Canva",
            description_he="ייבוא עיצובים מ-Canva כמסמכי פרויקט.",
            description_en="Import Canva designs as project documents.",
            logo=_logo("canva"),
            auth_kind="oauth2",
            oauth=OAuthConfig(
                authorization_url="https://www.canva.com/api/oauth/authorize",
                token_url="https://api.canva.com/rest/v1/oauth/token",
                revoke_url="https://api.canva.com/rest/v1/oauth/revoke",
                default_scopes=("design:meta:read", "asset:read", "profile:read"),
                scope_separator=" ",
                pkce=True,  # mandatory (S256)
                extra_authorize_params={},
                token_auth_method="client_secret_basic",
                refresh_rotates=True,
                notes="Refresh tokens are single-use; access tokens currently last about 4 hours.",
            ),
            api_base_url="https://api.canva.com/rest/v1",
            test_endpoint=("GET", "/users/me"),
            credential_fields=(),
            rate_limit=RateLimit(
                100,
                60,
                "Canva limits per user and per endpoint; 100/min is the list-designs limit (third-party "
                "summary of the per-endpoint reference pages, https://www.canva.dev/docs/connect/)",
            ),
            # Connect webhooks are a preview (JWS signed with Ed25519 keys from /connect/keys) and public
            # integrations using preview APIs cannot pass review, so the hub polls instead.
            webhook_scheme=None,
            entity_pairs=(EntityPair("document", "design", _IMPORT),),
            docs_url="https://www.canva.dev/docs/connect/authentication/",
            maturity="stable",
            notes=(
                "No change feed: list designs sorted by modified_descending with the continuation token "
                "and stop at the last seen update (parameter names VERIFY). Public integrations need "
                "Canva's review."
            ),
        ),
        Provider(
            id="figma",
            category="design",
            name_he="Figma",
            name_en="Figma",
            description_he="קישור קבצי Figma לפרויקטים ומעקב אחר גרסאות ועדכונים.",
            description_en="Link Figma files to projects and follow their versions and updates.",
            logo=_logo("figma"),
            auth_kind="oauth2",
            oauth=OAuthConfig(
                authorization_url="https://www.figma.com/oauth",
                token_url="https://api.figma.com/v1/oauth/token",
                revoke_url=None,
                default_scopes=("file_content:read", "file_metadata:read", "webhooks:write"),
                scope_separator=",",
                pkce=True,
                extra_authorize_params={},
                token_auth_method="client_secret_basic",
                refresh_rotates=False,
                refresh_url="https://api.figma.com/v1/oauth/refresh",
                notes=(
                    "Refresh returns only a new access token (the refresh token is kept). VERIFY: PKCE "
                    "support, comma as scope separator, Basic client authentication at the token "
                    "endpoint, and the ~90-day access-token lifetime. Older docs used "
                    "https://www.figma.com/api/oauth/token. GET /v1/me may also need current_user:read "
                    "(VERIFY)."
                ),
            ),
            api_base_url="https://api.figma.com",
            test_endpoint=("GET", "/v1/me"),
            credential_fields=(),
            rate_limit=RateLimit(
                10,
                60,
                "Figma Tier 1 (file content) for Dev/Full seats on Starter plans; other tiers/plans allow "
                "more, View/Collab seats far less (https://developers.figma.com/docs/rest-api/rate-limits)",
            ),
            # Webhooks V2 carry a passcode in the JSON body (no HMAC): compare it, answer 400 on mismatch.
            webhook_scheme="none",
            entity_pairs=(EntityPair("document", "file", _IMPORT),),
            docs_url="https://developers.figma.com/docs/rest-api/authentication",
            maturity="stable",
            notes=(
                "No change feed: project file lists (last_modified) and file versions, plus webhooks "
                "(FILE_UPDATE, FILE_VERSION_UPDATE, FILE_COMMENT, LIBRARY_PUBLISH; a PING on creation). "
                "A wrong passcode must get 400, which makes Figma stop that webhook."
            ),
        ),
        # ------------------------------------------------------------------ CRM
        Provider(
            id="hubspot",
            category="crm",
            name_he="HubSpot",
            name_en="HubSpot",
            description_he="סנכרון לקוחות ואנשי קשר מול HubSpot CRM.",
            description_en="Sync clients and contacts with HubSpot CRM.",
            logo=_logo("hubspot"),
            auth_kind="oauth2",
            oauth=OAuthConfig(
                authorization_url="https://app.hubspot.com/oauth/authorize",
                # Dated OAuth API; the v1 /oauth/v1/token endpoint is switched off on 2027-02-16.
                token_url="https://api.hubapi.com/oauth/2026-03/token",
                revoke_url="https://api.hubapi.com/oauth/2026-03/token/revoke",
                default_scopes=(
                    "oauth",
                    "crm.objects.contacts.read",
                    "crm.objects.contacts.write",
                    "crm.objects.companies.read",
                ),
                scope_separator=" ",
                pkce=True,
                extra_authorize_params={},
                token_auth_method="client_secret_post",
                refresh_rotates=False,
                notes="Access tokens last 30 minutes; the refresh token lives until the app is uninstalled.",
            ),
            api_base_url="https://api.hubapi.com",
            test_endpoint=("GET", "/account-info/v3/details"),
            credential_fields=(),
            rate_limit=RateLimit(
                100,
                10,
                "HubSpot public apps: 100 requests per 10 s per account (a changelog says 110 - VERIFY); "
                "CRM search has its own ~5 req/s limit "
                "(https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines)",
            ),
            webhook_scheme="hubspot",
            entity_pairs=(
                EntityPair("client", "contact", _ALL),
                EntityPair("client", "company", _IMPORT),
            ),
            docs_url="https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide",
            maturity="stable",
            notes=(
                "Incremental sync: CRM search on lastmodifieddate (contacts) / hs_lastmodifieddate (other "
                "objects) >= cursor, ascending, 'after' paging; 10,000 results per query, so slide the "
                "window. Webhooks v3: base64 HMAC-SHA256(client secret, method + URI + body + "
                "timestamp), timestamp in ms, reject after 5 min. Events carry changeSource for echo "
                "suppression."
            ),
        ),
        Provider(
            id="monday",
            category="crm",
            name_he="monday.com",
            name_en="monday.com",
            description_he="סנכרון משימות מול לוחות monday.com.",
            description_en="Sync tasks with monday.com boards.",
            logo=_logo("monday"),
            auth_kind="oauth2",
            oauth=OAuthConfig(
                authorization_url="https://auth.monday.com/oauth2/authorize",
                token_url="https://auth.monday.com/oauth2/token",
                revoke_url=None,
                default_scopes=("me:read", "boards:read", "boards:write", "webhooks:write"),
                scope_separator=" ",
                pkce=False,
                extra_authorize_params={},
                token_auth_method="client_secret_post",
                refresh_rotates=False,
                notes=(
                    "Legacy flow: the access token never expires and there is no refresh token; an account "
                    "admin must install the app. An opt-in OAuth 2.1 flow with PKCE and refresh tokens "
                    "exists (VERIFY)."
                ),
            ),
            api_base_url="https://api.monday.com",
            # GraphQL: POST /v2 with {"query": "{ me { id } }"} and an API-Version header.
            test_endpoint=("POST", "/v2"),
            credential_fields=(),
            rate_limit=_hub_default(
                60,
                60,
                "monday meters complexity points (5M/min per app token) and daily call caps by plan "
                "(Free 200, Basic/Standard 1,000, Pro 10,000)",
            ),
            webhook_scheme="monday_jwt",
            entity_pairs=(EntityPair("task", "item", _ALL),),
            docs_url="https://developer.monday.com/api-reference/docs/rate-limits",
            maturity="stable",
            notes=(
                "Incremental sync: items_page filtered on last-updated (column id VERIFY) with cursor "
                "paging (500 items, cursor valid 60 min), or activity_logs. Webhooks: first POST "
                '{"challenge"} must be echoed; app requests carry an HS256 JWT in Authorization signed '
                "with the app's signing secret (check aud = endpoint URL and exp); webhooks made with a "
                "personal token may carry none (VERIFY), so also use a secret URL."
            ),
        ),
        # ------------------------------------------------------------------ Custom
        Provider(
            id="custom_webhook",
            category="webhooks",
            name_he="Webhook מותאם אישית",
            name_en="Custom webhook",
            description_he="כתובת ייעודית שמקבלת אירועים מכל מערכת ויוצרת או מעדכנת ישויות.",
            description_en="A dedicated URL that receives events from any system and creates or updates entities.",
            logo=_logo("custom_webhook"),
            auth_kind="webhook",
            oauth=None,
            api_base_url="",
            test_endpoint=None,
            credential_fields=(),  # the hub generates the URL and the secret
            rate_limit=_hub_default(60, 60, "processing budget for actions triggered by incoming events"),
            # X-Webhook-Signature (hex HMAC-SHA256); Standard Webhooks headers are accepted too (C6).
            webhook_scheme="hmac",
            entity_pairs=tuple(EntityPair(t, "payload", _IMPORT) for t in LOCAL_ENTITY_TYPES),
            docs_url="",
            maturity="stable",
            notes="Backed by IncomingWebhook rows: /api/webhooks/tenant/{tenantId}/{webhookId}.",
        ),
        Provider(
            id="custom_api",
            category="webhooks",
            name_he="API מותאם אישית",
            name_en="Custom API",
            description_he="חיבור ל-REST API של מערכת פנימית עם מפתח API.",
            description_en="Connect to an in-house REST API with an API key.",
            logo=_logo("custom_api"),
            auth_kind="api_key",
            oauth=None,
            api_base_url="{baseUrl}",
            test_endpoint=None,  # depends on the target API
            credential_fields=(
                CredentialField(name="baseUrl", label_he="כתובת בסיס", label_en="Base URL", kind="url"),
                CredentialField(
                    name="authHeader",
                    label_he="כותרת אימות",
                    label_en="Auth header name",
                    required=False,
                    default="Authorization",
                ),
                CredentialField(
                    name="apiKey",
                    label_he="ערך האימות",
                    label_en="Auth header value",
                    kind="password",
                    required=False,
                    help_en="Sent verbatim, e.g. 'Bearer ...'.",
                ),
            ),
            rate_limit=_hub_default(60, 60, "unknown target API"),
            webhook_scheme=None,
            entity_pairs=tuple(EntityPair(t, "resource", _ALL) for t in LOCAL_ENTITY_TYPES),
            docs_url="",
            maturity="stable",
            notes="Outgoing calls go through the hub's outbound HTTP client (private-address checks apply).",
        ),
    )
}

CATEGORIES: tuple[Category, ...] = tuple(
    Category(cid, name_he, name_en, icon, tuple(pid for pid, p in PROVIDERS.items() if p.category == cid))
    for cid, name_he, name_en, icon in _CATEGORY_DEFS
)


def get_provider(provider_id: str) -> Provider:
    try:
        return PROVIDERS[provider_id]
    except (KeyError, TypeError):
        raise UnknownProvider(f"unknown provider: {provider_id!r}") from None


def provider_choices() -> list[tuple[str, str]]:
    """(id, English name) pairs, e.g. for a model field's ``choices``."""
    return [(p.id, p.name_en) for p in PROVIDERS.values()]


def provider_as_json(provider: Provider) -> dict[str, Any]:
    """The public, JSON-ready view of one provider (camelCase keys, no credentials)."""
    return {
        "id": provider.id,
        "nameHe": provider.name_he,
        "nameEn": provider.name_en,
        "descriptionHe": provider.description_he,
        "descriptionEn": provider.description_en,
        "logo": provider.logo,
        "authKind": provider.auth_kind,
        "scopes": list(provider.scopes),
        "pkce": bool(provider.oauth and provider.oauth.pkce),
        "rateLimit": {
            "requests": provider.rate_limit.requests,
            "perSeconds": provider.rate_limit.per_seconds,
        },
        "webhookScheme": provider.webhook_scheme,
        "entityPairs": [
            {"local": pair.local, "remote": pair.remote, "directions": list(pair.directions)}
            for pair in provider.entity_pairs
        ],
        "docsUrl": provider.docs_url,
        "maturity": provider.maturity,
        "maturityNote": provider.maturity_note,
        "credentialFields": [f.as_json() for f in provider.credential_fields],
    }


def providers_by_category() -> list[dict[str, Any]]:
    """Categories with their providers, for the integrations page and the SPA."""
    return [
        {
            "id": category.id,
            "nameHe": category.name_he,
            "nameEn": category.name_en,
            "icon": category.icon,
            "providers": [provider_as_json(PROVIDERS[pid]) for pid in category.providers],
        }
        for category in CATEGORIES
    ]
