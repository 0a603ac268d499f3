"""The rows of the delivery engine: attempt rows, their leases, and the wake-ups after commit.

Every attempt is a ``WebhookLog`` row before anything is sent; the broker only
carries wake-ups, by task name (:mod:`core.kick`): the tenant's dispatcher
(:func:`dispatch_wake`) and, for short delays, an ETA retry
(:func:`enqueue_retry_on_commit`; the beat sweeper remains the guarantee).
The small records at the end are what the engine's steps hand each other:
:class:`ClaimedAttempt` → :class:`ReadyAttempt` → :class:`AttemptOutcome`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as N_

from core.kick import enqueue, kick
from core.words import Words, english, words
from entities.models import EntityEvent
from webhooks import loops
from webhooks.models import OutgoingWebhook, WebhookLog
from webhooks.outgoing import conf
from webhooks.outgoing.payload import delivery_id_for, render_body
from webhooks.templating import BodyTooLarge, TemplateError

if TYPE_CHECKING:
    from webhooks.outgoing.targets import Target

log = logging.getLogger("architect_studio.webhooks.outgoing")


DISPATCH_TASK = "webhooks.outgoing.tasks.dispatch_deliveries"


FIRE_RETRY_TASK = "webhooks.outgoing.tasks.fire_retry"


def attempt_lease(webhook: OutgoingWebhook | Target | None, now: dt.datetime, waves: int = 1) -> dt.datetime:
    """How long a claimed attempt belongs to its worker (``webhook``: its webhook or its target).

    Twice the timeout (connect + body) per *wave* — a batch larger than the
    send concurrency goes out in several — plus a margin; after that the
    sweeper counts the attempt as lost and has it sent again.
    """
    timeout = webhook.timeout_seconds if webhook is not None else OutgoingWebhook._meta.get_field("timeout_seconds").default
    return now + dt.timedelta(seconds=2 * timeout * waves + conf.lease_margin_seconds())


def attempt_row(webhook: OutgoingWebhook, *, trigger: str, hops: int = 1, **fields: Any) -> WebhookLog:
    """A new pending attempt of ``webhook`` (``fields``: which delivery, which attempt, its claim).

    ``hops``: the X-Webhook-Hops value to send; kept in ``result`` only when the
    event came from an incoming request (1, an original send, is the default).
    """
    return WebhookLog(
        tenant_id=webhook.tenant_id,
        webhook_id=webhook.id,
        webhook_type=WebhookLog.Type.OUTGOING,
        direction=WebhookLog.Direction.OUTGOING,
        method=webhook.method,
        url=webhook.url,
        status=WebhookLog.Status.PENDING,
        result={"trigger": trigger, **({"hops": hops} if hops > 1 else {})},
        **fields,
    )


def first_attempt_row(event: EntityEvent, webhook: OutgoingWebhook, now: dt.datetime) -> WebhookLog:
    row = attempt_row(
        webhook,
        trigger="event",
        hops=loops.hops_of_source(event.source) + 1,
        attempt=1,
        max_attempts=webhook.retry_attempts,
        claim_count=1,
        next_retry_at=attempt_lease(webhook, now),
        delivery_id=delivery_id_for(event.id, webhook.id),
        event_type=event.name,
        entity_event_id=event.id,
    )
    try:
        text = render_body(
            webhook=webhook,
            entity=event.data or {},
            entity_type=event.entity_type,
            entity_id=str(event.entity_id),
            event=event.event,
            tenant_id=str(event.tenant_id),
            timestamp=(event.created_at or now).isoformat(),
        )
    except BodyTooLarge as exc:  # the data's size, never the data
        text = None
        said = render_failed_words(words(N_("the rendered body is larger than %(limit)s bytes (body too large)"),
                                         limit=exc.limit))
    except TemplateError as exc:  # messages about the template, never the data (kept as they are)
        text = None
        said = render_failed_words(str(exc)[:2000])
    except Exception as exc:  # noqa: BLE001 - a bad template must not block other webhooks
        text = None
        said = render_failed_words(type(exc).__name__)
    if text is None:
        row.error_message = english(said)[:2000]
        row.result = {**row.result, WebhookLog.ERROR_WORDS: said}  # error_message said in a reader's language
        row.status, row.next_retry_at, row.completed_at, row.claim_count = WebhookLog.Status.FAILED, None, now, 0
    else:
        row.body_text = text
        row.body = json.loads(text)
    return row


def render_failed_words(error: str | Words) -> Words:
    """Why an attempt has no body (``error``: its words, or the template's own messages as they are)."""
    return words(N_("payload could not be rendered: %(error)s"), error=error)


def dispatch_on_commit(tenant_id: str) -> None:
    transaction.on_commit(lambda: dispatch_wake(tenant_id))


def dispatch_wake(tenant_id: str) -> bool:
    """Make sure a dispatcher runs for the tenant (coalesced; the sweeper is the backstop)."""
    return kick(DISPATCH_TASK, tenant_id)


def enqueue_retry_on_commit(log_id: uuid.UUID, tenant_id: str, due: dt.datetime) -> None:
    """Also schedule a short retry with a Celery ETA; the beat sweeper remains the guarantee."""
    if (due - timezone.now()).total_seconds() > conf.eta_max_seconds():
        return
    lid = str(log_id)

    def send() -> None:
        try:
            enqueue(FIRE_RETRY_TASK, args=[lid, tenant_id], eta=due)
        except Exception as exc:  # noqa: BLE001
            log.warning("could not schedule retry of %s (%s); beat will fire it", lid, type(exc).__name__)

    transaction.on_commit(send)


@dataclass
class ClaimedAttempt:
    """An attempt this worker holds the lease of (``token`` = its claim counter).

    ``kind``: the row's ``webhook_type`` (``outgoing``: a webhook's attempt;
    ``incoming``: a forward action's). ``target``: where and how it is sent;
    None when it cannot be sent, ``refused`` then saying why.
    """

    row_id: uuid.UUID
    token: int
    attempt: int
    max_attempts: int
    result: dict[str, Any]
    delivery_id: uuid.UUID
    event_type: str
    body: bytes
    kind: str
    target: Target | None
    refused: str | None = None

    @classmethod
    def of(cls, row: WebhookLog, target: Target | None, refused: str | None = None) -> ClaimedAttempt:
        # A forward's attempts follow its action's retryAttempts as configured now; a manual attempt keeps its own.
        automatic = (row.result or {}).get("trigger") not in ("manual", "test")
        max_attempts = target.max_attempts if target is not None and target.max_attempts and automatic else row.max_attempts
        return cls(row_id=row.pk, token=row.claim_count, attempt=row.attempt, max_attempts=max_attempts,
                   result=dict(row.result or {}), delivery_id=row.delivery_id, event_type=row.event_type or "",
                   body=(row.body_text or "").encode("utf-8"), kind=row.webhook_type, target=target, refused=refused)

    @property
    def webhook(self) -> OutgoingWebhook | None:
        """The outgoing webhook whose counters this attempt's outcome updates (None for a forward)."""
        return self.target.webhook if self.target is not None else None


@dataclass
class ReadyAttempt:
    """A claimed attempt with its signed headers (``logged``: their redacted form; None when not prepared)."""

    claimed: ClaimedAttempt
    headers: dict[str, str]
    logged: dict[str, str] | None


@dataclass
class AttemptOutcome:
    """The columns an attempt's result writes, and whether it ends the delivery."""

    fields: dict[str, Any]
    success: bool
    final: bool
    trigger: str | None
    disable_reason: str | None = None
    row_id: uuid.UUID | None = None
