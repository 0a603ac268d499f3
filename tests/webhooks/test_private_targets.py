"""Private and metadata targets are refused where a tenant types the address (issue 13
item 4): the provider client's tenant-entered server URLs, and an outgoing webhook's
target checked again at send time with WEBHOOKS_ALLOW_PRIVATE_TARGETS off (the rest
of the suite runs with it on). A real local receiver listens behind each refused
address, so a broken check shows up as a request that arrived."""

from __future__ import annotations

import pytest

from core.tenant_context import tenant_scope
from integrations.client import Connection, ProviderClient, ProviderError
from integrations.providers.catalog import get_provider
from tests.support.internal_dns import INTERNAL_HOST
from tests.support.receiver import Plan, Receiver
from webhooks.models import OutgoingWebhook, WebhookLog
from webhooks.outgoing import services

pytestmark = pytest.mark.django_db


def _custom_api_client(alice, base_url: str) -> ProviderClient:
    connection = Connection(provider=get_provider("custom_api"), tenant_id=str(alice.tenant.id),
                            values={"baseUrl": base_url, "apiKey": "k-123", "authHeader": "Authorization"})
    return ProviderClient(connection, sleep=lambda s: None)


# --- the provider client ---------------------------------------------------------

@pytest.mark.parametrize("base_url", ["http://169.254.169.254/latest", "http://metadata.google.internal/computeMetadata",
                                      "http://[fd00:ec2::254]/"])
def test_client_refuses_metadata_servers_even_when_private_targets_are_allowed(alice, settings, base_url):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True

    with pytest.raises(ProviderError) as caught:
        _custom_api_client(alice, base_url).request("POST", "/v1/items", json={})

    assert caught.value.kind == "refused"
    assert str(caught.value).startswith("refused to call that server:")


@pytest.mark.parametrize("how", ["ip", "hostname"])
def test_client_refuses_a_private_server_url_when_private_targets_are_off(alice, settings, internal_dns, how):
    with Receiver(default=Plan(status=200, body=b"{}")) as rx:
        port = rx.url.split(":")[2].split("/")[0]
        base_url = f"http://127.0.0.1:{port}" if how == "ip" else f"http://{INTERNAL_HOST}:{port}"

        settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True  # control: the same URL is reachable when allowed
        assert _custom_api_client(alice, base_url).request("POST", "/v1/items", json={}).status == 200
        assert len(rx.requests) == 1

        settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
        with pytest.raises(ProviderError) as caught:
            _custom_api_client(alice, base_url).request("POST", "/v1/items", json={})

        assert caught.value.kind == "refused"
        assert "loopback" in str(caught.value)
        assert len(rx.requests) == 1  # the call is refused before connecting (synchronous)


# --- outgoing webhooks at send time -----------------------------------------------

def test_send_time_check_refuses_a_name_that_resolves_to_a_private_address(alice, alice_api, settings, internal_dns):
    """The URL passes the create-time check (a public-looking name); what it resolves to
    when the hub sends is refused with WEBHOOKS_ALLOW_PRIVATE_TARGETS off."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    with Receiver(default=Plan(status=200, body=b"{}")) as rx:
        port = rx.url.split(":")[2].split("/")[0]
        created = alice_api.post("/api/webhooks/outgoing", {
            "name": "internal", "url": f"http://{INTERNAL_HOST}:{port}/in",
            "triggers": [{"entityType": "meeting", "events": ["created"]}],
        }, format="json")
        assert created.status_code == 201, created.content
        with tenant_scope(alice.tenant.id):
            webhook = OutgoingWebhook.objects.get(pk=created.json()["id"])

        row, result = services.webhook_test_send(webhook=webhook)

        assert (result.error_kind, result.status) == ("refused", None)
        assert result.error.startswith("refused: loopback")
        assert rx.requests == []  # nothing reached the receiver
        with tenant_scope(alice.tenant.id):
            stored = WebhookLog.objects.get(pk=row.pk)
        assert stored.status == WebhookLog.Status.FAILED
        assert "loopback" in (stored.error_message or "")

        settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True  # control: the same webhook, allowed, arrives
        _, allowed = services.webhook_test_send(webhook=webhook)
        assert allowed.status == 200 and len(rx.requests) == 1
