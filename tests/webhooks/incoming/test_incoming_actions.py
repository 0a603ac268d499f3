"""Processing a stored request: filters, the four actions, outcomes on the log,
forward retries, the test endpoint service, reprocess, counters and webhook.received."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.tenant_context import tenant_scope
from entities.models import Client as ClientEntity
from entities.models import EntityEvent
from tests.support.receiver import Plan, Receiver
from tests.support.webhooks import CREATE_CLIENT, LEAD, deliver, make_webhook, process
from webhooks.incoming import automations, services
from webhooks.incoming import process as processing
from webhooks.incoming.models import AutomationRun
from webhooks.incoming.tasks import drain_incoming, process_incoming_log
from webhooks.models import IncomingWebhook, WebhookLog
from webhooks.signing import hex_hmac_sha256

pytestmark = pytest.mark.django_db

@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def test_create_entity_maps_dot_paths_through_entity_validation_and_emits_event(alice):
    webhook, secret = make_webhook(alice, actions=[CREATE_CLIENT])
    log = process(alice, deliver(webhook, secret))
    assert log.status == "success"
    [outcome] = log.result["actions"]
    with tenant_scope(alice.tenant.id):
        client = ClientEntity.objects.get()
        event = EntityEvent.objects.get(entity_id=client.id)
        webhook.refresh_from_db()
    assert (client.name, client.email) == ("Dana Levi", "dana@example.com")
    assert outcome == {"index": 0, "type": "create_entity", "status": "success", "entityType": "client",
                       "entityId": str(client.id)}
    assert (event.event, event.source) == ("created", "webhook")
    assert webhook.total_received == 1 and webhook.last_received_at is not None


def test_failed_action_is_recorded_and_does_not_hide_the_others(alice):
    bad = {"type": "create_entity", "config": {"entityType": "client", "fieldMappings": {"email": "lead.name"}}}
    record = {"type": "trigger_automation", "config": {"automationId": "record"}}
    webhook, secret = make_webhook(alice, actions=[bad, record])
    log = process(alice, deliver(webhook, secret))
    assert log.status == "failed"
    first, second = log.result["actions"]
    assert (first["status"], first["error"]) == ("failed", "validation failed")
    assert set(first["fields"]) == {"name", "email"}
    assert second["status"] == "success"
    assert log.error_message.startswith("create_entity: validation failed")
    with tenant_scope(alice.tenant.id):
        assert ClientEntity.objects.count() == 0
        assert AutomationRun.objects.get().status == "success"


def test_update_entity_finds_the_row_by_match_field(alice):
    with tenant_scope(alice.tenant.id):
        existing = ClientEntity.objects.create(tenant=alice.tenant, name="Old name", email="dana@example.com")
    update = {"type": "update_entity", "config": {
        "entityType": "client", "matchField": "email", "fieldMappings": {"email": "lead.email", "name": "lead.name"}}}
    webhook, secret = make_webhook(alice, actions=[update])
    log = process(alice, deliver(webhook, secret))
    assert log.status == "success"
    with tenant_scope(alice.tenant.id):
        existing.refresh_from_db()
        assert existing.name == "Dana Levi"
        assert EntityEvent.objects.filter(entity_id=existing.id, event="updated").count() == 1


def test_update_entity_not_found_is_a_failed_action_not_a_500(alice, bob):
    with tenant_scope(bob.tenant.id):  # same email in another tenant must not match
        ClientEntity.objects.create(tenant=bob.tenant, name="Bob's", email="dana@example.com")
    update = {"type": "update_entity", "config": {
        "entityType": "client", "matchField": "email", "fieldMappings": {"email": "lead.email", "name": "lead.name"}}}
    webhook, secret = make_webhook(alice, actions=[update])
    log = process(alice, deliver(webhook, secret))
    assert log.status == "failed"
    assert log.result["actions"][0]["error"] == "no client with email = dana@example.com"


def test_filters_not_matching_are_skipped_and_matching_ones_run(alice):
    filters = {"headers": {"X-Source": "site"}, "bodyPath": "lead.kind", "bodyValue": "client"}
    webhook, secret = make_webhook(alice, actions=[CREATE_CLIENT], filters=filters)
    skipped = process(alice, deliver(webhook, secret, {**LEAD, "try": 1}, HTTP_X_SOURCE="crm"))
    other_kind = process(alice, deliver(webhook, secret, {**LEAD, "lead": {**LEAD["lead"], "kind": "supplier"}},
                                        HTTP_X_SOURCE="site"))
    ran = process(alice, deliver(webhook, secret, {**LEAD, "try": 2}, HTTP_X_SOURCE="site"))
    # the reason's words beside its English text (issue 14 item 6: said in the reader's language)
    assert (skipped.status, skipped.result) == ("skipped", {"filtered": True, "reason": "header X-Source does not match",
                                                            "reasonWords": {"msgid": "header %(name)s does not match",
                                                                            "params": {"name": "X-Source"}},
                                                            "actions": []})
    assert other_kind.status == "skipped"
    assert ran.status == "success"
    with tenant_scope(alice.tenant.id):
        assert ClientEntity.objects.count() == 1


def test_trigger_automation_runs_the_registered_handler_records_and_publishes(alice, django_capture_on_commit_callbacks,
                                                                              tenant_events):
    calls = []

    @automations.register("welcome_lead")
    def welcome(ctx):
        calls.append(ctx.payload["lead"]["name"])
        return {"greeted": ctx.payload["lead"]["name"]}

    try:
        webhook, secret = make_webhook(alice, actions=[
            {"type": "trigger_automation", "config": {"automationId": "welcome_lead"}},
            {"type": "trigger_automation", "config": {"automationId": "missing_one"}},
        ])
        log_id = deliver(webhook, secret)
        events = tenant_events(alice.tenant.id)
        with django_capture_on_commit_callbacks(execute=True):
            log = process(alice, log_id)
        messages = events.collect(3)
    finally:
        automations.unregister("welcome_lead")
    assert calls == ["Dana Levi"]
    ok, missing = log.result["actions"]
    assert (ok["status"], missing["status"]) == ("success", "failed")
    assert missing["error"] == "no automation registered as 'missing_one'"
    with tenant_scope(alice.tenant.id):
        runs = {r.automation_id: r for r in AutomationRun.objects.all()}
    assert runs["welcome_lead"].output == {"greeted": "Dana Levi"}
    assert str(runs["welcome_lead"].webhook_log_id) == log_id
    types = [m["type"] for m in messages]
    assert types == ["automation.triggered", "automation.triggered", "webhook.received"]
    assert messages[2]["data"] == {"webhookId": str(webhook.id), "webhookName": "Hook", "status": "failed",
                                   "outcome": "failed", "logId": log_id}


@pytest.mark.django_db(transaction=True)  # operator_scope reads on its own connection
def test_forward_is_durable_signed_merges_headers_and_retries_linearly(alice, receiver, django_capture_on_commit_callbacks):
    from django.db import connection, transaction

    forward = {"type": "forward", "config": {"forwardUrl": receiver.url,
                                              "forwardHeaders": {"X-Team": "ops", "Authorization": "Bearer fw-token"},
                                              "retryAttempts": 2, "retryDelaySeconds": 30}}
    webhook, secret = make_webhook(alice, actions=[forward])
    log_id = deliver(webhook, secret)
    receiver.plans = [Plan(503, body=b'{"ok": false}'), Plan(200)]
    # When the request is processed, attempt 1 is a row, sent after commit
    with transaction.atomic():
        log = process(alice, log_id)
        after_commit = len(connection.run_on_commit)
    assert log.result["actions"][0]["status"] == "queued"
    attempt_id = log.result["actions"][0]["forwardLogId"]
    from webhooks.outgoing.tasks import send_attempt as send_forward

    assert after_commit >= 1
    send_forward(attempt_id, str(alice.tenant.id))
    # Then the receiver got the payload, signed with the webhook's secret, with our headers
    first = receiver.requests[0]
    assert json.loads(first.body) == LEAD
    assert first.headers["X-Webhook-Signature"] == hex_hmac_sha256(secret, first.body)
    assert first.headers["X-Team"] == "ops"
    assert first.headers["Authorization"] == "Bearer fw-token"  # sealed at rest, opened to send
    delivery = first.headers["X-Webhook-Delivery"]
    with tenant_scope(alice.tenant.id):
        attempt1 = WebhookLog.objects.get(pk=attempt_id)
        source = WebhookLog.objects.get(pk=log_id)
    assert (attempt1.status, attempt1.response_status, attempt1.attempt, attempt1.direction) == (
        "failed", 503, 1, "outgoing")
    assert attempt1.headers["X-Webhook-Signature"] == attempt1.headers["Authorization"] == "[redacted]"
    due = attempt1.next_retry_at
    assert timedelta(seconds=29) < due - attempt1.timestamp < timedelta(seconds=31)
    assert source.result["actions"][0]["status"] == "retrying"
    # And when the retry is due, the beat task makes attempt 2 with the same delivery id
    with time_machine.travel(due + timedelta(seconds=1)):
        with django_capture_on_commit_callbacks():
            assert services.forward_retry_due() == 1
    with tenant_scope(alice.tenant.id):
        attempt2 = WebhookLog.objects.get(webhook_id=webhook.id, direction="outgoing", attempt=2)
    send_forward(str(attempt2.pk), str(alice.tenant.id))
    assert receiver.requests[1].headers["X-Webhook-Delivery"] == delivery
    with tenant_scope(alice.tenant.id):
        attempt2.refresh_from_db()
        source.refresh_from_db()
        attempt1.refresh_from_db()
    assert (attempt2.status, attempt2.response_status, attempt1.next_retry_at) == ("success", 200, None)
    assert source.result["actions"][0]["status"] == "success"
    # Sending the same row again does nothing (claimed: pending only)
    send_forward(str(attempt2.pk), str(alice.tenant.id))
    assert len(receiver.requests) == 2


def test_forward_exhausted_marks_the_request_failed(alice, receiver):
    forward = {"type": "forward", "config": {"forwardUrl": receiver.url, "retryAttempts": 1}}
    webhook, secret = make_webhook(alice, actions=[forward])
    receiver.plans = [Plan(500, body=b'{"ok": false}')]
    log = process(alice, deliver(webhook, secret))
    from webhooks.outgoing.tasks import send_attempt as send_forward

    send_forward(log.result["actions"][0]["forwardLogId"], str(alice.tenant.id))
    with tenant_scope(alice.tenant.id):
        log.refresh_from_db()
    assert log.status == "failed"
    assert log.result["actions"][0]["status"] == "failed"
    assert log.result["actions"][0]["error"] == "HTTP 500"


def test_incoming_test_signs_runs_pipeline_and_reports_each_action(alice, receiver):
    webhook, _ = make_webhook(alice, actions=[CREATE_CLIENT, {"type": "forward", "config": {"forwardUrl": receiver.url}}],
                              verification_scheme="stripe")
    with tenant_scope(alice.tenant.id):
        report = services.incoming_test(webhook, payload=LEAD)
    assert report["verification"] == {"scheme": "stripe", "ok": True, "reason": ""}
    assert report["status"] == "success"
    create, fwd = report["actions"]
    assert create["status"] == "success" and create["entityType"] == "client"
    assert (fwd["status"], fwd["responseStatus"]) == ("success", 200)
    assert json.loads(receiver.requests[0].body) == LEAD
    with tenant_scope(alice.tenant.id):
        webhook.refresh_from_db()
        assert WebhookLog.objects.get(pk=report["logId"]).event_type == "test"
    assert webhook.total_received == 0


def test_reprocess_runs_the_actions_again_from_the_stored_row(alice):
    webhook, secret = make_webhook(alice, actions=[CREATE_CLIENT])
    log = process(alice, deliver(webhook, secret))
    outcome = services.incoming_reprocess(log)
    assert outcome["status"] == "success"
    with tenant_scope(alice.tenant.id):
        assert ClientEntity.objects.count() == 2
        webhook.refresh_from_db()
    assert webhook.total_received == 1


@pytest.mark.django_db(transaction=True)  # operator_scope reads on its own connection
def test_admin_shows_webhooks_and_logs_without_secrets_and_reprocesses_failed_requests(alice, admin_client):
    update = {"type": "update_entity", "config": {
        "entityType": "client", "matchField": "email", "fieldMappings": {"email": "lead.email", "name": "lead.name"}}}
    forward = {"type": "forward", "config": {"forwardUrl": "https://example.com/f",
                                             "forwardHeaders": {"Authorization": "Bearer admin-visible?"}}}
    webhook, secret = make_webhook(alice, actions=[update])
    with tenant_scope(alice.tenant.id):  # a credential in a forward action, sealed on save
        IncomingWebhook.objects.filter(pk=webhook.pk).update(actions=[update, forward])
        stored = IncomingWebhook.objects.get(pk=webhook.pk)
        stored.save()
    first, second = (process(alice, deliver(webhook, secret, payload={**LEAD, "n": n})) for n in (1, 2))
    assert first.status == second.status == "failed"  # no client with that email yet
    pages = [
        admin_client.get("/admin/webhooks/incomingwebhook/"),
        admin_client.get(f"/admin/webhooks/incomingwebhook/{webhook.pk}/change/"),
        admin_client.get(f"/admin/webhooks/webhooklog/?webhook_id={webhook.pk}"),
        admin_client.get(f"/admin/webhooks/webhooklog/{first.pk}/change/"),
    ]
    for page in pages:
        assert page.status_code == 200
        assert secret.encode() not in page.content and b"admin-visible?" not in page.content
    with tenant_scope(alice.tenant.id):
        ClientEntity.objects.create(tenant=alice.tenant, name="Old", email="dana@example.com")
    # The log admin's "reprocess" reruns one request; the webhook admin's, every failed one of the last 24 h
    response = admin_client.post("/admin/webhooks/webhooklog/", {"action": "reprocess", "_selected_action": [first.pk]})
    assert response.status_code == 302
    response = admin_client.post("/admin/webhooks/incomingwebhook/",
                                 {"action": "reprocess_failed", "_selected_action": [webhook.pk]})
    assert response.status_code == 302
    with tenant_scope(alice.tenant.id):
        statuses = dict(WebhookLog.objects.filter(pk__in=[first.pk, second.pk]).values_list("pk", "status"))
        assert ClientEntity.objects.get(email="dana@example.com").name == "Dana Levi"
    assert statuses == {first.pk: "success", second.pk: "success"}


def test_processing_twice_is_a_no_op(alice):
    webhook, secret = make_webhook(alice, actions=[CREATE_CLIENT])
    log_id = deliver(webhook, secret)
    process(alice, log_id)
    assert process_incoming_log(log_id, str(alice.tenant.id)) == "skipped"
    with tenant_scope(alice.tenant.id):
        assert ClientEntity.objects.count() == 1


@pytest.mark.django_db(transaction=True)  # operator_scope reads on its own connection
def test_pending_sweeper_redispatches_only_stale_requests(alice, django_capture_on_commit_callbacks):
    webhook, secret = make_webhook(alice, actions=[CREATE_CLIENT])
    deliver(webhook, secret)
    assert services.incoming_redispatch_pending() == 0
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert services.incoming_redispatch_pending() == 1


@pytest.mark.django_db(transaction=True)  # operator_scope reads on its own connection
def test_cleanup_removes_expired_delivery_ids(alice):
    webhook, secret = make_webhook(alice, actions=[])
    deliver(webhook, secret, HTTP_X_REQUEST_ID="req-1")
    with time_machine.travel(timezone.now() + timedelta(days=15)):
        assert services.incoming_cleanup() == {"dedupe": 1, "automationRuns": 0}


def test_drain_processes_every_pending_request_of_the_tenant_oldest_first(alice, bob):
    webhook, secret = make_webhook(alice, actions=[CREATE_CLIENT])
    bobs, bob_secret = make_webhook(bob, actions=[CREATE_CLIENT])
    ids = [deliver(webhook, secret, payload={**LEAD, "n": n}) for n in range(3)]  # a repeated body is a duplicate
    bob_log = deliver(bobs, bob_secret)
    assert services.incoming_drain(tenant_id=str(alice.tenant.id)) == 3
    with tenant_scope(alice.tenant.id):
        assert sorted(WebhookLog.objects.filter(pk__in=ids).values_list("status", flat=True)) == ["success"] * 3
        assert ClientEntity.objects.count() == 3
    with tenant_scope(bob.tenant.id):
        assert WebhookLog.objects.get(pk=bob_log).status == "pending"  # another tenant's drain


def _queued_drains() -> list[str]:
    """Take every message off the test broker's queue (as a worker would); the tenants of the
    drain_incoming ones, in order."""
    from architect_studio.celery import app as celery_app

    tenants = []
    with celery_app.connection_for_read() as conn:
        queue = conn.SimpleQueue(celery_app.conf.task_default_queue)
        try:
            while True:
                try:
                    message = queue.get(block=False)
                except queue.Empty:
                    return tenants
                if message.headers["task"] == drain_incoming.name:
                    tenants.append(message.payload[0][0])
                message.ack()
        finally:
            queue.close()


def test_drain_batches_isolate_a_poison_request_and_count_once_per_batch(alice, monkeypatch, empty_broker_queue,
                                                                        django_capture_on_commit_callbacks):
    webhook, secret = make_webhook(alice, actions=[CREATE_CLIENT])
    ids = [deliver(webhook, secret, payload={**LEAD, "n": n}) for n in range(5)]
    tid = str(alice.tenant.id)
    real = processing.filters_match

    def poison(filters, *, headers, payload):
        if payload.get("n") == 2:
            raise RuntimeError("boom")
        return real(filters, headers=headers, payload=payload)

    monkeypatch.setattr(processing, "filters_match", poison)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.incoming_drain(tenant_id=tid, batch=2) == 5
    with tenant_scope(alice.tenant.id):
        statuses = {str(log.pk): (log.status, log.error_message) for log in WebhookLog.objects.filter(pk__in=ids)}
        assert ClientEntity.objects.count() == 4  # the poison request's savepoint rolled back alone
        hook = IncomingWebhook.objects.get(pk=webhook.pk)
        newest = WebhookLog.objects.filter(pk__in=ids).order_by("-timestamp").first().timestamp
    assert statuses[ids[2]] == ("failed", "internal error (RuntimeError)")
    assert [statuses[i][0] for i in ids if i != ids[2]] == ["success"] * 4
    assert (hook.total_received, hook.last_received_at) == (5, newest)
    # a full batch woke a helper drain: one message in the broker (wake-ups coalesce while it waits)
    assert _queued_drains() == [tid]
    assert drain_incoming(tid) == 0  # the helper runs as a worker would; this drain left it nothing
    # a partial batch wakes nobody
    one = deliver(webhook, secret, payload={**LEAD, "n": 5})
    with django_capture_on_commit_callbacks(execute=True):
        assert services.incoming_drain(tenant_id=tid, batch=2) == 1
    with tenant_scope(alice.tenant.id):
        assert WebhookLog.objects.get(pk=one).status == "success"
    assert _queued_drains() == []
