"""Xero: the catalog entry (what the hub knows before it calls; see ../README.md)."""

from __future__ import annotations

from integrations.providers.base import (
    ALL_DIRECTIONS,
    EXPORT_ONLY,
    EntityPair,
    OAuthConfig,
    Provider,
    RateLimit,
    logo_path,
)

PROVIDER = Provider(
    id="xero",
    category="accounting",
    name_he="Xero",
    name_en="Xero",
    description_he="אנשי קשר, חשבוניות וחשבונות ספקים מול Xero.",
    description_en="Contacts, sales invoices and bills with Xero.",
    logo=logo_path("xero"),
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
        EntityPair("client", "Contact", ALL_DIRECTIONS),
        # Export only: Xero flags a contact as a supplier only once it has a bill.
        EntityPair("supplier", "Contact[supplier]", EXPORT_ONLY),
        EntityPair("payment", "Invoice[ACCREC]", ("export", "bidirectional")),
        EntityPair("expense", "Invoice[ACCPAY]", EXPORT_ONLY),
    ),
    docs_url="https://developer.xero.com/documentation/guides/oauth2/auth-flow/",
    maturity="stable",
    notes=(
        "Incremental sync: If-Modified-Since on GETs, paged; keep the server's max "
        "UpdatedDateUTC, not the local clock. Send Idempotency-Key on writes. Webhooks: "
        "x-xero-signature = base64 HMAC-SHA256(webhook key, raw body); the Intent-to-Receive "
        "check requires 200 for a good signature and 401 for a bad one. Sync: contacts as clients "
        "both ways (suppliers-only contacts left out), suppliers export only, sales invoices from "
        "payments (DRAFT, VAT-inclusive), bills from expenses (export); the organisation "
        "(Xero-tenant-id) is chosen in settings.organisationId when the connection reaches "
        "several. Xero has no conditional write: updates read-compare-write on UpdatedDateUTC."
    ),
)
