"""Access tokens: reading/writing the encrypted OAuthCredentials, and ``ensure_valid_token``.

Exactly one refresh under concurrency: the refresh path takes a PostgreSQL row
lock on the integration (``SELECT ... FOR UPDATE``) and re-reads it after the
lock is granted; whoever waited finds the fresh token (a higher
``token_version``) and uses it instead of refreshing again. That matters because
several providers rotate refresh tokens (Xero, QuickBooks, Microsoft, Canva):
a second refresh with the old refresh token would fail, or worse, kill the
connection. The new access token and the rotated refresh token are written in
one encrypted JSON value in the same UPDATE, so they can never disagree.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_noop as N_

from core import retry
from core.realtime import publish
from core.tenant_context import tenant_scope
from core.words import SaidError, Words, english, words, words_of
from integrations import oauth
from integrations.audit import log_action
from integrations.models import Integration
from integrations.providers.catalog import get_provider

REFRESH_MARGIN = timedelta(minutes=5)  # seed יא: refresh when less than 5 minutes remain
MAX_REFRESH_BACKOFF = timedelta(hours=1)


class TokenUnavailable(SaidError):
    """No usable access token. ``kind``: ``expired`` (reconnect needed), ``transient``
    (retry later), ``not_oauth`` or ``config``. Messages carry no secrets; a message kept as
    words (core.words) is said in the reader's language by ``in_words()`` (the API's answer)."""

    def __init__(self, kind: str, message: str | Words):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Credentials:
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scopes: list[str]

    def __repr__(self) -> str:
        return f"Credentials(expires_at={self.expires_at!r}, scopes={self.scopes!r})"

    def fresh(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.expires_at is None or self.expires_at > now + REFRESH_MARGIN

    def as_json(self) -> dict[str, Any]:
        """The seed's OAuthCredentials (camelCase), as stored encrypted in ``oauth_encrypted``."""
        return {
            "accessToken": self.access_token,
            "refreshToken": self.refresh_token,
            "tokenExpiresAt": self.expires_at.isoformat() if self.expires_at else None,
            "scopes": list(self.scopes),
        }


def read_credentials(integration: Integration) -> Credentials | None:
    raw = integration.get_secret("oauth_encrypted")
    if not raw:
        return None
    data = json.loads(raw)
    expires = parse_datetime(data["tokenExpiresAt"]) if data.get("tokenExpiresAt") else None
    return Credentials(data["accessToken"], data.get("refreshToken"), expires, list(data.get("scopes") or []))


def write_credentials(integration: Integration, tokens: oauth.TokenSet) -> Credentials:
    """Set (not save) the encrypted credentials and their non-secret mirrors."""
    creds = Credentials(tokens.access_token, tokens.refresh_token, tokens.expires_at, list(tokens.scopes))
    integration.set_secret("oauth_encrypted", json.dumps(creds.as_json()))
    integration.token_expires_at = creds.expires_at
    integration.scopes = list(creds.scopes)
    integration.token_version = (integration.token_version or 0) + 1
    integration.expiry_warned_at = None
    return creds


_TOKEN_FIELDS = ["oauth_encrypted", "token_expires_at", "scopes", "token_version", "expiry_warned_at"]


def _backoff(failures: int) -> timedelta:
    """Wait before the next refresh after ``failures`` transient failures: 1 min doubling, ≤ 1 h."""
    cap = MAX_REFRESH_BACKOFF.total_seconds()
    return timedelta(seconds=retry.exponential(failures, base=60, cap=cap))


def ensure_valid_token(
    *, integration_id: uuid.UUID | str, tenant_id: uuid.UUID | str, force: bool = False, seen_version: int | None = None
) -> str:
    """A usable access token for the integration, refreshing it when < 5 minutes remain.

    ``force`` (after a 401) refreshes even a token that looks fresh -- unless its
    ``token_version`` differs from ``seen_version``, i.e. someone else already did.
    Runs in its own tenant scope (a savepoint when nested in a request).
    """
    with tenant_scope(tenant_id):
        integration = Integration.objects.get(pk=integration_id)
        creds = read_credentials(integration)
        if creds is None:
            raise TokenUnavailable("not_oauth", "this integration has no OAuth credentials")
        if not force and creds.fresh():
            return creds.access_token
    return _refresh_locked(integration_id=integration_id, tenant_id=tenant_id, force=force, seen_version=seen_version)


def _refresh_locked(*, integration_id, tenant_id, force: bool, seen_version: int | None) -> str:
    failure: TokenUnavailable | None = None
    result: str | None = None
    with tenant_scope(tenant_id):
        integration = Integration.objects.select_for_update().get(pk=integration_id)
        creds = read_credentials(integration)
        if creds is None:
            raise TokenUnavailable("not_oauth", "this integration has no OAuth credentials")
        someone_refreshed = seen_version is not None and integration.token_version != seen_version
        if someone_refreshed or (not force and creds.fresh()):
            return creds.access_token  # a concurrent caller refreshed while we waited for the lock
        provider = get_provider(integration.provider)
        started = timezone.now()
        if not creds.refresh_token:
            if creds.expires_at is None or creds.expires_at > started:
                return creds.access_token  # cannot refresh, still valid: beat warns before it dies
            failure = _mark_expired(integration, provider.id, started,
                                    words(N_("the token expired and the provider gave no refresh token")),
                                    "no_refresh_token")
        else:
            app = oauth.app_config(provider)
            try:
                tokens = oauth.refresh(app, refresh_token=creds.refresh_token)
            except oauth.OAuthFailure as exc:
                failure = _refresh_failed(integration, provider.id, creds, exc, started)
                if isinstance(failure, _AlreadyRefreshed):
                    result, failure = failure.token, None
                elif failure is None:  # transient, but the current token still works
                    result = creds.access_token
            else:
                new = write_credentials(integration, tokens)
                integration.status = Integration.Status.CONNECTED
                integration.last_error = integration.last_error_words = None
                integration.refresh_failures = 0
                integration.next_refresh_attempt_at = None
                integration.last_refresh_at = timezone.now()
                integration.save(
                    update_fields=[*_TOKEN_FIELDS, "status", "last_error", "last_error_words", "refresh_failures",
                                   "next_refresh_attempt_at", "last_refresh_at", "updated_at"]
                )
                log_action(integration=integration, action="token_refresh", status="success", started_at=started,
                           summary={"rotated": bool(tokens.refresh_token and tokens.refresh_token != creds.refresh_token)})
                result = new.access_token
    if failure is not None:
        raise failure  # after the scope committed the status change
    assert result is not None
    return result


def _set_last_error(integration: Integration, said: Words) -> None:
    """The integration's last error as words (core.words): the English text in ``last_error``
    (what the API and the admin show), the words beside it for the settings page's reader."""
    integration.last_error = english(said)[:2000]
    integration.last_error_words = said


def _mark_expired(integration: Integration, provider_id: str, started: datetime, said: Words, code: str) -> TokenUnavailable:
    message = english(said)
    integration.status = Integration.Status.EXPIRED
    _set_last_error(integration, said)
    integration.next_refresh_attempt_at = None
    integration.save(update_fields=["status", "last_error", "last_error_words", "next_refresh_attempt_at", "updated_at"])
    log_action(integration=integration, action="token_refresh", status="failed", started_at=started,
               error_message=message, error_code=code, error_words=said)
    publish(integration.tenant_id, "integration.disconnected",
            {"integrationId": str(integration.pk), "provider": provider_id, "reason": "token_expired"})
    return TokenUnavailable("expired", said)


def _refresh_failed(
    integration: Integration, provider_id: str, creds: Credentials, exc: oauth.OAuthFailure, started: datetime
) -> TokenUnavailable | None:
    if exc.kind == "invalid_grant":
        # Re-read: a changed token_version means another writer won a race (only possible for
        # writers outside this lock, e.g. a reconnect); then the fresh token is fine.
        current = Integration.objects.filter(pk=integration.pk).values_list("token_version", flat=True).first()
        if current is not None and current != integration.token_version:
            integration.refresh_from_db()
            fresh = read_credentials(integration)
            if fresh is not None:
                return None if fresh.access_token == creds.access_token else _AlreadyRefreshed(fresh.access_token)
        return _mark_expired(
            integration, provider_id, started,
            words(N_("The provider no longer accepts this connection (revoked or expired): reconnect it.")),
            "invalid_grant",
        )
    if exc.kind in ("rejected", "config"):
        integration.status = Integration.Status.ERROR
        _set_last_error(integration, words(N_("Token refresh refused: %(error)s"), error=words_of(exc) or str(exc)))
        integration.refresh_failures += 1
        integration.next_refresh_attempt_at = None  # retrying a refused request will not help
        integration.save(update_fields=["status", "last_error", "last_error_words", "refresh_failures",
                                        "next_refresh_attempt_at", "updated_at"])
        log_action(integration=integration, action="token_refresh", status="failed", started_at=started,
                   error_message=str(exc), error_code=exc.kind, error_words=words_of(exc))
        return TokenUnavailable("config" if exc.kind == "config" else "expired", words_of(exc) or str(exc))
    # transient: network, timeout, 5xx, 429 -> status error, retried by beat with backoff
    integration.refresh_failures += 1
    integration.next_refresh_attempt_at = timezone.now() + _backoff(integration.refresh_failures)
    _set_last_error(integration, words(N_("Token refresh failed temporarily: %(error)s"), error=words_of(exc) or str(exc)))
    still_valid = creds.expires_at is not None and creds.expires_at > timezone.now()
    if not still_valid:
        integration.status = Integration.Status.ERROR
    integration.save(update_fields=["status", "last_error", "last_error_words", "refresh_failures",
                                    "next_refresh_attempt_at", "updated_at"])
    log_action(integration=integration, action="token_refresh", status="failed", started_at=started,
               error_message=str(exc), error_code="transient", error_words=words_of(exc))
    return None if still_valid else TokenUnavailable("transient", words_of(exc) or str(exc))


class _AlreadyRefreshed(TokenUnavailable):
    """Internal: a lost race resolved by the re-read; carries the winner's token."""

    def __init__(self, token: str):
        super().__init__("refreshed", "refreshed by another worker")
        self.token = token


def integration_credentials_refused(integration: Integration, reason: Exception | str) -> None:
    """A stored API key (or token) the provider no longer takes, seen by a sync run or a
    message send: the integration is ``expired`` (the tenant reconnects; schedules skip it)
    and the browsers hear it, as a refused token refresh does. Inside the tenant's
    transaction; only a connected integration changes (once). ``reason``: the refusal (its
    words kept when it says itself that way, core.words) or its text."""
    updated = Integration.objects.filter(pk=integration.pk, tenant_id=integration.tenant_id,
                                         status=Integration.Status.CONNECTED).update(
        status=Integration.Status.EXPIRED, last_error=str(reason)[:2000],
        last_error_words=words_of(reason) if isinstance(reason, BaseException) else None, updated_at=timezone.now())
    if updated:
        publish(integration.tenant_id, "integration.disconnected",
                {"integrationId": str(integration.pk), "provider": integration.provider,
                 "reason": "credentials_refused"})
