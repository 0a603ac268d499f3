"""A provider's catalog rate limit replaced by a small one for one test (restored after), to
measure that the hub's limiter paces the adapter's calls as the catalog says."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from integrations.providers.base import RateLimit
from integrations.providers.catalog import get_provider


@contextlib.contextmanager
def small_bucket(provider_id: str, requests: int, per_seconds: int) -> Iterator[None]:
    provider = get_provider(provider_id)
    published = provider.rate_limit
    object.__setattr__(provider, "rate_limit", RateLimit(requests, per_seconds, "test: a small bucket"))
    try:
        yield
    finally:
        object.__setattr__(provider, "rate_limit", published)


def assert_paced_import(provider_id: str, connect, fake, persona, *, files: int, min_calls: int) -> None:
    """Connect (``connect()``) and run one import under a bucket of 3 calls a second: it succeeds,
    makes at least ``min_calls`` calls to ``fake``, none refused with 429, never more than 3 in any
    one second, and imports ``files`` documents."""
    import time

    from tests.support.sync_runs import documents, run_sync

    with small_bucket(provider_id, 3, 1):
        integration = connect()
        started = time.monotonic()
        log = run_sync(integration)
        elapsed = time.monotonic() - started
    assert log.status == "success", log.error_message
    calls = fake.count()
    assert calls >= min_calls and fake.count(status=429) == 0
    assert elapsed >= (calls - 1) // 3  # at most 3 calls in any one second
    assert len(documents(persona)) == files
