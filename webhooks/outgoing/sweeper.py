"""The beat sweeper of every delivery (outgoing webhooks' and forwards'): due retries fired, lost attempts recovered.

Runs every second (``webhooks.outgoing.tasks.sweep_due_deliveries``): the
guarantee behind every wake-up that may be lost (a kick, an ETA retry, a
worker killed mid-request).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import Q
from django.utils import timezone

from core import outbound
from core.tenant_context import operator_scope, tenant_scope
from webhooks.models import WebhookLog
from webhooks.outgoing import conf
from webhooks.outgoing.attempts import (
    dispatch_wake,
)
from webhooks.outgoing.delivery import attempt_finish
from webhooks.outgoing.retries import retry_fire
from webhooks.outgoing.targets import target_of

log = logging.getLogger("architect_studio.webhooks.outgoing")


def deliveries_sweep(*, limit: int = 500) -> dict[str, int]:
    """Beat task body: fire due retries and recover attempts nobody is working on.

    The scan is the one cross-tenant step (operator scope, SKIP LOCKED so
    concurrent sweepers split the work); each row is then handled in its own
    tenant's scope, where the same conditions are checked again under lock.
    Pending attempts whose worker lease ran out, or that were never claimed
    (a lost wake-up), wake their tenant's dispatcher, which claims them again.
    """
    now = timezone.now()
    unclaimed_before = now - dt.timedelta(seconds=conf.dispatch_grace_seconds())
    with operator_scope("outgoing webhooks: due retries and expired attempt leases"):
        due = list(
            WebhookLog.objects.sent().select_for_update(skip_locked=True)
            .filter(status=WebhookLog.Status.FAILED, retried_at__isnull=True)
            .filter(next_retry_at__isnull=False, next_retry_at__lte=now)
            .order_by("next_retry_at")
            .values_list("id", "tenant_id")[:limit]
        )
        stale = list(
            WebhookLog.objects.sent().filter(status=WebhookLog.Status.PENDING)
            .filter(Q(claim_count__gt=0, next_retry_at__lte=now) | Q(claim_count=0, next_retry_at__lte=unclaimed_before))
            .order_by("next_retry_at")
            .values_list("id", "tenant_id", "claim_count")[:limit]
        )
    fired = sum(1 for lid, tid in due if retry_fire(log_id=str(lid), tenant_id=str(tid)) is not None)
    too_many = [s for s in stale if s[2] >= conf.max_claims()]
    requeue = [s for s in stale if s[2] < conf.max_claims()]
    for lid, tid, _count in too_many:
        _attempt_give_up(log_id=str(lid), tenant_id=str(tid))
    for lid, _tid, count in requeue:
        if count:
            log.warning("webhook attempt %s: worker lease expired (claim %d); dispatching again", lid, count)
    for tid in {str(t) for _lid, t, _count in requeue}:
        dispatch_wake(tid)
    return {"retries": fired, "requeued": len(requeue), "abandoned": len(too_many)}


def _attempt_give_up(*, log_id: str, tenant_id: str) -> None:
    with tenant_scope(tenant_id):
        row = (
            WebhookLog.objects.select_for_update(skip_locked=True)
            .filter(pk=log_id, status=WebhookLog.Status.PENDING)
            .first()
        )
        if row is None:
            return
        target = target_of(row)
        attempt_finish(
            row,
            None if isinstance(target, str) else target,
            outbound.OutboundResult(error=f"worker lost {row.claim_count} times during this attempt", error_kind="connection"),
        )
