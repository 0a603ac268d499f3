"""No English words left on a Hebrew page (issue 14 item 6), the incoming side: a received
request's log keeps each English text it always kept (``errorMessage``, an action's ``error``,
a filtered request's ``reason``, the test's signature-check ``reason``: what machines read) and
its words beside it, so the API's ``…Text`` fields and the pages (the test panel, the log's
detail) say it in Hebrew under Hebrew and in English under English."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils import translation

from core.signatures import InboundRequest
from core.tenant_context import tenant_scope
from core.words import say
from tests.support.webhooks import LEAD, deliver, make_webhook, process
from webhooks.incoming import services
from webhooks.models import WebhookLog
from webhooks.signing import hex_hmac_sha256
from webhooks.verification import verify

pytestmark = pytest.mark.django_db

UPDATE_CLIENT = {"type": "update_entity", "config": {"entityType": "client", "matchField": "email",
                                                     "fieldMappings": {"email": "lead.email", "name": "lead.name"}}}
NO_MATCH_EN = "no client with email = dana@example.com"
NO_MATCH_HE = "לא נמצאה רשומת לקוח שבה email = dana@example.com"


def _web(persona) -> Client:
    web = Client()
    web.force_login(persona.user)
    return web


def _row(api, webhook, language: str) -> dict:
    return api.get(f"/api/webhooks/{webhook.pk}/logs", HTTP_ACCEPT_LANGUAGE=language).json()["results"][0]


def test_an_actions_error_is_english_in_the_log_and_hebrew_on_the_hebrew_page_and_api(alice, alice_api):
    webhook, secret = make_webhook(alice, actions=[UPDATE_CLIENT])
    log = process(alice, deliver(webhook, secret))

    # what the log always kept, unchanged
    assert log.status == "failed"
    assert log.error_message == f"update_entity: {NO_MATCH_EN}"
    assert log.result["actions"][0]["error"] == NO_MATCH_EN

    he, en = _row(alice_api, webhook, "he"), _row(alice_api, webhook, "en")
    assert he["errorMessage"] == en["errorMessage"] == f"update_entity: {NO_MATCH_EN}"
    assert he["result"]["actions"][0]["error"] == en["result"]["actions"][0]["error"] == NO_MATCH_EN
    assert he["errorText"] == f"עדכון רשומה: {NO_MATCH_HE}"
    assert he["result"]["actions"][0]["errorText"] == NO_MATCH_HE
    assert en["errorText"] == f"update_entity: {NO_MATCH_EN}"
    assert en["result"]["actions"][0]["errorText"] == NO_MATCH_EN

    web = _web(alice)
    he_page = web.get(f"/webhooks/logs/{log.pk}", HTTP_ACCEPT_LANGUAGE="he").content.decode()
    en_page = web.get(f"/webhooks/logs/{log.pk}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert NO_MATCH_HE in he_page and "no client with" not in he_page
    assert NO_MATCH_EN in en_page


def test_a_filtered_requests_reason_is_said_in_the_readers_language(alice, alice_api):
    webhook, secret = make_webhook(alice, filters={"bodyPath": "lead.kind", "bodyValue": "supplier"})
    log = process(alice, deliver(webhook, secret))
    assert (log.status, log.result["reason"]) == ("skipped", "lead.kind does not equal the filter value")

    he, en = _row(alice_api, webhook, "he"), _row(alice_api, webhook, "en")
    assert he["result"]["reason"] == "lead.kind does not equal the filter value"
    assert he["result"]["reasonText"] == "lead.kind אינו שווה לערך המסנן"
    assert en["result"]["reasonText"] == "lead.kind does not equal the filter value"

    he_page = _web(alice).get(f"/webhooks/logs/{log.pk}", HTTP_ACCEPT_LANGUAGE="he").content.decode()
    assert "lead.kind אינו שווה לערך המסנן" in he_page and "does not equal" not in he_page


def test_a_header_filter_judged_on_arrival_says_its_reason_in_hebrew(alice, alice_api):
    webhook, secret = make_webhook(alice, filters={"headers": {"Authorization": "Bearer right"}})
    log = process(alice, deliver(webhook, secret, HTTP_AUTHORIZATION="Bearer wrong"))
    assert (log.status, log.result["reason"]) == ("skipped", "header Authorization does not match")
    he = _row(alice_api, webhook, "he")
    assert he["result"]["reasonText"] == "הכותרת Authorization אינה תואמת"
    assert he["result"]["headerFilter"]["reasonText"] == "הכותרת Authorization אינה תואמת"


def test_the_test_panel_and_its_api_say_the_failures_in_hebrew(alice, alice_api):
    webhook, _secret = make_webhook(alice, actions=[UPDATE_CLIENT])
    response = alice_api.post(f"/api/webhooks/{webhook.pk}/test", {"payload": LEAD}, format="json",
                              HTTP_ACCEPT_LANGUAGE="he")
    assert response.status_code == 200, response.content
    report = response.json()
    assert report["error"] == f"update_entity: {NO_MATCH_EN}"
    assert report["errorText"] == f"עדכון רשומה: {NO_MATCH_HE}"
    [action] = report["actions"]
    assert (action["error"], action["errorText"]) == (NO_MATCH_EN, NO_MATCH_HE)
    english = alice_api.post(f"/api/webhooks/{webhook.pk}/test", {"payload": LEAD}, format="json",
                             HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["actions"][0]["errorText"] == NO_MATCH_EN

    web = _web(alice)
    html = web.post(f"/webhooks/incoming/{webhook.pk}/test", {"payload": json.dumps(LEAD)}, HTTP_HX_REQUEST="true",
                    HTTP_ACCEPT_LANGUAGE="he").content.decode()
    assert NO_MATCH_HE in html and "no client with" not in html


def test_a_scheme_the_hub_cannot_sign_is_said_in_hebrew_on_the_test_panel(alice, alice_api):
    webhook, _secret = make_webhook(alice, verification_scheme="twilio")
    report = alice_api.post(f"/api/webhooks/{webhook.pk}/test", {}, format="json", HTTP_ACCEPT_LANGUAGE="he").json()
    assert report["verification"]["reason"] == "the hub cannot sign twilio requests; not verified"
    assert report["verification"]["reasonText"] == "המערכת לא יכולה לחתום על בקשות twilio; הבקשה לא נבדקה"
    html = _web(alice).post(f"/webhooks/incoming/{webhook.pk}/test", {}, HTTP_HX_REQUEST="true",
                            HTTP_ACCEPT_LANGUAGE="he").content.decode()
    assert "המערכת לא יכולה לחתום על בקשות twilio" in html and "cannot sign" not in html


@pytest.mark.parametrize(("headers", "english", "hebrew"), [
    ({}, "missing signature header", "חסרה כותרת החתימה"),
    ({"X-Webhook-Signature": "00"}, "signature mismatch", "החתימה אינה תואמת"),
])
def test_a_signature_check_failure_keeps_its_english_reason_and_says_it_in_hebrew(headers, english, hebrew):
    result = verify("hmac", InboundRequest(method="POST", url="/x", headers=headers, body=b"{}"), ["s3cret"], {})
    assert (result.ok, result.reason) == (False, english)
    with translation.override("he"):
        assert say(result.words) == hebrew
    with translation.override("en"):
        assert say(result.words) == english


def test_a_missing_provider_header_names_the_header_in_both_languages():
    result = verify("stripe", InboundRequest(method="POST", url="/x", headers={}, body=b"{}"), ["whsec_x"], {})
    assert result.reason == "missing Stripe-Signature header"
    with translation.override("he"):
        assert say(result.words) == "חסרה הכותרת Stripe-Signature"


def test_a_failed_forward_is_said_in_hebrew_on_the_request_it_forwarded(alice, alice_api):
    forward = {"type": "forward", "config": {"forwardUrl": "http://127.0.0.1:9/closed", "retryAttempts": 1}}
    webhook, _secret = make_webhook(alice, actions=[forward])
    report = alice_api.post(f"/api/webhooks/{webhook.pk}/test", {"payload": LEAD}, format="json",
                            HTTP_ACCEPT_LANGUAGE="he").json()
    [action] = report["actions"]
    assert (action["status"], action["error"]) == ("failed", "connection refused")
    assert action["errorText"] == "החיבור נדחה"
    with tenant_scope(alice.tenant.id):
        source = WebhookLog.objects.get(pk=report["logId"])
    assert source.error_message == "forward: connection refused"
    he = alice_api.get(f"/api/webhook-logs/{source.pk}", HTTP_ACCEPT_LANGUAGE="he").json()
    assert he["errorMessage"] == "forward: connection refused"
    assert he["errorText"] == "העברה: החיבור נדחה"
    he_page = _web(alice).get(f"/webhooks/logs/{source.pk}", HTTP_ACCEPT_LANGUAGE="he").content.decode()
    assert "העברה: החיבור נדחה" in he_page and "connection refused" not in he_page


def test_an_unknown_automation_is_said_in_hebrew(alice, alice_api):
    webhook, secret = make_webhook(alice, actions=[{"type": "trigger_automation", "config": {"automationId": "nope"}}])
    log = process(alice, deliver(webhook, secret))
    assert log.error_message == "trigger_automation: no automation registered as 'nope'"
    assert _row(alice_api, webhook, "he")["errorText"] == "הפעלת אוטומציה: לא רשומה אוטומציה בשם 'nope'"


def test_two_failed_actions_are_said_each_in_hebrew(alice, alice_api):
    bad = {"type": "trigger_automation", "config": {"automationId": "nope"}}
    webhook, secret = make_webhook(alice, actions=[UPDATE_CLIENT, bad])
    log = process(alice, deliver(webhook, secret))
    assert log.error_message == (f"update_entity: {NO_MATCH_EN}; "
                                 "trigger_automation: no automation registered as 'nope'")
    assert _row(alice_api, webhook, "he")["errorText"] == (
        f"עדכון רשומה: {NO_MATCH_HE}; הפעלת אוטומציה: לא רשומה אוטומציה בשם 'nope'")


def test_the_incoming_test_service_keeps_its_english_answer(alice):
    # the service's answer (what the API's English fields are built from) is unchanged by the words
    webhook, _secret = make_webhook(alice, actions=[UPDATE_CLIENT])
    report = services.incoming_test(webhook, payload=LEAD)
    assert report["error"] == f"update_entity: {NO_MATCH_EN}"
    assert report["actions"][0]["error"] == NO_MATCH_EN


def test_a_forward_that_fails_in_the_dispatcher_is_said_in_hebrew_on_its_request(alice, alice_api):
    from tests.support.receiver import Plan, Receiver
    from webhooks.outgoing.delivery import deliveries_dispatch

    with Receiver() as receiver:
        receiver.plans = [Plan(500, body=b'{"ok": false}')]
        forward = {"type": "forward", "config": {"forwardUrl": receiver.url, "retryAttempts": 1}}
        webhook, secret = make_webhook(alice, actions=[forward])
        log = process(alice, deliver(webhook, secret))
        deliveries_dispatch(tenant_id=str(alice.tenant.id))
    with tenant_scope(alice.tenant.id):
        log.refresh_from_db()
    assert (log.status, log.error_message) == ("failed", "forward: HTTP 500")
    he = alice_api.get(f"/api/webhook-logs/{log.pk}", HTTP_ACCEPT_LANGUAGE="he").json()
    en = alice_api.get(f"/api/webhook-logs/{log.pk}", HTTP_ACCEPT_LANGUAGE="en").json()
    assert (he["errorMessage"], he["errorText"]) == ("forward: HTTP 500", "העברה: HTTP 500")
    assert en["errorText"] == "forward: HTTP 500"


def test_a_request_dropped_as_a_loop_is_said_in_hebrew(alice, alice_api):
    webhook, secret = make_webhook(alice)
    body = json.dumps({"a": 1}).encode()
    response = Client().generic("POST", f"/api/webhooks/tenant/{webhook.tenant_id}/{webhook.id}", body,
                                content_type="application/json", HTTP_X_WEBHOOK_HOPS="9",
                                HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(secret, body))
    assert response.json()["dropped"] is True
    he = alice_api.get(f"/api/webhook-logs/{response.json()['logId']}", HTTP_ACCEPT_LANGUAGE="he").json()
    assert he["errorMessage"] == "dropped: X-Webhook-Hops is 9, over the limit of 3 (a webhook loop?)"
    assert he["errorText"] == "נזרקה: X-Webhook-Hops הוא 9, מעבר למגבלה של 3 (לולאת וובהוקים?)"
