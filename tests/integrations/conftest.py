"""Fixtures the integrations' tests share (beside tests/conftest.py and tests/support/)."""

from __future__ import annotations

import pytest
import redis


@pytest.fixture
def limiter_on_test_redis(settings):
    """The provider rate limiter on the test Redis, with no bucket left by an earlier test."""
    settings.INTEGRATIONS_RATELIMIT_REDIS_URL = settings.CELERY_BROKER_URL
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for key in client.scan_iter("integrations:ratelimit:*"):
        client.delete(key)


@pytest.fixture
def local_targets(settings):
    """Outbound calls may reach 127.0.0.1: the fake provider or the file server runs on this machine."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
