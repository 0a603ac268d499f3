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
