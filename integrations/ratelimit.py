"""Per-provider-and-integration rate limits in Redis, shared by every process.

A provider that allows ``requests`` per ``per_seconds`` usually counts them in *any*
rolling window of that length (Google's "queries per 100 seconds", HubSpot's
TEN_SECONDLY_ROLLING). A token bucket of that figure can spend its whole capacity
at once and then refill: up to 2 x ``requests`` in one rolling window, and a 429.
So the limiter is a **sliding-window log** (a Redis sorted set of call times, one
Lua script: atomic across processes) with this guarantee: *no rolling window of
``per_seconds`` ever holds more than ``requests`` calls from the hub for a bucket*.

* The window the hub counts in is the provider's period plus a margin,
  ``WINDOW_MARGIN`` (5 %, at most ``MAX_MARGIN_SECONDS``): a call is counted when
  its slot is granted, the provider counts it when it arrives, and the two
  latencies differ from call to call. With a margin of 50 ms on a 1 s period the
  hub reaches ~95 % of the provider's figure with no 429 (bench/sync.py).
* Priority reserve (the seed's ``IntegrationRequestQueue``, requests processed in
  priority order within the limit, realised without an in-memory queue because
  callers live in many processes): HIGH may take any free slot of the window;
  NORMAL leaves 10 % of the window's slots free, LOW 30 %, *unless* it is
  paced, i.e. the newest call of the window is at least one emission interval
  (the window / ``requests``) old. So a burst of normal work stops short of the
  last share, which the high-priority caller gets at once, while steady normal
  work still runs at the full rate, one call per interval.
* A 429 with ``Retry-After`` (``block``) closes the bucket for everyone until
  then; the calls logged so far give way to the provider's word, and the window
  is filled with ``requests`` placeholder calls spaced one interval apart: the
  bucket reopens at ``Retry-After`` with one slot per interval, never a burst.

Without Redis (embedded mode) the same algorithm runs in-process; so it does
for a few seconds after any Redis error (``core.redis_client.is_down``): a
Redis outage slows nobody down and fails no provider call, and the guarantee
still holds per process. Call times are this host's ``time.time()`` (hosts of
one deployment are assumed NTP-synchronised).
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from core.redis_client import is_down, mark_down, redis_client

log = logging.getLogger("architect_studio.integrations")

HIGH, NORMAL, LOW = 10, 5, 0
_RESERVE_FRACTION = {HIGH: 0.0, NORMAL: 0.1, LOW: 0.3}
#: the hub counts in a window this much longer than the provider's period (send/arrival skew)
WINDOW_MARGIN = 0.05
MAX_MARGIN_SECONDS = 1.0
_EPSILON = 1e-6


def reserve_for(priority: int, capacity: int) -> float:
    if priority >= HIGH:
        fraction = 0.0
    elif priority >= NORMAL:
        fraction = _RESERVE_FRACTION[NORMAL]
    else:
        fraction = _RESERVE_FRACTION[LOW]
    return capacity * fraction


class RateLimited(Exception):
    """Waited ``max_wait`` seconds without getting a request slot."""

    def __init__(self, wait: float):
        super().__init__(f"rate limit: no request slot within the allowed wait (next in {wait:.1f}s)")
        self.wait = wait


@dataclass(frozen=True)
class Bucket:
    key: str
    capacity: int
    per_seconds: float

    @property
    def rate(self) -> float:
        return self.capacity / self.per_seconds

    @property
    def window(self) -> float:
        """The rolling window the hub counts in: the provider's period plus the margin."""
        return self.per_seconds + min(self.per_seconds * WINDOW_MARGIN, MAX_MARGIN_SECONDS)

    @property
    def interval(self) -> float:
        """One call per ``interval`` fills the window exactly: the paced rate."""
        return self.window / self.capacity

    @property
    def log_key(self) -> str:
        return f"{self.key}:log"


def max_count(bucket: Bucket, reserve: float) -> int:
    """The most calls a burst of this priority may leave in the window before taking one more."""
    return max(0, math.ceil(bucket.capacity - reserve) - 1)


def decide(bucket: Bucket, reserve: float, now: float, times: list[float]) -> tuple[bool, float]:
    """The rule on the window's call times (ascending, expired ones removed) -- mirrored in ``_TAKE``."""
    count, limit = len(times), max_count(bucket, reserve)
    paced = not times or now - times[-1] >= bucket.interval - _EPSILON
    if count <= limit or (count < bucket.capacity and paced):
        return True, 0.0
    until_free = times[count - bucket.capacity] + bucket.window - now if count >= bucket.capacity else 0.0
    until_reserve = times[count - limit - 1] + bucket.window - now
    until_paced = max(until_free, times[-1] + bucket.interval - now)
    return False, max(0.0, min(until_reserve, until_paced))


# KEYS[1] bucket hash (blocked_until), KEYS[2] the window's call log (sorted set of times)
# ARGV: capacity, window, interval, max_count (the reserve), now, member, epsilon
# Returns {allowed (0/1), seconds to wait (string)}.
_TAKE = """
local capacity = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local interval = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
local eps = tonumber(ARGV[7])
local blocked = tonumber(redis.call('HGET', KEYS[1], 'blocked_until')) or 0
if now < blocked then return {0, tostring(blocked - now)} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[2])
local newest = nil
if count > 0 then newest = tonumber(redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')[2]) end
local paced = (newest == nil) or (now - newest >= interval - eps)
if count <= limit or (count < capacity and paced) then
  redis.call('ZADD', KEYS[2], now, ARGV[6])
  redis.call('EXPIRE', KEYS[2], math.ceil(window) + 60)
  return {1, '0'}
end
local function at(rank) return tonumber(redis.call('ZRANGE', KEYS[2], rank, rank, 'WITHSCORES')[2]) end
local until_free = 0
if count >= capacity then until_free = at(count - capacity) + window - now end
local until_reserve = at(count - limit - 1) + window - now
local until_paced = math.max(until_free, newest + interval - now)
return {0, tostring(math.max(0, math.min(until_reserve, until_paced)))}
"""

# KEYS as above; ARGV: until, capacity, window, interval
# Closes the bucket until ``until``; the calls logged so far give way to the provider's word
# (its Retry-After says when it takes calls again) and ``capacity`` placeholder calls are laid
# so that one slot reopens per interval from then on (fixed members: a later block moves them).
_BLOCK = """
local untl = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local interval = tonumber(ARGV[4])
local current = tonumber(redis.call('HGET', KEYS[1], 'blocked_until')) or 0
if untl > current then
  redis.call('HSET', KEYS[1], 'blocked_until', string.format('%.6f', untl))
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[5]))
  for k = 0, capacity - 1 do
    redis.call('ZADD', KEYS[2], untl - window + k * interval, 'resume:' .. k)
  end
end
local ttl = math.ceil(math.max(0, untl - tonumber(ARGV[5]))) + math.ceil(window) + 60
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
return 1
"""


def placeholders(bucket: Bucket, until: float) -> list[float]:
    return [until - bucket.window + k * bucket.interval for k in range(bucket.capacity)]


def redis_url() -> str | None:
    return settings.INTEGRATIONS_RATELIMIT_REDIS_URL or settings.REDIS_URL


def _client(url: str):
    return redis_client(url, timeout=2)


class _LocalBuckets:
    """The same algorithm in-process (embedded mode, no Redis)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._times: dict[str, list[float]] = {}
        self._blocked: dict[str, float] = {}

    def take(self, bucket: Bucket, reserve: float, now: float) -> tuple[bool, float]:
        with self._lock:
            blocked = self._blocked.get(bucket.key, 0.0)
            if now < blocked:
                return False, blocked - now
            times = self._times.setdefault(bucket.key, [])
            del times[:bisect.bisect_right(times, now - bucket.window)]
            allowed, wait = decide(bucket, reserve, now, times)
            if allowed:
                bisect.insort(times, now)
            return allowed, wait

    def block(self, bucket: Bucket, until: float, now: float) -> None:
        with self._lock:
            if until <= self._blocked.get(bucket.key, 0.0):
                return
            self._blocked[bucket.key] = until
            times = [t for t in self._times.get(bucket.key, []) if t > now] + placeholders(bucket, until)
            self._times[bucket.key] = sorted(times)


_local = _LocalBuckets()


class RateLimiter:
    def __init__(self, url: str | None = None, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time):
        self.url = url if url is not None else redis_url()
        self.sleep = sleep
        self.clock = clock
        client = _client(self.url) if self.url else None
        self._take = client.register_script(_TAKE) if client else None
        self._block = client.register_script(_BLOCK) if client else None

    def try_take(self, bucket: Bucket, priority: int = NORMAL) -> tuple[bool, float]:
        reserve = reserve_for(priority, bucket.capacity)
        now = self.clock()
        if self._take is None or is_down(self.url):
            return _local.take(bucket, reserve, now)
        try:
            allowed, wait = self._take(
                keys=[bucket.key, bucket.log_key],
                args=[bucket.capacity, repr(bucket.window), repr(bucket.interval), max_count(bucket, reserve),
                      f"{now:.6f}", f"{now:.6f}:{uuid.uuid4().hex}", _EPSILON])
        except Exception as exc:  # noqa: BLE001 - Redis trouble: the in-process buckets stand in
            self._down(exc)
            return _local.take(bucket, reserve, now)
        return bool(int(allowed)), float(wait)

    def _down(self, exc: Exception) -> None:
        if mark_down(self.url):
            log.warning("provider rate limits: Redis unavailable (%s); counting in this process for now",
                        type(exc).__name__)

    def acquire(self, bucket: Bucket, *, priority: int = NORMAL, max_wait: float = 30.0) -> float:
        """Block until a request slot is taken; returns the seconds waited. Raises RateLimited."""
        waited = 0.0
        while True:
            allowed, wait = self.try_take(bucket, priority)
            if allowed:
                return waited
            if waited + wait > max_wait:
                raise RateLimited(wait)
            # Small slices so a freed slot is noticed; never spin.
            step = max(0.001, min(wait, 1.0))
            self.sleep(step)
            waited += step

    def block(self, bucket: Bucket, seconds: float) -> None:
        """Close the bucket for every process (the provider said 429 / Retry-After); it reopens paced."""
        now = self.clock()
        until = now + max(0.0, seconds)
        _local.block(bucket, until, now)  # also here, so it holds if Redis fails before it is over
        if self._block is None or is_down(self.url):
            return
        try:
            self._block(keys=[bucket.key, bucket.log_key],
                        args=[f"{until:.6f}", bucket.capacity, repr(bucket.window), repr(bucket.interval), f"{now:.6f}"])
        except Exception as exc:  # noqa: BLE001
            self._down(exc)


def bucket_for(provider_id: str, integration_id: str, requests: int, per_seconds: float) -> Bucket:
    return Bucket(f"integrations:ratelimit:{provider_id}:{integration_id}", requests, float(per_seconds))
