"""The ``forward`` action: a delivery of the hub's one delivery engine, and its outcome on the request.

The action creates attempt 1 of a delivery — a ``WebhookLog`` row with
``webhook_type = 'incoming'``, ``direction = 'outgoing'``, pending and due
now, its body stored as the exact text to send — and wakes the tenant's
delivery dispatcher after commit (by task name, :mod:`core.kick`). From there
the outgoing delivery engine (:mod:`webhooks.outgoing.delivery`) claims,
sends, records, retries (the seed's linear rule), sweeps and replays it like
any other delivery; the target (``forwardUrl``, ``forwardHeaders``, the
webhook's secret, ``retryAttempts`` / ``retryDelaySeconds``, the forward
timeout) is read from this action's config as it is when each attempt is
claimed (:mod:`webhooks.outgoing.targets`). After each recorded attempt the
engine calls :func:`forward_reflect`, which writes the outcome into the
received request's ``result``.

This module imports nothing of ``webhooks.outgoing`` (which imports the
incoming side): the engine's tasks are reached by name.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as N_

from core.kick import kick, resolve
from core.words import Words, english, is_words, words
from webhooks import loops
from webhooks.incoming.context import ActionContext
from webhooks.incoming.models import WEBHOOK_TYPE
from webhooks.models import WebhookLog

#: The delivery engine's tasks, by name (webhooks.outgoing.tasks).
DISPATCH_TASK = "webhooks.outgoing.tasks.dispatch_deliveries"
SEND_ATTEMPT_TASK = "webhooks.outgoing.tasks.send_attempt"

FORWARD_EVENT = "webhook.forward"
FORWARD_DEFAULT_ATTEMPTS = 3
FORWARD_DEFAULT_DELAY_SECONDS = 60


def forward_settings(config: dict[str, Any]) -> tuple[int, int]:
    """A forward action's (attempts, delay seconds): the seed's defaults 3 and 60."""
    attempts = int(config.get("retryAttempts") or FORWARD_DEFAULT_ATTEMPTS)
    delay = int(config.get("retryDelaySeconds") or FORWARD_DEFAULT_DELAY_SECONDS)
    return attempts, delay


def forward_body_text(body: Any) -> str:
    """The exact text a forward sends for the received JSON body (compact, UTF-8 as is)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def forward_enqueue(ctx: ActionContext) -> dict[str, Any]:
    """The ``forward`` action: attempt 1 becomes a delivery row now, sent after commit (or inline)."""
    attempts, _delay = forward_settings(ctx.config)
    row = WebhookLog.objects.create(
        tenant_id=ctx.tenant.id, webhook_id=ctx.webhook.id, webhook_type=WEBHOOK_TYPE, direction=WebhookLog.Direction.OUTGOING,
        method="POST", url=ctx.config.get("forwardUrl") or "", headers={}, body=ctx.payload,
        body_text=forward_body_text(ctx.payload), status=WebhookLog.Status.PENDING, attempt=1, max_attempts=attempts,
        claim_count=0, next_retry_at=timezone.now(), delivery_id=uuid.uuid4(), event_type=FORWARD_EVENT,
        result={"sourceLogId": str(ctx.log.id), "actionIndex": ctx.index, "hops": loops.hops_of(ctx.headers) + 1},
    )
    rid, tid = str(row.pk), str(ctx.tenant.id)
    if ctx.inline_forward:
        # The test endpoint reports the forward's answer: the engine sends this attempt now, in this thread.
        resolve(SEND_ATTEMPT_TASK)(rid, tid)
        row.refresh_from_db()
        return {"forwardLogId": rid, **_outcome(status=row.status, attempt=row.attempt, response_status=row.response_status,
                                                error=row.error_message, next_retry_at=row.next_retry_at,
                                                error_words=_kept_words(row.result))}
    transaction.on_commit(lambda: kick(DISPATCH_TASK, tid))  # the sweeper is the backstop of a lost kick
    return {"status": "queued", "forwardLogId": rid, "deliveryId": str(row.delivery_id)}


def _kept_words(result: Any) -> Words | None:
    """The words an attempt row keeps for its ``error_message`` (``WebhookLog.ERROR_WORDS``)."""
    kept = result.get(WebhookLog.ERROR_WORDS) if isinstance(result, dict) else None
    return kept if is_words(kept) else None


def _outcome(*, status: str, attempt: int, response_status: int | None, error: str | None,
             next_retry_at: dt.datetime | None, error_words: Words | None = None) -> dict[str, Any]:
    """What a forward attempt's outcome says in the request's ``result`` (``retrying`` while a retry is
    planned); ``errorWords`` beside ``error`` when the attempt's error has words that still say it."""
    ok = status == WebhookLog.Status.SUCCESS
    outcome: dict[str, Any] = {
        "status": "success" if ok else ("retrying" if next_retry_at else "failed"),
        "attempt": attempt,
        "responseStatus": response_status,
    }
    if error:
        outcome["error"] = error
        if error_words is not None and english(error_words)[:len(error)] == error:
            outcome["errorWords"] = error_words
    if next_retry_at:
        outcome["nextRetryAt"] = next_retry_at.isoformat()
    return outcome


def forward_reflect(*, log_id: uuid.UUID, meta: dict[str, Any], attempt: int, fields: dict[str, Any]) -> None:
    """Reflect a recorded forward attempt in the received request's ``result`` (engine, record step).

    ``meta``: the attempt row's ``result`` (``sourceLogId``, ``actionIndex``);
    ``fields``: the outcome columns the engine wrote. A final failure marks
    the request failed too. Runs in the recording transaction (tenant scope).
    """
    outcome = _outcome(status=fields["status"], attempt=attempt, response_status=fields["response_status"],
                       error=fields["error_message"], next_retry_at=fields["next_retry_at"],
                       error_words=_kept_words(fields.get("result")))
    source = WebhookLog.objects.select_for_update().filter(pk=meta.get("sourceLogId")).first()
    if source is None or not isinstance(source.result, dict):
        return
    for entry in source.result.get("actions", []):
        if entry.get("index") == meta.get("actionIndex") and entry.get("type") == "forward":
            if "error" in outcome:
                entry.pop("errorWords", None)  # an earlier attempt's, replaced by this one's (if any)
            entry.update(outcome, forwardLogId=str(log_id))
    if outcome["status"] == "failed":
        source.status = WebhookLog.Status.FAILED
        said = words(N_("forward: %(error)s"), error=outcome.get("errorWords") or str(outcome.get("error")))
        source.error_message = english(said)[:2000]
        source.result[WebhookLog.ERROR_WORDS] = said  # error_message said in a reader's language
    source.save(update_fields=["result", "status", "error_message"])
