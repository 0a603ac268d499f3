"""WebhookLog kinds by name (issue 12 item 6): TextChoices and the queryset methods."""

from __future__ import annotations

import uuid

from django.utils import translation

from core.tenant_context import tenant_scope
from webhooks.models import WebhookLog


def _row(persona, webhook_type: str, direction: str) -> WebhookLog:
    return WebhookLog.objects.create(
        tenant=persona.tenant, webhook_id=uuid.uuid4(), webhook_type=webhook_type, direction=direction,
        method="POST", url="/x", status="success",
    )


def test_each_kind_is_found_by_its_queryset_method(alice):
    with tenant_scope(alice.tenant.id):
        request = _row(alice, "incoming", "incoming")
        attempt = _row(alice, "outgoing", "outgoing")
        forward = _row(alice, "incoming", "outgoing")
        assert list(WebhookLog.objects.incoming_requests()) == [request]
        assert list(WebhookLog.objects.outgoing_attempts()) == [attempt]
        assert list(WebhookLog.objects.forward_attempts()) == [forward]
        assert set(WebhookLog.objects.sent()) == {attempt, forward}
        # the methods chain with other filters both ways
        assert list(WebhookLog.objects.filter(pk=forward.pk).forward_attempts()) == [forward]
        assert not WebhookLog.objects.outgoing_attempts().filter(pk=forward.pk).exists()


def test_stored_values_are_the_seed_strings():
    assert WebhookLog.Type.INCOMING == "incoming" and WebhookLog.Type.OUTGOING == "outgoing"
    assert WebhookLog.Direction.INCOMING == "incoming" and WebhookLog.Direction.OUTGOING == "outgoing"
    with translation.override("en"):  # the labels are translated (Hebrew in the admin); the values are the seed's
        assert {k: str(v) for k, v in WebhookLog._meta.get_field("direction").choices} == {
            "incoming": "Incoming", "outgoing": "Outgoing"}
