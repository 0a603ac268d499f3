"""The whole OAuth dance against a real OAuth 2.0 server (django-oauth-toolkit, run locally
as a subprocess -- tests/support/oauth_server), then refresh (incl. exactly one refresh under
threads and under two processes), invalid_grant, revoke on disconnect, and the
forged / expired / replayed / mismatched state cases."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from core.tenant_context import tenant_scope
from integrations import oauth
from integrations.models import Integration, IntegrationLog, OAuthState
from integrations.providers.catalog import get_provider
from integrations.services import provider_app_set
from integrations.tokens import TokenUnavailable, ensure_valid_token, read_credentials
from tests.support.factories import run_at_once
from tests.support.oauth import PROVIDER, connect, open_callback
from tests.support.oauth_server.harness import REFRESH_WORKER

REDIRECT_URI = f"{settings.PUBLIC_BASE_URL}/api/integrations/callback/{PROVIDER}"


# The local OAuth server, its hubspot app and http allowed for it: tests/conftest.py.
pytestmark = pytest.mark.usefixtures("local_oauth_http")


def _expire(integration_id: str, tenant_id) -> None:
    """Make the stored token look expired (both the encrypted JSON and its mirror column)."""
    with tenant_scope(tenant_id):
        integration = Integration.objects.get(pk=integration_id)
        data = json.loads(integration.get_secret("oauth_encrypted"))
        data["tokenExpiresAt"] = (timezone.now() - timedelta(minutes=1)).isoformat()
        integration.set_secret("oauth_encrypted", json.dumps(data))
        integration.token_expires_at = timezone.now() - timedelta(minutes=1)
        integration.save()


def test_connect_redirects_to_provider_with_state_pkce_and_registered_redirect_uri(alice, alice_api, hubspot_app, oauth_server):
    # when
    before = timezone.now()
    response = alice_api.get(f"/api/integrations/connect/{PROVIDER}")
    after = timezone.now()
    # then
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    query = parse_qs(url.query)
    assert f"{url.scheme}://{url.netloc}{url.path}" == oauth_server.authorization_url
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["hub-client"]
    assert query["redirect_uri"] == [REDIRECT_URI]
    assert query["scope"] == ["read write"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    with tenant_scope(alice.tenant.id):
        state = OAuthState.objects.get()
    assert state.state_hash == oauth.state_hash(query["state"][0])
    assert (state.tenant_id, state.user_id, state.provider) == (alice.tenant.id, alice.user.id, PROVIDER)
    assert before + timedelta(minutes=10) <= state.expires_at <= after + timedelta(minutes=10)
    assert query["state"][0].encode() not in bytes(state.code_verifier_encrypted)


def test_google_authorization_url_asks_for_offline_access_and_consent(alice_api, db):
    # given
    provider_app_set(provider_id="google_calendar", client_id="gid.apps.googleusercontent.com", client_secret="gs")
    # when
    response = alice_api.get("/api/integrations/connect/google_calendar", HTTP_ACCEPT="application/json")
    # then
    query = parse_qs(urlsplit(response.json()["authorizationUrl"]).query)
    assert response.status_code == 200
    assert (query["access_type"], query["prompt"], query["code_challenge_method"]) == (["offline"], ["consent"], ["S256"])
    assert query["scope"] == ["https://www.googleapis.com/auth/calendar.events https://www.googleapis.com/auth/calendar.readonly"]
    assert query["redirect_uri"] == [f"{settings.PUBLIC_BASE_URL}/api/integrations/callback/google_calendar"]


def test_connect_errors_unknown_provider_unconfigured_and_credential_provider(alice_api, db):
    assert alice_api.get("/api/integrations/connect/nope").status_code == 404
    unconfigured = alice_api.get("/api/integrations/connect/xero")
    assert (unconfigured.status_code, unconfigured.json()["error"]["code"]) == (409, "provider_not_configured")
    api_key = alice_api.get("/api/integrations/connect/twilio")
    assert (api_key.status_code, api_key.json()["error"]["code"]) == (400, "not_oauth")
    assert APIClient().get("/api/integrations/connect/hubspot").status_code == 401


def test_full_dance_creates_connected_integration_with_encrypted_tokens(alice, alice_api, hubspot_app, oauth_server):
    # when
    before = timezone.now()
    integration_id = connect(alice_api, oauth_server)
    after = timezone.now()
    # then
    with tenant_scope(alice.tenant.id):
        integration = Integration.objects.get(pk=integration_id)
        creds = read_credentials(integration)
        log = IntegrationLog.objects.get(integration=integration)
        assert OAuthState.objects.count() == 0
    assert (integration.provider, integration.status, integration.connected_by_id) == (PROVIDER, "connected", alice.user.id)
    assert creds.refresh_token and creds.access_token
    assert creds.scopes == ["read", "write"]
    # the server's one-hour lifetime, from the exchange (its expires_in may round down a second)
    assert before + timedelta(seconds=3600 - 2) <= creds.expires_at <= after + timedelta(hours=1)
    assert creds.access_token.encode() not in bytes(integration.oauth_encrypted)
    assert (log.action, log.status) == ("connect", "success")
    # and the API never shows a token
    body = alice_api.get(f"/api/integrations/{integration_id}").content.decode()
    assert creds.access_token not in body and creds.refresh_token not in body
    assert json.loads(body)["hasOauth"] is True
    # and the real test call through the provider client works with the stored token
    test = alice_api.post(f"/api/integrations/{integration_id}/test")
    assert test.json()["ok"] is True and test.json()["httpStatus"] == 200


def test_callback_lands_on_settings_page_that_shows_it(alice, alice_api, hubspot_app, oauth_server, client):
    integration_id = connect(alice_api, oauth_server)
    client.force_login(alice.user)
    page = client.get(f"/integrations/{integration_id}?connected={PROVIDER}")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'dir="rtl"' in html and "HubSpot" in html and 'class="msg success"' in html


def test_reconnect_updates_the_same_integration(alice, alice_api, hubspot_app, oauth_server):
    first = connect(alice_api, oauth_server)
    second = connect(alice_api, oauth_server)
    with tenant_scope(alice.tenant.id):
        assert Integration.objects.filter(provider=PROVIDER).count() == 1
    assert first == second


def test_replayed_state_is_refused_and_creates_nothing_more(alice, alice_api, hubspot_app, oauth_server):
    start = alice_api.get(f"/api/integrations/connect/{PROVIDER}", HTTP_ACCEPT="application/json")
    location = oauth_server.consent(start.json()["authorizationUrl"])
    assert open_callback(location, alice_api).status_code == 302
    # when the same callback URL is used again
    replay = open_callback(location, alice_api)
    # then
    assert replay["Location"] == f"/integrations?provider={PROVIDER}&error=invalid_state"
    with tenant_scope(alice.tenant.id):
        assert Integration.objects.count() == 1


def test_forged_state_and_provider_mismatch_are_refused(alice, alice_api, hubspot_app, oauth_server):
    forged = APIClient().get(f"/api/integrations/callback/{PROVIDER}?code=abc&state=forged-state")
    assert forged["Location"] == f"/integrations?provider={PROVIDER}&error=invalid_state"
    start = alice_api.get(f"/api/integrations/connect/{PROVIDER}", HTTP_ACCEPT="application/json")
    state = parse_qs(urlsplit(start.json()["authorizationUrl"]).query)["state"][0]
    mismatch = APIClient().get(f"/api/integrations/callback/xero?code=abc&state={state}")
    assert mismatch["Location"] == "/integrations?provider=xero&error=invalid_state"
    with tenant_scope(alice.tenant.id):
        assert (Integration.objects.count(), OAuthState.objects.count()) == (0, 0)


def test_expired_state_is_refused(alice, alice_api, hubspot_app, oauth_server):
    start = alice_api.get(f"/api/integrations/connect/{PROVIDER}", HTTP_ACCEPT="application/json")
    location = oauth_server.consent(start.json()["authorizationUrl"])
    with tenant_scope(alice.tenant.id):
        OAuthState.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = open_callback(location, alice_api)
    assert response["Location"] == f"/integrations?provider={PROVIDER}&error=expired_state"
    with tenant_scope(alice.tenant.id):
        assert Integration.objects.count() == 0


def test_access_denied_and_bad_code_redirect_with_readable_message(alice, alice_api, hubspot_app, oauth_server, client):
    start = alice_api.get(f"/api/integrations/connect/{PROVIDER}", HTTP_ACCEPT="application/json")
    state = parse_qs(urlsplit(start.json()["authorizationUrl"]).query)["state"][0]
    denied = alice_api.get(f"/api/integrations/callback/{PROVIDER}?error=access_denied&state={state}")
    assert denied["Location"] == f"/integrations?provider={PROVIDER}&error=access_denied"
    start = alice_api.get(f"/api/integrations/connect/{PROVIDER}", HTTP_ACCEPT="application/json")
    state = parse_qs(urlsplit(start.json()["authorizationUrl"]).query)["state"][0]
    bad_code = alice_api.get(f"/api/integrations/callback/{PROVIDER}?code=not-a-real-code&state={state}")
    assert bad_code["Location"] == f"/integrations?provider={PROVIDER}&error=exchange_failed"
    with tenant_scope(alice.tenant.id):
        assert Integration.objects.count() == 0
    client.force_login(alice.user)
    page = client.get(denied["Location"]).content.decode()
    assert 'class="msg error"' in page


def test_expired_token_is_refreshed_and_rotated_refresh_token_saved(alice, alice_api, hubspot_app, oauth_server):
    integration_id = connect(alice_api, oauth_server)
    with tenant_scope(alice.tenant.id):
        before = read_credentials(Integration.objects.get(pk=integration_id))
    _expire(integration_id, alice.tenant.id)
    refreshes = oauth_server.stats().get("refresh_token", 0)
    # when
    token = ensure_valid_token(integration_id=integration_id, tenant_id=alice.tenant.id)
    # then
    with tenant_scope(alice.tenant.id):
        integration = Integration.objects.get(pk=integration_id)
        after = read_credentials(integration)
        log = IntegrationLog.objects.filter(action="token_refresh").get()
    assert token == after.access_token != before.access_token
    assert after.refresh_token != before.refresh_token  # DOT rotates; the new one was stored
    assert oauth_server.stats()["refresh_token"] == refreshes + 1
    assert (log.status, log.summary) == ("success", {"rotated": True})
    # and a fresh token is returned without calling the provider
    assert ensure_valid_token(integration_id=integration_id, tenant_id=alice.tenant.id) == token
    assert oauth_server.stats()["refresh_token"] == refreshes + 1


def test_refresh_endpoint_forces_a_refresh(alice, alice_api, hubspot_app, oauth_server):
    integration_id = connect(alice_api, oauth_server)

    def stored() -> tuple:
        with tenant_scope(alice.tenant.id):
            integration = Integration.objects.get(pk=integration_id)
            return read_credentials(integration), integration.token_version

    before, version = stored()
    refreshes = oauth_server.stats().get("refresh_token", 0)
    # when: the token is still fresh, and the endpoint refreshes it anyway -- twice
    response = alice_api.post(f"/api/integrations/{integration_id}/refresh")
    middle, _ = stored()
    again = alice_api.post(f"/api/integrations/{integration_id}/refresh")
    # then: each call was one refresh at the provider, and its new tokens were stored
    assert response.status_code == 200 and response.json()["status"] == "connected"
    assert again.status_code == 200 and again.json()["status"] == "connected"
    assert oauth_server.stats().get("refresh_token", 0) == refreshes + 2
    after, new_version = stored()
    assert len({before.access_token, middle.access_token, after.access_token}) == 3
    assert after.refresh_token not in (before.refresh_token, middle.refresh_token)  # DOT rotates
    assert new_version == version + 2
    with tenant_scope(alice.tenant.id):
        logs = list(IntegrationLog.objects.filter(action="token_refresh").values_list("status", flat=True))
    assert logs == ["success", "success"]
    # the stored token is the one the provider now accepts
    resource = requests.get(f"{oauth_server.base_url}/account-info/v3/details",
                            headers={"Authorization": f"Bearer {after.access_token}"}, timeout=5)
    assert resource.status_code == 200


def test_invalid_grant_marks_expired_logs_and_emits_event(alice, alice_api, hubspot_app, oauth_server, tenant_events,
                                                          django_capture_on_commit_callbacks):
    integration_id = connect(alice_api, oauth_server)
    with tenant_scope(alice.tenant.id):
        creds = read_credentials(Integration.objects.get(pk=integration_id))
    # the user revokes the grant at the provider
    assert oauth.revoke(oauth.app_config(get_provider(PROVIDER)), token=creds.refresh_token,
                        token_type_hint="refresh_token") == 200
    _expire(integration_id, alice.tenant.id)
    events = tenant_events(alice.tenant.id)
    # when
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(TokenUnavailable) as caught:
        ensure_valid_token(integration_id=integration_id, tenant_id=alice.tenant.id)
    # then
    assert caught.value.kind == "expired"
    [event] = events.collect(1)
    assert event["type"] == "integration.disconnected"
    assert event["data"] == {"integrationId": integration_id, "provider": PROVIDER, "reason": "token_expired"}
    with tenant_scope(alice.tenant.id):
        integration = Integration.objects.get(pk=integration_id)
        log = IntegrationLog.objects.get(action="token_refresh")
    assert integration.status == "expired"
    assert integration.last_error.startswith("The provider no longer accepts this connection")
    assert (log.status, log.error_code) == ("failed", "invalid_grant")
    assert creds.refresh_token not in (log.error_message or "")
    refresh = alice_api.post(f"/api/integrations/{integration_id}/refresh")
    assert (refresh.status_code, refresh.json()["error"]["code"]) == (409, "reconnect_required")
    # the API's message in the request's language (issue 14 item 6): Hebrew by default, English when asked
    assert refresh.json()["error"]["message"] == "הספק אינו מקבל עוד את החיבור הזה (בוטל או שפג תוקפו): יש לחבר אותו מחדש."
    english = alice_api.post(f"/api/integrations/{integration_id}/refresh", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["error"]["message"] == integration.last_error


def test_transient_token_endpoint_failure_sets_error_and_backoff(alice, alice_api, hubspot_app, oauth_server):
    integration_id = connect(alice_api, oauth_server)
    _expire(integration_id, alice.tenant.id)
    provider_app_set(provider_id=PROVIDER, token_url="http://127.0.0.1:9/unreachable")
    before = timezone.now()
    with pytest.raises(TokenUnavailable) as caught:
        ensure_valid_token(integration_id=integration_id, tenant_id=alice.tenant.id)
    after = timezone.now()
    assert caught.value.kind == "transient"
    with tenant_scope(alice.tenant.id):
        integration = Integration.objects.get(pk=integration_id)
    assert (integration.status, integration.refresh_failures) == ("error", 1)
    assert before + timedelta(minutes=1) <= integration.next_refresh_attempt_at <= after + timedelta(minutes=1)
    # the refresh API says why in the request's language (issue 14 item 6)
    refresh = alice_api.post(f"/api/integrations/{integration_id}/refresh")
    assert (refresh.status_code, refresh.json()["error"]["code"]) == (502, "provider_unavailable")
    assert refresh.json()["error"]["message"] == "לא ניתן להגיע לנקודת הקצה של האסימונים (ConnectionError)"
    english = alice_api.post(f"/api/integrations/{integration_id}/refresh", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["error"]["message"] == "could not reach the token endpoint (ConnectionError)"


def test_delete_revokes_at_provider_deletes_and_emits_disconnected(alice, alice_api, bob_api, hubspot_app, oauth_server,
                                                                  tenant_events, django_capture_on_commit_callbacks):
    integration_id = connect(alice_api, oauth_server)
    with tenant_scope(alice.tenant.id):
        creds = read_credentials(Integration.objects.get(pk=integration_id))
    revokes = oauth_server.stats().get("revoke", 0)
    assert bob_api.delete(f"/api/integrations/{integration_id}").status_code == 404
    events = tenant_events(alice.tenant.id)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.delete(f"/api/integrations/{integration_id}")
    # then
    assert response.status_code == 204
    [event] = events.collect(1)
    assert event["type"] == "integration.disconnected"
    assert event["data"] == {"integrationId": integration_id, "provider": PROVIDER, "reason": "user_disconnected"}
    assert oauth_server.stats()["revoke"] == revokes + 2  # refresh token, then access token
    resource = requests.get(f"{oauth_server.base_url}/account-info/v3/details",
                            headers={"Authorization": f"Bearer {creds.access_token}"}, timeout=5)
    assert resource.status_code in (401, 403)
    with tenant_scope(alice.tenant.id):
        assert Integration.objects.filter(pk=integration_id).count() == 0


# ----------------------------------------------------------------- exactly one refresh
@pytest.mark.django_db(transaction=True)
def test_exactly_one_refresh_when_many_threads_find_the_token_expired(alice, alice_api, hubspot_app, oauth_server):
    integration_id = connect(alice_api, oauth_server)
    _expire(integration_id, alice.tenant.id)
    refreshes = oauth_server.stats().get("refresh_token", 0)
    results = run_at_once(lambda: ensure_valid_token(integration_id=integration_id, tenant_id=alice.tenant.id), 6)
    assert len(results) == 6 and len(set(results)) == 1
    assert oauth_server.stats()["refresh_token"] == refreshes + 1


@pytest.mark.django_db(transaction=True)
def test_exactly_one_refresh_across_two_processes(alice, alice_api, hubspot_app, oauth_server):
    integration_id = connect(alice_api, oauth_server)
    _expire(integration_id, alice.tenant.id)
    refreshes = oauth_server.stats().get("refresh_token", 0)
    script = REFRESH_WORKER
    db_name = connection.settings_dict["NAME"]
    env = {**os.environ, "OAUTHLIB_INSECURE_TRANSPORT": "1"}
    procs = [
        subprocess.Popen([sys.executable, str(script), db_name, integration_id, str(alice.tenant.id)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    try:
        # the barrier: both processes have Django set up and a database connection open
        for proc in procs:
            _read_line(proc, "READY", timeout=60)
        for proc in procs:
            proc.stdin.write("GO\n")
            proc.stdin.flush()
        outputs = [p.communicate(timeout=60) for p in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    tokens = [out.strip().splitlines()[-1] if out.strip() else err[-2000:] for out, err in outputs]
    with tenant_scope(alice.tenant.id):
        stored = read_credentials(Integration.objects.get(pk=integration_id))
    assert tokens == [stored.access_token, stored.access_token]
    assert oauth_server.stats()["refresh_token"] == refreshes + 1


def _read_line(proc: subprocess.Popen, expected: str, timeout: float) -> None:
    """Wait for ``expected`` on the process's stdout; fail loudly (with its stderr) if it
    exits or stays silent for ``timeout`` seconds."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline().strip() if ready else None
    if line != expected:
        proc.kill()
        raise AssertionError(f"refresh worker sent {line!r} instead of {expected!r} within {timeout:.0f} s; "
                             f"stderr: {proc.stderr.read()[-2000:]}")
