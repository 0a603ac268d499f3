"""Redis (the hub's own redis-server) killed three times for 1 s and then for 20 s under
incoming load, against real web, worker and beat processes: every request is accepted and stored while it is
gone, the worker and beat ride the outage out, and everything is processed once
after it returns (issue 10 items 9 and 12)."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from core.tenant_context import operator_scope, tenant_scope
from entities.models import Client as ClientEntity
from tests.faults.conftest import IncomingLoad
from tests.support.factories import fresh_persona
from tests.support.waiting import wait_until
from tests.support.webhooks import LEADS_ACTIONS, make_webhook
from webhooks.models import WebhookLog

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.timeout(150)]

OUTAGE_SECONDS = 20


def test_a_20_second_redis_outage_under_incoming_load_loses_nothing(stack, redis_server):
    persona = fresh_persona("Outage Studio")
    webhook, secret = make_webhook(persona, name="Leads", actions=LEADS_ACTIONS)
    knobs = {"INCOMING_WEBHOOK_REDISPATCH_SECONDS": "5"}
    stack.start("web", **knobs)
    worker = stack.start("worker", **knobs)
    beat = stack.start("beat", **knobs)
    worker_pid, beat_pid = worker.proc.pid, beat.proc.pid
    load = IncomingLoad(stack.url(f"/api/webhooks/tenant/{persona.tenant.id}/{webhook.id}"), secret).start()
    stack.cleanups.append(load.stop)
    try:
        time.sleep(2)
        for _ in range(3):  # short blips first (one second each: how the thread pool was seen to crash)
            redis_server.stop()
            time.sleep(1)
            redis_server.start()
            time.sleep(1.5)
        redis_server.stop()
        down_at = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        redis_server.start()
        up_at = time.monotonic()
    finally:
        load.stop()  # nothing new after Redis returns: only the sweeper can wake the work stored meanwhile
    during = load.statuses(since=down_at)
    sent = len(load.accepted)

    def processed() -> int:
        with tenant_scope(persona.tenant.id):
            return WebhookLog.objects.filter(webhook_id=webhook.id).exclude(status="pending").count()

    wait_until(lambda: processed() >= sent or not worker.alive, 60, 0.25, "every stored request to be processed")
    recovery = time.monotonic() - up_at
    assert worker.alive and worker.proc.pid == worker_pid, worker.log()[-3000:]  # rode it out, not restarted

    with tenant_scope(persona.tenant.id):
        statuses = Counter(WebhookLog.objects.filter(webhook_id=webhook.id).values_list("status", flat=True))
        names = Counter(ClientEntity.objects.values_list("name", flat=True))
    with operator_scope("test"):
        pending_elsewhere = WebhookLog.objects.filter(status="pending", direction="incoming").count()
    print(f"\nFAULT redis-20s: sent={sent} during_outage={during} retries={load.retries} "
          f"stored={dict(statuses)} clients={sum(names.values())} recovery={recovery:.1f}s "
          f"outage={up_at - down_at:.1f}s")
    # Without core.broker's transport the worker died in about half the runs, thread or
    # prefork pool alike: "Unrecoverable error: AttributeError: 'NoneType' object has no
    # attribute 'hostname'" (restoring unacked messages on close), or "... 'client'" (a
    # late ack on the dead channel after the reconnect).
    # the load ran through the whole outage: answered from its first seconds to its last,
    # never silent for long (a count of requests would measure the machine's speed instead)
    answered = sorted(t for t, _ in load.answers if down_at <= t <= up_at)
    assert answered and answered[0] - down_at < 5 and up_at - answered[-1] < 5, (down_at, answered[:3], up_at)
    assert max(b - a for a, b in zip([down_at, *answered], [*answered, up_at], strict=True)) < 5
    assert set(during) == {202}, during  # accepted and stored while Redis was gone
    assert load.retries == 0
    assert statuses == {"success": sent}
    assert set(names) == set(load.accepted) and max(names.values()) == 1  # each processed exactly once
    assert pending_elsewhere == 0
    assert beat.alive and beat.proc.pid == beat_pid, beat.log()[-3000:]
    assert "Connected to " in worker.log().split("Connection to broker lost")[-1]  # reconnected after the last loss
