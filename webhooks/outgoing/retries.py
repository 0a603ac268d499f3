"""When a delivery gets another attempt: the retry policy, due retries fired, manual replays.

:func:`retry_delay` is the policy (linear per the seed, or the Standard
Webhooks schedule with jitter and ``Retry-After``); :func:`retry_fire` turns a
failed attempt whose retry is due into the next attempt row (the ETA task, the
beat sweeper and an admin "retry now" may race: SKIP LOCKED and
``retried_at`` make it once); :func:`log_replay` is the manual new attempt.
Both kinds of deliveries — outgoing webhooks' and ``forward`` actions' — go
through the same functions; a forward's policy is always ``linear``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from core import outbound, retry
from core.tenant_context import tenant_scope
from webhooks.models import OutgoingWebhook, WebhookLog
from webhooks.outgoing.attempts import attempt_row, dispatch_on_commit
from webhooks.outgoing.targets import target_of

log = logging.getLogger("architect_studio.webhooks.outgoing")


#: Svix / Standard Webhooks schedule: delay after attempt k (1-based); 8 attempts
#: in all (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
EXPONENTIAL_SCHEDULE: tuple[int, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)


JITTER = 0.2


OVERLOAD_MIN_DELAY = 60


class ReplayRefused(Exception):
    """A replay/retry cannot run (webhook gone or disabled); the message is for the caller."""


def retry_delay(*, webhook: Any, attempt: int, result: outbound.OutboundResult) -> float:
    """Seconds until the attempt after ``attempt`` (which failed with ``result``).

    ``webhook``: the policy's holder, an ``OutgoingWebhook`` or a delivery
    :class:`~webhooks.outgoing.targets.Target` (``retry_strategy``,
    ``retry_delay_seconds``).

    linear (seed, C8): ``retryDelaySeconds × attempt``, exactly.
    exponential (Svix/Standard Webhooks): the fixed schedule ±20% jitter, at
    least 60 s after a 429 or a timeout, ``Retry-After`` honoured up to twice
    the planned delay.
    """
    if webhook.retry_strategy != "exponential":
        return retry.linear(webhook.retry_delay_seconds, attempt)
    delay = retry.spread(retry.scheduled(attempt, EXPONENTIAL_SCHEDULE), JITTER)
    if result.status == 429 or result.error_kind == "timeout":
        delay = max(delay, OVERLOAD_MIN_DELAY)
    asked = retry.parse_retry_after(retry.retry_after_header(result.headers)) if result.status is not None else None
    return retry.honour_retry_after(delay, asked, ceiling=2 * delay)


#: What a forward attempt's ``result`` says about its target and source (kept on every attempt).
FORWARD_KEYS = ("sourceLogId", "actionIndex", "hops")


def _next_attempt_row(previous: WebhookLog, webhook: OutgoingWebhook | None, *, attempt: int, max_attempts: int,
                      trigger: str) -> WebhookLog:
    """The next attempt of ``previous``'s delivery (a forward's keeps its target description)."""
    if previous.webhook_type == WebhookLog.Type.INCOMING or webhook is None:
        meta = {k: v for k, v in (previous.result or {}).items() if k in FORWARD_KEYS}
        return WebhookLog(
            tenant_id=previous.tenant_id, webhook_id=previous.webhook_id, webhook_type=previous.webhook_type,
            direction=WebhookLog.Direction.OUTGOING, method=previous.method, url=previous.url, headers={},
            status=WebhookLog.Status.PENDING, result={**meta, **({"trigger": trigger} if trigger == "manual" else {})},
            body=previous.body, body_text=previous.body_text, attempt=attempt, max_attempts=max_attempts,
            next_retry_at=timezone.now(), delivery_id=previous.delivery_id, event_type=previous.event_type,
        )
    return attempt_row(
        webhook,
        trigger=trigger,
        hops=int((previous.result or {}).get("hops") or 1),
        body=previous.body,
        body_text=previous.body_text,
        attempt=attempt,
        max_attempts=max_attempts,
        next_retry_at=timezone.now(),
        delivery_id=previous.delivery_id,
        event_type=previous.event_type,
        entity_event_id=previous.entity_event_id,
    )


def retry_fire(*, log_id: str, tenant_id: str, force: bool = False) -> WebhookLog | None:
    """Create the next attempt asked for by failed row ``log_id`` once it is due (or now, if ``force``).

    Locked with SKIP LOCKED and guarded by ``retried_at IS NULL``, so the ETA
    task, the beat sweeper and an admin "retry now" can race harmlessly.
    """
    with tenant_scope(tenant_id):
        row = (
            WebhookLog.objects.sent().select_for_update(skip_locked=True)
            .filter(pk=log_id, tenant_id=tenant_id, status=WebhookLog.Status.FAILED)
            .filter(retried_at__isnull=True, next_retry_at__isnull=False)
            .first()
        )
        now = timezone.now()
        if row is None or (not force and row.next_retry_at > now):
            return None
        row.retried_at = now
        if row.webhook_type == WebhookLog.Type.INCOMING:
            # A forward's attempt shows no nextRetryAt once its retry exists (as forward rows always
            # have); a webhook's keeps it visible beside retried_at. Both are asserted by the tests.
            row.next_retry_at = None
        row.save(update_fields=["retried_at", "next_retry_at"])
        webhook = None
        if row.webhook_type == WebhookLog.Type.OUTGOING:  # a forward's next attempt is made whatever its action's state
            webhook = OutgoingWebhook.objects.filter(pk=row.webhook_id, tenant_id=tenant_id).first()
            if webhook is None or not webhook.is_enabled:
                return None  # the delivery ends here; the log says why through the webhook's state
        new = _next_attempt_row(row, webhook, attempt=row.attempt + 1, max_attempts=row.max_attempts, trigger="retry")
        try:
            with transaction.atomic():
                new.save(force_insert=True)
        except IntegrityError:
            return None  # that attempt exists already
        dispatch_on_commit(tenant_id)
        return new


def log_replay(*, log: WebhookLog) -> WebhookLog:
    """Send an outgoing attempt again as a new, manual attempt of the same delivery.

    Same delivery id and body bytes, fresh timestamp and signature; manual
    attempts are never retried automatically (Svix's rule).
    """
    if log.direction != WebhookLog.Direction.OUTGOING or log.delivery_id is None or log.body_text is None:
        raise ReplayRefused("only outgoing attempts with a stored body can be replayed")
    target = target_of(log)
    if target is None:
        raise ReplayRefused("the webhook no longer exists")
    if isinstance(target, str):
        raise ReplayRefused(target)
    if target.webhook is not None and not target.webhook.is_enabled:
        raise ReplayRefused("the webhook is disabled; enable it first")
    with transaction.atomic():
        # Serialise replays of one delivery: lock its attempts, then take the next number.
        attempts = WebhookLog.objects.sent().filter(webhook_type=log.webhook_type, delivery_id=log.delivery_id)
        list(attempts.select_for_update().values_list("pk"))
        last = attempts.aggregate(m=Max("attempt"))["m"] or 0
        new = _next_attempt_row(log, target.webhook, attempt=last + 1, max_attempts=last + 1, trigger="manual")
        new.save(force_insert=True)
    dispatch_on_commit(str(log.tenant_id))
    return new
