"""QuickBooks Online: the catalog entry (what the hub knows before it calls; see ../README.md)."""

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
    id="quickbooks",
    category="accounting",
    name_he="QuickBooks Online",
    name_en="QuickBooks Online",
    description_he="לקוחות, ספקים, חשבוניות והוצאות מול QuickBooks Online.",
    description_en="Customers, vendors, invoices and expenses with QuickBooks Online.",
    logo=logo_path("quickbooks"),
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
        EntityPair("client", "Customer", ALL_DIRECTIONS),
        EntityPair("supplier", "Vendor", ALL_DIRECTIONS),
        EntityPair("payment", "Invoice", ("export", "bidirectional")),
        EntityPair("expense", "Purchase", EXPORT_ONLY),
        EntityPair("expense", "Bill", EXPORT_ONLY),
    ),
    docs_url="https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture",
    maturity="stable",
    notes=(
        "Incremental sync: CDC (/cdc?entities=...&changedSince=) looks back at most 30 days and "
        "returns at most 1,000 objects per call, so use short windows; deletions come as "
        "status=Deleted. Writes need the object's SyncToken. Webhooks: intuit-signature = "
        "base64 HMAC-SHA256(verifier token, raw body), no timestamp; payloads moved to the "
        "CloudEvents format. Sync: customers and vendors both ways (deactivated = removed), "
        "invoices from payments (export; import of edits with bidirectional), expenses as Purchase "
        "or Bill (export); amounts Decimal, VAT split by invoiceSettings.defaultTaxRate with "
        "GlobalTaxCalculation TaxInclusive -- the tax code a non-US company needs on each line "
        "(TaxCodeRef) is not set (VERIFY against the company's tax setup); the hub id is not "
        "stamped on QuickBooks objects (no free field), so a re-connect re-links by identical values."
    ),
)
