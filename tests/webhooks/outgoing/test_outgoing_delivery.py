"""End to end on the real stack: entity event → real Celery worker → local HTTP receiver.

Covers signing on the wire, linear retry timing (beat-driven and ETA-driven),
exhaustion and auto-disable, 410 on the exponential strategy, replay, a real
worker process killed mid-request, and log retention.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from django.db import connection, connections
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from architect_studio.celery import app as celery_app
from core.tenant_context import operator_scope, tenant_scope
from entities.models import EntityEvent
from tests.support.factories import create_meeting, fresh_persona
from tests.support.paths import ROOT
from tests.support.receiver import Plan, Receiver
from tests.support.waiting import wait_until
from tests.support.webhooks import create_outgoing_webhook
from tests.support.worker import in_process_worker
from webhooks.models import OutgoingWebhook, WebhookLog
from webhooks.outgoing import services
from webhooks.outgoing.tasks import cleanup_webhook_logs, sweep_due_deliveries

pytestmark = pytest.mark.e2e

WHSEC = "whsec_" + base64.b64encode(b"s" * 32).decode()





def _rows(persona, webhook_id) -> list[WebhookLog]:
    with tenant_scope(persona.tenant.id):
        return list(WebhookLog.objects.filter(webhook_id=webhook_id).order_by("delivery_id", "attempt"))


def _wait_rows(persona, webhook_id, predicate, timeout=15.0) -> list[WebhookLog]:
    def rows() -> list[WebhookLog] | None:
        found = _rows(persona, webhook_id)
        return found if predicate(found) else None

    return wait_until(rows, timeout, 0.05, f"the delivery rows of webhook {webhook_id}")


def _reload(persona, webhook) -> OutgoingWebhook:
    with tenant_scope(persona.tenant.id):
        return OutgoingWebhook.objects.get(pk=webhook.pk)


def _wait_processed(persona, entity_id, timeout=15.0) -> EntityEvent:
    """The entity's event once the outbox drain has run every subscriber on it.

    The subscriber creates its delivery rows in the drain's transaction, the one
    that sets ``processed_at``: once it is set, every row the event will ever get
    exists -- a check of what happened, not a sleep hoping nothing will.
    """

    def processed() -> EntityEvent | None:
        with tenant_scope(persona.tenant.id):
            event = EntityEvent.objects.get(entity_id=entity_id, event="created")
        return event if event.processed_at is not None else None

    event = wait_until(processed, timeout, 0.05, f"the event of {entity_id} to be processed")
    assert event.failed_at is None and event.last_error == "", event.last_error
    return event


def _wait_disabled(persona, webhook, timeout=15.0) -> OutgoingWebhook:
    def disabled() -> OutgoingWebhook | None:
        fresh = _reload(persona, webhook)
        return None if fresh.is_enabled else fresh

    return wait_until(disabled, timeout, 0.05, "the webhook to be disabled")


class _Beat:
    """Stands in for celery beat: runs the sweeper task every `interval` seconds in a thread."""

    def __init__(self, interval=1.0):
        self.interval = interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        try:
            while not self.stop.wait(self.interval):
                sweep_due_deliveries()
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)


def test_entity_event_is_delivered_signed_and_counted(celery_worker_thread, tenant_events):
    alice = fresh_persona()
    events = tenant_events(alice.tenant.id)
    template = '{"event": "{{entityType}}.{{event}}", "title": {{entity.title}}, "note": "«{{entity.title}}»"}'
    with Receiver() as rx:
        webhook = create_outgoing_webhook(
            alice, rx.url, payloadTemplate=template, sign_requests=True, signature_secret=WHSEC,
            signature_scheme="standard", headers={"X-Team": "studio"}, payload_template=template,
        )

        meeting = create_meeting(alice, title='Villa "Dan"\nשלב א')
        req = rx.wait_for(1)[0]
        rows = _wait_rows(alice, webhook.pk, lambda r: r and r[0].status == "success")

    with operator_scope("test"):
        event = EntityEvent.objects.get(entity_id=meeting.id, event="created")
    expected_delivery = str(uuid.uuid5(services.DELIVERY_NAMESPACE, f"{event.id}:{webhook.pk}"))
    assert req.method == "POST"
    assert json.loads(req.body) == {"event": "meeting.created", "title": 'Villa "Dan"\nשלב א', "note": '«Villa "Dan"\nשלב א»'}
    assert req.headers["Content-Type"] == "application/json"
    assert req.headers["X-Webhook-Event"] == "meeting.created"
    assert req.headers["X-Webhook-Delivery"] == expected_delivery
    assert req.headers["webhook-id"] == expected_delivery
    assert req.headers["X-Team"] == "studio"
    assert "X-Webhook-Signature" not in req.headers  # the standard scheme sends only Standard Webhooks headers
    assert Webhook(WHSEC).verify(req.body, req.headers)["title"] == 'Villa "Dan"\nשלב א'

    [row] = rows
    assert (row.attempt, row.max_attempts, row.response_status, row.claim_count) == (1, 3, 200, 1)
    assert row.delivery_id == uuid.UUID(expected_delivery) and row.entity_event_id == event.id
    assert row.body_text.encode() == req.body
    assert row.headers["webhook-signature"] == "[redacted]"
    dumped = json.dumps([row.headers, row.body, row.response_headers, row.response_body, row.error_message, row.result])
    assert WHSEC not in dumped and req.headers["webhook-signature"] not in dumped

    fresh = _reload(alice, webhook)
    assert (fresh.total_sent, fresh.total_failed, fresh.last_status, fresh.consecutive_failures) == (1, 0, "success", 0)
    assert fresh.last_sent_at is not None
    [message] = events.collect(1)
    assert message["type"] == "webhook.sent"
    assert message["data"] == {"webhookId": str(webhook.pk), "webhookName": "CRM", "status": "success"}


def test_subscriber_is_idempotent_and_ignores_other_triggers(celery_worker_thread):
    alice = fresh_persona()
    with Receiver() as rx:
        webhook = create_outgoing_webhook(alice, rx.url)
        on_tasks = create_outgoing_webhook(alice, rx.url, triggers=[{"entityType": "task", "events": ["created"]}])
        meeting = create_meeting(alice)
        event = _wait_processed(alice, meeting.id)
        [row] = _wait_rows(alice, webhook.pk, lambda r: r and r[0].status == "success")
        with tenant_scope(alice.tenant.id):
            assert services.deliveries_create_for_event(event=event) == []  # second run: nothing new

    # every row the event produced exists (see _wait_processed): one, for the meeting webhook, sent once
    assert _rows(alice, on_tasks.pk) == []
    with tenant_scope(alice.tenant.id):
        assert list(WebhookLog.objects.filter(direction="outgoing").values_list("pk", flat=True)) == [row.pk]
    assert (row.entity_event_id, row.attempt, row.claim_count) == (event.id, 1, 1)
    assert [r.headers["X-Webhook-Delivery"] for r in rx.requests] == [str(row.delivery_id)]


def test_linear_retries_follow_the_seed_formula_and_fire_from_beat_within_5s(celery_worker_thread, settings):
    settings.OUTGOING_WEBHOOK_ETA_MAX_SECONDS = -1  # no ETA shortcut: only the DB rows and the beat sweeper
    alice = fresh_persona()
    with Receiver(plans=[Plan(status=500), Plan(status=502)]) as rx, _Beat(interval=1.0):
        webhook = create_outgoing_webhook(alice, rx.url, retry_attempts=3, retry_delay_seconds=1)
        create_meeting(alice)
        requests = rx.wait_for(3, timeout=20)
        rows = _wait_rows(alice, webhook.pk, lambda r: len(r) == 3 and r[2].status == "success")

    first, second, third = rows
    assert [(r.attempt, r.max_attempts, r.status) for r in rows] == [(1, 3, "failed"), (2, 3, "failed"), (3, 3, "success")]
    assert first.next_retry_at - first.completed_at == dt.timedelta(seconds=1)  # delay × 1
    assert second.next_retry_at - second.completed_at == dt.timedelta(seconds=2)  # delay × 2
    assert third.next_retry_at is None
    assert first.retried_at is not None and second.retried_at is not None
    for row, req in ((first, requests[1]), (second, requests[2])):
        lag = req.at - row.next_retry_at.timestamp()
        assert 0 <= lag < 5, lag
    assert len({r.headers["X-Webhook-Delivery"] for r in requests}) == 1
    assert requests[0].body == requests[1].body == requests[2].body
    assert (first.response_status, second.response_status, first.error_message) == (500, 502, "HTTP 500")
    fresh = _reload(alice, webhook)
    assert (fresh.total_sent, fresh.total_failed, fresh.last_status) == (1, 0, "success")


def test_short_retry_also_fires_from_its_celery_eta_without_beat(celery_worker_thread):
    alice = fresh_persona()
    with Receiver(plans=[Plan(status=503)]) as rx:
        webhook = create_outgoing_webhook(alice, rx.url, retry_attempts=2, retry_delay_seconds=2)
        create_meeting(alice)
        requests = rx.wait_for(2, timeout=15)
        first, second = _wait_rows(alice, webhook.pk, lambda r: len(r) == 2 and r[1].status == "success")

    assert first.next_retry_at - first.completed_at == dt.timedelta(seconds=2)
    assert 0 <= requests[1].at - first.next_retry_at.timestamp() < 5


def test_exhaustion_then_auto_disable_after_consecutive_failures(celery_worker_thread, settings, tenant_events):
    settings.OUTGOING_WEBHOOK_DISABLE_AFTER = 2
    alice = fresh_persona()
    events = tenant_events(alice.tenant.id)
    with Receiver(default=Plan(status=500)) as rx:
        webhook = create_outgoing_webhook(alice, rx.url, retry_attempts=2, retry_delay_seconds=0)
        create_meeting(alice, "one")
        _wait_rows(alice, webhook.pk, lambda r: len(r) == 2 and r[1].status == "failed")
        create_meeting(alice, "two")
        rows = _wait_rows(alice, webhook.pk, lambda r: len(r) == 4 and all(x.status == "failed" for x in r))
        _wait_disabled(alice, webhook)
        three = create_meeting(alice, "three")  # disabled now: no delivery
        third_event = _wait_processed(alice, three.id)

    # the third event has been through the subscriber (see _wait_processed) and made no row
    assert len(_rows(alice, webhook.pk)) == 4
    with tenant_scope(alice.tenant.id):
        assert not WebhookLog.objects.filter(entity_event_id=third_event.id).exists()
    assert len(rx.requests) == 4
    assert sorted(r.attempt for r in rows) == [1, 1, 2, 2]
    assert all(r.next_retry_at is None for r in rows if r.attempt == 2)
    fresh = _reload(alice, webhook)
    assert (fresh.is_enabled, fresh.total_failed, fresh.total_sent, fresh.consecutive_failures) == (False, 2, 0, 2)
    assert fresh.disabled_reason == "disabled after 2 consecutive failed deliveries"
    messages = events.collect(3)
    assert [m["type"] for m in messages] == ["webhook.sent", "webhook.sent", "webhook.disabled"]
    assert messages[0]["data"]["status"] == "failed"
    assert messages[2]["data"]["reason"] == fresh.disabled_reason


def test_410_disables_an_exponential_webhook_at_once(celery_worker_thread):
    alice = fresh_persona()
    with Receiver(default=Plan(status=410)) as rx:
        webhook = create_outgoing_webhook(alice, rx.url, retry_strategy="exponential", retry_attempts=5)
        create_meeting(alice)
        [row] = _wait_rows(alice, webhook.pk, lambda r: r and r[0].status == "failed")

    assert row.next_retry_at is None
    fresh = _reload(alice, webhook)
    assert (fresh.is_enabled, fresh.disabled_reason) == (False, "the receiver answered 410 Gone")


def test_exponential_delay_rules():
    hook = OutgoingWebhook(retry_strategy="exponential")
    from core.outbound import OutboundResult

    plain = [services.retry_delay(webhook=hook, attempt=k, result=OutboundResult(status=500)) for k in range(1, 9)]
    assert all(0.8 * b <= d <= 1.2 * b for d, b in zip(plain, [5, 300, 1800, 7200, 18000, 36000, 36000, 36000], strict=True))
    assert services.retry_delay(webhook=hook, attempt=1, result=OutboundResult(status=429)) >= 60
    assert services.retry_delay(webhook=hook, attempt=1, result=OutboundResult(error="t", error_kind="timeout")) >= 60
    capped = services.retry_delay(webhook=hook, attempt=2, result=OutboundResult(status=503, headers={"Retry-After": "100000"}))
    assert 480 <= capped <= 720  # at most twice the planned (jittered) delay
    linear = OutgoingWebhook(retry_strategy="linear", retry_delay_seconds=7)
    assert services.retry_delay(webhook=linear, attempt=3, result=OutboundResult(status=429, headers={"Retry-After": "999"})) == 21


def test_replay_sends_the_same_delivery_again(celery_worker_thread):
    alice = fresh_persona()
    with Receiver(plans=[Plan(status=500)]) as rx:
        webhook = create_outgoing_webhook(alice, rx.url, retry_attempts=1, sign_requests=True, signature_secret="plain-secret-1")
        create_meeting(alice)
        [failed] = _wait_rows(alice, webhook.pk, lambda r: r and r[0].status == "failed")
        with tenant_scope(alice.tenant.id):
            services.log_replay(log=failed)
        rows = _wait_rows(alice, webhook.pk, lambda r: len(r) == 2 and r[1].status == "success")
        first, again = rx.wait_for(2)

    assert rows[1].attempt == 2 and rows[1].result == {"trigger": "manual"}
    assert again.headers["X-Webhook-Delivery"] == first.headers["X-Webhook-Delivery"]
    assert again.body == first.body
    assert again.headers["X-Webhook-Signature"] == hmac.new(b"plain-secret-1", again.body, hashlib.sha256).hexdigest()
    fresh = _reload(alice, webhook)
    assert (fresh.total_failed, fresh.total_sent, fresh.consecutive_failures) == (1, 1, 0)


def test_sweeper_recovers_an_attempt_left_pending_by_a_crash(celery_worker_thread):
    """Simulated crash state: the attempt was claimed (lease committed) and its worker vanished."""
    alice = fresh_persona()
    with Receiver() as rx:
        webhook = create_outgoing_webhook(alice, rx.url)
        delivery = uuid.uuid4()
        with tenant_scope(alice.tenant.id):
            row = WebhookLog.objects.create(
                tenant=alice.tenant, webhook_id=webhook.pk, webhook_type="outgoing", direction="outgoing",
                method="POST", url=rx.url, status="pending", attempt=1, max_attempts=3, claim_count=1,
                next_retry_at=timezone.now() - dt.timedelta(seconds=1), delivery_id=delivery,
                event_type="meeting.created", body={"a": 1}, body_text='{"a":1}', result={"trigger": "event"},
            )

        assert sweep_due_deliveries()["requeued"] == 1
        req = rx.wait_for(1)[0]
        [done] = _wait_rows(alice, webhook.pk, lambda r: r and r[0].status == "success")

    assert req.headers["X-Webhook-Delivery"] == str(delivery) and req.body == b'{"a":1}'
    assert (done.pk, done.attempt, done.claim_count) == (row.pk, 1, 2)


def _db_url(alias: str) -> str:
    s = connections[alias].settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def test_worker_process_killed_mid_request_loses_nothing(transactional_db):
    """A real `celery worker` process is SIGKILLed while the receiver holds its request;
    the lease runs out, the sweeper re-enqueues, and another worker delivers the same delivery id."""
    alice = fresh_persona()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "architect_studio.settings.test",
        "DATABASE_URL": _db_url("default"),
        "DATABASE_ADMIN_URL": _db_url("owner") if "owner" in connections else _db_url("default"),
        "OUTGOING_WEBHOOK_LEASE_MARGIN_SECONDS": "1",
    }
    repo = ROOT
    with Receiver(plans=[Plan(delay=30)]) as rx:
        webhook = create_outgoing_webhook(alice, rx.url, timeout_seconds=2)
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "architect_studio", "worker", "-P", "solo", "-l", "INFO",
             "--without-mingle", "--without-gossip", "--without-heartbeat", "-n", f"killme-{uuid.uuid4().hex[:6]}@%h"],
            cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        try:
            create_meeting(alice)
            first = rx.wait_for(1, timeout=30)[0]
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        [crashed] = _rows(alice, webhook.pk)
        assert (crashed.status, crashed.claim_count, crashed.attempt) == ("pending", 1, 1)
        # the lease, from stored and recorded times (not from how long this test took to
        # get here): it ran past the moment the request reached the receiver, by at most
        # twice the 2 s timeout plus the 1 s margin
        lease_left = crashed.next_retry_at.timestamp() - first.at
        assert 0 < lease_left <= 2 * 2 + 1

        with in_process_worker(celery_app):
            deadline = time.monotonic() + 20
            while len(rx.requests) < 2 and time.monotonic() < deadline:
                sweep_due_deliveries()
                time.sleep(0.5)
            second = rx.wait_for(2, timeout=5)[1]
            [done] = _wait_rows(alice, webhook.pk, lambda r: r and r[0].status == "success")

    assert second.headers["X-Webhook-Delivery"] == first.headers["X-Webhook-Delivery"]
    assert second.body == first.body
    assert (done.pk, done.attempt, done.claim_count, done.response_status) == (crashed.pk, 1, 2, 200)
    assert _reload(alice, webhook).total_sent == 1


def test_retention_deletes_old_logs_but_keeps_scheduled_retries(transactional_db, settings):
    settings.WEBHOOK_LOG_RETENTION_DAYS = 14
    alice = fresh_persona()
    old = timezone.now() - dt.timedelta(days=15)
    common = dict(tenant=alice.tenant, webhook_id=uuid.uuid4(), webhook_type="outgoing", direction="outgoing", method="POST", url="http://x")
    with tenant_scope(alice.tenant.id):
        gone = WebhookLog.objects.create(status="success", **common)
        waiting = WebhookLog.objects.create(status="failed", next_retry_at=timezone.now() + dt.timedelta(days=1), **common)
        recent = WebhookLog.objects.create(status="failed", **common)
        WebhookLog.objects.filter(pk__in=[gone.pk, waiting.pk]).update(timestamp=old)

    assert cleanup_webhook_logs() == 1
    with tenant_scope(alice.tenant.id):
        assert set(WebhookLog.objects.values_list("pk", flat=True)) == {waiting.pk, recent.pk}
