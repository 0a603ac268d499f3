"""One shared Redis client per (URL, timeout) and process: the kick flags, the
incoming endpoint's rate limit, and the provider rate limiter.

redis-py's client is thread-safe and pools its connections, so callers share it
instead of opening a connection per use. The timeout is part of the key because
callers differ in how long they may wait: the public endpoint fails open fast.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=8)
def redis_client(url: str, timeout: float = 1.0):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
