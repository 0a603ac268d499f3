"""Integrations on the operators' dashboard and in /metrics (core.ops registers what this yields).

Read in the operator scope (the admin's views, the metrics scrape). Every query is
bounded: the integrations table has one row per tenant and provider; the logs are
read newest first over an index range of ``started_at`` (idx_integration_logs_time).
Actions call the services the API calls: sync now (integrations.sync.services.
sync_request, as ``POST /api/integrations/{id}/sync``) and test (integration_test,
as ``POST /api/integrations/{id}/test``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils.translation import pgettext_lazy
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from core.ops import Action, ActionRefused, Figure, Row, Section, capped_count, quantiles
from core.tenant_context import tenant_scope
from core.words import say
from integrations import services
from integrations.models import Integration, IntegrationLog
from integrations.sync import services as sync

RUN_ACTIONS = (IntegrationLog.Action.SYNC, IntegrationLog.Action.IMPORT, IntegrationLog.Action.EXPORT)
RECORD_KEYS = ("created", "updated", "deleted", "skipped", "failed", "conflicts")
#: A run counted in a window ended in it; it started at most this long before (an index range).
RUN_LOOKBACK = timedelta(hours=6)
#: The run's action, status and summary keys as the dashboard shows them (the columns hold the codes).
WORDS = {
    "sync": pgettext_lazy("ops", "sync"), "import": pgettext_lazy("ops", "import"), "export": pgettext_lazy("ops", "export"), "running": pgettext_lazy("ops", "running"),
    "success": pgettext_lazy("ops", "success"), "partial": pgettext_lazy("ops", "partial"), "failed": pgettext_lazy("ops", "failed"), "total": pgettext_lazy("ops", "total"),
    "created": pgettext_lazy("ops", "created"), "updated": pgettext_lazy("ops", "updated"), "deleted": pgettext_lazy("ops", "deleted"), "skipped": pgettext_lazy("ops", "skipped"),
    "conflicts": pgettext_lazy("ops", "conflicts"),
}


def _word(code: str):
    return WORDS.get(code, code)


def _admin_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def sections(now: datetime):
    troubled = Integration.objects.filter(status__in=[Integration.Status.ERROR, Integration.Status.EXPIRED])
    listing = reverse("admin:integrations_integration_changelist")
    errors = capped_count(troubled.filter(status=Integration.Status.ERROR))
    expired = capped_count(troubled.filter(status=Integration.Status.EXPIRED))
    refresh_failing = capped_count(Integration.objects.filter(refresh_failures__gt=0))
    rows = [
        Row(cells=[i.name, i.provider, i.tenant.name, i.get_status_display(), i.last_error or "",
                   i.last_sync_at], actions=[("integration_sync", str(i.pk)), ("integration_test", str(i.pk))],
            url=_admin_url(i))
        for i in troubled.select_related("tenant").order_by("-updated_at")[:25]
    ]
    yield Section(
        key="integrations", order=10, title=pgettext_lazy("ops", "Integrations in error or expired"),
        figures=[Figure(pgettext_lazy("ops", "In error"), errors, f"{listing}?status__exact=error", alert=True),
                 Figure(pgettext_lazy("ops", "Expired"), expired, f"{listing}?status__exact=expired", alert=True),
                 Figure(pgettext_lazy("ops", "Token refresh failing"), refresh_failing, alert=True)],
        columns=[pgettext_lazy("ops", "Name"), pgettext_lazy("ops", "Provider"), pgettext_lazy("ops", "Studio"), pgettext_lazy("ops", "Status"), pgettext_lazy("ops", "Last error"), pgettext_lazy("ops", "Last sync")],
        rows=rows, empty=pgettext_lazy("ops", "No integration is in error or expired."),
    )
    runs = (IntegrationLog.objects.filter(action__in=RUN_ACTIONS, started_at__gte=now - timedelta(days=7))
            .select_related("integration").defer("request_snapshot", "response_snapshot", "failed_items")
            .order_by("-started_at")[:20])
    yield Section(
        key="sync_runs", order=40, title=pgettext_lazy("ops", "Last sync runs"),
        columns=[pgettext_lazy("ops", "Started"), pgettext_lazy("ops", "Integration"), pgettext_lazy("ops", "Action"), pgettext_lazy("ops", "Status"), pgettext_lazy("ops", "Records"), pgettext_lazy("ops", "Duration (ms)"),
                 pgettext_lazy("ops", "Error")],
        rows=[Row(cells=[r.started_at, str(r.integration), _word(r.action), _word(r.status), _records(r.summary),
                         r.duration_ms, r.error_message or ""],
                  actions=[("integration_sync", str(r.integration_id))], url=_admin_url(r)) for r in runs],
        empty=pgettext_lazy("ops", "No sync run in the last 7 days."),
    )


def _records(summary) -> str:
    summary = summary if isinstance(summary, dict) else {}
    return ", ".join(f"{_word(k)} {summary[k]}" for k in ("total", *RECORD_KEYS) if summary.get(k))


def _integration(pk: str) -> Integration:
    integration = Integration.objects.filter(pk=pk).first()
    if integration is None:
        raise ActionRefused(pgettext_lazy("ops", "That integration no longer exists."))
    return integration


def sync_now(pk: str):
    integration = _integration(pk)
    try:
        with tenant_scope(integration.tenant_id):
            entry = sync.sync_request(integration=integration)
    except sync.SyncNotConfigured as exc:
        raise ActionRefused(pgettext_lazy("ops", "%(name)s: sync is not set up (%(why)s).") % {"name": integration, "why": exc}) from None
    except sync.RunBusy:
        raise ActionRefused(pgettext_lazy("ops", "%(name)s: a sync is already running.") % {"name": integration}) from None
    return pgettext_lazy("ops", "%(name)s: sync started (run %(id)s).") % {"name": integration, "id": entry.pk}


def test_connection(pk: str):
    integration = _integration(pk)
    with tenant_scope(integration.tenant_id):
        result = services.integration_test(integration=integration)
    if not result.ok:
        raise ActionRefused(pgettext_lazy("ops", "%(name)s: the test failed: %(message)s") % {"name": integration, "message": say(result.words) or result.message})
    return pgettext_lazy("ops", "%(name)s: the connection works.") % {"name": integration}


ACTIONS = [
    Action("integration_sync", pgettext_lazy("ops", "Sync now"), "integrations.change_integration", sync_now),
    Action("integration_test", pgettext_lazy("ops", "Test"), "integrations.change_integration", test_connection),
]


def metrics(now: datetime, window: int):
    by_status = GaugeMetricFamily("hub_integrations", "Integrations by status (connected, error, expired, disconnected).",
                                  labels=["status"])
    counts = dict(Integration.objects.order_by().values_list("status").annotate(n=Count("id")))
    for status in Integration.Status.values:
        by_status.add_metric([status], counts.get(status, 0))
    yield by_status

    totals = Integration.objects.aggregate(syncs=Sum("total_syncs"), failures=Sum("refresh_failures"),
                                           failing=Count("id", filter=Q(refresh_failures__gt=0)))
    runs_total = CounterMetricFamily("hub_sync_runs", "Sync runs finished, summed over the integrations that exist "
                                     "(Integration.total_syncs; drops when an integration is deleted).")
    runs_total.add_metric([], totals["syncs"] or 0)
    yield runs_total
    failing = GaugeMetricFamily("hub_token_refresh_failing_integrations",
                                "Integrations whose last token refresh failed (refresh_failures > 0).")
    failing.add_metric([], totals["failing"] or 0)
    yield failing
    failures = GaugeMetricFamily("hub_token_refresh_consecutive_failures",
                                 "Consecutive token refresh failures, summed over the integrations.")
    failures.add_metric([], totals["failures"] or 0)
    yield failures

    since = now - timedelta(seconds=window)
    refresh = (IntegrationLog.objects.filter(started_at__gte=since, action=IntegrationLog.Action.TOKEN_REFRESH)
               .order_by().values_list("status").annotate(n=Count("id")))
    refresh_window = GaugeMetricFamily("hub_token_refreshes_window",
                                       "Token refreshes in the window, by outcome (success, failed).", labels=["outcome"])
    refresh_counts = dict(refresh)
    for outcome in ("success", "failed"):
        refresh_window.add_metric([outcome], refresh_counts.get(outcome, 0))
    yield refresh_window

    finished = (IntegrationLog.objects.filter(action__in=RUN_ACTIONS, started_at__gte=since - RUN_LOOKBACK,
                                              completed_at__gte=since)
                .order_by("-started_at").values_list("integration__provider", "status", "duration_ms", "summary")
                [: settings.METRICS_MAX_ROWS])
    runs = GaugeMetricFamily("hub_sync_runs_window", "Sync runs that ended in the window, by provider and status "
                             "(success, partial, failed).", labels=["provider", "status"])
    records = GaugeMetricFamily("hub_sync_records_window", "Records of the sync runs that ended in the window, by "
                                "outcome (created, updated, deleted, skipped, failed, conflicts).", labels=["outcome"])
    duration = GaugeMetricFamily("hub_sync_run_duration_seconds_window", "Duration of the sync runs that ended in the "
                                 "window: quantiles 0.5, 0.95, 0.99 and max.", labels=["quantile"])
    run_counts: dict[tuple[str, str], int] = {}
    record_counts = dict.fromkeys(RECORD_KEYS, 0)
    durations = []
    for provider, status, duration_ms, summary in finished:
        run_counts[(provider, status)] = run_counts.get((provider, status), 0) + 1
        if isinstance(summary, dict):
            for key in RECORD_KEYS:
                value = summary.get(key)
                record_counts[key] += value if isinstance(value, int) else 0
        if duration_ms is not None:
            durations.append(duration_ms / 1000)
    for (provider, status), n in sorted(run_counts.items()):
        runs.add_metric([provider, status], n)
    for key in RECORD_KEYS:
        records.add_metric([key], record_counts[key])
    for q, value in quantiles(durations).items():
        duration.add_metric([q], value)
    if durations:
        duration.add_metric(["max"], max(durations))
    yield from (runs, records, duration)

    running = GaugeMetricFamily("hub_sync_runs_running", "Sync runs running now.")
    running.add_metric([], capped_count(IntegrationLog.objects.filter(status="running", action__in=RUN_ACTIONS,
                                                                      started_at__gte=now - timedelta(days=1))))
    yield running
