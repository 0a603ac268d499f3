"""The seed's integration lifecycle events, asserted with their payloads (DESIGN C9).

``integration.connected`` (OAuth callback and credentials), ``integration.disconnected``
for every reason the hub gives (``user_disconnected`` on DELETE, ``token_expired`` when
the provider answers invalid_grant, ``operator_disconnected`` from the admin), and ``integration.token_expiring`` from the beat
scan — each heard on the real channel layer through tests/support/events.py, each
exactly once (a marker published after it through the same publisher arrives next).
Last, a browser's cookie-session socket receives its tenant's event and another
tenant's socket does not.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from architect_studio.asgi import application
from core import realtime
from core.tenant_context import tenant_scope
from integrations import oauth
from integrations.models import Integration
from integrations.providers.catalog import get_provider
from integrations.tokens import Credentials, TokenUnavailable, ensure_valid_token, read_credentials
from tests.support.events import TenantEvents
from tests.support.factories import make_persona
from tests.support.oauth_server import harness

pytestmark = pytest.mark.django_db

OAUTH_PROVIDER = "hubspot"  # a real catalog entry, pointed at the local OAuth server
CARDCOM = {"terminalNumber": "1000", "apiName": "studio-api", "apiPassword": "cardcom-secret-1"}


def _nothing_else(events: TenantEvents, tenant_id) -> None:
    """Publish a marker through the same in-process publisher (FIFO) and expect it next:
    proves no further event of ours was queued before it, without sleeping."""
    marker = {"type": "test.marker", "data": {"id": str(uuid.uuid4())}, "timestamp": timezone.now().isoformat()}
    realtime._send(tenant_id, marker)
    assert events.collect(1) == [marker]


def _assert_envelope(message: dict, event_type: str, data: dict) -> None:
    assert set(message) == {"type", "data", "timestamp"}
    assert (message["type"], message["data"]) == (event_type, data)
    assert datetime.fromisoformat(message["timestamp"]).tzinfo is not None


# --------------------------------------------------------------------------- OAuth (local server)
# The local OAuth server and its hubspot app (http allowed for it): tests/conftest.py.


def _oauth_connect(api: APIClient, server: harness.OAuthServer, capture) -> str:
    start = api.get(f"/api/integrations/connect/{OAUTH_PROVIDER}", HTTP_ACCEPT="application/json")
    assert start.status_code == 200, start.content
    location = urlsplit(server.consent(start.json()["authorizationUrl"]))
    with capture(execute=True):
        done = api.get(f"{location.path}?{location.query}")
    assert done.status_code == 302, done.content
    return done["Location"].split("/integrations/")[1].split("?")[0]


def test_oauth_callback_emits_connected_once(alice, alice_api, hubspot_app, oauth_server, tenant_events,
                                             django_capture_on_commit_callbacks):
    events = tenant_events(alice.tenant.id)
    integration_id = _oauth_connect(alice_api, oauth_server, django_capture_on_commit_callbacks)
    _assert_envelope(events.collect(1)[0], "integration.connected",
                     {"integrationId": integration_id, "provider": OAUTH_PROVIDER})
    _nothing_else(events, alice.tenant.id)


def test_invalid_grant_emits_disconnected_with_reason_token_expired(alice, alice_api, hubspot_app, oauth_server,
                                                                     tenant_events, django_capture_on_commit_callbacks):
    events = tenant_events(alice.tenant.id)  # before the connect: its event is published asynchronously
    integration_id = _oauth_connect(alice_api, oauth_server, django_capture_on_commit_callbacks)
    _assert_envelope(events.collect(1)[0], "integration.connected",
                     {"integrationId": integration_id, "provider": OAUTH_PROVIDER})
    with tenant_scope(alice.tenant.id):
        integration = Integration.objects.get(pk=integration_id)
        creds = read_credentials(integration)
        # the token is due for a refresh, and the user has revoked the grant at the provider
        past = timezone.now() - timedelta(minutes=1)
        integration.set_secret("oauth_encrypted", json.dumps({**creds.as_json(), "tokenExpiresAt": past.isoformat()}))
        integration.token_expires_at = past
        integration.save()
    assert oauth.revoke(oauth.app_config(get_provider(OAUTH_PROVIDER)), token=creds.refresh_token,
                        token_type_hint="refresh_token") == 200
    # when
    with pytest.raises(TokenUnavailable), django_capture_on_commit_callbacks(execute=True):
        ensure_valid_token(integration_id=integration_id, tenant_id=alice.tenant.id)
    # then
    _assert_envelope(events.collect(1)[0], "integration.disconnected",
                     {"integrationId": integration_id, "provider": OAUTH_PROVIDER, "reason": "token_expired"})
    _nothing_else(events, alice.tenant.id)


# --------------------------------------------------------------------------- credentials
def test_credentials_connect_emits_connected_and_delete_emits_user_disconnected(
        alice, alice_api, bob, tenant_events, django_capture_on_commit_callbacks):
    events = tenant_events(alice.tenant.id)
    bobs = tenant_events(bob.tenant.id)
    # when alice connects a credentials provider
    with django_capture_on_commit_callbacks(execute=True):
        created = alice_api.post("/api/integrations/connect/cardcom", {"credentials": CARDCOM}, format="json")
    assert created.status_code == 201, created.content
    integration_id = created.json()["id"]
    # then
    _assert_envelope(events.collect(1)[0], "integration.connected",
                     {"integrationId": integration_id, "provider": "cardcom"})
    # when she disconnects it
    with django_capture_on_commit_callbacks(execute=True):
        assert alice_api.delete(f"/api/integrations/{integration_id}").status_code == 204
    # then
    _assert_envelope(events.collect(1)[0], "integration.disconnected",
                     {"integrationId": integration_id, "provider": "cardcom", "reason": "user_disconnected"})
    _nothing_else(events, alice.tenant.id)
    _nothing_else(bobs, bob.tenant.id)  # bob's studio heard none of it


@pytest.mark.django_db(transaction=True)  # the admin reads through the operator role's own connection
def test_an_operator_disconnect_in_the_admin_emits_disconnected_with_reason_operator_disconnected(tenant_events):
    from django.contrib.auth import get_user_model

    alice = make_persona("Alice Studio", "alice@example.com")
    events = tenant_events(alice.tenant.id)  # before the connect: its event is published asynchronously
    created = _api_for(alice).post("/api/integrations/connect/cardcom", {"credentials": CARDCOM}, format="json")
    assert created.status_code == 201, created.content
    integration_id = created.json()["id"]
    _assert_envelope(events.collect(1)[0], "integration.connected", {"integrationId": integration_id, "provider": "cardcom"})
    staff = get_user_model().objects.create_superuser("op", "op@example.com", "pw-123456789")
    admin = Client()
    admin.force_login(staff)
    # when
    response = admin.post("/admin/integrations/integration/",
                          {"action": "action_disconnect", "_selected_action": [integration_id]})
    # then
    assert response.status_code == 302, response.content[:500]
    _assert_envelope(events.collect(1)[0], "integration.disconnected",
                     {"integrationId": integration_id, "provider": "cardcom", "reason": "operator_disconnected"})
    _nothing_else(events, alice.tenant.id)


def _api_for(persona) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {persona.token}")
    return api


# --------------------------------------------------------------------------- beat scan
@pytest.mark.django_db(transaction=True)  # the scan reads through the operator role's own connection
def test_expiry_scan_warns_once_with_token_expiring_for_a_token_that_cannot_be_refreshed(tenant_events):
    from integrations.tasks import scan_expiring_tokens

    alice = make_persona("Alice Studio", "alice@example.com")
    expires = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    with tenant_scope(alice.tenant.id):
        integration = Integration(tenant=alice.tenant, provider="google_drive", name="Drive",
                                  connected_by=alice.user, status="connected")
        creds = Credentials("at-1", None, expires, ["drive"])  # no refresh token: it will die
        integration.set_secret("oauth_encrypted", json.dumps(creds.as_json()))
        integration.token_expires_at = expires
        integration.save()
    events = tenant_events(alice.tenant.id)
    # when
    first, second = scan_expiring_tokens(), scan_expiring_tokens()
    # then
    assert (first, second) == ({"refreshing": 0, "warned": 1}, {"refreshing": 0, "warned": 0})
    message = events.collect(1)[0]
    _assert_envelope(message, "integration.token_expiring", {
        "integrationId": str(integration.pk), "provider": "google_drive", "expiresAt": message["data"]["expiresAt"],
    })
    assert datetime.fromisoformat(message["data"]["expiresAt"].replace("Z", "+00:00")) == expires
    _nothing_else(events, alice.tenant.id)  # the second scan did not warn again


# --------------------------------------------------------------------------- cookie-session socket
def _browser(name: str, email: str):
    persona = make_persona(name, email)
    browser = Client()
    browser.force_login(persona.user)
    return persona, browser


async def _session_socket(browser: Client) -> WebsocketCommunicator:
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    comm = WebsocketCommunicator(application, "/ws/events", headers=[
        (b"host", b"localhost"), (b"origin", b"http://localhost"), (b"cookie", cookie.encode())])
    connected, code = await comm.connect(timeout=5)
    assert connected, code
    assert (await comm.receive_json_from(timeout=5))["type"] == "connection.ready"
    return comm


@sync_to_async
def _sync(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_logged_in_browser_socket_receives_its_tenants_event_and_no_other():
    alice, alice_browser = await _sync(_browser, "Alice Studio", "alice@example.com")
    bob, bob_browser = await _sync(_browser, "Bob Studio", "bob@example.com")
    alice_ws, bob_ws = await _session_socket(alice_browser), await _session_socket(bob_browser)
    # when alice, in the same browser session, connects a provider
    created = await _sync(alice_browser.post, "/api/integrations/connect/cardcom", {"credentials": CARDCOM},
                          content_type="application/json")
    assert created.status_code == 201, created.content
    # then her socket hears it, with the seed's payload
    message = await alice_ws.receive_json_from(timeout=10)
    _assert_envelope(message, "integration.connected", {"integrationId": created.json()["id"], "provider": "cardcom"})
    # and bob's socket's next message is a marker sent to his tenant after it, not alice's event
    marker = {"type": "test.marker", "data": {}, "timestamp": timezone.now().isoformat()}
    realtime._send(bob.tenant.id, marker)
    assert await bob_ws.receive_json_from(timeout=10) == marker
    await alice_ws.disconnect()
    await bob_ws.disconnect()
