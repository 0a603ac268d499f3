"""Per-provider-and-integration token buckets in Redis, shared by every process.

The seed's ``IntegrationRequestQueue`` (requests queued with a ``priority``,
processed within rate limits) is realised as a token bucket with *priority
reserves* instead of an in-memory queue, because our callers live in many web
and worker processes:

* the bucket holds at most ``capacity`` tokens and refills continuously at
  ``capacity / per_seconds`` per second (one Lua script: atomic across processes);
* a caller of priority ``p`` may only take a token while more than
  ``reserve(p)`` tokens remain: HIGH reserves nothing, NORMAL leaves 10 % of the
  bucket, LOW 30 %. So under pressure the high-priority caller gets the tokens
  first and waits less; low-priority work drains only the surplus;
* a 429 with ``Retry-After`` closes the bucket for everyone until that time.

Without Redis (embedded mode) the same algorithm runs in-process; so it does
for a few seconds after any Redis error (``core.redis_client.is_down``): a
Redis outage slows nobody down and fails no provider call, and the limit still
holds per process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from core.redis_client import is_down, mark_down, redis_client

log = logging.getLogger("architect_studio.integrations")

HIGH, NORMAL, LOW = 10, 5, 0
_RESERVE_FRACTION = {HIGH: 0.0, NORMAL: 0.1, LOW: 0.3}


def reserve_for(priority: int, capacity: int) -> float:
    if priority >= HIGH:
        fraction = 0.0
    elif priority >= NORMAL:
        fraction = _RESERVE_FRACTION[NORMAL]
    else:
        fraction = _RESERVE_FRACTION[LOW]
    return capacity * fraction


class RateLimited(Exception):
    """Waited ``max_wait`` seconds without getting a token."""

    def __init__(self, wait: float):
        super().__init__(f"rate limit: no request slot within the allowed wait (next in {wait:.1f}s)")
        self.wait = wait


# KEYS[1] bucket hash; ARGV: capacity, refill/s, reserve, now (s), cost
# Returns {allowed (0/1), seconds to wait (string)}.
_LUA = """
local key = KEYS[1]
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local reserve = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local cost = tonumber(ARGV[5])
local data = redis.call('HMGET', key, 'tokens', 'ts', 'blocked_until')
local tokens = tonumber(data[1])
local ts = tonumber(data[2])
local blocked = tonumber(data[3]) or 0
if tokens == nil then tokens = capacity; ts = now end
if now > ts then tokens = math.min(capacity, tokens + (now - ts) * rate) end
local wait = 0
local allowed = 0
if now < blocked then
  wait = blocked - now
elseif tokens - cost >= reserve then
  tokens = tokens - cost
  allowed = 1
else
  wait = (reserve + cost - tokens) / rate
end
redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', key, math.ceil(capacity / rate) + math.ceil(math.max(0, blocked - now)) + 60)
return {allowed, tostring(wait)}
"""


@dataclass(frozen=True)
class Bucket:
    key: str
    capacity: int
    per_seconds: float

    @property
    def rate(self) -> float:
        return self.capacity / self.per_seconds


def redis_url() -> str | None:
    return settings.INTEGRATIONS_RATELIMIT_REDIS_URL or settings.REDIS_URL


def _client(url: str):
    return redis_client(url, timeout=2)


class _LocalBuckets:
    """The same algorithm in-process (embedded mode, no Redis)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._state: dict[str, list[float]] = {}

    def take(self, bucket: Bucket, reserve: float, now: float, cost: float = 1.0) -> tuple[bool, float]:
        with self._lock:
            tokens, ts, blocked = self._state.get(bucket.key, [bucket.capacity, now, 0.0])
            tokens = min(bucket.capacity, tokens + max(0.0, now - ts) * bucket.rate)
            if now < blocked:
                result = (False, blocked - now)
            elif tokens - cost >= reserve:
                tokens -= cost
                result = (True, 0.0)
            else:
                result = (False, (reserve + cost - tokens) / bucket.rate)
            self._state[bucket.key] = [tokens, now, blocked]
            return result

    def block(self, bucket: Bucket, until: float) -> None:
        with self._lock:
            state = self._state.setdefault(bucket.key, [bucket.capacity, time.time(), 0.0])
            state[2] = max(state[2], until)


_local = _LocalBuckets()


class RateLimiter:
    def __init__(self, url: str | None = None, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time):
        self.url = url if url is not None else redis_url()
        self.sleep = sleep
        self.clock = clock
        self._script = _client(self.url).register_script(_LUA) if self.url else None

    def try_take(self, bucket: Bucket, priority: int = NORMAL) -> tuple[bool, float]:
        reserve = reserve_for(priority, bucket.capacity)
        now = self.clock()
        if self._script is None or is_down(self.url):
            return _local.take(bucket, reserve, now)
        try:
            allowed, wait = self._script(keys=[bucket.key], args=[bucket.capacity, bucket.rate, reserve, f"{now:.6f}", 1])
        except Exception as exc:  # noqa: BLE001 - Redis trouble: the in-process buckets stand in
            self._down(exc)
            return _local.take(bucket, reserve, now)
        return bool(int(allowed)), float(wait)

    def _down(self, exc: Exception) -> None:
        if mark_down(self.url):
            log.warning("provider rate limits: Redis unavailable (%s); counting in this process for now",
                        type(exc).__name__)

    def acquire(self, bucket: Bucket, *, priority: int = NORMAL, max_wait: float = 30.0) -> float:
        """Block until a token is taken; returns the seconds waited. Raises RateLimited."""
        waited = 0.0
        while True:
            allowed, wait = self.try_take(bucket, priority)
            if allowed:
                return waited
            if waited + wait > max_wait:
                raise RateLimited(wait)
            # Small slices so a freed surplus is noticed; never spin.
            step = max(0.01, min(wait, 1.0))
            self.sleep(step)
            waited += step

    def block(self, bucket: Bucket, seconds: float) -> None:
        """Close the bucket for every process (the provider said 429 / Retry-After)."""
        until = self.clock() + max(0.0, seconds)
        _local.block(bucket, until)  # also here, so it holds if Redis fails before it is over
        if self._script is None or is_down(self.url):
            return
        try:
            client = _client(self.url)
            current = client.hget(bucket.key, "blocked_until")
            if current is None or float(current) < until:
                client.hset(bucket.key, "blocked_until", f"{until:.6f}")
                client.expire(bucket.key, int(seconds) + int(bucket.per_seconds) + 60)
        except Exception as exc:  # noqa: BLE001
            self._down(exc)


def bucket_for(provider_id: str, integration_id: str, requests: int, per_seconds: int) -> Bucket:
    return Bucket(f"integrations:ratelimit:{provider_id}:{integration_id}", requests, float(per_seconds))
