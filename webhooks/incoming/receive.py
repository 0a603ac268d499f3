"""The public endpoint's flow, top-down: endpoint → verify → store → answer.

:func:`incoming_receive` resolves the webhook inside the URL's tenant,
answers provider handshakes, checks size and media type, verifies the
signature, drops duplicates, applies the per-webhook rate limit and stores the
request as a ``WebhookLog`` row (``pending``), in one statement that commits
before the answer. Only then does the endpoint answer 202 and wake the
tenant's drain (:func:`webhooks.incoming.process.schedule_drain`) - so an
accepted request is always a committed row, and a lost wake-up is recovered
by the sweeper. The two raw statements (claim-and-store, dedupe claim) say
why they are raw where they stand.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as N_

from core import outbound
from core.tenant_context import (
    TENANT_SETTING,
    insert_scoped,
    scoped_insert_params,
    scoped_insert_parts,
    tenant_scope,
)
from core.words import english, words
from webhooks import loops
from webhooks.incoming import conf, limits, selectors
from webhooks.incoming.bodies import BodyError, parse_body
from webhooks.incoming.filters import arrival_verdict
from webhooks.incoming.models import WEBHOOK_TYPE, IncomingDedupe
from webhooks.incoming.process import schedule_drain
from webhooks.models import WebhookLog
from webhooks.verification import InboundRequest, accepted_status, handshake, verify

logger = logging.getLogger("architect_studio.webhooks.incoming")


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
        method=method, url=conf.public_base_url() + full_path, headers=headers, body=body, query=query
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

    ok_status = accepted_status(scheme)  # 202, or 200 where the provider insists (Xero)
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
    message = words(N_("dropped: %(header)s is %(hops)s, over the limit of %(limit)s (a webhook loop?)"),
                    header=loops.HOPS_HEADER, hops=hops, limit=limit)
    insert_scoped(WebhookLog, row["tenant_id"], {
        **row, "status": WebhookLog.Status.SKIPPED, "error_message": english(message),
        "result": {"dropped": True, "hops": hops, "actions": [], WebhookLog.ERROR_WORDS: message},
        "completed_at": timezone.now(),
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
