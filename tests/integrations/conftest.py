"""Fixtures the integrations' tests share (beside tests/conftest.py and tests/support/)."""

from __future__ import annotations

import pytest


@pytest.fixture
def limiter_on_test_redis(settings):
    """The provider rate limiter on the run's Redis database (its buckets emptied before every
    test by the autouse ``_fresh_provider_limits`` of tests/conftest.py)."""
    settings.INTEGRATIONS_RATELIMIT_REDIS_URL = settings.CELERY_BROKER_URL


@pytest.fixture
def local_targets(settings):
    """Outbound calls may reach 127.0.0.1: the fake provider or the file server runs on this machine."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
