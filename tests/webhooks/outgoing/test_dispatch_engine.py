"""The batched engine under the outbox and outgoing deliveries: coalesced wake-ups
(core.kick), batched outbox drains with failure isolation, leases that cover
sending in waves, keep-alive pinned connections, and many events delivered once
each with exact counters on the real stack."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from core import kick as kick_module
from core import outbound
from core.tenant_context import operator_scope, tenant_scope
from entities import events
from entities.models import EntityEvent
from entities.tasks import drain_entity_events
from tests.support.factories import create_meeting, fresh_persona
from tests.support.receiver import Plan, Receiver
from tests.support.waiting import wait_until
from tests.support.webhooks import create_outgoing_webhook
from webhooks.models import OutgoingWebhook, WebhookLog
from webhooks.outgoing import services

# --------------------------------------------------------------------------- core.kick


def _queued() -> int:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL).llen("celery")


@pytest.mark.django_db
def test_kick_queues_one_task_per_tenant_until_it_starts():
    tenant = str(uuid.uuid4())
    before = _queued()
    assert kick_module.kick(drain_entity_events, tenant) is True
    assert kick_module.kick(drain_entity_events, tenant) is True  # coalesced: the first is still queued
    assert kick_module.kick(drain_entity_events, str(uuid.uuid4())) is True  # another tenant: its own message
    assert _queued() == before + 2
    kick_module.kicked(drain_entity_events.name, tenant)  # the task started: later commits must wake it again
    assert kick_module.kick(drain_entity_events, tenant) is True
    assert _queued() == before + 3


@pytest.mark.django_db
def test_kick_releases_its_flag_when_the_broker_refuses(monkeypatch):
    tenant = str(uuid.uuid4())

    def refuse(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(drain_entity_events, "apply_async", refuse)
    assert kick_module.kick(drain_entity_events, tenant) is False
    monkeypatch.undo()
    before = _queued()
    assert kick_module.kick(drain_entity_events, tenant) is True  # not blocked by a flag nobody will clear
    assert _queued() == before + 1


def _queued_for(task, tenant_id: str) -> int:
    """Messages in the broker queue that run ``task(tenant_id)`` (other tests' leftovers don't count)."""
    count = 0
    for raw in redis.Redis.from_url(settings.CELERY_BROKER_URL).lrange("celery", 0, -1):
        headers = json.loads(raw).get("headers") or {}
        if headers.get("task") == task.name and tenant_id in (headers.get("argsrepr") or ""):
            count += 1
    return count


def _spy_on_kick(monkeypatch) -> list[tuple[str, str]]:
    """Record (tenant, thread) of every kick() call and let the real kick reach the broker."""
    calls: list[tuple[str, str]] = []
    real_kick = kick_module.kick

    def spy(task, tid):
        calls.append((str(tid), threading.current_thread().name))
        return real_kick(task, tid)

    monkeypatch.setattr(kick_module, "kick", spy)
    return calls


@pytest.mark.django_db
def test_kick_soon_sends_one_kick_per_tenant_from_its_thread(monkeypatch):
    calls = _spy_on_kick(monkeypatch)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    for _ in range(200):
        kick_module.kick_soon(drain_entity_events, first)
    kick_module.kick_soon(drain_entity_events, uuid.UUID(second))
    wait_until(lambda: _queued_for(drain_entity_events, first) and _queued_for(drain_entity_events, second),
               timeout=10, what="both tenants' drains queued")
    # 201 notes became exactly one queued drain per tenant
    assert _queued_for(drain_entity_events, first) == 1
    assert _queued_for(drain_entity_events, second) == 1
    assert {thread for _, thread in calls} == {"kick-soon"}  # never on the caller's thread


@pytest.mark.django_db
def test_kick_soon_leftovers_are_sent_once_by_the_exit_flush_or_the_kicker(monkeypatch):
    calls = _spy_on_kick(monkeypatch)
    tenant = str(uuid.uuid4())
    kick_module.kick_soon(drain_entity_events, tenant)
    kick_module.flush_soon()  # what atexit runs; races the kicker thread on purpose
    wait_until(lambda: _queued_for(drain_entity_events, tenant), timeout=10, what="the leftover drain queued")
    assert kick_module.flush_soon() == 0  # nothing left noted for a second send
    assert _queued_for(drain_entity_events, tenant) == 1
    assert [tid for tid, _ in calls].count(tenant) == 1  # the note was taken by one side only


# --------------------------------------------------------------------------- outbox drain


@pytest.mark.django_db(transaction=True)  # operator_scope reads on its own connection
def test_drain_hands_a_batch_to_subscribers_and_isolates_the_failing_event():
    persona = fresh_persona("Engine Studio")
    calls: list[list[str]] = []

    def one(event):
        if (event.data or {}).get("title") == "bad":
            raise ValueError("boom")

    def batch(evs):
        calls.append([e.data["title"] for e in evs])
        for e in evs:
            one(e)

    events.subscribe("test-batch", one, batch=batch)
    try:
        for title in ("a", "bad", "c"):
            create_meeting(persona, title)
        assert drain_entity_events.run(str(persona.tenant.id)) == 3
    finally:
        events.unsubscribe("test-batch")

    assert calls[0] == ["a", "bad", "c"]  # the whole batch first, in commit order
    assert calls[1:] == [["a"], ["bad"], ["c"]]  # then one by one to find the culprit
    with operator_scope("test"):
        rows = {e.data["title"]: e for e in EntityEvent.objects.filter(tenant=persona.tenant)}
    assert rows["a"].processed_at and rows["c"].processed_at
    assert rows["bad"].processed_at is None and rows["bad"].last_error == "subscribers failed: test-batch"
    assert rows["bad"].attempts == 1 and rows["bad"].retry_at > timezone.now()  # waits its backoff


@pytest.mark.django_db(transaction=True)  # operator_scope reads on its own connection
def test_a_failing_event_backs_off_does_not_stall_the_rest_and_is_given_up_then_redispatched(settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    persona = fresh_persona("Poison Studio")
    tenant = str(persona.tenant.id)
    runs: list[str] = []

    def handler(event):
        runs.append(event.data["title"])
        if event.data["title"] == "poison":
            raise ValueError("boom")

    events.subscribe("test-poison", handler)
    try:
        create_meeting(persona, "poison")
        before = timezone.now()
        assert drain_entity_events.run(tenant) == 1
        after = timezone.now()
        for title in ("a", "b"):
            create_meeting(persona, title)
        # The failed event is not taken again before its retry time: the others go through
        assert drain_entity_events.run(tenant) == 2
        assert runs == ["poison", "a", "b"]
        with operator_scope("test"):
            poison = EntityEvent.objects.get(tenant=persona.tenant, data__title="poison")
        assert (poison.attempts, poison.processed_at) == (1, None)
        assert before + dt.timedelta(seconds=10) <= poison.retry_at <= after + dt.timedelta(seconds=10)
        # Retried on the backoff schedule (10 s, then 20 s), then given up after 3 runs
        for wait in (11, 21):
            with operator_scope("test"):
                EntityEvent.objects.filter(pk=poison.pk).update(retry_at=timezone.now() - dt.timedelta(seconds=1))
            assert drain_entity_events.run(tenant) == 1, wait
        with operator_scope("test"):
            poison.refresh_from_db()
        assert runs.count("poison") == 3
        assert poison.failed_at is not None and poison.processed_at is not None and poison.retry_at is None
        assert poison.last_error == "subscribers failed: test-poison (given up after 3 runs)"
        assert drain_entity_events.run(tenant) == 0  # given up: left alone
        # The admin's re-dispatch starts it over
        with operator_scope("test"):
            assert events.redispatch(EntityEvent.objects.filter(pk=poison.pk)) == 1
            poison.refresh_from_db()
        assert (poison.attempts, poison.failed_at, poison.processed_at, poison.retry_at) == (0, None, None, None)
    finally:
        events.unsubscribe("test-poison")


def test_outbox_retry_delay_doubles_from_ten_seconds_up_to_an_hour():
    assert [events.retry_delay(n).total_seconds() for n in (1, 2, 3, 9, 10, 20)] == [10, 20, 40, 2560, 3600, 3600]


# --------------------------------------------------------------------------- leases and waves


@pytest.mark.django_db
def test_a_batch_larger_than_the_send_concurrency_gets_leases_for_its_waves(settings):
    settings.OUTGOING_WEBHOOK_SEND_CONCURRENCY = 2
    settings.OUTGOING_WEBHOOK_LEASE_MARGIN_SECONDS = 5
    persona = fresh_persona("Engine Studio")
    create_outgoing_webhook(persona, "http://127.0.0.1:9/hook", timeout_seconds=10)
    for i in range(5):
        create_meeting(persona, f"m{i}")
    with tenant_scope(persona.tenant.id):
        evs = list(EntityEvent.objects.filter(processed_at__isnull=True).order_by("created_at"))
        before = timezone.now()
        created = services.deliveries_create_for_events(events=evs)
        rows = list(WebhookLog.objects.filter(direction="outgoing"))
    assert len(created) == len(rows) == 5
    # 5 attempts, 2 at a time: 3 waves of at most 2 × 10 s each, plus the margin.
    for row in rows:
        assert row.status == "pending" and row.claim_count == 1
        lease = (row.next_retry_at - before).total_seconds()
        assert 3 * 2 * 10 + 5 <= lease < 3 * 2 * 10 + 5 + 5


# --------------------------------------------------------------------------- keep-alive


def test_outbound_send_reuses_one_connection_per_checked_address():
    with Receiver(default=Plan(200, body=b"{}")) as srv:
        results = [
            outbound.send(method="POST", url=srv.url, headers={}, body=b"{}", timeout=5, allow_private=True)
            for _ in range(3)
        ]
    assert [r.status for r in results] == [200, 200, 200]
    assert len({r.client_port for r in srv.requests}) == 1  # one TCP connection for all three requests


def test_outbound_send_does_not_carry_cookies_between_requests():
    with Receiver(default=Plan(200, body=b"", headers={"Set-Cookie": "sid=tenant-a"})) as srv:
        for _ in range(2):
            outbound.send(method="POST", url=srv.url, headers={}, body=b"{}", timeout=5, allow_private=True)
    seen = [r.headers.get("Cookie") for r in srv.requests]
    assert seen == [None, None]


# --------------------------------------------------------------------------- end to end


@pytest.mark.e2e
def test_many_events_are_each_delivered_once_with_exact_counters(celery_worker_thread):
    """Events committed faster than one at a time are drained in batches; every
    (event, webhook) pair arrives exactly once and the counters add up."""
    persona = fresh_persona("Engine Studio")
    count = 30
    with Receiver() as one, Receiver() as two:
        hooks = [create_outgoing_webhook(persona, one.url), create_outgoing_webhook(persona, two.url)]
        for i in range(count):
            create_meeting(persona, f"meeting {i}")
        one.wait_for(count, timeout=30)
        two.wait_for(count, timeout=30)

        def all_recorded() -> bool:
            with tenant_scope(persona.tenant.id):
                return WebhookLog.objects.filter(direction="outgoing", status="success").count() == 2 * count

        wait_until(all_recorded, 30, 0.05, f"{2 * count} successful outgoing rows")
        deliveries = [r.headers["X-Webhook-Delivery"] for r in one.requests + two.requests]

    assert len(deliveries) == len(set(deliveries)) == 2 * count
    with tenant_scope(persona.tenant.id):
        rows = list(WebhookLog.objects.filter(direction="outgoing"))
        fresh = list(OutgoingWebhook.objects.filter(pk__in=[h.pk for h in hooks]))
    assert {(r.status, r.claim_count, r.attempt) for r in rows} == {("success", 1, 1)}
    assert sorted((w.total_sent, w.total_failed, w.consecutive_failures, w.last_status) for w in fresh) == [
        (count, 0, 0, "success"), (count, 0, 0, "success")]


# --------------------------------------------------------------------------- dispatcher edge cases


def _pending_row(persona, webhook_id, **extra) -> WebhookLog:
    fields = dict(
        tenant=persona.tenant, webhook_id=webhook_id, webhook_type="outgoing", direction="outgoing", method="POST",
        url="http://127.0.0.1:9/hook", status="pending", attempt=1, max_attempts=3, claim_count=0,
        next_retry_at=timezone.now() - dt.timedelta(seconds=1), delivery_id=uuid.uuid4(),
        event_type="meeting.created", body={"a": 1}, body_text='{"a":1}', result={"trigger": "event"},
    )
    fields.update(extra)
    with tenant_scope(persona.tenant.id):
        return WebhookLog.objects.create(**fields)


@pytest.mark.django_db
def test_dispatcher_skips_attempts_of_disabled_and_deleted_webhooks(monkeypatch):
    persona = fresh_persona("Engine Studio")
    disabled = create_outgoing_webhook(persona, "http://127.0.0.1:9/hook")
    with tenant_scope(persona.tenant.id):
        OutgoingWebhook.objects.filter(pk=disabled.pk).update(is_enabled=False)
    off = _pending_row(persona, disabled.pk)
    gone = _pending_row(persona, uuid.uuid4())
    monkeypatch.setattr(outbound, "send", lambda **kw: pytest.fail("nothing may be sent"))

    totals = services.deliveries_dispatch(tenant_id=str(persona.tenant.id))

    assert totals["skipped"] == 2 and totals["sent"] == 0
    with tenant_scope(persona.tenant.id):
        rows = {r.pk: r for r in WebhookLog.objects.filter(pk__in=[off.pk, gone.pk])}
    assert (rows[off.pk].status, rows[off.pk].error_message) == ("skipped", "webhook disabled")
    assert (rows[gone.pk].status, rows[gone.pk].error_message) == ("skipped", "webhook deleted")
    # issue 14 item 6: the English stays as logged; a reader of the log reads it in their language
    from django.utils import translation
    with translation.override("he"):
        assert (rows[off.pk].error_text, rows[gone.pk].error_text) == ("ה-webhook מושבת", "ה-webhook נמחק")
    with translation.override("en"):
        assert (rows[off.pk].error_text, rows[gone.pk].error_text) == ("webhook disabled", "webhook deleted")
    assert rows[off.pk].result["trigger"] == "event"  # the row's own result is kept


@pytest.mark.django_db
def test_a_result_arriving_after_the_lease_was_taken_over_is_dropped(monkeypatch):
    persona = fresh_persona("Engine Studio")
    hook = create_outgoing_webhook(persona, "http://127.0.0.1:9/hook")
    row = _pending_row(persona, hook.pk)

    def slow_send(**kwargs):
        # Meanwhile the lease ran out and another worker claimed the attempt.
        with tenant_scope(persona.tenant.id):
            assert WebhookLog.objects.filter(pk=row.pk).update(claim_count=2) == 1
        return outbound.OutboundResult(status=200)

    monkeypatch.setattr(outbound, "send", slow_send)
    totals = services.deliveries_dispatch(tenant_id=str(persona.tenant.id))

    assert (totals["sent"], totals["superseded"]) == (1, 1)
    with tenant_scope(persona.tenant.id):
        fresh = WebhookLog.objects.get(pk=row.pk)
        counters = OutgoingWebhook.objects.values_list("total_sent", "total_failed").get(pk=hook.pk)
    assert (fresh.status, fresh.claim_count, fresh.response_status) == ("pending", 2, None)  # the new owner's to record
    assert counters == (0, 0)


@pytest.mark.django_db(transaction=True)  # operator_scope reads on its own connection
def test_an_attempt_whose_workers_keep_dying_is_recorded_as_failed(settings):
    settings.OUTGOING_WEBHOOK_MAX_CLAIMS = 3
    persona = fresh_persona("Engine Studio")
    hook = create_outgoing_webhook(persona, "http://127.0.0.1:9/hook")
    row = _pending_row(persona, hook.pk, claim_count=3)

    assert services.deliveries_sweep()["abandoned"] >= 1

    with tenant_scope(persona.tenant.id):
        fresh = WebhookLog.objects.get(pk=row.pk)
        counters = OutgoingWebhook.objects.values_list("total_failed", "consecutive_failures").get(pk=hook.pk)
    assert fresh.status == "failed" and fresh.error_message == "worker lost 3 times during this attempt"
    # Recorded as a failed attempt: the delivery goes on with attempt 2 on the schedule
    # (linear, 60 s × 1), so it is not final and the counters wait.
    assert (fresh.next_retry_at - fresh.completed_at).total_seconds() == 60
    assert counters == (0, 0)


@pytest.mark.e2e
def test_a_failing_receiver_is_left_to_the_dispatcher_and_a_healthy_one_is_sent_at_once(celery_worker_thread):
    persona = fresh_persona("Engine Studio")
    with Receiver() as healthy_rx, Receiver() as failing_rx:
        healthy = create_outgoing_webhook(persona, healthy_rx.url)
        failing = create_outgoing_webhook(persona, failing_rx.url)
        with tenant_scope(persona.tenant.id):
            OutgoingWebhook.objects.filter(pk=failing.pk).update(last_status="failed")  # its last attempt failed
        create_meeting(persona)
        healthy_rx.wait_for(1)
        failing_rx.wait_for(1)  # still delivered, through the dispatcher

        def both_succeeded() -> dict | None:
            with tenant_scope(persona.tenant.id):
                rows = {r.webhook_id: r for r in WebhookLog.objects.filter(direction="outgoing")}
            return rows if len(rows) == 2 and all(r.status == "success" for r in rows.values()) else None

        rows = wait_until(both_succeeded, 20, 0.05, "both outgoing rows to be recorded as successes")

    assert rows[healthy.pk].status == rows[failing.pk].status == "success"
    assert rows[healthy.pk].claim_count == rows[failing.pk].claim_count == 1  # one claim each, by drain or dispatcher
    with tenant_scope(persona.tenant.id):
        healed = OutgoingWebhook.objects.get(pk=failing.pk)
    assert healed.last_status == "success"  # healed
    assert 0 <= healed.last_duration_ms < 2000  # answered quickly: back on the drain's path


@pytest.mark.django_db
@pytest.mark.parametrize("lagging", [{"last_status": "failed"}, {"last_status": "success", "last_duration_ms": 2500}])
def test_the_drain_claims_healthy_receivers_and_leaves_failing_or_slow_ones_unclaimed(lagging):
    persona = fresh_persona("Engine Studio")
    healthy = create_outgoing_webhook(persona, "http://127.0.0.1:9/a")
    failing = create_outgoing_webhook(persona, "http://127.0.0.1:9/b")
    with tenant_scope(persona.tenant.id):
        OutgoingWebhook.objects.filter(pk=healthy.pk).update(last_status="success", last_duration_ms=1999)
        OutgoingWebhook.objects.filter(pk=failing.pk).update(**lagging)
    create_meeting(persona)
    with tenant_scope(persona.tenant.id):
        evs = list(EntityEvent.objects.filter(processed_at__isnull=True))
        services.deliveries_create_for_events(events=evs)
        rows = {r.webhook_id: r for r in WebhookLog.objects.filter(direction="outgoing")}
    assert rows[healthy.pk].claim_count == 1 and rows[healthy.pk].next_retry_at > timezone.now()  # leased to this drain
    assert rows[failing.pk].claim_count == 0 and rows[failing.pk].next_retry_at <= timezone.now()  # due for the dispatcher


@pytest.mark.django_db
def test_an_attempt_that_could_not_be_prepared_is_said_in_the_readers_language(monkeypatch):
    # issue 14 item 6: a broken signer's failure is logged in English, read in the reader's language
    import dataclasses

    from django.utils import translation

    from webhooks.outgoing import delivery

    persona = fresh_persona("Engine Studio")
    hook = create_outgoing_webhook(persona, "http://127.0.0.1:9/hook")
    row = _pending_row(persona, hook.pk)
    real = delivery.targets_for

    def broken_sign(*args, **kwargs):
        raise KeyError("secret")

    def targets(rows):
        return {pk: dataclasses.replace(t, sign=broken_sign) if t is not None and not isinstance(t, str) else t
                for pk, t in real(rows).items()}

    monkeypatch.setattr(delivery, "targets_for", targets)
    monkeypatch.setattr(outbound, "send", lambda **kw: pytest.fail("nothing may be sent"))

    services.deliveries_dispatch(tenant_id=str(persona.tenant.id))

    with tenant_scope(persona.tenant.id):
        row.refresh_from_db()
    assert (row.status, row.error_message) == ("failed", "request could not be prepared: KeyError")
    with translation.override("he"):
        assert row.error_text == "לא ניתן היה להכין את הבקשה: KeyError"
    with translation.override("en"):
        assert row.error_text == "request could not be prepared: KeyError"
