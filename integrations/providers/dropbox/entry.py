"""Dropbox: the catalog entry (what the hub knows before it calls; see ../README.md)."""

from __future__ import annotations

from integrations.providers.base import (
    ALL_DIRECTIONS,
    EntityPair,
    OAuthConfig,
    Provider,
    hub_default,
    logo_path,
)

PROVIDER = Provider(
    id="dropbox",
    category="storage",
    name_he="Dropbox",
    name_en="Dropbox",
    description_he="גיבוי וייבוא של מסמכי פרויקטים מול תיקייה ב-Dropbox.",
    description_en="Back up and import project documents with a Dropbox folder.",
    logo=logo_path("dropbox"),
    auth_kind="oauth2",
    oauth=OAuthConfig(
        authorization_url="https://www.dropbox.com/oauth2/authorize",
        token_url="https://api.dropboxapi.com/oauth2/token",
        revoke_url="https://api.dropboxapi.com/2/auth/token/revoke",
        revoke_auth="bearer",  # the access token as bearer, no body
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
        token_params=("account_id",),  # the app webhook names accounts (integrations.sync.app_push)
        notes="Short-lived access tokens (~4 h); the refresh token is long-lived and not rotated. "
        "Revoke is POST with the access token as bearer.",
    ),
    api_base_url="https://api.dropboxapi.com",
    test_endpoint=("POST", "/2/users/get_current_account"),
    credential_fields=(),
    rate_limit=hub_default(
        300, 60, "Dropbox publishes no numbers; 429 always carries Retry-After (seconds)"
    ),
    webhook_scheme="dropbox",
    entity_pairs=(EntityPair("document", "file", ALL_DIRECTIONS),),
    docs_url="https://www.dropbox.com/developers/documentation/http/documentation",
    maturity="limited",
    maturity_note=(
        "Document <-> file sync is built to the Dropbox API v2 reference and tested against a "
        "fake whose every request and answer is checked by Dropbox's own SDK (dropbox 12), "
        "never against Dropbox itself. Unverified or partial: the app webhook "
        "(/api/integrations/push/app/dropbox, set in the App Console) finds integrations by the "
        "account_id kept from the token answer, so connections made before this release wake "
        "only by the 5-minute poll until they re-connect; a deleted entry is resolved to its file through list_revisions (one call each); a rename "
        "split across two listing pages becomes a delete and a create; no hub id is stamped on "
        "a file (a re-connect pairs records by name and size); the file's link is the Dropbox "
        "web address of its folder (not an API field); a document moved to another project or "
        "client later keeps its file in the folder it went to first; an imported file's kind "
        "comes from its name's MIME type only (photo or document); a file replaced in place at "
        "the same address with the same size is not seen as changed."
    ),
    notes=(
        "Incremental sync: files/list_folder (recursive) then list_folder/continue with the "
        "cursor; a 'reset' error means relist. Webhooks are per app (not per user): GET "
        "?challenge= echo, then X-Dropbox-Signature = hex HMAC-SHA256(app secret, raw body); "
        "the body only lists account ids, so run the cursor sync for each."
    ),
)
