"""Where a delivery goes and how: the generic target of an attempt row.

Every attempt the hub sends is a ``WebhookLog`` row with ``direction =
'outgoing'`` (``WebhookLog.objects.sent()``), claimed, leased, swept, retried
and replayed by the one engine of this package. What differs between the
two kinds of deliveries is only their :class:`Target`, resolved from the row
when its attempt is claimed:

* an outgoing webhook's attempt (``webhook_type = 'outgoing'``): the
  webhook's URL, method, custom headers, signature scheme and secrets,
  timeout and retry policy; its outcomes update the webhook's counters, and
  may disable it (410 with ``exponential``, too many consecutive failures);
* a ``forward`` action's attempt (``webhook_type = 'incoming'``, the row's
  ``result`` naming the action: ``actionIndex``, and the received request it
  came from: ``sourceLogId``): the action's ``forwardUrl`` and
  ``forwardHeaders`` as they are *now*, signed with the incoming webhook's
  secret (hex HMAC-SHA256 in ``X-Webhook-Signature``, unless
  ``signRequests`` is false), ``INCOMING_FORWARD_TIMEOUT_SECONDS``, the
  seed's linear retry (``retryAttempts``, default 3; ``retryDelaySeconds``,
  default 60); its outcomes are reflected on the received request
  (:mod:`webhooks.incoming.forward`), nothing is ever disabled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_noop as N_

from core import outbound
from webhooks import loops, signing
from webhooks.incoming import conf as incoming_conf
from webhooks.incoming.forward import forward_settings
from webhooks.models import IncomingWebhook, OutgoingWebhook, WebhookLog
from webhooks.outgoing.payload import build_headers

#: (delivery id, event type, body, timestamp, now, test, hops) → (headers to send, headers to log)
Signer = Callable[[str, str, bytes, int, dt.datetime, bool, int], tuple[dict[str, str], dict[str, str]]]


@dataclass(frozen=True)
class Target:
    """One attempt's destination, signing, timeout and retry policy.

    ``webhook``: the outgoing webhook whose counters the outcomes update (and
    which they may disable); None for a forward. ``max_attempts``: the
    attempts allowed as configured now (a forward's ``retryAttempts``); None
    keeps the row's own.
    """

    kind: str
    name: str
    method: str
    url: str
    timeout_seconds: int
    retry_strategy: str
    retry_delay_seconds: int
    sign: Signer
    webhook: OutgoingWebhook | None = None
    max_attempts: int | None = None

    @property
    def is_forward(self) -> bool:
        return self.kind == "forward"


def webhook_target(webhook: OutgoingWebhook) -> Target:
    """The target of an outgoing webhook's attempts."""

    def sign(delivery_id, event_type, body, timestamp, now, test, hops):
        return build_headers(webhook=webhook, delivery_id=delivery_id, event_type=event_type, body=body,
                             timestamp=timestamp, now=now, test=test, hops=hops)

    return Target(kind="webhook", name=webhook.name, method=webhook.method, url=webhook.url,
                  timeout_seconds=webhook.timeout_seconds, retry_strategy=webhook.retry_strategy,
                  retry_delay_seconds=webhook.retry_delay_seconds, sign=sign, webhook=webhook)


def forward_target(incoming: IncomingWebhook | None, result: dict[str, Any]) -> Target | str:
    """The target of a forward attempt, from the action as configured now; a reason when it is gone."""
    index = result.get("actionIndex")
    actions = (incoming.actions or []) if incoming is not None else []
    action = actions[index] if isinstance(index, int) and 0 <= index < len(actions) else None
    if not isinstance(action, dict) or action.get("type") != "forward":
        return N_("the forward action no longer exists")  # a msgid: the engine keeps it as words
    config = action.get("config") or {}
    attempts, delay = forward_settings(config)
    extra = incoming.opened_headers(config.get("forwardHeaders"))
    secret = incoming.get_secret("secret") if config.get("signRequests", True) else None

    def sign(delivery_id, event_type, body, timestamp, now, test, hops):
        headers = {**extra, "Content-Type": "application/json", "X-Webhook-Event": event_type,
                   "X-Webhook-Delivery": delivery_id}
        headers = loops.with_hops(headers, hops)
        if secret:
            headers["X-Webhook-Signature"] = signing.hex_hmac_sha256(secret, body)
        return headers, outbound.redact_headers(headers)

    return Target(kind="forward", name=f"{incoming.name} (forward)", method="POST",
                  url=config.get("forwardUrl") or "", timeout_seconds=incoming_conf.forward_timeout_seconds(),
                  retry_strategy="linear", retry_delay_seconds=delay, sign=sign, max_attempts=attempts)


def targets_for(rows: list[WebhookLog]) -> dict[Any, Target | str | None]:
    """Each row's target: a :class:`Target`, a reason the attempt cannot be sent, or None (webhook deleted)."""
    outgoing_ids = {r.webhook_id for r in rows if r.webhook_type == WebhookLog.Type.OUTGOING}
    incoming_ids = {r.webhook_id for r in rows if r.webhook_type == WebhookLog.Type.INCOMING}
    hooks = OutgoingWebhook.objects.in_bulk(outgoing_ids) if outgoing_ids else {}
    incoming = IncomingWebhook.objects.in_bulk(incoming_ids) if incoming_ids else {}
    found: dict[Any, Target | str | None] = {}
    for row in rows:
        if row.webhook_type == WebhookLog.Type.INCOMING:
            found[row.pk] = forward_target(incoming.get(row.webhook_id), row.result or {})
        else:
            hook = hooks.get(row.webhook_id)
            found[row.pk] = webhook_target(hook) if hook is not None else None
    return found


def target_of(row: WebhookLog) -> Target | str | None:
    return targets_for([row])[row.pk]
