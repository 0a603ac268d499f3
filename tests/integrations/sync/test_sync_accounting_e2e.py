"""QuickBooks and Xero end to end with the real worker: a provider webhook, signed as the
provider signs it (intuit-signature / x-xero-signature: base64 HMAC-SHA256 of the body), is
stored and verified by the incoming pipeline, its ``sync_integration`` automation wakes an
incremental run, and the sync worker imports the change through the adapter and the fakes
(tests/support/fakes/quickbooks.py, xero.py). Payloads as the providers document them:
https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks (eventNotifications) and
https://developer.xero.com/documentation/guides/webhooks/overview/ (events, tenantId)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.test import Client as HttpClient

from core.tenant_context import tenant_scope
from entities.models import Client
from integrations.models import IntegrationLog
from integrations.providers.quickbooks.adapter import QuickbooksAdapter
from integrations.providers.xero.adapter import XeroAdapter
from integrations.services import provider_app_set
from tests.support.factories import make_persona
from tests.support.fakes.quickbooks import ORIGIN as QB_ORIGIN
from tests.support.fakes.quickbooks import quickbooks_fake  # noqa: F401 - fixture
from tests.support.fakes.xero import ORIGIN as XERO_ORIGIN
from tests.support.fakes.xero import xero_fake  # noqa: F401 - fixture
from tests.support.oauth import make_oauth_integration
from webhooks.incoming import services as incoming
from webhooks.models import WebhookLog

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120), pytest.mark.usefixtures("limiter_on_test_redis")]


def wait_for(predicate, timeout: float = 120.0, state=None):
    """Until ``predicate()`` is truthy; on a timeout the assertion says what was stored (``state()``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for the worker; stored: {state() if state else '-'}")


def signed(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def connect(persona, provider, adapter_cls, token, config, remote_entity):
    integration = make_oauth_integration(persona, provider, access=token, config=config)
    with tenant_scope(persona.tenant.id):
        integration.settings = adapter_cls.__new__(adapter_cls).settings_defaults()
        integration.sync_settings = {"enabled": True, "direction": "import", "frequency": "hourly",
                                     "fieldMappings": [], "filters": [], "entities": [
                                         {"localEntity": "client", "remoteEntity": remote_entity, "enabled": True}]}
        integration.save()
        webhook, secret = incoming.incoming_create(tenant=persona.tenant, data={
            "name": f"{provider} changes", "verification_scheme": provider,
            "actions": [{"type": "trigger_automation", "config": {"automationId": "sync_integration"}}]})
    return integration, webhook, secret


def runs(integration) -> list[IntegrationLog]:
    with tenant_scope(integration.tenant_id):
        return list(IntegrationLog.objects.filter(integration=integration, action="import").order_by("started_at"))


def names(persona) -> set[str]:
    with tenant_scope(persona.tenant.id):
        return set(Client.objects.filter(tenant=persona.tenant).values_list("name", flat=True))


def post(persona, webhook, body: bytes, header: str, signature: str):
    return HttpClient().generic("POST", f"/api/webhooks/tenant/{persona.tenant.id}/{webhook.id}", body,
                                content_type="application/json", **{header: signature})


def test_a_quickbooks_webhook_wakes_an_incremental_run_through_the_workers(sync_worker, quickbooks_fake):  # noqa: F811
    provider_app_set(provider_id="quickbooks", client_id="ABqb", client_secret="qs", api_base_url=QB_ORIGIN)
    alice = make_persona("Alice Studio", "alice@example.com")
    integration, webhook, secret = connect(alice, "quickbooks", QuickbooksAdapter, quickbooks_fake.token,
                                           {"realmId": quickbooks_fake.realm}, "Customer")
    made = quickbooks_fake.put("Customer", DisplayName="Sasson Studio")

    # a notification for another company changes nothing here
    other = json.dumps({"eventNotifications": [{"realmId": "1185883450", "dataChangeEvent": {"entities": [
        {"name": "Customer", "id": "1", "operation": "Update", "lastUpdated": "2026-12-03T06:00:00.000Z"}]}}]}).encode()
    assert post(alice, webhook, other, "HTTP_INTUIT_SIGNATURE", signed(secret, other)).status_code == 202
    # a mis-signed one is refused before anything runs
    ours = json.dumps({"eventNotifications": [{"realmId": quickbooks_fake.realm, "dataChangeEvent": {"entities": [
        {"name": "Customer", "id": made["Id"], "operation": "Create",
         "lastUpdated": made["MetaData"]["LastUpdatedTime"]}]}}]}).encode()
    assert post(alice, webhook, ours, "HTTP_INTUIT_SIGNATURE", signed("wrong", ours)).status_code == 401

    response = post(alice, webhook, ours, "HTTP_INTUIT_SIGNATURE", signed(secret, ours))
    assert response.status_code == 202
    def stored():
        with tenant_scope(alice.tenant.id):
            logs = list(WebhookLog.objects.filter(webhook_id=webhook.pk).values_list("status", "result"))
        return {"webhook logs": logs, "runs": [(r.status, r.error_message) for r in runs(integration)]}

    first = wait_for(lambda: [r for r in runs(integration) if r.status != "running"], state=stored)
    assert first[0].status == "success" and names(alice) == {"Sasson Studio"}
    with tenant_scope(alice.tenant.id):
        results = [WebhookLog.objects.get(pk=response.json()["logId"]).result]
    assert results[0]["actions"][0]["status"] == "success"
    assert len(runs(integration)) == 1  # the other company's notification started nothing

    # an edit at QuickBooks, then its notification: CDC brings it in
    quickbooks_fake.edit("Customer", made["Id"], DisplayName="Sasson Studio Ltd")
    assert post(alice, webhook, ours, "HTTP_INTUIT_SIGNATURE", signed(secret, ours)).status_code == 202
    wait_for(lambda: len([r for r in runs(integration) if r.status != "running"]) == 2)
    assert names(alice) == {"Sasson Studio Ltd"}
    assert quickbooks_fake.count("GET", "/cdc") == 1


def test_a_xero_webhook_wakes_an_incremental_run_through_the_workers(sync_worker, xero_fake):  # noqa: F811
    provider_app_set(provider_id="xero", client_id="xid", client_secret="xs", api_base_url=XERO_ORIGIN)
    bob = make_persona("Bob Studio", "bob@example.com")
    integration, webhook, secret = connect(bob, "xero", XeroAdapter, xero_fake.token, {}, "Contact")
    with tenant_scope(bob.tenant.id):
        integration.settings = {**integration.settings, "organisations": [
            {"organisationId": xero_fake.tenant_id, "organisationName": "Studio Ltd"}]}
        integration.save()
    contact = xero_fake.put("Contacts", Name="Halevi & Co")
    body = json.dumps({"events": [{"resourceUrl": f"https://api.xero.com/api.xro/2.0/Contacts/{contact['ContactID']}",
                                   "resourceId": contact["ContactID"], "eventDateUtc": "2026-12-03T06:00:00.000",
                                   "eventType": "CREATE", "eventCategory": "CONTACT", "tenantId": xero_fake.tenant_id,
                                   "tenantType": "ORGANISATION"}],
                       "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "S0m3r4Nd0mt3xt"}).encode()
    response = post(bob, webhook, body, "HTTP_X_XERO_SIGNATURE", signed(secret, body))
    assert response.status_code == 200  # Xero's intent-to-receive insists on 200
    wait_for(lambda: [r for r in runs(integration) if r.status != "running"])
    assert names(bob) == {"Halevi & Co"}
