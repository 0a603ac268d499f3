"""Outgoing webhooks: configuration writes and the delivery engine.

The engine follows DESIGN §3 ("Postgres is the source of truth"): every
attempt is a ``WebhookLog`` row *before* anything leaves the process, and the
broker only carries wake-ups ("tenant T has work", :mod:`core.kick`). An
attempt row moves through:

``pending`` and due (``claim_count`` 0, ``next_retry_at`` = now) → claimed
(``claim_count`` + 1, ``next_retry_at`` = a lease of twice the timeout per
wave plus a margin, committed **before** the request is sent) → ``success`` |
``failed`` (``next_retry_at`` = the seed's ``now + retryDelaySeconds ×
attempt`` when another attempt is allowed) | ``skipped`` (webhook disabled or
deleted meanwhile).

Who claims: the outbox drain inserts a batch's first attempts already claimed
and sends them right after its commit (:func:`deliveries_create_for_events`);
everything else — retries, replays, attempts whose lease ran out, first
attempts to a receiver whose last attempt failed — is claimed by the tenant's
dispatcher (:func:`deliveries_dispatch`, ``FOR UPDATE SKIP LOCKED``).

Why a claim counter: the outcome is written with a compare-and-set on the
counter the sender claimed with. A worker killed mid-request leaves a pending
row whose lease runs out; the sweeper wakes a dispatcher, which claims it
again (counter + 1) and sends the same attempt (same delivery id, same body):
at-least-once, never lost. If the first sender was only slow, its late result
fails the compare-and-set and is dropped.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import os
import random
import re
import threading
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from psycopg.types.json import Jsonb

from core.db import ids_where
from core.kick import enqueue, kick
from core.offload import run_or_offload
from core.realtime import publish
from core.tenant_context import operator_scope, tenant_scope
from entities.models import ENTITY_EVENTS, ENTITY_MODELS, ENTITY_TYPES, EntityEvent
from entities.services import entity_snapshot
from tenancy.models import Tenant
from webhooks import loops, outbound, signing
from webhooks.models import OutgoingWebhook, WebhookLog
from webhooks.outgoing import conf
from webhooks.templating import BodyTooLarge, TemplateError, build_context, render_template, validate_template

#: Tasks this module wakes, by name (tasks import services, never the reverse).
DISPATCH_TASK = "webhooks.outgoing.tasks.dispatch_deliveries"
FIRE_RETRY_TASK = "webhooks.outgoing.tasks.fire_retry"

log = logging.getLogger("architect_studio.webhooks.outgoing")

#: Namespace of delivery ids: uuid5(namespace, "<entity event id>:<webhook id>")
#: gives every (event, webhook) pair one id, whichever worker computes it.
DELIVERY_NAMESPACE = uuid.UUID("6f1c7f0e-4a43-5d0b-9d4e-8a8f2f5b9c11")

#: Svix / Standard Webhooks schedule: delay after attempt k (1-based); 8 attempts
#: in all (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
EXPONENTIAL_SCHEDULE: tuple[int, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.2
OVERLOAD_MIN_DELAY = 60

MAX_HEADERS = 20
MAX_HEADER_NAME = 100
MAX_HEADER_VALUE = 4096
MAX_TRIGGERS = 20
SECRET_MASK = "********"
ROTATION_GRACE = dt.timedelta(hours=24)

#: Headers the engine controls; tenants' custom headers can never replace them.
RESERVED_HEADERS = frozenset(
    h.lower()
    for h in (
        "Content-Type",
        "Content-Length",
        "Host",
        "Transfer-Encoding",
        "Connection",
        "X-Webhook-Event",
        "X-Webhook-Delivery",
        "X-Webhook-Test",
        loops.HOPS_HEADER,
        signing.STANDARD_ID_HEADER,
        signing.STANDARD_TIMESTAMP_HEADER,
        signing.STANDARD_SIGNATURE_HEADER,
    )
)
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE_RE = re.compile(r"[\r\n\x00]")


class WebhookConfigError(ValueError):
    """Invalid webhook configuration; ``fields`` maps field name → messages (API 400)."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()))


class ReplayRefused(Exception):
    """A replay/retry cannot run (webhook gone or disabled); the message is for the caller."""


# --------------------------------------------------------------------------- validation


def validate_url(url: str) -> str:
    """Static SSRF and loop checks at save time (send time checks SSRF again after DNS)."""
    try:
        outbound.check_url(url, allow_private=conf.allow_private())
        loops.check_not_own_origin(url)
    except outbound.OutboundRefused as exc:
        raise WebhookConfigError({"url": [f"URL refused: {exc.reason}"]}) from None
    return url


def validate_headers(headers: Any, *, signature_header: str | None) -> dict[str, str]:
    if headers in (None, ""):
        return {}
    if not isinstance(headers, dict):
        raise WebhookConfigError({"headers": ["must be an object of header name → value"]})
    if len(headers) > MAX_HEADERS:
        raise WebhookConfigError({"headers": [f"at most {MAX_HEADERS} headers"]})
    reserved = set(RESERVED_HEADERS)
    if signature_header:
        reserved.add(signature_header.lower())
    errors: list[str] = []
    seen: set[str] = set()
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN_RE.fullmatch(name) or len(name) > MAX_HEADER_NAME:
            errors.append(f"invalid header name {str(name)[:40]!r}")
            continue
        if name.lower() in reserved:
            errors.append(f"header {name} is set by the hub and cannot be overridden")
            continue
        if name.lower() in seen:
            errors.append(f"header {name} appears twice")
            continue
        seen.add(name.lower())
        if not isinstance(value, str) or len(value) > MAX_HEADER_VALUE or _BAD_VALUE_RE.search(value):
            errors.append(f"value of {name} must be a string of at most {MAX_HEADER_VALUE} characters without line breaks")
            continue
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            errors.append(f"value of {name} must contain only ASCII/Latin-1 characters")
    if errors:
        raise WebhookConfigError({"headers": errors})
    return dict(headers)


def validate_triggers(triggers: Any) -> list[dict[str, Any]]:
    """Normalise to the seed's ``[{entityType, events}]`` (stored camelCase, as the seed's JSONB)."""
    if not isinstance(triggers, list) or not triggers:
        raise WebhookConfigError({"triggers": ["must be a non-empty list of {entityType, events}"]})
    if len(triggers) > MAX_TRIGGERS:
        raise WebhookConfigError({"triggers": [f"at most {MAX_TRIGGERS} triggers"]})
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    errors: list[str] = []
    for i, trig in enumerate(triggers):
        if not isinstance(trig, dict):
            errors.append(f"trigger {i}: must be an object")
            continue
        entity_type = trig.get("entity_type", trig.get("entityType"))
        events = trig.get("events")
        if entity_type not in ENTITY_TYPES:
            errors.append(f"trigger {i}: entityType must be one of {', '.join(ENTITY_TYPES)}")
            continue
        if entity_type in seen:
            errors.append(f"trigger {i}: entityType {entity_type} is listed twice")
            continue
        seen.add(entity_type)
        if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
            errors.append(f"trigger {i}: events must be a non-empty list")
            continue
        unknown = [e for e in events if e not in ENTITY_EVENTS]
        if unknown:
            errors.append(f"trigger {i}: unknown events {', '.join(unknown[:5])}; allowed: {', '.join(ENTITY_EVENTS)}")
            continue
        out.append({"entityType": entity_type, "events": list(dict.fromkeys(events))})
    if errors:
        raise WebhookConfigError({"triggers": errors})
    return out


def validate_payload_template(template: Any) -> str | None:
    if template is None or (isinstance(template, str) and not template.strip()):
        return None
    problems = validate_template(template, max_placeholders=conf.max_template_placeholders())
    if problems:
        raise WebhookConfigError({"payloadTemplate": problems})
    return template


def validate_secret(secret: str, *, scheme: str) -> str:
    if scheme == "standard":
        if not secret.startswith(signing.WHSEC_PREFIX):
            raise WebhookConfigError(
                {"signatureSecret": ["the standard scheme needs a whsec_ secret (whsec_ + base64 of 24-64 random bytes)"]}
            )
        key = signing.whsec_key_bytes(secret)
        if key == secret.encode() or not 24 <= len(key) <= 64:
            raise WebhookConfigError({"signatureSecret": ["whsec_ secret must wrap 24-64 base64-encoded bytes"]})
    elif not 8 <= len(secret) <= 200:
        raise WebhookConfigError({"signatureSecret": ["must be 8-200 characters"]})
    return secret


_FIELDS = (
    "name",
    "description",
    "url",
    "method",
    "headers",
    "triggers",
    "payload_template",
    "sign_requests",
    "signature_header",
    "signature_scheme",
    "retry_strategy",
    "retry_attempts",
    "retry_delay_seconds",
    "timeout_seconds",
    "is_enabled",
)


def _apply(webhook: OutgoingWebhook, data: dict[str, Any]) -> None:
    """Validate cross-field rules and copy ``data`` (snake_case, serializer-checked) onto ``webhook``."""
    old_header = webhook.signature_header
    old_url = webhook.url
    stored_headers = {k.lower(): v for k, v in (webhook.headers or {}).items()}
    for field in _FIELDS:
        if field in data:
            setattr(webhook, field, data[field])
    if "url" in data:
        validate_url(webhook.url)
    # Stored credentials never follow a changed destination: with a new origin, every
    # credential header must be typed again (or dropped). Not sending the headers at
    # all counts as echoing them masked, as a GET shows them.
    moved = bool(old_url) and outbound.origin(old_url) != outbound.origin(webhook.url)
    if moved and "headers" not in data and isinstance(webhook.headers, dict):
        webhook.headers = outbound.redact_headers(webhook.headers)
    if "triggers" in data:
        webhook.triggers = validate_triggers(webhook.triggers)
    if "payload_template" in data:
        webhook.payload_template = validate_payload_template(webhook.payload_template)
    if "headers" in data or webhook.signature_header != old_header or moved:
        headers = webhook.headers
        if isinstance(headers, dict):
            # A masked value echoed back from a GET (or a sealed one shown in the
            # admin) keeps the stored one while the origin stays; validated as
            # plaintext, sealed again.
            headers = {k: _stored_or_given(webhook, k, v, stored_headers, moved=moved) for k, v in headers.items()}
        # Credential-looking values (Authorization, API keys…) are sealed when the
        # webhook is saved (OutgoingWebhook.seal_plaintext_secrets).
        webhook.headers = validate_headers(headers, signature_header=webhook.signature_header) or None

    secret = data.get("signature_secret")
    if secret is not None and secret != SECRET_MASK:
        if secret == "":
            webhook.set_secret("signature_secret", None)
            webhook.set_secret("previous_signature_secret", None)
            webhook.previous_secret_expires_at = None
        else:
            validate_secret(secret, scheme=webhook.signature_scheme)
            current = webhook.get_secret("signature_secret") if webhook.has_secret("signature_secret") else None
            if current and current != secret:
                # Rotation: the old secret keeps signing alongside for 24 h.
                webhook.set_secret("previous_signature_secret", current)
                webhook.previous_secret_expires_at = timezone.now() + ROTATION_GRACE
            webhook.set_secret("signature_secret", secret)
    elif "signature_scheme" in data and webhook.has_secret("signature_secret"):
        validate_secret(webhook.get_secret("signature_secret") or "", scheme=webhook.signature_scheme)
    if webhook.sign_requests and not webhook.has_secret("signature_secret"):
        raise WebhookConfigError({"signatureSecret": ["required when signRequests is true"]})
    if data.get("is_enabled") is True:
        webhook.consecutive_failures = 0
        webhook.disabled_reason = None


def _stored_or_given(webhook: OutgoingWebhook, name: str, value: Any, stored: dict[str, Any], *, moved: bool) -> Any:
    try:
        value = outbound.unmask_header(value, stored.get(name.lower()), origin_changed=moved)
    except ValueError as exc:
        raise WebhookConfigError({"headers": [f"value of {name}: {exc}"]}) from None
    return webhook.open_value("headers", name, value)  # plaintext to validate; sealed again on save


@transaction.atomic
def outgoing_webhook_create(*, tenant: Tenant, data: dict[str, Any]) -> OutgoingWebhook:
    if OutgoingWebhook.objects.filter(tenant=tenant).count() >= conf.max_per_tenant():
        raise WebhookConfigError({"non_field_errors": [f"at most {conf.max_per_tenant()} outgoing webhooks per tenant"]})
    webhook = OutgoingWebhook(tenant=tenant, triggers=[])
    for required in ("name", "url", "triggers"):
        if required not in data:
            raise WebhookConfigError({required: ["This field is required."]})
    _apply(webhook, data)
    webhook.save()
    return webhook


@transaction.atomic
def outgoing_webhook_update(*, webhook: OutgoingWebhook, data: dict[str, Any]) -> OutgoingWebhook:
    _apply(webhook, data)
    webhook.save()
    return webhook


def outgoing_webhook_delete(*, webhook: OutgoingWebhook) -> None:
    """Delete the configuration; its logs stay (retention removes them), pending attempts are skipped."""
    webhook.delete()


# --------------------------------------------------------------------------- payload and headers


def delivery_id_for(event_id: uuid.UUID | str, webhook_id: uuid.UUID | str) -> uuid.UUID:
    return uuid.uuid5(DELIVERY_NAMESPACE, f"{event_id}:{webhook_id}")


def _compact(value: Any) -> str:
    from django.core.serializers.json import DjangoJSONEncoder

    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder)


def render_body(
    *,
    webhook: OutgoingWebhook,
    entity: dict[str, Any],
    entity_type: str,
    entity_id: str,
    event: str,
    tenant_id: str,
    timestamp: str,
    template: str | None = None,
) -> str:
    """The JSON text to send: the entity itself without a template (seed rule), else C7 rendering.

    Raises :class:`TemplateError` for an unusable template (a stored one over
    today's placeholder cap included) and :class:`BodyTooLarge` once the body
    passes ``OUTGOING_WEBHOOK_MAX_BODY_BYTES`` — a template stops rendering
    there instead of multiplying a large entity in memory.
    """
    template = webhook.payload_template if template is None else template
    limit = conf.max_body_bytes()
    if not template:
        text = _compact(entity)
        if len(text.encode("utf-8", errors="surrogatepass")) > limit:
            raise BodyTooLarge(limit)
        return text
    context = build_context(
        entity=entity, entity_type=entity_type, entity_id=entity_id, event=event, tenant_id=tenant_id, timestamp=timestamp
    )
    return render_template(template, context, max_bytes=limit, max_placeholders=conf.max_template_placeholders())


def _signing_secrets(webhook: OutgoingWebhook, now: dt.datetime) -> list[str]:
    secrets = [webhook.get_secret("signature_secret") or ""]
    if (
        webhook.has_secret("previous_signature_secret")
        and webhook.previous_secret_expires_at
        and webhook.previous_secret_expires_at > now
    ):
        secrets.append(webhook.get_secret("previous_signature_secret") or "")
    return [s for s in secrets if s]


def build_headers(
    *,
    webhook: OutgoingWebhook,
    delivery_id: str,
    event_type: str,
    body: bytes,
    timestamp: int,
    now: dt.datetime | None = None,
    test: bool = False,
    hops: int = 1,
) -> tuple[dict[str, str], dict[str, str]]:
    """Return (headers to send, headers to log) for one attempt (contract C7).

    Custom headers come first and the hub's own last, so they can never be
    overridden. The hex scheme's signature uses the current secret only (the
    seed's one-value header that our incoming endpoint and the seed's verifier
    compare as a whole); the standard scheme sends the Standard Webhooks
    headers only (no hex signature: issue 10), ``webhook-signature`` listing
    the current and, for 24 h after a rotation, the previous secret's ``v1,``
    signatures, space-separated, as Standard Webhooks allows.
    """
    now = now or timezone.now()
    headers: dict[str, str] = {}
    for name, value in (webhook.headers or {}).items():
        if name.lower() not in RESERVED_HEADERS and name.lower() != (webhook.signature_header or "").lower():
            headers[name] = webhook.open_value("headers", name, value)
    headers["Content-Type"] = "application/json"
    headers["X-Webhook-Event"] = event_type
    headers["X-Webhook-Delivery"] = delivery_id
    headers[loops.HOPS_HEADER] = str(hops)  # 1: an original send (see webhooks.loops)
    if test:
        headers["X-Webhook-Test"] = "true"
    redact = {webhook.signature_header.lower()} if webhook.signature_header else set()
    if webhook.sign_requests:
        secrets = _signing_secrets(webhook, now)
        if not secrets:
            raise ValueError("signRequests is on but no signature secret is stored")
        if webhook.signature_scheme == "standard":
            # Only the Standard Webhooks headers: a timestamp-less hex signature made with the
            # same secret next to them would let a captured request be replayed for ever.
            headers.update(signing.standard_headers(secrets, delivery_id, timestamp, body))
        else:
            headers[webhook.signature_header or "X-Webhook-Signature"] = signing.hex_hmac_sha256(secrets[0], body)
    logged = outbound.redact_headers(headers)
    for name in logged:
        if name.lower() in redact:
            logged[name] = "[redacted]"
    return headers, logged


# --------------------------------------------------------------------------- fan-out (subscriber)


def deliveries_create_for_event(*, event: EntityEvent) -> list[uuid.UUID]:
    return deliveries_create_for_events(events=[event])


def deliveries_create_for_events(*, events: Sequence[EntityEvent]) -> list[uuid.UUID]:
    """Create attempt 1 of one delivery per (event, matching webhook) and send them after commit.

    The rows are inserted already claimed (``claim_count`` 1, a lease of
    twice the webhook's timeout plus a margin), in the subscriber's
    transaction; once it commits, this worker sends them and records the
    outcomes (:func:`_send_and_record`) — no second task, no claiming
    transaction. If the process dies in between, the lease runs out and the
    sweeper wakes a dispatcher that claims and sends them again.

    Idempotent (the subscriber runs at least once): the unique
    (delivery_id, attempt) index makes a second run insert — and send — nothing.
    """
    from webhooks.outgoing.selectors import outgoing_webhooks_by_trigger

    if not events:
        return []
    tenant_id = events[0].tenant_id
    matching = outgoing_webhooks_by_trigger(tenant_id=tenant_id)
    now = timezone.now()
    rows: list[tuple[WebhookLog, OutgoingWebhook]] = []
    for event in events:
        for webhook in matching.get((event.entity_type, event.event), ()):
            rows.append((_first_attempt_row(event, webhook, now), webhook))
    if not rows:
        return []
    pending = [(row, webhook) for row, webhook in rows if row.status == WebhookLog.Status.PENDING]
    # A receiver whose last attempt failed (down, timing out) or answered slowly
    # is not waited on here: its attempts go to the tenant's dispatcher, so it
    # cannot hold up the outbox, and every drain that follows, for up to twice
    # its timeout.
    slow_ms = conf.slow_receiver_ms()
    inline = [(row, webhook) for row, webhook in pending if not _lagging(webhook, slow_ms)]
    deferred = [row for row, webhook in pending if _lagging(webhook, slow_ms)]
    waves = -(-len(inline) // conf.send_concurrency())
    for row, webhook in inline:
        row.next_retry_at = _lease(webhook, now, waves)
    for row in deferred:
        row.claim_count, row.next_retry_at = 0, now
    WebhookLog.objects.bulk_create([row for row, _w in rows], ignore_conflicts=True)
    inserted = _present([row.pk for row, _w in rows])
    claimed = [_Claimed.of(row, webhook) for row, webhook in inline if row.pk in inserted]
    tid = str(tenant_id)
    if claimed:
        # In a worker task the requests go to the sender pool (core.offload): a
        # receiver that takes its whole timeout must not hold the drain's thread.
        transaction.on_commit(lambda: run_or_offload(lambda: _send_and_record(tenant_id=tid, claimed=claimed),
                                                     name="outgoing first attempts"), robust=True)
    if any(row.pk in inserted for row in deferred):
        _dispatch_on_commit(tid)
    return [row.delivery_id for row, _w in rows if row.pk in inserted]


def _lagging(webhook: OutgoingWebhook, slow_ms: int) -> bool:
    return webhook.last_status == "failed" or (webhook.last_duration_ms or 0) >= slow_ms


def _present(ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``ids`` exist in webhook_logs (after an insert that skipped conflicts)."""
    where, params = ids_where("id", ids)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {WebhookLog._meta.db_table} WHERE {where}", params)
        return {r[0] if isinstance(r[0], uuid.UUID) else uuid.UUID(r[0]) for r in cursor.fetchall()}


def _lease(webhook: OutgoingWebhook | None, now: dt.datetime, waves: int = 1) -> dt.datetime:
    """How long a claimed attempt belongs to its worker.

    Twice the timeout (connect + body) per *wave* — a batch larger than the
    send concurrency goes out in several — plus a margin; after that the
    sweeper counts the attempt as lost and has it sent again.
    """
    timeout = webhook.timeout_seconds if webhook is not None else OutgoingWebhook._meta.get_field("timeout_seconds").default
    return now + dt.timedelta(seconds=2 * timeout * waves + conf.lease_margin_seconds())


def _attempt_row(webhook: OutgoingWebhook, *, trigger: str, hops: int = 1, **fields: Any) -> WebhookLog:
    """A new pending attempt of ``webhook`` (``fields``: which delivery, which attempt, its claim).

    ``hops``: the X-Webhook-Hops value to send; kept in ``result`` only when the
    event came from an incoming request (1, an original send, is the default).
    """
    return WebhookLog(
        tenant_id=webhook.tenant_id,
        webhook_id=webhook.id,
        webhook_type="outgoing",
        direction="outgoing",
        method=webhook.method,
        url=webhook.url,
        status=WebhookLog.Status.PENDING,
        result={"trigger": trigger, **({"hops": hops} if hops > 1 else {})},
        **fields,
    )


def _first_attempt_row(event: EntityEvent, webhook: OutgoingWebhook, now: dt.datetime) -> WebhookLog:
    row = _attempt_row(
        webhook,
        trigger="event",
        hops=loops.hops_of_source(event.source) + 1,
        attempt=1,
        max_attempts=webhook.retry_attempts,
        claim_count=1,
        next_retry_at=_lease(webhook, now),
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
    except (BodyTooLarge, TemplateError) as exc:  # messages about the template or size, never the data
        text = None
        row.error_message = f"payload could not be rendered: {exc}"[:2000]
    except Exception as exc:  # noqa: BLE001 - a bad template must not block other webhooks
        text = None
        row.error_message = f"payload could not be rendered: {type(exc).__name__}"
    if text is None:
        row.status, row.next_retry_at, row.completed_at, row.claim_count = WebhookLog.Status.FAILED, None, now, 0
    else:
        row.body_text = text
        row.body = json.loads(text)
    return row


def _dispatch_on_commit(tenant_id: str) -> None:
    transaction.on_commit(lambda: dispatch_wake(tenant_id))


def dispatch_wake(tenant_id: str) -> bool:
    """Make sure a dispatcher runs for the tenant (coalesced; the sweeper is the backstop)."""
    return kick(DISPATCH_TASK, tenant_id)


def _enqueue_retry_on_commit(log_id: uuid.UUID, tenant_id: str, due: dt.datetime) -> None:
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


# --------------------------------------------------------------------------- sending and recording


@dataclass
class _Claimed:
    """An attempt this worker holds the lease of (``token`` = its claim counter)."""

    row_id: uuid.UUID
    token: int
    attempt: int
    max_attempts: int
    result: dict[str, Any]
    delivery_id: uuid.UUID
    event_type: str
    body: bytes
    webhook: OutgoingWebhook

    @classmethod
    def of(cls, row: WebhookLog, webhook: OutgoingWebhook) -> _Claimed:
        return cls(row_id=row.pk, token=row.claim_count, attempt=row.attempt, max_attempts=row.max_attempts,
                   result=dict(row.result or {}), delivery_id=row.delivery_id, event_type=row.event_type or "",
                   body=(row.body_text or "").encode("utf-8"), webhook=webhook)


@dataclass
class _Ready:
    claimed: _Claimed
    headers: dict[str, str]
    logged: dict[str, str] | None


_CLAIM_SQL = """
WITH due AS (
    SELECT id FROM {logs}
    WHERE tenant_id = %(tenant)s AND webhook_type = 'outgoing' AND direction = 'outgoing'
      AND status = 'pending' AND next_retry_at <= %(now)s AND claim_count < %(max_claims)s
    ORDER BY next_retry_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE {logs} AS l
SET claim_count = l.claim_count + 1,
    next_retry_at = %(now)s + make_interval(secs => 2 * COALESCE(
        (SELECT w.timeout_seconds FROM {hooks} AS w WHERE w.id = l.webhook_id), %(default_timeout)s) + %(margin)s)
FROM due WHERE l.id = due.id
RETURNING l.id
"""


def deliveries_dispatch(*, tenant_id: str, limit: int | None = None) -> dict[str, int]:
    """Claim the tenant's due attempts (retries, replays, lost ones) in batches and send them.

    One transaction claims up to ``limit`` rows (default: the send
    concurrency, so the lease of each starts as its request does; ``FOR UPDATE SKIP LOCKED``,
    so concurrent dispatchers split the work; ``claim_count`` + 1 and the
    lease committed **before** anything is sent), then :func:`_send_and_record`.
    """
    limit = limit or conf.send_concurrency()  # one wave: every claimed attempt starts at once
    totals = {"sent": 0, "skipped": 0, "superseded": 0}
    while True:
        claimed, count = _dispatch_claim(tenant_id=tenant_id, limit=limit, totals=totals)
        if claimed:
            done = _send_and_record(tenant_id=tenant_id, claimed=claimed)
            totals["sent"] += done["sent"]
            totals["superseded"] += done["superseded"]
        if count < limit:
            return totals


def _claim_ids(*, tenant_id: str, limit: int, now: dt.datetime) -> list[uuid.UUID]:
    """Claim up to ``limit`` due attempts (claim counter + 1, lease set); returns their ids."""
    if connection.vendor != "postgresql":  # embedded SQLite: writers are serialised anyway
        due = WebhookLog.objects.filter(
            tenant_id=tenant_id, webhook_type="outgoing", direction="outgoing", status=WebhookLog.Status.PENDING,
            next_retry_at__lte=now, claim_count__lt=conf.max_claims(),
        ).order_by("next_retry_at")
        rows = list(due.values_list("pk", "webhook_id")[:limit])
        webhooks = OutgoingWebhook.objects.in_bulk({webhook_id for _pk, webhook_id in rows})
        for pk, webhook_id in rows:
            WebhookLog.objects.filter(pk=pk).update(
                claim_count=F("claim_count") + 1, next_retry_at=_lease(webhooks.get(webhook_id), now))
        return [pk for pk, _webhook_id in rows]
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL.format(logs=WebhookLog._meta.db_table, hooks=OutgoingWebhook._meta.db_table),
            {"tenant": tenant_id, "now": now, "max_claims": conf.max_claims(), "limit": limit,
             "default_timeout": OutgoingWebhook._meta.get_field("timeout_seconds").default,
             "margin": conf.lease_margin_seconds()},
        )
        return [r[0] for r in cursor.fetchall()]


def _dispatch_claim(*, tenant_id: str, limit: int, totals: dict[str, int]) -> tuple[list[_Claimed], int]:
    """One claiming transaction: the attempts to send, and how many rows were claimed."""
    with tenant_scope(tenant_id):
        now = timezone.now()
        ids = _claim_ids(tenant_id=tenant_id, limit=limit, now=now)
        if not ids:
            return [], 0
        rows = list(WebhookLog.objects.filter(pk__in=ids).order_by("next_retry_at", "attempt"))
        webhooks = {w.pk: w for w in OutgoingWebhook.objects.filter(pk__in={r.webhook_id for r in rows})}
        claimed: list[_Claimed] = []
        skipped: dict[str, list[uuid.UUID]] = {}
        for row in rows:
            webhook = webhooks.get(row.webhook_id)
            manual = (row.result or {}).get("trigger") in ("manual", "test")
            if webhook is None or (not webhook.is_enabled and not manual):
                skipped.setdefault("webhook deleted" if webhook is None else "webhook disabled", []).append(row.pk)
                continue
            claimed.append(_Claimed.of(row, webhook))
        for reason, pks in skipped.items():
            WebhookLog.objects.filter(pk__in=pks).update(
                status=WebhookLog.Status.SKIPPED, error_message=reason, next_retry_at=None, completed_at=now)
            totals["skipped"] += len(pks)
        return claimed, len(ids)


def _send_and_record(*, tenant_id: str, claimed: list[_Claimed]) -> dict[str, int]:
    """Sign and send claimed attempts concurrently; record the outcomes as they arrive.

    No transaction is held while requests are in flight. Outcomes are written
    a group at a time (whatever finished together), each row with a
    compare-and-set on its claim, so a lease another worker took over is
    never overwritten.
    """
    now = timezone.now()
    ready: list[_Ready] = []
    unprepared: list[tuple[_Ready, outbound.OutboundResult]] = []
    for c in claimed:
        try:
            headers, logged = build_headers(
                webhook=c.webhook, delivery_id=str(c.delivery_id), event_type=c.event_type, body=c.body,
                timestamp=int(now.timestamp()), now=now, test=c.result.get("trigger") == "test",
                hops=int(c.result.get("hops") or 1),
            )
        except Exception as exc:  # noqa: BLE001 - a broken secret must be visible, not a stuck row
            unprepared.append((_Ready(c, {}, None), outbound.OutboundResult(
                error=f"request could not be prepared: {type(exc).__name__}", error_kind="refused")))
            continue
        ready.append(_Ready(c, headers, logged))
    totals = {"sent": 0, "superseded": 0}
    if not connection.in_atomic_block:
        # Waiting on receivers must not hold one of the process's few pooled
        # database connections (the sender pool has more threads than the
        # database pool has connections): give it back; _record takes one again.
        connection.close()
    if unprepared:
        totals["superseded"] += _record(tenant_id=tenant_id, outcomes=unprepared)
    for group in _send_all(ready):
        totals["sent"] += len(group)
        totals["superseded"] += _record(tenant_id=tenant_id, outcomes=group)
    return totals


#: After the first request of a batch finishes, wait this long for the others
#: so that their outcomes share one transaction (leases are seconds long).
_GROUP_WINDOW_SECONDS = 0.05


def _send(r: _Ready) -> outbound.OutboundResult:
    webhook = r.claimed.webhook
    return outbound.send(method=webhook.method, url=webhook.url, headers=r.headers, body=r.claimed.body,
                         timeout=webhook.timeout_seconds, allow_private=conf.allow_private())


def _send_all(ready: list[_Ready]) -> Iterator[list[tuple[_Ready, outbound.OutboundResult]]]:
    """Yield (attempt, result) groups as the requests finish (inline when there is one)."""
    if len(ready) == 1:
        yield [(ready[0], _send(ready[0]))]
        return
    # At most `send_concurrency` of this batch in flight at once (the waves its
    # leases allow for), on a pool shared by the process and large enough
    # that every batch's requests start as soon as they are submitted.
    limit = conf.send_concurrency()
    pool = _send_pool()
    queue = list(ready)
    futures: dict = {}
    while queue or futures:
        while queue and len(futures) < limit:
            r = queue.pop(0)
            futures[pool.submit(_send, r)] = r
        done, _pending = wait(futures, return_when=FIRST_COMPLETED)
        if len(done) < len(futures):
            more, _pending = wait(set(futures) - done, timeout=_GROUP_WINDOW_SECONDS)
            done |= more
        yield [(futures.pop(f), f.result()) for f in done]


_pool_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None


def _send_pool() -> ThreadPoolExecutor:
    """The process's sender threads: 16 batches' worth (idle threads are reused, never more are made)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            workers = 16 * conf.send_concurrency()
            _pool = (os.getpid(), ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook-send"))
        return _pool[1]


_RECORD_SQL = """
UPDATE {logs} SET method = COALESCE(%s, method), url = COALESCE(%s, url), headers = COALESCE(%s, headers),
    status = %s, response_status = %s, response_headers = %s, response_body = %s, duration_ms = %s,
    error_message = %s, completed_at = %s, next_retry_at = %s, result = %s
WHERE id = %s AND status = 'pending' AND claim_count = %s
RETURNING id
"""


def _jsonb(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)


def _record_rows(params: list[tuple[Any, ...]], computed: list[tuple[_Claimed, _Outcome]]) -> set[uuid.UUID]:
    """Run the compare-and-set updates; returns the ids that were still ours."""
    if connection.vendor != "postgresql":  # embedded SQLite: one ORM update each
        recorded = set()
        for (c, outcome), p in zip(computed, params, strict=True):
            request = {"method": p[0], "url": p[1], "headers": p[2].obj} if p[0] is not None else {}
            if WebhookLog.objects.filter(pk=c.row_id, status=WebhookLog.Status.PENDING, claim_count=c.token).update(
                    **request, **outcome.fields):
                recorded.add(c.row_id)
        return recorded
    recorded = set()
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: executemany(returning=True) pipelines the batch
        raw.executemany(_RECORD_SQL.format(logs=WebhookLog._meta.db_table), params, returning=True)
        while True:
            recorded.update(row[0] for row in raw.fetchall())
            if not raw.nextset():
                break
    return recorded


def _record(*, tenant_id: str, outcomes: list[tuple[_Ready, outbound.OutboundResult]]) -> int:
    """Write a group of outcomes in one transaction; returns how many leases had been taken over.

    Each row is a compare-and-set on its claim (``status = 'pending' AND
    claim_count = token``); the statements go to PostgreSQL as one pipelined
    batch (psycopg's ``executemany``) instead of a round trip each.
    """
    with tenant_scope(tenant_id):
        now = timezone.now()
        computed: list[tuple[_Claimed, _Outcome]] = []
        params: list[tuple[Any, ...]] = []
        for r, result in outcomes:
            c = r.claimed
            outcome = _outcome(attempt=c.attempt, max_attempts=c.max_attempts, extra=c.result,
                               webhook=c.webhook, result=result, now=now)
            f = outcome.fields
            sent = r.logged is not None
            params.append((
                c.webhook.method if sent else None, c.webhook.url if sent else None, _jsonb(r.logged),
                f["status"], f["response_status"], _jsonb(f["response_headers"]), _jsonb(f["response_body"]),
                f["duration_ms"], f["error_message"], f["completed_at"], f["next_retry_at"], _jsonb(f["result"]),
                c.row_id, c.token,
            ))
            computed.append((c, outcome))
        recorded = _record_rows(params, computed)
        settled: dict[uuid.UUID, tuple[OutgoingWebhook, list[_Outcome]]] = {}
        superseded = 0
        for c, outcome in computed:
            if c.row_id not in recorded:
                # The lease ran out and the sweeper handed the attempt to another worker.
                log.warning("attempt %s finished after its lease was taken over; result dropped", c.row_id)
                superseded += 1
                continue
            outcome.row_id = c.row_id
            settled.setdefault(c.webhook.pk, (c.webhook, []))[1].append(outcome)
            _log_attempt(c, outcome, tenant_id=tenant_id)
        # Counters last and in a fixed order: each webhook row stays locked only
        # until the commit just after, and two recorders never wait on each
        # other in opposite orders (a deadlock Postgres needs a second to break).
        for webhook_id in sorted(settled, key=str):
            webhook, results = settled[webhook_id]
            _settle(webhook, results, now)
    return superseded


def _log_attempt(c: _Claimed, outcome: _Outcome, *, tenant_id: str) -> None:
    """The one line per delivery attempt that ``make run`` shows."""
    f = outcome.fields
    result = f["response_status"] if f["response_status"] is not None else (f["error_message"] or "no answer")
    then = "" if outcome.final else f", retry at {f['next_retry_at']:%H:%M:%S}"
    log.log(logging.INFO if outcome.success else logging.WARNING,
            "delivery %s %s attempt %d/%d to %r: %s in %s ms%s", c.delivery_id, c.event_type, c.attempt,
            c.max_attempts, c.webhook.name, result, f["duration_ms"], then,
            extra={"delivery_id": str(c.delivery_id), "tenant_id": tenant_id})


@dataclass
class _Outcome:
    fields: dict[str, Any]
    success: bool
    final: bool
    trigger: str | None
    disable_reason: str | None = None
    row_id: uuid.UUID | None = None


def _outcome(*, attempt: int, max_attempts: int, extra: dict[str, Any], webhook: OutgoingWebhook | None,
             result: outbound.OutboundResult, now: dt.datetime) -> _Outcome:
    """The columns an attempt's result writes, and whether it ends the delivery (C8)."""
    success = result.ok
    extra = dict(extra)
    if result.truncated:
        extra["responseTruncated"] = True
    trigger = extra.get("trigger")
    fields: dict[str, Any] = {
        "status": WebhookLog.Status.SUCCESS if success else WebhookLog.Status.FAILED,
        "response_status": result.status,
        "response_headers": outbound.redact_headers(result.headers) if result.status is not None else None,
        "response_body": (result.body_json if result.body_json is not None else (result.body_text or ""))
        if result.status is not None else None,
        "duration_ms": result.duration_ms,
        "error_message": result.error or (None if success else f"HTTP {result.status}"),
        "completed_at": now,
        "next_retry_at": None,
        "result": extra,
    }
    outcome = _Outcome(fields=fields, success=success, final=True, trigger=trigger)
    if not success and webhook is not None:
        if webhook.retry_strategy == "exponential" and result.status == 410:
            outcome.disable_reason = "the receiver answered 410 Gone"
        elif attempt < max_attempts and trigger not in ("manual", "test") and result.error_kind != "refused":
            fields["next_retry_at"] = now + dt.timedelta(seconds=retry_delay(webhook=webhook, attempt=attempt, result=result))
            outcome.final = False
    return outcome


def _finish(row: WebhookLog, webhook: OutgoingWebhook | None, result: outbound.OutboundResult) -> str:
    """Write one attempt's outcome on ``row`` (test sends, give-ups) and settle the delivery."""
    now = timezone.now()
    outcome = _outcome(attempt=row.attempt, max_attempts=row.max_attempts, extra=row.result or {},
                       webhook=webhook, result=result, now=now)
    for name, value in outcome.fields.items():
        setattr(row, name, value)
    # Only the outcome columns: the stored request (body, headers) is never rewritten.
    row.save(update_fields=list(outcome.fields))
    outcome.row_id = row.pk
    if webhook is not None:
        _settle(webhook, [outcome], now)
    return row.status


def _settle(webhook: OutgoingWebhook, outcomes: list[_Outcome], now: dt.datetime) -> None:
    """Counters (one race-free UPDATE with F()), ``webhook.sent``, retries, auto-disable.

    ``outcomes`` are one webhook's recorded attempts, in the order they were
    recorded. Test sends touch nothing here.
    """
    outcomes = [o for o in outcomes if o.trigger != "test"]
    if not outcomes:
        return
    finals = [o for o in outcomes if o.final]
    ok = sum(1 for o in finals if o.success)
    last_ok = max((i for i, o in enumerate(finals) if o.success), default=None)
    # One statement, relative to the row's current values (concurrent recorders
    # add up); raw SQL because this runs for every recorded group.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {OutgoingWebhook._meta.db_table} SET last_sent_at = %s, last_status = %s, last_duration_ms = %s, "
            "total_sent = total_sent + %s, total_failed = total_failed + %s, "
            "consecutive_failures = CASE WHEN %s THEN %s ELSE consecutive_failures + %s END WHERE id = %s",
            [now, "success" if outcomes[-1].success else "failed", outcomes[-1].fields.get("duration_ms"),
             ok, len(finals) - ok,
             last_ok is not None, len(finals) - 1 - (last_ok or 0), len(finals) - ok,
             OutgoingWebhook._meta.pk.get_db_prep_value(webhook.pk, connection)],
        )
    qs = OutgoingWebhook.objects.filter(pk=webhook.pk)
    for o in outcomes:
        if o.final:
            publish(webhook.tenant_id, "webhook.sent",
                    {"webhookId": str(webhook.pk), "webhookName": webhook.name, "status": "success" if o.success else "failed"})
        else:
            _enqueue_retry_on_commit(o.row_id, str(webhook.tenant_id), o.fields["next_retry_at"])
    reason = next((o.disable_reason for o in finals if o.disable_reason), None)
    if reason is None and any(not o.success for o in finals):
        failures = qs.values_list("consecutive_failures", flat=True).first() or 0
        limit = conf.disable_after()
        if limit > 0 and failures >= limit:
            reason = f"disabled after {failures} consecutive failed deliveries"
    if reason is not None:
        webhook_disable(webhook=webhook, reason=reason)


def _retry_after_seconds(headers: dict[str, str]) -> float | None:
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if not raw:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(raw)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - timezone.now()).total_seconds())


def retry_delay(*, webhook: OutgoingWebhook, attempt: int, result: outbound.OutboundResult) -> float:
    """Seconds until the attempt after ``attempt`` (which failed with ``result``).

    linear (seed, C8): ``retryDelaySeconds × attempt``, exactly.
    exponential (Svix/Standard Webhooks): the fixed schedule ±20% jitter, at
    least 60 s after a 429 or a timeout, ``Retry-After`` honoured up to twice
    the planned delay.
    """
    if webhook.retry_strategy != "exponential":
        return float(webhook.retry_delay_seconds * attempt)
    base = float(EXPONENTIAL_SCHEDULE[min(attempt, len(EXPONENTIAL_SCHEDULE)) - 1])
    delay = base * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 - jitter, not crypto
    if result.status == 429 or result.error_kind == "timeout":
        delay = max(delay, OVERLOAD_MIN_DELAY)
    retry_after = _retry_after_seconds(result.headers) if result.status is not None else None
    if retry_after is not None:
        delay = min(max(retry_after, delay), 2 * delay)
    return delay


def webhook_disable(*, webhook: OutgoingWebhook, reason: str) -> bool:
    """Disable once (conditional update) and tell the tenant's browsers."""
    changed = OutgoingWebhook.objects.filter(pk=webhook.pk, is_enabled=True).update(is_enabled=False, disabled_reason=reason)
    if changed:
        log.info("outgoing webhook %s disabled: %s", webhook.pk, reason)
        publish(webhook.tenant_id, "webhook.disabled", {"webhookId": str(webhook.pk), "webhookName": webhook.name, "reason": reason})
    return bool(changed)


# --------------------------------------------------------------------------- retries, sweeper, replay


def _next_attempt_row(previous: WebhookLog, webhook: OutgoingWebhook, *, attempt: int, max_attempts: int, trigger: str) -> WebhookLog:
    return _attempt_row(
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
            WebhookLog.objects.select_for_update(skip_locked=True)
            .filter(pk=log_id, tenant_id=tenant_id, webhook_type="outgoing", direction="outgoing", status=WebhookLog.Status.FAILED)
            .filter(retried_at__isnull=True, next_retry_at__isnull=False)
            .first()
        )
        now = timezone.now()
        if row is None or (not force and row.next_retry_at > now):
            return None
        row.retried_at = now
        row.save(update_fields=["retried_at"])
        webhook = OutgoingWebhook.objects.filter(pk=row.webhook_id, tenant_id=tenant_id).first()
        if webhook is None or not webhook.is_enabled:
            return None  # the delivery ends here; the log says why through the webhook's state
        new = _next_attempt_row(row, webhook, attempt=row.attempt + 1, max_attempts=row.max_attempts, trigger="retry")
        try:
            with transaction.atomic():
                new.save(force_insert=True)
        except IntegrityError:
            return None  # that attempt exists already
        _dispatch_on_commit(tenant_id)
        return new


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
            WebhookLog.objects.select_for_update(skip_locked=True)
            .filter(webhook_type="outgoing", direction="outgoing", status=WebhookLog.Status.FAILED, retried_at__isnull=True)
            .filter(next_retry_at__isnull=False, next_retry_at__lte=now)
            .order_by("next_retry_at")
            .values_list("id", "tenant_id")[:limit]
        )
        stale = list(
            WebhookLog.objects.filter(webhook_type="outgoing", direction="outgoing", status=WebhookLog.Status.PENDING)
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
        webhook = OutgoingWebhook.objects.filter(pk=row.webhook_id).first()
        _finish(
            row,
            webhook,
            outbound.OutboundResult(error=f"worker lost {row.claim_count} times during this attempt", error_kind="connection"),
        )


def log_replay(*, log: WebhookLog) -> WebhookLog:
    """Send an outgoing attempt again as a new, manual attempt of the same delivery.

    Same delivery id and body bytes, fresh timestamp and signature; manual
    attempts are never retried automatically (Svix's rule).
    """
    if log.direction != "outgoing" or log.delivery_id is None or log.body_text is None:
        raise ReplayRefused("only outgoing attempts with a stored body can be replayed")
    webhook = OutgoingWebhook.objects.filter(pk=log.webhook_id, tenant_id=log.tenant_id).first()
    if webhook is None:
        raise ReplayRefused("the webhook no longer exists")
    if not webhook.is_enabled:
        raise ReplayRefused("the webhook is disabled; enable it first")
    with transaction.atomic():
        # Serialise replays of one delivery: lock its attempts, then take the next number.
        list(WebhookLog.objects.select_for_update().filter(delivery_id=log.delivery_id, webhook_type="outgoing").values_list("pk"))
        last = WebhookLog.objects.filter(delivery_id=log.delivery_id, webhook_type="outgoing").aggregate(m=Max("attempt"))["m"] or 0
        new = _next_attempt_row(log, webhook, attempt=last + 1, max_attempts=last + 1, trigger="manual")
        new.save(force_insert=True)
    _dispatch_on_commit(str(log.tenant_id))
    return new


# --------------------------------------------------------------------------- test send and preview


_SAMPLES: dict[str, dict[str, Any]] = {
    "meeting": {"title": "פגישת היכרות - משפחת כהן", "location": "תל אביב", "attendees": [{"email": "client@example.com", "name": "דנה כהן"}], "status": "scheduled"},
    "task": {"title": "להכין הדמיה לסלון", "status": "todo", "priority": "high", "assignee_email": "designer@example.com"},
    "document": {"name": "תוכנית קומה.pdf", "mime_type": "application/pdf", "size_bytes": 123456, "status": "draft", "file_url": "https://files.example.com/plan.pdf"},
    "payment": {"amount": Decimal("1500.00"), "currency": "ILS", "status": "pending", "description": "מקדמה"},
    "expense": {"amount": Decimal("320.50"), "currency": "ILS", "status": "pending", "category": "חומרים"},
    "client": {"name": "משפחת כהן", "email": "cohen@example.com", "phone": "+972-50-000-0000", "status": "active"},
    "supplier": {"name": "נגריית הגליל", "email": "info@example.com", "category": "נגרות"},
}


def sample_entity(*, tenant: Tenant, entity_type: str) -> dict[str, Any]:
    """A realistic, unsaved entity of ``entity_type`` as the API shows it (for test sends and previews)."""
    model = ENTITY_MODELS[entity_type]
    values = dict(_SAMPLES.get(entity_type, {}))
    if entity_type == "meeting":
        start = timezone.now().replace(microsecond=0) + dt.timedelta(days=1)
        values.update(start_time=start, end_time=start + dt.timedelta(hours=1))
    instance = model(tenant=tenant, **values)
    instance.created_at = instance.updated_at = timezone.now().replace(microsecond=0)
    return entity_snapshot(instance)


def entity_for_preview(*, tenant: Tenant, entity_type: str, entity_id: str) -> dict[str, Any] | None:
    instance = ENTITY_MODELS[entity_type].objects.filter(tenant=tenant, pk=entity_id).first()
    return entity_snapshot(instance) if instance is not None else None


def _default_trigger(webhook: OutgoingWebhook) -> tuple[str, str]:
    for trig in webhook.triggers or []:
        if isinstance(trig, dict) and trig.get("entityType") in ENTITY_TYPES and trig.get("events"):
            return trig["entityType"], trig["events"][0]
    return ENTITY_TYPES[0], ENTITY_EVENTS[0]


def webhook_preview(
    *,
    webhook: OutgoingWebhook | None,
    tenant: Tenant,
    template: str | None,
    use_webhook_template: bool,
    entity_type: str | None,
    event: str | None,
    entity: dict[str, Any] | None,
    entity_id: str | None,
) -> dict[str, Any]:
    """Render what would be sent for a sample or given entity (the builder's preview)."""
    default_type, default_event = _default_trigger(webhook) if webhook else (ENTITY_TYPES[0], ENTITY_EVENTS[0])
    entity_type = entity_type or default_type
    event = event or default_event
    if entity is None and entity_id:
        entity = entity_for_preview(tenant=tenant, entity_type=entity_type, entity_id=entity_id)
        if entity is None:
            raise WebhookConfigError({"entityId": [f"no {entity_type} with this id"]})
    if entity is None:
        entity = sample_entity(tenant=tenant, entity_type=entity_type)
    if use_webhook_template:
        template = webhook.payload_template if webhook else None
    else:
        template = validate_payload_template(template)
    probe = webhook or OutgoingWebhook(tenant=tenant, triggers=[])
    try:
        text = render_body(
            webhook=probe,
            entity=entity,
            entity_type=entity_type,
            entity_id=str(entity.get("id", "")),
            event=event,
            tenant_id=str(tenant.pk),
            timestamp=timezone.now().isoformat(),
            template=template or "",
        )
    except (BodyTooLarge, TemplateError) as exc:
        raise WebhookConfigError({"payloadTemplate": [str(exc)]}) from None
    from webhooks.templating import placeholders

    return {
        "entity_type": entity_type,
        "event": event,
        "body": json.loads(text),
        "body_text": text,
        "placeholders": placeholders(template) if template else [],
    }


def webhook_test_send(*, webhook: OutgoingWebhook, payload: dict[str, Any] | None = None,
                      entity_type: str | None = None, event: str | None = None) -> tuple[WebhookLog, outbound.OutboundResult]:
    """Send a sample (or the given ``payload`` as the entity) now, synchronously, and log it.

    No transaction is open while the request is in flight (the view is not
    atomic): the attempt row is committed in the tenant's scope first, the
    request sent (its deadline is the webhook's timeout), and the outcome
    written in a second transaction. Test sends do not touch the webhook's
    counters and are not retried (no ``next_retry_at``: no sweeper takes them).
    """
    with tenant_scope(webhook.tenant_id):
        row, headers, body = _test_attempt(webhook=webhook, payload=payload, entity_type=entity_type, event=event)
    if not connection.in_atomic_block:
        connection.close()  # nor a pooled connection while the receiver takes its time
    result = outbound.send(
        method=webhook.method, url=webhook.url, headers=headers, body=body,
        timeout=webhook.timeout_seconds, allow_private=conf.allow_private(),
    )
    with tenant_scope(webhook.tenant_id):
        _finish(row, webhook, result)
    return row, result


def _test_attempt(*, webhook: OutgoingWebhook, payload: dict[str, Any] | None, entity_type: str | None,
                  event: str | None) -> tuple[WebhookLog, dict[str, str], bytes]:
    """The test send's attempt row (saved), the headers to send and the body."""
    default_type, default_event = _default_trigger(webhook)
    entity_type = entity_type or default_type
    event = event or default_event
    entity = payload if payload is not None else sample_entity(tenant=webhook.tenant, entity_type=entity_type)
    now = timezone.now()
    text = render_body(
        webhook=webhook,
        entity=entity,
        entity_type=entity_type,
        entity_id=str(entity.get("id", "")) if isinstance(entity, dict) else "",
        event=event,
        tenant_id=str(webhook.tenant_id),
        timestamp=now.isoformat(),
    )
    body = text.encode("utf-8")
    delivery_id = uuid.uuid4()
    headers, logged = build_headers(
        webhook=webhook, delivery_id=str(delivery_id), event_type=f"{entity_type}.{event}", body=body,
        timestamp=int(now.timestamp()), now=now, test=True,
    )
    row = WebhookLog.objects.create(
        tenant_id=webhook.tenant_id, webhook_id=webhook.pk, webhook_type="outgoing", direction="outgoing",
        method=webhook.method, url=webhook.url, headers=logged, body=json.loads(text), body_text=text,
        status=WebhookLog.Status.PENDING, attempt=1, max_attempts=1, delivery_id=delivery_id,
        event_type=f"{entity_type}.{event}", result={"trigger": "test"}, claim_count=1,
    )
    return row, headers, body


# --------------------------------------------------------------------------- retention


def logs_cleanup(*, batch: int = 5000) -> int:
    """Delete webhook logs (both directions) older than the retention period.

    Attempts that still carry a pending or scheduled retry are kept: a
    delivery with long linear delays may outlive 14 days, and deleting its
    row would silently drop it.
    """
    cutoff = timezone.now() - dt.timedelta(days=conf.retention_days())
    total = 0
    while True:
        with operator_scope("webhook log retention"):
            ids = list(
                WebhookLog.objects.filter(timestamp__lt=cutoff)
                .exclude(status=WebhookLog.Status.PENDING)
                .exclude(status=WebhookLog.Status.FAILED, direction="outgoing", retried_at__isnull=True, next_retry_at__isnull=False)
                .values_list("pk", flat=True)[:batch]
            )
            if ids:
                WebhookLog.objects.filter(pk__in=ids).delete()
        total += len(ids)
        if len(ids) < batch:
            return total
