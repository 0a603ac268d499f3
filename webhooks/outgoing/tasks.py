"""Celery tasks of the outgoing side: thin, id-based, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from webhooks.outgoing import services

__all__ = ["deliver_attempt", "fire_retry", "sweep_due_deliveries", "cleanup_webhook_logs"]


@shared_task(acks_late=True, ignore_result=True)
def deliver_attempt(log_id: str, tenant_id: str, token: int) -> str:
    """Send attempt ``log_id`` if its claim counter still equals ``token`` (else a no-op)."""
    return services.attempt_run(log_id=log_id, tenant_id=tenant_id, token=token)


@shared_task(acks_late=True, ignore_result=True)
def fire_retry(log_id: str, tenant_id: str) -> bool:
    """ETA companion of the beat sweeper for short delays: create the next attempt when due."""
    return services.retry_fire(log_id=log_id, tenant_id=tenant_id) is not None


@shared_task(ignore_result=True)
def sweep_due_deliveries() -> dict:
    """Beat, every second: due retries (nextRetryAt passed) and attempts whose worker died."""
    return services.deliveries_sweep()


@shared_task(ignore_result=True)
def cleanup_webhook_logs() -> int:
    """Beat, hourly: delete webhook logs older than WEBHOOK_LOG_RETENTION_DAYS (default 14)."""
    return services.logs_cleanup()
