"""Stripe through the sync engine (issue 15 items 3-5): payment intents become payments and
customers clients, the Events API carries what changed, an event seen twice changes nothing,
the 30-day reset relists without duplicates, a refused record is a failed item, and a signed
Stripe webhook (signed with the stripe SDK's own helper) at the integration's URL wakes an
incremental run -- end to end through the real sync worker."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
import stripe

from core.tenant_context import tenant_scope
from entities.models import EntityEvent
from entities.services import entity_create
from integrations.models import IntegrationLog
from integrations.providers.stripe import adapter as stripe_adapter
from integrations.providers.stripe.adapter import StripeAdapter
from integrations.services import integration_connect_credentials, provider_app_set
from integrations.sync.hooks import hook_url
from tests.support.fakes.stripe import stripe_fake  # noqa: F401 - fixture
from tests.support.payments import clients, connect_payments, payments
from tests.support.sync_runs import drain_entity_events, links, reload, run_sync
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limiter_on_test_redis")]
WHSEC = "whsec_test_secret_for_the_hub"


@pytest.fixture
def fake(stripe_fake, monkeypatch):  # noqa: F811
    monkeypatch.setattr(stripe_adapter, "PAGE_SIZE", 2)
    monkeypatch.setattr(StripeAdapter, "clock", staticmethod(lambda: stripe_fake.now))
    provider_app_set(provider_id="stripe", api_base_url=stripe_fake.base_url)
    return stripe_fake


def _connect(alice, fake, *, customers: str = "import", settings: dict | None = None):
    return connect_payments(alice, "stripe", {"apiKey": fake.api_key, "webhookSecret": WHSEC},
                            entities=[("payment", "payment_intent", "import"), ("client", "customer", customers)],
                            settings=settings)


def _runs(integration) -> tuple[int, int]:
    """(runs, running) of the integration."""
    with tenant_scope(integration.tenant_id):
        rows = IntegrationLog.objects.filter(integration=integration, action__in=("sync", "import"))
        return rows.count(), rows.filter(status="running").count()


def _signed_post(api, integration, event: dict, secret: str = WHSEC, *, when: int | None = None):
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=when or int(time.time()))
    return api.post(f"/api/integrations/hooks/{integration.pk}", data=body, content_type="application/json",
                    HTTP_STRIPE_SIGNATURE=header)


def test_a_run_imports_payment_intents_as_decimal_payments_and_customers_as_clients(alice, fake):
    paid = fake.payment_intent(1234550, "ils", description="Renovation, stage 1")
    fake.succeed(paid)
    fake.payment_intent(30000, "jpy", description="Model fee")
    refunded = fake.payment_intent(9900, "usd", description="Deposit")
    fake.succeed(refunded)
    fake.refund(refunded)
    fake.customer("Dana Levi", "dana@example.com", phone="+972501234567", address={"line1": "Herzl 1"})
    integration = _connect(alice, fake)

    entry = run_sync(integration)

    assert entry.status == "success", entry.failed_items
    got = {p.description: (p.amount, p.currency, p.status) for p in payments(alice)}
    assert got == {"Renovation, stage 1": (Decimal("12345.50"), "ILS", "paid"),
                   "Model fee": (Decimal("30000.00"), "JPY", "pending"),
                   "Deposit": (Decimal("99.00"), "USD", "refunded")}
    dana = clients(alice)["Dana Levi"]
    assert (dana.email, dana.phone, dana.address) == ("dana@example.com", "+972501234567", "Herzl 1")


def test_the_events_cursor_brings_changes_and_an_event_seen_twice_changes_nothing(alice, fake):
    pi = fake.payment_intent(50000, "ils", description="Survey")
    integration = _connect(alice, fake)
    run_sync(integration)
    fake.advance(stripe_adapter.LISTING_MARGIN + 1)

    fake.succeed(pi)
    entry = run_sync(integration)
    assert entry.summary["updated"] == 1
    assert [p.status for p in payments(alice)] == ["paid"]

    # when the same events are read again (a cursor put back a page, as after a crash)
    with tenant_scope(alice.tenant.id):
        before = (EntityEvent.objects.count(), payments(alice)[0].updated_at)
        state = integration.sync_states.get(remote_type="payment_intent")
        state.cursor = json.dumps({"gte": fake.now - 5, "mode": "events"})
        state.save()
    again = run_sync(integration)

    # then nothing changed: no write, no entity event
    assert (again.summary["created"], again.summary["updated"]) == (0, 0)
    with tenant_scope(alice.tenant.id):
        assert (EntityEvent.objects.count(), payments(alice)[0].updated_at) == before


def test_auto_record_off_imports_only_intents_stamped_with_a_payments_id(alice, fake):
    # given a payment of the studio, and two intents at Stripe: one made for that payment by the
    # studio's checkout (metadata.architectStudioId), one the hub never asked for
    with tenant_scope(alice.tenant.id):
        ours = entity_create(tenant=alice.tenant, entity_type="payment", source="api",
                             data={"amount": "75.00", "currency": "ILS", "description": "Checkout"})
    mine = fake.payment_intent(7500, "ils", description="Checkout", metadata={"architectStudioId": str(ours.pk)})
    fake.succeed(mine)
    fake.payment_intent(12000, "ils", description="Walk-in")
    integration = _connect(alice, fake, settings={"autoRecordTransaction": False})

    entry = run_sync(integration)

    # then only the stamped one is linked (and paid); the other created nothing
    assert [(p.description, p.status) for p in payments(alice)] == [("Checkout", "paid")]
    assert entry.summary["skipped"] >= 1 and [link.remote_id for link in links(integration)] == [mine]


def test_a_cursor_past_the_30_days_relists_everything_without_duplicates(alice, fake):
    fake.payment_intent(1000, "ils", description="Old")
    integration = _connect(alice, fake)
    run_sync(integration)
    fake.advance(31 * 24 * 3600)
    fake.payment_intent(2000, "ils", description="New")

    entry = run_sync(integration)

    assert entry.status == "success"
    assert sorted(p.description for p in payments(alice)) == ["New", "Old"]
    assert len(links(integration)) == 2


def test_a_customer_deleted_at_stripe_deletes_the_client(alice, fake):
    cus = fake.customer("Gone Client", "gone@example.com")
    integration = _connect(alice, fake)
    run_sync(integration)
    fake.advance(stripe_adapter.LISTING_MARGIN + 1)
    fake.delete_customer(cus)

    entry = run_sync(integration)

    assert entry.summary["deleted"] == 1 and "Gone Client" not in clients(alice)


def test_a_client_stripe_refuses_is_a_failed_item_and_the_others_export(alice, fake):
    integration = _connect(alice, fake, customers="bidirectional")
    run_sync(integration)
    with tenant_scope(alice.tenant.id):
        for name in ("Refused", "Accepted"):
            entity_create(tenant=alice.tenant, entity_type="client", source="api", data={"name": name})
    drain_entity_events(str(alice.tenant.id))
    fake.fail(400, method="POST")  # the first create: Stripe's invalid_request_error

    entry = run_sync(integration)

    assert entry.status == "partial" and entry.summary["failed"] == 1
    assert "invalid_request_error" in entry.failed_items[0]["error"]
    assert [fake.objects[i]["name"] for i in fake.order["customer"]] == ["Accepted"]
    assert fake.objects[fake.order["customer"][0]]["metadata"]["architectStudioId"] == str(clients(alice)["Accepted"].pk)


def test_a_revoked_key_expires_the_integration(alice, fake):
    integration = _connect(alice, fake)
    fake.api_key = "sk_test_rolled"

    entry = run_sync(integration)

    assert entry.error_code == "provider_expired" and reload(integration).status == "expired"


def test_connecting_stripe_gives_the_integration_its_webhook_url(alice, fake, monkeypatch):
    monkeypatch.setattr(StripeAdapter, "can_test_connection", property(lambda self: False))
    with tenant_scope(alice.tenant.id):
        integration, _ = integration_connect_credentials(
            tenant_id=alice.tenant.id, user_id=alice.user.id, provider_id="stripe",
            credentials={"apiKey": fake.api_key, "webhookSecret": WHSEC})
    assert integration.webhook_url == hook_url(integration)
    assert integration.webhook_url.endswith(f"/api/integrations/hooks/{integration.pk}")


@pytest.mark.django_db(transaction=True)  # the endpoint finds the integration on the operator connection
def test_a_webhook_with_a_bad_or_stale_signature_is_refused_and_starts_nothing(alice, fake, api):
    integration = _connect(alice, fake)
    event = fake.succeed(fake.payment_intent(1000))

    assert _signed_post(api, integration, event, secret="whsec_wrong").status_code == 401
    assert _signed_post(api, integration, event, when=int(time.time()) - 600).status_code == 401
    assert api.post(f"/api/integrations/hooks/{integration.pk}", data=json.dumps(event),
                    content_type="application/json").status_code == 401
    assert api.post("/api/integrations/hooks/00000000-0000-0000-0000-000000000000", data="{}",
                    content_type="application/json").status_code == 404
    with tenant_scope(alice.tenant.id):
        assert not IntegrationLog.objects.filter(integration=integration).exists()


@pytest.mark.django_db(transaction=True)
def test_a_webhook_while_a_run_runs_asks_for_one_more_run(alice, fake, api):
    integration = _connect(alice, fake)
    from integrations.sync.services import sync_request

    with tenant_scope(alice.tenant.id):
        running = sync_request(integration=reload(integration))
    event = fake.succeed(fake.payment_intent(1000))
    response = _signed_post(api, integration, event)
    assert response.status_code == 200 and response.json()["started"] is False
    with tenant_scope(alice.tenant.id):
        assert IntegrationLog.objects.get(pk=running.pk).request_snapshot["rerun"] is True


@pytest.mark.django_db(transaction=True)
def test_end_to_end_a_stripe_webhook_wakes_a_run_on_the_sync_worker_and_twice_changes_nothing(
        alice, fake, api, sync_worker):
    pi = fake.payment_intent(250000, "ils", description="Permit drawings")
    integration = _connect(alice, fake)
    run_sync(integration)
    assert [p.status for p in payments(alice)] == ["pending"]
    fake.advance(stripe_adapter.LISTING_MARGIN + 1)

    # when Stripe delivers payment_intent.succeeded to the integration's URL
    event = fake.succeed(pi)
    response = _signed_post(api, integration, event)
    assert response.status_code == 200 and response.json()["started"] is True

    # then the sync worker's run imports it
    wait_until(lambda: [p.status for p in payments(alice)] == ["paid"], timeout=20, what="the payment paid")
    wait_until(lambda: _runs(integration) == (2, 0), timeout=20, what="the run ended")

    # and the same event delivered again starts a run that changes nothing
    with tenant_scope(alice.tenant.id):
        events_before = EntityEvent.objects.count()
    assert _signed_post(api, integration, event).status_code == 200
    wait_until(lambda: _runs(integration) == (3, 0), timeout=20, what="the second run ended")
    with tenant_scope(alice.tenant.id):
        last = IntegrationLog.objects.filter(integration=integration).order_by("-started_at").first()
        assert (last.summary["created"], last.summary["updated"]) == (0, 0)
        assert EntityEvent.objects.count() == events_before
    assert [p.status for p in payments(alice)] == ["paid"]
