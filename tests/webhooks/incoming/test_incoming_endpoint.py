"""The public endpoint (C6) end-to-end on the real stack, signatures made by the
providers' own SDKs: store → verify → 202, handshakes, 401/404/413/415/429, dedupe."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from datetime import UTC, datetime

import pytest
import stripe
import time_machine
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import connection
from django.test import Client
from sendgrid.helpers.eventwebhook import EventWebhook
from standardwebhooks.webhooks import Webhook as StandardWebhook
from twilio.request_validator import RequestValidator

from core.tenant_context import tenant_scope
from tests.support.webhooks import logs_of, make_webhook, path_of, post
from webhooks.incoming import services
from webhooks.incoming.models import IncomingDedupe
from webhooks.signing import hex_hmac_sha256

pytestmark = pytest.mark.django_db

BODY = json.dumps({"event": "lead.created", "lead": {"name": "Dana"}}).encode()


def test_hmac_signed_request_is_stored_then_answered_202(alice):
    # Given a webhook with the default hmac scheme
    webhook, secret = make_webhook(alice)
    # When a sender posts a body signed with hex HMAC-SHA256
    response = post(path_of(webhook), BODY, HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(secret, BODY),
                    HTTP_AUTHORIZATION="Bearer not-for-logs")
    # Then it is answered 202 with the id of the stored, pending log row
    assert response.status_code == 202
    log_id = response.json()["logId"]
    assert response.json() == {"received": True, "logId": log_id}
    [log] = logs_of(alice)
    assert (str(log.id), log.status, log.webhook_type, log.method) == (log_id, "pending", "incoming", "POST")
    assert log.body == {"event": "lead.created", "lead": {"name": "Dana"}}
    assert log.url == "http://localhost:8000" + path_of(webhook)
    # And credentials and signatures are redacted in the stored headers
    assert log.headers["X-Webhook-Signature"] == "[redacted]"
    assert log.headers["Authorization"] == "[redacted]"
    assert secret not in json.dumps(log.headers)


def test_hmac_accepts_sha256_prefix_and_form_bodies(alice):
    webhook, secret = make_webhook(alice)
    form = b"name=Dana&tags=a&tags=b"
    response = post(path_of(webhook), form, "application/x-www-form-urlencoded",
                    HTTP_X_WEBHOOK_SIGNATURE="sha256=" + hex_hmac_sha256(secret, form).upper())
    assert response.status_code == 202
    assert logs_of(alice)[0].body == {"name": "Dana", "tags": ["a", "b"]}


def test_hmac_scheme_also_accepts_standard_webhooks_headers_from_the_library(alice):
    webhook, secret = make_webhook(alice)
    msg_id, now = "msg_" + uuid.uuid4().hex, datetime.now(tz=UTC)
    signature = StandardWebhook(secret).sign(msg_id, now, BODY.decode())
    response = post(path_of(webhook), BODY, HTTP_WEBHOOK_ID=msg_id,
                    HTTP_WEBHOOK_TIMESTAMP=str(int(now.timestamp())), HTTP_WEBHOOK_SIGNATURE=signature)
    assert response.status_code == 202
    assert logs_of(alice)[0].dedupe_key == msg_id


def test_standard_scheme_with_library_signature_and_5_minute_tolerance(alice):
    webhook, secret = make_webhook(alice, verification_scheme="standard")
    msg_id = "msg_" + uuid.uuid4().hex
    stale = datetime.fromtimestamp(time.time() - 301, tz=UTC)
    headers = {"HTTP_WEBHOOK_ID": msg_id, "HTTP_WEBHOOK_TIMESTAMP": str(int(stale.timestamp())),
               "HTTP_WEBHOOK_SIGNATURE": StandardWebhook(secret).sign(msg_id, stale, BODY.decode())}
    assert post(path_of(webhook), BODY, **headers).status_code == 401
    fresh = datetime.now(tz=UTC)
    headers = {"HTTP_WEBHOOK_ID": msg_id, "HTTP_WEBHOOK_TIMESTAMP": str(int(fresh.timestamp())),
               "HTTP_WEBHOOK_SIGNATURE": StandardWebhook(secret).sign(msg_id, fresh, BODY.decode())}
    assert post(path_of(webhook), BODY, **headers).status_code == 202
    # An X-Webhook-Signature alone is not enough under the standard scheme
    assert post(path_of(webhook), BODY, HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(secret, BODY)).status_code == 401


def test_stripe_sdk_signature_and_event_id_dedupe(alice):
    # Given a webhook holding the endpoint secret Stripe issued
    webhook, secret = make_webhook(alice, verification_scheme="stripe", secret="whsec_stripe_issued_abc123")
    body = json.dumps({"id": "evt_" + uuid.uuid4().hex, "type": "payment_intent.succeeded"})
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=int(time.time()))
    # When Stripe delivers the same event twice
    first = post(path_of(webhook), body.encode(), HTTP_STRIPE_SIGNATURE=header)
    second = post(path_of(webhook), body.encode(), HTTP_STRIPE_SIGNATURE=header)
    # Then the first is stored and the duplicate acknowledged with the same log, not stored again
    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json() == {"received": True, "duplicate": True, "logId": first.json()["logId"]}
    assert len(logs_of(alice)) == 1
    # And a wrong secret is 401
    bad = stripe.WebhookSignature.generate_signature_header(body, "whsec_other", timestamp=int(time.time()))
    assert post(path_of(webhook), body.encode(), HTTP_STRIPE_SIGNATURE=bad).status_code == 401


def test_twilio_sdk_signature_over_public_url_and_form_params(alice):
    webhook, token = make_webhook(alice, verification_scheme="twilio", secret="twilio-auth-token-0123456789abcdef")
    params = {"From": "+972500000000", "Body": "שלום", "MessageSid": "SM" + uuid.uuid4().hex}
    url = settings.PUBLIC_BASE_URL + path_of(webhook)
    signature = RequestValidator(token).compute_signature(url, params)
    from urllib.parse import urlencode

    response = post(path_of(webhook), urlencode(params).encode(), "application/x-www-form-urlencoded",
                    HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 202
    assert logs_of(alice)[0].body == params
    tampered = urlencode({**params, "Body": "x"}).encode()
    assert post(path_of(webhook), tampered, "application/x-www-form-urlencoded",
                HTTP_X_TWILIO_SIGNATURE=signature).status_code == 401


def test_sendgrid_ecdsa_signature_checked_by_sendgrids_eventwebhook_too(alice):
    key = ec.generate_private_key(ec.SECP256R1())
    public = base64.b64encode(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
    webhook, _ = make_webhook(alice, verification_scheme="sendgrid", verification_config={"publicKey": public})
    body = json.dumps([{"email": "a@example.com", "event": "delivered", "sg_event_id": "sg-" + uuid.uuid4().hex}])
    ts = str(int(time.time()))
    signature = base64.b64encode(key.sign(ts.encode() + body.encode(), ec.ECDSA(hashes.SHA256()))).decode()
    assert EventWebhook(public).verify_signature(body, signature, ts) is True
    headers = {"HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE": signature,
               "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP": ts}
    assert post(path_of(webhook), body.encode(), **headers).status_code == 202


def test_meta_handshake_and_signed_post(alice):
    webhook, app_secret = make_webhook(alice, verification_scheme="meta", secret="meta-app-secret-123",
                                       verification_config={"verifyToken": "my-verify-token"})
    query = "?hub.mode=subscribe&hub.verify_token=my-verify-token&hub.challenge=1158201444"
    response = Client().get(path_of(webhook) + query)
    assert (response.status_code, response.content, response["Content-Type"]) == (
        200, b"1158201444", "text/plain; charset=utf-8")
    wrong = Client().get(path_of(webhook) + "?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1")
    assert wrong.status_code == 403
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    signed = post(path_of(webhook), body, HTTP_X_HUB_SIGNATURE_256="sha256=" + hex_hmac_sha256(app_secret, body))
    assert signed.status_code == 202
    assert len(logs_of(alice)) == 1  # the handshake stored nothing


def test_graph_validation_token_is_echoed_and_client_state_verified(alice):
    webhook, _ = make_webhook(alice, verification_scheme="graph", verification_config={"clientState": "cs-secret"})
    response = post(path_of(webhook) + "?validationToken=Validation%3A+Testing+client+application", b"",
                    content_type="text/plain")
    assert (response.status_code, response.content) == (200, b"Validation: Testing client application")
    assert response["Content-Type"].startswith("text/plain")
    good = json.dumps({"value": [{"clientState": "cs-secret", "changeType": "created"}]}).encode()
    bad = json.dumps({"value": [{"clientState": "guess", "changeType": "created"}]}).encode()
    assert post(path_of(webhook), good).status_code == 202
    assert post(path_of(webhook), bad).status_code == 401
    assert len(logs_of(alice)) == 1


def test_none_scheme_accepts_unsigned_requests(alice):
    webhook, _ = make_webhook(alice, verification_scheme="none")
    assert post(path_of(webhook), BODY).status_code == 202


def test_xero_intent_to_receive_gets_200_or_401(alice):
    webhook, key = make_webhook(alice, verification_scheme="xero", secret="xero-webhook-key-123")
    import hashlib
    import hmac

    body = b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"S0"}'
    good = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
    assert post(path_of(webhook), body, HTTP_X_XERO_SIGNATURE=good).status_code == 200
    assert post(path_of(webhook), body, HTTP_X_XERO_SIGNATURE="AAAA" + good[4:]).status_code == 401


def test_missing_or_wrong_signature_is_401_and_stores_nothing(alice):
    webhook, secret = make_webhook(alice)
    missing = post(path_of(webhook), BODY)
    wrong = post(path_of(webhook), BODY, HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(secret + "x", BODY))
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert wrong.json()["error"] == {"code": "invalid_signature",
                                     "message": "Signature verification failed: signature mismatch."}
    assert logs_of(alice) == []


def test_unknown_disabled_wrong_tenant_and_malformed_ids_all_get_the_same_404(alice, bob):
    webhook, secret = make_webhook(alice)
    disabled, dsecret = make_webhook(alice, is_enabled=False)
    sig = hex_hmac_sha256(secret, BODY)
    answers = [
        post(f"/api/webhooks/tenant/{alice.tenant.id}/{uuid.uuid4()}", BODY, HTTP_X_WEBHOOK_SIGNATURE=sig),
        post(path_of(disabled), BODY, HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(dsecret, BODY)),
        post(f"/api/webhooks/tenant/{bob.tenant.id}/{webhook.id}", BODY, HTTP_X_WEBHOOK_SIGNATURE=sig),
        post(f"/api/webhooks/tenant/not-a-uuid/{webhook.id}", BODY, HTTP_X_WEBHOOK_SIGNATURE=sig),
        post(f"/api/webhooks/tenant/{alice.tenant.id}/123", BODY, HTTP_X_WEBHOOK_SIGNATURE=sig),
    ]
    assert [(a.status_code, a.json()) for a in answers] == [
        (404, {"error": {"code": "not_found", "message": "Not found."}})
    ] * 5
    assert logs_of(alice) == [] and logs_of(bob) == []


def test_body_over_the_limit_is_413(alice, settings):
    settings.INCOMING_WEBHOOK_MAX_BODY_BYTES = 1000
    webhook, secret = make_webhook(alice)
    big = json.dumps({"x": "a" * 1000}).encode()
    response = post(path_of(webhook), big, HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(secret, big))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert logs_of(alice) == []


def test_default_body_limit_is_1_mib(alice):
    webhook, secret = make_webhook(alice)
    big = json.dumps({"x": "a" * (1024 * 1024)}).encode()
    assert post(path_of(webhook), big, HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(secret, big)).status_code == 413


def test_other_media_types_are_415_and_bad_json_400(alice):
    webhook, secret = make_webhook(alice)
    xml = b"<lead/>"
    assert post(path_of(webhook), xml, "application/xml",
                HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(secret, xml)).status_code == 415
    broken = b'{"a": '
    response = post(path_of(webhook), broken, HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(secret, broken))
    assert response.status_code == 400
    nul = b'{"a": "x\\u0000y", "n": 1e999}'
    response = post(path_of(webhook), nul, HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(secret, nul))
    assert response.status_code == 400  # a non-finite number is not JSON we can store
    nul = b'{"a": "x\\u0000y\\ud800"}'
    response = post(path_of(webhook), nul, HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(secret, nul))
    assert response.status_code == 202
    assert logs_of(alice)[0].body == {"a": "x\ufffdy\ufffd"}


def test_rate_limit_per_webhook_is_429_past_the_limit(alice, settings):
    settings.INCOMING_WEBHOOK_RATE_LIMIT = 3
    webhook, secret = make_webhook(alice)
    other, other_secret = make_webhook(alice)
    bodies = [json.dumps({"n": n}).encode() for n in range(6)]  # distinct: a repeated body is a duplicate
    with time_machine.travel(time.time(), tick=False):
        codes = [post(path_of(webhook), b, HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(secret, b)).status_code
                 for b in bodies[:5]]
        limited = post(path_of(webhook), bodies[5], HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(secret, bodies[5]))
        elsewhere = post(path_of(other), BODY, HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(other_secret, BODY))
    assert codes == [202, 202, 202, 429, 429]
    assert limited["Retry-After"] == "1"
    assert elsewhere.status_code == 202
    assert len(logs_of(alice)) == 4


def test_hmac_dedupe_claims_the_body_hash_with_the_row_whatever_the_unsigned_request_id(alice):
    # The hex signature covers the body only: a replay with another X-Request-Id is still a duplicate
    webhook, secret = make_webhook(alice)
    sig = hex_hmac_sha256(secret, BODY)
    first = post(path_of(webhook), BODY, HTTP_X_WEBHOOK_SIGNATURE=sig, HTTP_X_REQUEST_ID="req-" + uuid.uuid4().hex)
    assert first.status_code == 202
    replay = post(path_of(webhook), BODY, HTTP_X_WEBHOOK_SIGNATURE=sig, HTTP_X_REQUEST_ID="req-" + uuid.uuid4().hex)
    assert replay.status_code == 200
    assert replay.json() == {"received": True, "duplicate": True, "logId": first.json()["logId"]}
    other_body = b'{"event": "lead.created", "lead": {"name": "Noa"}}'
    other = post(path_of(webhook), other_body, HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(secret, other_body))
    assert other.status_code == 202
    assert len(logs_of(alice)) == 2
    with tenant_scope(alice.tenant.id):
        claims = dict(IncomingDedupe.objects.filter(webhook_id=webhook.id).values_list("dedupe_key", "log_id"))
    assert claims["body:" + hashlib.sha256(BODY).hexdigest()] == uuid.UUID(first.json()["logId"])


def test_x_request_id_dedupe_claims_the_id_with_the_row(alice):
    # Unsigned schemes still use the sender's id header
    webhook, _secret = make_webhook(alice, verification_scheme="none")
    request_id = "req-" + uuid.uuid4().hex
    first = post(path_of(webhook), BODY, HTTP_X_REQUEST_ID=request_id)
    assert first.status_code == 202
    second = post(path_of(webhook), BODY, HTTP_X_REQUEST_ID=request_id)
    assert second.status_code == 200
    assert second.json() == {"received": True, "duplicate": True, "logId": first.json()["logId"]}
    other = post(path_of(webhook), BODY, HTTP_X_REQUEST_ID="req-" + uuid.uuid4().hex)
    assert other.status_code == 202
    assert len(logs_of(alice)) == 2
    with tenant_scope(alice.tenant.id):
        claims = dict(IncomingDedupe.objects.filter(webhook_id=webhook.id).values_list("dedupe_key", "log_id"))
    assert claims[request_id] == uuid.UUID(first.json()["logId"])


def test_a_delivery_id_older_than_the_window_is_claimed_anew(alice):
    webhook, secret = make_webhook(alice)
    sig = hex_hmac_sha256(secret, BODY)
    first = post(path_of(webhook), BODY, HTTP_X_WEBHOOK_SIGNATURE=sig)
    with time_machine.travel(time.time() + 24 * 3600 + 5):
        again = post(path_of(webhook), BODY, HTTP_X_WEBHOOK_SIGNATURE=sig)
    assert again.status_code == 202 and again.json()["logId"] != first.json()["logId"]
    with tenant_scope(alice.tenant.id):
        claim = IncomingDedupe.objects.get(webhook_id=webhook.id, dedupe_key="body:" + hashlib.sha256(BODY).hexdigest())
    assert claim.log_id == uuid.UUID(again.json()["logId"])
    assert len(logs_of(alice)) == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_copies_of_one_delivery_store_it_once():
    """Copies racing each other: the unique claim lets exactly one in, outside any transaction."""
    from tests.support.factories import make_persona, run_at_once

    persona = make_persona("Race Studio", "race@example.com")
    webhook, secret = make_webhook(persona, actions=[])
    sig = hex_hmac_sha256(secret, BODY)
    answers = run_at_once(
        lambda: post(path_of(webhook), BODY, HTTP_X_WEBHOOK_SIGNATURE=sig, HTTP_X_REQUEST_ID="req-race"), 8, timeout=20)
    assert sorted(a.status_code for a in answers) == [200] * 7 + [202]
    assert len({a.json()["logId"] for a in answers}) == 1
    assert len(logs_of(persona)) == 1


def test_rotated_secret_old_one_still_accepted_during_grace(alice):
    webhook, old = make_webhook(alice)
    with tenant_scope(alice.tenant.id):
        _, new = services.incoming_rotate_secret(webhook=webhook)
    body2 = BODY.replace(b"Dana", b"Noa")  # a repeated body would be a duplicate (200)
    assert post(path_of(webhook), BODY, HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(new, BODY)).status_code == 202
    assert post(path_of(webhook), body2, HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(old, body2)).status_code == 202
    with time_machine.travel(time.time() + 24 * 3600 + 5):
        assert post(path_of(webhook), body2, HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(old, body2)).status_code == 401


def test_stored_requests_are_invisible_to_other_tenants_at_the_sql_level(alice, bob):
    webhook, secret = make_webhook(alice)
    post(path_of(webhook), BODY, HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(secret, BODY))
    with tenant_scope(bob.tenant.id), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM webhook_logs WHERE webhook_id = %s", [webhook.id])
        assert cursor.fetchone()[0] == 0
    assert len(logs_of(alice)) == 1


def test_other_methods_are_405(alice):
    webhook, _ = make_webhook(alice)
    assert Client().put(path_of(webhook), BODY, content_type="application/json").status_code == 405
    assert Client().get(path_of(webhook)).status_code == 405
