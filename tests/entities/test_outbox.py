"""The entity-event outbox: same transaction, dispatch on commit, sweeper after a broker outage."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from architect_studio.celery import app as celery_app
from core.tenant_context import operator_scope, tenant_scope
from entities import events
from entities.models import EntityEvent
from entities.services import entity_create
from entities.tasks import sweep_undispatched_events
from tests.support.factories import make_persona
from tests.support.waiting import wait_until


def _meeting_data():
    start = timezone.now() + timedelta(days=2)
    return {"title": "Site visit", "start_time": start.isoformat(), "end_time": (start + timedelta(hours=1)).isoformat()}


def _point_broker_at(app, url: str) -> None:
    """Re-point the *publishing* side of the app at another broker URL (the worker keeps its own)."""
    from kombu import pools

    app.conf.broker_url = url
    pools.reset()  # kombu keeps producer pools per connection, process-wide
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


def _wait_processed(event_id, timeout=15.0) -> EntityEvent:
    def processed() -> EntityEvent | None:
        with operator_scope("test poll"):
            row = EntityEvent.objects.get(pk=event_id)
        return row if row.processed_at is not None else None

    return wait_until(processed, timeout, 0.1, f"event {event_id} to be processed")


@pytest.mark.django_db
def test_rollback_leaves_no_event():
    persona = make_persona("Rollback Studio", "rb@example.com")
    with pytest.raises(RuntimeError), transaction.atomic():
        with tenant_scope(persona.tenant.id):
            entity_create(tenant=persona.tenant, entity_type="meeting", data=_meeting_data())
        raise RuntimeError("abort")
    with operator_scope("test"):
        assert EntityEvent.objects.count() == 0


def _take_queued(task_name: str, *, expect: int, timeout: float = 5.0) -> list[list]:
    """Take messages off the test broker's queue (as a worker would): wait until ``expect`` of
    ``task_name`` arrived (or ``timeout`` passed), then take what else is already there.
    The args of every ``task_name`` message taken."""
    found: list[list] = []
    deadline = time.monotonic() + timeout
    with celery_app.connection_for_read() as conn:
        queue = conn.SimpleQueue(celery_app.conf.task_default_queue)
        try:
            while True:
                waiting = len(found) < expect and time.monotonic() < deadline
                try:
                    message = queue.get(block=waiting, timeout=0.1 if waiting else None)
                except queue.Empty:
                    if waiting:
                        continue
                    return found
                if message.headers["task"] == task_name:
                    found.append(list(message.payload[0]))
                message.ack()
        finally:
            queue.close()


@pytest.mark.django_db
def test_event_written_in_same_transaction_and_dispatched_on_commit(django_capture_on_commit_callbacks, empty_broker_queue):
    from core.kick import flush_soon
    from entities.tasks import drain_entity_events

    persona = make_persona("Commit Studio", "commit@example.com")
    tid = str(persona.tenant.id)
    with django_capture_on_commit_callbacks(execute=True):
        with tenant_scope(persona.tenant.id):
            meeting = entity_create(tenant=persona.tenant, entity_type="meeting", data=_meeting_data())
            event = EntityEvent.objects.get(entity_id=meeting.id)
        assert event.enqueued_at is None and event.processed_at is None
    assert event.event == "created" and event.entity_type == "meeting"
    assert event.data["title"] == "Site visit" and "startTime" in event.data
    # the commit queued the tenant's outbox drain in the broker, once
    flush_soon()  # the kicker thread's step, now
    assert _take_queued(drain_entity_events.name, expect=1) == [[tid]]
    # and that message, run as a worker runs it, processes the event
    assert drain_entity_events(tid) == 1
    with tenant_scope(persona.tenant.id):
        assert EntityEvent.objects.get(pk=event.pk).processed_at is not None


@pytest.mark.e2e
def test_broker_down_at_commit_then_sweeper_delivers(celery_worker_thread, settings, monkeypatch):
    """Given the broker is unreachable when the change commits, the event row stays;
    when the broker is back, the sweeper re-dispatches and the real worker processes it."""
    from core import kick as kick_module

    monkeypatch.setattr(kick_module, "_redis", lambda: None)  # kick at commit, not from the kicker thread
    seen: list[str] = []
    events.subscribe("test-recorder", lambda ev: seen.append(str(ev.id)))
    persona = make_persona("Outage Studio", "outage@example.com")
    good_url = celery_app.conf.broker_url
    try:
        _point_broker_at(celery_app, "redis://127.0.0.1:1/0")  # nothing listens there
        with tenant_scope(persona.tenant.id):
            meeting = entity_create(tenant=persona.tenant, entity_type="meeting", data=_meeting_data())
    finally:
        _point_broker_at(celery_app, good_url)
    with operator_scope("test"):
        event = EntityEvent.objects.get(entity_id=meeting.id)
    assert event.processed_at is None

    settings.OUTBOX_REDISPATCH_AFTER_SECONDS = 0
    time.sleep(0.05)
    assert sweep_undispatched_events() >= 1
    processed = _wait_processed(event.id)
    assert str(event.id) in seen
    assert processed.enqueue_count == 1
    events._SUBSCRIBERS.pop("test-recorder", None)


@pytest.mark.e2e
def test_commit_dispatches_to_real_worker(celery_worker_thread):
    persona = make_persona("Worker Studio", "worker@example.com")
    with tenant_scope(persona.tenant.id):
        meeting = entity_create(tenant=persona.tenant, entity_type="meeting", data=_meeting_data())
    with operator_scope("test"):
        event = EntityEvent.objects.get(entity_id=meeting.id)
    assert _wait_processed(event.id).last_error == ""
