"""Webhooks on the operators' dashboard and in /metrics (core.ops registers what this yields).

Read in the operator scope. Every query is bounded: backlogs are capped counts over
partial indexes (idx_webhook_logs_in_pending, idx_webhook_logs_out_pending,
idx_webhook_logs_out_due); window figures are one range of idx_webhook_logs_time
(``timestamp >= now - window``), at most METRICS_MAX_ROWS rows for the latencies.
Actions call the services the API calls: test send (``POST
/api/webhooks/outgoing/{id}/test``) and replay (``POST /api/webhooks/logs/{id}/replay``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils.translation import pgettext_lazy
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from core.ops import Action, ActionRefused, Figure, Row, Section, capped_count, quantiles
from core.words import say
from webhooks.models import IncomingWebhook, OutgoingWebhook, WebhookLog
from webhooks.outgoing import services

STATUSES = WebhookLog.Status.values
#: Each queue's age column: the one its partial index is on (a pending attempt's
#: next_retry_at is when it became due, webhooks migration 0007).
OLDEST_BY = {"incoming_pending": "timestamp", "deliveries_pending": "next_retry_at", "retries_due": "next_retry_at"}


def backlogs(now: datetime) -> dict[str, WebhookLog]:
    """The webhook queues: name -> queryset (each one walks a partial index)."""
    return {
        "incoming_pending": WebhookLog.objects.incoming_requests().filter(status=WebhookLog.Status.PENDING),
        "deliveries_pending": WebhookLog.objects.sent().filter(status=WebhookLog.Status.PENDING),
        "retries_due": WebhookLog.objects.sent().filter(status=WebhookLog.Status.FAILED, retried_at__isnull=True,
                                                        next_retry_at__isnull=False, next_retry_at__lte=now),
    }


def _failing_webhooks():
    return OutgoingWebhook.objects.filter(Q(is_enabled=False) | Q(consecutive_failures__gt=0))


def sections(now: datetime):
    logs = reverse("admin:webhooks_webhooklog_changelist")
    hooks = reverse("admin:webhooks_outgoingwebhook_changelist")
    queues = backlogs(now)
    yield Section(
        key="backlogs", order=30, title=pgettext_lazy("ops", "Backlogs"),
        figures=[
            Figure(pgettext_lazy("ops", "Incoming requests pending"), capped_count(queues["incoming_pending"]),
                   f"{logs}?status__exact=pending&direction__exact=incoming", alert=True),
            Figure(pgettext_lazy("ops", "Deliveries pending"), capped_count(queues["deliveries_pending"]),
                   f"{logs}?status__exact=pending&direction__exact=outgoing"),
            Figure(pgettext_lazy("ops", "Retries due"), capped_count(queues["retries_due"]), alert=True),
        ],
    )
    failing = _failing_webhooks()
    rows = [
        Row(cells=[w.name, w.tenant.name, w.url if len(w.url) <= 60 else w.url[:57] + "…",
                   pgettext_lazy("ops", "yes") if w.is_enabled else pgettext_lazy("ops", "no"), w.consecutive_failures, w.disabled_reason or "",
                   w.last_sent_at],
            actions=[("webhook_test", str(w.pk))], url=reverse("admin:webhooks_outgoingwebhook_change", args=[w.pk]))
        for w in failing.select_related("tenant").order_by("-updated_at")[:25]
    ]
    yield Section(
        key="webhooks", order=20, title=pgettext_lazy("ops", "Webhooks failing or disabled"),
        figures=[
            Figure(pgettext_lazy("ops", "Outgoing, disabled"), capped_count(OutgoingWebhook.objects.filter(is_enabled=False)),
                   f"{hooks}?is_enabled__exact=0", alert=True),
            Figure(pgettext_lazy("ops", "Outgoing, failing"), capped_count(failing.filter(is_enabled=True)), alert=True),
            Figure(pgettext_lazy("ops", "Incoming, disabled"), capped_count(IncomingWebhook.objects.filter(is_enabled=False)),
                   reverse("admin:webhooks_incomingwebhook_changelist") + "?is_enabled__exact=0"),
        ],
        columns=[pgettext_lazy("ops", "Name"), pgettext_lazy("ops", "Studio"), pgettext_lazy("ops", "URL"), pgettext_lazy("ops", "Enabled"), pgettext_lazy("ops", "Failures in a row"), pgettext_lazy("ops", "Why disabled"),
                 pgettext_lazy("ops", "Last sent")],
        rows=rows, empty=pgettext_lazy("ops", "No outgoing webhook is failing or disabled."),
    )
    failed = (WebhookLog.objects.sent().filter(status=WebhookLog.Status.FAILED, timestamp__gte=now - timedelta(days=1))
              .select_related("tenant").defer("body", "body_text", "response_body", "headers", "response_headers",
                                              "result").order_by("-timestamp")[:20])
    yield Section(
        key="failed_deliveries", order=25, title=pgettext_lazy("ops", "Failed deliveries (last 24 hours)"),
        columns=[pgettext_lazy("ops", "Time"), pgettext_lazy("ops", "Studio"), pgettext_lazy("ops", "Event"), pgettext_lazy("ops", "URL"), pgettext_lazy("ops", "Answer"), pgettext_lazy("ops", "Attempt"), pgettext_lazy("ops", "Error")],
        rows=[Row(cells=[r.timestamp, r.tenant.name, r.event_type or "", r.url if len(r.url) <= 60 else r.url[:57] + "…",
                         r.response_status, f"{r.attempt}/{r.max_attempts}", r.error_message or ""],
                  actions=[("delivery_replay", str(r.pk))], url=reverse("admin:webhooks_webhooklog_change", args=[r.pk]))
              for r in failed],
        empty=pgettext_lazy("ops", "No delivery failed in the last 24 hours."),
    )


def test_send(pk: str):
    webhook = OutgoingWebhook.objects.filter(pk=pk).first()
    if webhook is None:
        raise ActionRefused(pgettext_lazy("ops", "That webhook no longer exists."))
    try:
        _row, result = services.webhook_test_send(webhook=webhook)
    except ValueError as exc:
        raise ActionRefused(pgettext_lazy("ops", "%(name)s: %(why)s") % {"name": webhook.name, "why": exc}) from None
    if not result.ok:
        raise ActionRefused(pgettext_lazy("ops", "%(name)s: the test send failed (%(status)s %(error)s).")
                            % {"name": webhook.name, "status": result.status or "",
                               "error": say(result.error_words) or result.error or ""})
    return pgettext_lazy("ops", "%(name)s: the receiver answered %(status)s.") % {"name": webhook.name, "status": result.status}


def replay(pk: str):
    row = WebhookLog.objects.sent().filter(pk=pk).first()
    if row is None:
        raise ActionRefused(pgettext_lazy("ops", "That delivery attempt no longer exists."))
    try:
        new = services.log_replay(log=row)
    except services.ReplayRefused as exc:
        raise ActionRefused(pgettext_lazy("ops", "Replay refused: %(why)s") % {"why": exc}) from None
    return pgettext_lazy("ops", "Replay queued as attempt %(attempt)d.") % {"attempt": new.attempt}


ACTIONS = [
    Action("webhook_test", pgettext_lazy("ops", "Test"), "webhooks.change_outgoingwebhook", test_send),
    Action("delivery_replay", pgettext_lazy("ops", "Replay"), "webhooks.change_outgoingwebhook", replay),
]


def _kind(webhook_type: str, direction: str) -> str:
    if direction == WebhookLog.Direction.INCOMING:
        return "incoming"
    return "outgoing" if webhook_type == WebhookLog.Type.OUTGOING else "forward"


def metrics(now: datetime, window: int):
    backlog = GaugeMetricFamily("hub_backlog", "Work waiting, by queue (capped at 10000).", labels=["queue"])
    oldest = GaugeMetricFamily("hub_backlog_oldest_seconds", "Age of the oldest item waiting, by queue.",
                               labels=["queue"])
    for name, queryset in backlogs(now).items():
        backlog.add_metric([name], capped_count(queryset))
        # The first row of the queue's partial index (ordered on the column it indexes), not a MIN over the queue.
        column = OLDEST_BY[name]
        first = queryset.filter(**{f"{column}__isnull": False}).order_by(column).values_list(column, flat=True).first()
        oldest.add_metric([name], max(0.0, (now - first).total_seconds()) if first else 0.0)
    yield backlog
    yield oldest

    since = now - timedelta(seconds=window)
    recent = WebhookLog.objects.filter(timestamp__gte=since).order_by()
    counts = recent.values_list("webhook_type", "direction", "status").annotate(n=Count("id"))
    deliveries = GaugeMetricFamily("hub_webhook_deliveries_window", "Delivery attempts made in the window, by kind "
                                   "(outgoing, forward) and outcome (success, failed, pending, skipped).",
                                   labels=["kind", "outcome"])
    incoming = GaugeMetricFamily("hub_incoming_requests_window", "Incoming webhook requests received in the window, "
                                 "by outcome (success, failed, pending, skipped).", labels=["outcome"])
    seen: dict[tuple[str, str], int] = {}
    for webhook_type, direction, status, n in counts:
        key = (_kind(webhook_type, direction), status)
        seen[key] = seen.get(key, 0) + n
    for kind in ("outgoing", "forward"):
        for status in STATUSES:
            deliveries.add_metric([kind, status], seen.get((kind, status), 0))
    for status in STATUSES:
        incoming.add_metric([status], seen.get(("incoming", status), 0))
    yield deliveries
    yield incoming

    latency = GaugeMetricFamily("hub_webhook_delivery_duration_seconds_window", "How long receivers took to answer "
                                "the attempts of the window: quantiles 0.5, 0.95, 0.99 and max, by kind.",
                                labels=["kind", "quantile"])
    timed = (WebhookLog.objects.sent().filter(timestamp__gte=since, duration_ms__isnull=False)
             .order_by("-timestamp").values_list("webhook_type", "duration_ms")[: settings.METRICS_MAX_ROWS])
    by_kind: dict[str, list[float]] = {}
    for webhook_type, duration_ms in timed:
        by_kind.setdefault(_kind(webhook_type, WebhookLog.Direction.OUTGOING), []).append(duration_ms / 1000)
    for kind, values in sorted(by_kind.items()):
        for q, value in quantiles(values).items():
            latency.add_metric([kind, q], value)
        latency.add_metric([kind, "max"], max(values))
    yield latency

    totals = OutgoingWebhook.objects.aggregate(sent=Sum("total_sent"), failed=Sum("total_failed"),
                                               enabled=Count("id", filter=Q(is_enabled=True)),
                                               disabled=Count("id", filter=Q(is_enabled=False)),
                                               failing=Count("id", filter=Q(is_enabled=True, consecutive_failures__gt=0)))
    sent = CounterMetricFamily("hub_outgoing_deliveries", "Outgoing deliveries finished, by outcome, summed over "
                               "the outgoing webhooks that exist (total_sent: succeeded, total_failed: "
                               "failed after the last attempt; test sends are not counted).", labels=["outcome"])
    sent.add_metric(["success"], totals["sent"] or 0)
    sent.add_metric(["failed"], totals["failed"] or 0)
    yield sent
    received = CounterMetricFamily("hub_incoming_requests", "Incoming webhook requests received, summed over the "
                                   "incoming webhooks that exist (total_received).")
    received.add_metric([], IncomingWebhook.objects.aggregate(n=Sum("total_received"))["n"] or 0)
    yield received
    hooks = GaugeMetricFamily("hub_outgoing_webhooks", "Outgoing webhooks by state (enabled, disabled, failing: "
                              "enabled with failures in a row).", labels=["state"])
    for state in ("enabled", "disabled", "failing"):
        hooks.add_metric([state], totals[state] or 0)
    yield hooks
