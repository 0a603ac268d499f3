"""Roles (C11): owner and admin change integrations and webhooks; a member reads them
and works with entities. Every mutating integrations/webhooks endpoint is listed in
MUTATIONS, and a test walks the URL conf to prove the list is complete."""

from __future__ import annotations

import json
from dataclasses import dataclass
from io import StringIO

import pytest
import responses
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from rest_framework.test import APIClient

from core.tenant_context import tenant_scope
from integrations.models import Integration, IntegrationLog, OAuthState
from integrations.services import provider_app_set
from tenancy.models import Membership, User
from tenancy.services import membership_add
from tests.support.factories import Persona, client_for, make_meeting, persona_in
from tests.support.oauth import make_oauth_integration
from tests.support.receiver import Receiver
from tests.support.webhooks import create_outgoing_webhook
from webhooks.models import IncomingWebhook, OutgoingWebhook, WebhookLog
from webhooks.signing import hex_hmac_sha256

pytestmark = pytest.mark.django_db

GOOGLE_TEST_URL = "https://www.googleapis.com/calendar/v3/users/me/calendarList?maxResults=1"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
LEADS = {"name": "Leads", "actions": [{"type": "create_entity", "config": {
    "entityType": "client", "fieldMappings": {"name": "lead.name"}}}]}
TWILIO_URL = f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}.json"


@dataclass
class Studio:
    """Alice's studio with one of everything a mutating endpoint can touch."""

    owner: Persona
    integration: Integration
    outgoing: OutgoingWebhook
    incoming: IncomingWebhook
    outgoing_log: str
    incoming_log: str

    def ids(self) -> dict[str, str]:
        return {"integration": str(self.integration.pk), "outgoing": str(self.outgoing.pk),
                "incoming": str(self.incoming.pk), "outgoing_log": self.outgoing_log,
                "incoming_log": self.incoming_log}


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.INTEGRATIONS_RATELIMIT_REDIS_URL = settings.CELERY_BROKER_URL
    with Receiver() as rx:
        yield rx


@pytest.fixture
def studio(alice, receiver) -> Studio:
    provider_app_set(provider_id="google_calendar", client_id="gid.apps.googleusercontent.com", client_secret="gs")
    integration = make_oauth_integration(alice, "google_calendar", access="ya29.secret-access", refresh="1//refresh")
    outgoing = create_outgoing_webhook(alice, receiver.url)
    created = client_for(alice).post("/api/webhooks/incoming", LEADS, format="json")
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    with tenant_scope(alice.tenant.id):
        incoming = IncomingWebhook.objects.get(pk=created.json()["id"])
    sent = client_for(alice).post(f"/api/webhooks/{outgoing.pk}/test", {}, format="json")
    assert sent.status_code == 200, sent.content
    body = json.dumps({"lead": {"name": "Dana"}}).encode()
    received = Client().generic("POST", f"/api/webhooks/tenant/{alice.tenant.id}/{incoming.pk}", body,
                                content_type="application/json", HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(secret, body))
    assert received.status_code == 202, received.content
    return Studio(alice, integration, outgoing, incoming, sent.json()["logId"], received.json()["logId"])


def provider_mock() -> responses.RequestsMock:
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)
    mock.get(GOOGLE_TEST_URL, json={"kind": "calendar#calendarList", "items": []})
    mock.post(GOOGLE_TOKEN_URL, json={"access_token": "ya29.new", "expires_in": 3599, "token_type": "Bearer"})
    mock.post("https://oauth2.googleapis.com/revoke", body="")
    mock.get(TWILIO_URL, json={"sid": TWILIO_SID, "status": "active"})
    return mock


# (name, method, path, body, status a manager gets) — every mutating call of the
# integrations and webhooks API. Connect's GET is in: it starts an OAuth flow.
MUTATIONS = [
    ("integration-update", "patch", "/api/integrations/{integration}", {"name": "Renamed"}, 200),
    ("integration-disconnect", "delete", "/api/integrations/{integration}", None, 204),
    ("integration-refresh", "post", "/api/integrations/{integration}/refresh", None, 200),
    ("integration-test", "post", "/api/integrations/{integration}/test", None, 200),
    # The studio's integration has no syncSettings: a manager is told so (400); the 202 is in test_sync_api.
    ("integration-sync", "post", "/api/integrations/{integration}/sync", {}, 400),
    # The studio's provider makes no design exports: a manager is told so (400); the 202 is in test_sync_canva.
    ("integration-export", "post", "/api/integrations/{integration}/exports", {"designId": "DAF1", "format": "pdf"}, 400),
    ("connect-oauth", "get", "/api/integrations/connect/google_calendar", None, 200),
    ("connect-credentials", "post", "/api/integrations/connect/twilio",
     {"credentials": {"accountSid": TWILIO_SID, "authToken": "twilio-auth-token-1"}}, 201),
    ("outgoing-create", "post", "/api/webhooks/outgoing",
     {"name": "CRM 2", "url": "https://hooks.example.com/in", "triggers": [{"entityType": "meeting", "events": ["created"]}]},
     201),
    ("outgoing-update", "patch", "/api/webhooks/outgoing/{outgoing}", {"name": "Renamed"}, 200),
    ("outgoing-delete", "delete", "/api/webhooks/outgoing/{outgoing}", None, 204),
    ("outgoing-test", "post", "/api/webhooks/{outgoing}/test", {}, 200),
    ("incoming-create", "post", "/api/webhooks/incoming", {**LEADS, "name": "Leads 2"}, 201),
    ("incoming-update", "patch", "/api/webhooks/incoming/{incoming}", {"name": "Renamed"}, 200),
    ("incoming-delete", "delete", "/api/webhooks/incoming/{incoming}", None, 204),
    ("incoming-rotate-secret", "post", "/api/webhooks/incoming/{incoming}/rotate-secret", {}, 200),
    ("incoming-test", "post", "/api/webhooks/{incoming}/test", {"payload": {"lead": {"name": "Noa"}}}, 200),
    ("outgoing-replay", "post", "/api/webhook-logs/{outgoing_log}/replay", None, 202),
    ("incoming-replay", "post", "/api/webhook-logs/{incoming_log}/replay", None, 202),
]

# POSTs that change nothing (they render a template or map a sample): open to every member.
MEMBER_POSTS = {("OutgoingWebhookViewSet", "preview"), ("OutgoingWebhookViewSet", "preview_draft"),
                ("IntegrationViewSet", "mappings_preview")}


def call(api, method: str, path: str, body, language: str | None = None):
    extra = {"HTTP_ACCEPT": "application/json", **({"HTTP_ACCEPT_LANGUAGE": language} if language else {})}
    if body is None:
        return getattr(api, method)(path, **extra)
    return getattr(api, method)(path, body, format="json", **extra)


def tenant_state(persona: Persona) -> dict:
    """Every row an integrations/webhooks call could write, as plain values."""
    with tenant_scope(persona.tenant.id):
        return {model.__name__: sorted(json.dumps(row, default=str, sort_keys=True)
                                        for row in model.objects.values())
                for model in (Integration, IntegrationLog, OAuthState, OutgoingWebhook, IncomingWebhook, WebhookLog)}


@pytest.mark.parametrize(("name", "method", "path", "body", "allowed_status"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_a_member_is_refused_every_change_and_nothing_changes(studio, name, method, path, body, allowed_status):
    # given a member of the studio
    member = persona_in(studio.owner, "mia@example.com", Membership.Role.MEMBER)
    before = tenant_state(studio.owner)
    # when
    with provider_mock() as mock:
        response = call(client_for(member), method, path.format(**studio.ids()), body, language="en")
        hebrew = call(client_for(member), method, path.format(**studio.ids()), body, language="he")
    # then
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "permission_denied"
    assert "admin" in response.json()["error"]["message"]
    assert hebrew.status_code == 403 and hebrew.json()["error"]["code"] == "permission_denied"
    assert hebrew.json()["error"]["message"].startswith("רק בעלים ומנהלים של הסטודיו יכולים לשנות")
    assert tenant_state(studio.owner) == before
    assert len(mock.calls) == 0


@pytest.mark.parametrize("role", [Membership.Role.ADMIN, Membership.Role.OWNER])
@pytest.mark.parametrize(("name", "method", "path", "body", "allowed_status"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_owner_and_admin_may_make_every_change(studio, role, name, method, path, body, allowed_status):
    persona = studio.owner if role == Membership.Role.OWNER else persona_in(studio.owner, "adam@example.com", role)
    with provider_mock():
        response = call(client_for(persona), method, path.format(**studio.ids()), body)
    assert response.status_code == allowed_status, response.content


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def _unsafe_handlers(callback) -> set[tuple[str, str]]:
    """(view class, action or method) for every non-GET/HEAD/OPTIONS handler of a DRF view."""
    cls = getattr(callback, "cls", None)
    if cls is None:
        return set()
    actions = getattr(callback, "actions", None)
    if actions:
        return {(cls.__name__, handler) for verb, handler in actions.items() if verb not in ("get", "head", "options")}
    return {(cls.__name__, verb) for verb in ("post", "put", "patch", "delete") if hasattr(cls, verb)}


def test_the_mutations_list_covers_every_mutating_endpoint(studio):
    # given every unsafe handler of the integrations/webhooks API in the URL conf
    routed: set[tuple[str, str]] = set()
    for route, callback in _walk(get_resolver().url_patterns):
        if "integrations" in route or "webhook" in route:
            routed |= _unsafe_handlers(callback)
    # when the handlers MUTATIONS reaches are resolved
    covered: set[tuple[str, str]] = set()
    for _name, method, path, _body, _status in MUTATIONS:
        match = resolve(path.format(**studio.ids()))
        handler = (getattr(match.func, "actions", None) or {}).get(method, method)
        covered |= {h for h in _unsafe_handlers(match.func) if h[1] == handler}
    # then nothing mutating is left out (the read-only POSTs are named)
    assert routed - MEMBER_POSTS == covered
    assert routed >= MEMBER_POSTS


def test_a_member_reads_everything_with_secrets_masked(studio):
    member = client_for(persona_in(studio.owner, "mia@example.com", Membership.Role.MEMBER))
    ids = studio.ids()
    reads = [
        "/api/integrations", "/api/integrations/{integration}", "/api/integrations/{integration}/status",
        "/api/integrations/{integration}/logs", "/api/integrations/providers",
        "/api/webhooks/outgoing", "/api/webhooks/outgoing/{outgoing}", "/api/webhooks/incoming",
        "/api/webhooks/incoming/{incoming}", "/api/webhooks/{outgoing}/logs", "/api/webhooks/{incoming}/logs",
        "/api/webhook-logs/{outgoing_log}", "/api/webhook-logs/{incoming_log}",
    ]
    for path in reads:
        response = member.get(path.format(**ids))
        assert response.status_code == 200, (path, response.content)
        assert b"ya29.secret-access" not in response.content and b"1//refresh" not in response.content
    assert "secret" not in member.get(f"/api/webhooks/incoming/{ids['incoming']}").json()
    preview = member.post(f"/api/webhooks/outgoing/{ids['outgoing']}/preview", {}, format="json")
    draft = member.post("/api/webhooks/outgoing/preview", {"payloadTemplate": '{"t": "{{entityType}}"}'}, format="json")
    assert (preview.status_code, draft.status_code) == (200, 200), (preview.content, draft.content)


def test_a_member_works_with_entities(alice):
    member = client_for(persona_in(alice, "mia@example.com", Membership.Role.MEMBER))
    meeting = make_meeting(alice.tenant)
    created = member.post("/api/clients", {"name": "Dana Levi", "email": "dana@example.com"}, format="json")
    assert created.status_code == 201, created.content
    client_id = created.json()["id"]
    assert member.patch(f"/api/clients/{client_id}", {"name": "Dana L."}, format="json").status_code == 200
    assert member.get(f"/api/meetings/{meeting.pk}").status_code == 200
    assert member.patch(f"/api/meetings/{meeting.pk}", {"title": "Moved"}, format="json").status_code == 200
    assert member.delete(f"/api/clients/{client_id}").status_code == 204


# --------------------------------------------------------------------------- add_member


def add_member(*args) -> tuple[str, dict]:
    out = StringIO()
    call_command("add_member", *args, stdout=out)
    text = out.getvalue()
    return text, json.loads(text)


def test_add_member_creates_the_user_and_prints_one_json_line_with_a_working_token(alice):
    # when
    text, data = add_member(str(alice.tenant.id), "--email", "Mia@Example.com", "--role", "member")
    # then
    assert text.count("\n") == 1
    assert set(data) == {"tenantId", "userId", "email", "role", "token"}
    assert (data["tenantId"], data["email"], data["role"]) == (str(alice.tenant.id), "mia@example.com", "member")
    with tenant_scope(alice.tenant.id):
        membership = Membership.objects.get(user_id=data["userId"])
    assert membership.role == "member"
    api = client_for(Persona(alice.tenant, membership.user, data["token"]))
    assert api.get("/api/integrations").status_code == 200
    assert api.post("/api/webhooks/incoming", LEADS, format="json").status_code == 403


def test_add_member_changes_an_existing_role_and_always_issues_a_fresh_token(alice):
    _, first = add_member(str(alice.tenant.id), "--email", "mia@example.com", "--role", "member")
    _, second = add_member(str(alice.tenant.id), "--email", "mia@example.com", "--role", "admin")
    assert first["userId"] == second["userId"] and first["token"] != second["token"]
    with tenant_scope(alice.tenant.id):
        assert list(Membership.objects.filter(user_id=first["userId"]).values_list("role", flat=True)) == ["admin"]
    admin = client_for(Persona(alice.tenant, None, second["token"]))
    assert admin.post("/api/webhooks/incoming", LEADS, format="json").status_code == 201
    # both tokens still work (a fresh token does not revoke the earlier ones, as create_tenant)
    assert client_for(Persona(alice.tenant, None, first["token"])).get("/api/integrations").status_code == 200


def test_add_member_adds_an_existing_user_of_another_studio(alice, bob):
    _, data = add_member(str(alice.tenant.id), "--email", "bob@example.com", "--role", "admin")
    assert data["userId"] == str(bob.user.id)
    with tenant_scope(bob.tenant.id):
        assert Membership.objects.get(user=bob.user).role == "owner"  # bob's own studio untouched
    # the new token acts in alice's studio by default
    assert client_for(Persona(alice.tenant, None, data["token"])).get("/api/integrations").status_code == 200


@pytest.mark.parametrize(("args", "message"), [
    (["not-a-uuid", "--email", "m@example.com", "--role", "member"], "tenant id"),
    (["00000000-0000-0000-0000-000000000000", "--email", "m@example.com", "--role", "member"], "no tenant"),
    (["{tenant}", "--email", "not-an-email", "--role", "member"], "invalid email"),
    (["{tenant}", "--email", "m@example.com", "--role", "boss"], "role"),
])
def test_add_member_refuses_bad_input_with_a_clear_error(alice, args, message):
    with pytest.raises(CommandError) as caught:
        call_command("add_member", *[a.format(tenant=alice.tenant.id) for a in args], stdout=StringIO(),
                     stderr=StringIO())
    assert message in str(caught.value)
    assert not User.objects.filter(email="m@example.com").exists()


# --------------------------------------------------------------------------- pages and the admin


def test_pages_offer_changes_only_to_owners_and_admins_and_a_members_session_call_is_refused(alice):
    # given an integration, and an admin and a member logged in with a browser session
    integration = make_oauth_integration(alice, "google_calendar")
    provider_app_set(provider_id="dropbox", client_id="dbx", client_secret="dbx-secret")
    admin = persona_in(alice, "adam@example.com", Membership.Role.ADMIN)
    member = persona_in(alice, "mia@example.com", Membership.Role.MEMBER)
    browsers = {}
    for role, persona in (("admin", admin), ("member", member)):
        browsers[role] = APIClient(enforce_csrf_checks=True)
        browsers[role].force_login(persona.user)
    # when each opens the settings page and the integrations page
    pages = {r: (b.get(f"/integrations/{integration.pk}"), b.get("/integrations")) for r, b in browsers.items()}
    # then the admin gets the buttons and connect links, the member neither
    for role, (settings_page, index_page) in pages.items():
        assert settings_page.status_code == index_page.status_code == 200
        manages = role == "admin"
        assert (b'id="disconnect"' in settings_page.content) is manages
        assert (b'id="test-connection"' in settings_page.content) is manages
        assert (b"/api/integrations/connect/dropbox" in index_page.content) is manages
    # and the page's own call, made by a member's session with its CSRF token, is refused
    browser = browsers["member"]
    csrf = browser.cookies["csrftoken"].value
    refused = browser.delete(f"/api/integrations/{integration.pk}", HTTP_X_CSRFTOKEN=csrf)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "permission_denied")
    connect = browser.get("/api/integrations/connect/dropbox")
    assert (connect.status_code, connect.json()["error"]["code"]) == (403, "permission_denied")
    with tenant_scope(alice.tenant.id):
        assert Integration.objects.filter(pk=integration.pk, status="connected").exists()
        assert not OAuthState.objects.exists()


@pytest.mark.django_db(transaction=True)  # the admin reads through operator_scope, on its own connection
def test_admin_rotate_secret_shows_each_new_secret_once(alice, admin_client):
    # given two incoming webhooks
    owner = client_for(alice)
    created = [owner.post("/api/webhooks/incoming", {**LEADS, "name": name}, format="json").json()
               for name in ("Leads A", "Leads B")]
    # when the operator rotates both in the admin
    response = admin_client.post("/admin/webhooks/incomingwebhook/",
                                 {"action": "rotate_secret", "_selected_action": [c["id"] for c in created]})
    # then the answer is a page holding each new secret, not stored or cached anywhere
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    with tenant_scope(alice.tenant.id):
        hooks = {str(h.pk): h for h in IncomingWebhook.objects.all()}
    for old in created:
        new_secret = hooks[old["id"]].get_secret("secret")
        assert new_secret != old["secret"]
        assert html.count(new_secret) == 1 and old["secret"] not in html
        assert old["name"] in html
    # and never again afterwards: not on the list, the change page, nor in a message
    for page in (admin_client.get("/admin/webhooks/incomingwebhook/"),
                 admin_client.get(f"/admin/webhooks/incomingwebhook/{created[0]['id']}/change/")):
        assert page.status_code == 200
        for hook in hooks.values():
            assert hook.get_secret("secret").encode() not in page.content
    for hook in hooks.values():
        assert hook.get_secret("secret") not in json.dumps(dict(admin_client.cookies.items()), default=str)


def test_the_role_is_the_one_in_the_tenant_the_call_acts_in(alice, bob):
    # given bob, owner of his studio, is a member of alice's
    membership_add(tenant_id=alice.tenant.id, user=bob.user, role=Membership.Role.MEMBER)
    # when he creates a webhook in each
    in_alice = client_for(bob, tenant_id=alice.tenant.id).post("/api/webhooks/incoming", LEADS, format="json")
    in_his = client_for(bob, tenant_id=bob.tenant.id).post("/api/webhooks/incoming", LEADS, format="json")
    # then only his own studio takes it
    assert (in_alice.status_code, in_his.status_code) == (403, 201)
    with tenant_scope(alice.tenant.id):
        assert not IncomingWebhook.objects.exists()
