"""/metrics for Prometheus (issue 14 item 7): refused without the token or outside the
allow-list, absent when neither is configured; each metric present, read from the database
(parsed with prometheus_client's own parser), and moving when the data moves; no secret."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from core.tenant_context import tenant_scope
from entities.models import EntityEvent
from integrations.models import Integration, IntegrationLog
from tests.support.factories import fresh_persona
from webhooks.models import IncomingWebhook, OutgoingWebhook, WebhookLog

pytestmark = pytest.mark.django_db(transaction=True)  # the scrape reads through operator_scope, its own connection

TOKEN = "scrape-token-0123456789abcdef"
TRIGGERS = [{"entityType": "meeting", "events": ["created"]}]
METRICS = [
    "hub_integrations", "hub_sync_runs", "hub_token_refresh_failing_integrations",
    "hub_token_refresh_consecutive_failures", "hub_token_refreshes_window", "hub_sync_runs_window",
    "hub_sync_records_window", "hub_sync_run_duration_seconds_window", "hub_sync_runs_running", "hub_backlog",
    "hub_backlog_oldest_seconds", "hub_webhook_deliveries_window", "hub_incoming_requests_window",
    "hub_webhook_delivery_duration_seconds_window", "hub_outgoing_deliveries", "hub_incoming_requests",
    "hub_outgoing_webhooks", "hub_metrics_scrape_duration_seconds", "hub_metrics_window_seconds",
]


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []


def scrape(client: Client | None = None) -> dict[tuple[str, tuple], float]:
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def names(samples) -> set[str]:
    return {name.removesuffix("_total") for name, _ in samples}


def _log(tenant, **fields) -> WebhookLog:
    values = {"webhook_id": uuid.uuid4(), "webhook_type": "outgoing", "direction": "outgoing", "method": "POST",
              "url": "https://crm.example.com/in", "status": "success", **fields}
    with tenant_scope(tenant.id):
        return WebhookLog.objects.create(tenant=tenant, **values)


def _seed():
    alice = fresh_persona()
    now = timezone.now()
    with tenant_scope(alice.tenant.id):
        crm = Integration.objects.create(tenant=alice.tenant, provider="hubspot", name="CRM", status="error",
                                         connected_by=alice.user, refresh_failures=3, total_syncs=7)
        IntegrationLog.objects.create(tenant=alice.tenant, integration=crm, action="sync", direction="import",
                                      status="partial", started_at=now - timedelta(seconds=30), completed_at=now,
                                      duration_ms=2500, summary={"total": 6, "created": 4, "updated": 1, "failed": 1})
        IntegrationLog.objects.create(tenant=alice.tenant, integration=crm, action="token_refresh", direction="outgoing",
                                      status="failed", started_at=now - timedelta(seconds=10), completed_at=now)
        hook = OutgoingWebhook.objects.create(tenant=alice.tenant, name="CRM", url="https://crm.example.com/in",
                                              triggers=TRIGGERS, total_sent=40, total_failed=2,
                                              signature_secret="whsec-do-not-leak", sign_requests=True)
        IncomingWebhook.objects.create(tenant=alice.tenant, name="Leads", url="in-leads-" + uuid.uuid4().hex,
                                       secret="in-secret-do-not-leak", actions=[], total_received=11)
    _log(alice.tenant, webhook_id=hook.pk, duration_ms=120, delivery_id=uuid.uuid4())
    _log(alice.tenant, webhook_id=hook.pk, duration_ms=480, status="failed", delivery_id=uuid.uuid4(),
         next_retry_at=now - timedelta(seconds=1))
    _log(alice.tenant, webhook_type="incoming", direction="incoming", status="pending")
    with tenant_scope(alice.tenant.id):
        EntityEvent.objects.create(tenant=alice.tenant, entity_type="meeting", entity_id=uuid.uuid4(), event="created")
    return alice, crm, hook


def test_without_configuration_the_endpoint_does_not_exist(settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", []
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


def test_the_token_is_required(token):
    for header in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": f"Basic {TOKEN}"},
                   {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}x"}):
        response = Client().get("/metrics", **header)
        assert response.status_code == 401, header
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert b"hub_" not in response.content
    assert Client().post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


def test_the_allow_list_is_enforced(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.1.0.0/16", "192.0.2.7"]
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics").status_code == 403
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.7").get("/metrics").status_code == 200
    # with both configured, both must match
    settings.METRICS_TOKEN = TOKEN
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 401
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 403
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_every_metric_is_exported_with_the_databases_figures(token):
    alice, crm, hook = _seed()
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    text = response.content.decode()
    samples = scrape()
    assert set(METRICS) <= names(samples), set(METRICS) - names(samples)
    assert value(samples, "hub_integrations", status="error") == 1
    assert value(samples, "hub_integrations", status="connected") == 0
    assert value(samples, "hub_sync_runs_total") == 7
    assert value(samples, "hub_token_refresh_failing_integrations") == 1
    assert value(samples, "hub_token_refresh_consecutive_failures") == 3
    assert value(samples, "hub_token_refreshes_window", outcome="failed") == 1
    assert value(samples, "hub_sync_runs_window", provider="hubspot", status="partial") == 1
    assert value(samples, "hub_sync_records_window", outcome="created") == 4
    assert value(samples, "hub_sync_records_window", outcome="failed") == 1
    assert value(samples, "hub_sync_run_duration_seconds_window", quantile="max") == 2.5
    assert value(samples, "hub_backlog", queue="incoming_pending") == 1
    assert value(samples, "hub_backlog", queue="retries_due") == 1
    assert value(samples, "hub_backlog", queue="entity_events_unprocessed") == 1
    assert value(samples, "hub_backlog", queue="entity_events_given_up") == 0
    assert value(samples, "hub_backlog_oldest_seconds", queue="incoming_pending") >= 0
    assert value(samples, "hub_webhook_deliveries_window", kind="outgoing", outcome="success") == 1
    assert value(samples, "hub_webhook_deliveries_window", kind="outgoing", outcome="failed") == 1
    assert value(samples, "hub_incoming_requests_window", outcome="pending") == 1
    assert value(samples, "hub_webhook_delivery_duration_seconds_window", kind="outgoing", quantile="max") == 0.48
    assert value(samples, "hub_webhook_delivery_duration_seconds_window", kind="outgoing", quantile="0.5") == 0.12
    assert value(samples, "hub_outgoing_deliveries_total", outcome="success") == 40
    assert value(samples, "hub_outgoing_deliveries_total", outcome="failed") == 2
    assert value(samples, "hub_incoming_requests_total") == 11
    assert value(samples, "hub_outgoing_webhooks", state="enabled") == 1
    # no tenant, no URL, no secret in any label or value
    for leak in ("do-not-leak", str(alice.tenant.id), alice.tenant.name, "crm.example.com", "in-leads-"):
        assert leak not in text


def test_the_figures_move_when_the_data_moves(token):
    alice, crm, hook = _seed()
    before = scrape()
    now = timezone.now()
    with tenant_scope(alice.tenant.id):
        Integration.objects.filter(pk=crm.pk).update(status="connected", refresh_failures=0, total_syncs=8)
        IntegrationLog.objects.create(tenant=alice.tenant, integration=crm, action="sync", direction="import",
                                      status="success", started_at=now, completed_at=now, duration_ms=500,
                                      summary={"created": 2})
        OutgoingWebhook.objects.filter(pk=hook.pk).update(total_sent=41, is_enabled=False)
        EntityEvent.objects.filter(tenant=alice.tenant).update(processed_at=now, failed_at=now)
    _log(alice.tenant, webhook_type="incoming", direction="incoming", status="pending")
    _log(alice.tenant, webhook_id=hook.pk, duration_ms=50, delivery_id=uuid.uuid4())
    after = scrape()
    assert (value(before, "hub_integrations", status="error"), value(after, "hub_integrations", status="error")) == (1, 0)
    assert value(after, "hub_integrations", status="connected") == 1
    assert value(after, "hub_sync_runs_total") == 8
    assert value(after, "hub_token_refresh_failing_integrations") == 0
    assert value(after, "hub_sync_runs_window", provider="hubspot", status="success") == 1
    assert value(after, "hub_sync_records_window", outcome="created") == 6
    assert value(after, "hub_backlog", queue="incoming_pending") == 2
    assert value(after, "hub_backlog", queue="entity_events_unprocessed") == 0
    assert value(after, "hub_backlog", queue="entity_events_given_up") == 1
    assert value(after, "hub_webhook_deliveries_window", kind="outgoing", outcome="success") == 2
    assert value(after, "hub_outgoing_deliveries_total", outcome="success") == 41
    assert (value(after, "hub_outgoing_webhooks", state="enabled"), value(after, "hub_outgoing_webhooks", state="disabled")) == (0, 1)


def test_the_window_excludes_older_rows(token, settings):
    alice, crm, hook = _seed()
    settings.METRICS_WINDOW_SECONDS = 60
    _log(alice.tenant, webhook_id=hook.pk, duration_ms=9000, delivery_id=uuid.uuid4())
    with tenant_scope(alice.tenant.id):
        WebhookLog.objects.filter(duration_ms=9000).update(timestamp=timezone.now() - timedelta(minutes=5))
        WebhookLog.objects.filter(direction="incoming", status="pending").update(
            timestamp=timezone.now() - timedelta(minutes=10))
    samples = scrape()
    assert value(samples, "hub_incoming_requests_window", outcome="pending") == 0
    assert value(samples, "hub_backlog", queue="incoming_pending") == 1  # a backlog has no window
    assert 600 <= value(samples, "hub_backlog_oldest_seconds", queue="incoming_pending") < 700
    assert value(samples, "hub_metrics_window_seconds") == 60
    assert value(samples, "hub_webhook_deliveries_window", kind="outgoing", outcome="success") == 1
    assert value(samples, "hub_webhook_delivery_duration_seconds_window", kind="outgoing", quantile="max") == 0.48


@pytest.mark.django_db(transaction=False)
def test_production_refuses_a_short_metrics_token(settings):
    from core.guardrails import configuration_problems

    settings.METRICS_TOKEN = "short"
    assert any("METRICS_TOKEN" in p for p in configuration_problems())
    settings.METRICS_TOKEN = TOKEN
    assert not any("METRICS_TOKEN" in p for p in configuration_problems())


def test_openmetrics_is_served_when_asked_for(token):
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics

    _seed()
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
                            HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")
    assert response["Content-Type"].startswith("application/openmetrics-text")
    families = {f.name: f for f in parse_openmetrics(response.content.decode())}
    assert families["hub_incoming_requests"].type == "counter"
    assert [s.value for s in families["hub_incoming_requests"].samples] == [11]
