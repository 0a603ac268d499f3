"""Contract C4/C5: entity stand-ins CRUD, camelCase, pagination, isolation, events."""

from __future__ import annotations

import pytest

from core.tenant_context import operator_scope
from entities.models import ENTITY_TYPES, EntityEvent
from tests.support.factories import make_meeting

pytestmark = pytest.mark.django_db

MEETING = {
    "title": "פגישת היכרות",
    "description": "Line 1\nLine \"2\"",
    "startTime": "2026-12-01T10:00:00+02:00",
    "endTime": "2026-12-01T11:00:00+02:00",
    "location": "Tel Aviv",
    "attendees": [{"email": "client@example.com", "name": "Dana"}],
}


def _events(entity_id) -> list[tuple[str, str | None, str | None]]:
    with operator_scope("test"):
        rows = EntityEvent.objects.filter(entity_id=entity_id).order_by("created_at")
        return [(e.event, e.old_status, e.new_status) for e in rows]


@pytest.mark.django_db(transaction=True)  # operator_scope reads on its own connection
def test_meeting_crud_in_camel_case_with_events(alice_api):
    created = alice_api.post("/api/meetings", MEETING, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert set(body) >= {"id", "tenantId", "title", "startTime", "endTime", "attendees", "externalIds", "createdAt"}
    assert body["startTime"] == "2026-12-01T10:00:00+02:00"
    meeting_id = body["id"]

    patched = alice_api.patch(f"/api/meetings/{meeting_id}", {"status": "cancelled"}, format="json")
    assert patched.status_code == 200 and patched.json()["status"] == "cancelled"
    assert alice_api.get(f"/api/meetings/{meeting_id}/").status_code == 200  # slash variant
    assert alice_api.delete(f"/api/meetings/{meeting_id}").status_code == 204
    assert alice_api.get(f"/api/meetings/{meeting_id}").status_code == 404
    assert _events(meeting_id) == [
        ("created", None, "scheduled"),
        ("updated", "scheduled", "cancelled"),
        ("status_changed", "scheduled", "cancelled"),
        ("deleted", "cancelled", None),
    ]


@pytest.mark.parametrize(
    "path,payload",
    [
        ("/api/tasks", {"title": "Draw plans", "dueDate": "2026-12-05T09:00:00Z", "priority": "high"}),
        ("/api/documents", {"name": "plan.pdf", "mimeType": "application/pdf", "sizeBytes": 1024}),
        ("/api/clients", {"name": "משפחת כהן", "email": "cohen@example.com", "externalIds": {"hubspot": "123"}}),
        ("/api/suppliers", {"name": "Stone Ltd", "category": "materials"}),
        ("/api/payments", {"amount": "1500.50", "currency": "ils", "dueDate": "2026-12-31"}),
        ("/api/expenses", {"amount": "99.90", "category": "travel"}),
    ],
)
def test_every_entity_type_has_crud(alice_api, path, payload):
    created = alice_api.post(path, payload, format="json")
    assert created.status_code == 201, created.json()
    entity_id = created.json()["id"]
    listed = alice_api.get(path).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == entity_id
    assert alice_api.delete(f"{path}/{entity_id}").status_code == 204


def test_entity_types_are_the_eight_singulars():
    # issue 16 added ``message`` (WhatsApp / SMS / email to and from clients)
    assert ENTITY_TYPES == ("meeting", "task", "document", "payment", "expense", "client", "supplier", "message")


def test_other_tenants_meeting_is_404_everywhere(alice, bob_api):
    meeting = make_meeting(alice.tenant, "Alice only")
    for method in ("get", "patch", "delete"):
        response = getattr(bob_api, method)(f"/api/meetings/{meeting.id}", {}, format="json", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 404
        assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}
        # the same answer in the hub's first language, Hebrew (the default)
        response = getattr(bob_api, method)(f"/api/meetings/{meeting.id}", {}, format="json")
        assert response.status_code == 404
        assert response.json() == {"error": {"code": "not_found", "message": "לא נמצא."}}
    assert bob_api.get("/api/meetings").json()["count"] == 0


def test_payment_cannot_reference_another_tenants_client(alice_api, bob_api):
    client_id = alice_api.post("/api/clients", {"name": "A"}, format="json").json()["id"]
    response = bob_api.post("/api/payments", {"amount": "1", "clientId": client_id}, format="json")
    assert response.status_code == 400
    assert "clientId" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"title": "x"}, "startTime"),
        ({**MEETING, "endTime": "2026-12-01T09:00:00+02:00"}, "endTime"),
        ({**MEETING, "startTime": "yesterday"}, "startTime"),
        ({**MEETING, "attendees": "everyone"}, "attendees"),
        ({**MEETING, "title": "x" * 301}, "title"),
        ({**MEETING, "externalIds": ["a"]}, "externalIds"),
    ],
)
def test_invalid_meeting_is_400_with_fields_and_changes_nothing(alice_api, payload, field):
    response = alice_api.post("/api/meetings", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert alice_api.get("/api/meetings").json()["count"] == 0


def test_malformed_json_and_bad_pagination_are_400(alice_api):
    response = alice_api.generic("POST", "/api/meetings", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "parse_error"
    assert alice_api.get("/api/meetings?page=0").status_code == 400
    assert alice_api.get("/api/meetings?pageSize=1000").status_code == 400
    assert alice_api.get("/api/meetings?status=bogus").status_code == 400
    assert alice_api.get("/api/meetings/not-a-uuid").status_code == 404


def test_pagination_links(alice, alice_api):
    for i in range(3):
        make_meeting(alice.tenant, f"m{i}")
    page = alice_api.get("/api/meetings?pageSize=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2
    assert page["next"].endswith("/api/meetings?page=2&pageSize=2") and page["previous"] is None
