"""``GET /metrics``: the hub's figures in Prometheus's text format (issue 14 item 7).

Every value is read from the database at scrape time — never an in-process counter,
which under gunicorn workers and Celery's prefork pool would be one process's share
(see core.ops for who contributes which families). Totals are the counters the hub
already keeps in its rows (``total_syncs``, ``total_received``, ``total_sent``...);
outcomes, latencies and records are taken over the last ``METRICS_WINDOW_SECONDS``
(an index range on the logs' time column, at most ``METRICS_MAX_ROWS`` rows each);
backlogs are counts capped at core.ops.COUNT_CAP. The reads run in the operator scope
(cross-tenant, read only) under a statement timeout; no label carries a tenant, a
user, a URL or a secret — only kinds, statuses and providers.

Access: ``METRICS_TOKEN`` (``Authorization: Bearer <token>``) and/or
``METRICS_ALLOWED_IPS`` (addresses or networks, matched against the peer address
REMOTE_ADDR). With neither set the endpoint does not exist (404): a deployment opts
in. With both set, both must match. A refused request gets 401 (token missing or
wrong; ``WWW-Authenticate: Bearer``) or 403 (address not allowed).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

from core import ops
from core.tenant_context import operator_scope

log = logging.getLogger(__name__)


def _token() -> str:
    return (getattr(settings, "METRICS_TOKEN", "") or "").strip()


def _networks() -> list:
    nets = []
    for item in getattr(settings, "METRICS_ALLOWED_IPS", []) or []:
        try:
            nets.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            log.warning("METRICS_ALLOWED_IPS: %r is not an address or network, ignored", item)
    return nets


def refusal(request) -> HttpResponse | None:
    """None when the request may read the metrics, else the answer refusing it."""
    token, networks = _token(), _networks()
    if not token and not getattr(settings, "METRICS_ALLOWED_IPS", None):
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    if getattr(settings, "METRICS_ALLOWED_IPS", None):
        try:
            peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            peer = None
        if peer is None or not any(peer in net for net in networks):
            return HttpResponse("Forbidden.\n", status=403, content_type="text/plain")
    if token:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            response = HttpResponse("Unauthorized.\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    return None


class _Collector:
    """A prometheus_client collector over one snapshot of families (one scrape)."""

    def __init__(self, families):
        self._families = families

    def collect(self):
        yield from self._families


def scrape(accept: str = "") -> tuple[bytes, str]:
    """The exposition (in the format the scraper's Accept header asks for) and its content type."""
    now = timezone.now()
    window = max(60, int(getattr(settings, "METRICS_WINDOW_SECONDS", 300)))
    started = timezone.now()
    with operator_scope("metrics scrape") as alias:
        connection = connections[alias]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # bounded cost: a slow plan ends the scrape, not the database
                cursor.execute("SET LOCAL statement_timeout = %s", [f"{int(settings.METRICS_STATEMENT_TIMEOUT_MS)}ms"])
        families = ops.metric_families(now, window)
    took = GaugeMetricFamily("hub_metrics_scrape_duration_seconds", "Time this scrape took to read the database.")
    took.add_metric([], (timezone.now() - started).total_seconds())
    win = GaugeMetricFamily("hub_metrics_window_seconds", "The window the *_window metrics cover (METRICS_WINDOW_SECONDS).")
    win.add_metric([], window)
    encoder, content_type = choose_encoder(accept)
    return encoder(_Collector([*families, took, win])), content_type


@transaction.non_atomic_requests
@never_cache
@require_safe
def metrics_view(request):
    refused = refusal(request)
    if refused is not None:
        return refused
    try:
        body, content_type = scrape(request.META.get("HTTP_ACCEPT", ""))
    except DatabaseError as exc:  # the statement timeout (or the database) ended the scrape
        log.warning("metrics scrape failed: %s", type(exc).__name__)
        response = HttpResponse("The database did not answer in time.\n", status=503, content_type="text/plain")
        response["Retry-After"] = "15"
        return response
    return HttpResponse(body, content_type=content_type)
