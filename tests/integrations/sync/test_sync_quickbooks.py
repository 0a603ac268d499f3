"""QuickBooks Online through the sync engine: the real adapter and the hub's ProviderClient
against the fake Accounting API v3 (tests/support/fakes/quickbooks.py, shaped as Intuit's
entity references, query, CDC, SyncToken and fault pages it names), at the sandbox base URL
set as the provider app's API-base override."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.tenant_context import tenant_scope
from entities.models import Client, Payment
from entities.services import entity_create, entity_update
from integrations.models import Integration, SyncState
from integrations.providers.quickbooks import adapter as qb
from integrations.services import provider_app_set
from tests.support.fakes.quickbooks import ORIGIN, quickbooks_fake  # noqa: F401 - fixture
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
    pending,
    reload,
    run_sync,
    sync_export_drain,
    sync_settings,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limiter_on_test_redis")]

CLIENTS = entity_pair("client", "Customer")
PAYMENTS = entity_pair("payment", "Invoice", "export")
EXPENSES = entity_pair("expense", "Purchase", "export")


@pytest.fixture
def fake(quickbooks_fake):  # noqa: F811
    provider_app_set(provider_id="quickbooks", client_id="ABqb", client_secret="qs", api_base_url=ORIGIN)
    return quickbooks_fake


def connected(persona, fake, *entities, frequency: str = "manual", settings: dict | None = None) -> Integration:
    integration = make_oauth_integration(persona, "quickbooks", access=fake.token, refresh="qb-refresh-0",
                                         config={"realmId": fake.realm})
    adapter = qb.QuickbooksAdapter.__new__(qb.QuickbooksAdapter)
    with tenant_scope(persona.tenant.id):
        integration.settings = {**adapter.settings_defaults(), **(settings or {})}
        integration.sync_settings = sync_settings(*(entities or [CLIENTS]), frequency=frequency)
        integration.save()
    return integration


def customer(name: str, **extra) -> dict:
    return {"DisplayName": name, "PrimaryEmailAddr": {"Address": f"{name.split()[0].lower()}@example.co.il"},
            "PrimaryPhone": {"FreeFormNumber": "03-555-0101"}, **extra}


# ---------------------------------------------------------------------------- change feed
def test_full_listing_pages_then_cdc_brings_edits_and_deactivations(alice, fake, monkeypatch):
    monkeypatch.setattr(qb, "PAGE_SIZE", 2)
    made = [fake.put("Customer", **customer(f"Cohen Studio {n}")) for n in range(5)]
    integration = connected(alice, fake)

    first = run_sync(integration)
    assert first.status == "success", first.error_message
    assert first.summary["created"] == 5
    assert clients(alice)["Cohen Studio 0"].email == "cohen@example.co.il"
    queries = [c for c in fake.calls if c.path == "/query"]
    assert [q.query["query"] for q in queries] == [
        f"select * from Customer STARTPOSITION {n} MAXRESULTS 2" for n in (1, 3, 5)]
    assert all(c.query["minorversion"] == "75" for c in fake.calls)
    with tenant_scope(alice.tenant.id):
        cursor = json.loads(SyncState.objects.get(integration=integration, remote_container="Customer").cursor)
    assert set(cursor) == {"since"}

    # when one customer is renamed and one made inactive at QuickBooks
    fake.edit("Customer", made[1]["Id"], DisplayName="Cohen Studio 1 Ltd")
    fake.remove("Customer", made[2]["Id"])
    second = run_sync(integration)

    # then one CDC call since the listing's start brings both: the rename and the removal
    assert second.status == "success", second.error_message
    assert (second.summary["created"], second.summary["updated"], second.summary["deleted"]) == (0, 1, 1)
    (cdc,) = [c for c in fake.calls if c.path == "/cdc"]
    assert cdc.query["entities"] == "Customer" and cdc.query["changedSince"] == cursor["since"]
    assert set(clients(alice)) == {"Cohen Studio 0", "Cohen Studio 1 Ltd", "Cohen Studio 3", "Cohen Studio 4"}
    assert fake.count("POST") == 0  # an import writes nothing back


def test_a_cursor_past_the_30_day_horizon_or_a_full_cdc_answer_relists(alice, fake, monkeypatch):
    fake.put("Customer", **customer("Levi Architects"))
    integration = connected(alice, fake)
    assert run_sync(integration).summary["created"] == 1

    # a cursor 31 days old: CDC cannot look that far back -> a full listing, nothing doubled
    old = (datetime.now(UTC) - timedelta(days=31)).isoformat()
    with tenant_scope(alice.tenant.id):
        SyncState.objects.filter(integration=integration).update(cursor=json.dumps({"since": old}))
    fake.put("Customer", **customer("Mizrahi Design"))
    again = run_sync(integration)
    assert again.status == "success", again.error_message
    assert fake.count("GET", "/cdc") == 0 and fake.count("GET", "/query") == 2
    assert set(clients(alice)) == {"Levi Architects", "Mizrahi Design"}
    assert again.summary["created"] == 1

    # a CDC answer at its cap may be missing changes -> relisted too
    monkeypatch.setattr(qb, "CDC_LIMIT", 2)
    for name in ("Peretz Homes", "Azoulay Interiors"):
        fake.put("Customer", **customer(name))
    third = run_sync(integration)
    assert third.status == "success", third.error_message
    assert fake.count("GET", "/cdc") == 1 and fake.count("GET", "/query") == 3
    assert len(clients(alice)) == 4 and len(links(integration)) == 4


# ---------------------------------------------------------------------------- writes
def test_exports_create_with_requestid_and_update_with_the_synctoken(alice, fake):
    integration = connected(alice, fake)
    run_sync(integration)
    with tenant_scope(alice.tenant.id):
        client = entity_create(tenant=alice.tenant, entity_type="client", source="api",
                               data={"name": "Ben David Studio", "email": "office@bendavid.co.il"})
    drain_entity_events(str(alice.tenant.id))
    run_sync(integration)

    (link,) = links(integration)
    stored = fake.get("Customer", link.remote_id)
    assert stored["DisplayName"] == "Ben David Studio"
    assert stored["PrimaryEmailAddr"] == {"Address": "office@bendavid.co.il"}
    create = [c for c in fake.calls if c.method == "POST"][-1]
    assert create.query["requestid"] == f"create-{client.pk}"
    assert link.remote_version == stored["SyncToken"] == "0"

    with tenant_scope(alice.tenant.id):
        client.refresh_from_db()
        entity_update(instance=client, data={"phone": "054-1234567"}, tenant=alice.tenant, source="api")
    drain_entity_events(str(alice.tenant.id))
    run_sync(integration)
    update = [c for c in fake.calls if c.method == "POST"][-1]
    assert update.body["sparse"] is True and update.body["SyncToken"] == "0" and update.body["Id"] == link.remote_id
    assert fake.get("Customer", link.remote_id)["PrimaryPhone"] == {"FreeFormNumber": "054-1234567"}


def test_a_stale_synctoken_is_a_version_conflict_merged_then_written_again(alice, fake):
    made = fake.put("Customer", **customer("Golan Build"))
    integration = connected(alice, fake, frequency="realtime")
    run_sync(integration)

    # when the accountant edits the email at QuickBooks and the studio edits the phone here
    fake.edit("Customer", made["Id"], PrimaryEmailAddr={"Address": "books@golan.co.il"})
    with tenant_scope(alice.tenant.id):
        local = Client.objects.get(tenant=alice.tenant, name="Golan Build")
        entity_update(instance=local, data={"phone": "052-7654321"}, tenant=alice.tenant, source="api")
    drain_entity_events(str(alice.tenant.id))
    sync_export_drain(tenant_id=alice.tenant.id)  # the export runs first: its SyncToken is stale

    # then QuickBooks refused the stale write (5010), the engine read the change, merged, wrote again
    assert fake.count("POST", "/customer", status=400) == 1
    stored = fake.get("Customer", made["Id"])
    assert stored["PrimaryEmailAddr"] == {"Address": "books@golan.co.il"}
    assert stored["PrimaryPhone"] == {"FreeFormNumber": "052-7654321"}
    assert clients(alice)["Golan Build"].email == "books@golan.co.il"
    assert pending(integration) == []


def test_an_invoice_carries_the_customer_number_vat_and_due_date(alice, fake):
    integration = connected(alice, fake, CLIENTS, PAYMENTS, settings={
        "invoiceSettings": {"invoicePrefix": "AS-", "defaultPaymentTerms": 30, "defaultTaxRate": 17,
                            "currency": "ILS", "autoCreateInvoice": False, "defaultAccount": ""},
        "accountMappings": {"revenue": "7", "expenses": "", "retainer": "", "categories": {}}})
    with tenant_scope(alice.tenant.id):
        client = entity_create(tenant=alice.tenant, entity_type="client", source="api", data={"name": "Shapira"})
        payment = entity_create(tenant=alice.tenant, entity_type="payment", source="api",
                                data={"amount": "1170.00", "currency": "ILS", "client_id": str(client.pk),
                                      "description": "Kitchen plans, stage 2"})
    drain_entity_events(str(alice.tenant.id))
    log = run_sync(integration)
    assert log.status == "success", (log.error_message, log.failed_items)

    (invoice,) = fake.live("Invoice").values()
    customer_id = next(link.remote_id for link in links(integration) if link.local_type == "client")
    assert invoice["CustomerRef"] == {"value": customer_id}
    assert invoice["DocNumber"] == "AS-" + payment.pk.hex[:8].upper()
    (line,) = invoice["Line"]
    # 1,170.00 gross at 17%: 1,000.00 net + 170.00 VAT, exactly
    assert Decimal(str(line["Amount"])) == Decimal("1000.00")
    assert Decimal(str(invoice["TxnTaxDetail"]["TotalTax"])) == Decimal("170.00")
    assert Decimal(str(line["SalesItemLineDetail"]["TaxInclusiveAmt"])) == Decimal("1170.00")
    assert line["SalesItemLineDetail"]["ItemRef"] == {"value": "7"}
    assert invoice["GlobalTaxCalculation"] == "TaxInclusive" and invoice["CurrencyRef"] == {"value": "ILS"}
    txn = datetime.fromisoformat(invoice["TxnDate"]).date()
    assert datetime.fromisoformat(invoice["DueDate"]).date() == txn + timedelta(days=30)


def test_an_expense_is_booked_to_its_categorys_account(alice, fake):
    integration = connected(alice, fake, EXPENSES, settings={
        "invoiceSettings": {"defaultAccount": "35", "defaultTaxRate": "17", "invoicePrefix": "",
                            "defaultPaymentTerms": 30, "autoCreateInvoice": False, "currency": "ILS"},
        "accountMappings": {"revenue": "", "expenses": "80", "retainer": "", "categories": {"materials": "81"}}})
    with tenant_scope(alice.tenant.id):
        for category, amount in (("materials", "249.90"), ("travel", "80.10")):
            entity_create(tenant=alice.tenant, entity_type="expense", source="api",
                          data={"amount": amount, "category": category, "expense_date": "2026-11-30"})
    drain_entity_events(str(alice.tenant.id))
    log = run_sync(integration)
    assert log.status == "success", (log.error_message, log.failed_items)
    booked = {str(p["Line"][0]["Amount"]): p for p in fake.live("Purchase").values()}
    assert booked["249.9"]["Line"][0]["AccountBasedExpenseLineDetail"]["AccountRef"] == {"value": "81"}
    assert booked["80.1"]["Line"][0]["AccountBasedExpenseLineDetail"]["AccountRef"] == {"value": "80"}
    assert {p["PaymentType"] for p in booked.values()} == {"Cash"}
    assert {p["AccountRef"]["value"] for p in booked.values()} == {"35"}
    assert "_category" not in booked["249.9"]


def test_a_deleted_invoice_is_deleted_at_quickbooks_with_its_synctoken(alice, fake):
    integration = connected(alice, fake, CLIENTS, PAYMENTS)
    with tenant_scope(alice.tenant.id):
        client = entity_create(tenant=alice.tenant, entity_type="client", source="api", data={"name": "Katz"})
        entity_create(tenant=alice.tenant, entity_type="payment", source="api",
                      data={"amount": "500.00", "client_id": str(client.pk)})
    drain_entity_events(str(alice.tenant.id))
    run_sync(integration)
    (invoice_id,) = fake.live("Invoice")
    with tenant_scope(alice.tenant.id):
        from entities.services import entity_delete
        entity_delete(instance=Payment.objects.get(tenant=alice.tenant), source="api")
    drain_entity_events(str(alice.tenant.id))
    log = run_sync(integration)
    assert log.summary["deleted"] == 1, log.failed_items
    delete = [c for c in fake.calls if c.method == "POST" and c.query.get("operation") == "delete"][-1]
    assert delete.body == {"Id": invoice_id, "SyncToken": "0"}
    assert fake.live("Invoice") == {}


# ---------------------------------------------------------------------------- errors
def test_a_refused_refresh_token_ends_the_run_as_expired(alice, fake):
    integration = connected(alice, fake)
    fake.token = "rotated-elsewhere"  # our access token is refused (401) ...
    fake.refresh_ok = False  # ... and so is the refresh token (invalid_grant)
    log = run_sync(integration)
    assert log.status == "failed" and log.error_code == "provider_expired"
    assert reload(integration).status == Integration.Status.EXPIRED
    assert fake.refreshes == 1


def test_a_401_refreshes_once_and_the_run_goes_on(alice, fake):
    fake.put("Customer", **customer("Dahan Works"))
    integration = connected(alice, fake)
    fake.token = "qb-access-after-rotation-elsewhere"
    fake.refresh_ok = True
    log = run_sync(integration)
    assert log.status == "success", log.error_message
    assert fake.refreshes == 1 and fake.count("GET", "/query", status=401) == 1


def test_429_waits_and_5xx_retries_then_the_listing_completes(alice, fake):
    fake.put("Customer", **customer("Ohana Spaces"))
    integration = connected(alice, fake)
    fake.fail_next(429, headers={"Retry-After": "1"})
    fake.fail_next(503)
    log = run_sync(integration)
    assert log.status == "success", log.error_message
    assert fake.count("GET", "/query", status=429) == 1 and fake.count("GET", "/query", status=503) == 1
    assert set(clients(alice)) == {"Ohana Spaces"}


def test_a_4xx_on_one_write_is_a_failed_item_and_the_others_go_through(alice, fake, monkeypatch):
    integration = connected(alice, fake)
    run_sync(integration)
    original = fake._write

    def refuse_duplicates(entity, body, query):
        if body.get("DisplayName") == "Twice":
            return 400, {"Fault": {"Error": [{"Message": "Duplicate Name Exists Error", "code": "6240",
                                              "Detail": "The name supplied already exists."}],
                                   "type": "ValidationFault"}, "time": "2026-12-03T06:00:00+00:00"}
        return original(entity, body, query)

    monkeypatch.setattr(fake, "_write", refuse_duplicates)
    with tenant_scope(alice.tenant.id):
        for name in ("Twice", "Once"):
            entity_create(tenant=alice.tenant, entity_type="client", source="api", data={"name": name})
    drain_entity_events(str(alice.tenant.id))
    log = run_sync(integration)
    assert log.status == "partial"
    assert log.summary["failed"] == 1 and log.summary["created"] == 1
    (item,) = log.failed_items
    assert "code 6240" in item["error"] and "Duplicate Name Exists" in item["error"]
    assert [r.snapshot for r in pending(integration)] and len(pending(integration)) == 1  # kept for its retry
    assert fake.count("POST", "/customer", status=400) == 1  # a 4xx is not retried


def test_the_catalogs_rate_limit_paces_the_calls(alice, fake, monkeypatch):
    """A small bucket (3 calls per second instead of Intuit's 500 per minute): eight listing
    pages take at least two extra windows and no call is refused."""
    from integrations.providers.base import RateLimit
    from integrations.providers.quickbooks.entry import PROVIDER

    monkeypatch.setattr(qb, "PAGE_SIZE", 1)
    published = PROVIDER.rate_limit
    object.__setattr__(PROVIDER, "rate_limit", RateLimit(3, 1, "test: a small bucket"))
    try:
        for n in range(7):
            fake.put("Customer", **customer(f"Client {n}"))
        integration = connected(alice, fake)
        started = datetime.now(UTC)
        log = run_sync(integration)
        elapsed = (datetime.now(UTC) - started).total_seconds()
    finally:
        object.__setattr__(PROVIDER, "rate_limit", published)
    assert log.status == "success", log.error_message
    assert fake.count("GET", "/query") == 8 and fake.count("GET", status=429) == 0
    assert elapsed >= 2.0  # 8 calls at 3 per second: the third window opens after 2 s


# ---------------------------------------------------------------------------- payment status (issue 15)
# An invoice's ``Balance`` is what is still owed (read only; TotalAmt when created, lowered by
# each Payment applied to it): https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
def test_the_invoice_balance_sets_the_payment_status_and_an_export_never_overwrites_it(alice, fake):
    integration = connected(alice, fake, CLIENTS, {**PAYMENTS, "direction": "bidirectional"})

    def created() -> str:
        (invoice_id,) = fake.live("Invoice")
        assert Decimal(str(fake.get("Invoice", invoice_id)["Balance"])) == Decimal("1170.00")
        return invoice_id

    def kept(invoice_id: str) -> None:
        assert Decimal(str(fake.get("Invoice", invoice_id)["TotalAmt"])) == Decimal("1170.00")
        assert fake.get("Invoice", invoice_id)["PrivateNote"] == "Kitchen plans, stage 2 (final)"
        assert Decimal(str(fake.get("Invoice", invoice_id)["Balance"])) == Decimal("0.00")

    assert_payment_status_follows_the_invoice(
        alice, integration, description="Kitchen plans, stage 2", created=created,
        # a partial payment at QuickBooks: still owed, so still pending
        still_owed=[lambda invoice_id: fake.pay(invoice_id, "585.00")],
        # the rest: Balance 0 -> paid
        paid_in_full=lambda invoice_id: fake.pay(invoice_id, "585.00"),
        calls=fake.calls,
        exported=lambda calls: [c.body for c in calls if c.method == "POST" and "/invoice" in c.path.lower()],
        never_sent={"Balance", "hub_status", "Line"}, kept=kept)


def test_the_payment_state_of_an_invoice_from_its_total_and_balance():
    adapter = qb.QuickbooksAdapter.__new__(qb.QuickbooksAdapter)
    assert adapter.default_mappings("payment", "Invoice")[-1] == STATUS_MAPPING
    assert_payment_states(lambda fields: qb._change("Invoice", {"Id": "1", "SyncToken": "0", **fields}).raw, (
        ({"TotalAmt": "100.00", "Balance": "100.00"}, "unpaid", "pending"),
        ({"TotalAmt": "100.00", "Balance": "40.00"}, "partial", "pending"),
        ({"TotalAmt": "100.00", "Balance": 0}, "paid", "paid")))
    assert "hub_status" not in qb._change("Invoice", {"Id": "1", "SyncToken": "0"}).raw
