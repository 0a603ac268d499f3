"""From a signed POST to a created entity through a real Celery worker (Redis broker)."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from core.tenant_context import tenant_scope
from entities.models import Client as ClientEntity
from tests.support.factories import make_persona
from webhooks.incoming import services
from webhooks.models import IncomingWebhook, WebhookLog
from webhooks.signing import hex_hmac_sha256

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


def wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


def test_signed_post_is_processed_by_a_real_worker_into_an_entity(celery_worker_thread):
    # Given alice's webhook that creates a client from each lead
    alice = make_persona("Alice Studio", "alice@example.com")
    with tenant_scope(alice.tenant.id):
        webhook, secret = services.incoming_create(tenant=alice.tenant, data={
            "name": "Leads",
            "actions": [{"type": "create_entity", "config": {
                "entityType": "client", "fieldMappings": {"name": "lead.name", "email": "lead.email"}}}],
        })
    body = json.dumps({"lead": {"name": "Noa", "email": "noa@example.com"}}).encode()
    # When the sender posts it (the request transaction commits for real)
    response = Client().generic("POST", f"/api/webhooks/tenant/{alice.tenant.id}/{webhook.id}", body,
                                content_type="application/json",
                                HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(secret, body))
    assert response.status_code == 202
    log_id = response.json()["logId"]

    # Then the worker processes the stored row and the client exists
    def done():
        with tenant_scope(alice.tenant.id):
            log = WebhookLog.objects.get(pk=log_id)
            return log if log.status != "pending" else None

    log = wait_for(done)
    with tenant_scope(alice.tenant.id):
        client = ClientEntity.objects.get()
        webhook = IncomingWebhook.objects.get(pk=webhook.pk)
    assert log.status == "success"
    assert log.result["actions"][0]["entityId"] == str(client.id)
    assert (client.name, client.email) == ("Noa", "noa@example.com")
    assert webhook.total_received == 1
