"""What the admin's log lists cost the database (issue 12 item 9): the same statements for a page of
5 rows as for a page of 30, on every list the bench times (webhook logs and integration logs,
unfiltered, filtered and searched). A statement per row (a tenant, an integration, a catalog or
label lookup read for each row) made the 10M-row lists slow again after the admin's columns grew."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.tenant_context import operator_alias

pytestmark = pytest.mark.django_db(transaction=True)  # the admin reads in operator scope on its own connection

_FRAME = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")
_PROVIDERS = ("google_calendar", "priority", "hubspot")


def _statements(admin_client, url: str, rows: int) -> list[str]:
    """The SQL of one changelist request (every connection: the admin reads on the operator's)."""
    admin_client.get(url)  # first request of the session: its one-off reads are not the page's
    with CaptureQueriesContext(connections["default"]) as runtime:
        captures = [CaptureQueriesContext(connections[alias]) for alias in {operator_alias()} - {"default"}]
        for capture in captures:
            capture.__enter__()
        try:
            response = admin_client.get(url)
        finally:
            for capture in reversed(captures):
                capture.__exit__(None, None, None)
    assert response.status_code == 200, url
    assert len(response.context["cl"].result_list) == rows, (url, len(response.context["cl"].result_list))
    return [q["sql"] for ctx in (runtime, *captures) for q in ctx.captured_queries if not q["sql"].startswith(_FRAME)]


class _Studios:
    """Three tenants, each with three integrations (different providers) and two webhooks; logs are
    added round-robin over all of them, so every list's page spreads over tenants, webhooks and
    integrations."""

    def __init__(self):
        from core.tenant_context import tenant_scope
        from integrations.models import Integration
        from tests.support.factories import fresh_persona
        from webhooks.models import OutgoingWebhook

        self.tenants, self.integrations, self.webhooks = [], [], []
        for prefix in ("Alice Studio", "Bob Studio", "Carol Studio"):
            persona = fresh_persona(prefix)
            self.tenants.append(persona.tenant)
            with tenant_scope(persona.tenant.id):
                for provider in _PROVIDERS:
                    self.integrations.append(Integration.objects.create(
                        tenant=persona.tenant, provider=provider, name=f"{provider} of {prefix}", status="connected",
                        connected_by=persona.user))
                self.webhooks += [(persona.tenant, OutgoingWebhook.objects.create(
                    tenant=persona.tenant, name=f"CRM {n} of {prefix}", url="https://hooks.example.com/in",
                    triggers=[{"entityType": "meeting", "events": ["created"]}]).pk) for n in range(2)]
        self.delivery = uuid.uuid4()
        self.added = 0

    def add_logs(self, n: int) -> None:
        from core.tenant_context import tenant_scope
        from integrations.models import IntegrationLog
        from webhooks.models import WebhookLog

        now = timezone.now()
        for i in range(self.added, self.added + n):
            tenant, hook = self.webhooks[i % len(self.webhooks)]
            with tenant_scope(tenant.id):
                WebhookLog.objects.create(
                    tenant=tenant, webhook_id=hook, webhook_type="outgoing", direction="outgoing", method="POST",
                    url=f"https://hooks.example.com/{i}", status="pending", event_type="meeting.created",
                    delivery_id=self.delivery if i == 0 else uuid.uuid4(), timestamp=now - timedelta(minutes=i), duration_ms=12,
                    next_retry_at=now + timedelta(minutes=5))
            integration = self.integrations[i % len(self.integrations)]
            with tenant_scope(integration.tenant_id):
                IntegrationLog.objects.create(tenant_id=integration.tenant_id, integration=integration,
                                              action="export", direction="outgoing", status="success",
                                              started_at=now - timedelta(minutes=i), duration_ms=40)
        self.added += n


def _lists(studios: _Studios) -> dict[str, tuple[str, int]]:
    """Each list the bench times, and how many of the rows so far it shows."""
    n = studios.added
    hook = studios.webhooks[0][1]
    integration = studios.integrations[0].pk
    of_hook = len(range(0, n, len(studios.webhooks)))
    of_integration = len(range(0, n, len(studios.integrations)))
    # as the admin's date filter links it: midnight with its UTC offset (a bare date is naive)
    week = (timezone.now() - timedelta(days=7)).strftime("%Y-%m-%d+00:00:00%%2B00:00")
    return {
        "webhook logs": ("/admin/webhooks/webhooklog/", n),
        "status": ("/admin/webhooks/webhooklog/?status__exact=pending", n),
        "direction": ("/admin/webhooks/webhooklog/?direction__exact=outgoing", n),
        "webhook filter": (f"/admin/webhooks/webhooklog/?webhook_id={hook}", of_hook),
        "date": (f"/admin/webhooks/webhooklog/?timestamp__gte={week}", n),
        "search webhook id": (f"/admin/webhooks/webhooklog/?q={hook}", of_hook),
        "search delivery id": (f"/admin/webhooks/webhooklog/?q={studios.delivery}", 1),
        "integration logs": ("/admin/integrations/integrationlog/", n),
        "action": ("/admin/integrations/integrationlog/?action__exact=export", n),
        "search integration": (f"/admin/integrations/integrationlog/?q={integration}", of_integration),
    }


@pytest.mark.parametrize("language", ["he", "en"])
def test_an_admin_log_page_runs_the_same_statements_for_5_rows_as_for_30(admin_client, language):
    admin_client.cookies["django_language"] = language
    studios = _Studios()
    studios.add_logs(5)  # over three tenants, five webhooks, five integrations
    few = {name: _statements(admin_client, url, rows) for name, (url, rows) in _lists(studios).items()}
    studios.add_logs(30 - 5)
    many = {name: _statements(admin_client, url, rows) for name, (url, rows) in _lists(studios).items()}

    grew = {name: (len(few[name]), len(many[name])) for name in few if len(many[name]) != len(few[name])}
    assert not grew, {name: (counts, many[name]) for name, counts in grew.items()}


@pytest.mark.parametrize("language", ["he", "en"])
def test_a_log_rows_label_and_checkbox_are_the_ones_django_renders(language):
    """The log admins write the row label (``__str__``) and action checkbox themselves, for speed:
    the same text as ``get_FOO_display()`` and the same bytes as Django's checkbox widget, a stored
    value that is no choice shown as it is, markup in the URL escaped once."""
    from django.contrib import admin
    from django.utils import translation

    from integrations.models import IntegrationLog
    from webhooks.models import WebhookLog

    webhook_log = WebhookLog(pk=uuid.uuid4(), direction="incoming", method="POST", status="failed",
                             url='https://example.com/in?a=1&b="<x>"')
    integration_log = IntegrationLog(pk=uuid.uuid4(), action="export", direction="outgoing", status="partial")
    unknown = IntegrationLog(pk=uuid.uuid4(), action="no_such_action", direction="outgoing", status="success")
    with translation.override(language):
        assert str(webhook_log) == (f"{webhook_log.get_direction_display()} POST {webhook_log.url}"
                                    f" → {webhook_log.get_status_display()}")
        for log in (integration_log, unknown):
            assert str(log) == (f"{log.get_action_display()} {log.get_direction_display()}"
                                f" → {log.get_status_display()}")
        assert "no_such_action" in str(unknown)
        for model, row in ((WebhookLog, webhook_log), (IntegrationLog, integration_log), (IntegrationLog, unknown)):
            model_admin = admin.site._registry[model]
            assert model_admin.action_checkbox(row) == admin.ModelAdmin.action_checkbox(model_admin, row)
        shown = str(integration_log)
    with translation.override("en" if language == "he" else "he"):
        assert str(integration_log) != shown  # the label follows the active language, call by call


def test_the_webhook_filter_applies_when_no_outgoing_webhook_exists(admin_client):
    """An incoming webhook's "logs" link (``?webhook_id=``) on a hub with no outgoing webhook: the
    filter has no choices to offer, and Django dropped such a filter with its parameter, listing
    every webhook's logs instead of that one's."""
    from core.tenant_context import tenant_scope
    from tests.support.factories import fresh_persona
    from webhooks.models import OutgoingWebhook, WebhookLog

    persona = fresh_persona("Incoming Only Studio")
    hooks = [uuid.uuid4(), uuid.uuid4()]
    with tenant_scope(persona.tenant.id):
        assert not OutgoingWebhook.objects.exists()
        for i, hook in enumerate(hooks * 2):
            WebhookLog.objects.create(tenant=persona.tenant, webhook_id=hook, webhook_type="incoming",
                                      direction="incoming", method="POST", url=f"https://hub.example.com/in/{i}",
                                      status="success")
    response = admin_client.get(f"/admin/webhooks/webhooklog/?webhook_id={hooks[0]}")
    assert response.status_code == 200
    shown = response.context["cl"].result_list
    assert [log.webhook_id for log in shown] == [hooks[0], hooks[0]]
