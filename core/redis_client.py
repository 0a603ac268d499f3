"""One shared Redis client per (URL, timeout) and process: the kick flags, the
incoming endpoint's rate limit, and the provider rate limiter.

redis-py's client is thread-safe and pools its connections, so callers share it
instead of opening a connection per use. The timeout is part of the key because
callers differ in how long they may wait: the public endpoint fails open fast.

Every client has bounded connect and socket timeouts, so a Redis that hangs
(rather than refusing connections) costs a caller at most that long. Callers
that have a local fallback also note a failure with :func:`mark_down`; for
``DOWN_SECONDS`` afterwards :func:`is_down` says so and they skip Redis
entirely instead of paying a timeout on every request.
"""

from __future__ import annotations

import time
from functools import lru_cache

#: How long a Redis URL is left alone after a failure before it is tried again.
DOWN_SECONDS = 5.0

_down_until: dict[str, float] = {}


@lru_cache(maxsize=8)
def redis_client(url: str, timeout: float = 1.0):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def mark_down(url: str) -> bool:
    """Note that ``url`` just failed; True when it was thought up until now (log once per outage)."""
    was_up = not is_down(url)
    _down_until[url] = time.monotonic() + DOWN_SECONDS
    return was_up


def is_down(url: str) -> bool:
    return time.monotonic() < _down_until.get(url, 0.0)
