"""The public endpoint's per-webhook rate limit, counted in Redis.

The rate limit is a fixed one-second window counter shared by every web
process (``INCRBY`` + ``EXPIRE`` in one round trip). A process reserves its
admissions in *leases* of ``lease_size(limit)`` — one for limits up to
100/s, so the default 50/s is counted request by request, and 1% of the
limit (at most 100) above that — and spends them locally; a window found
exhausted is remembered until the second ends, so requests past the limit
are refused without a round trip. The limit is never exceeded; a lease left
unspent when its second ends only refuses early (at most 1% of the limit
per process). If Redis fails, each process counts the limit on its own (a
one-second window in memory) for the next few seconds without asking Redis
(``core.redis_client.is_down``), and says so once in the log: an outage of the
counter neither turns into lost webhooks nor into 500s, and the limit still
holds per process.

Delivery ids are deduplicated in PostgreSQL alone (``incoming_webhook_dedupe``,
claimed in the same statement that stores the request): a Redis cache in
front of it cost every new delivery a lookup and a write to spare the rare
duplicate one statement.
"""

from __future__ import annotations

import logging
import threading
import time

from core.redis_client import is_down, mark_down, redis_client
from webhooks.incoming import conf

log = logging.getLogger("architect_studio.webhooks.incoming")

_PREFIX = "hub:in:"


def _url() -> str | None:
    return conf.redis_url()


def _client():
    url = _url()
    return redis_client(url, timeout=0.5) if url else None


#: webhook id -> (window second, admissions counted) while Redis is down
_fallback: dict[str, tuple[int, int]] = {}


def _fallback_limited(webhook_id: str, limit_per_second: int, second: int) -> bool:
    """This process's own count of the window (Redis unreachable)."""
    with _leases_lock:
        if len(_fallback) > 10_000:
            _fallback.clear()
        window, used = _fallback.get(webhook_id, (second, 0))
        used = used if window == second else 0
        if used >= limit_per_second:
            return True
        _fallback[webhook_id] = (second, used + 1)
        return False


#: webhook id -> (window second, admissions left in this process's lease; -1: window exhausted)
_leases: dict[str, tuple[int, int]] = {}
_leases_lock = threading.Lock()


def lease_size(limit_per_second: int) -> int:
    """Admissions reserved per round trip: exact counting up to 100/s, then 1% of the limit (≤ 100)."""
    return max(1, min(limit_per_second // 100, 100))


def _take_local(webhook_id: str, second: int) -> bool | None:
    """From this process's lease: False (admitted), True (window exhausted) or None (ask Redis)."""
    with _leases_lock:
        window, left = _leases.get(webhook_id, (0, 0))
        if window != second:
            return None
        if left < 0:
            return True
        if left > 0:
            _leases[webhook_id] = (second, left - 1)
            return False
        return None


def rate_limited(webhook_id: str, limit_per_second: int) -> bool:
    """True when this request is over ``limit_per_second`` for the webhook (0 disables)."""
    client = _client()
    if client is None or limit_per_second <= 0:
        return False
    second = int(time.time())
    if is_down(_url()):
        return _fallback_limited(webhook_id, limit_per_second, second)
    local = _take_local(webhook_id, second)
    if local is not None:
        return local
    batch = lease_size(limit_per_second)
    key = f"{_PREFIX}rl:{webhook_id}:{second}"
    try:
        pipe = client.pipeline(transaction=False)
        pipe.incrby(key, batch)
        pipe.expire(key, 2)
        total, _ = pipe.execute()
    except Exception as exc:  # noqa: BLE001 - count locally, see module docstring
        if mark_down(_url()):
            log.warning("rate limit counter unavailable (%s); counting in this process for now", type(exc).__name__)
        return _fallback_limited(webhook_id, limit_per_second, second)
    granted = max(0, min(batch, limit_per_second - (int(total) - batch)))
    with _leases_lock:
        if len(_leases) > 10_000:  # forget other seconds' windows
            for stale in [k for k, (w, _) in _leases.items() if w != second]:
                del _leases[stale]
        window, left = _leases.get(webhook_id, (0, 0))
        left = max(left, 0) if window == second else 0
        if granted == 0 and left == 0:
            _leases[webhook_id] = (second, -1)
            return True
        _leases[webhook_id] = (second, left + granted - 1)  # another thread's lease may still have room
    return False
