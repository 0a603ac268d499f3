"""No amplification (issue 10 item 4): a small template times a large entity cannot grow
memory or bodies without bound. Rendering stops as soon as the output passes the body
limit, templates have a placeholder cap, and entity fields have maximum sizes."""

from __future__ import annotations

import datetime as dt
import json
import tracemalloc

import pytest
from django.utils import timezone

from core.tenant_context import tenant_scope
from entities.models import EntityEvent
from tests.support.factories import create_meeting
from webhooks.models import OutgoingWebhook, WebhookLog
from webhooks.outgoing import services
from webhooks.templating import BodyTooLarge, render_template, validate_template

pytestmark = pytest.mark.django_db

TRIGGERS = [{"entityType": "meeting", "events": ["created"]}]


def _many(n: int, path: str = "entity.description", *, bare: bool = False) -> str:
    one = f"{{{{{path}}}}}" if bare else f'"{{{{{path}}}}}"'
    return "[" + ",".join(one for _ in range(n)) + "]"


def _context(**entity):
    return {"entity": entity, "event": "created"}


# --------------------------------------------------------------------------- the renderer


def test_rendering_stops_as_soon_as_the_output_passes_the_limit():
    # 400 copies of a 50,000-character field would be 20 MB; the limit is 64 KiB
    template, big = _many(400), "x" * 50_000
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge) as caught:
            render_template(template, _context(description=big), max_bytes=65536)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "65536" in str(caught.value)
    assert peak < 1_000_000  # a few copies of the field at most, never the 20 MB body


def test_a_body_at_the_limit_renders():
    out = render_template('{"d": "{{entity.description}}"}', _context(description="x" * 100), max_bytes=109)
    assert len(out.encode()) == 109


def test_placeholder_cap_is_checked_with_the_template():
    assert validate_template(_many(500, "event")) == []
    [problem] = validate_template(_many(501, "event"))
    assert "501 placeholders" in problem and "500" in problem


def test_placeholder_cap_follows_the_setting(alice_api, settings):
    settings.WEBHOOK_TEMPLATE_MAX_PLACEHOLDERS = 10
    response = alice_api.post("/api/webhooks/outgoing", {"name": "T", "url": "https://crm.example.org/x",
                                                         "triggers": TRIGGERS, "payloadTemplate": _many(11, "event")},
                              format="json")
    assert response.status_code == 400
    assert "11 placeholders" in response.json()["error"]["fields"]["payloadTemplate"][0]


# --------------------------------------------------------------------------- API


def test_create_with_too_many_placeholders_is_a_400(alice, alice_api):
    response = alice_api.post("/api/webhooks/outgoing", {"name": "T", "url": "https://crm.example.org/x",
                                                         "triggers": TRIGGERS, "payloadTemplate": _many(501, "event")},
                              format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "placeholders" in response.json()["error"]["fields"]["payloadTemplate"][0]
    with tenant_scope(alice.tenant.id):
        assert OutgoingWebhook.objects.count() == 0


def test_preview_of_an_oversized_body_is_a_clear_400(alice_api, settings):
    settings.OUTGOING_WEBHOOK_MAX_BODY_BYTES = 200_000
    response = alice_api.post("/api/webhooks/outgoing/preview",
                              {"payloadTemplate": _many(100), "entity": {"description": "y" * 100_000}}, format="json")

    assert response.status_code == 400, response.status_code
    error = response.json()["error"]
    assert "200000 bytes" in error["fields"]["payloadTemplate"][0]
    assert len(response.content) < 2000


# --------------------------------------------------------------------------- delivery


def _webhook_and_event(persona, template: str, description: str):
    with tenant_scope(persona.tenant.id):
        webhook = services.outgoing_webhook_create(tenant=persona.tenant, data={
            "name": "CRM", "url": "https://crm.example.org/in", "triggers": TRIGGERS})
        # Stored directly, as a row saved before the limits existed would be
        OutgoingWebhook.objects.filter(pk=webhook.pk).update(payload_template=template)
        webhook.refresh_from_db()
    meeting = create_meeting(persona)
    with tenant_scope(persona.tenant.id):
        EntityEvent.objects.filter(entity_id=meeting.id).update(data={"title": "t", "description": description})
        return webhook, EntityEvent.objects.get(entity_id=meeting.id, event="created")


def _attempt(persona, event) -> WebhookLog:
    with tenant_scope(persona.tenant.id):
        services.deliveries_create_for_event(event=event)
        return WebhookLog.objects.get(entity_event_id=event.id)


def test_legacy_template_with_5000_placeholders_fails_the_attempt_without_a_body(alice):
    template = _many(5000, "entity", bare=True)  # 55 KB: under the size cap, over the placeholder cap
    _webhook, event = _webhook_and_event(alice, template, "z" * 20_000)  # 100 MB if rendered
    tracemalloc.start()
    try:
        row = _attempt(alice, event)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert row.status == "failed" and row.next_retry_at is None
    assert "5000 placeholders" in row.error_message
    assert row.body_text is None and row.body is None
    assert peak < 5_000_000


def test_delivery_over_the_body_limit_is_a_failed_attempt_body_too_large(alice, settings):
    settings.OUTGOING_WEBHOOK_MAX_BODY_BYTES = 100_000
    _webhook, event = _webhook_and_event(alice, _many(400), "w" * 50_000)  # 20 MB if rendered

    row = _attempt(alice, event)

    assert row.status == "failed" and "body too large" in row.error_message
    assert row.body_text is None


# --------------------------------------------------------------------------- entity fields


def _meeting(**extra):
    start = timezone.now() + dt.timedelta(days=1)
    return {"title": "Visit", "startTime": start.isoformat(), "endTime": (start + dt.timedelta(hours=1)).isoformat(),
            **extra}


@pytest.mark.parametrize(("extra", "field"), [
    ({"title": "t" * 501}, "title"),
    ({"description": "d" * 50_001}, "description"),
    ({"attendees": [{"email": f"a{i}@example.com", "note": "n" * 200} for i in range(400)]}, "attendees"),
])
def test_oversized_entity_fields_are_a_400_with_fields(alice, alice_api, extra, field):
    response = alice_api.post("/api/meetings", _meeting(**extra), format="json")

    assert response.status_code == 400, response.status_code
    assert field in response.json()["error"]["fields"]


def test_json_fields_are_capped_at_64_kib_serialized(alice_api):
    from entities.serializers import json_size

    attendees = [{"email": f"a{i}@example.com", "name": "n" * 200} for i in range(250)]
    assert 55_000 < json_size(attendees) < 60_000
    assert alice_api.post("/api/meetings", _meeting(attendees=attendees), format="json").status_code == 201
    attendees.append({"email": "last@example.com", "name": "n" * 8000})
    assert json_size(attendees) > 65536
    response = alice_api.post("/api/meetings", _meeting(attendees=attendees), format="json")
    assert response.status_code == 400
    assert "65536" in response.json()["error"]["fields"]["attendees"][0]


@pytest.mark.parametrize("entity", ["tasks", "documents"])
def test_long_descriptions_are_refused_on_every_entity(alice_api, entity):
    body = {"title": "t", "name": "n", "description": "d" * 50_001}
    response = alice_api.post(f"/api/{entity}", body, format="json")
    assert response.status_code == 400
    assert "description" in response.json()["error"]["fields"]


def test_test_send_of_an_oversized_body_is_a_400_and_sends_nothing(alice, alice_api, settings):
    settings.OUTGOING_WEBHOOK_MAX_BODY_BYTES = 50_000
    wid = alice_api.post("/api/webhooks/outgoing", {"name": "T", "url": "https://crm.example.org/x", "triggers": TRIGGERS,
                                                    "payloadTemplate": _many(100, "entity.note")}, format="json").json()["id"]

    response = alice_api.post(f"/api/webhooks/{wid}/test", {"payload": {"note": "n" * 10_000}}, format="json")

    assert response.status_code == 400
    assert "body too large" in json.dumps(response.json()["error"])
    with tenant_scope(alice.tenant.id):
        assert not WebhookLog.objects.filter(webhook_id=wid).exists()


def test_a_body_too_large_attempt_is_said_in_the_readers_language(alice, alice_api, settings):
    # issue 14 item 6: the log keeps the English sentence; the API's errorText and the detail page say it in Hebrew
    from django.test import Client

    settings.OUTGOING_WEBHOOK_MAX_BODY_BYTES = 100_000
    webhook, event = _webhook_and_event(alice, _many(400), "w" * 50_000)
    row = _attempt(alice, event)
    english = "payload could not be rendered: the rendered body is larger than 100000 bytes (body too large)"
    hebrew = "לא ניתן היה להרכיב את גוף הבקשה: הגוף שהורכב גדול מ-100000 בתים (גוף גדול מדי)"
    assert row.error_message == english

    he_row = alice_api.get(f"/api/webhooks/{webhook.pk}/logs", HTTP_ACCEPT_LANGUAGE="he").json()["results"][0]
    en_row = alice_api.get(f"/api/webhooks/{webhook.pk}/logs", HTTP_ACCEPT_LANGUAGE="en").json()["results"][0]
    assert he_row["errorMessage"] == en_row["errorMessage"] == english
    assert he_row["errorText"] == hebrew
    assert en_row["errorText"] == english

    web = Client()
    web.force_login(alice.user)
    he_page = web.get(f"/webhooks/logs/{row.pk}", HTTP_ACCEPT_LANGUAGE="he").content.decode()
    en_page = web.get(f"/webhooks/logs/{row.pk}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert hebrew in he_page and "could not be rendered" not in he_page and "body too large" not in he_page
    assert english in en_page


def test_a_template_that_fails_to_render_is_said_in_the_readers_language(alice, alice_api):
    webhook, event = _webhook_and_event(alice, _many(5000, "entity", bare=True), "z")
    row = _attempt(alice, event)
    assert row.error_message.startswith("payload could not be rendered: ")
    detail = row.error_message.removeprefix("payload could not be rendered: ")
    he_row = alice_api.get(f"/api/webhooks/{webhook.pk}/logs", HTTP_ACCEPT_LANGUAGE="he").json()["results"][0]
    assert he_row["errorText"] == f"לא ניתן היה להרכיב את גוף הבקשה: {detail}"
    assert "could not be rendered" not in he_row["errorText"]
