"""The process's sender pool: claimed attempts' requests in flight, their answers in groups.

Requests go out through :func:`core.outbound.send` (the hardened client);
outcomes come back grouped by what finished together, so they share one
recording transaction.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from core import outbound
from webhooks.outgoing import conf
from webhooks.outgoing.attempts import ReadyAttempt

#: After the first request of a batch finishes, wait this long for the others
#: so that their outcomes share one transaction (leases are seconds long).
_GROUP_WINDOW_SECONDS = 0.05


def _send(r: ReadyAttempt) -> outbound.OutboundResult:
    target = r.claimed.target
    return outbound.send(method=target.method, url=target.url, headers=r.headers, body=r.claimed.body,
                         timeout=target.timeout_seconds, allow_private=conf.allow_private())


def send_all(ready: list[ReadyAttempt]) -> Iterator[list[tuple[ReadyAttempt, outbound.OutboundResult]]]:
    """Yield (attempt, result) groups as the requests finish (inline when there is one)."""
    if len(ready) == 1:
        yield [(ready[0], _send(ready[0]))]
        return
    # At most `send_concurrency` of this batch in flight at once (the waves its
    # leases allow for), on a pool shared by the process and large enough
    # that every batch's requests start as soon as they are submitted.
    limit = conf.send_concurrency()
    pool = _send_pool()
    queue = list(ready)
    futures: dict = {}
    while queue or futures:
        while queue and len(futures) < limit:
            r = queue.pop(0)
            futures[pool.submit(_send, r)] = r
        done, _pending = wait(futures, return_when=FIRST_COMPLETED)
        if len(done) < len(futures):
            more, _pending = wait(set(futures) - done, timeout=_GROUP_WINDOW_SECONDS)
            done |= more
        yield [(futures.pop(f), f.result()) for f in done]


_pool_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None


def _send_pool() -> ThreadPoolExecutor:
    """The process's sender threads: 16 batches' worth (idle threads are reused, never more are made)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            workers = 16 * conf.send_concurrency()
            _pool = (os.getpid(), ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook-send"))
        return _pool[1]
