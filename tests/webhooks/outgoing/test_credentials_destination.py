"""Stored credentials do not follow a changed destination (issue 10 item 5).

A credential header is answered masked (``[redacted]``); echoing the mask back keeps the
stored value only while the target's origin (scheme, host, port) stays the same. Once the
origin changes, the caller must send the real value again (or drop the header)."""

from __future__ import annotations

import pytest

from core.tenant_context import tenant_scope
from webhooks.models import IncomingWebhook, OutgoingWebhook

pytestmark = pytest.mark.django_db

TRIGGERS = [{"entityType": "meeting", "events": ["created"]}]
MASK = "[redacted]"


def _outgoing(api, url="https://crm.example.org/in"):
    created = api.post("/api/webhooks/outgoing", {"name": "CRM", "url": url, "triggers": TRIGGERS,
                                                  "headers": {"Authorization": "Bearer tok-123", "X-Team": "a"}},
                       format="json")
    assert created.status_code == 201, created.content
    return created.json()


def _stored_authorization(persona, wid) -> str | None:
    with tenant_scope(persona.tenant.id):
        webhook = OutgoingWebhook.objects.get(pk=wid)
    value = (webhook.headers or {}).get("Authorization")
    return webhook.open_value("headers", "Authorization", value) if value else None


@pytest.mark.parametrize("new_url", [
    "https://attacker.example.net/in",  # another host
    "http://crm.example.org/in",  # another scheme
    "https://crm.example.org:8443/in",  # another port
])
def test_masked_header_with_a_new_origin_is_refused_naming_the_header(alice, alice_api, new_url):
    created = _outgoing(alice_api)
    assert created["headers"]["Authorization"] == MASK

    response = alice_api.patch(f"/api/webhooks/outgoing/{created['id']}",
                               {"url": new_url, "headers": created["headers"]}, format="json")

    assert response.status_code == 400, response.content
    [message] = response.json()["error"]["fields"]["headers"]
    assert "Authorization" in message and "origin" in message
    with tenant_scope(alice.tenant.id):
        assert OutgoingWebhook.objects.get(pk=created["id"]).url == "https://crm.example.org/in"


def test_new_origin_without_resending_the_headers_is_refused_too(alice, alice_api):
    created = _outgoing(alice_api)

    response = alice_api.patch(f"/api/webhooks/outgoing/{created['id']}",
                               {"url": "https://attacker.example.net/in"}, format="json")

    assert response.status_code == 400
    assert "Authorization" in response.json()["error"]["fields"]["headers"][0]


def test_new_origin_with_the_value_sent_again_is_accepted(alice, alice_api):
    created = _outgoing(alice_api)

    response = alice_api.patch(f"/api/webhooks/outgoing/{created['id']}",
                               {"url": "https://new-crm.example.org/in",
                                "headers": {"Authorization": "Bearer tok-new", "X-Team": "a"}}, format="json")

    assert response.status_code == 200, response.content
    assert _stored_authorization(alice, created["id"]) == "Bearer tok-new"


def test_new_origin_dropping_the_credential_is_accepted(alice, alice_api):
    created = _outgoing(alice_api)

    response = alice_api.patch(f"/api/webhooks/outgoing/{created['id']}",
                               {"url": "https://new-crm.example.org/in", "headers": {"X-Team": "a"}}, format="json")

    assert response.status_code == 200, response.content
    assert _stored_authorization(alice, created["id"]) is None


def test_same_origin_keeps_the_stored_value_behind_the_mask(alice, alice_api):
    created = _outgoing(alice_api)

    response = alice_api.patch(f"/api/webhooks/outgoing/{created['id']}",
                               {"url": "https://CRM.example.org:443/other/path?x=1", "headers": created["headers"]},
                               format="json")

    assert response.status_code == 200, response.content
    assert _stored_authorization(alice, created["id"]) == "Bearer tok-123"


# --------------------------------------------------------------------------- forward actions


def _forward(url, headers):
    return [{"type": "forward", "config": {"forwardUrl": url, "forwardHeaders": headers}}]


def _incoming(api, url="https://crm.example.org/f"):
    response = api.post("/api/webhooks/incoming",
                        {"name": "Fwd", "actions": _forward(url, {"Authorization": "Bearer fw-1", "X-Team": "ops"})},
                        format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_forward_masked_header_with_a_new_origin_is_refused_naming_the_header(alice, alice_api):
    created = _incoming(alice_api)
    shown = created["actions"][0]["config"]["forwardHeaders"]
    assert shown["Authorization"] == MASK

    response = alice_api.patch(f"/api/webhooks/incoming/{created['id']}",
                               {"actions": _forward("https://attacker.example.net/f", shown)}, format="json")

    assert response.status_code == 400, response.content
    fields = response.json()["error"]["fields"]
    assert list(fields) == ["actions[0].config.forwardHeaders.Authorization"]
    assert "origin" in fields["actions[0].config.forwardHeaders.Authorization"][0]
    with tenant_scope(alice.tenant.id):
        stored = IncomingWebhook.objects.get(pk=created["id"])
    assert stored.actions[0]["config"]["forwardUrl"] == "https://crm.example.org/f"


def test_forward_same_origin_keeps_and_new_value_replaces(alice, alice_api):
    created = _incoming(alice_api)
    shown = created["actions"][0]["config"]["forwardHeaders"]

    same = alice_api.patch(f"/api/webhooks/incoming/{created['id']}",
                           {"actions": _forward("https://crm.example.org/other", shown)}, format="json")
    assert same.status_code == 200, same.content
    moved = alice_api.patch(f"/api/webhooks/incoming/{created['id']}",
                            {"actions": _forward("https://new.example.org/f", {"Authorization": "Bearer fw-2"})},
                            format="json")
    assert moved.status_code == 200, moved.content

    with tenant_scope(alice.tenant.id):
        stored = IncomingWebhook.objects.get(pk=created["id"])
    assert stored.opened_headers(stored.actions[0]["config"]["forwardHeaders"]) == {"Authorization": "Bearer fw-2"}
