"""Celery tasks of the connections feature. Tasks take ids, call services, and are
safe to run twice (a refresh that finds a fresh token does nothing)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.kick import kicked
from core.realtime import publish
from core.tenant_context import operator_scope, tenant_scope
from integrations.messaging.send import send_due as messaging_send_due
from integrations.messaging.send import sweep_due as messaging_sweep_due
from integrations.models import Integration, IntegrationLog, OAuthState
from integrations.sync.app_push import app_push_wake as app_push_wake_integrations
from integrations.sync.push import push_maintain, push_reconcile, realtime_poll_due
from integrations.sync.runs import runs_sweep_stale
from integrations.sync.services import sync_execute, sync_export_drain, syncs_schedule_due
from integrations.tokens import REFRESH_MARGIN, TokenUnavailable, ensure_valid_token, read_credentials

log = logging.getLogger("architect_studio.integrations")

# Refresh this long before expiry (beat runs every minute; the request path's margin is 5 min).
PROACTIVE_WINDOW = timedelta(minutes=10)
# Warn the tenant this long before a token that cannot be refreshed dies.
EXPIRY_WARNING_WINDOW = timedelta(days=3)
# After this many consecutive refresh failures the tenant is warned too.
WARN_AFTER_FAILURES = 3


@shared_task(acks_late=True, ignore_result=True)
def refresh_integration_token(integration_id: str, tenant_id: str) -> str:
    try:
        ensure_valid_token(integration_id=integration_id, tenant_id=tenant_id)
    except Integration.DoesNotExist:
        return "gone"
    except TokenUnavailable as exc:
        return exc.kind
    return "ok"


@shared_task(ignore_result=True)
def scan_expiring_tokens(limit: int = 500) -> dict[str, int]:
    """Beat fan-out: enqueue refreshes that are due, warn about tokens about to die.

    Cross-tenant on purpose (operator scope): it only reads ids and expiry columns and
    writes the warning stamp; each refresh then runs in its own tenant scope.
    """
    now = timezone.now()
    due: list[tuple[str, str]] = []
    warnings: list[tuple[str, str, str, object]] = []
    with operator_scope("integrations: token expiry scan"):
        candidates = (
            Integration.objects.filter(token_expires_at__isnull=False, token_expires_at__lte=now + EXPIRY_WARNING_WINDOW)
            .exclude(status=Integration.Status.EXPIRED)
            .filter(Q(next_refresh_attempt_at__isnull=True) | Q(next_refresh_attempt_at__lte=now))
            .order_by("token_expires_at")[:limit]
        )
        for integration in candidates:
            creds = read_credentials(integration)
            if creds is None:
                continue
            can_refresh = bool(creds.refresh_token)
            if can_refresh and integration.token_expires_at <= now + PROACTIVE_WINDOW:
                due.append((str(integration.pk), str(integration.tenant_id)))
            failing = integration.refresh_failures >= WARN_AFTER_FAILURES
            if (not can_refresh or failing) and integration.expiry_warned_at is None:
                warnings.append((str(integration.pk), str(integration.tenant_id), integration.provider,
                                 integration.token_expires_at))
        if warnings:
            Integration.objects.filter(pk__in=[w[0] for w in warnings]).update(expiry_warned_at=now)
    for integration_id, tenant_id, provider, expires_at in warnings:
        with tenant_scope(tenant_id):
            publish(tenant_id, "integration.token_expiring",
                    {"integrationId": integration_id, "provider": provider, "expiresAt": expires_at})
    for integration_id, tenant_id in due:
        refresh_integration_token.delay(integration_id, tenant_id)
    return {"refreshing": len(due), "warned": len(warnings)}


@shared_task(ignore_result=True)
def cleanup_oauth_states() -> int:
    """Expired, never-used authorization attempts."""
    with operator_scope("integrations: expired OAuth states"):
        deleted, _ = OAuthState.objects.filter(expires_at__lt=timezone.now() - timedelta(minutes=5)).delete()
    return deleted


@shared_task(ignore_result=True)
def cleanup_integration_logs() -> int:
    """The seed's 30-day retention (INTEGRATION_LOG_RETENTION_DAYS)."""
    cutoff = timezone.now() - timedelta(days=settings.INTEGRATION_LOG_RETENTION_DAYS)
    with operator_scope("integrations: log retention"):
        deleted, _ = IntegrationLog.objects.filter(started_at__lt=cutoff).delete()
    return deleted


__all__ = ["REFRESH_MARGIN", "app_push_wake", "cleanup_integration_logs", "cleanup_oauth_states", "maintain_push_channels",
           "messaging_send", "messaging_sweep",
           "poll_realtime_syncs", "push_reconcile_integration", "refresh_integration_token", "scan_expiring_tokens",
           "schedule_syncs", "sweep_sync_runs", "sync_export", "sync_run"]


# --------------------------------------------------------------------------- sync (issue 11)
# The run and export tasks go to their own queue, "sync" (CELERY_TASK_ROUTES; the Procfile's
# `sync` worker), so a long import never delays webhook deliveries. acks_late: a worker killed
# mid-run has its message redelivered; the run resumes from its stored cursors.


@shared_task(acks_late=True, ignore_result=True)
def sync_run(log_id: str, tenant_id: str) -> str:
    return sync_execute(log_id=log_id, tenant_id=tenant_id)


@shared_task(acks_late=True, ignore_result=True)
def sync_export(tenant_id: str) -> int:
    return sync_export_drain(tenant_id=tenant_id)


@shared_task(ignore_result=True)
def schedule_syncs() -> dict[str, int]:
    """Beat fan-out: hourly/daily runs that are due; realtime export queues left behind."""
    return syncs_schedule_due()


@shared_task(ignore_result=True)
def sweep_sync_runs() -> dict[str, list[str]]:
    """Beat: runs whose worker died are re-queued (or, after a few resumes, failed)."""
    result = runs_sweep_stale()
    return {"requeued": result.requeued, "failed": result.failed}


# --------------------------------------------------------------------------- realtime import (push)
@shared_task(acks_late=True, ignore_result=True)
def push_reconcile_integration(integration_id: str, tenant_id: str) -> dict[str, int]:
    """After a settings change: open / stop the integration's push channels to match them."""
    return push_reconcile(integration_id=integration_id, tenant_id=tenant_id).as_dict()


@shared_task(acks_late=True, ignore_result=True)
def app_push_wake(provider_id: str, accounts: list[str]) -> int:
    """A provider app's notification (Dropbox) named these accounts: wake their integrations."""
    return app_push_wake_integrations(provider_id=provider_id, accounts=accounts)


@shared_task(ignore_result=True)
def maintain_push_channels() -> dict[str, int]:
    """Beat: renew channels before they expire, reconcile, start coalesced re-runs."""
    return push_maintain()


@shared_task(ignore_result=True)
def poll_realtime_syncs() -> int:
    """Beat: realtime integrations without push (CalDAV) are synced every 5 minutes."""
    return realtime_poll_due()


# --------------------------------------------------------------------------- messaging (issue 16)
@shared_task(acks_late=True, ignore_result=True)
def messaging_send(tenant_id: str) -> int:
    """Send the tenant's due messages (woken by core.kick after a rule wrote one, and by beat)."""
    kicked(messaging_send.name, tenant_id)
    return messaging_send_due(tenant_id)


@shared_task(ignore_result=True)
def messaging_sweep() -> int:
    """Beat: wake the send task of every tenant with a reminder that came due."""
    return messaging_sweep_due()
