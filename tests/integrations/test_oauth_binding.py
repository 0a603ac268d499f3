"""OAuth bound to its initiator (issue 10 item 2, C11) and http provider endpoints.

An authorization URL minted by one browser and opened in another must not connect
anything: connect sets a nonce cookie bound to the state, the callback refuses the
state without it. Runs against the local OAuth server of tests/support/oauth_server.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import pytest
from rest_framework.test import APIClient

from core.tenant_context import tenant_scope
from integrations import oauth
from integrations.models import Integration, OAuthState
from integrations.services import provider_app_set
from tests.support.oauth import PROVIDER, connect, open_callback
from tests.support.oauth_server import harness

COOKIE_PATH = "/api/integrations/callback/"


# The local OAuth server, its hubspot app and http allowed for it: tests/conftest.py.
pytestmark = pytest.mark.usefixtures("local_oauth_http")


def _nonce_cookie(response):
    cookies = [c for name, c in response.cookies.items() if name.startswith("hub_oauth_")]
    assert len(cookies) == 1, response.cookies
    return cookies[0]


def _state(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


def test_connect_sets_an_httponly_lax_nonce_cookie_bound_to_its_state(alice, alice_api, hubspot_app):
    # when: both variants of connect
    as_json = alice_api.get(f"/api/integrations/connect/{PROVIDER}", HTTP_ACCEPT="application/json")
    as_redirect = alice_api.get(f"/api/integrations/connect/{PROVIDER}")
    # then
    assert (as_json.status_code, as_redirect.status_code) == (200, 302)
    for response, url in ((as_json, as_json.json()["authorizationUrl"]), (as_redirect, as_redirect["Location"])):
        cookie = _nonce_cookie(response)
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Lax"
        assert cookie["path"] == COOKIE_PATH
        assert int(cookie["max-age"]) == int(oauth.STATE_TTL.total_seconds())
        assert cookie.value and cookie.value not in url
        with tenant_scope(alice.tenant.id):
            row = OAuthState.objects.get(state_hash=oauth.state_hash(_state(url)))
        assert row.nonce_hash == oauth.nonce_hash(cookie.value)


def test_url_minted_by_an_attacker_and_opened_by_a_victim_connects_nothing(alice, bob, bob_api, hubspot_app,
                                                                           oauth_server, client):
    # given: bob (the attacker) mints an authorization URL in his tenant
    start = bob_api.get(f"/api/integrations/connect/{PROVIDER}", HTTP_ACCEPT="application/json")
    # when: alice's browser (no nonce cookie) consents at the provider and follows the redirect back
    client.force_login(alice.user)
    location = oauth_server.consent(start.json()["authorizationUrl"])
    refused = open_callback(location, client)
    # then: refused with a readable message, nothing stored, the state consumed
    assert refused.status_code == 302
    assert refused["Location"] == f"/integrations?provider={PROVIDER}&error=browser_mismatch"
    for tenant in (alice.tenant, bob.tenant):
        with tenant_scope(tenant.id):
            assert (Integration.objects.count(), OAuthState.objects.count()) == (0, 0)
    page = client.get(refused["Location"]).content.decode()
    assert 'class="msg error"' in page
    # and the attacker cannot retry the consumed state with his own cookie
    retry = open_callback(location, bob_api)
    assert retry["Location"] == f"/integrations?provider={PROVIDER}&error=invalid_state"
    with tenant_scope(bob.tenant.id):
        assert Integration.objects.count() == 0


def test_a_different_nonce_cookie_is_refused(alice, alice_api, hubspot_app, oauth_server):
    start = alice_api.get(f"/api/integrations/connect/{PROVIDER}", HTTP_ACCEPT="application/json")
    name = _nonce_cookie(start).key
    browser = APIClient()
    browser.cookies = SimpleCookie({name: "not-the-nonce"})
    location = oauth_server.consent(start.json()["authorizationUrl"])
    # when
    refused = open_callback(location, browser)
    # then
    assert refused["Location"] == f"/integrations?provider={PROVIDER}&error=browser_mismatch"
    with tenant_scope(alice.tenant.id):
        assert (Integration.objects.count(), OAuthState.objects.count()) == (0, 0)


def test_spa_with_bearer_token_and_its_cookie_connects(alice, alice_api, hubspot_app, oauth_server):
    # alice_api is the SPA: bearer token plus a cookie jar (fetch with credentials: "include")
    integration_id = connect(alice_api, oauth_server)
    with tenant_scope(alice.tenant.id):
        integration = Integration.objects.get(pk=integration_id)
    assert integration.status == "connected" and integration.has_secret("oauth_encrypted")
    # and the callback cleared its cookie
    assert not [name for name, c in alice_api.cookies.items() if name.startswith("hub_oauth_") and c.value]


# ----------------------------------------------------------------- http endpoints
def test_http_endpoints_without_the_opt_in_give_a_400_naming_the_setting(alice, alice_api, hubspot_app,
                                                                          monkeypatch):
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT")
    for accept in ("application/json", "*/*"):
        response = alice_api.get(f"/api/integrations/connect/{PROVIDER}", HTTP_ACCEPT=accept)
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["code"] == "insecure_transport"
        assert "OAUTHLIB_INSECURE_TRANSPORT=1" in error["message"]
    with tenant_scope(alice.tenant.id):
        assert OAuthState.objects.count() == 0


def test_http_token_endpoint_at_callback_and_refresh_is_a_clear_error_not_a_500(alice, alice_api, hubspot_app,
                                                                                oauth_server, monkeypatch):
    integration_id = connect(alice_api, oauth_server)
    start = alice_api.get(f"/api/integrations/connect/{PROVIDER}", HTTP_ACCEPT="application/json")
    location = oauth_server.consent(start.json()["authorizationUrl"])
    # when the opt-in is gone by the time the browser comes back
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT")
    callback = open_callback(location, alice_api)
    refresh = alice_api.post(f"/api/integrations/{integration_id}/refresh")
    # then
    assert callback["Location"] == f"/integrations?provider={PROVIDER}&error=insecure_transport"
    assert refresh.status_code == 400, refresh.content
    assert refresh.json()["error"]["code"] == "provider_misconfigured"
    assert "OAUTHLIB_INSECURE_TRANSPORT=1" in refresh.json()["error"]["message"]


# ----------------------------------------------------------------- in a real browser
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_chromium_the_initiator_connects_and_a_victim_of_a_minted_url_does_not(live_server, settings, alice, bob):
    """The cookie's attributes (Lax, path, HttpOnly) as a browser applies them: the
    provider (127.0.0.1) redirects back to the hub (localhost), a cross-site top-level GET."""
    from django.test import Client
    from playwright.sync_api import sync_playwright

    from tests.support.browser import ARGS, CHROMIUM
    from tests.support.factories import client_for

    settings.PUBLIC_BASE_URL = live_server.url
    server = harness.start(f"{live_server.url}/api/integrations/callback/{PROVIDER}")
    try:
        provider_app_set(
            provider_id=PROVIDER, client_id=server.client_id, client_secret=server.client_secret,
            authorization_url=server.authorization_url, token_url=server.token_url,
            revoke_url=server.revoke_url, api_base_url=server.base_url, scopes="read write",
        )
        # database work before Playwright runs its event loop in this thread
        sessions = {}
        for name, persona in (("alice", alice), ("bob", bob)):
            browser_client = Client()
            browser_client.force_login(persona.user)
            sessions[name] = {"name": "sessionid", "value": browser_client.cookies["sessionid"].value,
                              "url": live_server.url}
        minted = client_for(bob).get(f"/api/integrations/connect/{PROVIDER}", HTTP_ACCEPT="application/json")
        minted_url = minted.json()["authorizationUrl"]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            try:
                # alice connects from her own browser
                own = browser.new_context()
                own.add_cookies([sessions["alice"]])
                page = own.new_page()
                page.goto(f"{server.base_url}/test-login")
                page.goto(f"{live_server.url}/api/integrations/connect/{PROVIDER}")
                own_landing = page.url
                own_message = page.locator(".msg").first.get_attribute("class")
                # and then opens the URL bob minted (no nonce cookie for it in her browser)
                page.goto(minted_url)
                victim_landing = page.url
                victim_message = page.locator(".msg").first.get_attribute("class")
            finally:
                browser.close()
    finally:
        server.stop()
    assert "connected=hubspot" in own_landing and own_message == "msg success"
    assert victim_landing.endswith(f"/integrations?provider={PROVIDER}&error=browser_mismatch")
    assert victim_message == "msg error"
    with tenant_scope(alice.tenant.id):
        assert Integration.objects.filter(provider=PROVIDER, status="connected").count() == 1
    with tenant_scope(bob.tenant.id):
        assert (Integration.objects.count(), OAuthState.objects.count()) == (0, 0)


def test_nonce_cookie_is_secure_when_the_hub_is_served_over_https(alice_api, hubspot_app, settings):
    settings.PUBLIC_BASE_URL = "https://hub.example.com"
    response = alice_api.get(f"/api/integrations/connect/{PROVIDER}", HTTP_ACCEPT="application/json")
    assert _nonce_cookie(response)["secure"] is True
