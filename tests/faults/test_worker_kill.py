"""kill -9 of the real worker (its whole process group) while it delivers outgoing
webhooks and processes stored incoming requests; a new worker is started as
`make run` would. Every event is delivered (the same delivery id on every try),
every stored request processed exactly once (issue 10 item 12)."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter

import pytest
import requests

from core.tenant_context import tenant_scope
from entities.models import Client as ClientEntity
from tests.faults.conftest import IncomingLoad
from tests.support.factories import fresh_persona
from tests.support.receiver import Plan, Receiver
from tests.support.waiting import wait_until
from tests.support.webhooks import LEADS_ACTIONS, create_outgoing_webhook, make_webhook
from webhooks.models import OutgoingWebhook, WebhookLog

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.timeout(150)]

EVENTS = 40
KNOBS = {
    "INCOMING_WEBHOOK_REDISPATCH_SECONDS": "3",
    "OUTBOX_REDISPATCH_AFTER_SECONDS": "3",
    "OUTGOING_WEBHOOK_LEASE_MARGIN_SECONDS": "1",
    "INCOMING_WEBHOOK_RATE_LIMIT": "0",  # the load is the point, not the limit
    "OUTGOING_WEBHOOK_SEND_CONCURRENCY": "4",  # 4 deliveries a second: the kill lands mid-way
}


def test_kill_9_of_the_worker_mid_delivery_and_mid_processing_loses_and_repeats_nothing(stack):
    persona = fresh_persona("Kill Studio")
    auth = {"Authorization": f"Bearer {persona.token}"}
    hook_in, secret = make_webhook(persona, name="Leads", actions=LEADS_ACTIONS)
    inbound = stack.url(f"/api/webhooks/tenant/{persona.tenant.id}/{hook_in.id}")
    with Receiver(default=Plan(delay=1.0)) as rx:
        hook_out = create_outgoing_webhook(persona, rx.url, timeout_seconds=2)
        stack.start("web", **KNOBS)
        stack.start("beat", **KNOBS)
        worker = stack.start("worker", **KNOBS)

        # Incoming: a sender posting leads all along, so the worker is always mid-batch.
        def processed() -> int:
            with tenant_scope(persona.tenant.id):
                return WebhookLog.objects.filter(webhook_id=hook_in.id).exclude(status="pending").count()

        load = IncomingLoad(inbound, secret, rate=100).start()
        stack.cleanups.append(load.stop)
        wait_until(lambda: processed() >= 25, 30, 0.05, "incoming processing under way")

        # Outgoing: EVENTS meetings through the API, each delivered by the worker (1 s per request).
        session = requests.Session()
        for i in range(EVENTS):
            start = dt.datetime(2030, 1, 1, 9, tzinfo=dt.UTC) + dt.timedelta(days=i)
            r = session.post(stack.url("/api/meetings"), headers=auth, timeout=10, json={
                "title": f"Visit {i}", "startTime": start.isoformat(),
                "endTime": (start + dt.timedelta(hours=1)).isoformat()})
            assert r.status_code == 201, r.text

        # kill -9 while both are under way.
        wait_until(lambda: len(rx.requests) >= 5, 30, 0.02, "deliveries under way")
        worker.kill()
        killed_at = time.monotonic()
        in_flight_out = len({r.headers["X-Webhook-Delivery"] for r in rx.requests})
        done_in, stored_in = processed(), len(load.accepted)
        assert in_flight_out < EVENTS and done_in < stored_in, (in_flight_out, done_in)  # the kill hit mid-work

        stack.start("worker", **KNOBS)  # what the supervisor does
        time.sleep(2)
        load.stop()
        sent = len(load.accepted)
        wait_until(lambda: len({r.headers["X-Webhook-Delivery"] for r in rx.requests}) >= EVENTS, 60, 0.2,
                   "every event delivered")
        wait_until(lambda: processed() >= sent, 60, 0.2, "every stored request processed")

        def outcomes_recorded() -> bool:  # a receipt is recorded after the answer, later on a loaded machine
            with tenant_scope(persona.tenant.id):
                return not WebhookLog.objects.filter(webhook_id=hook_out.id, status="pending").exists()

        wait_until(outcomes_recorded, 60, 0.2, "every delivery's outcome recorded")
        recovery = time.monotonic() - killed_at
        time.sleep(1)  # late repeats, if any, would arrive now

        by_delivery = Counter(r.headers["X-Webhook-Delivery"] for r in rx.requests)
        with tenant_scope(persona.tenant.id):
            out_rows = list(WebhookLog.objects.filter(webhook_id=hook_out.id).values_list("delivery_id", "status"))
            in_statuses = Counter(WebhookLog.objects.filter(webhook_id=hook_in.id).values_list("status", flat=True))
            names = Counter(ClientEntity.objects.values_list("name", flat=True))
            total_sent = OutgoingWebhook.objects.get(pk=hook_out.pk).total_sent
    repeats = sum(n - 1 for n in by_delivery.values())
    print(f"\nFAULT kill-9: at kill: {in_flight_out}/{EVENTS} deliveries started, {done_in}/{stored_in} requests done; "
          f"after: deliveries={len(by_delivery)} repeats_same_id={repeats} incoming={dict(in_statuses)} "
          f"clients={sum(names.values())} recovery={recovery:.1f}s")
    assert len(by_delivery) == EVENTS
    assert {str(d) for d, _ in out_rows} == set(by_delivery)  # every try carried its row's delivery id
    assert Counter(s for _, s in out_rows) == {"success": EVENTS} and total_sent == EVENTS
    assert set(load.statuses()) == {202} and load.retries == 0
    assert in_statuses == {"success": sent}
    assert set(names) == set(load.accepted) and max(names.values()) == 1  # each request's entity exactly once
