"""The ``forward`` action's own small delivery engine: a row per attempt, sent by a task.

Each attempt is an outgoing ``WebhookLog`` (``webhook_type="incoming"``)
created by :func:`forward_enqueue`, sent by :func:`forward_send` (claimed with
``SKIP LOCKED``) and retried on the seed's linear rule by the beat task
:func:`forward_retry_due`. (Issue 12 item 1 replaces this engine with the
outgoing delivery engine.)
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from core import outbound, retry
from core.kick import enqueue
from core.tenant_context import operator_scope
from webhooks import loops, signing
from webhooks.incoming import conf
from webhooks.incoming.bodies import clean_json
from webhooks.incoming.context import ActionContext
from webhooks.incoming.models import WEBHOOK_TYPE
from webhooks.models import IncomingWebhook, WebhookLog

logger = logging.getLogger("architect_studio.webhooks.incoming")

#: The send task, enqueued by name (tasks import this module, never the reverse).
SEND_FORWARD_TASK = "webhooks.incoming.tasks.send_forward"

FORWARD_EVENT = "webhook.forward"
FORWARD_DEFAULT_ATTEMPTS = 3
FORWARD_DEFAULT_DELAY_SECONDS = 60


def _forward_settings(config: dict[str, Any]) -> tuple[int, int]:
    attempts = int(config.get("retryAttempts") or FORWARD_DEFAULT_ATTEMPTS)
    delay = int(config.get("retryDelaySeconds") or FORWARD_DEFAULT_DELAY_SECONDS)
    return attempts, delay


def forward_enqueue(ctx: ActionContext) -> dict[str, Any]:
    """The ``forward`` action: attempt 1 becomes a row now, sent after commit (or inline)."""
    attempts, _delay = _forward_settings(ctx.config)
    row = WebhookLog.objects.create(
        tenant_id=ctx.tenant.id, webhook_id=ctx.webhook.id, webhook_type=WEBHOOK_TYPE, direction=WebhookLog.Direction.OUTGOING,
        method="POST", url=ctx.config.get("forwardUrl") or "", headers={}, body=ctx.payload,
        status=WebhookLog.Status.PENDING, attempt=1, max_attempts=attempts, delivery_id=uuid.uuid4(),
        event_type=FORWARD_EVENT,
        result={"sourceLogId": str(ctx.log.id), "actionIndex": ctx.index, "hops": loops.hops_of(ctx.headers) + 1},
    )
    if ctx.inline_forward:
        sent = forward_send(log_id=str(row.pk), update_source=False)
        return {"forwardLogId": str(row.pk), **sent}
    rid, tid = str(row.pk), str(ctx.tenant.id)
    transaction.on_commit(lambda: enqueue_forward(rid, tid))
    return {"status": "queued", "forwardLogId": rid, "deliveryId": str(row.delivery_id)}


def enqueue_forward(log_id: str, tenant_id: str) -> bool:
    try:
        enqueue(SEND_FORWARD_TASK, args=[log_id, tenant_id])
    except Exception as exc:  # noqa: BLE001 - the beat task picks the pending row up
        logger.warning("could not enqueue forward %s (%s); the sweeper will retry", log_id, type(exc).__name__)
        return False
    return True


def _response_body(result: outbound.OutboundResult) -> Any:
    if result.body_json is not None:
        return clean_json(result.body_json)
    return clean_json(result.body_text) if result.body_text else None


def forward_send(*, log_id: str, update_source: bool = True) -> dict[str, Any]:
    """Send one pending forward attempt. Call in the tenant scope; safe to call twice.

    The row is claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` and must be
    ``pending``, so a duplicate task or a sweeper re-dispatch never sends it
    twice. The forward target, headers and retry settings are read from the
    webhook's current action config (headers may hold credentials: they are
    not stored, only their redacted form).
    """
    row = (
        WebhookLog.objects.forward_attempts().select_for_update(skip_locked=True)
        .filter(pk=log_id, status=WebhookLog.Status.PENDING)
        .first()
    )
    if row is None:
        return {"status": "skipped"}
    webhook = IncomingWebhook.objects.filter(pk=row.webhook_id).first()
    index = (row.result or {}).get("actionIndex")
    actions = (webhook.actions or []) if webhook else []
    action = actions[index] if isinstance(index, int) and 0 <= index < len(actions) else None
    if not action or action.get("type") != "forward":
        return _forward_record(row, None, "the forward action no longer exists", final=True, update_source=update_source)
    config = action.get("config") or {}
    attempts, delay = _forward_settings(config)
    url = config.get("forwardUrl") or row.url
    body = json.dumps(row.body, separators=(",", ":"), ensure_ascii=False).encode()
    headers = webhook.opened_headers(config.get("forwardHeaders"))
    headers.update({
        "Content-Type": "application/json",
        "X-Webhook-Event": FORWARD_EVENT,
        "X-Webhook-Delivery": str(row.delivery_id),
    })
    headers = loops.with_hops(headers, int((row.result or {}).get("hops") or 1))
    secret = webhook.get_secret("secret")
    if config.get("signRequests", True) and secret:
        headers["X-Webhook-Signature"] = signing.hex_hmac_sha256(secret, body)
    result = outbound.send(
        method="POST", url=url, headers=headers, body=body,
        timeout=conf.forward_timeout_seconds(), allow_private=conf.allow_private_targets(),
    )
    row.url, row.headers, row.max_attempts = url, outbound.redact_headers(headers), attempts
    row.response_status = result.status
    row.response_headers = clean_json(outbound.redact_headers(result.headers)) if result.headers else None
    row.response_body = _response_body(result)
    row.duration_ms = result.duration_ms
    if result.ok:
        return _forward_record(row, result, None, final=True, update_source=update_source)
    error = result.error or f"HTTP {result.status}"
    final = result.error_kind == "refused" or row.attempt >= attempts
    if not final:
        row.next_retry_at = timezone.now() + timedelta(seconds=retry.linear(delay, row.attempt))
    return _forward_record(row, result, error, final=final, update_source=update_source)


def _forward_record(
    row: WebhookLog, result: outbound.OutboundResult | None, error: str | None, *, final: bool, update_source: bool
) -> dict[str, Any]:
    row.status = WebhookLog.Status.SUCCESS if error is None else WebhookLog.Status.FAILED
    row.error_message = error
    if final:
        row.next_retry_at = None
    row.save()
    outcome: dict[str, Any] = {
        "status": "success" if error is None else ("failed" if final else "retrying"),
        "attempt": row.attempt,
        "responseStatus": row.response_status,
    }
    if error:
        outcome["error"] = error
    if row.next_retry_at:
        outcome["nextRetryAt"] = row.next_retry_at.isoformat()
    if update_source:
        _update_source(row, outcome)
    return outcome


def _update_source(row: WebhookLog, outcome: dict[str, Any]) -> None:
    """Reflect a forward's latest outcome in the received request's ``result``."""
    meta = row.result or {}
    source = WebhookLog.objects.select_for_update().filter(pk=meta.get("sourceLogId")).first()
    if source is None or not isinstance(source.result, dict):
        return
    for entry in source.result.get("actions", []):
        if entry.get("index") == meta.get("actionIndex") and entry.get("type") == "forward":
            entry.update(outcome, forwardLogId=str(row.pk))
    if outcome["status"] == "failed":
        source.status = WebhookLog.Status.FAILED
        source.error_message = (f"forward: {outcome.get('error')}")[:2000]
    source.save(update_fields=["result", "status", "error_message"])


def forward_retry_due(*, limit: int = 200) -> int:
    """Turn due failed forward attempts into their next attempt rows; re-send lost ones.

    Cross-tenant by nature (one beat task for every tenant): the one explicit
    operator scope of the incoming side. ``SKIP LOCKED`` lets several beat
    runs or workers overlap without picking the same row.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=conf.redispatch_after_seconds())
    to_send: list[tuple[str, str]] = []
    with operator_scope("incoming forward retries"):
        due = list(
            WebhookLog.objects.forward_attempts().select_for_update(skip_locked=True)
            .filter(status=WebhookLog.Status.FAILED, next_retry_at__isnull=False, next_retry_at__lte=now)
            .order_by("next_retry_at")[:limit]
        )
        for previous in due:
            nxt = WebhookLog.objects.create(
                tenant_id=previous.tenant_id, webhook_id=previous.webhook_id, webhook_type=WEBHOOK_TYPE,
                direction=WebhookLog.Direction.OUTGOING, method=previous.method, url=previous.url, headers={}, body=previous.body,
                status=WebhookLog.Status.PENDING, attempt=previous.attempt + 1, max_attempts=previous.max_attempts,
                delivery_id=previous.delivery_id, event_type=FORWARD_EVENT, result=previous.result,
            )
            previous.next_retry_at = None
            previous.save(update_fields=["next_retry_at"])
            to_send.append((str(nxt.pk), str(nxt.tenant_id)))
        lost = (
            WebhookLog.objects.forward_attempts().select_for_update(skip_locked=True)
            .filter(status=WebhookLog.Status.PENDING, timestamp__lt=stale)
            .values_list("pk", "tenant_id")[:limit]
        )
        to_send.extend((str(pk), str(tid)) for pk, tid in lost)
    return sum(enqueue_forward(rid, tid) for rid, tid in to_send)
