"""Forward actions are deliveries of the one delivery engine (issue 12 item 1): the tenant's
dispatcher claims and sends them, the engine's sweeper recovers a lost one, they are replayed
like any attempt, and forward rows in flight before the change are moved to the engine's shape."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from core.tenant_context import tenant_scope
from tests.support.receiver import Plan, Receiver
from tests.support.webhooks import LEAD, deliver, make_webhook, process
from webhooks.models import OutgoingWebhook, WebhookLog
from webhooks.outgoing.delivery import deliveries_dispatch
from webhooks.outgoing.retries import log_replay
from webhooks.outgoing.sweeper import deliveries_sweep

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def _forwarded(persona, receiver, **config) -> tuple[WebhookLog, str]:
    forward = {"type": "forward", "config": {"forwardUrl": receiver.url, **config}}
    webhook, secret = make_webhook(persona, actions=[forward])
    log = process(persona, deliver(webhook, secret))
    with tenant_scope(persona.tenant.id):
        return WebhookLog.objects.get(pk=log.result["actions"][0]["forwardLogId"]), str(log.pk)


def test_the_tenants_dispatcher_claims_and_sends_a_forward(alice, receiver):
    attempt, source_id = _forwarded(alice, receiver)
    assert (attempt.status, attempt.claim_count, attempt.next_retry_at is not None) == ("pending", 0, True)

    totals = deliveries_dispatch(tenant_id=str(alice.tenant.id))

    assert totals["sent"] == 1
    [request] = receiver.requests
    assert json.loads(request.body) == LEAD
    with tenant_scope(alice.tenant.id):
        attempt.refresh_from_db()
        source = WebhookLog.objects.get(pk=source_id)
    assert (attempt.status, attempt.response_status, attempt.claim_count, attempt.next_retry_at) == ("success", 200, 1, None)
    assert source.result["actions"][0]["status"] == "success"
    assert source.result["actions"][0]["forwardLogId"] == str(attempt.pk)
    # a forward has no outgoing webhook: no counters anywhere were touched
    with tenant_scope(alice.tenant.id):
        assert not OutgoingWebhook.objects.exists()


def test_a_failed_forward_plans_the_seed_linear_retry_and_never_disables_anything(alice, receiver):
    receiver.plans = [Plan(410, body=b'{"ok": false}')]
    attempt, source_id = _forwarded(alice, receiver, retryAttempts=3, retryDelaySeconds=7)

    deliveries_dispatch(tenant_id=str(alice.tenant.id))

    with tenant_scope(alice.tenant.id):
        attempt.refresh_from_db()
        source = WebhookLog.objects.get(pk=source_id)
    assert (attempt.status, attempt.error_message, attempt.max_attempts) == ("failed", "HTTP 410", 3)
    assert attempt.next_retry_at - attempt.completed_at == dt.timedelta(seconds=7)  # 7 s × attempt 1
    assert source.result["actions"][0]["status"] == "retrying"


@pytest.mark.django_db(transaction=True)  # the sweeper scans on the operator connection
def test_a_forward_whose_worker_died_is_recovered_by_the_delivery_sweeper(alice, receiver):
    attempt, _source_id = _forwarded(alice, receiver)
    with tenant_scope(alice.tenant.id):  # as a worker that claimed it and died mid-request
        WebhookLog.objects.filter(pk=attempt.pk).update(
            claim_count=1, next_retry_at=timezone.now() - dt.timedelta(seconds=1))

    swept = deliveries_sweep()
    deliveries_dispatch(tenant_id=str(alice.tenant.id))

    assert swept["requeued"] == 1
    assert len(receiver.requests) == 1
    with tenant_scope(alice.tenant.id):
        attempt.refresh_from_db()
    assert (attempt.status, attempt.claim_count) == ("success", 2)


def test_a_forward_attempt_is_replayed_as_a_new_attempt_of_the_same_delivery(alice, receiver):
    attempt, source_id = _forwarded(alice, receiver)
    deliveries_dispatch(tenant_id=str(alice.tenant.id))
    with tenant_scope(alice.tenant.id):
        attempt.refresh_from_db()

        replay = log_replay(log=attempt)

    assert (replay.attempt, replay.delivery_id, replay.webhook_type) == (2, attempt.delivery_id, "incoming")
    assert replay.result["sourceLogId"] == source_id and replay.result["trigger"] == "manual"
    deliveries_dispatch(tenant_id=str(alice.tenant.id))
    first, second = receiver.requests
    assert first.headers["X-Webhook-Delivery"] == second.headers["X-Webhook-Delivery"] == str(attempt.delivery_id)
    assert first.body == second.body
    with tenant_scope(alice.tenant.id):
        replay.refresh_from_db()
    assert (replay.status, replay.response_status, replay.max_attempts) == ("success", 200, 2)  # manual: 2/2, as a webhook's


@pytest.mark.django_db(transaction=True, databases=["default", "operator", "owner"])  # the migration runs on the owner's connection, which sees committed rows
def test_migration_0007_moves_forward_rows_in_flight_to_the_engines_shape(alice):
    from django.db import connections
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    migration = __import__("webhooks.migrations.0007_forward_deliveries", fromlist=["forwards"])
    every = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="incoming-forward-retries", task="webhooks.incoming.tasks.retry_due_forwards",
                                interval=every)
    body = {"name": "Dana Lévi", "n": 1}
    with tenant_scope(alice.tenant.id):
        def old_row(**fields):  # as the forward engine wrote them: no body_text, no next_retry_at when pending
            return WebhookLog.objects.create(
                tenant=alice.tenant, webhook_id=uuid.uuid4(), webhook_type="incoming", direction="outgoing",
                method="POST", url="https://example.com/f", body=body, delivery_id=uuid.uuid4(),
                event_type="webhook.forward", **fields)

        pending = old_row(status="pending")
        waiting = old_row(status="failed", next_retry_at=timezone.now() + dt.timedelta(seconds=30))
        done = old_row(status="success")

    # as `migrate` runs it: the owner's connection, under the table's forced row-level security
    owner = connections["owner"]
    migration.forwards(django_apps, SimpleNamespace(connection=owner))

    with tenant_scope(alice.tenant.id):
        for row in (pending, waiting, done):
            row.refresh_from_db()
    # what the forward engine sent: the stored (JSONB) body, compact, UTF-8 as is
    compact = json.dumps(pending.body, separators=(",", ":"), ensure_ascii=False)
    assert "Dana Lévi" in compact and " " not in compact.replace("Dana Lévi", "")
    assert (pending.body_text, pending.next_retry_at, pending.claim_count) == (compact, pending.timestamp, 0)
    assert waiting.body_text == compact
    assert done.body_text is None
    assert not PeriodicTask.objects.filter(task="webhooks.incoming.tasks.retry_due_forwards").exists()


def test_a_receiver_answering_json_with_nul_is_recorded_not_stuck(alice):
    """JSONB refuses U+0000: the answer is stored with it replaced (as forwards always were)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"note": "a\\u0000b"}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        attempt, _source_id = _forwarded(alice, SimpleNamespace(url=f"http://127.0.0.1:{server.server_address[1]}/f"))
        deliveries_dispatch(tenant_id=str(alice.tenant.id))
    finally:
        server.shutdown()
    with tenant_scope(alice.tenant.id):
        attempt.refresh_from_db()
    assert (attempt.status, attempt.response_body) == ("success", {"note": "a\ufffdb"})
