"""Writes of the connections feature: connect (OAuth or credentials), settings,
refresh, test, disconnect, provider apps. Views, admin actions, tasks and the
management command are thin layers over these functions."""

from __future__ import annotations

import hmac
import json
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from core import kick
from core.realtime import publish
from core.tenant_context import tenant_scope
from core.words import SaidError, Words, english, is_words, words, words_of
from integrations import oauth
from integrations.audit import log_action
from integrations.client import Connection, ProviderClient, ProviderError
from integrations.discovery import integration_discover_containers
from integrations.models import Integration, OAuthState, ProviderApp
from integrations.provider_words import provider_names, test_failure_words  # noqa: F401 - re-exported
from integrations.providers.catalog import Provider, get_provider
from integrations.providers.registry import adapter_for
from integrations.sync.hooks import hook_url
from integrations.sync.push import push_stop_all
from integrations.tokens import TokenUnavailable, ensure_valid_token, read_credentials, write_credentials

log = logging.getLogger("architect_studio.integrations")

STATE_HASH_SETTING = "app.oauth_state_hash"
MAX_CREDENTIAL_LENGTH = 4000


class ConnectError(SaidError):
    """A connect attempt that must not create anything; ``code`` is shown to the user, the
    message may be words (core.words: ``str()`` English, ``in_words()`` the reader's language).
    ``provider_status`` / ``provider_kind``: the provider's HTTP status and the client's
    ProviderError kind when the provider's answer is the reason (pages put it in words)."""

    def __init__(self, code: str, message: str | Words, *, http_status: int = 400, fields: dict | None = None,
                 provider_status: int | None = None, provider_kind: str | None = None,
                 field_codes: dict[str, str] | None = None):
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        self.fields = fields
        self.provider_status = provider_status
        self.provider_kind = provider_kind
        #: credential field -> what is wrong with it (``required``, ``url``, ``string``, ``too_long``,
        #: ``provider``): a page words it its own way without reading the (translated) message.
        self.field_codes = field_codes or {}


# --------------------------------------------------------------------- provider apps
def provider_app_set(*, provider_id: str, client_id: str | None = None, client_secret: str | None = None,
                     authorization_url: str | None = None, token_url: str | None = None,
                     revoke_url: str | None = None, api_base_url: str | None = None,
                     scopes: str | None = None) -> ProviderApp:
    """Create or update a provider's app; ``None`` leaves a value unchanged, "" clears it."""
    get_provider(provider_id)  # raises UnknownProvider
    app, _created = ProviderApp.objects.get_or_create(provider=provider_id)
    for name, value in (("client_id", client_id), ("authorization_url", authorization_url), ("token_url", token_url),
                        ("revoke_url", revoke_url), ("api_base_url", api_base_url), ("scopes", scopes)):
        if value is not None:
            setattr(app, name, value.strip())
    if client_secret is not None:
        app.set_secret("client_secret_encrypted", client_secret)
    app.full_clean(exclude=["client_secret_encrypted"])
    app.save()
    return app


# --------------------------------------------------------------------- OAuth
@dataclass(frozen=True)
class OAuthStart:
    """What connect hands back: the consent URL for the browser, and the nonce the
    view sets as a cookie on that same browser (only its hash is stored)."""

    authorization_url: str
    state_key: str
    nonce: str

    def __repr__(self) -> str:  # never print the nonce
        return f"OAuthStart(state_key={self.state_key!r})"


def oauth_state_key(state: str) -> str:
    """A short, non-secret name for one pending state (the nonce cookie's name suffix),
    so two connects started in one browser do not overwrite each other's cookie."""
    return oauth.state_hash(state)[:16]


def oauth_start(*, tenant_id: uuid.UUID, user_id: uuid.UUID, provider_id: str) -> OAuthStart:
    """Create the single-use state (10 min) with its PKCE verifier and browser nonce;
    return the consent URL and the nonce.

    Call within the tenant's request transaction (the state row is a tenant row)."""
    provider = get_provider(provider_id)
    if provider.oauth is None:
        raise ConnectError("not_oauth", words(N_("%(name)s is connected with credentials: POST them to this URL."),
                                              name=provider_names(provider)))
    app = oauth.app_config(provider)
    if not app.client_id:
        raise ConnectError(
            "provider_not_configured",
            words(N_("%(name)s has no OAuth app configured on this hub (see manage.py set_provider_app)."),
                  name=provider_names(provider)),
            http_status=409,
        )
    try:
        oauth.check_transport(app)
    except oauth.InsecureEndpoint as exc:
        raise ConnectError("insecure_transport", str(exc)) from None
    state, nonce = oauth.new_state(), oauth.new_nonce()
    verifier = oauth.new_code_verifier() if provider.oauth.pkce else None
    row = OAuthState(
        tenant_id=tenant_id, user_id=user_id, provider=provider_id, state_hash=oauth.state_hash(state),
        nonce_hash=oauth.nonce_hash(nonce), redirect_uri=oauth.redirect_uri(provider_id), scopes=list(app.scopes),
        expires_at=timezone.now() + oauth.STATE_TTL,
    )
    row.set_secret("code_verifier_encrypted", verifier)
    row.save()
    url = oauth.authorization_url(app, state=state, code_verifier=verifier)
    return OAuthStart(authorization_url=url, state_key=oauth_state_key(state), nonce=nonce)


@dataclass(frozen=True)
class CallbackResult:
    integration_id: uuid.UUID | None = None
    error_code: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None


def _consume_state(state: str) -> tuple[OAuthState | None, str | None]:
    """Claim the state row in its own committed transaction: single use even when the
    rest of the callback fails. The narrow ``state_holder`` RLS policies let this
    tenant-less transaction see (and delete) only the row whose hash it presents."""
    digest = oauth.state_hash(state)
    with transaction.atomic():
        if db_connection.vendor == "postgresql":
            with db_connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, %s, true)", [STATE_HASH_SETTING, digest])
        row = OAuthState.objects.filter(state_hash=digest).first()
        if row is None:
            return None, None
        verifier = row.get_secret("code_verifier_encrypted")
        deleted, _rows = OAuthState.objects.filter(pk=row.pk).delete()
        if not deleted:  # a concurrent callback claimed it first
            return None, None
        if db_connection.vendor == "postgresql":
            with db_connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, '', true)", [STATE_HASH_SETTING])
    return row, verifier


def oauth_complete(*, provider_id: str, params: dict[str, str], nonce: str | None) -> CallbackResult:
    """The callback: verify the state and its browser nonce, exchange the code, store
    encrypted tokens.

    ``nonce`` is the cookie connect set in the initiator's browser. A state presented
    without it (an authorization URL minted by someone else and opened by a victim) is
    refused after it is consumed, so it cannot be retried with the right cookie either.

    Runs outside any request transaction: the state is consumed first (committed),
    then the code is exchanged with no transaction open, then the integration is
    written in one tenant-scoped transaction -- so a failure creates nothing. Once that
    has committed, the provider's containers (calendars) are discovered into
    ``settings`` (integrations/discovery.py): a failure there is logged, the connect stands.
    """
    state = params.get("state") or ""
    if not state or len(state) > 512:
        return CallbackResult(error_code="invalid_state")
    row, verifier = _consume_state(state)
    if row is None:
        return CallbackResult(error_code="invalid_state")  # unknown, forged or already used
    if row.provider != provider_id:
        return CallbackResult(error_code="invalid_state")
    if not nonce or not row.nonce_hash or not hmac.compare_digest(oauth.nonce_hash(nonce), row.nonce_hash):
        log.warning("OAuth callback for %s refused: the state came back without its browser nonce", provider_id)
        return CallbackResult(error_code="browser_mismatch")
    if row.expires_at <= timezone.now():
        return CallbackResult(error_code="expired_state")
    if params.get("error"):
        code = params["error"] if params["error"] in ("access_denied", "consent_required", "invalid_scope") else "provider_error"
        return CallbackResult(error_code=code)
    code = params.get("code") or ""
    if not code or len(code) > 4096:
        return CallbackResult(error_code="missing_code")
    provider = get_provider(provider_id)
    app = oauth.app_config(provider)
    started = timezone.now()
    try:
        tokens = oauth.exchange_code(app, code=code, code_verifier=verifier)
    except oauth.OAuthFailure as exc:
        log.warning("OAuth code exchange for %s failed: %s", provider_id, exc)
        return CallbackResult(error_code="insecure_transport" if isinstance(exc, oauth.InsecureEndpoint) else "exchange_failed")
    extra_config = {name: params[name][:200] for name in provider.oauth.callback_params if params.get(name)}
    extra_config.update({name: str(tokens.extra[name])[:200] for name in provider.oauth.token_params
                         if tokens.extra.get(name) not in (None, "")})
    with tenant_scope(row.tenant_id):
        integration = Integration.objects.select_for_update().filter(tenant_id=row.tenant_id, provider=provider_id).first()
        created = integration is None
        if created:
            integration = Integration(tenant_id=row.tenant_id, provider=provider_id, name=provider.name_he)
        integration.connected_by_id = row.user_id
        integration.settings = settings_with_defaults(integration)
        integration.connection_config = {**(integration.connection_config or {}), **extra_config}
        write_credentials(integration, tokens)
        integration.set_secret("api_key_encrypted", None)
        integration.status = Integration.Status.CONNECTED
        integration.last_error = integration.last_error_words = None
        integration.refresh_failures = 0
        integration.next_refresh_attempt_at = None
        integration.last_refresh_at = timezone.now()
        integration.save()
        log_action(integration=integration, action="connect", status="success", started_at=started,
                   summary={"reconnected": not created, "scopes": list(tokens.scopes)})
        publish(row.tenant_id, "integration.connected", {"integrationId": str(integration.pk), "provider": provider_id})
    # Committed: now ask the provider what can be synced (calendars); never fails the connect.
    integration_discover_containers(integration_id=integration.pk, tenant_id=row.tenant_id)
    return CallbackResult(integration_id=integration.pk)


def settings_with_defaults(integration: Integration) -> dict[str, Any]:
    """The provider's settings defaults under what is stored: a new connection gets the
    defaults, a re-connection keeps the studio's choices and gains keys added since."""
    return {**adapter_for(get_provider(integration.provider)).settings_defaults(), **(integration.settings or {})}


# --------------------------------------------------------------------- credentials (api_key / caldav)
def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", r"_\1", name).lower()


def clean_credentials(provider: Provider, raw: Any) -> dict[str, str]:
    """Validate POSTed credentials against the catalog's fields (camelCase or snake_case keys).
    The messages are in the request's language (keys and field names as they are)."""
    if not isinstance(raw, dict):
        raise ConnectError("invalid", _("credentials must be an object"), fields={"credentials": [_("must be an object")]})
    by_key = {}
    for f in provider.credential_fields:
        by_key[f.name] = f
        by_key[_snake(f.name)] = f
    unknown = [k for k in raw if k not in by_key]
    if unknown:
        raise ConnectError("invalid", _("unknown credential field %(key)s") % {"key": repr(unknown[0])},
                           fields={"credentials": [_("unknown field %(key)s") % {"key": repr(k)} for k in unknown]})
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    codes: dict[str, str] = {}

    def refuse(name: str, code: str, message: str) -> None:
        if name not in errors:
            errors[name], codes[name] = [message], code

    for key, value in raw.items():
        if value is None:
            continue
        if not isinstance(value, str | int):
            refuse(by_key[key].name, "string", _("must be a string"))
            continue
        value = str(value).strip()
        if len(value) > MAX_CREDENTIAL_LENGTH:
            refuse(by_key[key].name, "too_long", _("at most %(n)s characters") % {"n": MAX_CREDENTIAL_LENGTH})
            continue
        if value:
            values[by_key[key].name] = value
    for f in provider.credential_fields:
        if f.name not in values and f.default:
            values[f.name] = f.default
        if f.required and not values.get(f.name):
            refuse(f.name, "required", _("this field is required"))
        if f.kind == "url" and values.get(f.name) and not re.match(r"^https?://[^\s/]+", values[f.name]):
            refuse(f.name, "url", _("must be an http(s) URL"))
    for name, problems in adapter_for(provider).credential_errors(values).items():
        if problems and name not in errors:
            errors[name], codes[name] = list(problems), "provider"
    if errors:
        raise ConnectError("invalid", next(iter(errors.values()))[0] if len(errors) == 1 else _("invalid credentials"),
                           fields={"credentials": errors}, field_codes=codes)
    return values


def _derived_config(provider: Provider, values: dict[str, str]) -> dict[str, str]:
    secret_names = {f.name for f in provider.credential_fields if f.kind == "password"}
    config = {k: v for k, v in values.items() if k not in secret_names}
    return {**config, **adapter_for(provider).derived_config(values)}


def integration_connect_credentials(*, tenant_id: uuid.UUID, user_id: uuid.UUID, provider_id: str,
                                    credentials: Any, name: str | None = None) -> tuple[Integration, bool]:
    """Validate credentials with a real call through the client, then save (encrypted).

    Returns (integration, verified). Nothing is written when the provider refuses them.
    """
    provider = get_provider(provider_id)
    if provider.auth_kind not in ("api_key", "caldav"):
        raise ConnectError("not_credentials", words(
            N_("%(name)s is connected through its consent screen: GET this URL instead."), name=provider_names(provider)))
    values = clean_credentials(provider, credentials)
    config = _derived_config(provider, values)
    started = timezone.now()
    conn = Connection(provider=provider, tenant_id=str(tenant_id), values={**values, **config})
    adapter = adapter_for(provider)
    verified = adapter.can_test_connection
    response = None
    if verified:
        try:
            response = ProviderClient(conn, max_retries=1).test_connection()
        except ProviderError as exc:
            if exc.kind in ("config", "refused"):
                raise ConnectError("invalid_credentials", str(exc), provider_status=exc.status,
                                   provider_kind=exc.kind) from None
            raise ConnectError("provider_unavailable", words(N_("Could not verify the credentials: %(error)s"),
                                                             error=words_of(exc) or str(exc)), http_status=502,
                               provider_status=exc.status, provider_kind=exc.kind) from None
        if not adapter.test_ok(response):
            raise ConnectError(
                "invalid_credentials",
                words(N_("%(name)s did not accept these credentials (HTTP %(status)s)."),
                      name=provider_names(provider), status=response.status),
                provider_status=response.status,
            )
    integration = Integration.objects.select_for_update().filter(tenant_id=tenant_id, provider=provider_id).first()
    created = integration is None
    if created:
        integration = Integration(tenant_id=tenant_id, provider=provider_id)
    integration.name = (name or "").strip()[:200] or integration.name or provider.name_he
    integration.connected_by_id = user_id
    integration.settings = settings_with_defaults(integration)
    integration.set_secret("api_key_encrypted", json.dumps(values))
    integration.set_secret("oauth_encrypted", None)
    integration.connection_config = {**config, "verified": verified}
    integration.token_expires_at = None
    integration.scopes = []
    integration.status = Integration.Status.CONNECTED
    integration.last_error = integration.last_error_words = None
    if adapter.receives_hooks:  # the URL to paste into the provider's dashboard (seed: webhookUrl)
        integration.webhook_url = hook_url(integration)
    integration.save()
    log_action(
        integration=integration, action="connect", status="success", started_at=started,
        summary={"reconnected": not created, "verified": verified},
        request_snapshot=response.request_snapshot if response else None,
        response_snapshot=response.response_snapshot if response else None,
    )
    publish(tenant_id, "integration.connected", {"integrationId": str(integration.pk), "provider": provider_id})
    return integration, verified


# --------------------------------------------------------------------- management
def integration_update(*, integration: Integration, data: dict[str, Any]) -> Integration:
    """``data`` is already validated (serializers.IntegrationUpdateSerializer)."""
    fields = []
    for name in ("name", "description", "sync_settings", "settings", "conflict_policy"):
        if name in data:
            setattr(integration, name, data[name])
            fields.append(name)
    if fields:
        integration.save(update_fields=[*fields, "updated_at"])
    if {"sync_settings", "settings"} & set(fields):
        # Realtime import: open or stop push channels to match (provider calls: on the worker).
        integration_id, tenant_id = str(integration.pk), str(integration.tenant_id)
        transaction.on_commit(lambda: _enqueue(PUSH_RECONCILE_TASK, integration_id, tenant_id))
    return integration


PUSH_RECONCILE_TASK = "integrations.tasks.push_reconcile_integration"


def _enqueue(task: str, *args: str) -> None:
    try:
        kick.enqueue(task, args=list(args))
    except Exception as exc:  # noqa: BLE001 - the push maintenance beat reconciles within a minute
        log.warning("could not enqueue %s (%s); the beat will", task, type(exc).__name__)


def integration_refresh(*, integration: Integration) -> Integration:
    """Force a refresh now (POST /refresh). Raises TokenUnavailable."""
    seen = integration.token_version
    ensure_valid_token(integration_id=integration.pk, tenant_id=integration.tenant_id, force=True, seen_version=None)
    integration.refresh_from_db()
    if integration.token_version == seen:
        kept = integration.last_error_words
        said = kept if integration.last_error and is_words(kept) and english(kept)[:2000] == integration.last_error \
            else integration.last_error or words(N_("the token was not refreshed"))
        raise TokenUnavailable("transient", said)
    return integration


@dataclass(frozen=True)
class TestResult:
    ok: bool
    http_status: int | None
    message: str  # English, as the log keeps it (the API's ``message``)
    duration_ms: int
    #: The client's ProviderError kind when the call did not answer usably (``network``,
    #: ``rate_limited``, ``config``...), None for an answer: what a page words in its language.
    kind: str | None = None
    #: A failure's words (core.words, :func:`test_failure_words`): what a reader reads.
    words: Words | None = None


def integration_test(*, integration: Integration) -> TestResult:
    """A real lightweight call through the client; logged; a success clears an error state.
    A failure keeps its words (:func:`test_failure_words`) beside the English text, in the log
    row and, when it makes the integration's status ``error``, in ``last_error_words``."""
    provider = get_provider(integration.provider)
    started = timezone.now()
    snapshots: tuple = (None, None)
    kind = None
    said: Words | None = None
    try:
        response = ProviderClient.for_integration(integration, max_retries=1).test_connection()
    except ProviderError as exc:
        ok, status, message, snapshots, kind = False, exc.status, str(exc), exc.snapshots, exc.kind
        said = test_failure_words(provider, status=status, kind=kind, message=message)
    else:
        ok, status = adapter_for(provider).test_ok(response), response.status
        snapshots = (response.request_snapshot, response.response_snapshot)
        message = "ok"
        if not ok:
            said = test_failure_words(provider, status=status, kind=None, message="")
            message = english(said)
    integration.refresh_from_db()
    if ok and integration.status == Integration.Status.ERROR:
        integration.status, integration.last_error, integration.last_error_words = (
            Integration.Status.CONNECTED, None, None)
        integration.save(update_fields=["status", "last_error", "last_error_words", "updated_at"])
    elif not ok and status in (401, 403) and integration.status == Integration.Status.CONNECTED:
        integration.status, integration.last_error, integration.last_error_words = (
            Integration.Status.ERROR, english(said)[:2000], said)
        integration.save(update_fields=["status", "last_error", "last_error_words", "updated_at"])
    entry = log_action(integration=integration, action="test", status="success" if ok else "failed", started_at=started,
                       error_message=None if ok else message, error_code=None if ok else "test_failed",
                       request_snapshot=snapshots[0], response_snapshot=snapshots[1], error_words=said)
    return TestResult(ok, status, message, entry.duration_ms or 0, kind, said)


def integration_disconnect(*, integration: Integration, reason: str = "user_disconnected") -> None:
    """Revoke at the provider (best effort, logged to the app log), delete, emit the event."""
    provider = get_provider(integration.provider)
    creds = read_credentials(integration) if integration.has_secret("oauth_encrypted") else None
    if creds is not None and provider.oauth is not None:
        app = oauth.app_config(provider)
        # Revoking the refresh token ends the whole grant at RFC 7009 servers; the access
        # token is revoked too where there is no refresh token (or the server wants both).
        outcomes = []
        if creds.refresh_token:
            outcomes.append(("refresh_token", oauth.revoke(app, token=creds.refresh_token, token_type_hint="refresh_token")))
        outcomes.append(("access_token", oauth.revoke(app, token=creds.access_token, token_type_hint="access_token")))
        log.info("revoke %s integration %s: %s", provider.id, integration.pk,
                 ", ".join(f"{kind}={status if status is not None else 'unreachable/none'}" for kind, status in outcomes))
    push_stop_all(integration=integration)  # while the token still works
    integration_id, tenant_id = integration.pk, integration.tenant_id
    integration.delete()
    publish(tenant_id, "integration.disconnected",
            {"integrationId": str(integration_id), "provider": provider.id, "reason": reason})
