"""What every Google provider shares: the OAuth endpoints, the offline-access
parameters and the refresh-token notes, and the push channels' answer (Google Calendar,
Google Drive)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from integrations.providers.adapter import Watch
from integrations.providers.base import OAuthConfig

AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"
REVOKE_URL = "https://oauth2.googleapis.com/revoke"
API_BASE_URL = "https://www.googleapis.com"
# Without access_type=offline Google returns no refresh token; prompt=consent makes it
# return one again when the same user reconnects.
AUTHORIZE_PARAMS = {"access_type": "offline", "prompt": "consent"}
OAUTH_NOTES = (
    "Refresh token is reused (not rotated). It dies after ~6 months unused, on user revocation, "
    "or after 7 days while the OAuth consent screen is in 'Testing' status."
)


def oauth(*scopes: str) -> OAuthConfig:
    """Google's OAuth config for these scopes (PKCE, offline access, refresh token reused)."""
    return OAuthConfig(
        authorization_url=AUTHORIZE_URL,
        token_url=TOKEN_URL,
        revoke_url=REVOKE_URL,
        default_scopes=scopes,
        scope_separator=" ",
        pkce=True,
        extra_authorize_params=AUTHORIZE_PARAMS,
        token_auth_method="client_secret_post",
        refresh_rotates=False,
        notes=OAUTH_NOTES,
    )


def channel_watch(data: Mapping[str, Any], channel_id: str, ttl_seconds: int) -> Watch:
    """A ``watch`` answer (a Channel resource) as the engine's Watch: ``expiration`` is Unix
    milliseconds; without one the channel lives ``ttl_seconds``.
    https://developers.google.com/calendar/api/guides/push#watch-request"""
    try:
        expires = datetime.fromtimestamp(int(data["expiration"]) / 1000, tz=UTC)
    except (KeyError, TypeError, ValueError):
        expires = datetime.now(UTC) + timedelta(seconds=ttl_seconds)
    return Watch(channel_id=str(data.get("id") or channel_id), resource_id=str(data.get("resourceId") or ""),
                 expires_at=expires)
