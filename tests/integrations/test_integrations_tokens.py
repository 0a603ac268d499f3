"""The branches of integrations/tokens.py and integrations/tasks.py the connect-flow
tests do not reach (issue 13 item 4): no refresh token, a writer that won while the
provider said invalid_grant, the rejected / config classifications, a transient
failure while the old token still works, the backoff cap, both cleanup tasks and the
refresh-failing warning. Token endpoints are the local OAuth server
(tests/support/oauth_server) except where a response has to coincide with a concurrent write."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
import responses
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from core.realtime import tenant_group
from core.tenant_context import tenant_scope
from integrations import tasks
from integrations.models import Integration, IntegrationLog, OAuthState
from integrations.services import provider_app_set
from integrations.tokens import (
    MAX_REFRESH_BACKOFF,
    Credentials,
    TokenUnavailable,
    ensure_valid_token,
)

PROVIDER = "hubspot"


# The local OAuth server, its hubspot app and http allowed for it: tests/conftest.py.
pytestmark = pytest.mark.usefixtures("local_oauth_http")


@pytest.fixture
def app(hubspot_app):
    return hubspot_app


def make_integration(persona, *, access="at-old", refresh: str | None = "rt-unknown-to-the-server",
                     expires_in: timedelta | None = timedelta(minutes=-1), provider=PROVIDER, **fields) -> Integration:
    expires_at = timezone.now() + expires_in if expires_in is not None else None
    with tenant_scope(persona.tenant.id):
        integration = Integration(tenant=persona.tenant, provider=provider, name=provider, connected_by=persona.user,
                                  status="connected", token_expires_at=expires_at, **fields)
        creds = Credentials(access, refresh, expires_at, ["read"])
        integration.set_secret("oauth_encrypted", json.dumps(creds.as_json()))
        integration.save()
    return integration


def _reload(persona, integration) -> Integration:
    with tenant_scope(persona.tenant.id):
        return Integration.objects.get(pk=integration.pk)


def _logs(persona) -> list[tuple[str, str | None]]:
    with tenant_scope(persona.tenant.id):
        return list(IntegrationLog.objects.filter(action="token_refresh").values_list("status", "error_code"))


def _token(persona, integration, **kwargs) -> str:
    return ensure_valid_token(integration_id=integration.pk, tenant_id=persona.tenant.id, **kwargs)


# --- no refresh token --------------------------------------------------------------

def test_expired_token_without_refresh_token_marks_expired_without_calling_the_provider(alice, app, oauth_server):
    integration = make_integration(alice, refresh=None, expires_in=timedelta(minutes=-1))
    calls = oauth_server.stats().get("refresh_token", 0)

    with pytest.raises(TokenUnavailable) as caught:
        _token(alice, integration)

    assert caught.value.kind == "expired"
    stored = _reload(alice, integration)
    assert (stored.status, stored.next_refresh_attempt_at) == ("expired", None)
    assert _logs(alice) == [("failed", "no_refresh_token")]
    assert oauth_server.stats().get("refresh_token", 0) == calls


def test_token_without_refresh_token_is_used_until_it_dies(alice, app, oauth_server):
    """Inside the 5-minute margin but not yet expired: it cannot be refreshed, so it is used."""
    integration = make_integration(alice, access="at-still-good", refresh=None, expires_in=timedelta(minutes=2))

    assert _token(alice, integration) == "at-still-good"
    assert _reload(alice, integration).status == "connected"
    assert _logs(alice) == []


# --- invalid_grant, but another writer won meanwhile --------------------------------

@responses.activate
def test_invalid_grant_after_another_writer_stored_new_tokens_returns_the_winners_token(alice, app):
    """The token endpoint answers invalid_grant (RFC 6749 §5.2) because the refresh token
    was rotated by a writer that committed while the request was out (a reconnect): the
    re-read finds a higher token_version and the winner's token is used, not "expired"."""
    integration = make_integration(alice, access="at-old", refresh="rt-old")
    with tenant_scope(alice.tenant.id):
        winner = Integration.objects.get(pk=integration.pk)
    winner.set_secret("oauth_encrypted", json.dumps(
        Credentials("at-winner", "rt-winner", timezone.now() + timedelta(hours=1), ["read"]).as_json()))

    def token_endpoint(request):
        # The winner's write lands on the refreshing transaction's connection: the only
        # way to order it deterministically between the lock and the answer.
        Integration.objects.filter(pk=integration.pk).update(
            oauth_encrypted=winner.oauth_encrypted, token_version=integration.token_version + 1)
        return 400, {"Content-Type": "application/json"}, json.dumps(
            {"error": "invalid_grant", "error_description": "refresh token already used"})

    responses.add_callback(responses.POST, app.token_url, callback=token_endpoint)

    assert _token(alice, integration) == "at-winner"
    stored = _reload(alice, integration)
    assert stored.status == "connected" and stored.last_error is None
    assert _logs(alice) == []  # nothing failed: no "expired" log, no disconnected event


# --- rejected and config ------------------------------------------------------------

def test_rejected_refresh_sets_error_without_retry(alice, app, oauth_server):
    provider_app_set(provider_id=PROVIDER, client_secret="not-the-secret")  # → invalid_client
    integration = make_integration(alice)

    with pytest.raises(TokenUnavailable) as caught:
        _token(alice, integration)

    assert caught.value.kind == "expired"
    stored = _reload(alice, integration)
    assert (stored.status, stored.refresh_failures, stored.next_refresh_attempt_at) == ("error", 1, None)
    assert stored.last_error.startswith("Token refresh refused: the provider refused the request (invalid_client)")
    assert _logs(alice) == [("failed", "rejected")]
    assert "not-the-secret" not in stored.last_error


def test_config_failure_sets_error_and_says_config(alice, app, monkeypatch):
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT")  # the local token URL is http: a config error
    integration = make_integration(alice)

    with pytest.raises(TokenUnavailable) as caught:
        _token(alice, integration)

    assert caught.value.kind == "config"
    stored = _reload(alice, integration)
    assert (stored.status, stored.refresh_failures, stored.next_refresh_attempt_at) == ("error", 1, None)
    assert "OAUTHLIB_INSECURE_TRANSPORT" in stored.last_error
    assert _logs(alice) == [("failed", "config")]


# --- transient failures ---------------------------------------------------------------

def test_transient_failure_while_the_old_token_is_valid_keeps_using_it(alice, app):
    provider_app_set(provider_id=PROVIDER, token_url="http://127.0.0.1:9/unreachable")
    integration = make_integration(alice, access="at-still-valid", expires_in=timedelta(minutes=3))  # inside the margin
    before = timezone.now()

    assert _token(alice, integration) == "at-still-valid"

    stored = _reload(alice, integration)
    assert (stored.status, stored.refresh_failures) == ("connected", 1)
    assert stored.last_error.startswith("Token refresh failed temporarily")
    assert before + timedelta(minutes=1) <= stored.next_refresh_attempt_at <= timezone.now() + timedelta(minutes=1)
    assert _logs(alice) == [("failed", "transient")]


def test_backoff_doubles_and_is_capped_at_an_hour(alice, app):
    provider_app_set(provider_id=PROVIDER, token_url="http://127.0.0.1:9/unreachable")
    integration = make_integration(alice, access="at-valid", expires_in=timedelta(minutes=3), refresh_failures=3)
    before = timezone.now()
    _token(alice, integration)
    fourth = _reload(alice, integration)
    assert fourth.refresh_failures == 4
    assert before + timedelta(minutes=8) <= fourth.next_refresh_attempt_at <= timezone.now() + timedelta(minutes=8)

    with tenant_scope(alice.tenant.id):
        Integration.objects.filter(pk=integration.pk).update(refresh_failures=20)
    before = timezone.now()
    _token(alice, integration)
    capped = _reload(alice, integration)
    assert capped.refresh_failures == 21
    assert MAX_REFRESH_BACKOFF == timedelta(hours=1)
    assert before + MAX_REFRESH_BACKOFF <= capped.next_refresh_attempt_at <= timezone.now() + MAX_REFRESH_BACKOFF


# --- tasks: cleanups ----------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_cleanup_oauth_states_deletes_only_states_expired_for_over_five_minutes(alice, bob):
    now = timezone.now()
    rows = {}
    for persona in (alice, bob):
        with tenant_scope(persona.tenant.id):
            for label, expires in (("long-expired", now - timedelta(minutes=6)),
                                   ("just-expired", now - timedelta(minutes=4)),
                                   ("pending", now + timedelta(minutes=5))):
                rows[(persona.user.email, label)] = OAuthState.objects.create(
                    tenant=persona.tenant, user=persona.user, provider=PROVIDER,
                    state_hash=f"{persona.user.email}-{label}".ljust(64, "0")[:64],
                    redirect_uri="https://hub.example/cb", expires_at=expires).pk

    assert tasks.cleanup_oauth_states() == 2  # one per tenant: cross-tenant on purpose

    for persona in (alice, bob):
        with tenant_scope(persona.tenant.id):
            left = set(OAuthState.objects.values_list("pk", flat=True))
        assert left == {rows[(persona.user.email, "just-expired")], rows[(persona.user.email, "pending")]}


@pytest.mark.django_db(transaction=True)
def test_cleanup_integration_logs_keeps_the_retention_window(alice, bob, settings):
    settings.INTEGRATION_LOG_RETENTION_DAYS = 30
    now = timezone.now()
    kept = {}
    for persona in (alice, bob):
        integration = make_integration(persona, expires_in=timedelta(hours=1))
        with tenant_scope(persona.tenant.id):
            for days in (31, 29):
                log = IntegrationLog.objects.create(tenant=persona.tenant, integration=integration, action="sync",
                                                    direction="outbound", status="success",
                                                    started_at=now - timedelta(days=days))
                if days == 29:
                    kept[persona.user.email] = log.pk

    assert tasks.cleanup_integration_logs() == 2

    for persona in (alice, bob):
        with tenant_scope(persona.tenant.id):
            assert list(IntegrationLog.objects.values_list("pk", flat=True)) == [kept[persona.user.email]]


# --- tasks: the refresh-failing warning ----------------------------------------------

def _listen(tenant_id):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(tenant_group(tenant_id), channel)

    def receive(timeout=10.0) -> dict:
        async def one():
            return (await asyncio.wait_for(layer.receive(channel), timeout))["message"]

        return async_to_sync(one)()

    return receive


@pytest.mark.django_db(transaction=True)
def test_scan_warns_once_when_refreshes_keep_failing(alice):
    """A refreshable token whose refreshes failed WARN_AFTER_FAILURES times, still days
    from expiry (not due for refresh yet): the tenant is warned, once."""
    integration = make_integration(alice, refresh="rt", expires_in=timedelta(days=2),
                                   refresh_failures=tasks.WARN_AFTER_FAILURES)
    healthy = make_integration(alice, refresh="rt", expires_in=timedelta(days=2), refresh_failures=1,
                               provider="google_drive")
    receive = _listen(alice.tenant.id)

    assert tasks.scan_expiring_tokens() == {"refreshing": 0, "warned": 1}

    message = receive()
    assert message["type"] == "integration.token_expiring"
    assert message["data"]["integrationId"] == str(integration.pk)
    assert message["data"]["provider"] == PROVIDER
    assert _reload(alice, integration).expiry_warned_at is not None
    assert _reload(alice, healthy).expiry_warned_at is None
    assert tasks.scan_expiring_tokens() == {"refreshing": 0, "warned": 0}  # the stamp keeps it to one warning


# --- the last error in the reader's language (issue 14 item 6) -------------------------

def _error_cards(persona, integration) -> tuple[str, str]:
    from django.test import Client

    client = Client()
    client.force_login(persona.user)
    cards = []
    for lang in ("he", "en"):
        page = client.get(f"/integrations/{integration.pk}", HTTP_ACCEPT_LANGUAGE=lang).content.decode()
        start = page.index('id="errors"')
        cards.append(page[start:page.index("</section>", start)])
    return cards[0], cards[1]


def test_a_refused_refresh_is_the_last_error_in_the_pages_language(alice, app, oauth_server):
    """A token refresh is written by a worker (no reader): the integration's last error keeps
    its English text and its words, and the settings page says it in the reader's language."""
    provider_app_set(provider_id=PROVIDER, client_secret="not-the-secret")  # → invalid_client
    integration = make_integration(alice)
    with pytest.raises(TokenUnavailable):
        _token(alice, integration)

    he_card, en_card = _error_cards(alice, integration)
    assert "חידוש האסימון נדחה: הספק דחה את הבקשה (invalid_client)" in he_card
    assert "refused" not in he_card and "Token" not in he_card
    assert _reload(alice, integration).last_error in en_card  # the English text, as stored


@pytest.mark.parametrize("case", ["no_refresh_token", "transient"])
def test_other_refresh_failures_are_the_last_error_in_the_pages_language(alice, app, case):
    if case == "no_refresh_token":
        integration = make_integration(alice, refresh=None)
        hebrew = "תוקף האסימון פג והספק לא נתן אסימון רענון"
    else:
        provider_app_set(provider_id=PROVIDER, token_url="http://127.0.0.1:9/unreachable")
        integration = make_integration(alice, access="at-still-valid", expires_in=timedelta(minutes=3))
        hebrew = "חידוש האסימון נכשל זמנית: לא ניתן להגיע לנקודת הקצה של האסימונים (ConnectionError)"
    try:
        _token(alice, integration)
    except TokenUnavailable:
        pass

    he_card, en_card = _error_cards(alice, integration)
    assert hebrew in he_card and "token" not in he_card.lower()
    assert _reload(alice, integration).last_error in en_card


def test_credentials_refused_outside_a_run_keep_their_words(alice):
    """A stored key the provider no longer takes (seen by a sync run or a message send)."""
    from core.words import words
    from integrations.providers.adapter import CredentialsRefused
    from integrations.tokens import integration_credentials_refused

    integration = make_integration(alice, provider="hubspot")
    refused = CredentialsRefused(words("the API refused the credentials (HTTP %(status)s)", status=401))
    with tenant_scope(alice.tenant.id):
        integration_credentials_refused(integration, refused)

    he_card, en_card = _error_cards(alice, integration)
    assert "ה-API דחה את פרטי ההתחברות (HTTP 401)" in he_card and "refused" not in he_card
    assert "the API refused the credentials (HTTP 401)" in en_card


def test_words_that_no_longer_say_the_last_error_are_not_shown(alice):
    """A writer that changes ``last_error`` alone leaves stale words: the page shows the text."""
    from core.words import words

    integration = make_integration(alice, last_error="something else happened",
                                   last_error_words=words("the token expired and the provider gave no refresh token"))
    he_card, _en_card = _error_cards(alice, integration)
    assert "something else happened" in he_card and "תוקף האסימון פג" not in he_card


# --- the refresh's log row in the reader's language (issue 14 item 6) ---------------------

REFRESH_LOG_CASES = {
    # case: (how it fails, the Hebrew the history says, the English the row keeps)
    "refused": ("חידוש האסימון נדחה: הספק דחה את הבקשה (invalid_client)",
                "the provider refused the request (invalid_client)"),
    "no_refresh_token": ("תוקף האסימון פג והספק לא נתן אסימון רענון",
                         "the token expired and the provider gave no refresh token"),
    "transient": ("חידוש האסימון נכשל זמנית: לא ניתן להגיע לנקודת הקצה של האסימונים (ConnectionError)",
                  "could not reach the token endpoint (ConnectionError)"),
}


def _failing_refresh(alice, case) -> Integration:
    if case == "refused":
        provider_app_set(provider_id=PROVIDER, client_secret="not-the-secret")  # → invalid_client
        return make_integration(alice)
    if case == "no_refresh_token":
        return make_integration(alice, refresh=None)
    provider_app_set(provider_id=PROVIDER, token_url="http://127.0.0.1:9/unreachable")
    return make_integration(alice, access="at-still-valid", expires_in=timedelta(minutes=3))


@pytest.mark.parametrize("case", sorted(REFRESH_LOG_CASES))
def test_a_failed_refreshs_log_row_is_read_in_the_readers_language(alice, alice_api, app, oauth_server, case):
    """The token_refresh row keeps its English ``errorMessage``; the settings page's history and
    the logs API's ``errorText`` say it in the reader's language, as a sync run's error."""
    from django.test import Client

    hebrew, english_text = REFRESH_LOG_CASES[case]
    integration = _failing_refresh(alice, case)
    try:
        _token(alice, integration)
    except TokenUnavailable:
        pass
    with tenant_scope(alice.tenant.id):
        row = IntegrationLog.objects.get(integration=integration, action="token_refresh")
    assert english_text in row.error_message  # the stored text stays English

    path = f"/api/integrations/{integration.pk}/logs?action=token_refresh"
    he_row = alice_api.get(path, HTTP_ACCEPT_LANGUAGE="he").json()["results"][0]
    en_row = alice_api.get(path, HTTP_ACCEPT_LANGUAGE="en").json()["results"][0]
    assert he_row["errorMessage"] == en_row["errorMessage"] == row.error_message
    assert hebrew.split(": ")[-1] in he_row["errorText"] and english_text not in he_row["errorText"]
    assert en_row["errorText"] == row.error_message

    client = Client()
    client.force_login(alice.user)
    history = f"/integrations/{integration.pk}/history?action=token_refresh"
    he_page = client.get(history, HTTP_ACCEPT_LANGUAGE="he").content.decode()
    en_page = client.get(history, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert hebrew.split(": ")[-1] in he_page and english_text not in he_page
    assert english_text in en_page and hebrew.split(": ")[-1] not in en_page
