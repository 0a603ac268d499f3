"""PayPlus's adapter: the key pair as a JSON Authorization header; the test call is a
today-only transactions report, which changes nothing. And the payment link flow
(https://docs.payplus.co.il/reference/introduction):

- **Export** (``push_create``): a payment becomes a hosted payment page,
  ``POST /PaymentPages/generateLink`` with ``payment_page_uid`` (the credential field),
  ``charge_method: 1`` (charge), ``amount`` (major units: the Decimal written as a JSON number
  with its exact digits), ``currency_code``, ``more_info`` = the hub's id (echoed in the
  callback, so a lost link is found again), ``more_info_1`` = the description and
  ``refURL_callback`` = the integration's own webhook URL. The answer's
  ``data.page_request_uid`` is the remote id and ``data.payment_page_link`` the link the
  engine writes back to the payment (``paymentUrl``). A page cannot be changed or deleted
  through the API: ``push_update`` / ``push_delete`` change nothing there (an edited payment
  keeps its link).
- **Import** (``hook_changes``): PayPlus POSTs the transaction to ``refURL_callback`` signed
  with ``hash`` (verified by the ``payplus`` scheme with the secret key before this runs).
  ``transaction.payment_page_request_uid`` names the page; ``status_code "000"`` is an
  approved charge (-> paid), a ``Refund`` transaction -> refunded; anything else leaves the
  payment pending (the payer may try again). The record is applied to the linked payment
  only; a callback for a page the hub did not make changes nothing. ``transaction.amount``
  is the amount charged: the integration's settings (partial payments, fees, notices) are
  applied to it by ``integrations.sync.payment_results``. PayPlus documents no
  partial-payment field on generateLink: the page always asks for the whole amount.
- No change feed: ``list_changes`` answers one empty, final page (the callbacks are the feed).
- **Errors**: 401/403 -> ``CredentialsRefused``; PayPlus' envelope
  ``results.status != "success"`` or another non-2xx -> ``PayplusError`` (a failed item,
  retried with backoff by the export queue); 429 and 5xx are the client's (a create is not
  retried on 5xx: it is not idempotent at PayPlus).

Unverified (no sandbox here, see the catalog's maturity note): the callback's field names
follow PayPlus' IPN description and public integrations of it; the approval code ``"000"``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from integrations.providers._payments import (
    HostedPaymentPages,
    PaymentSettings,
    json_amount,
    page_created,
    payment_result,
)
from integrations.providers.adapter import (
    Answer,
    Caller,
    CredentialsRefused,
    ProviderAdapter,
    RemoteChange,
    TestCall,
)
from integrations.providers.common import AnswerError, field_mappings

APPROVED = "000"
PAYMENT_PAGE_MAPPING: list[dict[str, Any]] = field_mappings("payment", {"amount": "amount",
                                                                        "currency": "currency_code",
                                                                        "description": "more_info_1",
                                                                        "status": "hub_status",
                                                                        "paymentUrl": "payment_page_link"})


class PayplusError(AnswerError):
    provider = "PayPlus"

    def __init__(self, what: str, response: Answer) -> None:
        results = (response.data or {}).get("results") if isinstance(response.data, dict) else None
        results = results if isinstance(results, dict) else {}
        super().__init__(what, response.status, str(results.get("description") or "")[:200])


class PayplusAdapter(HostedPaymentPages, PaymentSettings, ProviderAdapter):
    page_type = "payment_page"
    page_mapping = PAYMENT_PAGE_MAPPING

    def credential_headers(self, values: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": json.dumps({"api_key": values.get("apiKey", ""),
                                             "secret_key": values.get("secretKey", "")})}

    def test_call(self, values: Mapping[str, Any]) -> TestCall | None:
        call = super().test_call(values)
        if call is None:
            return None
        today = timezone.localdate().isoformat()
        body = {"terminal_uid": values.get("terminalUid") or "", "fromDate": today, "untilDate": today}
        return TestCall(call.method, call.path, {"json": body, "idempotent": True})

    def hook_secrets(self, values: Mapping[str, Any]) -> list[str]:
        return [str(values["secretKey"])] if values.get("secretKey") else []

    # ------------------------------------------------------------------ export: payment pages
    def push_create(self, client: Caller, *, container: str, record: Mapping[str, Any], hub_id: str) -> RemoteChange:
        page_uid = client.values.get("paymentPageUid")
        body: dict[str, Any] = {
            "payment_page_uid": page_uid or "", "charge_method": 1, "amount": json_amount(record.get("amount")),
            "currency_code": str(record.get("currency_code") or "ILS"), "more_info": str(hub_id),
            "more_info_1": str(record.get("more_info_1") or ""), "sendEmailApproval": False,
            "sendEmailFailure": False,
        }
        if client.hook_url:
            body["refURL_callback"] = client.hook_url
        response = client.request("POST", "/PaymentPages/generateLink", json=body)
        data = _data(response, "payment page")
        uid, link = data.get("page_request_uid"), data.get("payment_page_link")
        if not uid or not link:
            raise PayplusError("payment page (no page_request_uid / payment_page_link)", response)
        return page_created(record, hub_id, uid, page_request_uid=uid, payment_page_link=link)

    # ------------------------------------------------------------------ import: callbacks
    def hook_changes(self, client: Caller, *, payload: Any,
                     query: Mapping[str, str]) -> tuple[str, tuple[RemoteChange, ...]] | None:
        transaction = payload.get("transaction") if isinstance(payload, dict) else None
        if not isinstance(transaction, dict):
            return ("payment_page", ())
        uid = transaction.get("payment_page_request_uid")
        if not isinstance(uid, str) or not uid:
            return ("payment_page", ())
        kind = str(payload.get("transaction_type") or transaction.get("type") or "")
        approved = str(transaction.get("status_code")) == APPROVED
        refund = approved and kind.lower() == "refund"
        status = "refunded" if refund else "paid" if approved else "pending"
        raw = {"hub_status": status, "transaction_uid": transaction.get("uid"),
               "status_code": transaction.get("status_code"), "transaction_type": kind,
               **payment_result("refunded" if refund else "approved" if approved else "declined",
                                transaction.get("amount"),
                                f"{transaction.get('uid') or ''}:{transaction.get('status_code') or ''}")}
        return ("payment_page", (RemoteChange(remote_id=uid, deleted=False, raw=raw,
                                              hub_id=str(transaction.get("more_info") or "") or None),))


def _data(response: Answer, what: str) -> dict[str, Any]:
    if response.status in (401, 403):
        raise CredentialsRefused("PayPlus refused the API key / secret key: reconnect PayPlus")
    body = response.data if isinstance(response.data, dict) else {}
    results = body.get("results") if isinstance(body.get("results"), dict) else {}
    if not response.ok or results.get("status") != "success":
        raise PayplusError(what, response)
    return body.get("data") if isinstance(body.get("data"), dict) else {}
