"""Webhook helpers shared by the incoming and outgoing tests: the one ``make_webhook``
(an incoming webhook), sending to and processing an incoming webhook, an outgoing
webhook on meeting.created, and the Standard Webhooks published vectors (once)."""

from __future__ import annotations

import json

from django.test import Client

from core.tenant_context import tenant_scope
from webhooks.incoming import services as incoming_services
from webhooks.models import IncomingWebhook, OutgoingWebhook, WebhookLog
from webhooks.outgoing import services as outgoing_services
from webhooks.signing import hex_hmac_sha256

# --------------------------------------------------------------------------- incoming

#: The default actions of :func:`make_webhook`: record the request as an automation run.
RECORD_ACTIONS = [{"type": "trigger_automation", "config": {"automationId": "record"}}]
LEAD = {"lead": {"name": "Dana Levi", "email": "dana@example.com", "kind": "client"}, "source": "site"}
CREATE_CLIENT = {"type": "create_entity",
                 "config": {"entityType": "client", "fieldMappings": {"name": "lead.name", "email": "lead.email"}}}
#: A lead's name becomes a client (the fault suite's incoming load).
LEADS_ACTIONS = [{"type": "create_entity", "config": {"entityType": "client", "fieldMappings": {"name": "lead.name"}}}]


def make_webhook(persona, **data) -> tuple[IncomingWebhook, str]:
    """An incoming webhook named Hook (``data`` overrides any field; actions default to
    :data:`RECORD_ACTIONS`) and its secret."""
    with tenant_scope(persona.tenant.id):
        return incoming_services.incoming_create(
            tenant=persona.tenant, data={"name": "Hook", "actions": RECORD_ACTIONS, **data}
        )


def path_of(webhook: IncomingWebhook) -> str:
    return f"/api/webhooks/tenant/{webhook.tenant_id}/{webhook.id}"


def post(path: str, body: bytes, content_type: str = "application/json", **headers):
    return Client().generic("POST", path, body, content_type=content_type, **headers)


def logs_of(persona) -> list[WebhookLog]:
    with tenant_scope(persona.tenant.id):
        return list(WebhookLog.objects.filter(direction="incoming").order_by("timestamp"))


def deliver(webhook: IncomingWebhook, secret: str, payload=LEAD, **headers) -> str:
    """POST ``payload`` signed with hex HMAC to the webhook's public URL; the stored log's id."""
    body = json.dumps(payload).encode()
    response = Client().generic("POST", path_of(webhook), body, content_type="application/json",
                                HTTP_X_WEBHOOK_SIGNATURE=hex_hmac_sha256(secret, body), **headers)
    assert response.status_code == 202, response.content
    return response.json()["logId"]


def process(persona, log_id: str) -> WebhookLog:
    """Run the real task body (as the worker does) and return the log."""
    from webhooks.incoming.tasks import process_incoming_log

    process_incoming_log(log_id, str(persona.tenant.id))
    with tenant_scope(persona.tenant.id):
        return WebhookLog.objects.get(pk=log_id)


# --------------------------------------------------------------------------- outgoing


def create_outgoing_webhook(persona, url: str, **extra) -> OutgoingWebhook:
    """A webhook named CRM on meeting.created (``extra`` overrides any field)."""
    data = {"name": "CRM", "url": url, "triggers": [{"entityType": "meeting", "events": ["created"]}], **extra}
    with tenant_scope(persona.tenant.id):
        return outgoing_services.outgoing_webhook_create(tenant=persona.tenant, data=data)


# --------------------------------------------------------------------------- Standard Webhooks vectors

# The official vectors, copied from the published Standard Webhooks test suites.
VECTOR_A = {
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "msg_id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "timestamp": 1614265330,
    "body": b'{"test": 2432232314}',
    "expected": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}
VECTOR_B = {
    "secret": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
    "msg_id": "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
    "timestamp": 1649367553,
    "body": b'{"email":"test@example.com","username":"test_user"}',
    "expected": "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
}
STANDARD_VECTORS = [VECTOR_A, VECTOR_B]
