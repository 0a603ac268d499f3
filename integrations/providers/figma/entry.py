"""Figma: the catalog entry (what the hub knows before it calls; see ../README.md)."""

from __future__ import annotations

from integrations.providers.base import (
    IMPORT_ONLY,
    EntityPair,
    OAuthConfig,
    Provider,
    RateLimit,
    logo_path,
)

PROVIDER = Provider(
    id="figma",
    category="design",
    name_he="Figma",
    name_en="Figma",
    description_he="קישור קבצי Figma לפרויקטים ומעקב אחר גרסאות ועדכונים.",
    description_en="Link Figma files to projects and follow their versions and updates.",
    logo=logo_path("figma"),
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
    entity_pairs=(EntityPair("document", "file", IMPORT_ONLY),),
    docs_url="https://developers.figma.com/docs/rest-api/authentication",
    maturity="limited",
    maturity_note=(
        "Checked only against fixtures shaped like the REST API reference examples (team "
        "projects, project files, file meta), never against Figma itself. Unverified: the OAuth "
        "details marked VERIFY above, and the Tier-3 limits of file meta on View/Collab seats. "
        "Webhooks (FILE_UPDATE ...) are not registered yet: files are kept current by the schedule."
    ),
    notes=(
        "No change feed: each run lists the picked fileKeys (GET /v1/files/{key}/meta), every file "
        "of the picked projectIds and of every project of the picked teamIds, and removes documents "
        "whose file disappeared. Webhooks V2 (FILE_UPDATE, FILE_VERSION_UPDATE, FILE_COMMENT, "
        "LIBRARY_PUBLISH; PING on creation) carry a passcode; a wrong one must get 400."
    ),
)
