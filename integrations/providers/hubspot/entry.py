"""HubSpot: the catalog entry (what the hub knows before it calls; see ../README.md)."""

from __future__ import annotations

from integrations.providers.base import (
    ALL_DIRECTIONS,
    IMPORT_ONLY,
    EntityPair,
    OAuthConfig,
    Provider,
    RateLimit,
    logo_path,
)

PROVIDER = Provider(
    id="hubspot",
    category="crm",
    name_he="HubSpot",
    name_en="HubSpot",
    description_he="סנכרון לקוחות ואנשי קשר מול HubSpot CRM.",
    description_en="Sync clients and contacts with HubSpot CRM.",
    logo=logo_path("hubspot"),
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
        EntityPair("client", "contact", ALL_DIRECTIONS),
        EntityPair("client", "company", IMPORT_ONLY),
    ),
    docs_url="https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide",
    maturity="limited",
    maturity_note=(
        "Contacts <-> clients (both ways) and companies -> clients (import) are built to the CRM "
        "v3 objects and search references and tested against a fake shaped as those pages, "
        "never against HubSpot itself; HubSpot's SDK (hubspot-api-client 12) judges the fake: "
        "its models read every answer and build every request the adapter sends (its one "
        "known typing gap, search sorts, checked against the search page). "
        "Scheduled, not realtime: HubSpot webhooks are not wired to a run yet. Unverified or "
        "partial: a record archived at HubSpot is not removed here (search does not return "
        "archived records); an export goes in batches of up to 100: new clients by batch upsert "
        "keyed by email, edits by batch update by contact id, a contact HubSpot refuses (its "
        "multi-status 207 errors) a failed item alone -- HubSpot's multi-status and result order "
        "checked only against its docs and SDK (a client without email is a plain create, one "
        "call each, not idempotent); associations are kept by "
        "updating only mapped properties but are not imported (a contact's company is not "
        "linked to the client); a refused refresh token (HubSpot's BAD_REFRESH_TOKEN body, not "
        "RFC invalid_grant) marks the connection 'error' rather than 'expired'; the 10,000-result "
        "window slides on the modified date, so more than 10,000 records modified in the same "
        "millisecond fail the run (never loop)."
    ),
    notes=(
        "Incremental sync: CRM search on lastmodifieddate (contacts) / hs_lastmodifieddate (other "
        "objects) >= cursor, ascending, 'after' paging; 10,000 results per query, so slide the "
        "window. Webhooks v3: base64 HMAC-SHA256(client secret, method + URI + body + "
        "timestamp), timestamp in ms, reject after 5 min. Events carry changeSource for echo "
        "suppression."
    ),
)
