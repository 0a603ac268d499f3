"""Redis-backed guards of the public endpoint: per-webhook rate limit, dedupe cache.

Redis is an accelerator here, never the source of truth:

* the rate limit is a fixed one-second window counter (``INCR`` + ``EXPIRE``
  in one round trip). If Redis is unreachable the limit fails *open* - an
  outage of the cache must not turn into lost webhooks - and says so in the log;
* the dedupe cache only remembers delivery ids whose log row has been
  **committed** (it is written on commit). The authority is the unique
  constraint of ``incoming_webhook_dedupe``; the cache just spares a duplicate
  a database round trip.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.conf import settings

from core.redis_client import redis_client

log = logging.getLogger("architect_studio.webhooks.incoming")

_PREFIX = "hub:in:"


def _client():
    url = getattr(settings, "REDIS_URL", None)
    return redis_client(url, timeout=0.5) if url else None


def _dedupe_cache_key(webhook_id: str, dedupe_key: str) -> str:
    digest = hashlib.sha256(dedupe_key.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return f"{_PREFIX}dd:{webhook_id}:{digest}"


def rate_limited(webhook_id: str, limit_per_second: int) -> bool:
    """True when this request is over ``limit_per_second`` for the webhook (0 disables)."""
    client = _client()
    if client is None or limit_per_second <= 0:
        return False
    key = f"{_PREFIX}rl:{webhook_id}:{int(time.time())}"
    try:
        pipe = client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 2)
        count, _ = pipe.execute()
    except Exception as exc:  # noqa: BLE001 - fail open, see module docstring
        log.warning("rate limit unavailable (%s); accepting", type(exc).__name__)
        return False
    return int(count) > limit_per_second


def dedupe_cached(webhook_id: str, dedupe_key: str) -> str | None:
    """The log id a committed delivery with this id produced, if the cache knows it."""
    client = _client()
    if client is None:
        return None
    try:
        value = client.get(_dedupe_cache_key(webhook_id, dedupe_key))
    except Exception:  # noqa: BLE001 - the database constraint still catches duplicates
        return None
    return value.decode() if value else None


def dedupe_remember(webhook_id: str, dedupe_key: str, log_id: str, ttl_seconds: int) -> None:
    client = _client()
    if client is None:
        return
    try:
        client.set(_dedupe_cache_key(webhook_id, dedupe_key), log_id, ex=max(1, ttl_seconds))
    except Exception:  # noqa: BLE001
        log.warning("could not cache delivery id for webhook %s", webhook_id)
