"""Outgoing webhook API: CRUD, validation, SSRF at save, secrets, preview, test send, logs, isolation."""

from __future__ import annotations

import json
import uuid

import pytest

from core import crypto
from core.tenant_context import tenant_scope
from tests.support.receiver import Plan, Receiver
from webhooks.models import IncomingWebhook, OutgoingWebhook, WebhookLog
from webhooks.outgoing import services
from webhooks.outgoing.services import log_replay

pytestmark = pytest.mark.django_db

SECRET = "alice-very-secret-value"
TRIGGERS = [{"entityType": "meeting", "events": ["created", "status_changed"]}]


def _create(api, url="https://hooks.example.com/in", language=None, **extra):
    body = {"name": "CRM", "url": url, "triggers": TRIGGERS, **extra}
    return api.post("/api/webhooks/outgoing", body, format="json",
                    **({"HTTP_ACCEPT_LANGUAGE": language} if language else {}))


def test_create_returns_seed_fields_with_defaults_and_masked_secret(alice, alice_api):
    response = _create(alice_api, signRequests=True, signatureSecret=SECRET, headers={"X-Team": "a"})

    assert response.status_code == 201
    data = response.json()
    assert data["tenantId"] == str(alice.tenant.id)
    assert data["method"] == "POST"
    assert data["triggers"] == TRIGGERS
    assert data["signatureHeader"] == "X-Webhook-Signature"
    assert data["signatureSecret"] == "********"
    assert data["hasSignatureSecret"] is True
    assert (data["retryAttempts"], data["retryDelaySeconds"], data["timeoutSeconds"]) == (3, 60, 10)
    assert (data["signatureScheme"], data["retryStrategy"]) == ("hex", "linear")
    assert (data["totalSent"], data["totalFailed"], data["consecutiveFailures"]) == (0, 0, 0)
    assert data["headers"] == {"X-Team": "a"}
    assert SECRET not in response.content.decode()
    with tenant_scope(alice.tenant.id):
        stored = OutgoingWebhook.objects.get(pk=data["id"])
    assert stored.signature_secret.startswith("enc:") and SECRET not in stored.signature_secret
    assert stored.get_secret("signature_secret") == SECRET


def test_secret_never_appears_in_list_retrieve_or_patch(alice, alice_api):
    wid = _create(alice_api, signRequests=True, signatureSecret=SECRET).json()["id"]

    responses = [
        alice_api.get("/api/webhooks/outgoing"),
        alice_api.get(f"/api/webhooks/outgoing/{wid}"),
        alice_api.patch(f"/api/webhooks/outgoing/{wid}", {"name": "CRM 2"}, format="json"),
    ]

    for response in responses:
        assert response.status_code == 200
        assert SECRET not in response.content.decode()


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"method": "GET"}, "method"),
        ({"triggers": [{"entityType": "invoice", "events": ["created"]}]}, "triggers"),
        ({"triggers": [{"entityType": "meeting", "events": ["exploded"]}]}, "triggers"),
        ({"triggers": []}, "triggers"),
        ({"payloadTemplate": '{"a": {{entity.title}'}, "payloadTemplate"),
        ({"payloadTemplate": '{"a": {{entity.title}}, }'}, "payloadTemplate"),
        ({"retryAttempts": 0}, "retryAttempts"),
        ({"retryAttempts": 11}, "retryAttempts"),
        ({"retryDelaySeconds": -1}, "retryDelaySeconds"),
        ({"retryDelaySeconds": 86401}, "retryDelaySeconds"),
        ({"headers": {"X-Webhook-Delivery": "x"}}, "headers"),
        ({"headers": {"Bad Name": "x"}}, "headers"),
        ({"headers": {"X-A": "line\r\nInjected: 1"}}, "headers"),
        ({"headers": {f"X-H{i}": "v" for i in range(21)}}, "headers"),
        ({"headers": ["x"]}, "headers"),
        ({"signRequests": True}, "signatureSecret"),
        ({"signRequests": True, "signatureScheme": "standard", "signatureSecret": "not-a-whsec"}, "signatureSecret"),
        ({"signatureScheme": "rot13"}, "signatureScheme"),
        ({"retryStrategy": "random"}, "retryStrategy"),
        ({"timeoutSeconds": 0}, "timeoutSeconds"),
    ],
)
def test_invalid_input_is_a_clear_400_and_creates_nothing(alice, alice_api, extra, field):
    response = _create(alice_api, **extra)

    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]
    with tenant_scope(alice.tenant.id):
        assert OutgoingWebhook.objects.count() == 0


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data", "http://[fd00:ec2::254]/", "http://169.254.1.1/x", "http://metadata.google.internal/"])
def test_metadata_and_link_local_targets_are_always_refused(alice_api, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True

    response = _create(alice_api, url=url, language="en")

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["url"][0].startswith("URL refused:")
    hebrew = _create(alice_api, url=url, language="he")
    said = hebrew.json()["error"]["fields"]["url"][0]
    assert said.startswith("הכתובת נדחתה:")
    # the reason too is Hebrew (issue 14 item 6): no English word of core.outbound's
    assert not any(word in said for word in ("address", "host", "metadata address", "link-local"))


@pytest.mark.parametrize("url", ["http://10.0.0.5/hook", "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://192.168.1.2/"])
def test_private_targets_refused_unless_allowed(alice_api, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    assert _create(alice_api, url=url).status_code == 400

    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    assert _create(alice_api, url=url).status_code == 201


def test_patch_with_new_secret_keeps_previous_for_24_hours(alice, alice_api):
    wid = _create(alice_api, signRequests=True, signatureSecret=SECRET).json()["id"]

    response = alice_api.patch(f"/api/webhooks/outgoing/{wid}", {"signatureSecret": "a-brand-new-secret"}, format="json")

    assert response.status_code == 200
    assert response.json()["previousSecretExpiresAt"] is not None
    with tenant_scope(alice.tenant.id):
        webhook = OutgoingWebhook.objects.get(pk=wid)
    assert webhook.get_secret("signature_secret") == "a-brand-new-secret"
    assert webhook.get_secret("previous_signature_secret") == SECRET
    hours = (webhook.previous_secret_expires_at - webhook.updated_at).total_seconds() / 3600
    assert 23.99 < hours < 24.01


def test_patch_echoing_masked_values_keeps_the_stored_ones(alice, alice_api):
    created = _create(alice_api, signRequests=True, signatureSecret=SECRET, headers={"Authorization": "Bearer tok-123"}).json()
    assert created["headers"] == {"Authorization": "[redacted]"}

    response = alice_api.patch(
        f"/api/webhooks/outgoing/{created['id']}",
        {"signatureSecret": created["signatureSecret"], "headers": created["headers"]},
        format="json",
    )

    assert response.status_code == 200
    with tenant_scope(alice.tenant.id):
        webhook = OutgoingWebhook.objects.get(pk=created["id"])
    assert webhook.get_secret("signature_secret") == SECRET
    assert list(webhook.headers) == ["Authorization"]
    assert webhook.open_value("headers", "Authorization", webhook.headers["Authorization"]) == "Bearer tok-123"
    assert webhook.previous_secret_expires_at is None


def test_credential_header_values_are_stored_encrypted_and_sent_in_clear(alice, alice_api):
    created = _create(alice_api, headers={"Authorization": "Bearer tok-123", "X-Team": "studio"}).json()
    with tenant_scope(alice.tenant.id):
        webhook = OutgoingWebhook.objects.get(pk=created["id"])
    stored = webhook.headers["Authorization"]
    assert stored.startswith("enc:") and "tok-123" not in json.dumps(webhook.headers)
    assert webhook.headers["X-Team"] == "studio"  # not a credential: kept as typed
    sent, logged = services.build_headers(webhook=webhook, delivery_id="d", event_type="meeting.created", body=b"{}",
                                          timestamp=0)
    assert sent["Authorization"] == "Bearer tok-123" and logged["Authorization"] == "[redacted]"
    # The ciphertext is bound to its row and header: copied elsewhere it does not open.
    other = OutgoingWebhook(tenant=alice.tenant)
    with pytest.raises(crypto.CryptoError):
        other.open_value("headers", "Authorization", stored)


def test_a_forged_sealed_header_value_is_refused(alice, alice_api):
    created = _create(alice_api, headers={"Authorization": "Bearer tok-123"}).json()
    response = alice_api.patch(f"/api/webhooks/outgoing/{created['id']}",
                               {"headers": {"Authorization": "enc:AAAA"}}, format="json")
    assert response.status_code == 400
    assert "must not start with enc:" in json.dumps(response.json())
    with tenant_scope(alice.tenant.id):
        webhook = OutgoingWebhook.objects.get(pk=created["id"])
    assert webhook.open_value("headers", "Authorization", webhook.headers["Authorization"]) == "Bearer tok-123"


def test_reenabling_clears_failure_state(alice, alice_api):
    wid = _create(alice_api).json()["id"]
    with tenant_scope(alice.tenant.id):
        OutgoingWebhook.objects.filter(pk=wid).update(is_enabled=False, disabled_reason="x", consecutive_failures=50)

    data = alice_api.patch(f"/api/webhooks/outgoing/{wid}", {"isEnabled": True}, format="json").json()

    assert (data["isEnabled"], data["disabledReason"], data["consecutiveFailures"]) == (True, None, 0)


def test_delete(alice_api):
    wid = _create(alice_api).json()["id"]

    assert alice_api.delete(f"/api/webhooks/outgoing/{wid}").status_code == 204
    assert alice_api.get(f"/api/webhooks/outgoing/{wid}").status_code == 404


TEMPLATE_CASES = [
    ('{"title": {{entity.title}}}', {"title": 'He said "שלום"\n\\ok'}),
    ('{"text": "New: {{entity.title}}!"}', {"text": 'New: He said "שלום"\n\\ok!'}),
    ('{"loc": {{entity.location}}, "locText": "[{{entity.location}}]"}', {"loc": None, "locText": "[]"}),
    ('{"missing": {{entity.nothing}}, "m": "{{entity.nothing}}"}', {"missing": None, "m": ""}),
    ('{"who": {{entity.attendees}}, "first": "{{entity.attendees.0.name}}"}', {"who": [{"name": "דנה \"D\""}], "first": 'דנה "D"'}),
    ('{"e": "{{entityType}}.{{event}}", "n": {{entity.count}}}', {"e": "meeting.updated", "n": 3}),
]


@pytest.mark.parametrize(("template", "expected"), TEMPLATE_CASES)
def test_preview_renders_valid_json_for_awkward_data(alice_api, template, expected):
    wid = _create(alice_api, payloadTemplate=template).json()["id"]
    entity = {"title": 'He said "שלום"\n\\ok', "location": None, "attendees": [{"name": 'דנה "D"'}], "count": 3}

    response = alice_api.post(f"/api/webhooks/outgoing/{wid}/preview", {"entity": entity, "event": "updated"}, format="json")

    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["body"] == expected
    assert json.loads(data["bodyText"]) == expected


def test_preview_draft_template_and_errors(alice, alice_api):
    ok = alice_api.post(
        "/api/webhooks/outgoing/preview",
        {"payloadTemplate": '{"t": "{{entity.title}}"}', "entityType": "task"},
        format="json",
    )
    bad = alice_api.post("/api/webhooks/outgoing/preview", {"payloadTemplate": '{"t": {{entity..x}}}'}, format="json")
    unknown_entity = alice_api.post("/api/webhooks/outgoing/preview", {"entityType": "task", "entityId": str(uuid.uuid4())}, format="json")

    assert ok.status_code == 200 and ok.json()["body"] == {"t": "להכין הדמיה לסלון"}
    assert ok.json()["placeholders"] == ["entity.title"]
    assert bad.status_code == 400 and "payloadTemplate" in bad.json()["error"]["fields"]
    assert unknown_entity.status_code == 400


def test_preview_without_template_is_the_entity_itself(alice, alice_api):
    from tests.support.factories import make_meeting

    meeting = make_meeting(alice.tenant, title="Site visit")
    wid = _create(alice_api).json()["id"]

    data = alice_api.post(f"/api/webhooks/outgoing/{wid}/preview", {"entityId": str(meeting.id)}, format="json").json()

    assert data["body"]["id"] == str(meeting.id)
    assert data["body"]["title"] == "Site visit"
    assert data["bodyText"].startswith('{"id":')


def test_test_send_posts_sample_and_logs_it(alice, alice_api):
    with Receiver(plans=[Plan(status=200, body=b'{"pong": "\xd7\xa9"}')]) as rx:
        wid = _create(alice_api, url=rx.url, signRequests=True, signatureSecret=SECRET).json()["id"]

        response = alice_api.post(f"/api/webhooks/{wid}/test", {}, format="json")

    assert response.status_code == 200
    data = response.json()
    assert data["status"] == 200 and data["body"] == {"pong": "ש"} and data["success"] is True
    assert isinstance(data["durationMs"], int)
    req = rx.requests[0]
    assert req.headers["X-Webhook-Test"] == "true"
    assert req.headers["X-Webhook-Event"] == "meeting.created"
    log = alice_api.get(f"/api/webhook-logs/{data['logId']}").json()
    assert log["status"] == "success" and log["responseStatus"] == 200
    assert log["headers"]["X-Webhook-Signature"] == "[redacted]"
    assert SECRET not in json.dumps(log) and req.headers["X-Webhook-Signature"] not in json.dumps(log)
    assert alice_api.get(f"/api/webhooks/outgoing/{wid}").json()["totalSent"] == 0  # tests don't count


def test_test_send_failure_reports_status_and_is_not_retried(alice, alice_api):
    with Receiver(default=Plan(status=500, body=b"boom")) as rx:
        wid = _create(alice_api, url=rx.url).json()["id"]
        data = alice_api.post(f"/api/webhooks/{wid}/test", {"payload": {"title": "x"}}, format="json").json()

    assert (data["status"], data["body"], data["success"]) == (500, "boom", False)
    assert json.loads(rx.requests[0].body) == {"title": "x"}
    log = alice_api.get(f"/api/webhook-logs/{data['logId']}").json()
    assert (log["status"], log["nextRetryAt"], log["errorMessage"]) == ("failed", None, "HTTP 500")


def test_logs_are_paginated_and_filtered_by_status(alice, alice_api):
    with Receiver(plans=[Plan(status=200), Plan(status=500), Plan(status=200)]) as rx:
        wid = _create(alice_api, url=rx.url).json()["id"]
        for _ in range(3):
            alice_api.post(f"/api/webhooks/{wid}/test", {}, format="json")

    everything = alice_api.get(f"/api/webhooks/{wid}/logs?pageSize=2").json()
    failed = alice_api.get(f"/api/webhooks/{wid}/logs?status=failed").json()
    bad = alice_api.get(f"/api/webhooks/{wid}/logs?status=weird")

    assert everything["count"] == 3 and len(everything["results"]) == 2 and everything["next"]
    assert failed["count"] == 1 and failed["results"][0]["responseStatus"] == 500
    assert bad.status_code == 400


def test_replay_creates_a_manual_attempt_of_the_same_delivery(alice, alice_api):
    with Receiver(default=Plan(status=500)) as rx:
        wid = _create(alice_api, url=rx.url).json()["id"]
        first = alice_api.post(f"/api/webhooks/{wid}/test", {}, format="json").json()

    response = alice_api.post(f"/api/webhook-logs/{first['logId']}/replay")

    assert response.status_code == 202
    data = response.json()
    assert data["status"] == "pending" and data["attempt"] == 2 and data["maxAttempts"] == 2
    assert data["deliveryId"] == first["deliveryId"]
    assert data["result"] == {"trigger": "manual"}


def test_replay_refused_for_disabled_webhook(alice, alice_api):
    with Receiver() as rx:
        wid = _create(alice_api, url=rx.url).json()["id"]
        first = alice_api.post(f"/api/webhooks/{wid}/test", {}, format="json").json()
    alice_api.patch(f"/api/webhooks/outgoing/{wid}", {"isEnabled": False}, format="json")

    response = alice_api.post(f"/api/webhook-logs/{first['logId']}/replay")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_shared_endpoints_serve_incoming_webhooks_too(alice, alice_api):
    with Receiver() as rx:
        with tenant_scope(alice.tenant.id):
            incoming = IncomingWebhook(tenant=alice.tenant, name="in", url=f"/x/{uuid.uuid4()}",
                                       actions=[{"type": "forward", "config": {"forwardUrl": rx.url}}])
            incoming.set_secret("secret", "s3cret-s3cret")
            incoming.save()
            WebhookLog.objects.create(
                tenant=alice.tenant, webhook_id=incoming.id, webhook_type="incoming", direction="incoming",
                method="POST", url="/x", status="success",
            )

        logs = alice_api.get(f"/api/webhooks/{incoming.id}/logs")
        test = alice_api.post(f"/api/webhooks/{incoming.id}/test", {"payload": {"a": 1}}, format="json")

    assert logs.status_code == 200 and logs.json()["count"] == 1
    # the test request was signed, verified, stored and run: its forward reached the receiver
    assert test.status_code == 200, test.content
    report = test.json()
    assert report["verification"] == {"scheme": "hmac", "ok": True, "reason": ""}
    assert report["status"] == "success"
    [forward] = report["actions"]
    assert (forward["type"], forward["status"], forward["responseStatus"]) == ("forward", "success", 200)
    [received] = rx.requests
    assert json.loads(received.body) == {"a": 1}
    with tenant_scope(alice.tenant.id):
        stored = WebhookLog.objects.get(pk=report["logId"])
    assert (stored.webhook_id, stored.direction, stored.event_type, stored.status) == (
        incoming.id, "incoming", "test", "success")


def test_bob_gets_404_on_everything_of_alice(alice, alice_api, bob, bob_api):
    with Receiver() as rx:
        wid = _create(alice_api, url=rx.url, signRequests=True, signatureSecret=SECRET).json()["id"]
        log_id = alice_api.post(f"/api/webhooks/{wid}/test", {}, format="json").json()["logId"]

    calls = [
        bob_api.get(f"/api/webhooks/outgoing/{wid}"),
        bob_api.patch(f"/api/webhooks/outgoing/{wid}", {"name": "pwned"}, format="json"),
        bob_api.delete(f"/api/webhooks/outgoing/{wid}"),
        bob_api.post(f"/api/webhooks/outgoing/{wid}/preview", {}, format="json"),
        bob_api.post(f"/api/webhooks/{wid}/test", {}, format="json"),
        bob_api.get(f"/api/webhooks/{wid}/logs"),
        bob_api.get(f"/api/webhook-logs/{log_id}"),
        bob_api.post(f"/api/webhook-logs/{log_id}/replay"),
        bob_api.get("/api/webhooks/not-a-uuid/logs"),
        bob_api.get("/api/webhook-logs/not-a-uuid"),
    ]

    assert [c.status_code for c in calls] == [404] * len(calls)
    assert all(c.json()["error"]["code"] == "not_found" for c in calls)
    assert bob_api.get("/api/webhooks/outgoing").json()["count"] == 0
    assert len(rx.requests) == 1
    with tenant_scope(alice.tenant.id):
        assert OutgoingWebhook.objects.get(pk=wid).name == "CRM"


def test_replay_service_refuses_incoming_rows(alice):
    with tenant_scope(alice.tenant.id):
        row = WebhookLog.objects.create(
            tenant=alice.tenant, webhook_id=uuid.uuid4(), webhook_type="incoming", direction="incoming",
            method="POST", url="/x", status="success",
        )
        with pytest.raises(Exception, match="only outgoing"):
            log_replay(log=row)


@pytest.mark.parametrize(("extra", "field", "hebrew", "english"), [
    ({"triggers": [{"entityType": "spaceship", "events": ["created"]}]}, "triggers",
     "טריגר 0: entityType חייב להיות אחד מאלה:", "trigger 0: entityType must be one of"),
    ({"headers": {"X-Webhook-Event": "mine"}}, "headers",
     "הכותרת X-Webhook-Event נקבעת על ידי המערכת ואי אפשר לדרוס אותה",
     "header X-Webhook-Event is set by the hub and cannot be overridden"),
    ({"signRequests": True}, "signatureSecret", "שדה חובה כאשר signRequests הוא true",
     "required when signRequests is true"),
])
def test_settings_errors_follow_the_requests_language(alice_api, extra, field, hebrew, english):
    he_error = _create(alice_api, language="he", **extra).json()["error"]["fields"][field][0]
    en_error = _create(alice_api, language="en", **extra).json()["error"]["fields"][field][0]
    assert he_error.startswith(hebrew) and en_error.startswith(english)
