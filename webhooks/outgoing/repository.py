"""The delivery engine's raw SQL, each statement with its reason and its SQLite twin beside it.

Everything else goes through the ORM. These run on the hot path (a claim per
dispatcher batch, a record per group of answers, a presence check per outbox
batch), where one statement instead of a round trip per row is the point.
The embedded mode (SQLite, writers serialised anyway) takes the ORM twin.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db import connection
from django.db.models import F, Q
from psycopg.types.json import Jsonb

from core.db import ids_where
from webhooks.incoming import conf as incoming_conf
from webhooks.models import OutgoingWebhook, WebhookLog
from webhooks.outgoing import conf
from webhooks.outgoing.attempts import AttemptOutcome, ClaimedAttempt, attempt_lease


def ids_present(ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``ids`` exist in webhook_logs (after an insert that skipped conflicts).

    Why raw: ``bulk_create(ignore_conflicts=True)`` does not say which rows it
    inserted, and this runs per outbox batch; one ``SELECT id … WHERE id IN``
    (:func:`core.db.ids_where` builds the portable list, so SQLite runs the
    same statement).
    """
    where, params = ids_where("id", ids)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {WebhookLog._meta.db_table} WHERE {where}", params)
        return {r[0] if isinstance(r[0], uuid.UUID) else uuid.UUID(r[0]) for r in cursor.fetchall()}


_CLAIM_SQL = """
WITH due AS (
    SELECT id FROM {logs}
    WHERE tenant_id = %(tenant)s AND direction = 'outgoing'
      AND status = 'pending' AND next_retry_at <= %(now)s AND claim_count < %(max_claims)s
    ORDER BY next_retry_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE {logs} AS l
SET claim_count = l.claim_count + 1,
    next_retry_at = %(now)s + make_interval(secs => 2 * CASE WHEN l.webhook_type = 'incoming'
        THEN %(forward_timeout)s
        ELSE COALESCE((SELECT w.timeout_seconds FROM {hooks} AS w WHERE w.id = l.webhook_id), %(default_timeout)s)
        END + %(margin)s)
FROM due WHERE l.id = due.id
RETURNING l.id
"""


def claim_due_ids(*, tenant_id: str, limit: int, now: dt.datetime) -> list[uuid.UUID]:
    """Claim up to ``limit`` due attempts of either kind (claim counter + 1, lease set); returns their ids.

    Why raw (``_CLAIM_SQL``): select-and-claim in one statement with ``FOR
    UPDATE SKIP LOCKED``, the lease computed from each row's timeout in SQL
    (its webhook's; a forward's is ``INCOMING_FORWARD_TIMEOUT_SECONDS``), so
    concurrent dispatchers split the work in one round trip. SQLite twin: the
    ORM loop just below (writers are serialised there, no SKIP LOCKED).
    """
    if connection.vendor != "postgresql":  # embedded SQLite: writers are serialised anyway
        due = WebhookLog.objects.sent().filter(
            tenant_id=tenant_id, status=WebhookLog.Status.PENDING,
            next_retry_at__lte=now, claim_count__lt=conf.max_claims(),
        ).order_by("next_retry_at")
        rows = list(due.values_list("pk", "webhook_id", "webhook_type")[:limit])
        webhooks = OutgoingWebhook.objects.in_bulk({webhook_id for _pk, webhook_id, _type in rows})
        for pk, webhook_id, kind in rows:
            WebhookLog.objects.filter(pk=pk).update(
                claim_count=F("claim_count") + 1, next_retry_at=_lease(kind, webhooks.get(webhook_id), now))
        return [pk for pk, _webhook_id, _type in rows]
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL.format(logs=WebhookLog._meta.db_table, hooks=OutgoingWebhook._meta.db_table),
            {"tenant": tenant_id, "now": now, "max_claims": conf.max_claims(), "limit": limit,
             "default_timeout": OutgoingWebhook._meta.get_field("timeout_seconds").default,
             "forward_timeout": incoming_conf.forward_timeout_seconds(), "margin": conf.lease_margin_seconds()},
        )
        return [r[0] for r in cursor.fetchall()]


def _lease(kind: str, webhook: OutgoingWebhook | None, now: dt.datetime) -> dt.datetime:
    if kind == WebhookLog.Type.INCOMING:  # a forward: the forward timeout
        return now + dt.timedelta(seconds=2 * incoming_conf.forward_timeout_seconds() + conf.lease_margin_seconds())
    return attempt_lease(webhook, now)


def claim_one(*, log_id: str, now: dt.datetime) -> WebhookLog | None:
    """Claim one attempt by id, due or not (pending, not held by a live lease); the row, or None.

    ORM on both databases: one row, off the hot path (an inline send).
    """
    row = (
        WebhookLog.objects.sent().select_for_update(skip_locked=True)
        .filter(pk=log_id, status=WebhookLog.Status.PENDING, claim_count__lt=conf.max_claims())
        .filter(Q(claim_count=0) | Q(next_retry_at__lte=now))
        .first()
    )
    if row is None:
        return None
    webhook = OutgoingWebhook.objects.filter(pk=row.webhook_id).first() if row.webhook_type == WebhookLog.Type.OUTGOING else None
    row.claim_count, row.next_retry_at = row.claim_count + 1, _lease(row.webhook_type, webhook, now)
    row.save(update_fields=["claim_count", "next_retry_at"])
    return row


_RECORD_SQL = """
UPDATE {logs} SET method = COALESCE(%s, method), url = COALESCE(%s, url), headers = COALESCE(%s, headers),
    max_attempts = %s, status = %s, response_status = %s, response_headers = %s, response_body = %s, duration_ms = %s,
    error_message = %s, completed_at = %s, next_retry_at = %s, result = %s
WHERE id = %s AND status = 'pending' AND claim_count = %s
RETURNING id
"""


def jsonb(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)


def record_rows(params: list[tuple[Any, ...]], computed: list[tuple[ClaimedAttempt, AttemptOutcome]]) -> set[uuid.UUID]:
    """Run the compare-and-set updates; returns the ids that were still ours.

    Why raw (``_RECORD_SQL``): a group of outcomes goes to PostgreSQL as one
    pipelined ``executemany(returning=True)`` (psycopg), each row's update
    guarded by ``status = 'pending' AND claim_count = token`` and saying
    whether it applied. SQLite twin: one ORM ``update()`` per row, same guard.
    """
    if connection.vendor != "postgresql":  # embedded SQLite: one ORM update each
        recorded = set()
        for (c, outcome), p in zip(computed, params, strict=True):
            request = {"method": p[0], "url": p[1], "headers": p[2].obj} if p[0] is not None else {}
            if WebhookLog.objects.filter(pk=c.row_id, status=WebhookLog.Status.PENDING, claim_count=c.token).update(
                    **request, max_attempts=p[3], **outcome.fields):
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


_COUNTERS_SQL = (
    "UPDATE {hooks} SET last_sent_at = %s, last_status = %s, last_duration_ms = %s, "
    "total_sent = total_sent + %s, total_failed = total_failed + %s, "
    "consecutive_failures = CASE WHEN %s THEN %s ELSE consecutive_failures + %s END WHERE id = %s"
)


def webhook_counters_add(*, webhook_id: uuid.UUID, now: dt.datetime, last_status: str, last_duration_ms: int | None,
                         sent: int, failed: int, failures_since_last_ok: int | None) -> None:
    """Add a recorded group's finished deliveries to the webhook's counters.

    Why raw: one statement relative to the row's current values, so
    concurrent recorders add up without reading the row first; it runs for
    every recorded group. Portable SQL: SQLite runs the same statement (no
    twin needed). ``failures_since_last_ok`` is None when no delivery of the
    group succeeded (the streak grows by ``failed``), else the failures after
    the group's last success (the streak restarts there).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _COUNTERS_SQL.format(hooks=OutgoingWebhook._meta.db_table),
            [now, last_status, last_duration_ms, sent, failed,
             failures_since_last_ok is not None, failures_since_last_ok or 0, failed,
             OutgoingWebhook._meta.pk.get_db_prep_value(webhook_id, connection)],
        )
