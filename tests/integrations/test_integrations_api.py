"""Integration management API, providers catalog endpoint, tenant isolation (code + RLS),
set_provider_app, admin, beat token scan, and CalDAV against a real local Radicale."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from core.tenant_context import tenant_scope
from integrations.models import Integration, IntegrationLog, OAuthState, ProviderApp
from integrations.oauth import state_hash
from integrations.tasks import scan_expiring_tokens
from tests.support.oauth import make_oauth_integration
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db

VALID_SETTINGS = {
    "enabled": True,
    "direction": "bidirectional",
    "frequency": "hourly",
    "entities": [{"localEntity": "meeting", "remoteEntity": "event", "enabled": True, "direction": "bidirectional"}],
    "fieldMappings": [
        {"localEntity": "meeting", "localField": "title", "remoteField": "summary"},
        {"localEntity": "meeting", "localField": "startTime", "remoteField": "start.dateTime", "transform": "date_format",
         "transformConfig": {"format": "iso"}},
    ],
    "filters": [{"field": "status", "operator": "in_list", "value": ["scheduled", "done"]}],
}


@pytest.fixture(autouse=True)
def _limiter_on_test_redis(settings):
    settings.INTEGRATIONS_RATELIMIT_REDIS_URL = settings.CELERY_BROKER_URL


@pytest.fixture
def google(alice):
    return make_oauth_integration(alice, "google_calendar", access="ya29.secret-access", refresh="1//secret-refresh")


def test_providers_endpoint_groups_the_catalog_by_category(alice_api, google):
    response = alice_api.get("/api/integrations/providers")
    categories = response.json()["categories"]
    assert response.status_code == 200
    assert [c["id"] for c in categories] == ["calendar", "storage", "accounting", "communication", "payments",
                                             "design", "crm", "webhooks"]
    providers = {p["id"]: p for c in categories for p in c["providers"]}
    assert len(providers) == 23
    assert providers["google_calendar"]["status"] == "connected"
    assert providers["google_calendar"]["integrationId"] == str(google.pk)
    assert providers["google_calendar"]["oauthConfigured"] is False
    assert providers["priority"]["maturity"] == "limited"
    assert providers["twilio"]["authKind"] == "api_key"
    assert providers["apple_calendar"]["authKind"] == "caldav"
    assert providers["custom_webhook"]["connectUrl"] is None


def test_list_retrieve_never_show_secrets_and_bob_sees_nothing(alice_api, bob_api, google):
    listed = alice_api.get("/api/integrations")
    one = alice_api.get(f"/api/integrations/{google.pk}")
    assert listed.status_code == 200 and listed.json()["count"] == 1
    assert one.json()["id"] == str(google.pk) and one.json()["tenantId"] == str(google.tenant_id)
    for body in (listed.content, one.content):
        assert b"secret-access" not in body and b"secret-refresh" not in body
    assert bob_api.get("/api/integrations").json()["count"] == 0
    for method, suffix in (("get", ""), ("patch", ""), ("delete", ""), ("post", "/refresh"), ("post", "/test"),
                           ("get", "/status"), ("get", "/logs")):
        assert getattr(bob_api, method)(f"/api/integrations/{google.pk}{suffix}", {}, format="json").status_code == 404
    assert alice_api.get("/api/integrations/not-a-uuid").status_code == 404


def test_patch_validates_and_stores_sync_settings(alice_api, google):
    response = alice_api.patch(f"/api/integrations/{google.pk}", {"name": "יומן המשרד", "syncSettings": VALID_SETTINGS},
                               format="json")
    assert response.status_code == 200, response.content
    stored = response.json()["syncSettings"]
    assert stored["fieldMappings"][1] == {"localEntity": "meeting", "localField": "startTime",
                                         "remoteField": "start.dateTime", "transform": "date_format",
                                         "transformConfig": {"format": "iso"}}
    assert stored["fieldMappings"][0]["transform"] == "none"
    assert response.json()["name"] == "יומן המשרד"
    status = alice_api.get(f"/api/integrations/{google.pk}/status").json()
    assert status["status"] == "connected" and status["nextSyncAt"] is not None
    # a partial syncSettings merges over the stored one
    partial = alice_api.patch(f"/api/integrations/{google.pk}", {"syncSettings": {"frequency": "manual"}}, format="json")
    assert partial.json()["syncSettings"]["frequency"] == "manual"
    assert partial.json()["syncSettings"]["entities"] == VALID_SETTINGS["entities"]


@pytest.mark.parametrize(("change", "field"), [
    ({"direction": "sideways"}, "direction"),
    ({"frequency": "weekly"}, "frequency"),
    ({"entities": [{"localEntity": "payment", "remoteEntity": "event", "direction": "import"}]}, "entities[0]"),
    ({"entities": [{"localEntity": "task", "remoteEntity": "event", "direction": "import"}]}, "entities[0]"),
    ({"fieldMappings": [{"localEntity": "meeting", "localField": "bad field", "remoteField": "x"}]}, "fieldMappings[0]"),
    ({"fieldMappings": [{"localEntity": "meeting", "localField": "t", "remoteField": "x", "transform": "magic"}]},
     "fieldMappings[0]"),
    ({"filters": [{"field": "status", "operator": "in_list", "value": "x"}]}, "filters[0]"),
    ({"filters": [{"field": "status", "operator": "regex", "value": "x"}]}, "filters[0]"),
    ({"surprise": 1}, "unknown"),
    ({"enabled": "yes"}, "enabled"),
])
def test_patch_rejects_invalid_sync_settings_and_changes_nothing(alice_api, google, change, field):
    response = alice_api.patch(f"/api/integrations/{google.pk}", {"syncSettings": {**VALID_SETTINGS, **change}},
                               format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]["syncSettings"]
    with tenant_scope(google.tenant_id):
        assert Integration.objects.get(pk=google.pk).sync_settings == {}


def test_sync_settings_errors_follow_the_requests_language(alice_api, google):
    bad = {"syncSettings": {**VALID_SETTINGS, "direction": "sideways", "fieldMappings": [
        {"localEntity": "meeting", "localField": "t", "remoteField": "x", "transform": "magic"},
        {"localEntity": "meeting", "localField": "t", "remoteField": "x", "transform": "currency_convert",
         "transformConfig": {"from": "USD", "to": "ILS", "rate": 3.7}}]}}
    url = f"/api/integrations/{google.pk}"
    hebrew = alice_api.patch(url, bad, format="json")
    assert hebrew.status_code == 400
    fields = hebrew.json()["error"]["fields"]["syncSettings"]
    assert fields["direction"] == ["חייב להיות אחד מאלה: import, export, bidirectional"]
    assert fields["fieldMappings[0]"] == [
        "transform חייב להיות אחד מאלה: none, date_format, currency_convert, custom, link"]
    assert fields["fieldMappings[1]"] == ["transformConfig: מפתח לא מוכר 'rate'"]
    english = alice_api.patch(url, bad, format="json", HTTP_ACCEPT_LANGUAGE="en")
    fields = english.json()["error"]["fields"]["syncSettings"]
    assert fields["direction"] == ["must be one of import, export, bidirectional"]
    assert fields["fieldMappings[0]"] == ["transform must be one of none, date_format, currency_convert, custom, link"]
    assert fields["fieldMappings[1]"] == ["transformConfig: unknown key 'rate'"]
    with tenant_scope(google.tenant_id):
        assert Integration.objects.get(pk=google.pk).sync_settings == {}


def test_patch_with_nothing_and_too_many_mappings_is_400(alice_api, google):
    assert alice_api.patch(f"/api/integrations/{google.pk}", {}, format="json").status_code == 400
    many = {**VALID_SETTINGS, "fieldMappings": [VALID_SETTINGS["fieldMappings"][0]] * 201}
    assert alice_api.patch(f"/api/integrations/{google.pk}", {"syncSettings": many}, format="json").status_code == 400


def test_logs_are_paginated_and_scoped(alice_api, google):
    with tenant_scope(google.tenant_id):
        for i in range(3):
            IntegrationLog.objects.create(tenant_id=google.tenant_id, integration=google, action="test",
                                          direction="outgoing", status="success",
                                          started_at=timezone.now() - timedelta(minutes=i))
    page = alice_api.get(f"/api/integrations/{google.pk}/logs?pageSize=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert page["results"][0]["integrationId"] == str(google.pk)


def test_refresh_on_api_key_integration_is_400(alice, alice_api):
    with tenant_scope(alice.tenant.id):
        integration = Integration.objects.create(tenant=alice.tenant, provider="stripe", name="s",
                                                 connected_by=alice.user, status="connected")
    response = alice_api.post(f"/api/integrations/{integration.pk}/refresh")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "not_oauth")


def test_rls_raw_sql_under_bob_sees_none_of_alices_integrations_or_states(alice, bob, google):
    with tenant_scope(alice.tenant.id):
        OAuthState.objects.create(tenant=alice.tenant, user=alice.user, provider="hubspot", state_hash=state_hash("s1"),
                                  redirect_uri="x", expires_at=timezone.now() + timedelta(minutes=5))
    with tenant_scope(bob.tenant.id), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM integrations")
        integrations = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM integration_oauth_states")
        states = cursor.fetchone()[0]
    assert (integrations, states) == (0, 0)
    # the callback's narrow policy: with no tenant, only the row whose hash is presented
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.current_tenant_id', '', true)")
        cursor.execute("SELECT set_config('app.oauth_state_hash', %s, true)", [state_hash("wrong")])
        cursor.execute("SELECT count(*) FROM integration_oauth_states")
        wrong = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('app.oauth_state_hash', %s, true)", [state_hash("s1")])
        cursor.execute("SELECT provider FROM integration_oauth_states")
        right = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM integrations")
        no_integrations = cursor.fetchone()[0]
    assert (wrong, right, no_integrations) == (0, [("hubspot",)], 0)


def test_settings_page_is_tenant_scoped(alice, bob, google, client):
    client.force_login(bob.user)
    assert client.get(f"/integrations/{google.pk}").status_code == 404
    client.force_login(alice.user)
    page = client.get(f"/integrations/{google.pk}")
    assert page.status_code == 200 and b"secret-access" not in page.content
    listing = client.get("/integrations")
    assert listing.status_code == 200 and b'dir="rtl"' in listing.content


def test_pages_redirect_anonymous_users_to_login(client, google):
    response = client.get(f"/integrations/{google.pk}")
    assert response.status_code == 302 and response["Location"] == f"/login?next=/integrations/{google.pk}"


def test_set_provider_app_command_stores_encrypted_secret_and_overrides(db):
    out = StringIO()
    call_command("set_provider_app", "xero", "--client-id", "XERO-ID", "--client-secret", "XERO-SECRET",
                 "--token-url", "http://127.0.0.1:9000/token", "--api-base-url", "https://xero.test", stdout=out)
    printed = json.loads(out.getvalue())
    app = ProviderApp.objects.get(provider="xero")
    assert printed["clientSecretSet"] is True and "XERO-SECRET" not in out.getvalue()
    assert printed["redirectUri"].endswith("/api/integrations/callback/xero")
    assert (app.client_id, app.token_url, app.api_base_url) == ("XERO-ID", "http://127.0.0.1:9000/token", "https://xero.test")
    assert app.get_secret("client_secret_encrypted") == "XERO-SECRET"
    assert b"XERO-SECRET" not in bytes(app.client_secret_encrypted)
    # omitted options stay; an unknown provider fails clearly
    call_command("set_provider_app", "xero", "--client-id", "NEW", stdout=StringIO())
    app.refresh_from_db()
    assert (app.client_id, app.get_secret("client_secret_encrypted")) == ("NEW", "XERO-SECRET")
    with pytest.raises(Exception, match="unknown provider"):
        call_command("set_provider_app", "nope", stdout=StringIO())


@pytest.mark.django_db(transaction=True)  # operator_scope reads on its own connection
def test_admin_never_shows_secrets(admin_client, google):
    call_command("set_provider_app", "google_calendar", "--client-id", "GID", "--client-secret", "G-SECRET",
                 stdout=StringIO())
    app = ProviderApp.objects.get(provider="google_calendar")
    pages = [
        admin_client.get("/admin/integrations/providerapp/"),
        admin_client.get(f"/admin/integrations/providerapp/{app.pk}/change/"),
        admin_client.get("/admin/integrations/integration/"),
        admin_client.get(f"/admin/integrations/integration/{google.pk}/change/"),
    ]
    for page in pages:
        assert page.status_code == 200
        assert b"G-SECRET" not in page.content and b"secret-access" not in page.content
    assert b"/api/integrations/callback/google_calendar" in pages[1].content


@pytest.mark.django_db(transaction=True)  # operator_scope reads on its own connection
def test_beat_scan_warns_about_tokens_that_cannot_refresh(alice, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    integration = make_oauth_integration(alice, "monday", refresh=None)
    with tenant_scope(alice.tenant.id):
        Integration.objects.filter(pk=integration.pk).update(token_expires_at=timezone.now() + timedelta(days=1))
    result = scan_expiring_tokens()
    again = scan_expiring_tokens()
    with tenant_scope(alice.tenant.id):
        warned = Integration.objects.get(pk=integration.pk).expiry_warned_at
    assert result == {"refreshing": 0, "warned": 1}
    assert again == {"refreshing": 0, "warned": 0}  # warned once
    assert warned is not None


# ----------------------------------------------------------------- CalDAV against real Radicale
# (the session's Radicale: tests/support/radicale.py)
def test_apple_calendar_caldav_connect_against_radicale(alice, alice_api, radicale):
    bad = alice_api.post("/api/integrations/connect/apple_calendar", {"credentials": {
        "username": "studio@example.com", "appPassword": "wrong-pass", "serverUrl": radicale.url}}, format="json")
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_credentials")
    good = alice_api.post("/api/integrations/connect/apple_calendar", {"credentials": {
        "username": "studio@example.com", "appPassword": "app-pass-1234", "serverUrl": radicale.url}}, format="json")
    assert good.status_code == 201, good.content
    assert good.json()["connectionConfig"] == {"username": "studio@example.com", "serverUrl": radicale.url,
                                               "verified": True}
    assert b"app-pass-1234" not in good.content
    test = alice_api.post(f"/api/integrations/{good.json()['id']}/test").json()
    assert (test["ok"], test["httpStatus"]) == (True, 207)


@pytest.mark.django_db(transaction=True)
def test_beat_scan_refreshes_soon_expiring_tokens_through_a_real_worker(alice, celery_worker_thread, hubspot_app,
                                                                          oauth_server):
    """beat's scan -> the Redis broker -> a real worker -> a real token endpoint (the local
    OAuth server, tests/support/oauth_server), and the rotated pair is stored."""
    from integrations.tokens import read_credentials

    grant = oauth_server.issue_tokens()
    integration = make_oauth_integration(alice, "hubspot", access=grant["access_token"], refresh=grant["refresh_token"])
    soon = timezone.now() + timedelta(minutes=3)
    with tenant_scope(alice.tenant.id):
        row = Integration.objects.get(pk=integration.pk)
        data = json.loads(row.get_secret("oauth_encrypted"))
        data["tokenExpiresAt"] = soon.isoformat()
        row.set_secret("oauth_encrypted", json.dumps(data))
        row.token_expires_at = soon
        row.save()
        version = row.token_version
    refreshes = oauth_server.stats().get("refresh_token", 0)

    def refreshed() -> Integration | None:
        with tenant_scope(alice.tenant.id):
            current = Integration.objects.get(pk=integration.pk)
        return current if current.token_version > version else None

    # when
    before = timezone.now()
    assert scan_expiring_tokens() == {"refreshing": 1, "warned": 0}
    row = wait_until(refreshed, timeout=30, what="the worker to store a refreshed token")
    # then: exactly one refresh at the provider, and its rotated pair is what we stored
    assert row.token_version == version + 1
    assert oauth_server.stats().get("refresh_token", 0) == refreshes + 1
    with tenant_scope(alice.tenant.id):
        creds = read_credentials(row)
        log = IntegrationLog.objects.get(integration=row, action="token_refresh")
    assert creds.access_token != grant["access_token"] and creds.refresh_token != grant["refresh_token"]
    assert oauth_server.accepts(creds.access_token)
    # the server's one-hour lifetime, counted from the refresh (its expires_in may round down a second)
    assert before + timedelta(seconds=3600 - 2) <= row.token_expires_at <= timezone.now() + timedelta(hours=1)
    assert (log.status, log.summary) == ("success", {"rotated": True})


def test_tenant_server_url_is_pinned_to_the_checked_address(alice, alice_api, radicale, monkeypatch):
    """The client connects to the address it checked, not to a second DNS answer:
    a name only our (fake) resolver knows still reaches the local Radicale."""
    from core import outbound

    port = radicale.url.rsplit(":", 1)[1]
    looked_up: list[str] = []

    def fake_resolve(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["127.0.0.1"] if host == "caldav.studio.test" else []

    monkeypatch.setattr(outbound, "resolve_host", fake_resolve)
    server = f"http://caldav.studio.test:{port}"
    good = alice_api.post("/api/integrations/connect/apple_calendar", {"credentials": {
        "username": "studio@example.com", "appPassword": "app-pass-1234", "serverUrl": server}}, format="json")
    assert good.status_code == 201, good.content
    assert looked_up and set(looked_up) == {"caldav.studio.test"}


def test_credentials_posted_for_an_oauth_provider_are_refused_in_the_requests_language(alice, alice_api):
    # issue 14 item 6: the same code; the message in Hebrew by default, English when asked
    path = "/api/integrations/connect/hubspot"
    body = {"credentials": {"apiKey": "x"}}
    hebrew = alice_api.post(path, body, format="json", HTTP_ACCEPT_LANGUAGE="he")
    english = alice_api.post(path, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert (hebrew.status_code, hebrew.json()["error"]["code"]) == (400, "not_credentials")
    assert (english.status_code, english.json()["error"]["code"]) == (400, "not_credentials")
    assert english.json()["error"]["message"] == "HubSpot is connected through its consent screen: GET this URL instead."
    assert hebrew.json()["error"]["message"] == "HubSpot מתחבר דרך מסך ההסכמה שלו: יש לפנות לכתובת הזו ב-GET."


def test_an_oauth_start_for_a_credentials_provider_is_refused_in_the_requests_language(alice, alice_api):
    path = "/api/integrations/connect/apple_calendar"
    hebrew = alice_api.get(path, HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE="he")
    english = alice_api.get(path, HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert (hebrew.status_code, hebrew.json()["error"]["code"]) == (400, "not_oauth")
    assert english.json()["error"]["code"] == "not_oauth"
    assert english.json()["error"]["message"] == (
        "Apple Calendar (iCloud) is connected with credentials: POST them to this URL.")
    assert hebrew.json()["error"]["message"] == (  # the provider by its Hebrew name
        "יומן Apple (iCloud) מתחבר בפרטי התחברות: יש לשלוח אותם לכתובת הזו ב-POST.")
