"""WhatsApp Business (Cloud API) and SendGrid through the messaging rules (issue 16 items 1, 2, 6).

WhatsApp fixtures are shaped as Meta documents them (no official Python SDK):
- the template message request and its answer: https://developers.facebook.com/docs/whatsapp/
  cloud-api/reference/messages ("Template messages": ``messaging_product``, ``type: template``,
  ``template.language.code``, ``components[].parameters[]``; answer ``contacts`` + ``messages[].id``);
- errors: https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes (190, 130429);
- webhooks: https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples
  ("Text messages", "Message status updates": ``entry[].changes[].value.statuses[]``);
- the message template list: https://developers.facebook.com/docs/graph-api/reference/
  whats-app-business-account/message_templates/.
SendGrid: the request body is compared with the ``sendgrid`` SDK's ``Mail`` for the same message;
events are shaped as https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event
and signed as the Signed Event Webhook (ECDSA P-256 over timestamp + body), checked by the
hub's verifier (itself tested against the SDK's ``EventWebhook``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
import responses
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.utils import timezone
from sendgrid.helpers.mail import Mail

from core.tenant_context import tenant_scope
from entities.models import Client
from entities.services import entity_create, entity_update
from integrations.client import ProviderClient
from integrations.models import Integration, MessageOptOut
from integrations.providers.catalog import get_provider
from integrations.providers.registry import adapter_for
from tests.support.messaging import CREDENTIALS, connect_messaging, deliver, dispatches, log_lines, messages

pytestmark = pytest.mark.django_db

WA = CREDENTIALS["whatsapp_business"]
GRAPH = "https://graph.facebook.com/v23.0"
WA_SEND = f"{GRAPH}/{WA['phoneNumberId']}/messages"
WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3N0EyQUJDMjFEQzZCQUMzODMA"
WA_RULE = {"id": "meeting-reminder", "entityType": "meeting", "minutesBefore": 120, "recipients": "attendees",
           "template": "meeting_reminder", "language": "he",
           "parameters": ["{{entity.title}}", "{{entity.location}}"]}
SENDGRID_SEND = "https://api.sendgrid.com/v3/mail/send"
SG_RULE = {"id": "payment-due", "entityType": "payment", "event": "created", "recipients": "client",
           "template": "d-13b8f94fbcae4ec6b75270d6cb59f932", "dynamicData": {"amount": "{{entity.amount}}",
                                                                             "currency": "{{entity.currency}}"}}


def _meeting(persona, **extra):
    start = timezone.now() + timedelta(minutes=30)
    with tenant_scope(persona.tenant.id):
        return entity_create(tenant=persona.tenant, entity_type="meeting", data={
            "title": "סיור באתר", "location": "Tel Aviv", "start_time": start.isoformat(),
            "end_time": (start + timedelta(hours=1)).isoformat(),
            "attendees": [{"email": "dana@example.com", "phone": "+972 50-123-4567"}], **extra})


def _wa_post(api, integration, payload: dict, secret: str = WA["appSecret"]):
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return api.post(integration.webhook_url[len(settings.PUBLIC_BASE_URL):], data=body,
                    content_type="application/json", HTTP_X_HUB_SIGNATURE_256=signature)


def _wa_change(value: dict) -> dict:
    return {"object": "whatsapp_business_account", "entry": [{"id": WA["businessAccountId"], "changes": [
        {"value": {"messaging_product": "whatsapp",
                   "metadata": {"display_phone_number": "15550783881", "phone_number_id": WA["phoneNumberId"]},
                   **value}, "field": "messages"}]}]}


@pytest.mark.django_db(transaction=True)
def test_whatsapp_template_reminder_statuses_and_inbound(alice, api):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, WA_SEND, status=200, json={
            "messaging_product": "whatsapp", "contacts": [{"input": "+972501234567", "wa_id": "972501234567"}],
            "messages": [{"id": WAMID, "message_status": "accepted"}]})
        integration = connect_messaging(alice, "whatsapp_business", rules=[WA_RULE])
        _meeting(alice)
        deliver(alice)
        deliver(alice)  # nothing more
        [call] = [c for c in rsps.calls if c.request.url == WA_SEND]
    assert json.loads(call.request.body) == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": "972501234567", "type": "template",
        "template": {"name": "meeting_reminder", "language": {"code": "he"}, "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "סיור באתר"}, {"type": "text", "text": "Tel Aviv"}]}]}}
    assert call.request.headers["Authorization"] == f"Bearer {WA['accessToken']}"
    [message] = messages(alice)
    assert (message.channel, message.status, message.external_ids) == ("whatsapp", "sent", {"whatsapp_business": WAMID})

    delivered = _wa_change({"statuses": [{"id": WAMID, "status": "delivered", "timestamp": "1750263773",
                                          "recipient_id": "972501234567", "conversation": {
                                              "id": "CONVERSATION_ID", "origin": {"type": "utility"}},
                                          "pricing": {"billable": True, "pricing_model": "CBP", "category": "utility"}}]})
    assert _wa_post(api, integration, delivered).status_code == 200
    assert _wa_post(api, integration, delivered, secret="wrong").status_code == 401
    assert messages(alice)[0].status == "delivered"

    with tenant_scope(alice.tenant.id):
        dana = Client.objects.create(tenant=alice.tenant, name="Dana", phone="050-123-4567")
    inbound = _wa_change({"contacts": [{"profile": {"name": "Dana"}, "wa_id": "972501234567"}],
                          "messages": [{"from": "972501234567", "id": "wamid.ID-inbound-1", "timestamp": "1750263773",
                                        "text": {"body": "תודה, נתראה"}, "type": "text"}]})
    assert _wa_post(api, integration, inbound).status_code == 200
    assert _wa_post(api, integration, inbound).status_code == 200  # Meta retries: one record
    [received] = messages(alice, direction="inbound")
    assert (received.from_address, received.to_address, received.body, received.client_id) == (
        "+972501234567", "+15550783881", "תודה, נתראה", dana.pk)
    other_number = json.loads(json.dumps(inbound).replace(WA["phoneNumberId"], "999").replace("ID-inbound-1", "x"))
    assert _wa_post(api, integration, other_number).status_code == 200
    assert len(messages(alice, direction="inbound")) == 1  # another number's message is not ours


@pytest.mark.django_db(transaction=True)  # the hook finds its integration on the operator connection
def test_whatsapp_subscription_check_answers_the_challenge_only_with_the_verify_token(alice, api):
    integration = connect_messaging(alice, "whatsapp_business", rules=[])
    path = integration.webhook_url[len(settings.PUBLIC_BASE_URL):]
    ok = api.get(path, {"hub.mode": "subscribe", "hub.verify_token": WA["verifyToken"], "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.content == b"1158201444"
    bad = api.get(path, {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"})
    assert bad.status_code == 403 and b"1158201444" not in bad.content


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("status,code,outcome", [(401, 190, "expired"), (400, 130429, "retry"),
                                                 (500, 131000, "retry"), (400, 132001, "failed")])
def test_whatsapp_error_mapping(alice, monkeypatch, status, code, outcome):
    monkeypatch.setattr("integrations.client.time.sleep", lambda s: None)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, WA_SEND, status=status, json={"error": {
            "message": f"(#{code}) error", "type": "OAuthException", "code": code, "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}})
        integration = connect_messaging(alice, "whatsapp_business", rules=[WA_RULE])
        _meeting(alice)
        deliver(alice)
    [row] = dispatches(integration)
    with tenant_scope(alice.tenant.id):
        integration.refresh_from_db()
    expected = {"expired": ("pending", Integration.Status.EXPIRED), "retry": ("pending", Integration.Status.CONNECTED),
                "failed": ("failed", Integration.Status.CONNECTED)}[outcome]
    assert (row.status, integration.status) == expected
    if outcome == "retry":
        assert row.attempts == 1 and row.due_at > timezone.now()
    if outcome == "failed":
        assert messages(alice)[0].status == "failed" and log_lines(integration)[0].failed_items


def test_whatsapp_templates_are_listed_in_the_seeds_shape(alice):
    integration = connect_messaging(alice, "whatsapp_business", rules=[])
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{GRAPH}/{WA['businessAccountId']}/message_templates", json={"data": [
            {"name": "meeting_reminder", "language": "he", "status": "APPROVED", "category": "UTILITY",
             "id": "1234567890"}], "paging": {"cursors": {"before": "MAZDZD", "after": "MAZDZD"}}})
        with tenant_scope(alice.tenant.id):
            client = ProviderClient.for_integration(integration)
        found = adapter_for(get_provider("whatsapp_business")).list_templates(client)
    assert found == [{"templateName": "meeting_reminder", "templateId": "1234567890", "language": "he",
                      "category": "UTILITY", "status": "APPROVED"}]


# --------------------------------------------------------------------------- SendGrid
@pytest.fixture
def signing_key():
    return ec.generate_private_key(ec.SECP256R1())


def _public(key) -> str:
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def _sg_post(api, integration, events: list, key):
    body = json.dumps(events).encode() + b"\r\n"
    stamp = str(int(time.time()))
    signature = base64.b64encode(key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
    return api.post(integration.webhook_url[len(settings.PUBLIC_BASE_URL):], data=body, content_type="application/json",
                    HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE=signature,
                    HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP=stamp)


@pytest.mark.django_db(transaction=True)
def test_sendgrid_dynamic_template_is_the_sdks_mail_and_events_update_and_opt_out(alice, api, signing_key):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, SENDGRID_SEND, status=202, body=b"", headers={"X-Message-Id": "14c5d75ce93.dfd.64b469"})
        integration = connect_messaging(
            alice, "sendgrid", rules=[SG_RULE], settings={"fromEmail": "studio@example.com", "fromName": "Studio"},
            credentials={**CREDENTIALS["sendgrid"], "eventWebhookPublicKey": _public(signing_key)})
        with tenant_scope(alice.tenant.id):
            dana = entity_create(tenant=alice.tenant, entity_type="client", data={"name": "Dana", "email": "Dana@Example.com"})
            payment = entity_create(tenant=alice.tenant, entity_type="payment",
                                    data={"amount": "1500.00", "currency": "ILS", "client_id": str(dana.pk)})
            entity_update(instance=payment, tenant=alice.tenant, data={"description": "again"})
        deliver(alice)
        [call] = [c for c in rsps.calls if c.request.url == SENDGRID_SEND]
    [message] = messages(alice)
    sent = json.loads(call.request.body)
    mail = Mail(from_email=("studio@example.com", "Studio"), to_emails="dana@example.com")
    mail.template_id = SG_RULE["template"]
    mail.dynamic_template_data = {"amount": "1500.00", "currency": "ILS"}
    expected = mail.get()
    expected["personalizations"][0]["custom_args"] = {"architectStudioId": str(message.pk)}
    assert sent == expected
    assert (message.channel, message.status, message.client_id) == ("email", "sent", dana.pk)

    events = [{"email": "dana@example.com", "timestamp": 1513299569, "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
               "event": "delivered", "category": "cat facts", "sg_event_id": "rWVYmVk90MjZJ9iohOBa3w==",
               "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0", "response": "250 OK",
               "architectStudioId": str(message.pk)},
              {"email": "dana@example.com", "timestamp": 1513299570, "event": "unsubscribe",
               "sg_event_id": "b_syL5UiTvWC_Ky5L6Bs5Q==", "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"}]
    assert _sg_post(api, integration, events, signing_key).status_code == 200
    assert _sg_post(api, integration, events, ec.generate_private_key(ec.SECP256R1())).status_code == 401
    assert messages(alice)[0].status == "delivered"
    with tenant_scope(alice.tenant.id):
        assert MessageOptOut.objects.filter(tenant=alice.tenant, channel="email", address="dana@example.com").exists()
        another = entity_create(tenant=alice.tenant, entity_type="payment",
                                data={"amount": "10.00", "currency": "ILS", "client_id": str(dana.pk)})
    deliver(alice)
    assert [d.status for d in dispatches(integration) if d.entity_id == another.pk] == ["skipped"]


@pytest.mark.parametrize("status,outcome", [(401, "expired"), (429, "retry"), (502, "retry"), (400, "failed")])
@pytest.mark.django_db(transaction=True)
def test_sendgrid_error_mapping(alice, monkeypatch, status, outcome):
    monkeypatch.setattr("integrations.client.time.sleep", lambda s: None)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, SENDGRID_SEND, status=status, headers={"Retry-After": "0"},
                 json={"errors": [{"message": "The template_id must be a valid template ID.", "field": "template_id",
                                   "help": None}]})
        integration = connect_messaging(alice, "sendgrid", rules=[SG_RULE], settings={"fromEmail": "studio@example.com"})
        with tenant_scope(alice.tenant.id):
            dana = entity_create(tenant=alice.tenant, entity_type="client", data={"name": "Dana", "email": "d@example.com"})
            entity_create(tenant=alice.tenant, entity_type="payment", data={"amount": "1", "client_id": str(dana.pk)})
        deliver(alice)
    [row] = dispatches(integration)
    with tenant_scope(alice.tenant.id):
        integration.refresh_from_db()
    assert row.status == ("failed" if outcome == "failed" else "pending")
    assert (integration.status == Integration.Status.EXPIRED) == (outcome == "expired")
    if outcome == "failed":
        assert "template_id" in messages(alice)[0].error
