"""Xero through the sync engine: the real adapter and the hub's ProviderClient against the fake
Accounting API (tests/support/fakes/xero.py, shaped on the Xero pages it names): organisations
chosen at connect, If-Modified-Since + paging, Idempotency-Key on writes, read-compare-write
conflicts, error mapping."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from django.utils import translation

from core.tenant_context import tenant_scope
from entities.services import entity_create, entity_update
from integrations.discovery import integration_discover_containers
from integrations.models import SyncState
from integrations.providers.xero.adapter import XeroAdapter
from integrations.services import provider_app_set
from tests.support.fakes.xero import ORIGIN, xero_fake  # noqa: F401 - fixture
from tests.support.invoice_payments import (
    STATUS_MAPPING,
    assert_payment_states,
    assert_payment_status_follows_the_invoice,
)
from tests.support.oauth import make_oauth_integration
from tests.support.sync_runs import (
    clients,
    drain_entity_events,
    entity_pair,
    links,
    reload,
    run_sync,
    sync_export_drain,
    sync_settings,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limiter_on_test_redis")]

CLIENTS = entity_pair("client", "Contact")
PAYMENTS = entity_pair("payment", "Invoice[ACCREC]", "export")


@pytest.fixture
def fake(xero_fake):  # noqa: F811
    provider_app_set(provider_id="xero", client_id="xid", client_secret="xs", api_base_url=ORIGIN)
    return xero_fake


def connected(persona, fake, *entities, frequency="manual", settings=None, discover=True):
    integration = make_oauth_integration(persona, "xero", access=fake.token)
    with tenant_scope(persona.tenant.id):
        integration.settings = {**XeroAdapter.__new__(XeroAdapter).settings_defaults(), **(settings or {})}
        integration.sync_settings = sync_settings(*(entities or [CLIENTS]), frequency=frequency)
        integration.save()
    if discover:
        integration_discover_containers(integration_id=integration.pk, tenant_id=persona.tenant.id)
    return reload(integration)


def test_one_organisation_is_used_at_once_several_wait_for_the_choice(alice, bob, fake):
    # one organisation: discovered at connect and used for every call
    integration = connected(alice, fake)
    assert reload(integration).settings["organisations"] == [
        {"organisationId": fake.tenant_id, "organisationName": "Studio Ltd"}]
    fake.put("Contacts", Name="Rosen Architects", EmailAddress="hello@rosen.co.il")
    assert run_sync(integration).summary["created"] == 1
    assert {c.headers.get("Xero-tenant-id") for c in fake.calls if c.path.startswith("/api.xro")} == {fake.tenant_id}

    # several: nothing is called without the tenant's choice; the choice is then sent
    other = str(uuid.uuid4())
    fake.organisations[other] = "Second Co"
    second = connected(bob, fake)
    assert len(reload(second).settings["organisations"]) == 2
    failed = run_sync(second)
    assert failed.status == "failed" and "organisation" in failed.error_message
    adapter = XeroAdapter.__new__(XeroAdapter)
    with translation.override("en"):  # the messages follow the active language (Hebrew by default)
        assert adapter.settings_errors({**second.settings, "organisationId": "nope"}) == {
            "organisationId": ["is not one of the organisations this connection reaches"]}
    with tenant_scope(bob.tenant.id):
        second.settings = {**second.settings, "organisationId": other}
        second.save()
    assert run_sync(second).status == "success"
    assert fake.calls[-1].headers["Xero-tenant-id"] == other


def test_pages_then_if_modified_since_from_the_servers_own_dates(alice, fake):
    fake.page_size = 2
    import integrations.providers.xero.adapter as xa

    xa.PAGE_SIZE, saved = 2, xa.PAGE_SIZE
    try:
        made = [fake.put("Contacts", Name=f"Contact {n}", IsCustomer=True) for n in range(5)]
        fake.put("Contacts", Name="Supplier only", IsSupplier=True, IsCustomer=False)
        integration = connected(alice, fake)
        first = run_sync(integration)
        assert first.status == "success", first.error_message
        assert set(clients(alice)) == {f"Contact {n}" for n in range(5)}  # the supplier-only one left out
        listing = [c for c in fake.calls if c.method == "GET" and c.path.endswith("/Contacts")]
        assert [c.query["page"] for c in listing] == ["1", "2", "3", "4"]
        assert all("If-Modified-Since" not in c.headers for c in listing)
        with tenant_scope(alice.tenant.id):
            cursor = json.loads(SyncState.objects.get(integration=integration, remote_container="Contacts").cursor)

        fake.edit("Contacts", made[3]["ContactID"], Name="Contact 3 Ltd")
        fake.edit("Contacts", made[4]["ContactID"], ContactStatus="ARCHIVED")
        second = run_sync(integration)
        assert (second.summary["updated"], second.summary["deleted"]) == (1, 1), second.failed_items
        incremental = [c for c in fake.calls if c.method == "GET" and c.path.endswith("/Contacts")][len(listing):]
        assert incremental[0].headers["If-Modified-Since"].endswith("GMT")
        assert cursor["since"] == max(
            xa.ms_date(c["UpdatedDateUTC"]) for c in fake.store["Contacts"].values()
            if c["ContactID"] not in (made[3]["ContactID"], made[4]["ContactID"])).isoformat()
        assert set(clients(alice)) == {"Contact 0", "Contact 1", "Contact 2", "Contact 3 Ltd"}
        assert fake.count("POST") == 0
    finally:
        xa.PAGE_SIZE = saved


def test_a_refused_cursor_relists(alice, fake):
    fake.put("Contacts", Name="Weiss")
    integration = connected(alice, fake)
    run_sync(integration)
    with tenant_scope(alice.tenant.id):
        SyncState.objects.filter(integration=integration).update(cursor="not json")
    again = run_sync(integration)
    assert again.status == "success" and again.summary["created"] == 0 and len(clients(alice)) == 1


def test_writes_carry_an_idempotency_key_and_a_conflict_is_merged(alice, fake):
    integration = connected(alice, fake, frequency="realtime")
    run_sync(integration)
    with tenant_scope(alice.tenant.id):
        client = entity_create(tenant=alice.tenant, entity_type="client", source="api",
                               data={"name": "Amir Design", "phone": "03-1234567"})
    drain_entity_events(str(alice.tenant.id))
    sync_export_drain(tenant_id=alice.tenant.id)
    (link,) = links(integration)
    create = [c for c in fake.calls if c.method == "POST"][-1]
    assert create.headers["Idempotency-Key"] == f"create-{client.pk}"
    assert create.body == {"Contacts": [{"Name": "Amir Design", "EmailAddress": "", "Phones": [
        {"PhoneNumber": "03-1234567", "PhoneType": "DEFAULT"}], "Addresses": [{"AddressLine1": "", "AddressType": "POBOX"}]}]}

    # the accountant edits the email in Xero while the studio edits the phone here
    fake.edit("Contacts", link.remote_id, EmailAddress="amir@books.co.il")
    with tenant_scope(alice.tenant.id):
        client.refresh_from_db()
        entity_update(instance=client, data={"phone": "03-7654321"}, tenant=alice.tenant, source="api")
    drain_entity_events(str(alice.tenant.id))
    sync_export_drain(tenant_id=alice.tenant.id)
    stored = fake.store["Contacts"][link.remote_id]
    assert stored["EmailAddress"] == "amir@books.co.il" and stored["Phones"][0]["PhoneNumber"] == "03-7654321"
    assert clients(alice)["Amir Design"].email == "amir@books.co.il"
    updates = [c for c in fake.calls if c.method == "POST" and c.path.endswith(link.remote_id)]
    assert len(updates) == 1 and updates[0].headers["Idempotency-Key"].startswith(f"update-{link.remote_id}")


def test_an_invoice_is_a_draft_with_vat_inclusive_line_and_account(alice, fake):
    integration = connected(alice, fake, CLIENTS, PAYMENTS, settings={
        "invoiceSettings": {"invoicePrefix": "INV-", "defaultPaymentTerms": 14, "defaultTaxRate": "17",
                            "currency": "ILS", "autoCreateInvoice": False, "defaultAccount": ""},
        "accountMappings": {"revenue": "200", "expenses": "400", "retainer": "", "categories": {}}})
    with tenant_scope(alice.tenant.id):
        client = entity_create(tenant=alice.tenant, entity_type="client", source="api", data={"name": "Barak"})
        payment = entity_create(tenant=alice.tenant, entity_type="payment", source="api",
                                data={"amount": "2340.00", "client_id": str(client.pk), "description": "Stage 1"})
    drain_entity_events(str(alice.tenant.id))
    log = run_sync(integration)
    assert log.status == "success", log.failed_items
    (invoice,) = fake.live("Invoices").values()
    contact_id = next(link.remote_id for link in links(integration) if link.local_type == "client")
    assert invoice["Contact"] == {"ContactID": contact_id} and invoice["Type"] == "ACCREC"
    assert invoice["Status"] == "DRAFT" and invoice["LineAmountTypes"] == "Inclusive"
    assert invoice["InvoiceNumber"] == "INV-" + payment.pk.hex[:8].upper()
    (line,) = invoice["LineItems"]
    assert (Decimal(line["UnitAmount"]), Decimal(line["TaxAmount"]), line["AccountCode"]) == (
        Decimal("2340.00"), Decimal("340.00"), "200")


def test_401_refresh_429_wait_5xx_retry_4xx_failed_item(alice, fake):
    integration = connected(alice, fake)
    fake.put("Contacts", Name="Pinto")
    fake.fail_next(429, {"Retry-After": "1"})
    fake.fail_next(502)
    log = run_sync(integration)
    assert log.status == "success", log.error_message
    assert fake.count("GET", "/Contacts", status=429) == 1 and fake.count("GET", "/Contacts", status=502) == 1

    # a 4xx on one write: a failed item with Xero's message, the run goes on
    with tenant_scope(alice.tenant.id):
        entity_create(tenant=alice.tenant, entity_type="client", source="api", data={"name": "Fine"})
    drain_entity_events(str(alice.tenant.id))
    original = fake._post

    def refuse(collection, remote_id, records):
        if records and records[0].get("Name") == "Fine":
            return 400, {"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
                         "Elements": [{"ValidationErrors": [{"Message": "Account code '999' is not valid."}]}]}
        return original(collection, remote_id, records)

    fake._post = refuse
    failed = run_sync(integration)
    assert failed.status == "partial" and "Account code '999' is not valid." in failed.failed_items[0]["error"]

    # a token Xero refuses and a refresh it refuses: the run ends expired
    fake.token = "elsewhere"  # our token is refused (401) and so is the refresh (invalid_grant)
    expired = run_sync(integration)
    assert expired.status == "failed" and expired.error_code == "provider_expired"
    assert reload(integration).status == "expired"


def test_the_catalogs_rate_limit_paces_the_calls(alice, fake, monkeypatch):
    """3 calls per second instead of Xero's 60 per minute: seven listing pages (and the
    discovery call) wait for later windows, and Xero refuses none."""
    import time

    import integrations.providers.xero.adapter as xa
    from tests.support.small_bucket import small_bucket

    monkeypatch.setattr(xa, "PAGE_SIZE", 1)
    fake.page_size = 1
    for n in range(6):
        fake.put("Contacts", Name=f"Paced {n}")
    with small_bucket("xero", 3, 1):
        integration = connected(alice, fake)
        started = time.monotonic()
        log = run_sync(integration)
        elapsed = time.monotonic() - started
    assert log.status == "success", log.error_message
    assert fake.count("GET", "/Contacts") == 7 and fake.count("GET", status=429) == 0
    assert elapsed >= 1.0  # 1 discovery + 7 pages at 3 per second


# ---------------------------------------------------------------------------- payment status (issue 15)
# A sales invoice's ``Status`` (DRAFT, SUBMITTED, AUTHORISED, PAID, VOIDED, DELETED), ``Total``,
# ``AmountDue`` and ``AmountPaid`` (read only, set by Xero as payments are applied):
# https://developer.xero.com/documentation/api/accounting/invoices
def test_the_invoice_amount_due_and_status_set_the_payment_status_and_an_export_never_overwrites_it(alice, fake):
    integration = connected(alice, fake, CLIENTS, {**PAYMENTS, "direction": "bidirectional"})

    def created() -> str:
        (invoice_id,) = fake.live("Invoices")
        return invoice_id

    def kept(invoice_id: str) -> None:
        invoice = fake.store["Invoices"][invoice_id]
        assert (invoice["Status"], invoice["AmountDue"], invoice["Reference"]) == ("PAID", 0.0, "Kitchen plans (final)")

    assert_payment_status_follows_the_invoice(
        alice, integration, description="Kitchen plans", created=created,
        # approved at Xero, then partly paid: still owed -> pending
        still_owed=[
            lambda invoice_id: fake.edit("Invoices", invoice_id, Status="AUTHORISED", Total=1170.0, AmountDue=1170.0,
                                         AmountPaid=0.0),
            lambda invoice_id: fake.edit("Invoices", invoice_id, AmountDue=570.0, AmountPaid=600.0),
        ],
        # paid in full: Xero marks it PAID
        paid_in_full=lambda invoice_id: fake.edit("Invoices", invoice_id, Status="PAID", AmountDue=0.0,
                                                  AmountPaid=1170.0),
        calls=fake.calls,
        exported=lambda calls: [c.body["Invoices"][0] for c in calls if c.method == "POST" and "Invoices" in c.path],
        never_sent={"Status", "LineItems", "AmountDue", "hub_status"}, kept=kept)


def test_xero_payment_states():
    from integrations.providers.xero import adapter as xa

    assert XeroAdapter.__new__(XeroAdapter).default_mappings("payment", "Invoice[ACCREC]")[-1] == STATUS_MAPPING
    assert_payment_states(lambda fields: xa._change("payment", {"InvoiceID": "i1", **fields}).raw, (
        ({"Status": "DRAFT", "Total": 100, "AmountDue": 100}, "unpaid", "pending"),
        ({"Status": "AUTHORISED", "Total": 100, "AmountDue": 40, "AmountPaid": 60}, "partial", "pending"),
        ({"Status": "PAID", "Total": 100, "AmountDue": 0, "AmountPaid": 100}, "paid", "paid"),
        ({"Status": "PAID"}, "paid", "paid")))
