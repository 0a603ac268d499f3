"""What every Microsoft provider shares: the identity-platform endpoints, the
Graph API origin and the refresh-token notes (Outlook Calendar, OneDrive)."""

from __future__ import annotations

from integrations.providers.base import OAuthConfig

# Tenant 'common' accepts both work/school and personal Microsoft accounts; pin a tenant with
# set_provider_app --authorization-url/--token-url if needed.
AUTHORIZE_URL = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
TOKEN_URL = "https://login.microsoftonline.com/common/oauth2/v2.0/token"
OAUTH_NOTES = (
    "Each refresh returns a new refresh token that must replace the stored one (the old one is not "
    "revoked; 90-day lifetime). No per-token revoke endpoint: /me/revokeSignInSessions would revoke "
    "all of the user's sessions, so disconnect only forgets the tokens. Access tokens live 60-90 min."
)
GRAPH_API = "https://graph.microsoft.com/v1.0"


def oauth(*scopes: str) -> OAuthConfig:
    """Microsoft identity platform OAuth for these scopes (PKCE, rotating refresh tokens, no revoke)."""
    return OAuthConfig(
        authorization_url=AUTHORIZE_URL,
        token_url=TOKEN_URL,
        revoke_url=None,
        default_scopes=scopes,
        scope_separator=" ",
        pkce=True,
        extra_authorize_params={},
        token_auth_method="client_secret_post",
        refresh_rotates=True,
        notes=OAUTH_NOTES,
    )
