"""The ``message`` entity stand-in (issue 16 item 2): CRUD at /api/messages with ``from`` / ``to``
on the wire, its entity events, a client link of the caller's tenant only, bad input a 400."""

from __future__ import annotations

import pytest

from core.tenant_context import operator_scope
from entities.models import EntityEvent

pytestmark = pytest.mark.django_db

MESSAGE = {"channel": "whatsapp", "direction": "inbound", "from": "+972501234567", "to": "+15550001111",
           "body": "שלום, מתי הפגישה?", "status": "received"}


@pytest.mark.django_db(transaction=True)  # operator_scope reads on its own connection
def test_message_crud_with_client_link_and_events(alice_api):
    client_id = alice_api.post("/api/clients", {"name": "Dana", "phone": "050-1234567"}, format="json").json()["id"]
    created = alice_api.post("/api/messages", {**MESSAGE, "clientId": client_id}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert {k: body[k] for k in ("channel", "direction", "from", "to", "body", "status", "clientId")} == {
        **MESSAGE, "clientId": client_id}
    assert "fromAddress" not in body and "toAddress" not in body
    message_id = body["id"]
    listed = alice_api.get("/api/messages?status=received").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == message_id
    patched = alice_api.patch(f"/api/messages/{message_id}", {"status": "read"}, format="json")
    assert patched.status_code == 200 and patched.json()["status"] == "read"
    assert alice_api.delete(f"/api/messages/{message_id}").status_code == 204
    with operator_scope("test"):
        events = list(EntityEvent.objects.filter(entity_id=message_id).order_by("created_at")
                      .values_list("entity_type", "event", "new_status"))
    assert events == [("message", "created", "received"), ("message", "updated", "read"),
                      ("message", "status_changed", "read"), ("message", "deleted", None)]


@pytest.mark.parametrize("payload,field", [
    ({**MESSAGE, "channel": "fax"}, "channel"),
    ({**MESSAGE, "direction": "sideways"}, "direction"),
    ({k: v for k, v in MESSAGE.items() if k != "to"}, "to"),
    ({**MESSAGE, "to": ""}, "to"),
    ({**MESSAGE, "status": "lost"}, "status"),
    ({**MESSAGE, "body": 5}, "body"),
])
def test_invalid_message_is_400_naming_the_field(alice_api, payload, field):
    response = alice_api.post("/api/messages", payload, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert alice_api.get("/api/messages").json()["count"] == 0


def test_message_cannot_link_another_tenants_client(alice_api, bob_api):
    client_id = alice_api.post("/api/clients", {"name": "A"}, format="json").json()["id"]
    response = bob_api.post("/api/messages", {**MESSAGE, "clientId": client_id}, format="json")
    assert response.status_code == 400 and "clientId" in response.json()["error"]["fields"]

