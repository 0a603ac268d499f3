"""A Redis that hangs (accepts connections, never answers) against a real web process:
entity writes, incoming requests and /healthz answer at once (issue 10 item 9)."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
import requests

from core.tenant_context import tenant_scope
from tests.support.factories import fresh_persona
from webhooks.incoming import services as incoming
from webhooks.signing import hex_hmac_sha256

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.timeout(120)]


def test_writes_and_incoming_requests_never_wait_on_a_hung_redis(hung_stack):
    persona = fresh_persona("Hang Studio")
    with tenant_scope(persona.tenant.id):
        webhook, secret = incoming.incoming_create(tenant=persona.tenant, data={
            "name": "Leads", "actions": [{"type": "create_entity", "config": {
                "entityType": "client", "fieldMappings": {"name": "lead.name"}}}]})
    hung_stack.start("web")
    auth = {"Authorization": f"Bearer {persona.token}"}

    t0 = time.monotonic()
    health = requests.get(hung_stack.url("/healthz"), timeout=10)
    assert health.status_code == 200 and health.json()["database"] == "ok", health.text
    assert health.json()["broker"] != "ok"
    assert time.monotonic() - t0 < 2.5

    slowest = 0.0
    for i in range(5):
        start = dt.datetime(2030, 1, 1, 10, tzinfo=dt.UTC) + dt.timedelta(days=i)
        t0 = time.monotonic()
        created = requests.post(hung_stack.url("/api/meetings"), headers=auth, timeout=30, json={
            "title": f"Visit {i}", "startTime": start.isoformat(), "endTime": (start + dt.timedelta(hours=1)).isoformat()})
        slowest = max(slowest, time.monotonic() - t0)
        assert created.status_code == 201, created.text
    assert slowest < 1.0, f"an entity write waited {slowest:.1f} s on Redis"

    slowest = 0.0
    for i in range(5):
        body = json.dumps({"lead": {"name": f"Lead {i}"}}).encode()
        t0 = time.monotonic()
        answer = requests.post(hung_stack.url(f"/api/webhooks/tenant/{persona.tenant.id}/{webhook.id}"), data=body,
                               headers={"Content-Type": "application/json",
                                        "X-Webhook-Signature": hex_hmac_sha256(secret, body)}, timeout=30)
        slowest = max(slowest, time.monotonic() - t0)
        assert answer.status_code == 202, answer.text
    assert slowest < 1.0, f"an incoming request waited {slowest:.1f} s on Redis"
