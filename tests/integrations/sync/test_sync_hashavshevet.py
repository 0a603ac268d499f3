"""Hashavshevet (WizCloud) through the sync engine, push only, against ``responses`` answering
as https://docs.wizcloud.co.il documents the calls (getting-started: createSession then POST
/{apiPath} with the wizAuthToken in Authorization; indexes: IndexApi/importIndex with
myindex "acc" and rows of AccountKey / FullName / Phone / Address; documents: invApi/createDoc
with rows.DocumentID / AccountKey / moves[ItemKey, Quantity, Price]). The answers' bodies are
not published: the fake answers a plain token and ``{"status": "OK"}``-like objects."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
import responses

from core.tenant_context import tenant_scope
from entities.models import Client
from entities.services import entity_create, entity_delete, entity_update
from integrations.models import Integration
from integrations.providers.hashavshevet.adapter import HashavshevetAdapter
from integrations.services import provider_app_set
from tests.support.sync_runs import drain_entity_events, links, run_sync, sync_settings

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limiter_on_test_redis")]

SERVER = "https://lb1.wizcloud.co.il"
KEY, DB = "xj9ubkpxabq97ym4e45i7vtnc7h8jgy8c1cxzypa", "wizdb12n12"


@pytest.fixture
def wiz():
    provider_app_set(provider_id="hashavshevet", api_base_url=SERVER)
    calls = []
    state = {"sessions": 0}

    def session(request):
        state["sessions"] += 1
        calls.append(("GET", request.url, None, None))
        return 200, {"Content-Type": "text/plain"}, f"wiz-token-{state['sessions']}"

    def post(request):
        body = json.loads(request.body)
        calls.append(("POST", request.url, body, request.headers.get("Authorization")))
        if request.headers.get("Authorization") != f"wiz-token-{state['sessions']}":
            return 401, {"Content-Type": "application/json"}, json.dumps({"message": "session expired"})
        if request.url.endswith("/invApi/createDoc"):
            return 200, {"Content-Type": "application/json"}, json.dumps({"status": "OK", "StockID": 5012})
        return 200, {"Content-Type": "application/json"}, json.dumps({"status": "OK"})

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback("GET", f"{SERVER}/createSession/{KEY}/{DB}", callback=session)
        mock.add_callback("POST", re.compile(re.escape(SERVER) + r"/.*"), callback=post)
        yield calls, state


def connected(persona, *entities, settings=None) -> Integration:
    with tenant_scope(persona.tenant.id):
        integration = Integration.objects.create(
            tenant=persona.tenant, provider="hashavshevet", name="Hashavshevet", connected_by=persona.user,
            status=Integration.Status.CONNECTED, connection_config={"wizcloudServer": "lb1.wizcloud.co.il",
                                                                    "dbName": DB},
            settings={**HashavshevetAdapter.__new__(HashavshevetAdapter).settings_defaults(), **(settings or {})},
            sync_settings=sync_settings(*entities, direction="export"))
        integration.set_secret("api_key_encrypted", json.dumps({"privateKey": KEY, "dbName": DB}))
        integration.save()
    return integration


CLIENTS = {"localEntity": "client", "remoteEntity": "account", "enabled": True}
PAYMENTS = {"localEntity": "payment", "remoteEntity": "document", "enabled": True}


def test_clients_become_accounts_and_payments_documents_in_one_session(alice, wiz):
    calls, state = wiz
    integration = connected(alice, CLIENTS, PAYMENTS, settings={
        "accountMappings": {"revenue": "1001", "expenses": "", "retainer": "", "categories": {}}})
    with tenant_scope(alice.tenant.id):
        client = entity_create(tenant=alice.tenant, entity_type="client", source="api",
                               data={"name": "Avraham Design", "phone": "03-5551234"})
        entity_create(tenant=alice.tenant, entity_type="payment", source="api",
                      data={"amount": "585.00", "client_id": str(client.pk), "description": "Consultation"})
    drain_entity_events(str(alice.tenant.id))
    log = run_sync(integration)
    assert log.status == "success", (log.error_message, log.failed_items)

    key = "AS" + client.pk.hex[:8].upper()
    account_call, doc_call = [c for c in calls if c[0] == "POST"]
    assert account_call[1].endswith("/IndexApi/importIndex")
    assert account_call[2] == {"myindex": "acc", "insertnew": "true", "updexist": "true",
                               "rows": [{"FullName": "Avraham Design", "Phone": "03-5551234", "AccountKey": key}]}
    assert doc_call[1].endswith("/invApi/createDoc")
    rows = doc_call[2]["rows"]
    assert (rows["DocumentID"], rows["AccountKey"], rows["Remarks"]) == (1, key, "Consultation")
    # 585.00 gross at 17% VAT: 500.00 net on the line
    assert rows["moves"] == [{"ItemKey": "1001", "Quantity": 1, "Price": 500.0}]
    assert Decimal(str(rows["moves"][0]["Price"])) == Decimal("500.00")
    assert state["sessions"] == 1 and {c[3] for c in calls if c[0] == "POST"} == {"wiz-token-1"}
    assert {link.remote_id for link in links(integration)} == {key, "5012"}


def test_an_edit_updates_the_account_and_a_lost_session_is_renewed_once(alice, wiz):
    calls, state = wiz
    integration = connected(alice, CLIENTS)
    with tenant_scope(alice.tenant.id):
        client = entity_create(tenant=alice.tenant, entity_type="client", source="api", data={"name": "Kfir"})
    drain_entity_events(str(alice.tenant.id))
    run_sync(integration)
    state["sessions"] += 1  # the server forgot our session (24 h)
    with tenant_scope(alice.tenant.id):
        client.refresh_from_db()
        entity_update(instance=client, data={"address": "Herzl 1, Haifa"}, tenant=alice.tenant, source="api")
    drain_entity_events(str(alice.tenant.id))
    log = run_sync(integration)
    assert log.status == "success", log.failed_items
    update = [c for c in calls if c[0] == "POST"][-1]
    assert update[2]["insertnew"] == "false" and update[2]["rows"][0]["Address"] == "Herzl 1, Haifa"
    assert update[3] == f"wiz-token-{state['sessions']}"


def test_an_issued_document_cannot_be_deleted_and_imports_are_no_ops(alice, wiz):
    calls, _ = wiz
    integration = connected(alice, CLIENTS, PAYMENTS)
    with tenant_scope(alice.tenant.id):
        client = entity_create(tenant=alice.tenant, entity_type="client", source="api", data={"name": "Nir"})
        payment = entity_create(tenant=alice.tenant, entity_type="payment", source="api",
                                data={"amount": "117.00", "client_id": str(client.pk)})
    drain_entity_events(str(alice.tenant.id))
    run_sync(integration)
    with tenant_scope(alice.tenant.id):
        entity_delete(instance=payment, source="api")
    drain_entity_events(str(alice.tenant.id))
    log = run_sync(integration)
    assert log.status == "partial" and "credit document" in log.failed_items[0]["error"]
    with tenant_scope(alice.tenant.id):
        assert Client.objects.filter(tenant=alice.tenant).count() == 1


def test_expenses_need_a_document_type_in_the_settings(alice, wiz):
    integration = connected(alice, {"localEntity": "expense", "remoteEntity": "document", "enabled": True})
    with tenant_scope(alice.tenant.id):
        entity_create(tenant=alice.tenant, entity_type="expense", source="api", data={"amount": "10.00"})
    drain_entity_events(str(alice.tenant.id))
    log = run_sync(integration)
    assert log.status == "partial" and "documentTypes.expense" in log.failed_items[0]["error"]
    adapter = HashavshevetAdapter.__new__(HashavshevetAdapter)
    assert adapter.settings_errors({"documentTypes": {"expense": "x"}})
    assert adapter.settings_errors({"documentTypes": {"expense": 7}}) == {}


def test_the_catalogs_rate_limit_paces_the_pushes(alice, wiz):
    """2 calls per second instead of the hub default: a session and four account imports take
    at least two seconds."""
    import time

    from tests.support.small_bucket import small_bucket

    calls, _ = wiz
    integration = connected(alice, CLIENTS)
    with tenant_scope(alice.tenant.id):
        for n in range(4):
            entity_create(tenant=alice.tenant, entity_type="client", source="api", data={"name": f"Paced {n}"})
    drain_entity_events(str(alice.tenant.id))
    with small_bucket("hashavshevet", 2, 1):
        started = time.monotonic()
        log = run_sync(integration)
        elapsed = time.monotonic() - started
    assert log.status == "success", log.failed_items
    assert len(calls) == 5 and elapsed >= 2.0
