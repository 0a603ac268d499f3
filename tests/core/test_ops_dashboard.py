"""The operators' dashboard in the admin (issue 14 item 7): figures for seeded data, staff only,
each action through the API's service and refused without the admin permission."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import responses
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from core.tenant_context import tenant_scope
from entities.models import EntityEvent
from integrations.models import Integration, IntegrationLog
from tenancy.models import User
from tests.support.factories import client_for, fresh_persona
from tests.support.oauth import make_oauth_integration
from tests.support.receiver import Plan, Receiver
from tests.support.sync_runs import connect_calendar
from webhooks.models import OutgoingWebhook, WebhookLog

pytestmark = pytest.mark.django_db(transaction=True)  # the admin reads through operator_scope, its own connection

TRIGGERS = [{"entityType": "meeting", "events": ["created"]}]


def _staff(email: str, *perms: str) -> Client:
    user = User.objects.create(username=email, email=email, is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    client = Client()
    client.force_login(user)
    return client


def _figures(response) -> dict[str, dict[str, int]]:
    return {s.key: {str(f.label): f.value for f in s.figures} for s in response.context["sections"]}


def _section(response, key):
    return next(s for s in response.context["sections"] if s.key == key)


def _log(tenant, **fields) -> WebhookLog:
    values = {"webhook_id": uuid.uuid4(), "webhook_type": "outgoing", "direction": "outgoing", "method": "POST",
              "url": "https://crm.example.com/in", "status": "pending", **fields}
    with tenant_scope(tenant.id):
        return WebhookLog.objects.create(tenant=tenant, **values)


def _event(tenant, **fields) -> EntityEvent:
    with tenant_scope(tenant.id):
        return EntityEvent.objects.create(tenant=tenant, entity_type="meeting", entity_id=uuid.uuid4(),
                                          event="created", **fields)


def _seed():
    alice, bob = fresh_persona("Alice Studio"), fresh_persona("Bob Studio")
    now = timezone.now()
    with tenant_scope(alice.tenant.id):
        broken = Integration.objects.create(tenant=alice.tenant, provider="hubspot", name="CRM", status="error",
                                            connected_by=alice.user, last_error="401 from HubSpot", refresh_failures=2)
        Integration.objects.create(tenant=alice.tenant, provider="dropbox", name="Files", status="connected",
                                   connected_by=alice.user)
        IntegrationLog.objects.create(tenant=alice.tenant, integration=broken, action="sync", direction="import",
                                      status="success", started_at=now - timedelta(minutes=3), completed_at=now,
                                      duration_ms=1500, summary={"total": 4, "created": 3, "updated": 1})
        OutgoingWebhook.objects.create(tenant=alice.tenant, name="Dead CRM", url="https://dead.example.com/in",
                                       triggers=TRIGGERS, is_enabled=False, consecutive_failures=25,
                                       disabled_reason="25 failures in a row")
        OutgoingWebhook.objects.create(tenant=alice.tenant, name="Healthy", url="https://ok.example.com/in",
                                       triggers=TRIGGERS)
    with tenant_scope(bob.tenant.id):
        Integration.objects.create(tenant=bob.tenant, provider="google_calendar", name="Calendar", status="expired",
                                   connected_by=bob.user, last_error="invalid_grant")
        OutgoingWebhook.objects.create(tenant=bob.tenant, name="Flaky", url="https://flaky.example.com/in",
                                       triggers=TRIGGERS, consecutive_failures=3)
    for tenant in (alice.tenant, bob.tenant):  # the backlogs, across both tenants
        _log(tenant, webhook_type="incoming", direction="incoming", status="pending")
        _log(tenant, status="failed", next_retry_at=now - timedelta(seconds=5), delivery_id=uuid.uuid4())
    _log(alice.tenant, status="pending", delivery_id=uuid.uuid4())
    _log(alice.tenant, status="failed", next_retry_at=now + timedelta(hours=1), delivery_id=uuid.uuid4())  # not due
    for _ in range(3):
        _event(alice.tenant)
    _event(bob.tenant, processed_at=now, failed_at=now, attempts=10, last_error="subscribers failed: sync_export")
    _event(bob.tenant, processed_at=now)  # done: counted nowhere
    return alice, bob


def test_dashboard_shows_the_figures_of_every_tenant_to_staff(admin_client):
    # given two studios with integrations in trouble, failing webhooks and backlogs
    alice, bob = _seed()
    # when an operator opens the dashboard (linked from the admin's index)
    index = admin_client.get("/admin/")
    response = admin_client.get("/admin/dashboard")
    # then it counts each across tenants
    assert b'href="/admin/dashboard"' in index.content
    assert response.status_code == 200
    figures = _figures(response)
    assert list(figures["integrations"].values()) == [1, 1, 1]  # in error, expired, refresh failing
    assert list(figures["webhooks"].values()) == [1, 1, 0]  # disabled, failing, incoming disabled
    assert list(figures["backlogs"].values()) == [2, 1, 2]  # incoming pending, deliveries pending, retries due
    assert list(figures["outbox"].values()) == [3, 1]  # unprocessed, given up
    # and lists them with their actions
    html = response.content.decode()
    for name in ("CRM", "Calendar", "Dead CRM", "Flaky", "25 failures in a row", alice.tenant.name, bob.tenant.name):
        assert name in html
    assert "Healthy" not in html and "Files" not in html
    runs = _section(response, "sync_runs").rows
    assert len(runs) == 1 and str(runs[0].cells[3]) == "הצליחה" and "נוצרו 3" in runs[0].cells[4]
    assert html.count('data-action="integration_sync"') == 3  # two troubled integrations and the run's
    assert 'data-action="webhook_test"' in html and 'data-action="event_redispatch"' in html
    assert 'data-action="delivery_replay"' in html  # the failed attempts of the last day
    # and it is in Hebrew by default
    assert 'lang="he"' in html and "לוח בקרה" in html


def test_dashboard_figures_follow_the_data(admin_client):
    alice, _ = _seed()
    before = _figures(admin_client.get("/admin/dashboard"))
    _log(alice.tenant, webhook_type="incoming", direction="incoming", status="pending")
    _event(alice.tenant)
    after = _figures(admin_client.get("/admin/dashboard"))
    assert list(after["backlogs"].values())[0] == list(before["backlogs"].values())[0] + 1
    assert list(after["outbox"].values())[0] == list(before["outbox"].values())[0] + 1


def test_dashboard_refuses_non_staff_and_hides_actions_without_permission(client):
    alice, _ = _seed()
    # a studio owner (not staff) is sent to the admin's login, with no figure shown
    client.force_login(alice.user)
    refused = client.get("/admin/dashboard")
    assert refused.status_code == 302 and "/admin/login/" in refused["Location"]
    assert client.post("/admin/dashboard/action", {"action": "integration_sync", "id": str(uuid.uuid4())}).status_code == 302
    # staff without permissions see the figures but no action buttons
    viewer = _staff("viewer@example.com")
    page = viewer.get("/admin/dashboard")
    assert page.status_code == 200 and "data-action=" not in page.content.decode()


def test_sync_now_starts_a_run_and_is_refused_without_permission():
    alice = fresh_persona()
    integration = connect_calendar(alice)
    viewer, operator = _staff("viewer@example.com"), _staff("ops@example.com", "integrations.change_integration")
    # refused without the permission: nothing started
    assert viewer.post("/admin/dashboard/action", {"action": "integration_sync", "id": str(integration.pk)}).status_code == 403
    with tenant_scope(alice.tenant.id):
        assert not IntegrationLog.objects.filter(integration=integration).exists()
    # with it: the run of POST /api/integrations/{id}/sync is started, and a second one is refused as busy
    done = operator.post("/admin/dashboard/action", {"action": "integration_sync", "id": str(integration.pk)}, follow=True)
    again = operator.post("/admin/dashboard/action", {"action": "integration_sync", "id": str(integration.pk)}, follow=True)
    with tenant_scope(alice.tenant.id):
        runs = list(IntegrationLog.objects.filter(integration=integration).values_list("action", "status"))
    assert runs == [("sync", "running")]
    assert [m.level_tag for m in done.context["messages"]] == ["success"]
    assert [m.level_tag for m in again.context["messages"]] == ["error"]
    # bad input is a 400, not a 500
    assert operator.post("/admin/dashboard/action", {"action": "integration_sync", "id": "nope"}).status_code == 400
    assert operator.post("/admin/dashboard/action", {"action": "format_disk", "id": str(integration.pk)}).status_code == 400


@responses.activate
def test_test_connection_calls_the_provider_and_clears_the_error():
    # HubSpot's account-info call (https://developers.hubspot.com/docs/api/settings/account-information-api)
    responses.add("GET", "https://api.hubapi.com/account-info/v3/details",
                  json={"portalId": 62515, "accountType": "STANDARD", "timeZone": "US/Eastern",
                        "companyCurrency": "USD", "uiDomain": "app.hubspot.com", "dataHostingLocation": "na1"})
    alice = fresh_persona()
    integration = make_oauth_integration(alice, "hubspot", access="at-live")
    with tenant_scope(alice.tenant.id):
        Integration.objects.filter(pk=integration.pk).update(status="error", last_error="401")
    viewer, operator = _staff("viewer@example.com"), _staff("ops@example.com", "integrations.change_integration")
    assert viewer.post("/admin/dashboard/action", {"action": "integration_test", "id": str(integration.pk)}).status_code == 403
    assert len(responses.calls) == 0
    page = operator.post("/admin/dashboard/action", {"action": "integration_test", "id": str(integration.pk)}, follow=True)
    assert len(responses.calls) == 1 and responses.calls[0].request.headers["Authorization"] == "Bearer at-live"
    assert [m.level_tag for m in page.context["messages"]] == ["success"]
    with tenant_scope(alice.tenant.id):
        assert Integration.objects.get(pk=integration.pk).status == "connected"
        assert IntegrationLog.objects.filter(integration=integration, action="test", status="success").count() == 1


def test_webhook_test_send_and_replay_and_their_refusal():
    alice = fresh_persona()
    viewer, operator = _staff("viewer@example.com"), _staff("ops@example.com", "webhooks.change_outgoingwebhook")
    with Receiver(default=Plan(status=500, body=b"boom")) as rx:
        wid = client_for(alice).post("/api/webhooks/outgoing", {"name": "CRM", "url": rx.url, "triggers": TRIGGERS},
                                     format="json").json()["id"]
        # test: refused without the permission (nothing sent), sent with it (the API's test send)
        assert viewer.post("/admin/dashboard/action", {"action": "webhook_test", "id": wid}).status_code == 403
        assert rx.requests == []
        page = operator.post("/admin/dashboard/action", {"action": "webhook_test", "id": wid}, follow=True)
        assert len(rx.requests) == 1 and rx.requests[0].headers["X-Webhook-Test"] == "true"
        assert [(m.level_tag, "500" in m.message) for m in page.context["messages"]] == [("error", True)]
    with tenant_scope(alice.tenant.id):
        attempt = WebhookLog.objects.get(webhook_id=wid)
    # replay: refused without the permission, a new manual attempt of the same delivery with it
    assert viewer.post("/admin/dashboard/action", {"action": "delivery_replay", "id": str(attempt.pk)}).status_code == 403
    operator.post("/admin/dashboard/action", {"action": "delivery_replay", "id": str(attempt.pk)})
    with tenant_scope(alice.tenant.id):
        attempts = sorted(WebhookLog.objects.filter(delivery_id=attempt.delivery_id).values_list("attempt", flat=True))
    assert attempts == [1, 2]


def test_redispatch_hands_a_given_up_event_back_and_is_refused_without_permission():
    alice = fresh_persona()
    now = timezone.now()
    event = _event(alice.tenant, processed_at=now, failed_at=now, attempts=10, last_error="given up")
    viewer, operator = _staff("viewer@example.com"), _staff("ops@example.com", "entities.change_entityevent")
    assert viewer.post("/admin/dashboard/action", {"action": "event_redispatch", "id": str(event.pk)}).status_code == 403
    with tenant_scope(alice.tenant.id):
        assert EntityEvent.objects.get(pk=event.pk).failed_at is not None
    page = operator.post("/admin/dashboard/action", {"action": "event_redispatch", "id": str(event.pk)}, follow=True)
    assert [m.level_tag for m in page.context["messages"]] == ["success"]
    with tenant_scope(alice.tenant.id):
        fresh = EntityEvent.objects.get(pk=event.pk)
    assert (fresh.failed_at, fresh.attempts) == (None, 0)


@pytest.mark.parametrize("path", ["integrations/integrationlog", "webhooks/webhooklog", "webhooks_incoming/automationrun",
                                  "entities/entityevent"])
def test_every_log_admin_has_filters_and_search(admin_client, path):
    from django.contrib import admin

    model = {m._meta.label_lower.replace(".", "/"): m for m in admin.site._registry}[path]
    model_admin = admin.site._registry[model]
    assert model_admin.list_filter, path
    assert model_admin.get_search_fields(None), path
    term = str(uuid.uuid4())
    assert admin_client.get(f"/admin/{path}/?q={term}").status_code == 200


def test_every_dashboard_string_has_hebrew():
    """Every string the dashboard's modules and templates mark for translation is in Hebrew
    (core/locale/he, compiled): none falls back to English on the Hebrew admin."""
    import re
    from pathlib import Path

    from django.utils import translation

    root = Path(__file__).resolve().parents[2]
    found = set()
    for name in ("core/admin_site.py", "core/ops.py", "integrations/ops.py", "webhooks/ops.py", "entities/ops.py"):
        for match in re.finditer(r'pgettext(?:_lazy)?\(\s*"ops",\s*((?:"[^"]*"\s*)+)\)', (root / name).read_text()):
            found.add("".join(re.findall(r'"([^"]*)"', match.group(1))))
    for name in ("templates/admin/dashboard.html", "templates/admin/hub_index.html"):
        found.update(re.findall(r'{% translate "([^"]*)" context "ops" %}', (root / name).read_text()))
    assert len(found) > 60
    with translation.override("he"):
        untranslated = sorted(s for s in found if translation.pgettext("ops", s) == s and s != "%(name)s: %(why)s")
    assert untranslated == []


def test_the_log_admins_actions_need_the_same_permissions_as_the_dashboards():
    alice = fresh_persona()
    now = timezone.now()
    event = _event(alice.tenant, processed_at=now, failed_at=now, attempts=10, last_error="given up")
    with tenant_scope(alice.tenant.id):
        hook = OutgoingWebhook.objects.create(tenant=alice.tenant, name="CRM", url="https://crm.example.com/in",
                                              triggers=TRIGGERS)
    attempt = _log(alice.tenant, webhook_id=hook.pk, status="failed", delivery_id=uuid.uuid4(), body_text="{}", body={})
    viewer = _staff("viewer@example.com", "webhooks.view_webhooklog", "entities.view_entityevent")
    # a viewer is offered neither action, and posting them changes nothing
    logs = viewer.get("/admin/webhooks/webhooklog/").content.decode()
    events = viewer.get("/admin/entities/entityevent/").content.decode()
    assert 'value="replay"' not in logs and 'value="redispatch"' not in events
    viewer.post("/admin/webhooks/webhooklog/", {"action": "replay", "_selected_action": [str(attempt.pk)]})
    viewer.post("/admin/entities/entityevent/", {"action": "redispatch", "_selected_action": [str(event.pk)]})
    with tenant_scope(alice.tenant.id):
        assert WebhookLog.objects.filter(delivery_id=attempt.delivery_id).count() == 1
        assert EntityEvent.objects.get(pk=event.pk).failed_at is not None
    # an operator holding the permissions is offered both, and they run
    operator = _staff("ops@example.com", "webhooks.view_webhooklog", "entities.view_entityevent",
                      "webhooks.change_outgoingwebhook", "entities.change_entityevent")
    assert 'value="replay"' in operator.get("/admin/webhooks/webhooklog/").content.decode()
    operator.post("/admin/webhooks/webhooklog/", {"action": "replay", "_selected_action": [str(attempt.pk)]})
    operator.post("/admin/entities/entityevent/", {"action": "redispatch", "_selected_action": [str(event.pk)]})
    with tenant_scope(alice.tenant.id):
        assert WebhookLog.objects.filter(delivery_id=attempt.delivery_id).count() == 2
        assert EntityEvent.objects.get(pk=event.pk).failed_at is None


def test_a_failed_connection_test_is_said_in_hebrew_on_the_dashboard(monkeypatch):
    """Issue 14 item 6: the failure's words (integrations.provider_words), not the English log text."""
    from integrations import services
    from integrations.client import ApiResponse
    from integrations.providers.catalog import get_provider

    class Refusing:
        def test_connection(self):
            return ApiResponse(status=403, headers={}, text="", attempts=1, request_snapshot={}, response_snapshot={})

    monkeypatch.setattr(services.ProviderClient, "for_integration", classmethod(lambda cls, integration, **kw: Refusing()))
    alice = fresh_persona()
    integration = make_oauth_integration(alice, "hubspot", access="at-live")
    operator = _staff("ops@example.com", "integrations.change_integration")
    page = operator.post("/admin/dashboard/action", {"action": "integration_test", "id": str(integration.pk)},
                         follow=True, HTTP_ACCEPT_LANGUAGE="he")
    [message] = [m.message for m in page.context["messages"]]
    assert f"{get_provider('hubspot').name_he} דחה את פרטי ההתחברות של החיבור (HTTP 403)" in message
    assert "refused" not in message and "answered" not in message
