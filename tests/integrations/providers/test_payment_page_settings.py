"""PayPlus and Cardcom: the seed's PaymentProviderConfig settings take effect (issue 15 item 3).

- ``allowPartialPayments``: the page always asks for the payment's full amount (neither
  provider documents a partial-payment field on generateLink / LowProfile/Create, so the rule
  is applied on the hub's side, to the amount the result reports); off -> a smaller amount does
  not mark the payment paid and records nothing; on -> the amount paid is recorded and the
  payment stays ``pending`` (the payment model has no partially-paid status) until the whole
  amount is paid.
- ``feePercent`` / ``feeFixed``: when an approved result arrives, ``fee = gross × % / 100 +
  fixed`` (Decimal, rounded half-up to agorot) and ``net = gross - fee`` are stored on the
  payment (``feeAmount`` / ``netAmount``).
- ``notifyOnPayment`` / ``notifyOnFailure``: a ``payment.received`` / ``payment.failed``
  realtime event to the tenant's browsers, only when the setting is on (and once per result).

The provider doubles (documented request / answer shapes) are the sync tests' ones.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import responses

from core import realtime
from core.tenant_context import tenant_scope
from entities.services import entity_create
from tests.integrations.sync.test_sync_payment_pages import Cardcom, PayPlus
from tests.support.payments import connect_payments, payments
from tests.support.sync_runs import drain_entity_events, links, run_sync

pytestmark = pytest.mark.django_db(transaction=True)  # the hook endpoint reads its integration as operator


@pytest.fixture(params=[PayPlus, Cardcom], ids=["payplus", "cardcom"])
def side(request, settings):
    settings.INTEGRATIONS_RATELIMIT_REDIS_URL = settings.CELERY_BROKER_URL
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield request.param(rsps)


@pytest.fixture
def sent_events(monkeypatch):
    """Every realtime message published (after commit), in order."""
    seen: list[dict] = []
    monkeypatch.setattr(realtime, "_send", lambda tenant_id, message: seen.append(message))
    return seen


def _page(alice, side, amount: str, **settings):
    integration = connect_payments(alice, side.provider, side.credentials,
                                   entities=[("payment", side.remote_type, "export")], settings=settings)
    with tenant_scope(alice.tenant.id):
        payment = entity_create(tenant=alice.tenant, entity_type="payment", source="api",
                                data={"amount": amount, "currency": "ILS", "description": "Stage 3"})
    drain_entity_events(str(alice.tenant.id))
    assert run_sync(integration).summary["created"] == 1
    [link] = links(integration)
    return integration, payment, link.remote_id


def _report(alice_api, side, integration, remote_id: str, amount: str | None = None, *, approved: bool = True):
    """The provider's callback; ``amount``: what the transaction reports as charged."""
    if amount is not None:
        side.pages[remote_id]["amount" if side.provider == "payplus" else "Amount"] = float(Decimal(amount))
    response = side.callback(alice_api, integration, remote_id, approved=approved)
    assert response.status_code == 200, response.content
    return response


def _requested(side) -> Decimal:
    [sent] = side.sent()
    return Decimal(str(sent.get("amount", sent.get("Amount"))))


def _ours(events: list[dict]) -> list[dict]:
    return [e for e in events if e["type"].startswith("payment.")]


# ------------------------------------------------------------------ allowPartialPayments
def test_partial_payments_off_a_smaller_amount_does_not_mark_the_payment_paid(alice, alice_api, side):
    integration, payment, remote_id = _page(alice, side, "1000.00", allowPartialPayments=False)
    assert _requested(side) == Decimal("1000.00")  # the page asks for the full amount

    _report(alice_api, side, integration, remote_id, "400.00")

    [stored] = payments(alice)
    assert (stored.status, stored.amount_paid, stored.fee_amount, stored.net_amount) == ("pending", None, None, None)
    shown = alice_api.get(f"/api/payments/{payment.pk}").json()
    assert shown["status"] == "pending" and shown["amountPaid"] is None

    # the whole amount then pays it
    _report(alice_api, side, integration, remote_id, "1000.00")
    [stored] = payments(alice)
    assert (stored.status, stored.amount_paid) == ("paid", Decimal("1000.00"))


def test_partial_payments_on_a_smaller_amount_is_recorded_as_paid_so_far(alice, alice_api, side):
    integration, payment, remote_id = _page(alice, side, "1000.00", allowPartialPayments=True)
    assert _requested(side) == Decimal("1000.00")

    _report(alice_api, side, integration, remote_id, "400.00")

    [stored] = payments(alice)
    assert (stored.status, stored.amount_paid) == ("pending", Decimal("400.00"))
    shown = alice_api.get(f"/api/payments/{payment.pk}").json()
    assert (shown["status"], shown["amountPaid"], shown["amount"]) == ("pending", "400.00", "1000.00")

    _report(alice_api, side, integration, remote_id, "1000.00")
    [stored] = payments(alice)
    assert (stored.status, stored.amount_paid) == ("paid", Decimal("1000.00"))


# ------------------------------------------------------------------ feePercent / feeFixed
def test_the_fee_and_net_are_stored_when_the_result_arrives_rounded_half_up_to_agorot(alice, alice_api, side):
    # 100.20 × 2.5 % = 2.505, + 1.00 = 3.505 -> 3.51 half-up (half-even would say 3.50)
    integration, payment, remote_id = _page(alice, side, "100.20", feePercent=2.5, feeFixed="1.00")
    [stored] = payments(alice)
    assert (stored.fee_amount, stored.net_amount) == (None, None)  # nothing before the result

    _report(alice_api, side, integration, remote_id)

    [stored] = payments(alice)
    assert stored.status == "paid"
    assert (stored.amount_paid, stored.fee_amount, stored.net_amount) == (
        Decimal("100.20"), Decimal("3.51"), Decimal("96.69"))
    shown = alice_api.get(f"/api/payments/{payment.pk}").json()
    assert (shown["feeAmount"], shown["netAmount"]) == ("3.51", "96.69")


def test_no_fee_settings_store_a_zero_fee_and_the_gross_as_net(alice, alice_api, side):
    integration, _, remote_id = _page(alice, side, "250.00")
    _report(alice_api, side, integration, remote_id)
    [stored] = payments(alice)
    assert (stored.fee_amount, stored.net_amount) == (Decimal("0.00"), Decimal("250.00"))


def test_a_declined_result_stores_no_fee(alice, alice_api, side):
    integration, _, remote_id = _page(alice, side, "250.00", feePercent=3)
    _report(alice_api, side, integration, remote_id, approved=False)
    [stored] = payments(alice)
    assert (stored.status, stored.amount_paid, stored.fee_amount, stored.net_amount) == ("pending", None, None, None)


# ------------------------------------------------------------------ notifyOnPayment / notifyOnFailure
def test_notify_on_payment_publishes_payment_received_once(alice, alice_api, side, sent_events):
    integration, payment, remote_id = _page(alice, side, "980.00", notifyOnPayment=True, feePercent=1)

    _report(alice_api, side, integration, remote_id)
    _report(alice_api, side, integration, remote_id)  # the same result again: no second notice

    [event] = _ours(sent_events)
    assert event["type"] == "payment.received"
    assert event["data"] == {"integrationId": str(integration.pk), "provider": side.provider,
                             "paymentId": str(payment.pk), "status": "paid", "currency": "ILS",
                             "amount": "980.00", "amountPaid": "980.00", "feeAmount": "9.80",
                             "netAmount": "970.20"}


def test_notify_on_payment_off_publishes_nothing(alice, alice_api, side, sent_events):
    integration, _, remote_id = _page(alice, side, "980.00", notifyOnPayment=False)
    _report(alice_api, side, integration, remote_id)
    assert [p.status for p in payments(alice)] == ["paid"]
    assert _ours(sent_events) == []


def test_notify_on_failure_publishes_payment_failed_only_when_on(alice, alice_api, side, sent_events):
    integration, payment, remote_id = _page(alice, side, "980.00", notifyOnFailure=True, notifyOnPayment=True)
    _report(alice_api, side, integration, remote_id, approved=False)
    [event] = _ours(sent_events)
    assert event["type"] == "payment.failed"
    assert event["data"]["paymentId"] == str(payment.pk) and event["data"]["provider"] == side.provider
    assert event["data"]["status"] == "pending"


def test_notify_on_failure_off_publishes_nothing_on_a_decline(alice, alice_api, side, sent_events):
    integration, _, remote_id = _page(alice, side, "980.00", notifyOnFailure=False)
    _report(alice_api, side, integration, remote_id, approved=False)
    assert _ours(sent_events) == []


def test_bad_fee_settings_are_a_clear_400(alice, alice_api, side):
    integration = connect_payments(alice, side.provider, side.credentials,
                                   entities=[("payment", side.remote_type, "export")])
    bad = alice_api.patch(f"/api/integrations/{integration.pk}", {"settings": {
        "feePercent": "2.5%", "feeFixed": -1, "allowPartialPayments": "no"}}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]["settings"]) == {"feePercent", "feeFixed", "allowPartialPayments"}


def test_a_fixed_fee_finer_than_agorot_is_a_clear_400(alice, alice_api, side):
    integration = connect_payments(alice, side.provider, side.credentials,
                                   entities=[("payment", side.remote_type, "export")])
    bad = alice_api.patch(f"/api/integrations/{integration.pk}", {"settings": {"feeFixed": "1.205"}}, format="json")
    assert bad.status_code == 400
    assert "אגורות" in bad.json()["error"]["fields"]["settings"]["feeFixed"][0]  # Hebrew first: "agorot"
    ok = alice_api.patch(f"/api/integrations/{integration.pk}", {"settings": {"feeFixed": "1.20"}}, format="json")
    assert ok.status_code == 200, ok.content


@pytest.mark.parametrize("reported", [1e20, -5, "abc", [1], None])
def test_an_unreadable_reported_amount_is_taken_as_the_whole_amount_never_a_500(alice, alice_api, reported, settings):
    settings.INTEGRATIONS_RATELIMIT_REDIS_URL = settings.CELERY_BROKER_URL
    # the result is authenticated (PayPlus' hash); only its amount is odd: the approval pays the page
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        payplus = PayPlus(rsps)
        integration, _, remote_id = _page(alice, payplus, "300.00", allowPartialPayments=True)
        payplus.pages[remote_id]["amount"] = reported
        assert payplus.callback(alice_api, integration, remote_id).status_code == 200
    [stored] = payments(alice)
    assert (stored.status, stored.amount_paid, stored.net_amount) == ("paid", Decimal("300.00"), Decimal("300.00"))
