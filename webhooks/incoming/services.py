"""Incoming webhook services: manage webhooks, receive requests, process them, forward.

The flow (DESIGN §3, C6) is store → verify → answer → process:

1. :func:`incoming_receive` (the public endpoint) resolves the webhook inside
   the URL's tenant, answers provider handshakes, checks size and media type,
   verifies the signature, drops duplicates, applies the per-webhook rate
   limit and stores the request as a ``WebhookLog`` row (``pending``), in one
   statement that commits before the answer. Only then does the endpoint
   answer 202 and wake the tenant's drain - so an accepted request is always
   a committed row, and a lost wake-up is recovered by the sweeper.
2. :func:`incoming_drain` (Celery, batches of rows) runs
   :func:`incoming_process` on each, which applies the filters and
   runs the actions in order, each in its own savepoint, recording every
   outcome in ``log.result``; the log ends ``success``, ``failed`` or
   ``skipped`` (filters did not match).
3. ``forward`` actions become rows too: each attempt is an outgoing
   ``WebhookLog`` (``webhook_type="incoming"``) sent by its own task and
   retried on the seed's linear rule by the beat task :func:`forward_retry_due`.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from core.kick import enqueue, kick, kick_soon
from core.realtime import publish
from core.tenant_context import (
    TENANT_SETTING,
    insert_scoped,
    operator_scope,
    scoped_insert_params,
    scoped_insert_parts,
    tenant_scope,
)
from tenancy.models import Tenant
from webhooks import loops, outbound, signing
from webhooks.incoming import conf, limits, selectors
from webhooks.incoming.actions import ACTIONS, ActionContext, filters_match
from webhooks.incoming.filters import HEADER_VERDICT, arrival_verdict, filters_after_verdict
from webhooks.incoming.models import IncomingDedupe
from webhooks.models import IncomingWebhook, WebhookLog
from webhooks.verification import InboundRequest, handshake, parse_form_body, verify

#: Tasks this module wakes, by name (tasks import services, never the reverse).
DRAIN_TASK = "webhooks.incoming.tasks.drain_incoming"
SEND_FORWARD_TASK = "webhooks.incoming.tasks.send_forward"

logger = logging.getLogger("architect_studio.webhooks.incoming")

WEBHOOK_TYPE = "incoming"
FORWARD_EVENT = "webhook.forward"
FORWARD_DEFAULT_ATTEMPTS = 3
FORWARD_DEFAULT_DELAY_SECONDS = 60
_JSON_TYPES = ("application/json",)
_FORM_TYPE = "application/x-www-form-urlencoded"


# --------------------------------------------------------------------------- management


def public_url(*, tenant_id: uuid.UUID, webhook_id: uuid.UUID) -> str:
    return f"{settings.PUBLIC_BASE_URL}/api/webhooks/tenant/{tenant_id}/{webhook_id}"


@transaction.atomic
def incoming_create(*, tenant: Tenant, data: dict[str, Any]) -> tuple[IncomingWebhook, str]:
    """Create a webhook; returns it and its secret (shown to the caller this once).

    ``data`` is validated input (model field names). Without a ``secret`` the
    hub generates a Standard Webhooks one (``whsec_`` + 32 random bytes).
    """
    secret = data.pop("secret", None) or signing.generate_whsec()
    webhook = IncomingWebhook(tenant=tenant, **data)
    webhook.url = public_url(tenant_id=tenant.id, webhook_id=webhook.id)
    webhook.set_secret("secret", secret)
    webhook.save()
    return webhook, secret


@transaction.atomic
def incoming_update(*, webhook: IncomingWebhook, data: dict[str, Any]) -> IncomingWebhook:
    data = dict(data)
    data.pop("secret", None)  # secrets change only through rotation
    for name, value in data.items():
        setattr(webhook, name, value)
    webhook.save(update_fields=[*data.keys(), "updated_at"] if data else ["updated_at"])
    return webhook


@transaction.atomic
def incoming_delete(*, webhook: IncomingWebhook) -> None:
    IncomingDedupe.objects.filter(webhook_id=webhook.id).delete()
    webhook.delete()


@transaction.atomic
def incoming_rotate_secret(*, webhook: IncomingWebhook, secret: str | None = None) -> tuple[IncomingWebhook, str]:
    """New secret now; the old one keeps verifying for the grace period (24 h default)."""
    new_secret = secret or signing.generate_whsec()
    old_secret = webhook.get_secret("secret")
    webhook.set_secret("previous_secret", old_secret)
    webhook.previous_secret_expires_at = timezone.now() + timedelta(seconds=conf.secret_grace_seconds())
    webhook.set_secret("secret", new_secret)
    webhook.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return webhook, new_secret


# --------------------------------------------------------------------------- receiving


@dataclass
class ReceiveResult:
    """What the public endpoint answers (JSON ``data`` or raw ``body``)."""

    status: int
    data: dict[str, Any] | None = None
    body: bytes | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    log_id: uuid.UUID | None = None


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> ReceiveResult:
    return ReceiveResult(status, {"error": {"code": code, "message": message}}, headers=headers or {})


NOT_FOUND = ("not_found", "Not found.")


def _media_type(content_type: str) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("non-finite number")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _clean_text(value: str) -> str:
    # PostgreSQL JSONB refuses NUL and unpaired surrogates: replace them (U+FFFD).
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace").replace("\x00", "\ufffd")


def clean_json(value: Any) -> Any:
    """A copy of ``value`` that PostgreSQL's JSONB accepts."""
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, dict):
        return {_clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    return value


class BodyError(ValueError):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def parse_body(body: bytes, content_type: str) -> tuple[Any, str]:
    """Parsed body (JSON value or form dict) and its kind; raises BodyError (400/415)."""
    media = _media_type(content_type)
    if not body and not media:
        return None, "empty"
    if media in _JSON_TYPES or media.endswith("+json"):
        if not body:
            return None, "empty"
        try:
            value = json.loads(body, parse_float=_parse_float, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise BodyError(400, "invalid", "The body is not valid JSON.") from None
        return (clean_json(value) if b"\\u" in body else value), "json"
    if media == _FORM_TYPE:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise BodyError(400, "invalid", "The form body is not valid UTF-8.") from None
        form = parse_form_body(body)
        return (clean_json(form) if b"%" in body else form), "form"
    raise BodyError(415, "unsupported_media_type", "Send application/json or application/x-www-form-urlencoded.")


def incoming_receive(
    *,
    tenant_id: uuid.UUID,
    webhook_id: uuid.UUID,
    method: str,
    full_path: str,
    headers: dict[str, str],
    body: bytes,
    query: dict[str, str],
) -> ReceiveResult:
    """Authenticate and store one request to the public endpoint (see module docstring).

    Runs outside a transaction on the public endpoint (``non_atomic_requests``):
    on PostgreSQL the lookup and the insert each set the tenant for
    themselves, so a request costs two statements and no BEGIN/COMMIT — with
    a delivery id, the second claims the id and stores the row together. A
    delivery id seen before is then settled in one tenant-scoped transaction
    (a duplicate, or an id older than the window claimed anew). Inside a
    caller's transaction (the test endpoint) the same code joins it. Either
    way the processing task is only told about the row once it is committed.
    """
    webhook = selectors.incoming_get_public(tenant_id=tenant_id, webhook_id=webhook_id)
    if webhook is None:
        return _error(404, *NOT_FOUND)
    secrets = selectors.incoming_valid_secrets(webhook=webhook)
    scheme = webhook.verification_scheme
    config = webhook.opened_verification_config()
    req = InboundRequest(
        method=method, url=settings.PUBLIC_BASE_URL + full_path, headers=headers, body=body, query=query
    )
    answer = handshake(scheme, req, secrets, config)
    if answer is not None:
        return ReceiveResult(answer.status, body=answer.body, content_type=answer.content_type, headers=answer.headers)
    if method != "POST":
        return _error(405, "method_not_allowed", "Use POST.", {"Allow": "POST"})
    try:
        payload, _kind = parse_body(body, headers.get("Content-Type", ""))
    except BodyError as exc:
        return _error(exc.status, exc.code, exc.message)

    result = verify(scheme, req, secrets, config)
    if not result.ok:
        return _error(401, "invalid_signature", f"Signature verification failed: {result.reason}.")

    wid = str(webhook.id)
    if limits.rate_limited(wid, conf.rate_limit_per_second()):
        return _error(429, "throttled", "Too many requests for this webhook; retry shortly.", {"Retry-After": "1"})

    ok_status = 200 if scheme == "xero" else 202  # Xero's intent-to-receive insists on 200
    log_id = uuid.uuid4()
    dedupe_key = result.dedupe_id
    row = {
        "id": log_id, "tenant_id": tenant_id, "webhook_id": webhook.id, "webhook_type": WEBHOOK_TYPE,
        "direction": "incoming", "method": method, "url": req.url, "headers": outbound.redact_headers(headers),
        "body": payload, "status": WebhookLog.Status.PENDING, "attempt": 1, "max_attempts": 1,
        "result": arrival_verdict(webhook, headers),
    }
    lid, tid = str(log_id), str(tenant_id)
    hops = loops.hops_of(headers)
    if hops > loops.max_hops():
        return _store_dropped(row, hops, ok_status)
    if not dedupe_key:
        # One statement: stored and (outside a transaction) committed before the answer.
        insert_scoped(WebhookLog, tenant_id, row)
    elif not (connection.vendor == "postgresql" and _store_claimed(tenant_id, webhook.id, dedupe_key, row)):
        # A delivery id seen before (or SQLite): decide in one tenant-scoped transaction.
        with tenant_scope(tenant_id):
            original = _dedupe_claim(tenant_id=tenant_id, webhook_id=webhook.id, dedupe_key=dedupe_key, log_id=log_id)
            if original is not None:
                return ReceiveResult(200, {"received": True, "duplicate": True, "logId": str(original)})
            insert_scoped(WebhookLog, tenant_id, {**row, "dedupe_key": dedupe_key})
    transaction.on_commit(lambda: schedule_drain(tid))  # at once when not in a transaction
    return ReceiveResult(ok_status, {"received": True, "logId": lid}, log_id=log_id)


def _store_dropped(row: dict[str, Any], hops: int, ok_status: int) -> ReceiveResult:
    """A request that has travelled too many hops (a webhook loop): kept for the log,
    answered as received (so the sender stops retrying), never processed."""
    limit = loops.max_hops()
    message = f"dropped: {loops.HOPS_HEADER} is {hops}, over the limit of {limit} (a webhook loop?)"
    insert_scoped(WebhookLog, row["tenant_id"], {
        **row, "status": WebhookLog.Status.SKIPPED, "error_message": message,
        "result": {"dropped": True, "hops": hops, "actions": []}, "completed_at": timezone.now(),
    })
    logger.warning("incoming request %s to webhook %s dropped: %s %d > %d",
                   row["id"], row["webhook_id"], loops.HOPS_HEADER, hops, limit)
    return ReceiveResult(ok_status, {"received": True, "logId": str(row["id"]), "dropped": True}, log_id=row["id"])


_CLAIM_AND_STORE = (
    "WITH tenant_scope AS MATERIALIZED (SELECT set_config('" + TENANT_SETTING + "', %s, true)), "
    "claim AS (INSERT INTO incoming_webhook_dedupe (id, tenant_id, webhook_id, dedupe_key, log_id, created_at) "
    "SELECT %s::uuid, %s::uuid, %s::uuid, %s::varchar, %s::uuid, now() FROM tenant_scope "
    "ON CONFLICT (webhook_id, dedupe_key) DO NOTHING RETURNING 1) "
    "{head} SELECT {casts} FROM claim RETURNING 1"
)


def _store_claimed(tenant_id: uuid.UUID, webhook_id: uuid.UUID, dedupe_key: str, row: dict) -> bool:
    """PostgreSQL: claim a new delivery id and store its row in one statement (the tenant
    set by the statement itself, as in ``insert_scoped``). False, with nothing stored,
    when the id is claimed already: then :func:`_dedupe_claim` decides."""
    row = {**row, "dedupe_key": dedupe_key}
    head, casts, fields = scoped_insert_parts(WebhookLog, row, connection)
    params = [str(tenant_id), uuid.uuid4(), tenant_id, webhook_id, dedupe_key, row["id"],
              *scoped_insert_params(fields, row, connection)]
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_AND_STORE.format(head=head, casts=casts), params)
        return cursor.fetchone() is not None


def _dedupe_claim(*, tenant_id: uuid.UUID, webhook_id: uuid.UUID, dedupe_key: str, log_id: uuid.UUID) -> uuid.UUID | None:
    """Record the delivery id; returns the original log id if it is a duplicate.

    ``ON CONFLICT DO NOTHING`` on the unique constraint: a concurrent copy of
    the same delivery waits for the first transaction and then sees the row,
    with no savepoint needed. An id older than the window is claimed anew.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO incoming_webhook_dedupe (id, tenant_id, webhook_id, dedupe_key, log_id, created_at) "
            "VALUES (%s, %s, %s, %s, %s, now()) ON CONFLICT (webhook_id, dedupe_key) DO NOTHING RETURNING id",
            [uuid.uuid4(), tenant_id, webhook_id, dedupe_key, log_id],
        )
        if cursor.fetchone() is not None:
            return None
    cutoff = timezone.now() - timedelta(seconds=conf.dedupe_seconds())
    reclaimed = IncomingDedupe.objects.filter(
        webhook_id=webhook_id, dedupe_key=dedupe_key, created_at__lt=cutoff
    ).update(log_id=log_id, created_at=timezone.now())
    if reclaimed:
        return None
    existing = IncomingDedupe.objects.filter(webhook_id=webhook_id, dedupe_key=dedupe_key).values_list("log_id", flat=True)
    return existing.first() or log_id


def schedule_drain(tenant_id: str) -> None:
    """After commit: make sure a drain task for the tenant is on its way.

    Why not one message per request: publishing a Celery message costs more
    than the rest of the endpoint's work together (measured in
    bench/incoming.py). :mod:`core.kick` lets one message cover every request
    stored while it waits, and ``kick_soon`` sends that kick from a
    background thread so the request does not wait for Redis; correctness
    does not depend on it (see :func:`incoming_drain`, and the pending
    sweeper behind both).
    """
    kick_soon(DRAIN_TASK, tenant_id)


#: Requests a drain claims and processes per transaction.
DRAIN_BATCH = 25


def incoming_drain(*, tenant_id: str, budget_seconds: float = 20.0, batch: int = DRAIN_BATCH) -> int:
    """Process the tenant's pending requests, oldest first, a batch per transaction.

    The task's wake-up flag is released *before* the first look (by the
    task, :func:`core.kick.kicked`), so a request committed after that look
    schedules a new drain, and one committed before it is seen by this one:
    nothing is left behind. Rows are claimed with ``SKIP LOCKED``, so
    concurrent drains (and the sweeper) share the work; a full batch kicks
    one more drain, so a backlog is worked on by as many worker threads as
    it needs, each drain taking the next batch. Each request runs in a
    savepoint of its own (one that fails is marked failed, the others
    commit); the webhooks' counters are updated once per batch, in id order.
    Stops after ``budget_seconds`` and hands the rest to a fresh task.
    """
    import time

    started = time.monotonic()
    done = 0
    while True:
        with tenant_scope(tenant_id):
            rows = list(
                WebhookLog.objects.select_for_update(skip_locked=True)
                .filter(tenant_id=tenant_id, webhook_type=WEBHOOK_TYPE, direction="incoming",
                        status=WebhookLog.Status.PENDING)
                .order_by("timestamp")[:batch]
            )
            if not rows:
                return done
            if len(rows) == batch:
                # More are likely waiting: wake another drain now, so that it takes
                # the next batch (SKIP LOCKED) while this one works on these.
                kick(DRAIN_TASK, tenant_id)
            _process_batch(rows)
        done += len(rows)
        if time.monotonic() - started > budget_seconds:
            kick(DRAIN_TASK, tenant_id)
            return done


def _process_batch(rows: list[WebhookLog]) -> None:
    webhooks = {w.pk: w for w in IncomingWebhook.objects.filter(pk__in={r.webhook_id for r in rows})
                .select_related("tenant")}
    received: dict[uuid.UUID, list] = {}
    for row in rows:
        webhook = webhooks.get(row.webhook_id)
        try:
            with transaction.atomic():
                incoming_process(log=row, webhook=webhook, count=False)
        except Exception as exc:  # noqa: BLE001 - a poison request must not hold the batch back
            logger.exception("incoming request %s could not be processed", row.pk)
            with transaction.atomic():
                _finish(row, WebhookLog.Status.FAILED, {"actions": []}, f"internal error ({type(exc).__name__})")
        if webhook is not None:
            received.setdefault(webhook.pk, []).append(row.timestamp or timezone.now())
    for webhook_id in sorted(received):
        stamps = received[webhook_id]
        IncomingWebhook.objects.filter(pk=webhook_id).update(
            total_received=F("total_received") + len(stamps),
            last_received_at=Greatest(Coalesce("last_received_at", Value(max(stamps))), Value(max(stamps))),
        )


# --------------------------------------------------------------------------- processing


def incoming_process(
    *, log: WebhookLog, inline_forward: bool = False, count: bool = True, webhook: IncomingWebhook | None = None
) -> dict[str, Any]:
    """Filters, then every action in order; records outcomes on ``log``. Call in the tenant scope.

    The caller has claimed ``log`` (``select_for_update``). ``count`` updates
    ``totalReceived``/``lastReceivedAt`` (drains count once per batch instead;
    tests and reprocessing do not count).
    """
    if webhook is None or webhook.pk != log.webhook_id:
        webhook = IncomingWebhook.objects.filter(pk=log.webhook_id).select_related("tenant").first()
    if webhook is None:
        _finish(log, WebhookLog.Status.FAILED, {"actions": []}, "webhook no longer exists")
        return {"status": log.status, "actions": [], "error": log.error_message}
    headers = log.headers or {}
    payload = log.body
    filters, verdict = filters_after_verdict(webhook.opened_filters(), log)
    if verdict is not None and not verdict.get("matched"):
        matched, reason = False, str(verdict.get("reason") or "headers do not match")
    else:
        matched, reason = filters_match(filters, headers=headers, payload=payload)
    kept = {HEADER_VERDICT: verdict} if verdict is not None else {}  # reprocessing needs it again
    if not matched:
        result: dict[str, Any] = {"filtered": True, "reason": reason, "actions": [], **kept}
        _finish(log, WebhookLog.Status.SKIPPED, result, None)
    else:
        outcomes = []
        for index, action in enumerate(webhook.actions or []):
            action_type = action.get("type") if isinstance(action, dict) else None
            handler = ACTIONS.get(action_type)
            entry: dict[str, Any] = {"index": index, "type": action_type}
            if handler is None:
                entry.update(status="failed", error=f"unknown action type {action_type!r}")
            else:
                ctx = ActionContext(
                    tenant=webhook.tenant, webhook=webhook, log=log, index=index,
                    config=dict(action.get("config") or {}), payload=payload, headers=headers,
                    inline_forward=inline_forward,
                )
                try:
                    with transaction.atomic():
                        entry.update(handler(ctx))
                except Exception as exc:  # noqa: BLE001 - one action's failure must not hide the others
                    logger.exception("incoming action %s failed on log %s", action_type, log.pk)
                    entry.update(status="failed", error=f"internal error ({type(exc).__name__})")
            outcomes.append(entry)
        failed = [o for o in outcomes if o.get("status") == "failed"]
        status = WebhookLog.Status.FAILED if failed else WebhookLog.Status.SUCCESS
        error = "; ".join(f"{o['type']}: {o.get('error', 'failed')}" for o in failed)[:2000] or None
        _finish(log, status, {"actions": outcomes, **kept}, error)
    if count:
        IncomingWebhook.objects.filter(pk=webhook.pk).update(
            total_received=F("total_received") + 1, last_received_at=log.timestamp or timezone.now()
        )
    publish(
        webhook.tenant_id,
        "webhook.received",
        {
            "webhookId": str(webhook.id),
            "webhookName": webhook.name,
            # The seed's status is success | failed; a filtered request is not a failure.
            "status": "failed" if log.status == WebhookLog.Status.FAILED else "success",
            "outcome": log.status,
            "logId": str(log.id),
        },
    )
    return {"status": log.status, **(log.result or {}), "error": log.error_message}


def _finish(log: WebhookLog, status: str, result: dict[str, Any], error: str | None) -> None:
    log.status, log.result, log.error_message = status, result, error
    log.save(update_fields=["status", "result", "error_message"])


def claim_pending(*, log_id: str) -> WebhookLog | None:
    """Lock a pending incoming request for processing (None if done or being processed)."""
    return (
        WebhookLog.objects.select_for_update(skip_locked=True)
        .filter(pk=log_id, webhook_type=WEBHOOK_TYPE, direction="incoming", status=WebhookLog.Status.PENDING)
        .first()
    )


def incoming_reprocess(log: WebhookLog) -> dict[str, Any]:
    """Run a stored incoming request's actions again (admin "reprocess", replay endpoint)."""
    if log.webhook_type != WEBHOOK_TYPE or log.direction != "incoming":
        raise ValueError("only received requests can be reprocessed")
    with tenant_scope(log.tenant_id):
        locked = WebhookLog.objects.select_for_update().get(pk=log.pk)
        outcome = incoming_process(log=locked, count=False)
    log.status, log.result, log.error_message = locked.status, locked.result, locked.error_message
    return {"logId": str(log.id), **outcome}


# --------------------------------------------------------------------------- test


SAMPLE_PAYLOAD = {"event": "test", "data": {"message": "Test delivery from Architect Studio"}}


def _test_headers(scheme: str, secret: str, body: bytes, url: str, config: dict[str, Any]) -> dict[str, str] | None:
    """Headers a real sender of ``scheme`` would add, or None when the hub cannot sign for it."""
    import base64
    import hashlib
    import hmac
    import time

    now = int(time.time())
    msg_id = f"msg_test_{uuid.uuid4().hex}"
    b64 = lambda data: base64.b64encode(hmac.new(secret.encode(), data, hashlib.sha256).digest()).decode()  # noqa: E731
    if scheme == "hmac":
        return {"X-Webhook-Signature": signing.hex_hmac_sha256(secret, body), "X-Request-Id": msg_id}
    if scheme == "standard":
        return signing.standard_headers([secret], msg_id, now, body)
    if scheme == "stripe":
        return {"Stripe-Signature": f"t={now},v1={signing.hex_hmac_sha256(secret, f'{now}.'.encode() + body)}"}
    if scheme == "meta":
        return {"X-Hub-Signature-256": "sha256=" + signing.hex_hmac_sha256(secret, body)}
    if scheme == "dropbox":
        return {"X-Dropbox-Signature": signing.hex_hmac_sha256(secret, body)}
    if scheme == "xero":
        return {"x-xero-signature": b64(body)}
    if scheme == "quickbooks":
        return {"intuit-signature": b64(body)}
    if scheme == "hubspot":
        ts = str(now * 1000)
        return {"X-HubSpot-Signature-v3": b64(b"POST" + url.encode() + body + ts.encode()),
                "X-HubSpot-Request-Timestamp": ts}
    if scheme == "payplus":
        return {"hash": b64(body), "User-Agent": "PayPlus"}
    if scheme == "google_channel_token":
        return {"X-Goog-Channel-ID": msg_id, "X-Goog-Channel-Token": secret, "X-Goog-Resource-State": "exists",
                "X-Goog-Message-Number": "1"}
    if scheme == "monday_jwt":
        import jwt

        return {"Authorization": jwt.encode({"aud": url, "iat": now, "exp": now + 300}, secret, algorithm="HS256")}
    if scheme == "none":
        return {}
    return None  # twilio (form/URL-signed), graph (clientState in body), sendgrid (private key)


@transaction.atomic
def incoming_test(webhook: IncomingWebhook, *, payload: dict | None = None) -> dict:
    """Sign a sample payload, run it through the real pipeline, report per action.

    The request is verified with the webhook's own scheme and secret, stored
    as a log row like any other (its ``X-Request-Id`` is unique, so dedupe
    never hides it) and processed inline - forwards included - so the caller
    sees each action's outcome at once. Counters are not touched.
    """
    body_value = payload if payload is not None else {**SAMPLE_PAYLOAD, "webhookId": str(webhook.id)}
    body = json.dumps(body_value, separators=(",", ":"), ensure_ascii=False).encode()
    scheme = webhook.verification_scheme
    with tenant_scope(webhook.tenant_id):
        secrets = selectors.incoming_valid_secrets(webhook=webhook)
        headers = {"Content-Type": "application/json", "User-Agent": outbound.USER_AGENT}
        config = webhook.opened_verification_config()
        signed = _test_headers(scheme, secrets[0], body, webhook.url, config) if secrets else None
        if signed is None:
            verification = {"scheme": scheme, "ok": None, "reason": f"the hub cannot sign {scheme} requests; not verified"}
        else:
            headers.update(signed)
            req = InboundRequest(method="POST", url=webhook.url, headers=headers, body=body)
            result = verify(scheme, req, secrets, config)
            verification = {"scheme": scheme, "ok": result.ok, "reason": result.reason}
            if not result.ok:
                return {"status": "failed", "verification": verification, "actions": [], "logId": None}
        log_row = WebhookLog.objects.create(
            tenant_id=webhook.tenant_id, webhook_id=webhook.id, webhook_type=WEBHOOK_TYPE, direction="incoming",
            method="POST", url=webhook.url, headers=outbound.redact_headers(headers), body=body_value,
            status=WebhookLog.Status.PENDING, attempt=1, max_attempts=1, event_type="test",
            result=arrival_verdict(webhook, headers),
        )
        outcome = incoming_process(log=log_row, inline_forward=True, count=False)
    return {"logId": str(log_row.id), "verification": verification, **outcome}


# --------------------------------------------------------------------------- forward


def _forward_settings(config: dict[str, Any]) -> tuple[int, int]:
    attempts = int(config.get("retryAttempts") or FORWARD_DEFAULT_ATTEMPTS)
    delay = int(config.get("retryDelaySeconds") or FORWARD_DEFAULT_DELAY_SECONDS)
    return attempts, delay


def forward_enqueue(ctx: ActionContext) -> dict[str, Any]:
    """The ``forward`` action: attempt 1 becomes a row now, sent after commit (or inline)."""
    attempts, _delay = _forward_settings(ctx.config)
    row = WebhookLog.objects.create(
        tenant_id=ctx.tenant.id, webhook_id=ctx.webhook.id, webhook_type=WEBHOOK_TYPE, direction="outgoing",
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
        WebhookLog.objects.select_for_update(skip_locked=True)
        .filter(pk=log_id, webhook_type=WEBHOOK_TYPE, direction="outgoing", status=WebhookLog.Status.PENDING)
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
        row.next_retry_at = timezone.now() + timedelta(seconds=delay * row.attempt)
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


# --------------------------------------------------------------------------- beat


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
            WebhookLog.objects.select_for_update(skip_locked=True)
            .filter(webhook_type=WEBHOOK_TYPE, direction="outgoing", status=WebhookLog.Status.FAILED,
                    next_retry_at__isnull=False, next_retry_at__lte=now)
            .order_by("next_retry_at")[:limit]
        )
        for previous in due:
            nxt = WebhookLog.objects.create(
                tenant_id=previous.tenant_id, webhook_id=previous.webhook_id, webhook_type=WEBHOOK_TYPE,
                direction="outgoing", method=previous.method, url=previous.url, headers={}, body=previous.body,
                status=WebhookLog.Status.PENDING, attempt=previous.attempt + 1, max_attempts=previous.max_attempts,
                delivery_id=previous.delivery_id, event_type=FORWARD_EVENT, result=previous.result,
            )
            previous.next_retry_at = None
            previous.save(update_fields=["next_retry_at"])
            to_send.append((str(nxt.pk), str(nxt.tenant_id)))
        lost = (
            WebhookLog.objects.select_for_update(skip_locked=True)
            .filter(webhook_type=WEBHOOK_TYPE, direction="outgoing", status=WebhookLog.Status.PENDING, timestamp__lt=stale)
            .values_list("pk", "tenant_id")[:limit]
        )
        to_send.extend((str(pk), str(tid)) for pk, tid in lost)
    return sum(enqueue_forward(rid, tid) for rid, tid in to_send)


def incoming_redispatch_pending(*, limit: int = 500) -> int:
    """Wake the drain of every tenant with requests still pending after the grace period
    (a lost wake-up, a worker killed mid-batch); returns how many requests that covers.

    One coalesced kick per tenant (:mod:`core.kick`), not a task per request: the
    drain takes them in batches, as it does every other request.
    """
    stale = timezone.now() - timedelta(seconds=conf.redispatch_after_seconds())
    with operator_scope("incoming pending sweeper"):
        tenants = list(
            WebhookLog.objects.select_for_update(skip_locked=True)  # rows a drain holds are in hand
            .filter(webhook_type=WEBHOOK_TYPE, direction="incoming", status=WebhookLog.Status.PENDING, timestamp__lt=stale)
            .order_by("timestamp")
            .values_list("tenant_id", flat=True)[:limit]
        )
    woken = {tid for tid in set(tenants) if kick(DRAIN_TASK, str(tid))}
    return sum(1 for tid in tenants if tid in woken)


def incoming_cleanup() -> dict[str, int]:
    """Drop expired delivery ids and old automation runs.

    The request and forward rows themselves (``webhook_logs``) are removed by
    the shared webhook-log retention task with the outgoing ones
    (WEBHOOK_LOG_RETENTION_DAYS, 14 days).
    """
    from webhooks.incoming.models import AutomationRun

    now = timezone.now()
    with operator_scope("incoming cleanup: expired delivery ids, old automation runs"):
        dedupe, _ = IncomingDedupe.objects.filter(created_at__lt=now - timedelta(seconds=conf.dedupe_seconds())).delete()
        runs, _ = AutomationRun.objects.filter(
            started_at__lt=now - timedelta(days=settings.WEBHOOK_LOG_RETENTION_DAYS)
        ).delete()
    return {"dedupe": dedupe, "automationRuns": runs}
