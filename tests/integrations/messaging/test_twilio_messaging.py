"""Twilio SMS through the messaging rules (issue 16 items 1, 2, 6).

Provider answers are shaped as Twilio documents them: the Message resource's create answer
(https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource: 201,
``sid`` "SM...", ``status`` "queued"), its error body ``{"code", "message", "more_info",
"status"}`` (https://www.twilio.com/docs/api/errors/21211, /20003, /20429), the status
callback's form fields (https://www.twilio.com/docs/messaging/guides/track-outbound-message-status:
``MessageSid``, ``MessageStatus``, ``AccountSid``, ``ErrorCode``) and the inbound message
webhook's (https://www.twilio.com/docs/messaging/guides/webhook-request: ``MessageSid``,
``From``, ``To``, ``Body``, ``SmsStatus``). The request the hub sends is compared with the one
the ``twilio`` SDK sends for the same message, and callbacks are signed with the SDK's
``RequestValidator``.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlencode

import pytest
import responses
from django.conf import settings
from django.utils import timezone
from twilio.request_validator import RequestValidator
from twilio.rest import Client as TwilioSDK

from core.tenant_context import tenant_scope
from entities.models import Client
from entities.services import entity_create, entity_update
from integrations.models import Integration, MessageDispatch, MessageOptOut
from tests.support.messaging import CREDENTIALS, connect_messaging, deliver, dispatches, log_lines, messages

pytestmark = pytest.mark.django_db

SID = CREDENTIALS["twilio"]["accountSid"]
TOKEN = CREDENTIALS["twilio"]["authToken"]
MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
RULE = {"id": "meeting-reminder", "entityType": "meeting", "minutesBefore": 60, "recipients": "attendees",
        "body": "תזכורת: {{entity.title}} ב-{{entity.startTime}}"}


def _created(sid: str = "SM" + "a" * 32) -> dict:
    return {"account_sid": SID, "api_version": "2010-04-01", "body": "...", "date_created": None,
            "direction": "outbound-api", "error_code": None, "error_message": None, "from": "+15005550006",
            "messaging_service_sid": None, "num_media": "0", "num_segments": "1", "price": None,
            "sid": sid, "status": "queued", "to": "+972501234567",
            "uri": f"/2010-04-01/Accounts/{SID}/Messages/{sid}.json"}


def _meeting(persona, title="Site visit", minutes_ahead=30, attendees=None):
    start = timezone.now() + timedelta(minutes=minutes_ahead)
    with tenant_scope(persona.tenant.id):
        return entity_create(tenant=persona.tenant, entity_type="meeting", data={
            "title": title, "start_time": start.isoformat(), "end_time": (start + timedelta(hours=1)).isoformat(),
            "attendees": attendees if attendees is not None else [{"email": "dana@example.com", "phone": "050-1234567"}]})


@pytest.fixture
def twilio_api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, MESSAGES_URL, json=_created(), status=201)
        yield rsps


def _sent_forms(rsps) -> list[dict[str, str]]:
    return [dict(parse_qsl(c.request.body)) for c in rsps.calls if c.request.url == MESSAGES_URL]


@pytest.mark.django_db(transaction=True)
def test_a_reminder_is_the_request_the_sdk_sends_and_a_message_record_and_a_log_line(alice, twilio_api):
    integration = connect_messaging(alice, "twilio", rules=[RULE], settings={"fromNumber": "+15005550006"})
    with tenant_scope(alice.tenant.id):
        dana = entity_create(tenant=alice.tenant, entity_type="client", data={"name": "Dana", "email": "dana@example.com"})
    meeting = _meeting(alice)

    assert deliver(alice) == 1

    [form] = _sent_forms(twilio_api)
    # the SDK's own request for the same message
    with responses.RequestsMock() as sdk:
        sdk.add(responses.POST, MESSAGES_URL, json=_created(), status=201)
        TwilioSDK(SID, TOKEN).messages.create(to="+972501234567", from_="+15005550006", body=form["Body"],
                                              status_callback=integration.webhook_url)
        expected = dict(parse_qsl(sdk.calls[0].request.body))
    assert form == expected
    assert form["Body"].startswith("תזכורת: Site visit ב-")
    assert twilio_api.calls[0].request.headers["Authorization"].startswith("Basic ")
    [message] = messages(alice)
    assert (message.channel, message.direction, message.from_address, message.to_address) == (
        "sms", "outbound", "+15005550006", "+972501234567")
    assert message.status == "sent" and message.external_ids == {"twilio": "SM" + "a" * 32}
    assert message.client_id == dana.pk  # linked by the attendee's email
    [line] = log_lines(integration)
    assert line.status == "success" and line.request_snapshot["message"]["entityId"] == str(meeting.pk)


@pytest.mark.django_db(transaction=True)
def test_the_same_event_twice_and_later_edits_send_one_message(alice, twilio_api):
    integration = connect_messaging(alice, "twilio", rules=[RULE], settings={"fromNumber": "+15005550006"})
    meeting = _meeting(alice)
    deliver(alice)
    with tenant_scope(alice.tenant.id):
        entity_update(instance=meeting, tenant=alice.tenant, data={"description": "bring samples"})
        entity_update(instance=meeting, tenant=alice.tenant, data={"location": "Haifa"})
    deliver(alice)
    # the outbox delivers an event again (a redelivery after a worker died): nothing new
    from entities.models import EntityEvent
    from integrations.messaging.rules import on_entity_events
    with tenant_scope(alice.tenant.id):
        on_entity_events(list(EntityEvent.objects.filter(entity_id=meeting.pk)))
    deliver(alice)

    assert len(_sent_forms(twilio_api)) == 1
    assert len(messages(alice)) == 1
    assert [d.status for d in dispatches(integration)] == ["sent"]


@pytest.mark.django_db(transaction=True)
def test_a_moved_meeting_is_a_new_reminder_and_a_cancelled_one_sends_none(alice, twilio_api):
    integration = connect_messaging(alice, "twilio", rules=[RULE], settings={"fromNumber": "+15005550006"})
    meeting = _meeting(alice, minutes_ahead=24 * 60)  # due tomorrow: nothing now
    deliver(alice)
    assert _sent_forms(twilio_api) == [] and [d.status for d in dispatches(integration)] == ["pending"]
    with tenant_scope(alice.tenant.id):
        new_start = timezone.now() + timedelta(minutes=20)
        entity_update(instance=meeting, tenant=alice.tenant, data={
            "start_time": new_start.isoformat(), "end_time": (new_start + timedelta(hours=1)).isoformat()})
    deliver(alice)
    assert len(_sent_forms(twilio_api)) == 1
    assert sorted(d.status for d in dispatches(integration)) == ["sent", "skipped"]

    other = _meeting(alice, title="Cancelled one", minutes_ahead=24 * 60)
    deliver(alice)
    with tenant_scope(alice.tenant.id):
        entity_update(instance=other, tenant=alice.tenant, data={"status": "cancelled"})
    deliver(alice)
    with tenant_scope(alice.tenant.id):
        assert MessageDispatch.objects.get(entity_id=other.pk).status == "skipped"


@pytest.mark.django_db(transaction=True)
def test_an_opted_out_recipient_gets_nothing_and_quiet_hours_postpone(alice, twilio_api):
    integration = connect_messaging(alice, "twilio", rules=[RULE], settings={"fromNumber": "+15005550006"})
    with tenant_scope(alice.tenant.id):
        MessageOptOut.objects.create(tenant=alice.tenant, channel="sms", address="+972501234567")
    _meeting(alice)
    deliver(alice)
    assert _sent_forms(twilio_api) == [] and messages(alice) == []

    now = timezone.now().astimezone(timezone.get_fixed_timezone(0))
    start = (now - timedelta(minutes=1)).strftime("%H:%M")
    end = (now + timedelta(minutes=2)).strftime("%H:%M")
    with tenant_scope(alice.tenant.id):
        integration.settings = {**integration.settings, "quietHours": {"start": start, "end": end, "timezone": "UTC"}}
        integration.save(update_fields=["settings"])
    _meeting(alice, title="Quiet", attendees=[{"phone": "+972521111111"}])
    deliver(alice)
    [skipped, quiet] = dispatches(integration)
    assert skipped.last_error == "the recipient opted out"
    assert quiet.status == "pending" and quiet.due_at > timezone.now() and _sent_forms(twilio_api) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("status,body,outcome", [
    (401, {"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003",
           "status": 401}, "expired"),
    (429, {"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429",
           "status": 429}, "retry"),
    (503, {"code": 20500, "message": "Service unavailable", "status": 503}, "retry"),
    (400, {"code": 21211, "message": "The 'To' number +972501234567 is not a valid phone number.",
           "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}, "failed"),
])
def test_error_mapping(alice, monkeypatch, status, body, outcome):
    monkeypatch.setattr("integrations.client.time.sleep", lambda s: None)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, MESSAGES_URL, json=body, status=status, headers={"Retry-After": "0"})
        integration = connect_messaging(alice, "twilio", rules=[RULE], settings={"fromNumber": "+15005550006"})
        _meeting(alice)
        deliver(alice)
    [row] = dispatches(integration)
    [line] = log_lines(integration)
    with tenant_scope(alice.tenant.id):
        integration.refresh_from_db()
    if outcome == "expired":
        assert integration.status == Integration.Status.EXPIRED and row.status == "pending"
        assert line.error_code == "provider_expired"
    elif outcome == "retry":
        assert integration.status == Integration.Status.CONNECTED
        assert row.status == "pending" and row.attempts == 1 and row.due_at > timezone.now() + timedelta(seconds=20)
        assert [m.status for m in messages(alice)] == ["queued"]
    else:
        assert row.status == "failed" and "21211" in row.last_error
        [message] = messages(alice)
        assert message.status == "failed" and "21211" in message.error
        assert line.status == "failed" and line.failed_items[0]["messageId"] == str(message.pk)


def _signed_post(api, integration, form: dict[str, str]):
    url = integration.webhook_url
    signature = RequestValidator(TOKEN).compute_signature(url, form)
    path = url[len(settings.PUBLIC_BASE_URL):]
    return api.post(path, data=urlencode(form), content_type="application/x-www-form-urlencoded",
                    HTTP_X_TWILIO_SIGNATURE=signature)


@pytest.mark.django_db(transaction=True)
def test_status_callbacks_move_the_message_forward_only_and_inbound_sms_is_linked_to_its_client(
        alice, api, twilio_api):
    integration = connect_messaging(alice, "twilio", rules=[RULE], settings={"fromNumber": "+15005550006"})
    _meeting(alice)
    deliver(alice)
    sid = "SM" + "a" * 32
    for status in ("sent", "delivered", "sent"):  # the late "sent" changes nothing
        response = _signed_post(api, integration, {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status,
                                                   "SmsStatus": status, "AccountSid": SID, "From": "+15005550006",
                                                   "To": "+972501234567", "ApiVersion": "2010-04-01"})
        assert response.status_code == 200, response.content
    [message] = messages(alice)
    assert message.status == "delivered"
    assert _signed_post(api, integration, {"MessageSid": sid, "MessageStatus": "read", "AccountSid": SID}
                        ).status_code == 200
    bad = api.post(integration.webhook_url[len(settings.PUBLIC_BASE_URL):], data=urlencode({
        "MessageSid": sid, "MessageStatus": "failed", "AccountSid": SID}),
        content_type="application/x-www-form-urlencoded", HTTP_X_TWILIO_SIGNATURE="bm90IGl0")
    assert bad.status_code == 401
    assert messages(alice)[0].status == "read"

    with tenant_scope(alice.tenant.id):
        dana = Client.objects.create(tenant=alice.tenant, name="Dana", phone="052-765 4321")
    inbound = {"ToCountry": "US", "SmsMessageSid": "SM" + "b" * 32, "NumMedia": "0", "SmsSid": "SM" + "b" * 32,
               "SmsStatus": "received", "Body": "אפשר להזיז את הפגישה?", "To": "+15005550006",
               "NumSegments": "1", "MessageSid": "SM" + "b" * 32, "AccountSid": SID, "From": "+972527654321",
               "ApiVersion": "2010-04-01"}
    assert _signed_post(api, integration, inbound).status_code == 200
    assert _signed_post(api, integration, inbound).status_code == 200  # redelivered: one record
    [received] = messages(alice, direction="inbound")
    assert (received.channel, received.from_address, received.body, received.status, received.client_id) == (
        "sms", "+972527654321", "אפשר להזיז את הפגישה?", "received", dana.pk)
    stop = {**inbound, "MessageSid": "SM" + "c" * 32, "SmsSid": "SM" + "c" * 32, "Body": "STOP"}
    assert _signed_post(api, integration, stop).status_code == 200
    with tenant_scope(alice.tenant.id):
        assert MessageOptOut.objects.filter(tenant=alice.tenant, channel="sms", address="+972527654321").exists()
    # one log line per callback: sent (already sent), delivered, sent (late), read, inbound, inbound again, STOP
    assert [line.summary["updated"] + line.summary["created"] for line in log_lines(integration, "webhook_received")
            ] == [0, 1, 0, 1, 1, 0, 1]


@pytest.mark.django_db(transaction=True)
def test_end_to_end_a_meeting_created_through_the_api_is_reminded_by_the_worker(alice, alice_api, api, twilio_api,
                                                                                 sync_worker):
    from tests.support.waiting import wait_until

    integration = connect_messaging(alice, "twilio", rules=[RULE], settings={"fromNumber": "+15005550006"})
    start = timezone.now() + timedelta(minutes=45)
    created = alice_api.post("/api/meetings", {
        "title": "Kickoff", "startTime": start.isoformat(), "endTime": (start + timedelta(hours=1)).isoformat(),
        "attendees": [{"email": "dana@example.com", "phone": "050-1234567"}]}, format="json")
    assert created.status_code == 201, created.content

    def sent():
        found = alice_api.get("/api/messages?status=sent").json()["results"]
        return found[0] if found else None

    message = wait_until(sent, timeout=30, what="the reminder sent by the worker")
    assert (message["channel"], message["direction"], message["to"]) == ("sms", "outbound", "+972501234567")
    assert len(_sent_forms(twilio_api)) == 1
    sid = "SM" + "a" * 32
    assert _signed_post(api, integration, {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": SID}
                        ).status_code == 200
    assert alice_api.get(f"/api/messages/{message['id']}").json()["status"] == "delivered"
    assert [line.status for line in log_lines(integration)] == ["success"]
