"""Canva: the catalog entry (what the hub knows before it calls; see ../README.md)."""

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
    id="canva",
    category="design",
    name_he="Canva",
    name_en="Canva",
    description_he="ייבוא עיצובים מ-Canva כמסמכי פרויקט.",
    description_en="Import Canva designs as project documents.",
    logo=logo_path("canva"),
    auth_kind="oauth2",
    oauth=OAuthConfig(
        authorization_url="https://www.canva.com/api/oauth/authorize",
        token_url="https://api.canva.com/rest/v1/oauth/token",
        revoke_url="https://api.canva.com/rest/v1/oauth/revoke",
        # design:content:read: export jobs (POST /v1/exports).
        default_scopes=("design:meta:read", "design:content:read", "asset:read", "profile:read"),
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
    entity_pairs=(EntityPair("document", "design", IMPORT_ONLY),),
    docs_url="https://www.canva.dev/docs/connect/authentication/",
    maturity="limited",
    maturity_note=(
        "Checked only against fixtures shaped like the Connect API reference examples (list "
        "designs, get design, create/get export job), never against Canva itself. Unverified: the "
        "error code of a refused continuation token (any 400 is taken as one), and whether "
        "thumbnail URLs expire before the next scheduled run (they are refreshed each run). "
        "Exports are on request only (PDF/PNG, download URLs as Canva returns them)."
    ),
    notes=(
        "No change feed: each run lists the picked designs (settings.designIds) or every design "
        "the user can list (settings.ownership; sort_by=modified_descending, continuation token) "
        "and removes documents whose design disappeared. Public integrations need Canva's review."
    ),
)
