"""Messages go out through the sync engine (issue 16, Done-when "through the engine"): a due
rule's message is a queued ``message`` record in the integration's export queue, and the
engine's realtime export sends it -- so a send is a sync run's work: its log row and summary,
its events, the link to the provider's id; a 429 is backed off (``Retry-After``) and retried
by the engine; the dispatch ledger and the record follow each outcome.

Twilio answers are shaped as documented (https://www.twilio.com/docs/messaging/api/message-resource
201 create; https://www.twilio.com/docs/api/errors/20429 "Too Many Requests")."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl

import pytest
import responses
from django.utils import timezone

from core.tenant_context import tenant_scope
from entities.services import entity_create
from integrations.models import ExternalLink, Integration, SyncPending
from integrations.sync.services import sync_export_drain
from tests.support.messaging import CREDENTIALS, connect_messaging, deliver, dispatches, log_lines, messages

SID = CREDENTIALS["twilio"]["accountSid"]
MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
RULE = {"id": "meeting-reminder", "entityType": "meeting", "minutesBefore": 60, "recipients": "attendees",
        "body": "Reminder: {{entity.title}}"}
SM = "SM" + "d" * 32
CREATED = {"account_sid": SID, "api_version": "2010-04-01", "body": "Reminder", "direction": "outbound-api",
           "error_code": None, "error_message": None, "from": "+15005550006", "num_segments": "1", "sid": SM,
           "status": "queued", "to": "+972501234567", "uri": f"/2010-04-01/Accounts/{SID}/Messages/{SM}.json"}
TOO_MANY = {"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429",
            "status": 429}


def _meeting(persona, title="Site visit"):
    start = timezone.now() + timedelta(minutes=30)
    with tenant_scope(persona.tenant.id):
        return entity_create(tenant=persona.tenant, entity_type="meeting", data={
            "title": title, "start_time": start.isoformat(), "end_time": (start + timedelta(hours=1)).isoformat(),
            "attendees": [{"email": "dana@example.com", "phone": "050-1234567"}]})


def _queue(integration):
    with tenant_scope(integration.tenant_id):
        return list(SyncPending.objects.filter(integration=integration))


@pytest.mark.django_db(transaction=True)
def test_a_send_appears_in_a_sync_runs_log_and_summary(alice, tenant_events):
    integration = connect_messaging(alice, "twilio", rules=[RULE], settings={"fromNumber": "+15005550006"})
    meeting = _meeting(alice)
    events = tenant_events(alice.tenant.id)
    with responses.RequestsMock() as twilio:
        twilio.add(responses.POST, MESSAGES_URL, json=CREATED, status=201)
        deliver(alice)
        [call] = twilio.calls
    assert dict(parse_qsl(call.request.body))["Body"] == "Reminder: Site visit"

    # the engine's run row: an export, its summary, the message it sent
    [run] = log_lines(integration)
    [message] = messages(alice)
    assert (run.action, run.direction, run.status) == ("export", "outgoing", "success")
    assert run.summary == {"total": 1, "created": 1, "updated": 0, "deleted": 0, "skipped": 0, "failed": 0,
                           "conflicts": 0}
    assert run.completed_at is not None and run.duration_ms is not None
    [item] = run.request_snapshot["messages"]
    assert item == run.request_snapshot["message"]
    assert (item["messageId"], item["remoteId"], item["entityId"], item["to"], item["channel"]) == (
        str(message.pk), SM, str(meeting.pk), "+972501234567", "sms")
    # ... the browsers hear the run end with its summary
    done = events.wait_for("integration.sync_completed")["data"]
    assert done["logId"] == str(run.pk) and done["summary"]["created"] == 1 and done["action"] == "export"
    # ... the record is linked to the provider's message like any exported record, the queue is empty
    with tenant_scope(alice.tenant.id):
        [link] = ExternalLink.objects.filter(integration=integration)
        integration.refresh_from_db()
    assert (link.local_type, link.local_id, link.remote_id) == ("message", message.pk, SM)
    assert _queue(integration) == []
    assert (message.status, message.external_ids) == ("sent", {"twilio": SM})
    assert (integration.last_sync_status, integration.total_syncs) == ("success", 1)
    assert [d.status for d in dispatches(integration)] == ["sent"]


@pytest.mark.django_db(transaction=True)
def test_a_429_from_twilio_backs_off_and_the_engine_retries_it(alice):
    integration = connect_messaging(alice, "twilio", rules=[RULE], settings={"fromNumber": "+15005550006"})
    _meeting(alice)
    with responses.RequestsMock() as twilio:
        # Retry-After beyond what the client waits in-process: the engine's backoff takes over
        twilio.add(responses.POST, MESSAGES_URL, json=TOO_MANY, status=429, headers={"Retry-After": "120"})
        deliver(alice)
        assert len(twilio.calls) == 1

    # then the message waits in the engine's queue, no sooner than Twilio asked
    [row] = _queue(integration)
    assert row.local_type == "message" and row.attempts == 1 and "20429" in row.last_error
    assert row.next_attempt_at >= timezone.now() + timedelta(seconds=115)
    [message] = messages(alice)
    [dispatch] = dispatches(integration)
    assert message.status == "queued" and (dispatch.status, dispatch.attempts) == ("pending", 1)
    assert dispatch.due_at == row.next_attempt_at
    [first] = log_lines(integration)
    assert first.status == "failed" and first.summary["failed"] == 1 and "20429" in first.failed_items[0]["error"]
    assert first.failed_items[0]["messageId"] == str(message.pk)
    with tenant_scope(alice.tenant.id):
        integration.refresh_from_db()
    assert integration.status == Integration.Status.CONNECTED

    # a drain before the backoff ends sends nothing
    with responses.RequestsMock() as twilio:
        sync_export_drain(tenant_id=alice.tenant.id)
        assert len(twilio.calls) == 0

    # when the backoff has passed, the engine's next drain sends it once
    with tenant_scope(alice.tenant.id):
        SyncPending.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    with responses.RequestsMock() as twilio:
        twilio.add(responses.POST, MESSAGES_URL, json=CREATED, status=201)
        sync_export_drain(tenant_id=alice.tenant.id)
        assert len(twilio.calls) == 1
    [message] = messages(alice)
    [dispatch] = dispatches(integration)
    assert (message.status, message.external_ids) == ("sent", {"twilio": SM})
    assert (dispatch.status, dispatch.attempts) == ("sent", 2) and _queue(integration) == []
    assert [line.status for line in log_lines(integration)] == ["failed", "success"]


@pytest.mark.django_db(transaction=True)
def test_quiet_hours_defer_the_message_into_the_engine_later_not_drop_it(alice):
    now = timezone.now().astimezone(timezone.get_fixed_timezone(0))
    quiet = {"start": (now - timedelta(minutes=1)).strftime("%H:%M"),
             "end": (now + timedelta(minutes=2)).strftime("%H:%M"), "timezone": "UTC"}
    integration = connect_messaging(alice, "twilio", rules=[RULE],
                                    settings={"fromNumber": "+15005550006", "quietHours": quiet})
    _meeting(alice)
    with responses.RequestsMock() as twilio:
        deliver(alice)
        assert len(twilio.calls) == 0
    [dispatch] = dispatches(integration)
    assert dispatch.status == "pending" and dispatch.due_at > timezone.now() and messages(alice) == []
    assert _queue(integration) == []

    # the quiet hours end: the dispatch is handed to the engine and sent once
    with tenant_scope(alice.tenant.id):
        integration.settings = {**integration.settings, "quietHours": None}
        integration.save(update_fields=["settings"])
        type(dispatch).objects.filter(pk=dispatch.pk).update(due_at=timezone.now())
    with responses.RequestsMock() as twilio:
        twilio.add(responses.POST, MESSAGES_URL, json=CREATED, status=201)
        deliver(alice)
        deliver(alice)
        assert len(twilio.calls) == 1
    assert [d.status for d in dispatches(integration)] == ["sent"]
    assert [m.status for m in messages(alice)] == ["sent"]


@pytest.mark.django_db(transaction=True)
def test_a_run_of_a_messaging_integration_never_sends_inbound_or_unrelated_messages(alice, alice_api):
    integration = connect_messaging(alice, "twilio", rules=[], settings={"fromNumber": "+15005550006"})
    created = alice_api.post("/api/messages", {"channel": "sms", "direction": "inbound", "from": "+972501234567",
                                               "to": "+15005550006", "body": "hi", "status": "received"},
                             format="json")
    assert created.status_code == 201
    with responses.RequestsMock() as twilio:
        deliver(alice)
        response = alice_api.post(f"/api/integrations/{integration.pk}/sync", {}, format="json")
        assert response.status_code == 202, response.content
        from integrations.sync.services import sync_execute
        assert sync_execute(log_id=response.json()["logId"], tenant_id=alice.tenant.id) == "success"
        assert len(twilio.calls) == 0
    assert _queue(integration) == []


@pytest.mark.django_db(transaction=True)
def test_an_inbound_sms_is_imported_by_the_engine_with_its_link_and_an_import_run(alice, api):
    from urllib.parse import urlencode

    from django.conf import settings
    from twilio.request_validator import RequestValidator

    from entities.models import Client

    integration = connect_messaging(alice, "twilio", rules=[], settings={"fromNumber": "+15005550006"})
    with tenant_scope(alice.tenant.id):
        dana = Client.objects.create(tenant=alice.tenant, name="Dana", phone="052-765 4321")
    sid = "SM" + "e" * 32
    form = {"MessageSid": sid, "SmsSid": sid, "SmsStatus": "received", "Body": "אפשר להזיז?", "To": "+15005550006",
            "From": "+972527654321", "AccountSid": SID, "NumMedia": "0", "ApiVersion": "2010-04-01"}
    signature = RequestValidator(CREDENTIALS["twilio"]["authToken"]).compute_signature(integration.webhook_url, form)
    for _ in range(2):  # Twilio retries: one record
        response = api.post(integration.webhook_url[len(settings.PUBLIC_BASE_URL):], data=urlencode(form),
                            content_type="application/x-www-form-urlencoded", HTTP_X_TWILIO_SIGNATURE=signature)
        assert response.status_code == 200, response.content

    [received] = messages(alice, direction="inbound")
    assert (received.from_address, received.client_id, received.external_ids) == ("+972527654321", dana.pk,
                                                                                  {"twilio": sid})
    with tenant_scope(alice.tenant.id):
        [link] = ExternalLink.objects.filter(integration=integration)
    assert (link.local_type, link.local_id, link.remote_id) == ("message", received.pk, sid)
    # one import run: the redelivery is known by the provider's id before the engine is asked
    runs = log_lines(integration, "import")
    assert [(r.status, r.direction, r.summary["created"]) for r in runs] == [("success", "incoming", 1)]


@pytest.mark.django_db(transaction=True)
def test_with_log_outgoing_messages_off_the_message_is_sent_and_nothing_is_kept(alice):
    integration = connect_messaging(alice, "twilio", rules=[RULE],
                                    settings={"fromNumber": "+15005550006", "logOutgoingMessages": False})
    _meeting(alice)
    with responses.RequestsMock() as twilio:
        twilio.add(responses.POST, MESSAGES_URL, json=CREATED, status=201)
        deliver(alice)
        deliver(alice)
        assert len(twilio.calls) == 1
    assert messages(alice) == [] and _queue(integration) == []
    with tenant_scope(alice.tenant.id):
        assert not ExternalLink.objects.filter(integration=integration).exists()
    assert [d.status for d in dispatches(integration)] == ["sent"]
    [run] = log_lines(integration)
    assert run.summary["created"] == 1 and run.request_snapshot["message"]["remoteId"] == SM
