"""Tunables of the outgoing delivery engine.

The one module of the outgoing side that reads settings. Each tunable is read
at call time (the Django setting of that name if set, else the environment
variable of that name, else the default: ``architect_studio.env.setting_int``)
so tests and operators can change them without a restart of the settings
module; the hub-wide ones (log retention, private targets) are defined in
architect_studio.settings.
"""

from __future__ import annotations

from django.conf import settings

from architect_studio.env import setting_int as _int


def disable_after() -> int:
    """Consecutive failed deliveries after which a webhook is disabled (Svix-like)."""
    return _int("OUTGOING_WEBHOOK_DISABLE_AFTER", 50)


def lease_margin_seconds() -> int:
    """Slack on top of the request timeout before an in-flight attempt counts as lost."""
    return _int("OUTGOING_WEBHOOK_LEASE_MARGIN_SECONDS", 5)


def dispatch_grace_seconds() -> int:
    """How long an attempt may wait unclaimed (a lost wake-up) before the sweeper wakes a dispatcher."""
    return _int("OUTGOING_WEBHOOK_DISPATCH_GRACE_SECONDS", 5)


def send_concurrency() -> int:
    """Requests one batch sends at once (also the most attempts a dispatcher claims per transaction)."""
    return max(1, _int("OUTGOING_WEBHOOK_SEND_CONCURRENCY", 16))


def slow_receiver_ms() -> int:
    """A receiver whose last answer took this long (ms) or more is sent to by the dispatcher, not the drain."""
    return _int("OUTGOING_WEBHOOK_SLOW_MS", 2000)


def max_claims() -> int:
    """Workers that may die on one attempt before it is recorded as failed (poison guard)."""
    return _int("OUTGOING_WEBHOOK_MAX_CLAIMS", 5)


def eta_max_seconds() -> int:
    """Retries due within this many seconds are also enqueued with a Celery ETA (beat stays the backstop)."""
    return _int("OUTGOING_WEBHOOK_ETA_MAX_SECONDS", 900)


def max_per_tenant() -> int:
    return _int("OUTGOING_WEBHOOK_MAX_PER_TENANT", 100)


def retention_days() -> int:
    return settings.WEBHOOK_LOG_RETENTION_DAYS


def allow_private() -> bool:
    return settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS


def max_body_bytes() -> int:
    """OUTGOING_WEBHOOK_MAX_BODY_BYTES: largest body a delivery, test send or preview renders (default 1 MiB).

    Rendering stops as soon as the output passes it (webhooks.templating).
    """
    return max(1, _int("OUTGOING_WEBHOOK_MAX_BODY_BYTES", 1024 * 1024))


def max_template_placeholders() -> int:
    """WEBHOOK_TEMPLATE_MAX_PLACEHOLDERS: placeholders one payload template may hold (default 500)."""
    return max(1, _int("WEBHOOK_TEMPLATE_MAX_PLACEHOLDERS", 500))
