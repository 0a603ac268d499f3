"""`/api/webhooks/incoming`: create (secret shown once), list/detail without secrets,
validation 400s, update, delete, rotation, and bob's 404 on every endpoint."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.tenant_context import tenant_scope
from webhooks.incoming import selectors
from webhooks.models import IncomingWebhook

pytestmark = pytest.mark.django_db

BASE = "/api/webhooks/incoming"
VALID = {
    "name": "Leads from the site form",
    "description": "Creates a client per lead",
    "actions": [
        {"type": "create_entity", "config": {"entityType": "client", "fieldMappings": {"name": "lead.name", "email": "lead.email"}}},
    ],
    "filters": {"headers": {"X-Source": "site"}, "bodyPath": "lead.kind", "bodyValue": "client"},
}


def create(client, **overrides):
    return client.post(BASE, {**VALID, **overrides}, format="json")


def test_create_generates_url_and_standard_secret_shown_once(alice, alice_api):
    # When alice creates an incoming webhook
    response = create(alice_api)
    # Then the answer has the generated URL and a whsec_ secret of 32 bytes
    assert response.status_code == 201
    body = response.json()
    assert body["url"] == f"http://localhost:8000/api/webhooks/tenant/{alice.tenant.id}/{body['id']}"
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", body["secret"])
    assert body["actions"] == VALID["actions"]
    assert body["filters"] == VALID["filters"]
    assert (body["verificationScheme"], body["isEnabled"], body["totalReceived"]) == ("hmac", True, 0)
    # And the secret is stored encrypted, never in the clear
    with tenant_scope(alice.tenant.id):
        row = IncomingWebhook.objects.get(pk=body["id"])
        assert row.secret.startswith("enc:") and body["secret"] not in row.secret
        assert row.get_secret("secret") == body["secret"]
    # And list and detail never show it
    listed = alice_api.get(BASE).json()
    detail = alice_api.get(f"{BASE}/{body['id']}").json()
    assert listed["count"] == 1
    assert "secret" not in listed["results"][0] and "secret" not in detail
    assert body["secret"] not in str(listed) + str(detail)


def test_create_accepts_a_provider_issued_secret(alice, alice_api):
    response = create(alice_api, secret="whsec_provider_given_123", verificationScheme="stripe")
    assert response.status_code == 201
    assert response.json()["secret"] == "whsec_provider_given_123"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"actions": [{"type": "explode", "config": {}}]}, "actions[0].type"),
        ({"actions": [{"type": "forward", "config": {"forwardUrl": "ftp://example.com/x"}}]}, "actions[0].config.forwardUrl"),
        ({"actions": [{"type": "forward", "config": {"forwardUrl": "http://169.254.169.254/latest"}}]}, "actions[0].config.forwardUrl"),
        ({"actions": [{"type": "create_entity", "config": {"entityType": "spaceship", "fieldMappings": {"name": "a"}}}]}, "actions[0].config.entityType"),
        ({"actions": [{"type": "create_entity", "config": {"entityType": "client", "fieldMappings": {"nope": "a"}}}]}, "actions[0].config.fieldMappings"),
        ({"actions": [{"type": "update_entity", "config": {"entityType": "client", "fieldMappings": {"name": "a"}}}]}, "actions[0].config.matchField"),
        ({"actions": [{"type": "trigger_automation", "config": {}}]}, "actions[0].config.automationId"),
        ({"filters": ["headers"]}, "filters"),
        ({"filters": {"bodyValue": 3}}, "filters.bodyValue"),
        ({"filters": {"headers": "x"}}, "filters.headers"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"verificationScheme": "carrier-pigeon"}, "verificationScheme"),
        ({"verificationScheme": "sendgrid"}, "verificationConfig"),
    ],
)
def test_invalid_fields_are_clear_400s_and_create_nothing(alice, alice_api, overrides, field):
    response = create(alice_api, **overrides)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"], error
    with tenant_scope(alice.tenant.id):
        assert IncomingWebhook.objects.count() == 0


def test_forward_to_private_address_is_refused_when_private_targets_are_off(alice, alice_api, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    actions = [{"type": "forward", "config": {"forwardUrl": "http://10.0.0.5/hook"}}]
    response = alice_api.post(BASE, {**VALID, "actions": actions}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["actions[0].config.forwardUrl"] == ["refused: private address 10.0.0.5"]
    hebrew = alice_api.post(BASE, {**VALID, "actions": actions}, format="json", HTTP_ACCEPT_LANGUAGE="he")
    assert hebrew.json()["error"]["fields"]["actions[0].config.forwardUrl"] == ["נדחה: כתובת פרטית 10.0.0.5"]


def test_patch_updates_fields_and_keeps_masked_verification_values(alice, alice_api):
    created = create(alice_api, verificationScheme="meta", verificationConfig={"verifyToken": "tok-123"}).json()
    assert created["verificationConfig"] == {"verifyToken": "********"}
    response = alice_api.patch(
        f"{BASE}/{created['id']}",
        {"name": "Renamed", "isEnabled": False, "verificationConfig": {"verifyToken": "********"}},
        format="json",
    )
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["isEnabled"]) == ("Renamed", False)
    with tenant_scope(alice.tenant.id):
        stored = IncomingWebhook.objects.get(pk=created["id"])
        assert stored.opened_verification_config() == {"verifyToken": "tok-123"}
        assert "tok-123" not in json.dumps(stored.verification_config)  # sealed at rest


def test_forward_credentials_are_sealed_masked_and_kept_when_echoed(alice, alice_api, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    headers = {"Authorization": "Bearer fw-secret-1", "X-Team": "ops"}
    response = create(alice_api, actions=[{"type": "forward", "config": {"forwardUrl": "http://127.0.0.1:9/f",
                                                                         "forwardHeaders": headers}}])
    assert response.status_code == 201, response.content
    assert "fw-secret-1" not in response.content.decode()
    assert response.json()["actions"][0]["config"]["forwardHeaders"] == {"Authorization": "[redacted]", "X-Team": "ops"}
    hook_id = response.json()["id"]
    with tenant_scope(alice.tenant.id):
        stored = IncomingWebhook.objects.get(pk=hook_id)
    assert "fw-secret-1" not in json.dumps(stored.actions)  # sealed at rest
    assert stored.opened_headers(stored.actions[0]["config"]["forwardHeaders"]) == headers

    # The GET answer sent back as is (masked value included) keeps the stored credential
    shown = alice_api.get(f"/api/webhooks/incoming/{hook_id}").json()
    shown["actions"][0]["config"]["forwardHeaders"]["X-Team"] = "design"
    patched = alice_api.patch(f"/api/webhooks/incoming/{hook_id}", {"actions": shown["actions"]}, format="json")
    assert patched.status_code == 200, patched.content
    with tenant_scope(alice.tenant.id):
        stored = IncomingWebhook.objects.get(pk=hook_id)
    assert stored.opened_headers(stored.actions[0]["config"]["forwardHeaders"]) == {
        "Authorization": "Bearer fw-secret-1", "X-Team": "design"}

    # A masked value with nothing stored behind it, or a ciphertext, is a 400 that changes nothing
    for bad in ({"X-Api-Key": "[redacted]"}, {"Authorization": stored.actions[0]["config"]["forwardHeaders"]["Authorization"]}):
        actions = [{"type": "forward", "config": {"forwardUrl": "http://127.0.0.1:9/f", "forwardHeaders": bad}}]
        refused = alice_api.patch(f"/api/webhooks/incoming/{hook_id}", {"actions": actions}, format="json")
        assert refused.status_code == 400
        assert list(refused.json()["error"]["fields"]) == [f"actions[0].config.forwardHeaders.{next(iter(bad))}"]
    with tenant_scope(alice.tenant.id):
        assert IncomingWebhook.objects.get(pk=hook_id).actions == stored.actions


def test_patch_cannot_set_the_secret(alice, alice_api):
    created = create(alice_api).json()
    response = alice_api.patch(f"{BASE}/{created['id']}", {"secret": "something-new"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"secret": ["use rotate-secret to change the secret"]}


def test_delete(alice, alice_api):
    created = create(alice_api).json()
    assert alice_api.delete(f"{BASE}/{created['id']}").status_code == 204
    assert alice_api.get(f"{BASE}/{created['id']}").status_code == 404


def test_rotate_secret_returns_new_secret_and_keeps_old_valid_for_24h(alice, alice_api):
    created = create(alice_api).json()
    response = alice_api.post(f"{BASE}/{created['id']}/rotate-secret")
    assert response.status_code == 200
    rotated = response.json()
    assert rotated["secret"] != created["secret"] and rotated["secret"].startswith("whsec_")
    assert rotated["previousSecretExpiresAt"] is not None
    with tenant_scope(alice.tenant.id):
        webhook = IncomingWebhook.objects.get(pk=created["id"])
        assert selectors.incoming_valid_secrets(webhook=webhook) == [rotated["secret"], created["secret"]]
        later = timezone.now() + timedelta(hours=24, seconds=1)
        assert selectors.incoming_valid_secrets(webhook=webhook, now=later) == [rotated["secret"]]
    # And the detail still shows no secret
    assert "secret" not in alice_api.get(f"{BASE}/{created['id']}").json()


def test_rotate_secret_grace_period_is_configurable(alice, alice_api, settings):
    settings.INCOMING_WEBHOOK_SECRET_GRACE_SECONDS = 60
    created = create(alice_api).json()
    with time_machine.travel(timezone.now(), tick=False):
        rotated = alice_api.post(f"{BASE}/{created['id']}/rotate-secret").json()
        expected = (timezone.now() + timedelta(seconds=60)).isoformat()
    assert rotated["previousSecretExpiresAt"] == expected


def test_bob_gets_404_on_every_endpoint_of_alices_webhook(alice, alice_api, bob, bob_api):
    created = create(alice_api).json()
    url = f"{BASE}/{created['id']}"
    assert bob_api.get(url).status_code == 404
    assert bob_api.patch(url, {"name": "mine"}, format="json").status_code == 404
    assert bob_api.delete(url).status_code == 404
    assert bob_api.post(f"{url}/rotate-secret").status_code == 404
    assert bob_api.get(BASE).json()["count"] == 0
    assert bob_api.get(f"{BASE}/not-a-uuid").status_code == 404
    # And alice's webhook is untouched
    assert alice_api.get(url).json()["name"] == VALID["name"]


def test_unauthenticated_api_is_401(api):
    assert api.get(BASE).status_code == 401
