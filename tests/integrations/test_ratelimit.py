"""The shared provider rate limiter (integrations/ratelimit.py): the rolling-window guarantee.

A provider that allows N calls per period counts them in any rolling window of that period
(the Google Calendar fake's ``limit_rate``; HubSpot's TEN_SECONDLY_ROLLING policy,
https://developers.hubspot.com/docs/api/usage-details#rate-limits). These tests record the
time of every granted slot, in real time, and check that no window of the period holds more
than N of them; Redis (TEST_REDIS_DB) and the in-process fallback alike.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid

import pytest
import redis

from integrations import ratelimit


@pytest.fixture(autouse=True)
def _limiter_on_test_redis(settings):
    settings.INTEGRATIONS_RATELIMIT_REDIS_URL = settings.CELERY_BROKER_URL


def _bucket(requests: int, per_seconds: float) -> ratelimit.Bucket:
    return ratelimit.bucket_for("test", uuid.uuid4().hex, requests, per_seconds)


def _closed_redis_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def most_in_any_window(times: list[float], per_seconds: float) -> int:
    """The most calls any half-open window [t, t + per_seconds) holds (as the fake counts)."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= per_seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


class Recorder:
    """Acquires from one bucket in a loop and records when each slot was granted."""

    def __init__(self, limiter: ratelimit.RateLimiter, bucket, priority=ratelimit.NORMAL):
        self.limiter, self.bucket, self.priority = limiter, bucket, priority
        self.times: list[float] = []

    def run(self, n: int) -> None:
        for _ in range(n):
            self.limiter.acquire(self.bucket, priority=self.priority, max_wait=30)
            self.times.append(time.time())


def test_most_in_any_window_counts_a_burst_after_a_refill():
    # the old token bucket's pattern: 10 at once, then 10 more as it refills in the same second
    assert most_in_any_window([0.0] * 10 + [0.1 * k for k in range(1, 10)], 1.0) == 19
    assert most_in_any_window([0.1 * k for k in range(30)], 1.0) == 10


@pytest.mark.parametrize("url", ["redis", "down"])
def test_no_rolling_window_holds_more_than_the_figure_and_the_rate_is_reached(url, settings):
    limiter = ratelimit.RateLimiter(settings.CELERY_BROKER_URL if url == "redis" else _closed_redis_url())
    bucket = _bucket(10, 0.5)  # 20 per second
    rec = Recorder(limiter, bucket)
    started = time.time()
    rec.run(40)
    assert most_in_any_window(rec.times, 0.5) <= 10
    # steady state: the paced rate, within the margin (and this machine's scheduling)
    steady = (len(rec.times) - 11) / (rec.times[-1] - rec.times[10])
    assert steady >= 0.85 * 20, steady
    assert rec.times[-1] - started < 40 / 20 * 1.5


def test_two_limiters_in_threads_share_one_bucket_through_redis(settings):
    bucket = _bucket(8, 0.4)
    recs = [Recorder(ratelimit.RateLimiter(settings.CELERY_BROKER_URL), bucket) for _ in range(2)]
    threads = [threading.Thread(target=r.run, args=(20,)) for r in recs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    together = recs[0].times + recs[1].times
    assert len(together) == 40
    assert most_in_any_window(together, 0.4) <= 8
    assert all(len(r.times) == 20 for r in recs)


def test_in_process_fallback_holds_the_window_across_threads():
    bucket = _bucket(8, 0.4)
    recs = [Recorder(ratelimit.RateLimiter(_closed_redis_url()), bucket) for _ in range(2)]
    threads = [threading.Thread(target=r.run, args=(12,)) for r in recs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert most_in_any_window(recs[0].times + recs[1].times, 0.4) <= 8


@pytest.mark.parametrize("url", ["redis", "down"])
def test_a_burst_of_normal_work_leaves_the_last_share_to_high(url, settings):
    now = [1_000_000.0]
    limiter = ratelimit.RateLimiter(settings.CELERY_BROKER_URL if url == "redis" else _closed_redis_url(),
                                    clock=lambda: now[0])
    bucket = _bucket(10, 1)
    normal = sum(limiter.try_take(bucket, ratelimit.NORMAL)[0] for _ in range(20))
    assert normal == 9  # a burst stops short of the reserve
    assert limiter.try_take(bucket, ratelimit.HIGH) == (True, 0.0)  # HIGH gets it at once
    allowed, wait = limiter.try_take(bucket, ratelimit.HIGH)
    assert not allowed and wait == pytest.approx(bucket.window)  # and the window is full for everyone


@pytest.mark.parametrize("url", ["redis", "down"])
def test_paced_normal_work_reaches_the_full_figure(url, settings):
    now = [2_000_000.0]
    limiter = ratelimit.RateLimiter(settings.CELERY_BROKER_URL if url == "redis" else _closed_redis_url(),
                                    clock=lambda: now[0])
    bucket = _bucket(10, 1)
    granted = []
    for _ in range(200):  # a caller that comes back every 10 ms of fake time
        if limiter.try_take(bucket, ratelimit.NORMAL)[0]:
            granted.append(now[0])
        now[0] += 0.01
    assert most_in_any_window(granted, 1.0) <= 10
    assert most_in_any_window(granted, bucket.window) == 10  # every slot the margin leaves is used


@pytest.mark.parametrize("url", ["redis", "down"])
def test_block_closes_the_bucket_then_it_reopens_one_slot_per_interval(url, settings):
    now = [3_000_000.0]
    limiter = ratelimit.RateLimiter(settings.CELERY_BROKER_URL if url == "redis" else _closed_redis_url(),
                                    clock=lambda: now[0])
    other = ratelimit.RateLimiter(settings.CELERY_BROKER_URL if url == "redis" else _closed_redis_url(),
                                  clock=lambda: now[0])
    bucket = _bucket(10, 1)
    assert limiter.try_take(bucket, ratelimit.HIGH)[0]
    limiter.block(bucket, 2)
    allowed, wait = other.try_take(bucket, ratelimit.HIGH)  # closed for every limiter
    assert not allowed and wait == pytest.approx(2.0)
    now[0] += 2.0
    granted = []
    for _ in range(300):  # HIGH, the greediest caller, polling every 5 ms for 1.5 s
        if other.try_take(bucket, ratelimit.HIGH)[0]:
            granted.append(now[0])
        now[0] += 0.005
    gaps = [b - a for a, b in zip(granted, granted[1:], strict=False)]
    assert granted[0] == pytest.approx(3_000_002.0)
    assert min(gaps) >= bucket.interval - 0.006  # no burst: one slot per interval
    assert len(granted) >= 14


def test_block_is_stored_for_every_process(settings):
    limiter = ratelimit.RateLimiter(settings.CELERY_BROKER_URL, clock=lambda: 4_000_000.0)
    bucket = _bucket(5, 1)
    limiter.block(bucket, 3)
    stored = redis.Redis.from_url(settings.CELERY_BROKER_URL).hget(bucket.key, "blocked_until")
    assert float(stored) == pytest.approx(4_000_003.0)
