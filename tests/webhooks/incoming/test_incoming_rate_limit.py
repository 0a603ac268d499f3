"""The public endpoint's per-webhook rate limit: leases from a shared Redis window."""

from __future__ import annotations

import time
import uuid

import pytest
import time_machine
from django.conf import settings

from webhooks.incoming import limits

pytestmark = pytest.mark.skipif(not settings.MODE.redis_url, reason="the shared window lives in Redis")


class Process:
    """One web process: its own lease table, the shared Redis window."""

    def __init__(self, monkeypatch):
        self.leases: dict = {}
        self.monkeypatch = monkeypatch

    def ask(self, webhook_id: str, limit: int) -> bool:
        self.monkeypatch.setattr(limits, "_leases", self.leases)
        return limits.rate_limited(webhook_id, limit)


def count_round_trips(monkeypatch) -> list[int]:
    calls = [0]
    client = limits._client()
    original = client.pipeline

    def pipeline(*args, **kwargs):
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(client, "pipeline", pipeline)
    return calls


def test_lease_size_is_exact_up_to_100_per_second_then_one_percent():
    assert [limits.lease_size(n) for n in (1, 50, 100, 199, 1000, 50_000, 10**6)] == [1, 1, 1, 1, 10, 100, 100]


def test_two_processes_never_admit_more_than_the_limit_together(monkeypatch):
    webhook = str(uuid.uuid4())
    a, b = Process(monkeypatch), Process(monkeypatch)
    trips = count_round_trips(monkeypatch)
    with time_machine.travel(time.time(), tick=False):
        admitted = sum(not p.ask(webhook, 1000) for _ in range(700) for p in (a, b))
        assert admitted == 1000  # 1,400 asked; exactly the limit admitted (leases of 10 divide it evenly)
        assert trips[0] == 100 + 2  # one per lease of 10, then one each to learn the window is spent
        before = trips[0]
        assert all(p.ask(webhook, 1000) for _ in range(50) for p in (a, b))
        assert trips[0] == before  # an exhausted window is refused locally until the second ends
    with time_machine.travel(time.time() + 1.5, tick=False):
        assert a.ask(webhook, 1000) is False  # a new second, a new window


def test_default_limit_is_counted_request_by_request(monkeypatch):
    webhook = str(uuid.uuid4())
    a, b = Process(monkeypatch), Process(monkeypatch)
    with time_machine.travel(time.time(), tick=False):
        answers = [p.ask(webhook, 50) for _ in range(30) for p in (a, b)]
    assert answers.count(False) == 50  # split across processes, nothing stranded in leases
    assert answers[:50] == [False] * 50


def test_a_redis_outage_fails_open(monkeypatch):
    class Broken:
        def pipeline(self, **kwargs):
            raise ConnectionError("down")

    monkeypatch.setattr(limits, "_client", lambda: Broken())
    monkeypatch.setattr(limits, "_leases", {})
    assert limits.rate_limited(str(uuid.uuid4()), 1) is False
