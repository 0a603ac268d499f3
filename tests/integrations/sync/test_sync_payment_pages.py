"""PayPlus and Cardcom through the sync engine (issue 15 items 3-5): a payment is exported as a
hosted payment page / low-profile link, the link is written back to the payment and shown
in its API representation (``paymentUrl``); the provider's callback at the integration's URL
(PayPlus signed with ``hash``, Cardcom unsigned and re-queried) marks the linked payment paid,
the same callback twice changes nothing, a bad signature changes nothing, errors map to
expired / failed items; end to end through the real sync worker.

Provider answers (``responses``) are shaped as documented:
- PayPlus ``POST /PaymentPages/generateLink`` -> ``{"results": {"status", "code",
  "description"}, "data": {"page_request_uid", "payment_page_link", "qr_code_image"}}``
  (https://docs.payplus.co.il/reference/post_paymentpages-generatelink); the callback to
  ``refURL_callback`` -> ``{"transaction_type", "transaction": {"uid",
  "payment_page_request_uid", "status_code": "000", "amount", "currency", "more_info", ...},
  "data": {...}}`` with ``hash: base64(HMAC-SHA256(secret_key, body))``
  (https://docs.payplus.co.il/reference/validate-requests-received-from-payplus). The
  callback's field names are the least certain part (see the catalog's maturity note).
- Cardcom v11 ``POST /api/v11/LowProfile/Create`` -> ``{"ResponseCode": 0, "Description",
  "LowProfileId", "Url"}`` and ``POST /api/v11/LowProfile/GetLpResult`` -> ``{"ResponseCode",
  "LowProfileId", "TranzactionId", "ReturnValue", "TranzactionInfo": {...}}``
  (https://secure.cardcom.solutions/api/v11/Docs); its webhook is unsigned.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal

import pytest
import responses

from core.tenant_context import tenant_scope
from entities.models import EntityEvent, Payment
from entities.services import entity_create
from integrations.models import IntegrationLog
from tests.support.payments import connect_payments, payments
from tests.support.sync_runs import drain_entity_events, links, reload, run_sync
from tests.support.waiting import wait_until

PAYPLUS = "https://restapi.payplus.co.il/api/v1.0"
CARDCOM = "https://secure.cardcom.solutions/api/v11"
SECRET = "payplus-secret-key-0123456789"


class PayPlus:
    provider, remote_type = "payplus", "payment_page"
    credentials = {"apiKey": "pp-api-key", "secretKey": SECRET, "paymentPageUid": "page-uid-1"}

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.rsps, self.pages, self.busy = rsps, {}, []
        rsps.add_callback(responses.POST, f"{PAYPLUS}/PaymentPages/generateLink", callback=self._generate)

    def _generate(self, request):
        if self.busy:  # an overloaded provider: 429 (Retry-After) or 5xx, once each
            return self.busy.pop(0), {"Retry-After": "0"}, json.dumps({"results": {"status": "error"}})
        body = json.loads(request.body)
        uid = f"5c7a0f3e-0000-4000-8000-{len(self.pages):012d}"
        self.pages[uid] = body
        return 200, {}, json.dumps({"results": {"status": "success", "code": 0,
                                                "description": "payment page link is been generated"},
                                    "data": {"page_request_uid": uid,
                                             "payment_page_link": f"https://payments.payplus.co.il/{uid}",
                                             "qr_code_image": f"https://restapi.payplus.co.il/qr/{uid}.png"}})

    def sent(self) -> list[dict]:
        return list(self.pages.values())

    def callback(self, api, integration, uid: str, *, approved: bool = True, secret: str = SECRET):
        page = self.pages[uid]
        body = json.dumps({
            "transaction_type": "Charge",
            "transaction": {"uid": "9a1b2c3d-1111-4222-8333-444455556666", "payment_page_request_uid": uid,
                            "number": "PP-0001", "type": "Charge", "date": "2026-12-03 10:00:00",
                            "status_code": "000" if approved else "003", "amount": page["amount"],
                            "currency": page["currency_code"], "more_info": page["more_info"],
                            "approval_number": "0123456"},
            "data": {"customer_uid": "c-1", "terminal_uid": "t-1",
                     "card_information": {"four_digits": "4242", "brand_id": 1}},
        }, ensure_ascii=False)
        digest = base64.b64encode(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()).decode()
        return api.post(f"/api/integrations/hooks/{integration.pk}", data=body, content_type="application/json",
                        HTTP_HASH=digest, HTTP_USER_AGENT="PayPlus")

    def fail_next(self, status: int) -> None:
        self.rsps.replace(responses.POST, f"{PAYPLUS}/PaymentPages/generateLink", status=status,
                          json={"results": {"status": "error", "code": 1, "description": "refused"}})


class Cardcom:
    provider, remote_type = "cardcom", "LowProfile"
    credentials = {"terminalNumber": "1000", "apiName": "test2025", "apiPassword": "pw"}

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.rsps, self.pages, self.results, self.busy = rsps, {}, {}, []
        rsps.add_callback(responses.POST, f"{CARDCOM}/LowProfile/Create", callback=self._create)
        rsps.add_callback(responses.POST, f"{CARDCOM}/LowProfile/GetLpResult", callback=self._result)

    def _create(self, request):
        if self.busy:
            return self.busy.pop(0), {"Retry-After": "0"}, json.dumps({"ResponseCode": -1})
        body = json.loads(request.body)
        lp = f"3a9b0e3c-0000-4000-8000-{len(self.pages):012d}"
        self.pages[lp] = body
        return 200, {}, json.dumps({"ResponseCode": 0, "Description": "OK", "LowProfileId": lp,
                                    "Url": f"https://secure.cardcom.solutions/EA/LPC6/1000/{lp}",
                                    "UrlToPayPal": None, "UrlToBit": None})

    def _result(self, request):
        lp = json.loads(request.body)["LowProfileId"]
        return 200, {}, json.dumps(self.results.get(lp, {"ResponseCode": 0, "Description": "", "LowProfileId": lp,
                                                         "TranzactionId": 0, "ReturnValue": None}))

    def sent(self) -> list[dict]:
        return list(self.pages.values())

    def callback(self, api, integration, lp: str, *, approved: bool = True, secret: str = ""):
        page = self.pages[lp]
        if approved:
            self.results[lp] = {"ResponseCode": 0, "Description": "", "TerminalNumber": 1000, "LowProfileId": lp,
                                "TranzactionId": 123456, "ReturnValue": page["ReturnValue"],
                                "Operation": "ChargeOnly",
                                "TranzactionInfo": {"ResponseCode": 0, "TranzactionId": 123456,
                                                    "Amount": page["Amount"], "CoinId": 1}}
        # The webhook's own claims are never read: only its LowProfileId.
        return api.post(f"/api/integrations/hooks/{integration.pk}", content_type="application/json",
                        data=json.dumps({"LowProfileId": lp, "ResponseCode": 0, "TranzactionId": 999}))

    def fail_next(self, status: int) -> None:
        self.rsps.replace(responses.POST, f"{CARDCOM}/LowProfile/Create", status=status,
                          json={"ResponseCode": 5033, "Description": "refused"})


@pytest.fixture(params=[PayPlus, Cardcom], ids=["payplus", "cardcom"])
def side(request, settings):
    settings.INTEGRATIONS_RATELIMIT_REDIS_URL = settings.CELERY_BROKER_URL
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield request.param(rsps)


def _connect(alice, side, **kwargs):
    return connect_payments(alice, side.provider, side.credentials,
                            entities=[("payment", side.remote_type, "export")], **kwargs)


def _new_payment(alice, amount: str = "1500.50", description: str = "Design fee, stage 2") -> Payment:
    with tenant_scope(alice.tenant.id):
        payment = entity_create(tenant=alice.tenant, entity_type="payment", source="api",
                                data={"amount": amount, "currency": "ILS", "description": description})
    drain_entity_events(str(alice.tenant.id))
    return payment


@pytest.mark.django_db(transaction=True)  # the hook endpoint finds its integration on the operator connection
def test_a_payment_becomes_a_link_on_the_payment_and_the_callback_marks_it_paid_once(alice, alice_api, side):
    integration = _connect(alice, side)
    payment = _new_payment(alice)

    entry = run_sync(integration)

    assert entry.summary["created"] == 1, entry.failed_items
    [sent] = side.sent()
    amount = sent.get("amount", sent.get("Amount"))
    assert Decimal(str(amount)) == Decimal("1500.50")
    assert (sent.get("more_info") or sent.get("ReturnValue")) == str(payment.pk)
    assert (sent.get("refURL_callback") or sent.get("WebHookUrl")).endswith(f"/api/integrations/hooks/{integration.pk}")
    [link] = links(integration)
    shown = alice_api.get(f"/api/payments/{payment.pk}").json()
    assert shown["paymentUrl"].endswith(link.remote_id) and shown["status"] == "pending"

    # when the provider calls back with an approved charge
    response = side.callback(alice_api, integration, link.remote_id)
    assert response.status_code == 200 and response.json()["applied"] == 1, response.content
    assert [p.status for p in payments(alice)] == ["paid"]

    # and calls back again with the same result: nothing changes
    with tenant_scope(alice.tenant.id):
        events, updated = EntityEvent.objects.count(), Payment.objects.get(pk=payment.pk).updated_at
    assert side.callback(alice_api, integration, link.remote_id).json()["applied"] == 0
    with tenant_scope(alice.tenant.id):
        assert (EntityEvent.objects.count(), Payment.objects.get(pk=payment.pk).updated_at) == (events, updated)
    # and the export did not echo the write-back or the status to the provider
    run_sync(integration)
    assert len(side.sent()) == 1


@pytest.mark.django_db(transaction=True)
def test_a_declined_charge_leaves_the_payment_pending_and_a_callback_for_an_unknown_page_changes_nothing(
        alice, alice_api, side):
    integration = _connect(alice, side)
    _new_payment(alice)
    run_sync(integration)
    [link] = links(integration)

    assert side.callback(alice_api, integration, link.remote_id, approved=False).status_code == 200
    assert [p.status for p in payments(alice)] == ["pending"]


@pytest.mark.django_db(transaction=True)
def test_auto_update_payment_status_off_records_the_callback_without_changing_the_status(alice, alice_api, side):
    integration = _connect(alice, side, settings={"autoUpdatePaymentStatus": False})
    _new_payment(alice)
    run_sync(integration)
    [link] = links(integration)

    assert side.callback(alice_api, integration, link.remote_id).json()["applied"] == 0
    assert [p.status for p in payments(alice)] == ["pending"]


@pytest.mark.django_db(transaction=True)
def test_a_payplus_callback_with_a_bad_hash_is_refused(alice, alice_api):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        payplus = PayPlus(rsps)
        integration = _connect(alice, payplus)
        _new_payment(alice)
        run_sync(integration)
        [link] = links(integration)
        assert payplus.callback(alice_api, integration, link.remote_id, secret="not-the-key").status_code == 401
    assert [p.status for p in payments(alice)] == ["pending"]


@pytest.mark.django_db
def test_a_refused_link_is_a_failed_item_that_stays_queued_and_refused_credentials_expire(alice, side):
    # 4xx -> a failed item (the row stays queued, with backoff); 401 -> the integration expires
    integration = _connect(alice, side)
    _new_payment(alice)
    side.fail_next(400)

    entry = run_sync(integration)
    assert entry.status == "partial" and entry.summary["failed"] == 1
    assert links(integration) == []
    with tenant_scope(alice.tenant.id):
        [row] = integration.pending_exports.all()
    assert row.attempts == 1 and row.next_attempt_at is not None

    side.fail_next(401)
    with tenant_scope(alice.tenant.id):
        integration.pending_exports.update(next_attempt_at=None)
    entry = run_sync(integration)
    assert entry.error_code == "provider_expired" and "reconnect" in entry.failed_items[0]["error"]
    assert reload(integration).status == "expired"


@pytest.mark.django_db
def test_settings_are_the_seeds_payment_provider_config(alice, alice_api, side):
    integration = _connect(alice, side)
    ok = alice_api.patch(f"/api/integrations/{integration.pk}", {"settings": {
        "currency": "USD", "allowPartialPayments": True, "feePercent": 2.5, "feeFixed": "1.20",
        "autoUpdatePaymentStatus": True, "autoRecordTransaction": False, "notifyOnPayment": False,
        "notifyOnFailure": True}}, format="json")
    assert ok.status_code == 200, ok.content
    assert reload(integration).settings["feePercent"] == 2.5
    bad = alice_api.patch(f"/api/integrations/{integration.pk}", {"settings": {
        "currency": "shekel", "feePercent": 101, "notifyOnPayment": "yes", "colour": "red"}}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]["settings"]) == {"currency", "feePercent", "notifyOnPayment", "colour"}
    assert reload(integration).settings["currency"] == "USD"  # a refused PATCH changes nothing


@pytest.mark.django_db(transaction=True)
def test_end_to_end_a_realtime_payment_gets_its_link_on_the_sync_worker_and_the_callback_pays_it(
        alice, alice_api, side, sync_worker):
    integration = _connect(alice, side, frequency="realtime")
    created = alice_api.post("/api/payments", {"amount": "980.00", "currency": "ILS",
                                               "description": "Consultation"}, format="json")
    assert created.status_code == 201, created.content
    pid = created.json()["id"]

    def link_shown():
        return alice_api.get(f"/api/payments/{pid}").json().get("paymentUrl")

    url = wait_until(link_shown, timeout=20, what="the payment link on the payment")
    [link] = links(integration)
    assert url.endswith(link.remote_id)
    assert side.callback(alice_api, integration, link.remote_id).status_code == 200
    assert alice_api.get(f"/api/payments/{pid}").json()["status"] == "paid"
    with tenant_scope(alice.tenant.id):
        assert IntegrationLog.objects.filter(integration=integration, action="import", status="success").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("status", [429, 503])
def test_a_429_is_waited_out_and_a_5xx_on_a_create_is_retried_later_not_at_once(alice, side, status, monkeypatch):
    # a create is not idempotent at the provider: 5xx is not retried within the call (a second
    # page could be made), the row stays queued with backoff; 429 is waited out and retried
    monkeypatch.setattr("integrations.client.time.sleep", lambda s: None)
    integration = _connect(alice, side)
    _new_payment(alice)
    path = "PaymentPages/generateLink" if side.provider == "payplus" else "LowProfile/Create"
    side.busy.append(status)

    entry = run_sync(integration)

    calls = [c for c in side.rsps.calls if c.request.url.endswith(path)]
    if status == 429:
        assert entry.summary["created"] == 1 and len(calls) == 2  # the 429, then the retry that worked
    else:
        assert entry.summary["failed"] == 1 and len(calls) == 1 and links(integration) == []
