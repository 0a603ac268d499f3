"""HubSpot through the sync engine (issue 16 items 3 and 6): contacts and companies become
clients through CRM v3 search on the modified date (pages, windows past the 10,000-result cap,
cursor reset), clients go out as contacts (batches: upsert by email, update by id keeps associations),
errors mapped (401 -> expired, 429 waited, 5xx retried, 4xx a failed item) -- the real adapter
and ProviderClient against tests/support/fakes/hubspot.py (shaped as the pages it names)."""

from __future__ import annotations

import json

import hubspot
import pytest
from django.utils import timezone, translation

from core.tenant_context import tenant_scope
from entities.models import Client
from entities.services import entity_create, entity_update
from integrations.models import Integration, SyncPending
from integrations.providers.adapter import BatchItem, CredentialsRefused
from integrations.providers.hubspot import adapter as hs
from integrations.services import provider_app_set
from integrations.sync.exporter import export_pending
from tests.support.fakes.hubspot import ORIGIN, hubspot_fake, served  # noqa: F401 - fixture
from tests.support.oauth import make_oauth_integration
from tests.support.sync_runs import (
    clients,
    drain_entity_events,
    entity_pair,
    export_job,
    links,
    pending,
    reload,
    run_sync,
    set_cursor,
    sync_on_worker,
    sync_settings,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limiter_on_test_redis")]

CONTACTS = entity_pair("client", "contact")
COMPANIES = entity_pair("client", "company", "import")


@pytest.fixture
def fake(hubspot_fake, monkeypatch):  # noqa: F811
    monkeypatch.setattr(hs, "PAGE_SIZE", 2)
    provider_app_set(provider_id="hubspot", client_id="hs-client", client_secret="hs-secret", api_base_url=ORIGIN)
    return hubspot_fake


def connected(persona, fake, *entities, settings: dict | None = None) -> Integration:
    integration = make_oauth_integration(persona, "hubspot", access=fake.token, refresh="hs-refresh-0")
    with tenant_scope(persona.tenant.id):
        integration.settings = {**hs.HubspotAdapter.__new__(hs.HubspotAdapter).settings_defaults(), **(settings or {})}
        integration.sync_settings = sync_settings(*(entities or [CONTACTS]))
        integration.save()
    return integration


def searches(fake, kind: str = "contacts") -> list[dict]:
    return [c.body for c in fake.calls if c.path == f"/crm/v3/objects/{kind}/search"]


# ---------------------------------------------------------------------------- change feed
def test_a_full_listing_pages_through_search_then_the_cursor_brings_only_edits(alice, fake):
    ids = [fake.put("contact", firstname=f"Dana{n}", lastname="Levi", email=f"dana{n}@example.co.il",
                    phone="03-555-0101") for n in range(5)]
    fake.put("company", name="Cohen Architects", phone="03-555-0202", address="Herzl 1")
    integration = connected(alice, fake, CONTACTS, COMPANIES)

    first = run_sync(integration)

    assert first.status == "success", first.error_message
    assert first.summary["created"] == 6
    got = clients(alice)
    assert (got["Dana0 Levi"].email, got["Dana0 Levi"].phone) == ("dana0@example.co.il", "03-555-0101")
    assert got["Cohen Architects"].address == "Herzl 1"
    pages = searches(fake)
    assert [p.get("after") for p in pages] == [None, "2", "4"]
    assert pages[0]["filterGroups"] == [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE",
                                                      "value": "0"}]}]
    assert pages[0]["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
    assert searches(fake, "companies")[0]["filterGroups"][0]["filters"][0]["propertyName"] == "hs_lastmodifieddate"

    fake.edit("contact", ids[3], phone="03-555-9999")
    second = run_sync(integration)

    assert second.summary["updated"] == 1 and second.summary["created"] == 0
    assert clients(alice)["Dana3 Levi"].phone == "03-555-9999"
    since = int(searches(fake)[-1]["filterGroups"][0]["filters"][0]["value"])
    assert since > 0  # the newest modified time seen, not a fresh full listing


def test_past_the_10000_result_cap_the_window_slides_instead_of_failing(alice, fake, monkeypatch):
    monkeypatch.setattr(hs, "SEARCH_WINDOW", 4)
    fake.window = 4
    for n in range(7):
        fake.put("contact", firstname=f"W{n}", lastname="Window", email=f"w{n}@example.co.il")
    integration = connected(alice, fake)

    entry = run_sync(integration)

    assert entry.status == "success", entry.error_message
    assert len(clients(alice)) == 7 and fake.count("POST", "/search", status=400) == 0
    assert any(int(p["filterGroups"][0]["filters"][0]["value"]) > 0 and "after" not in p for p in searches(fake))


def test_a_refused_or_garbled_cursor_relists_without_duplicates(alice, fake):
    for n in range(3):
        fake.put("contact", firstname=f"R{n}", lastname="Reset", email=f"r{n}@example.co.il")
    integration = connected(alice, fake)
    run_sync(integration)
    set_cursor(integration, "not-json", remote_type="contact")

    entry = run_sync(integration)

    assert entry.status == "success", entry.error_message
    assert len(clients(alice)) == 3 and len(links(integration)) == 3
    assert entry.summary["created"] == 0


def test_the_same_page_read_twice_changes_nothing(alice, fake):
    fake.put("contact", firstname="Twice", lastname="Read", email="twice@example.co.il")
    integration = connected(alice, fake)
    run_sync(integration)
    set_cursor(integration, json.dumps({"since": 0, "top": 0}), remote_type="contact")
    before = clients(alice)["Twice Read"].updated_at

    again = run_sync(integration)

    assert (again.summary["created"], again.summary["updated"]) == (0, 0)
    assert clients(alice)["Twice Read"].updated_at == before


# ---------------------------------------------------------------------------- export
def test_clients_go_out_as_contacts_by_batch_upsert_and_edits_patch_only_mapped_properties(alice, fake):
    existing = fake.put("contact", firstname="Noa", lastname="Bar", email="noa@example.co.il",
                        jobtitle="Owner")
    fake.associations[existing] = ["company:555"]
    integration = connected(alice, fake)
    run_sync(integration)
    with tenant_scope(alice.tenant.id):
        entity_create(tenant=alice.tenant, entity_type="client", source="api",
                      data={"name": "Avi Mizrahi", "email": "avi@example.co.il", "phone": "054-1234567"})
        noa = Client.objects.get(tenant=alice.tenant, name="Noa Bar")
        entity_update(tenant=alice.tenant, instance=noa, data={"phone": "052-7654321"}, source="api")
    drain_entity_events(str(alice.tenant.id))

    entry = run_sync(integration)

    assert entry.status == "success", entry.failed_items
    upsert = [c.body for c in fake.calls if c.path.endswith("/batch/upsert")]
    with tenant_scope(alice.tenant.id):
        avi_id = str(Client.objects.get(tenant=alice.tenant, name="Avi Mizrahi").pk)
    assert upsert == [{"inputs": [{"idProperty": "email", "id": "avi@example.co.il", "properties": {
        "firstname": "Avi", "lastname": "Mizrahi", "email": "avi@example.co.il", "phone": "054-1234567",
        "address": ""}, "objectWriteTraceId": avi_id}]}]
    # the edit: a batch update by contact id with only the mapped properties (no PATCH, no upsert by email)
    assert [c.body for c in fake.calls if c.path.endswith("/batch/update")] == [{"inputs": [{
        "id": existing, "properties": {"firstname": "Noa", "lastname": "Bar", "email": "noa@example.co.il",
                                       "phone": "052-7654321", "address": ""},
        "objectWriteTraceId": str(noa.pk)}]}]
    avi = next(o for o in fake.live("contact").values() if o["properties"]["email"] == "avi@example.co.il")
    assert {link.remote_id for link in links(integration)} == {existing, avi["id"]}
    kept = fake.live("contact")[existing]
    assert kept["properties"]["phone"] == "052-7654321" and kept["properties"]["jobtitle"] == "Owner"
    assert fake.associations[existing] == ["company:555"]
    with served(fake) as origin:  # and as HubSpot's own SDK reads them (v4 associations list)
        companies = hubspot.Client.create(access_token=fake.token, host=origin).crm.associations.v4.basic_api.get_page(
            "contacts", existing, "companies")
    assert [(c.to_object_id, [t.type_id for t in c.association_types]) for c in companies.results] == [("555", [279])]


def new_clients(persona, *people: tuple[str, str]) -> None:
    """Local clients created (as the SPA would) and their entity events drained into the export queue."""
    with tenant_scope(persona.tenant.id):
        for name, email in people:
            entity_create(tenant=persona.tenant, entity_type="client", source="api",
                          data={"name": name, "email": email})
    drain_entity_events(str(persona.tenant.id))


def upserts(fake) -> list[dict]:
    return [c.body for c in fake.calls if c.path == "/crm/v3/objects/contacts/batch/upsert"]


def test_n_new_clients_go_out_in_ceil_n_over_100_batch_upserts_each_linked(alice, fake):
    integration = connected(alice, fake)
    run_sync(integration)
    new_clients(alice, *((f"Batch{n} Client", f"batch{n}@example.co.il") for n in range(150)))

    entry = run_sync(integration)

    assert entry.status == "success", entry.failed_items
    assert entry.summary["created"] == 150
    sent = upserts(fake)
    assert [len(body["inputs"]) for body in sent] == [100, 50]  # ceil(150 / 100) calls, not 150
    assert [c.path for c in fake.calls if c.method != "POST" or not c.path.endswith("/search")] == [
        "/crm/v3/objects/contacts/batch/upsert"] * 2  # no other write
    live = {o["properties"]["email"]: o["id"] for o in fake.live("contact").values()}
    assert len(live) == 150
    with tenant_scope(alice.tenant.id):
        by_id = {str(c.pk): c.email for c in Client.objects.filter(tenant=alice.tenant)}
    got = {by_id[link.local_id if isinstance(link.local_id, str) else str(link.local_id)]: link.remote_id
           for link in links(integration)}
    assert got == live  # each client linked to the contact made from it
    assert pending(integration) == []


def test_a_create_retried_after_a_lost_answer_updates_the_same_contact(alice, fake):
    integration = connected(alice, fake)
    adapter = hs.HubspotAdapter.__new__(hs.HubspotAdapter)
    from integrations.client import ProviderClient

    with tenant_scope(alice.tenant.id):
        client = ProviderClient.for_integration(reload(integration))
        record = {"properties": {"hub_name": "Lost Answer", "email": "lost@example.co.il"}}
        first = adapter.push_create(client, container="contact", record=record, hub_id="h-1")
        second = adapter.push_create(client, container="contact", record=record, hub_id="h-1")
    assert first.remote_id == second.remote_id and len(fake.live("contact")) == 1


# ---------------------------------------------------------------------------- errors
def test_an_uninstalled_app_ends_the_run_as_expired(alice, fake):
    integration = connected(alice, fake)
    fake.token = "revoked"
    fake.refresh_ok = False

    entry = run_sync(integration)

    assert entry.status == "failed" and entry.error_code == "provider_expired"
    # HubSpot refuses a dead refresh token with its own body (400 {"status": "BAD_REFRESH_TOKEN"}),
    # not RFC 6749's invalid_grant, so the token layer marks the connection "error", not "expired"
    # (reported to the lead: integrations/oauth.py classifies by the RFC error code only).
    assert reload(integration).status in (Integration.Status.EXPIRED, Integration.Status.ERROR)
    assert fake.refreshes == 1


def test_429_waits_and_5xx_retries_the_search(alice, fake):
    fake.put("contact", firstname="Ohana", lastname="Spaces", email="ohana@example.co.il")
    integration = connected(alice, fake)
    fake.fail_next(429, headers={"Retry-After": "1"})
    fake.fail_next(502)

    entry = run_sync(integration)

    assert entry.status == "success", entry.error_message
    assert fake.count("POST", "/search", status=429) == 1 and fake.count("POST", "/search", status=502) == 1
    assert set(clients(alice)) == {"Ohana Spaces"}


def test_a_contact_hubspot_refuses_is_a_failed_item_and_the_others_go_out(alice, fake):
    integration = connected(alice, fake)
    run_sync(integration)
    fake.refuse["bad@example.co.il"] = "Property values were not valid: email"
    with tenant_scope(alice.tenant.id):
        for name, email in (("Refused One", "bad@example.co.il"), ("Accepted One", "good@example.co.il")):
            entity_create(tenant=alice.tenant, entity_type="client", source="api", data={"name": name, "email": email})
    drain_entity_events(str(alice.tenant.id))

    entry = run_sync(integration)

    assert entry.status == "partial" and entry.summary["failed"] == 1
    assert "VALIDATION_ERROR" in entry.failed_items[0]["error"]
    assert [o["properties"]["email"] for o in fake.live("contact").values()] == ["good@example.co.il"]
    # both went in one batch upsert; HubSpot's multi-status (207) refused the one input, and
    # neither the batch nor the refused record was sent again in this run
    assert [(c.status, len(c.body["inputs"])) for c in fake.calls if c.path.endswith("/batch/upsert")] == [(207, 2)]


def test_one_input_refused_in_a_batch_fails_that_row_only_and_the_others_are_linked(alice, fake):
    integration = connected(alice, fake)
    run_sync(integration)
    fake.refuse["b2@example.co.il"] = "Property values were not valid: email"
    new_clients(alice, *((f"B{n} Client", f"b{n}@example.co.il") for n in range(5)))

    entry = run_sync(integration)

    assert (entry.status, entry.summary["created"], entry.summary["failed"]) == ("partial", 4, 1)
    [call] = [c for c in fake.calls if c.path.endswith("/batch/upsert")]
    assert call.status == 207 and len(call.body["inputs"]) == 5
    with tenant_scope(alice.tenant.id):
        refused = Client.objects.get(tenant=alice.tenant, email="b2@example.co.il")
        emails = {str(c.pk): c.email for c in Client.objects.filter(tenant=alice.tenant)}
    assert [(f["entityId"], "VALIDATION_ERROR" in f["error"]) for f in entry.failed_items] == [(str(refused.pk), True)]
    live = {o["properties"]["email"]: o["id"] for o in fake.live("contact").values()}
    assert {emails[str(link.local_id)]: link.remote_id for link in links(integration)} == live
    assert set(live) == {f"b{n}@example.co.il" for n in (0, 1, 3, 4)}
    [row] = pending(integration)  # the refused row stays, retried later as a single call's 4xx is
    assert (str(row.local_id), row.attempts, "VALIDATION_ERROR" in row.last_error) == (str(refused.pk), 1, True)


def test_a_batch_refused_whole_is_sent_again_one_input_per_call(alice, fake):
    """Two clients with one email: HubSpot refuses the whole batch (duplicate ids, no
    multi-status); each input is then sent alone, as the single calls always were."""
    integration = connected(alice, fake)
    run_sync(integration)
    new_clients(alice, ("Twin One", "twin@example.co.il"), ("Twin Two", "twin@example.co.il"),
                ("Solo Three", "solo@example.co.il"))

    entry = run_sync(integration)

    assert entry.status == "success", entry.failed_items
    assert [(c.status, len(c.body["inputs"])) for c in fake.calls if c.path.endswith("/batch/upsert")] == [
        (400, 3), (200, 1), (200, 1), (200, 1)]
    live = {o["properties"]["email"]: o["id"] for o in fake.live("contact").values()}
    assert len(live) == 2  # one contact for the twins: the upsert by email updated it
    # (a remote contact links one client: the second twin's link takes it over, as before batching)
    assert {link.remote_id for link in links(integration)} == set(live.values())


def test_a_429_on_a_batch_retries_all_its_rows_later_then_they_go_out_together(alice, fake):
    integration = connected(alice, fake)
    run_sync(integration)
    new_clients(alice, *((f"Later{n} Client", f"later{n}@example.co.il") for n in range(3)))
    fake.fail_next(429, headers={"Retry-After": "120"})  # longer than the client waits in a run
    job = export_job(integration)  # the export alone: the 429 meets the batch, not a search

    export_pending(job)

    assert (job.report.failed, job.report.created) == (3, 0)
    assert fake.live("contact") == {} and links(integration) == []
    rows = pending(integration)
    assert len(rows) == 3 and {r.attempts for r in rows} == {1}
    assert all("HTTP 429" in r.last_error and r.next_attempt_at > timezone.now() for r in rows)
    assert [c.status for c in fake.calls if c.path.endswith("/batch/upsert")] == [429]

    with tenant_scope(alice.tenant.id):  # their backoff is over
        SyncPending.objects.filter(integration=integration).update(next_attempt_at=None)
    again = run_sync(integration)

    assert again.status == "success" and again.summary["created"] == 3
    assert [c.status for c in fake.calls if c.path.endswith("/batch/upsert")] == [429, 200]
    assert len(links(integration)) == 3 and pending(integration) == []


def test_refused_credentials_fail_the_batch_that_met_them_and_leave_the_rest_untouched(alice, fake, monkeypatch):
    monkeypatch.setattr(hs.HubspotAdapter, "push_batch_max", 2)  # five rows: batches of 2, 2, 1
    integration = connected(alice, fake)
    run_sync(integration)
    new_clients(alice, *((f"Gone{n} Client", f"gone{n}@example.co.il") for n in range(5)))
    job = export_job(integration)
    fake.fail_next(401, times=2)  # refused, and refused again after the client's one refresh

    with pytest.raises(CredentialsRefused):
        export_pending(job)

    # the first batch met the refusal (sent, refreshed, sent again); no other batch was sent
    assert [c.status for c in fake.calls if c.path.endswith("/batch/upsert")] == [401, 401]
    rows = sorted(pending(integration), key=lambda r: (r.attempts, r.queued_at))
    assert [r.attempts for r in rows] == [0, 0, 0, 1, 1]
    assert [r.next_attempt_at for r in rows[:3]] == [None] * 3  # released: due again at once
    assert job.report.failed == 2 and fake.live("contact") == {}


def test_a_batch_update_call_that_fails_keeps_the_creates_written_before_it(alice, fake):
    from integrations.client import ProviderClient, ProviderError

    integration = connected(alice, fake)
    existing = fake.put("contact", firstname="Noa", lastname="Bar", email="noa@example.co.il")
    adapter = hs.HubspotAdapter.__new__(hs.HubspotAdapter)

    class UpdatesFail:  # the client, whose batch update meets a network failure
        def __init__(self, client):
            self.client = client

        def request(self, method, path, **kwargs):
            if path.endswith("/batch/update"):
                raise ProviderError("network", "HubSpot: connection error")
            return self.client.request(method, path, **kwargs)

    with tenant_scope(alice.tenant.id):
        client = UpdatesFail(ProviderClient.for_integration(reload(integration)))
        made, failed = adapter.push_batch(client, container="contact", items=[
            BatchItem(record={"properties": {"hub_name": "Avi Mizrahi", "email": "avi@example.co.il"}}, hub_id="h1"),
            BatchItem(record={"properties": {"phone": "052-7654321"}}, hub_id="h2", remote_id=existing)])

    assert made.raw["properties"]["email"] == "avi@example.co.il" and made.remote_id in fake.live("contact")
    assert isinstance(failed, ProviderError)


def test_settings_accept_the_create_flag_and_refuse_the_rest():
    adapter = hs.HubspotAdapter.__new__(hs.HubspotAdapter)
    assert adapter.settings_errors({"autoCreateClients": False}) == {}
    with translation.override("en"):  # the messages follow the active language (Hebrew by default)
        assert adapter.settings_errors({"autoCreateClients": "yes", "boards": []}) == {
            "autoCreateClients": ["must be true or false"], "boards": ["unknown setting"]}


# ---------------------------------------------------------------------------- end to end
@pytest.mark.django_db(transaction=True)
def test_a_sync_asked_for_through_the_api_runs_on_the_real_worker(alice, fake, sync_worker):
    """POST /api/integrations/{id}/sync -> the sync queue -> the real worker: HubSpot's contact
    and company become clients and the studio's client goes out as a contact, in one run."""

    fake.put("contact", firstname="Shira", lastname="Katz", email="shira@example.co.il")
    fake.put("company", name="Katz Interiors", phone="03-555-0303")
    integration = connected(alice, fake, CONTACTS, COMPANIES)
    with tenant_scope(alice.tenant.id):
        entity_create(tenant=alice.tenant, entity_type="client", source="api",
                      data={"name": "Yael Golan", "email": "yael@example.co.il"})

    entry = sync_on_worker(alice, integration, seconds=60)
    assert entry["status"] == "success", entry
    assert {"Shira Katz", "Katz Interiors", "Yael Golan"} <= set(clients(alice))
    assert {o["properties"]["email"] for o in fake.live("contact").values()} == {
        "shira@example.co.il", "yael@example.co.il"}
