"""StripeAdapter against the fake Stripe API (tests/support/fakes/stripe.py, a real HTTP server
shaped as https://docs.stripe.com/api shows), called through the hub's real ProviderClient with
the provider app's API base pointed at the fake: the full listing's pages, the Events API
cursor, the 30-day reset, minor units per currency, the error mapping, idempotent creates.
The ``stripe`` SDK checks the fake's shapes (``construct_from``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

import pytest
import stripe

from core.tenant_context import tenant_scope
from integrations.client import ProviderClient
from integrations.providers._payments import to_decimal, to_minor
from integrations.providers.adapter import CredentialsRefused, CursorInvalid
from integrations.providers.catalog import get_provider
from integrations.providers.registry import adapter_for
from integrations.providers.stripe import adapter as stripe_adapter
from integrations.providers.stripe.adapter import StripeAdapter, StripeError
from integrations.services import provider_app_set
from tests.support.adapter_calls import AdapterCalls
from tests.support.fakes.stripe import FakeStripe, stripe_fake  # noqa: F401 - fixture
from tests.support.payments import connect_payments

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limiter_on_test_redis")]


@dataclass
class Stripe(AdapterCalls):
    fake: FakeStripe
    integration: object
    adapter: StripeAdapter
    container = "payment_intent"

    def __call__(self, method: str, **kwargs):
        with tenant_scope(self.integration.tenant_id):
            client = ProviderClient.for_integration(self.integration, sleep=lambda s: None)
        return getattr(self.adapter, method)(client, **kwargs)


@pytest.fixture
def api(alice, stripe_fake, monkeypatch) -> Stripe:  # noqa: F811
    monkeypatch.setattr(stripe_adapter, "PAGE_SIZE", 2)
    monkeypatch.setattr(StripeAdapter, "clock", staticmethod(lambda: stripe_fake.now))
    provider_app_set(provider_id="stripe", api_base_url=stripe_fake.base_url)
    integration = connect_payments(alice, "stripe", {"apiKey": stripe_fake.api_key},
                                   entities=[("payment", "payment_intent", "import")])
    adapter = adapter_for(get_provider("stripe"))
    assert isinstance(adapter, StripeAdapter)
    return Stripe(stripe_fake, integration, adapter)


def test_the_fakes_objects_are_what_the_stripe_sdk_reads(stripe_fake):  # noqa: F811
    pi = stripe_fake.payment_intent(125000, "ils", description="Kitchen plans")
    event = stripe_fake.succeed(pi)
    parsed = stripe.Event.construct_from(event, "sk_test")
    assert parsed.type == "payment_intent.succeeded"
    assert isinstance(parsed.data.object, stripe.PaymentIntent)
    assert (parsed.data.object.amount, parsed.data.object.status) == (125000, "succeeded")
    assert parsed.data.previous_attributes["status"] == "requires_payment_method"


def test_minor_units_follow_each_currencys_exponent():
    assert to_decimal(12345, "ils") == Decimal("123.45")
    assert to_decimal(5000, "JPY") == Decimal("5000")
    assert to_decimal(12340, "kwd") == Decimal("12.34")
    assert to_minor("123.45", "ILS") == 12345 and to_minor(Decimal("5000"), "jpy") == 5000
    with pytest.raises(ValueError):
        to_minor("10.001", "USD")
    with pytest.raises(ValueError):
        to_decimal(10.5, "USD")


def test_a_full_listing_pages_then_the_events_cursor_returns_only_what_changed(api):
    ids = [api.fake.payment_intent(1000 * (i + 1), "ils", description=f"Invoice {i}") for i in range(5)]
    api.fake.payment_intent(500000, "jpy", description="Tokyo fee")
    api.fake.advance(stripe_adapter.LISTING_MARGIN + 1)  # the listing re-reads its last 5 minutes of events

    changes, cursor, pages = api.listing()

    assert pages == 3  # six intents, two a page
    assert {c.remote_id for c in changes} >= set(ids)
    by_desc = {c.raw["description"]: c.raw for c in changes}
    assert (by_desc["Invoice 2"]["hub_amount"], by_desc["Invoice 2"]["hub_currency"]) == ("30.00", "ILS")
    assert by_desc["Tokyo fee"]["hub_amount"] == "500000.00"
    assert {r["hub_status"] for r in by_desc.values()} == {"pending"}

    # when one is paid and another refunded after being paid
    api.fake.succeed(ids[0])
    api.fake.succeed(ids[1])
    api.fake.refund(ids[1])
    changes, cursor2, _ = api.listing(cursor=cursor)

    assert {c.remote_id: c.raw["hub_status"] for c in changes} == {ids[0]: "paid", ids[1]: "refunded"}
    # and nothing new: an empty listing from the advanced cursor (or one re-reading the last second)
    again, _, _ = api.listing(cursor=cursor2)
    assert {c.remote_id for c in again} <= {ids[0], ids[1]}
    assert all(c.raw["hub_status"] in ("paid", "refunded") for c in again)


def test_a_cursor_older_than_stripes_30_days_of_events_is_refused(api):
    api.fake.payment_intent(1000)
    _, cursor, _ = api.listing()
    api.fake.advance(29 * 24 * 3600 + 60)
    with pytest.raises(CursorInvalid, match="30 days"):
        api("list_changes", container="payment_intent", cursor=cursor)


def test_a_foreign_cursor_or_one_starting_after_an_unknown_object_is_refused(api):
    with pytest.raises(CursorInvalid):
        api("list_changes", container="payment_intent", cursor="not json")
    with pytest.raises(CursorInvalid):
        api("list_changes", container="payment_intent",
            cursor=json.dumps({"after": "pi_gone", "mode": "list", "since": api.fake.now}))


def test_a_refused_key_is_credentials_refused(api):
    api.fake.api_key = "sk_test_rolled"
    with pytest.raises(CredentialsRefused):
        api("list_changes", container="payment_intent", cursor=None)


def test_429_is_waited_out_and_5xx_retried_on_reads(api):
    api.fake.payment_intent(1000)
    api.fake.fail(429, retry_after=0)
    api.fake.fail(500)
    changes, _, _ = api.listing()
    assert len(changes) == 1
    assert api.fake.count("GET", "/v1/payment_intents") == 3


def test_a_4xx_that_is_not_a_cursor_problem_is_a_clear_error_without_the_key(api):
    api.fake.fail(400)
    with pytest.raises(StripeError) as caught:
        api("push_create", container="customer", record={"name": "Dana"}, hub_id="h1")
    assert caught.value.status == 400 and "invalid_request_error" in str(caught.value)
    assert api.fake.api_key not in str(caught.value)


def test_customers_are_created_once_per_hub_id_updated_and_deleted(api):
    first = api("push_create", container="customer", record={"name": "Dana Levi", "email": "dana@example.com",
                                                             "address": {"line1": "Herzl 1"}}, hub_id="hub-1")
    again = api("push_create", container="customer", record={"name": "Dana Levi"}, hub_id="hub-1")
    assert first.remote_id == again.remote_id and first.hub_id == "hub-1"
    assert len(api.fake.order["customer"]) == 1
    assert api.fake.objects[first.remote_id]["address"] == {"line1": "Herzl 1"}

    api("push_update", container="customer", remote_id=first.remote_id, record={"name": "Dana Cohen"}, version=None)
    assert api.fake.objects[first.remote_id]["name"] == "Dana Cohen"

    api("push_delete", container="customer", remote_id=first.remote_id, version=None)
    api("push_delete", container="customer", remote_id=first.remote_id, version=None)  # already gone: fine
    changes, _, _ = api.listing("customer", cursor=json.dumps({"gte": api.fake.now - 10, "mode": "events"}))
    assert {(c.remote_id, c.deleted) for c in changes} == {(first.remote_id, True)}


def test_payment_intents_are_import_only(api):
    with pytest.raises(StripeError, match="import only"):
        api("push_create", container="payment_intent", record={}, hub_id="x")


def test_the_catalogs_rate_limit_is_honoured_measured_with_a_small_bucket(api, monkeypatch):
    # given: Stripe's entry at 2 requests per second (its real figure is 100/s), and six pages to read
    import dataclasses
    import time

    from integrations.providers import catalog
    from integrations.providers.base import RateLimit

    provider = catalog.PROVIDERS["stripe"]
    monkeypatch.setitem(catalog.PROVIDERS, "stripe", dataclasses.replace(provider, rate_limit=RateLimit(2, 1, "test")))
    for i in range(11):
        api.fake.payment_intent(100 + i)
    started = time.monotonic()

    # when: the whole listing is read (six calls: a bucket of 2 bursts 2, then refills 2 a second),
    # by a client that really waits for its bucket
    with tenant_scope(api.integration.tenant_id):
        client = ProviderClient.for_integration(api.integration)
    changes, cursor, pages = [], None, 0
    while True:
        page = api.adapter.list_changes(client, container="payment_intent", cursor=cursor)
        changes, cursor, pages = changes + list(page.changes), page.cursor, pages + 1
        if page.done:
            break

    # then: it took at least the four calls beyond the burst at 2/s, and every object came
    assert pages == 6 and len(changes) == 11
    assert time.monotonic() - started >= 1.8
