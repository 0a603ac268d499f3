"""Custom API: the catalog entry (what the hub knows before it calls; see ../README.md)."""

from __future__ import annotations

from integrations.providers.base import (
    ALL_DIRECTIONS,
    LOCAL_ENTITY_TYPES,
    CredentialField,
    EntityPair,
    Provider,
    hub_default,
    logo_path,
)

PROVIDER = Provider(
    id="custom_api",
    category="webhooks",
    name_he="API מותאם אישית",
    name_en="Custom API",
    description_he="חיבור ל-REST API של מערכת פנימית עם מפתח API.",
    description_en="Connect to an in-house REST API with an API key.",
    logo=logo_path("custom_api"),
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
    rate_limit=hub_default(60, 60, "unknown target API"),
    webhook_scheme=None,
    # Each local type is its own remote type (the resource configured for it in settings.resources),
    # so the ids of two resources never meet in one link namespace.
    entity_pairs=tuple(EntityPair(t, t, ALL_DIRECTIONS) for t in LOCAL_ENTITY_TYPES),
    docs_url="",
    maturity="limited",
    maturity_note=(
        "Tested against the hub's own local REST server only (cursor paging, updated-since, "
        "create/update/delete), never a third-party API. Updates and deletes are unconditional (no "
        "version check); with an updated-since filter, removals are seen only by a full sync; a "
        "generic API's error bodies and rate limits are unknown (60 requests/min by default)."
    ),
    notes=(
        "A generic REST adapter configured per entity in settings.resources (list path, items path, "
        "cursor parameter and next-cursor path, id / updated-at fields, create/update/delete paths "
        "and methods); POST /sync {\"dryRun\": true} shows the first page mapped. autoCreate<Type>s governs both directions (remote type = local "
        "type). Outgoing calls go through the hub's outbound HTTP client (private-address checks "
        "apply to the tenant's base URL and every next-page URL, which must stay on its origin)."
    ),
)
