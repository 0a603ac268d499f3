"""The webhook builder's pages through Django's test client: roles, validation, the secret
shown once, and that each page reaches the same services as the API.

Given/when/then in each test; ``studio`` is one tenant with an owner and a member, ``bob``
another tenant."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest
from django.test import Client

from core.tenant_context import tenant_scope
from entities.models import Client as ClientEntity
from tests.support.factories import Persona, make_persona, persona_in
from tests.support.receiver import Plan, Receiver
from tests.support.webhooks import make_webhook
from webhooks.models import IncomingWebhook, OutgoingWebhook, WebhookLog

pytestmark = pytest.mark.django_db


@dataclass
class Studio:
    owner: Persona
    member: Persona
    owner_web: Client
    member_web: Client


@pytest.fixture
def studio(db) -> Studio:
    owner = make_persona("סטודיו כהן", "owner@cohen.example")
    member = persona_in(owner, "member@cohen.example", "member")
    owner_web, member_web = Client(), Client()
    owner_web.force_login(owner.user)
    member_web.force_login(member.user)
    return Studio(owner, member, owner_web, member_web)


INCOMING_FORM = {
    "name": "לידים מהאתר", "description": "טופס צור קשר", "is_enabled": "on", "verification_scheme": "hmac",
    "action-index": ["0"], "a0-type": "create_entity", "a0-entityType": "client",
    "a0-map-local": ["name", "email"], "a0-map-path": ["lead.name", "lead.email"],
    "filter-body-path": "source", "filter-body-value": "site",
}


def _secret_in(html: str) -> str:
    match = re.search(r'id="webhook-secret" readonly value="([^"]+)"', html)
    assert match, "no secret shown"
    return match.group(1)


# --------------------------------------------------------------------------- list
def test_the_list_shows_the_empty_state_then_both_kinds_with_counters(studio):
    page = studio.owner_web.get("/webhooks")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="empty-state"' in html and "/webhooks/incoming/new" in html and "/webhooks/outgoing/new" in html
    # when there is one of each
    hook, _ = make_webhook(studio.owner, name="Leads")
    with tenant_scope(studio.owner.tenant.id):
        IncomingWebhook.objects.filter(pk=hook.pk).update(total_received=7)
        OutgoingWebhook.objects.create(tenant=studio.owner.tenant, name="CRM", url="http://127.0.0.1:9/x",
                                       triggers=[{"entityType": "meeting", "events": ["created"]}], total_sent=3,
                                       total_failed=2, is_enabled=False, disabled_reason="disabled after 50")
    html = studio.owner_web.get("/webhooks").content.decode()
    assert 'id="empty-state"' not in html
    assert f"/webhooks/incoming/{hook.pk}" in html and ">7<" in html
    assert "CRM" in html and ">3<" in html and ">2<" in html
    assert "disabled automatically" in html or "הושבת אוטומטית" in html


def test_the_counters_are_named_in_the_plural_not_as_a_message_status(studio):
    """"Sent" / "Failed" / "Received" beside a webhook's totals count calls (נשלחו, נכשלו,
    התקבלו); the same English words as a message's status are singular (נשלחה, נכשל, התקבלה)
    in the project catalog, which Django prefers — so the counters carry their own context."""
    hook, _ = make_webhook(studio.owner, name="Leads")
    with tenant_scope(studio.owner.tenant.id):
        IncomingWebhook.objects.filter(pk=hook.pk).update(total_received=7)
        outgoing = OutgoingWebhook.objects.create(
            tenant=studio.owner.tenant, name="CRM", url="http://127.0.0.1:9/x", total_sent=3, total_failed=2,
            triggers=[{"entityType": "meeting", "events": ["created"]}])
    listing = studio.owner_web.get("/webhooks", HTTP_ACCEPT_LANGUAGE="he").content.decode()
    headers = re.findall(r'<th scope="col">([^<]*)</th>', listing)
    assert {"התקבלו", "נשלחו", "נכשלו"} <= set(headers) and not {"התקבלה", "נשלחה", "נכשל"} & set(headers)
    outgoing_page = studio.owner_web.get(f"/webhooks/outgoing/{outgoing.pk}", HTTP_ACCEPT_LANGUAGE="he")
    assert "נשלחו: 3 · נכשלו: 2" in outgoing_page.content.decode()
    incoming_page = studio.owner_web.get(f"/webhooks/incoming/{hook.pk}", HTTP_ACCEPT_LANGUAGE="he")
    assert "התקבלו: 7" in incoming_page.content.decode()


def test_a_member_sees_the_pages_without_any_control_that_changes_something(studio):
    hook, _ = make_webhook(studio.owner, name="Leads")
    index = studio.member_web.get("/webhooks").content.decode()
    assert "/webhooks/incoming/new" not in index
    detail = studio.member_web.get(f"/webhooks/incoming/{hook.pk}").content.decode()
    assert "rotate-secret" not in detail and "/delete" not in detail and 'type="submit" class="primary"' not in detail
    assert "/test" not in detail
    assert '<fieldset disabled class="plain">' in detail


@pytest.mark.parametrize("path", [
    "/webhooks/incoming/new", "/webhooks/outgoing/new", "/webhooks/incoming/{hook}", "/webhooks/incoming/{hook}/rotate-secret",
    "/webhooks/incoming/{hook}/test", "/webhooks/incoming/{hook}/delete",
])
def test_a_members_post_is_refused_and_changes_nothing(studio, path):
    hook, secret = make_webhook(studio.owner, name="Leads")
    response = studio.member_web.post(path.format(hook=hook.pk), INCOMING_FORM)
    assert response.status_code == 403
    with tenant_scope(studio.owner.tenant.id):
        assert list(IncomingWebhook.objects.values_list("name", flat=True)) == ["Leads"]
        assert IncomingWebhook.objects.get().get_secret("secret") == secret
        assert not WebhookLog.objects.exists()


def test_pages_need_a_session_and_csrf(studio):
    assert Client().get("/webhooks").status_code == 302
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(studio.owner.user)
    assert strict.post("/webhooks/incoming/new", INCOMING_FORM).status_code == 403
    with tenant_scope(studio.owner.tenant.id):
        assert not IncomingWebhook.objects.exists()


def test_another_studios_webhook_is_not_found(studio):
    bob = make_persona("Bob", "bob@example.com")
    hook, _ = make_webhook(bob)
    assert studio.owner_web.get(f"/webhooks/incoming/{hook.pk}").status_code == 404
    assert studio.owner_web.post(f"/webhooks/incoming/{hook.pk}/rotate-secret").status_code == 404


# --------------------------------------------------------------------------- incoming
def test_creating_shows_the_secret_once_and_never_again(studio):
    response = studio.owner_web.post("/webhooks/incoming/new", INCOMING_FORM)
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    with tenant_scope(studio.owner.tenant.id):
        hook = IncomingWebhook.objects.get()
        stored = hook.get_secret("secret")
    # then the page holds the secret (once), the generated URL, and the settings as saved
    assert _secret_in(html) == stored and html.count(stored) == 1
    assert hook.url.endswith(f"/api/webhooks/tenant/{studio.owner.tenant.id}/{hook.pk}") and hook.url in html
    assert hook.actions == [{"type": "create_entity", "config": {"entityType": "client",
                                                                  "fieldMappings": {"name": "lead.name", "email": "lead.email"}}}]
    assert hook.filters == {"bodyPath": "source", "bodyValue": "site"}
    assert f'data-replace-url="/webhooks/incoming/{hook.pk}"' in html
    # and never again
    again = studio.owner_web.get(f"/webhooks/incoming/{hook.pk}").content.decode()
    assert stored not in again and 'id="webhook-secret"' not in again


def test_rotating_shows_the_new_secret_once(studio):
    hook, old = make_webhook(studio.owner)
    response = studio.owner_web.post(f"/webhooks/incoming/{hook.pk}/rotate-secret", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    new = _secret_in(response.content.decode())
    with tenant_scope(studio.owner.tenant.id):
        hook.refresh_from_db()
        assert hook.get_secret("secret") == new != old
        assert hook.get_secret("previous_secret") == old
    page = studio.owner_web.get(f"/webhooks/incoming/{hook.pk}").content.decode()
    assert new not in page and old not in page


@pytest.mark.parametrize("change, message", [
    ({"a0-map-local": ["nope"], "a0-map-path": ["lead.name"]}, "'nope' is not a writable field of client"),
    ({"name": ""}, "name:"),
    ({"a0-type": "forward", "a0-forwardUrl": "ftp://example.com/x"}, "forwardUrl"),
    ({"a0-type": "forward", "a0-forwardUrl": "http://example.com/x", "a0-retryAttempts": "many"}, "retryAttempts"),
    ({"a0-type": "teleport"}, "unknown action type"),
    ({"vc-toleranceSeconds": "soon", "verification_scheme": "standard"}, "toleranceSeconds"),
    ({"verification_scheme": "nope"}, "verification_scheme"),
    ({"filter-header-name": ["bad header"], "filter-header-value": ["x"]}, "not a valid header name"),
])
def test_bad_input_shows_the_error_and_stores_nothing(studio, change, message):
    response = studio.owner_web.post("/webhooks/incoming/new", {**INCOMING_FORM, **change}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="form-errors"' in html and message in html.replace("&#x27;", "'")
    assert 'value="לידים מהאתר"' in html or change.get("name") == ""  # what was typed is kept
    with tenant_scope(studio.owner.tenant.id):
        assert not IncomingWebhook.objects.exists()


@pytest.mark.parametrize("change, hebrew, english", [
    ({"a0-map-local": ["nope"], "a0-map-path": ["lead.name"]}, "'nope' אינו שדה הניתן לכתיבה של לקוח",
     "'nope' is not a writable field of client"),
    ({"a0-type": "teleport"}, "סוג פעולה לא מוכר 'teleport'", "unknown action type 'teleport'"),
    ({"filter-header-name": ["bad header"], "filter-header-value": ["x"]}, "'bad header' אינו שם כותרת תקין",
     "'bad header' is not a valid header name"),
    ({"a0-type": "forward", "a0-forwardUrl": "http://example.com/x", "a0-retryAttempts": "99"},
     "חייב להיות מספר שלם בין 1 ל-10", "must be an integer between 1 and 10"),
])
def test_the_incoming_forms_errors_follow_the_pages_language(studio, change, hebrew, english):
    form = {**INCOMING_FORM, **change}
    he_page = studio.owner_web.post("/webhooks/incoming/new", form, HTTP_ACCEPT_LANGUAGE="he").content.decode()
    en_page = studio.owner_web.post("/webhooks/incoming/new", form, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert hebrew in he_page.replace("&#x27;", "'") and english not in he_page.replace("&#x27;", "'")
    assert english in en_page.replace("&#x27;", "'")


def test_editing_keeps_the_secret_and_changes_the_settings(studio):
    hook, secret = make_webhook(studio.owner)
    form = {**INCOMING_FORM, "name": "שם חדש", "a0-type": "update_entity", "a0-matchField": "email"}
    response = studio.owner_web.post(f"/webhooks/incoming/{hook.pk}", form)
    assert response.status_code == 302 and response["Location"].endswith("?saved=1")
    with tenant_scope(studio.owner.tenant.id):
        hook.refresh_from_db()
    assert hook.name == "שם חדש" and hook.get_secret("secret") == secret
    assert hook.actions[0]["type"] == "update_entity" and hook.actions[0]["config"]["matchField"] == "email"


def test_the_test_panel_runs_each_action_and_shows_its_outcome(studio):
    studio.owner_web.post("/webhooks/incoming/new", INCOMING_FORM)
    with tenant_scope(studio.owner.tenant.id):
        hook = IncomingWebhook.objects.get()
    payload = {"lead": {"name": "דנה לוי", "email": "dana@example.com"}, "source": "site"}
    response = studio.owner_web.post(f"/webhooks/incoming/{hook.pk}/test", {"payload": json.dumps(payload)},
                                     HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "connected" in html  # success badge
    with tenant_scope(studio.owner.tenant.id):
        assert ClientEntity.objects.get().name == "דנה לוי"
        log = WebhookLog.objects.get()
    assert log.status == "success" and log.webhook_id == hook.pk
    # and the log fragment lists the request
    rows = studio.owner_web.get(f"/webhooks/incoming/{hook.pk}/logs").content.decode()
    assert f'data-log-id="{log.pk}"' in rows
    # the filter form's empty fields mean "any", a chosen status filters
    assert f'data-log-id="{log.pk}"' in studio.owner_web.get(
        f"/webhooks/incoming/{hook.pk}/logs?status=&event=&since=&until=").content.decode()
    assert f'data-log-id="{log.pk}"' not in studio.owner_web.get(
        f"/webhooks/incoming/{hook.pk}/logs?status=failed").content.decode()
    # and a sample that is not JSON is refused in words
    bad = studio.owner_web.post(f"/webhooks/incoming/{hook.pk}/test", {"payload": "{nope"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and 'role="alert"' in bad.content.decode()


def test_log_filters_are_checked_like_the_apis(studio):
    hook, _ = make_webhook(studio.owner)
    response = studio.owner_web.get(f"/webhooks/incoming/{hook.pk}/logs?status=weird&since=yesterday")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="alert"' in html and "status" in html and "since" in html


# --------------------------------------------------------------------------- outgoing
OUTGOING_FORM = {
    "name": "CRM", "description": "", "url": "http://127.0.0.1:9/hook", "method": "POST", "is_enabled": "on",
    "header-name": ["Authorization", "X-Team"], "header-value": ["Bearer s3cr3t-token", "studio"],
    "trigger-meeting": ["created", "updated"], "trigger-payment": ["status_changed"],
    "payload_template": '{"title": {{entity.title}}, "event": "{{event}}"}',
    "sign_requests": "on", "signature_header": "X-Webhook-Signature", "signature_scheme": "hex",
    "signature_secret": "a-long-secret-value", "retry_strategy": "linear", "retry_attempts": "4",
    "retry_delay_seconds": "30", "timeout_seconds": "5",
}


def test_creating_an_outgoing_webhook_stores_it_and_masks_credentials(studio):
    response = studio.owner_web.post("/webhooks/outgoing/new", OUTGOING_FORM)
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_scope(studio.owner.tenant.id):
        hook = OutgoingWebhook.objects.get()
    assert hook.triggers == [{"entityType": "meeting", "events": ["created", "updated"]},
                             {"entityType": "payment", "events": ["status_changed"]}]
    assert hook.retry_attempts == 4 and hook.retry_delay_seconds == 30 and hook.timeout_seconds == 5
    assert hook.get_secret("signature_secret") == "a-long-secret-value"
    page = studio.owner_web.get(response["Location"]).content.decode()
    assert "s3cr3t-token" not in page and "a-long-secret-value" not in page
    assert "[redacted]" in page and 'value="studio"' in page
    # when saved again as shown (masked header, empty secret field), nothing secret is lost
    again = {**OUTGOING_FORM, "header-value": ["[redacted]", "studio"], "signature_secret": ""}
    assert studio.owner_web.post(f"/webhooks/outgoing/{hook.pk}", again).status_code == 302
    with tenant_scope(studio.owner.tenant.id):
        hook.refresh_from_db()
        assert hook.open_value("headers", "Authorization", hook.headers["Authorization"]) == "Bearer s3cr3t-token"
        assert hook.get_secret("signature_secret") == "a-long-secret-value"


@pytest.mark.parametrize("change, message", [
    ({"payload_template": '{"a": {{entity.title}'}, "payloadTemplate"),
    ({"url": "not a url"}, "url"),
    ({"trigger-meeting": [], "trigger-payment": []}, "triggers"),
    ({"header-name": ["Content-Type"], "header-value": ["text/plain"]}, "set by the hub"),
    ({"retry_attempts": "eleven"}, "retry_attempts"),
    ({"signature_secret": "", "sign_requests": "on"}, "signatureSecret"),
])
def test_outgoing_bad_input_shows_the_error_and_stores_nothing(studio, change, message):
    response = studio.owner_web.post("/webhooks/outgoing/new", {**OUTGOING_FORM, **change}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert message in response.content.decode()
    with tenant_scope(studio.owner.tenant.id):
        assert not OutgoingWebhook.objects.exists()


def test_the_outgoing_forms_errors_follow_the_pages_language(studio):
    form = {**OUTGOING_FORM, "header-name": ["Content-Type"], "header-value": ["text/plain"]}
    hebrew = studio.owner_web.post("/webhooks/outgoing/new", form, HTTP_ACCEPT_LANGUAGE="he").content.decode()
    english = studio.owner_web.post("/webhooks/outgoing/new", form, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "הכותרת Content-Type נקבעת על ידי המערכת ואי אפשר לדרוס אותה" in hebrew and "set by the hub" not in hebrew
    assert "header Content-Type is set by the hub and cannot be overridden" in english


def test_preview_renders_the_template_for_a_sample_and_members_may_use_it(studio):
    for web in (studio.owner_web, studio.member_web):
        response = web.post("/webhooks/outgoing/preview", {
            "payload_template": '{"t": "{{entity.title}}", "e": {{event}}, "type": {{entityType}}}',
            "preview_entity_type": "meeting", "preview_event": "updated"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        body = re.search(r"<pre[^>]*data-preview>(.*?)</pre>", response.content.decode(), re.S).group(1)
        assert json.loads(body.replace("&quot;", '"')) == {"t": "פגישת היכרות - משפחת כהן", "e": "updated", "type": "meeting"}
    # without a chosen sample (a member's disabled form sends none) the first type and event are used
    plain = studio.member_web.post("/webhooks/outgoing/preview", {"payload_template": '{"e": {{event}}}'})
    assert plain.status_code == 200 and "created" in plain.content.decode()
    bad = studio.owner_web.post("/webhooks/outgoing/preview", {"payload_template": "{{", "preview_entity_type": "x"})
    assert bad.status_code == 400 and 'role="alert"' in bad.content.decode()


def test_the_placeholder_list_follows_the_chosen_triggers(studio):
    html = studio.owner_web.get("/webhooks/outgoing/placeholders?trigger-payment=created").content.decode()
    assert 'data-insert-placeholder="entity.amount"' in html and 'data-insert-placeholder="event"' in html
    assert 'data-insert-placeholder="entity.title"' not in html


def test_test_send_shows_the_receivers_answer(studio):
    with Receiver(default=Plan(status=202, body=b'{"accepted": "yes"}')) as rx:
        studio.owner_web.post("/webhooks/outgoing/new", {**OUTGOING_FORM, "url": rx.url})
        with tenant_scope(studio.owner.tenant.id):
            hook = OutgoingWebhook.objects.get()
        response = studio.owner_web.post(f"/webhooks/outgoing/{hook.pk}/test",
                                         {"test_entity_type": "meeting", "test_event": "created"}, HTTP_HX_REQUEST="true")
        [received] = rx.wait_for(1)
    html = response.content.decode()
    assert response.status_code == 200 and "202" in html and "accepted" in html
    assert json.loads(received.body)["event"] == "created"
    assert received.header("X-Webhook-Signature")
    with tenant_scope(studio.owner.tenant.id):
        row = WebhookLog.objects.get()
    detail = studio.owner_web.get(f"/webhooks/logs/{row.pk}").content.decode()
    assert "a-long-secret-value" not in detail and "202" in detail and f"/webhooks/logs/{row.pk}/replay" in detail
    # a member sees the detail without the replay button, and cannot replay
    member_detail = studio.member_web.get(f"/webhooks/logs/{row.pk}").content.decode()
    assert "/replay" not in member_detail
    assert studio.member_web.post(f"/webhooks/logs/{row.pk}/replay").status_code == 403
