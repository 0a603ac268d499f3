"""Custom API: the generic REST adapter configured in settings, through the sync engine and the
hub's ProviderClient against a local REST API with cursor paging (tests/support/fakes/rest_api.py,
whose module docstring is that API's documentation)."""

from __future__ import annotations

import json

import pytest

from core.tenant_context import tenant_scope
from entities.models import Client
from entities.services import entity_create, entity_delete, entity_update
from integrations.models import Integration, SyncState
from integrations.providers.adapter import CursorInvalid
from integrations.providers.catalog import get_provider
from integrations.providers.custom_api.adapter import CustomApiAdapter
from tests.support.factories import client_for
from tests.support.fakes.rest_api import API_KEY
from tests.support.sync_runs import clients, drain_entity_events, pending, run_sync, sync_on_worker

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limiter_on_test_redis", "local_targets")]

CLIENTS = {"listPath": "/v1/clients", "itemsPath": "data", "cursorParam": "cursor",
           "nextCursorPath": "meta.next_cursor", "idField": "id", "updatedAtField": "updated_at",
           "pageSizeParam": "limit", "pageSize": 2,
           "createPath": "/v1/clients", "createMethod": "POST",
           "updatePath": "/v1/clients/{id}", "updateMethod": "PATCH",
           "deletePath": "/v1/clients/{id}", "deleteMethod": "DELETE"}
MAPPINGS = [{"localEntity": "client", "localField": "name", "remoteField": "full_name"},
            {"localEntity": "client", "localField": "email", "remoteField": "contact.email"}]


def connected(persona, base_url: str, *, direction: str = "bidirectional", resource: dict | None = None,
              key: str = API_KEY) -> Integration:
    with tenant_scope(persona.tenant.id):
        integration = Integration(
            tenant=persona.tenant, provider="custom_api", name="ERP", status=Integration.Status.CONNECTED,
            connected_by=persona.user, connection_config={"baseUrl": base_url, "authHeader": "X-Api-Key"},
            settings={"resources": {"client": resource or CLIENTS}},
            sync_settings={"enabled": True, "direction": direction, "frequency": "manual",
                           "fieldMappings": MAPPINGS, "filters": [],
                           "entities": [{"localEntity": "client", "remoteEntity": "client", "enabled": True,
                                         "direction": direction}]})
        integration.set_secret("api_key_encrypted", json.dumps({"apiKey": key}))
        integration.save()
    return integration


def local_client(persona, name: str, email: str = "") -> Client:
    with tenant_scope(persona.tenant.id):
        made = entity_create(tenant=persona.tenant, entity_type="client", source="api",
                             data={"name": name, "email": email})
    drain_entity_events(str(persona.tenant.id))
    return made


# ---------------------------------------------------------------------- settings: validated on save
def test_settings_are_validated_on_save_naming_each_bad_key(alice, rest_api_fake):
    integration = connected(alice, rest_api_fake.base_url)
    api = client_for(alice)
    bad = {"resources": {"client": {"listPath": "https://evil.example/x", "updatePath": "/v1/clients",
                                    "createMethod": "GET", "pageSize": 0, "colour": "red"},
                         "spaceship": {"listPath": "/v1/ships"},
                         "task": {"itemsPath": 5}},
           "extra": True}

    answer = api.patch(f"/api/integrations/{integration.pk}", {"settings": bad}, format="json")

    assert answer.status_code == 400, answer.content
    body = json.dumps(answer.json())
    for key in ("resources.client.listPath", "resources.client.updatePath", "resources.client.createMethod",
                "resources.client.pageSize", "resources.client.colour", "resources.spaceship",
                "resources.task.listPath", "resources.task.itemsPath", "extra"):
        assert key in body, key
    with tenant_scope(alice.tenant.id):
        assert Integration.objects.get(pk=integration.pk).settings["resources"]["client"] == CLIENTS  # unchanged

    good = api.patch(f"/api/integrations/{integration.pk}",
                     {"settings": {"resources": {"client": {**CLIENTS, "pageSize": 3}}}}, format="json")
    assert good.status_code == 200, good.content


def test_a_dry_run_shows_the_first_page_mapped_and_changes_nothing(alice, rest_api_fake):
    rest_api_fake.put("clients", full_name="Dana Levi", contact={"email": "dana@example.com"})
    rest_api_fake.put("clients", full_name="Noa Cohen", contact={"email": "noa@example.com"})
    rest_api_fake.put("clients", full_name="Third Page Only", contact={"email": "x@example.com"})
    integration = connected(alice, rest_api_fake.base_url, direction="import")

    answer = client_for(alice).post(f"/api/integrations/{integration.pk}/sync", {"dryRun": True}, format="json")

    assert answer.status_code == 200, answer.content
    records = answer.json()["records"]
    assert {r["values"]["name"]: r["values"]["email"] for r in records}["Dana Levi"] == "dana@example.com"
    assert {r["action"] for r in records} == {"create"}
    assert clients(alice) == {}
    assert rest_api_fake.requests[0].query == {"limit": "2"}


# ---------------------------------------------------------------------- change feed
def test_cursor_pages_then_edits_and_removals_reconcile_on_the_next_full_listing(alice, rest_api_fake):
    made = [rest_api_fake.put("clients", full_name=f"Client {n}", contact={"email": f"c{n}@example.com"})
            for n in range(5)]
    integration = connected(alice, rest_api_fake.base_url, direction="import")

    first = run_sync(integration)

    assert first.status == "success", (first.error_message, first.failed_items)
    assert first.summary["created"] == 5 and len(clients(alice)) == 5
    assert rest_api_fake.count("GET", "/v1/clients") == 3  # 2 + 2 + 1, following meta.next_cursor
    assert [r.query.get("cursor") is not None for r in rest_api_fake.requests] == [False, True, True]

    rest_api_fake.edit("clients", made[0]["id"], full_name="Client Zero")
    rest_api_fake.remove("clients", made[1]["id"])
    second = run_sync(integration)

    assert second.status == "success", second.error_message
    assert (second.summary["created"], second.summary["updated"], second.summary["deleted"]) == (0, 1, 1)
    assert set(clients(alice)) == {"Client Zero", "Client 2", "Client 3", "Client 4"}


def test_updated_since_lists_only_changes_and_a_refused_cursor_relists(alice, rest_api_fake):
    made = [rest_api_fake.put("clients", full_name=f"Client {n}") for n in range(3)]
    integration = connected(alice, rest_api_fake.base_url, direction="import",
                            resource={**CLIENTS, "updatedSinceParam": "updated_since"})
    assert run_sync(integration).summary["created"] == 3
    rest_api_fake.requests.clear()
    newest = made[2]["updated_at"]  # the newest seen by the first run

    rest_api_fake.edit("clients", made[2]["id"], full_name="Client Two")
    second = run_sync(integration)

    assert second.summary["updated"] == 1 and second.summary["skipped"] == 0
    assert rest_api_fake.requests[0].query["updated_since"] == newest
    assert "Client Two" in clients(alice)

    # A page cursor the API no longer accepts (410): the adapter says so, the engine relists.
    adapter = CustomApiAdapter(get_provider("custom_api"))
    from integrations.client import ProviderClient
    with tenant_scope(alice.tenant.id):
        client = ProviderClient.for_integration(Integration.objects.get(pk=integration.pk))
    page = adapter.list_changes(client, container="client", cursor=None)
    rest_api_fake.reset_cursors()
    with pytest.raises(CursorInvalid):
        adapter.list_changes(client, container="client", cursor=page.cursor)
    with tenant_scope(alice.tenant.id):
        SyncState.objects.filter(integration=integration).update(cursor=page.cursor)
    third = run_sync(integration)
    assert third.status == "success", third.error_message
    assert rest_api_fake.count("GET", "/v1/clients", status=410) == 2
    assert len(clients(alice)) == 3


# ---------------------------------------------------------------------- export
def test_local_creates_updates_and_deletes_reach_the_api(alice, rest_api_fake):
    integration = connected(alice, rest_api_fake.base_url, direction="export",
                            resource={**CLIENTS, "hubIdField": "external_ref"})
    dana = local_client(alice, "Dana Levi", "dana@example.com")

    assert run_sync(integration).summary["created"] == 1
    remote = rest_api_fake.by("clients", full_name="Dana Levi")
    assert remote["contact"] == {"email": "dana@example.com"} and remote["external_ref"] == str(dana.pk)

    with tenant_scope(alice.tenant.id):
        entity_update(instance=Client.objects.get(pk=dana.pk), data={"name": "Dana Levi-Cohen"},
                      tenant=alice.tenant, source="api")
    drain_entity_events(str(alice.tenant.id))
    assert run_sync(integration).summary["updated"] == 1
    assert rest_api_fake.items["clients"][remote["id"]]["full_name"] == "Dana Levi-Cohen"
    assert rest_api_fake.count("PATCH", f"/v1/clients/{remote['id']}") == 1

    with tenant_scope(alice.tenant.id):
        entity_delete(instance=Client.objects.get(pk=dana.pk), source="api")
    drain_entity_events(str(alice.tenant.id))
    assert run_sync(integration).summary["deleted"] == 1
    assert rest_api_fake.items["clients"] == {}


# ---------------------------------------------------------------------- error mapping
def test_error_mapping_auth_expired_429_backoff_5xx_retry_4xx_failed_item(alice, rest_api_fake):
    integration = connected(alice, rest_api_fake.base_url)
    rest_api_fake.put("clients", full_name="Dana Levi")
    rest_api_fake.fail_next(429, {"error": "slow down"}, path="/v1/clients", headers={"Retry-After": "1"})
    rest_api_fake.fail_next(503, {"error": "maintenance"}, path="/v1/clients")

    entry = run_sync(integration)

    assert entry.status == "success", entry.error_message
    assert rest_api_fake.count(status=429) == 1 and rest_api_fake.count(status=503) == 1
    assert "Dana Levi" in clients(alice)

    local_client(alice, "Refused Client")
    rest_api_fake.fail_next(422, {"error": "email is required"}, path="/v1/clients", method="POST")
    failed = run_sync(integration)
    assert failed.status == "partial" and failed.summary["failed"] == 1, (failed.summary, failed.failed_items)
    assert "HTTP 422 (email is required)" in failed.failed_items[0]["error"] and len(pending(integration)) == 1

    rest_api_fake.fail_next(401, {"error": "unauthorized"})
    expired = run_sync(integration)
    assert expired.status == "failed" and expired.error_code == "provider_expired"
    with tenant_scope(alice.tenant.id):
        assert Integration.objects.get(pk=integration.pk).status == Integration.Status.EXPIRED


def test_a_next_page_url_off_the_base_origin_is_refused(alice, rest_api_fake):
    adapter = CustomApiAdapter(get_provider("custom_api"))
    integration = connected(alice, rest_api_fake.base_url, direction="import")
    from integrations.client import ProviderClient
    with tenant_scope(alice.tenant.id):
        client = ProviderClient.for_integration(Integration.objects.get(pk=integration.pk))
    with pytest.raises(CursorInvalid):
        adapter.list_changes(client, container="client",
                             cursor=json.dumps({"next": "http://169.254.169.254/latest/meta-data"}))
    assert rest_api_fake.requests == []


# ---------------------------------------------------------------------- end to end, the real worker
def test_a_sync_through_the_api_runs_on_the_real_worker_both_directions(alice, rest_api_fake, sync_worker):
    rest_api_fake.put("clients", full_name="From the ERP", contact={"email": "erp@example.com"})
    local_client(alice, "From the hub", "hub@example.com")
    integration = connected(alice, rest_api_fake.base_url)

    entry = sync_on_worker(alice, integration)
    assert entry["status"] == "success", entry
    assert entry["summary"]["created"] == 2
    assert clients(alice)["From the ERP"].email == "erp@example.com"
    assert rest_api_fake.by("clients", full_name="From the hub")["contact"] == {"email": "hub@example.com"}
