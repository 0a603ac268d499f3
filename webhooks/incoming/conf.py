"""Settings of the incoming side, read at call time (so tests can override them).

The one module of the incoming side that reads settings. Each tunable has an
environment variable of the same name (see README); a Django setting of the
same name wins over the environment. The hub-wide ones (public URL, log
retention, Redis, private targets) are defined in architect_studio.settings.
"""

from __future__ import annotations

from django.conf import settings

from architect_studio.env import setting_int as _int


def max_body_bytes() -> int:
    """INCOMING_WEBHOOK_MAX_BODY_BYTES: larger requests get 413 (default 1 MiB)."""
    return _int("INCOMING_WEBHOOK_MAX_BODY_BYTES", 1024 * 1024)


def rate_limit_per_second() -> int:
    """INCOMING_WEBHOOK_RATE_LIMIT: accepted requests per second per webhook (default 50); 0 = off."""
    return _int("INCOMING_WEBHOOK_RATE_LIMIT", 50)


def dedupe_seconds() -> int:
    """INCOMING_WEBHOOK_DEDUPE_SECONDS: how long a delivery id is remembered (default 24 h)."""
    return _int("INCOMING_WEBHOOK_DEDUPE_SECONDS", 24 * 3600)


def secret_grace_seconds() -> int:
    """INCOMING_WEBHOOK_SECRET_GRACE_SECONDS: the old secret's validity after a rotation (default 24 h)."""
    return _int("INCOMING_WEBHOOK_SECRET_GRACE_SECONDS", 24 * 3600)


def redispatch_after_seconds() -> int:
    """INCOMING_WEBHOOK_REDISPATCH_SECONDS: a request still pending this long is re-enqueued (default 60)."""
    return _int("INCOMING_WEBHOOK_REDISPATCH_SECONDS", 60)


def forward_timeout_seconds() -> int:
    """INCOMING_FORWARD_TIMEOUT_SECONDS: timeout of one forward attempt (default 10 s, as C8)."""
    return _int("INCOMING_FORWARD_TIMEOUT_SECONDS", 10)


def allow_private_targets() -> bool:
    return settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS


def public_base_url() -> str:
    """PUBLIC_BASE_URL: the origin senders reach the hub at (signed URLs are built on it)."""
    return settings.PUBLIC_BASE_URL


def log_retention_days() -> int:
    """WEBHOOK_LOG_RETENTION_DAYS: stored requests older than this are deleted (default 14)."""
    return settings.WEBHOOK_LOG_RETENTION_DAYS


def redis_url() -> str | None:
    """REDIS_URL: the per-webhook rate limiter's counters (in-process without Redis)."""
    return settings.REDIS_URL
