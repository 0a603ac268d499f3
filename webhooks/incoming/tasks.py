"""Celery tasks of the incoming side: take ids, call services, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from core.kick import kicked
from core.tenant_context import tenant_scope
from webhooks.incoming import process

__all__ = [
    "process_incoming_log",
    "drain_incoming",
    "redispatch_pending_incoming",
    "cleanup_incoming",
]


@shared_task(acks_late=True, ignore_result=True)
def process_incoming_log(log_id: str, tenant_id: str) -> str:
    """Run one stored request's filters and actions (claimed: pending + SKIP LOCKED).

    Requests are processed by :func:`drain_incoming`; this single-request task
    stays registered for messages queued by earlier versions' sweeper.
    """
    with tenant_scope(tenant_id):
        log = process.claim_pending(log_id=log_id)
        if log is None:
            return "skipped"
        return process.incoming_process(log=log)["status"]


@shared_task(acks_late=True, ignore_result=True)
def drain_incoming(tenant_id: str) -> int:
    """Process every pending request of a tenant (coalesced enqueue, see process.schedule_drain)."""
    kicked(drain_incoming.name, tenant_id)
    return process.incoming_drain(tenant_id=tenant_id)


@shared_task(ignore_result=True)
def redispatch_pending_incoming() -> int:
    return process.incoming_redispatch_pending()


@shared_task(ignore_result=True)
def cleanup_incoming() -> dict:
    return process.incoming_cleanup()
