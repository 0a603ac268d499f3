"""Each provider's token and test-connection calls, with `responses` answering in the
shapes of the providers' own documentation (request shapes asserted too)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses
from django.utils import timezone

from core.tenant_context import tenant_scope
from integrations import oauth
from integrations.client import ProviderClient
from integrations.models import Integration, IntegrationLog
from integrations.providers.catalog import get_provider
from integrations.services import provider_app_set
from integrations.tokens import read_credentials
from tests.support.oauth import make_oauth_integration

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limiter_on_test_redis(settings):
    settings.INTEGRATIONS_RATELIMIT_REDIS_URL = settings.CELERY_BROKER_URL


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# (provider, token URL, token response per the provider's docs, client auth, test call, test response)
OAUTH_CASES = [
    (
        "google_calendar",
        "https://oauth2.googleapis.com/token",
        {"access_token": "ya29.a0AfH6SMB", "expires_in": 3599, "refresh_token": "1//0gLkR6",
         "scope": "https://www.googleapis.com/auth/calendar.events https://www.googleapis.com/auth/calendar.readonly",
         "token_type": "Bearer"},
        "post",
        ("GET", "https://www.googleapis.com/calendar/v3/users/me/calendarList?maxResults=1"),
        {"kind": "calendar#calendarList", "etag": '"p32g9nb5f2m8d80g"', "nextSyncToken": "CKDvx",
         "items": [{"kind": "calendar#calendarListEntry", "id": "studio@example.com", "summary": "Studio"}]},
    ),
    (
        "outlook_calendar",
        "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        {"token_type": "Bearer", "scope": "User.Read Calendars.ReadWrite", "expires_in": 3736, "ext_expires_in": 3736,
         "access_token": "eyJ0eXAiOiJKV1QiLCJub25jZSI6", "refresh_token": "AwABAAAAvPM1KaPlrEqdFSBzjqfTGAMxZGUTdM0t4B4"},
        "post",
        ("GET", "https://graph.microsoft.com/v1.0/me"),
        {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity", "displayName": "Adele Vance",
         "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd"},
    ),
    (
        "dropbox",
        "https://api.dropboxapi.com/oauth2/token",
        {"access_token": "sl.u.AbX9y6Fe3AuH5o66", "expires_in": 14400, "token_type": "bearer",
         "scope": "account_info.read files.content.read files.content.write files.metadata.read",
         "refresh_token": "nBiM85CZALsAAAAAAAAAAQXHBoNpNutK4ngsXHsqW4iGz9tisb3JyjGqikMJIYbd",
         "account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc", "uid": "12345"},
        "post",
        ("POST", "https://api.dropboxapi.com/2/users/get_current_account"),
        {"account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc", "email": "franz@example.com",
         "name": {"display_name": "Franz Ferdinand (Personal)", "given_name": "Franz"}},
    ),
    (
        "quickbooks",
        "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        {"token_type": "bearer", "expires_in": 3600, "refresh_token": "Q011502734928ScN1KzP6Vwi6",
         "x_refresh_token_expires_in": 8726400, "access_token": "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2In0"},
        "basic",
        ("GET", "https://quickbooks.api.intuit.com/v3/company/4620816365171234567/companyinfo/4620816365171234567"),
        {"CompanyInfo": {"CompanyName": "Larry's Bakery", "Id": "1", "Country": "US"}, "time": "2026-11-28T10:00:00-08:00"},
    ),
    (
        "xero",
        "https://identity.xero.com/connect/token",
        {"id_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6IjFDQUY4RTY2", "access_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6",
         "expires_in": 1800, "token_type": "Bearer", "refresh_token": "5b0e4c1a5b2f3e4d",
         "scope": "openid profile email accounting.contacts offline_access"},
        "basic",
        ("GET", "https://api.xero.com/connections"),
        [{"id": "e1eede29-f875-4a5d-8470-17f6a29a88b1", "authEventId": "d99ecdfe-391d-43d2-b834-17636ba90e8d",
          "tenantId": "70784a63-d24b-46a9-a4db-0e70a274b056", "tenantType": "ORGANISATION",
          "tenantName": "Maple Florist", "createdDateUtc": "2019-07-09T23:40:30.1833130", "updatedDateUtc": None}],
    ),
    (
        "hubspot",
        "https://api.hubapi.com/oauth/2026-03/token",
        {"token_type": "bearer", "refresh_token": "6f18f21e-a743-4509-b7fd-1a5e632fffa1",
         "access_token": "CN2zlYnmLBICAQIYgZXFLyCWp1Yz", "expires_in": 1800},
        "post",
        ("GET", "https://api.hubapi.com/account-info/v3/details"),
        {"portalId": 62515, "accountType": "STANDARD", "timeZone": "US/Eastern", "companyCurrency": "USD",
         "uiDomain": "app.hubspot.com", "dataHostingLocation": "na1"},
    ),
]


@pytest.mark.parametrize(("provider_id", "token_url", "token_body", "client_auth", "test_call", "test_body"), OAUTH_CASES,
                         ids=[c[0] for c in OAUTH_CASES])
@responses.activate
def test_oauth_provider_code_exchange_refresh_and_test_call(alice, provider_id, token_url, token_body, client_auth,
                                                            test_call, test_body):
    # given
    provider_app_set(provider_id=provider_id, client_id="client-123", client_secret="secret-456")
    app = oauth.app_config(get_provider(provider_id))
    responses.post(token_url, json=token_body)
    # when the code is exchanged
    before = timezone.now()
    tokens = oauth.exchange_code(app, code="auth-code-1", code_verifier="v" * 43)
    after = timezone.now()
    # then the request is shaped as the provider documents
    sent = responses.calls[0].request
    form = parse_qs(sent.body)
    assert form["grant_type"] == ["authorization_code"]
    assert form["code"] == ["auth-code-1"]
    assert form["code_verifier"] == ["v" * 43]
    assert form["redirect_uri"] == [f"http://localhost:8000/api/integrations/callback/{provider_id}"] or \
        form["redirect_uri"][0].endswith(f"/api/integrations/callback/{provider_id}")
    if client_auth == "basic":
        assert sent.headers["Authorization"] == _basic("client-123", "secret-456")
        assert "client_secret" not in form
    else:
        assert (form["client_id"], form["client_secret"]) == (["client-123"], ["secret-456"])
        assert "Authorization" not in sent.headers
    assert tokens.access_token == token_body["access_token"]
    assert tokens.refresh_token == token_body["refresh_token"]
    lifetime = timedelta(seconds=token_body["expires_in"])
    assert before + lifetime <= tokens.expires_at <= after + lifetime
    # when refreshed (rotating providers send a new refresh token; others omit it)
    rotated = {**token_body, "access_token": "at-2"}
    if not get_provider(provider_id).oauth.refresh_rotates:
        rotated.pop("refresh_token")
    else:
        rotated["refresh_token"] = "rt-2"
    responses.post(token_url, json=rotated)
    refreshed = oauth.refresh(app, refresh_token=tokens.refresh_token)
    form = parse_qs(responses.calls[1].request.body)
    assert form["grant_type"] == ["refresh_token"]
    assert form["refresh_token"] == [token_body["refresh_token"]]
    assert refreshed.access_token == "at-2"
    assert refreshed.refresh_token == ("rt-2" if get_provider(provider_id).oauth.refresh_rotates
                                       else token_body["refresh_token"])
    # and the test-connection call goes where the docs say, with the bearer token
    config = {"realmId": "4620816365171234567"} if provider_id == "quickbooks" else {}
    integration = make_oauth_integration(alice, provider_id, access="at-live", config=config)
    method, url = test_call
    responses.add(method, url, json=test_body)
    with tenant_scope(alice.tenant.id):
        result = ProviderClient.for_integration(integration).test_connection()
    call = responses.calls[-1].request
    assert (result.status, call.method, call.url) == (200, method, url)
    assert call.headers["Authorization"] == "Bearer at-live"
    assert result.request_snapshot["headers"]["Authorization"] == "[redacted]"
    assert result.data == test_body


@responses.activate
def test_oauth_provider_error_responses_are_classified():
    provider_app_set(provider_id="xero", client_id="c", client_secret="s")
    app = oauth.app_config(get_provider("xero"))
    responses.post("https://identity.xero.com/connect/token", json={"error": "invalid_grant"}, status=400)
    with pytest.raises(oauth.OAuthFailure) as grant:
        oauth.refresh(app, refresh_token="dead")
    responses.post("https://identity.xero.com/connect/token", body="<html>upstream</html>", status=503)
    with pytest.raises(oauth.OAuthFailure) as transient:
        oauth.refresh(app, refresh_token="rt")
    responses.post("https://identity.xero.com/connect/token", json={"error": "invalid_client"}, status=401)
    with pytest.raises(oauth.OAuthFailure) as client_error:
        oauth.exchange_code(app, code="c", code_verifier=None)
    assert (grant.value.kind, transient.value.kind, transient.value.status) == ("invalid_grant", "transient", 503)
    assert client_error.value.kind == "rejected" and "invalid_client" in str(client_error.value)


# ------------------------------------------------------------------ api-key providers, end to end
API_KEY_CASES = [
    (
        "stripe",
        {"apiKey": "sk_test_51Nv0FGQ9RKHgCVdKsecret"},
        ("GET", "https://api.stripe.com/v1/account"),
        "Bearer sk_test_51Nv0FGQ9RKHgCVdKsecret",
        {"id": "acct_1Nv0FGQ9RKHgCVdK", "object": "account", "charges_enabled": True, "country": "IL",
         "default_currency": "ils", "business_profile": {"name": "Studio"}},
        {"error": {"message": "Invalid API Key provided: sk_test_****cret", "type": "invalid_request_error"}},
    ),
    (
        "twilio",
        {"accountSid": "AC0123456789abcdef0123456789abcdef", "authToken": "twilio-auth-token-1"},
        ("GET", "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef.json"),
        _basic("AC0123456789abcdef0123456789abcdef", "twilio-auth-token-1"),
        {"sid": "AC0123456789abcdef0123456789abcdef", "friendly_name": "Studio", "status": "active", "type": "Full",
         "uri": "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef.json"},
        {"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003",
         "status": 401},
    ),
    (
        "sendgrid",
        {"apiKey": "SG.abcdefghijklmnop.qrstuvwxyz0123456789"},
        ("GET", "https://api.sendgrid.com/v3/scopes"),
        "Bearer SG.abcdefghijklmnop.qrstuvwxyz0123456789",
        {"scopes": ["mail.send", "user.webhooks.event.settings.read"]},
        {"errors": [{"field": None, "message": "authorization required"}]},
    ),
    (
        "mailchimp",
        {"apiKey": "0123456789abcdef0123456789abcdef-us6"},
        ("GET", "https://us6.api.mailchimp.com/3.0/ping"),
        _basic("anystring", "0123456789abcdef0123456789abcdef-us6"),
        {"health_status": "Everything's Chimpy!"},
        {"type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": "API Key Invalid",
         "status": 401, "detail": "Your API key may be invalid, or you've attempted to access the wrong datacenter."},
    ),
]


@pytest.mark.parametrize(("provider_id", "credentials", "call", "auth", "ok_body", "error_body"), API_KEY_CASES,
                         ids=[c[0] for c in API_KEY_CASES])
@responses.activate
def test_api_key_provider_connect_validates_with_real_call_then_saves_encrypted(
    alice, alice_api, bob_api, provider_id, credentials, call, auth, ok_body, error_body
):
    method, url = call
    # given the provider refuses the credentials
    responses.add(method, url, json=error_body, status=401)
    refused = alice_api.post(f"/api/integrations/connect/{provider_id}", {"credentials": credentials}, format="json")
    # then nothing is created and the error is readable, without the secret
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid_credentials")
    assert "HTTP 401" in refused.json()["error"]["message"]
    with tenant_scope(alice.tenant.id):
        assert Integration.objects.count() == 0
    # when the provider accepts them
    responses.replace(method, url, json=ok_body, status=200)
    created = alice_api.post(f"/api/integrations/connect/{provider_id}", {"credentials": credentials, "name": "Mine"},
                             format="json")
    # then
    assert created.status_code == 201, created.content
    assert responses.calls[-1].request.headers["Authorization"] == auth
    body = created.content.decode()
    for secret in credentials.values():
        if secret.startswith("AC"):
            continue  # the Twilio account SID is an identifier, shown in connectionConfig
        assert secret not in body
    data = created.json()
    assert (data["provider"], data["status"], data["name"], data["hasApiKey"]) == (provider_id, "connected", "Mine", True)
    with tenant_scope(alice.tenant.id):
        integration = Integration.objects.get()
        log = IntegrationLog.objects.get(integration=integration)
        stored = json.loads(integration.get_secret("api_key_encrypted"))
    assert stored == credentials
    assert all(v.encode() not in bytes(integration.api_key_encrypted) for v in credentials.values())
    assert (log.action, log.status) == ("connect", "success")
    assert log.request_snapshot["headers"]["Authorization"] == "[redacted]"
    assert all(v not in json.dumps(log.request_snapshot) for k, v in credentials.items() if k != "accountSid")
    if provider_id == "mailchimp":
        assert integration.connection_config["dc"] == "us6"
    # and the test endpoint repeats the call; bob cannot
    assert alice_api.post(f"/api/integrations/{integration.pk}/test").json()["ok"] is True
    assert bob_api.post(f"/api/integrations/{integration.pk}/test").status_code == 404


def test_credentials_are_validated_before_any_call(alice_api, db):
    missing = alice_api.post("/api/integrations/connect/twilio", {"credentials": {"accountSid": "AC1"}}, format="json",
                             HTTP_ACCEPT_LANGUAGE="en")
    unknown = alice_api.post("/api/integrations/connect/stripe", {"credentials": {"apiKey": "sk", "x": "1"}}, format="json")
    bad_dc = alice_api.post("/api/integrations/connect/mailchimp", {"credentials": {"apiKey": "nodc"}}, format="json")
    oauth_only = alice_api.post("/api/integrations/connect/google_drive", {"credentials": {"a": "b"}}, format="json")
    assert missing.status_code == unknown.status_code == bad_dc.status_code == oauth_only.status_code == 400
    assert missing.json()["error"]["fields"] == {"credentials": {"authToken": ["this field is required"]}}
    assert oauth_only.json()["error"]["code"] == "not_credentials"


def test_credential_problems_are_answered_in_the_requests_language(alice_api, db):
    def fields(provider: str, credentials: dict, language: str) -> dict:
        answer = alice_api.post(f"/api/integrations/connect/{provider}", {"credentials": credentials}, format="json",
                                HTTP_ACCEPT_LANGUAGE=language)
        assert answer.status_code == 400
        return answer.json()["error"]

    assert fields("twilio", {"accountSid": "AC1"}, "he")["fields"] == {"credentials": {"authToken": ["זהו שדה חובה"]}}
    assert fields("twilio", {"accountSid": "AC1"}, "en")["fields"] == {
        "credentials": {"authToken": ["this field is required"]}}
    assert fields("mailchimp", {"apiKey": "nodc"}, "he")["fields"] == {
        "credentials": {"apiKey": ["מפתח של Mailchimp מסתיים במרכז הנתונים שלו, למשל \u200e-us6"]}}
    assert fields("mailchimp", {"apiKey": "nodc"}, "en")["fields"] == {
        "credentials": {"apiKey": ["a Mailchimp key ends with its datacenter, e.g. -us6"]}}
    bad = {"baseUrl": "ftp://nope", "x": "1"}
    assert fields("custom_api", bad, "he")["message"] == "שדה התחברות לא מוכר 'x'"
    assert fields("custom_api", bad, "en")["message"] == "unknown credential field 'x'"
    two = {"baseUrl": "ftp://nope", "apiKey": ["k"]}
    assert fields("custom_api", two, "he") == {
        "code": "invalid", "message": "פרטי התחברות לא תקינים",
        "fields": {"credentials": {"apiKey": ["חייב להיות מחרוזת"], "baseUrl": ["חייבת להיות כתובת http(s)"]}}}
    assert fields("custom_api", two, "en")["fields"] == {
        "credentials": {"apiKey": ["must be a string"], "baseUrl": ["must be an http(s) URL"]}}


def test_refresh_of_rotating_provider_keeps_latest_refresh_token(alice, db):
    """Microsoft rotates refresh tokens: the new one must replace the old atomically."""
    provider_app_set(provider_id="onedrive", client_id="c", client_secret="s")
    integration = make_oauth_integration(alice, "onedrive", access="old-at", refresh="old-rt")
    with tenant_scope(alice.tenant.id):
        Integration.objects.filter(pk=integration.pk).update(token_expires_at=timezone.now())
        data = json.loads(Integration.objects.get(pk=integration.pk).get_secret("oauth_encrypted"))
    data["tokenExpiresAt"] = timezone.now().isoformat()
    with tenant_scope(alice.tenant.id):
        integration = Integration.objects.get(pk=integration.pk)
        integration.set_secret("oauth_encrypted", json.dumps(data))
        integration.save()
    from integrations.tokens import ensure_valid_token

    with responses.RequestsMock() as mock:
        mock.post("https://login.microsoftonline.com/common/oauth2/v2.0/token",
                  json={"token_type": "Bearer", "scope": "Files.ReadWrite", "expires_in": 3600,
                        "access_token": "new-at", "refresh_token": "new-rt"})
        assert ensure_valid_token(integration_id=integration.pk, tenant_id=alice.tenant.id) == "new-at"
    with tenant_scope(alice.tenant.id):
        creds = read_credentials(Integration.objects.get(pk=integration.pk))
    assert (creds.access_token, creds.refresh_token) == ("new-at", "new-rt")
