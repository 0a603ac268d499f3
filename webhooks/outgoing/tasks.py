"""Celery tasks of the outgoing side: thin, id-based, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from core.kick import kicked
from core.offload import offloading, run_or_offload
from webhooks.outgoing import delivery, retention, retries, sweeper

__all__ = ["dispatch_deliveries", "send_attempt", "fire_retry", "sweep_due_deliveries", "cleanup_webhook_logs"]


@shared_task(acks_late=True, ignore_result=True)
def dispatch_deliveries(tenant_id: str) -> bool:
    """Send the tenant's due attempts (woken through core.kick; safe to run twice or concurrently).

    The dispatcher waits on receivers, so it runs on the process's sender pool,
    one loop per tenant (core.offload), and this task's thread is free at once.
    """
    kicked(dispatch_deliveries.name, tenant_id)
    with offloading():
        return run_or_offload(lambda: delivery.deliveries_dispatch(tenant_id=tenant_id),
                              name="outgoing dispatcher", key=f"dispatch:{tenant_id}")


@shared_task(acks_late=True, ignore_result=True)
def send_attempt(log_id: str, tenant_id: str) -> str:
    """Claim and send one attempt now, whatever its due time (a forward the test endpoint runs inline).

    Claimed like the dispatcher's (pending, no live lease), so safe to run twice.
    """
    return delivery.deliveries_send_one(tenant_id=tenant_id, log_id=log_id)


@shared_task(acks_late=True, ignore_result=True)
def fire_retry(log_id: str, tenant_id: str) -> bool:
    """ETA companion of the beat sweeper for short delays: create the next attempt when due."""
    return retries.retry_fire(log_id=log_id, tenant_id=tenant_id) is not None


@shared_task(ignore_result=True)
def sweep_due_deliveries() -> dict:
    """Beat, every second: due retries (nextRetryAt passed) and attempts whose worker died (webhooks' and forwards')."""
    return sweeper.deliveries_sweep()


@shared_task(ignore_result=True)
def cleanup_webhook_logs() -> int:
    """Beat, hourly: delete webhook logs older than WEBHOOK_LOG_RETENTION_DAYS (default 14)."""
    return retention.logs_cleanup()
