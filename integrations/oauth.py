"""The OAuth 2.0 protocol layer: app settings, PKCE, authorization URLs, code
exchange, refresh and revoke.

requests-oauthlib does the protocol (request shapes, token parsing, error
classes); everything the hub owns around it -- where client credentials come
from, which endpoints are overridden, how the client authenticates at the token
endpoint, how failures are classified -- is here. No database writes: services
and tokens decide what to store.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_noop as N_
from oauthlib.oauth2.rfc6749 import errors as oauth_errors
from oauthlib.oauth2.rfc6749.utils import is_secure_transport
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from architect_studio.env import env_str
from core.outbound import DeadlineAdapter, ResponseTooLarge
from core.words import SaidError, Words, words
from integrations.providers.catalog import OAuthConfig, Provider

# Providers often grant a different (wider or narrower) scope set than asked for;
# oauthlib would raise a Warning for that. We record what was granted instead.
os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")

TOKEN_TIMEOUT = (5, 20)  # connect, whole call (wall clock, DNS and body included) seconds
#: Token and revocation answers are small; a larger one is refused while it is read.
TOKEN_MAX_RESPONSE_BYTES = 256 * 1024
STATE_TTL = timedelta(minutes=10)


class OAuthFailure(SaidError):
    """A classified failure talking to a token endpoint.

    ``kind``: ``invalid_grant`` (the grant is dead: revoked, expired, reused),
    ``rejected`` (other OAuth error: bad client, bad request), ``transient``
    (network, timeout, 5xx, 429) or ``config`` (no client id, etc.). The message
    never contains tokens, codes or secrets. It is words (core.words): ``str()`` is the
    English text, ``words`` what a page says in its reader's language later.
    """

    def __init__(self, kind: str, message: str | Words, status: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.status = status


class NotConfigured(OAuthFailure):
    def __init__(self, message: str):
        super().__init__("config", message)


class InsecureEndpoint(NotConfigured):
    """A provider endpoint that is not https while oauthlib's opt-in is off."""

    SETTING = "OAUTHLIB_INSECURE_TRANSPORT=1"

    def __init__(self, provider_id: str, which: str):
        super().__init__(
            f"The {which} endpoint of {provider_id} is not https, and OAuth 2.0 requires https. "
            f"For a local or test server only, start the hub with {self.SETTING}."
        )


def check_transport(app: AppConfig) -> None:
    """Refuse http endpoints up front (oauthlib would raise InsecureTransportError
    mid-flow: at the consent URL, at the code exchange or at a refresh).
    ``is_secure_transport`` is oauthlib's own test, so its env opt-in applies."""
    for which, url in (("authorization", app.authorization_url), ("token", app.token_url),
                       ("refresh", app.refresh_url)):
        if url and not is_secure_transport(url):
            raise InsecureEndpoint(app.provider_id, which)


@dataclass(frozen=True)
class AppConfig:
    """The effective OAuth app of one provider: ProviderApp row, then environment, then catalog."""

    provider_id: str
    client_id: str
    client_secret: str
    authorization_url: str
    token_url: str
    refresh_url: str
    revoke_url: str
    api_base_url: str
    scopes: tuple[str, ...]
    oauth: OAuthConfig | None

    def __repr__(self) -> str:  # never print the secret
        return f"AppConfig(provider_id={self.provider_id!r}, client_id={self.client_id!r})"


def _env(provider_id: str, suffix: str) -> str:
    return env_str(f"INTEGRATIONS_{provider_id.upper()}_{suffix}") or ""


def app_config(provider: Provider) -> AppConfig:
    """Effective settings; env vars ``INTEGRATIONS_<PROVIDER>_CLIENT_ID`` / ``_CLIENT_SECRET`` /
    ``_API_BASE_URL`` fill what the ProviderApp row leaves empty."""
    from integrations.models import ProviderApp

    row = ProviderApp.objects.filter(provider=provider.id).first()
    oauth = provider.oauth
    secret = (row.get_secret("client_secret_encrypted") if row else None) or _env(provider.id, "CLIENT_SECRET")
    token_url = (row and row.token_url) or (oauth.token_url if oauth else "")
    refresh_default = oauth.refresh_url if oauth and oauth.refresh_url else None
    scopes = tuple((row.scopes.split() if row and row.scopes.strip() else None) or provider.scopes)
    return AppConfig(
        provider_id=provider.id,
        client_id=(row and row.client_id) or _env(provider.id, "CLIENT_ID"),
        client_secret=secret or "",
        authorization_url=(row and row.authorization_url) or (oauth.authorization_url if oauth else ""),
        token_url=token_url,
        # A token-URL override also moves refreshes (a test or regional endpoint serves both).
        refresh_url=(row and row.token_url) or refresh_default or token_url,
        revoke_url=(row and row.revoke_url) or ((oauth.revoke_url or "") if oauth else ""),
        api_base_url=(row and row.api_base_url) or _env(provider.id, "API_BASE_URL"),
        scopes=scopes,
        oauth=oauth,
    )


def redirect_uri(provider_id: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/api/integrations/callback/{provider_id}"


def new_state() -> str:
    return secrets.token_urlsafe(32)


def new_nonce() -> str:
    """The browser binding of a state: set as a cookie by connect, required by the callback."""
    return secrets.token_urlsafe(32)


def nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode("utf-8", "surrogatepass")).hexdigest()


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8", "surrogatepass")).hexdigest()


def new_code_verifier() -> str:
    # RFC 7636: 43-128 characters of [A-Z a-z 0-9 - . _ ~]; token_urlsafe(64) gives 86.
    return secrets.token_urlsafe(64)


def code_challenge_s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _session(app: AppConfig, *, state: str | None = None, token: dict | None = None) -> OAuth2Session:
    oauth = app.oauth
    scope = list(app.scopes) if app.scopes else None
    session = OAuth2Session(
        client_id=app.client_id, redirect_uri=redirect_uri(app.provider_id), scope=scope, state=state, token=token
    )
    # Proxies from the environment would see tokens; the hub talks to providers directly.
    session.trust_env = False
    _bound(session)
    if oauth and oauth.scope_separator != " ":
        # oauthlib joins scopes with spaces; pass the provider's own joined string instead.
        session.scope = [oauth.scope_separator.join(app.scopes)] if app.scopes else None
        session._client.scope = session.scope

    def _check_status(response: requests.Response) -> requests.Response:
        # oauthlib would try to parse a 5xx/429 page as a token response; classify first.
        if response.status_code >= 500 or response.status_code == 429:
            raise OAuthFailure("transient", words(N_("token endpoint answered HTTP %(status)s"), status=response.status_code), response.status_code)
        return response

    session.register_compliance_hook("access_token_response", _check_status)
    session.register_compliance_hook("refresh_token_response", _check_status)
    return session


def _bound(session: requests.Session) -> requests.Session:
    """Every token-endpoint call ends within TOKEN_TIMEOUT[1] seconds, its answer capped."""
    for prefix in ("https://", "http://"):
        session.mount(prefix, DeadlineAdapter(deadline=TOKEN_TIMEOUT[1], connect_timeout=TOKEN_TIMEOUT[0],
                                              max_response_bytes=TOKEN_MAX_RESPONSE_BYTES))
    return session


def _plain_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return _bound(session)


def authorization_url(app: AppConfig, *, state: str, code_verifier: str | None) -> str:
    """The provider's consent URL with state, PKCE S256 and the catalog's extra params."""
    if not app.client_id:
        raise NotConfigured(
            f"{app.provider_id} has no OAuth client id: run `manage.py set_provider_app {app.provider_id} "
            "--client-id ... --client-secret ...` or set it in the admin"
        )
    extra: dict[str, Any] = dict(app.oauth.extra_authorize_params) if app.oauth else {}
    if code_verifier:
        extra.update(code_challenge=code_challenge_s256(code_verifier), code_challenge_method="S256")
    check_transport(app)
    url, _ = _session(app, state=state).authorization_url(app.authorization_url, **extra)
    return url


def _client_auth(app: AppConfig) -> tuple[HTTPBasicAuth | None, dict[str, Any]]:
    """How this provider wants the client to authenticate at the token endpoint."""
    method = app.oauth.token_auth_method if app.oauth else "client_secret_post"
    if method == "client_secret_basic":
        return HTTPBasicAuth(app.client_id, app.client_secret), {"include_client_id": False}
    return None, {"include_client_id": True, "client_secret": app.client_secret}


def _classify(exc: Exception) -> OAuthFailure:
    if isinstance(exc, OAuthFailure):
        return exc
    if isinstance(exc, oauth_errors.InsecureTransportError):
        return OAuthFailure("config", words(N_("a provider endpoint is not https (allow it with %(setting)s, "
                                              "for local testing only)"), setting=InsecureEndpoint.SETTING))
    if isinstance(exc, oauth_errors.InvalidGrantError):
        return OAuthFailure("invalid_grant", words(N_("the provider rejected the grant (invalid_grant)")), 400)
    if isinstance(exc, oauth_errors.OAuth2Error):
        # .error is the RFC 6749 code (invalid_client, unauthorized_client, ...); never the body.
        return OAuthFailure("rejected", words(N_("the provider refused the request (%(error)s)"), error=str(exc.error)), exc.status_code)
    if isinstance(exc, ResponseTooLarge):
        return OAuthFailure("rejected", words(N_("the token endpoint answered more than a token response can be")))
    if isinstance(exc, requests.Timeout):
        return OAuthFailure("transient", words(N_("the token endpoint timed out")))
    if isinstance(exc, requests.RequestException):
        return OAuthFailure("transient", words(N_("could not reach the token endpoint (%(error)s)"), error=type(exc).__name__))
    if isinstance(exc, ValueError):
        return OAuthFailure("rejected", words(N_("the token endpoint answered something that is not a token response")))
    raise exc


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scopes: tuple[str, ...]
    extra: dict[str, Any]

    def __repr__(self) -> str:
        return f"TokenSet(expires_at={self.expires_at!r}, scopes={self.scopes!r}, refresh={'yes' if self.refresh_token else 'no'})"


_TOKEN_KEYS = {"access_token", "refresh_token", "expires_in", "expires_at", "scope", "token_type", "id_token"}


def _token_set(raw: dict[str, Any], requested: tuple[str, ...], previous_refresh: str | None = None) -> TokenSet:
    if not raw.get("access_token"):
        raise OAuthFailure("rejected", words(N_("the token response has no access_token")))
    expires_at = None
    if raw.get("expires_in") not in (None, ""):
        try:
            expires_at = timezone.now() + timedelta(seconds=int(float(raw["expires_in"])))
        except (TypeError, ValueError):
            expires_at = None
    scope = raw.get("scope")
    if isinstance(scope, str):
        granted = tuple(s for s in scope.replace(",", " ").split() if s)
    elif isinstance(scope, list | tuple):
        granted = tuple(str(s) for s in scope)
    else:
        granted = requested
    # Non-secret extras worth keeping (Salesforce instance_url, HubSpot hub_id, ...).
    extra = {k: v for k, v in raw.items() if k not in _TOKEN_KEYS and isinstance(v, str | int | float | bool)}
    return TokenSet(
        access_token=str(raw["access_token"]),
        # Providers that do not rotate omit refresh_token on refresh: keep the old one.
        refresh_token=str(raw["refresh_token"]) if raw.get("refresh_token") else previous_refresh,
        expires_at=expires_at,
        scopes=granted,
        extra=extra,
    )


def exchange_code(app: AppConfig, *, code: str, code_verifier: str | None) -> TokenSet:
    auth, kwargs = _client_auth(app)
    if code_verifier:
        kwargs["code_verifier"] = code_verifier
    try:
        check_transport(app)
        raw = _session(app).fetch_token(app.token_url, code=code, auth=auth, timeout=TOKEN_TIMEOUT, **kwargs)
    except Exception as exc:  # classified below; anything unknown re-raises
        raise _classify(exc) from None
    return _token_set(dict(raw), app.scopes)


def refresh(app: AppConfig, *, refresh_token: str) -> TokenSet:
    auth, kwargs = _client_auth(app)
    kwargs.pop("include_client_id", None)
    if auth is None:
        kwargs["client_id"] = app.client_id
    try:
        check_transport(app)
        raw = _session(app).refresh_token(
            app.refresh_url, refresh_token=refresh_token, auth=auth, timeout=TOKEN_TIMEOUT, **kwargs
        )
    except Exception as exc:
        raise _classify(exc) from None
    return _token_set(dict(raw), app.scopes, previous_refresh=refresh_token)


def revoke(app: AppConfig, *, token: str, token_type_hint: str) -> int | None:
    """Best-effort RFC 7009 revocation; returns the HTTP status (None when unreachable).

    The entry's ``revoke_auth`` says how: ``bearer`` (Dropbox) sends the access token
    as bearer and no body; ``rfc7009`` sends the RFC 7009 form with client authentication.
    """
    if not app.revoke_url:
        return None
    try:
        if app.oauth is not None and app.oauth.revoke_auth == "bearer":
            response = _plain_session().post(app.revoke_url, headers={"Authorization": f"Bearer {token}"},
                                             timeout=TOKEN_TIMEOUT)
        else:
            data = {"token": token, "token_type_hint": token_type_hint}
            auth, kwargs = _client_auth(app)
            if auth is None:
                data.update(client_id=app.client_id, client_secret=app.client_secret)
            response = _plain_session().post(app.revoke_url, data=data, auth=auth, timeout=TOKEN_TIMEOUT)
    except requests.RequestException:
        return None
    return response.status_code
