"""Cardcom's adapter (API v11, https://secure.cardcom.solutions/api/v11/Docs): credentials
travel in the JSON body, not in headers. The low-profile (hosted payment page) flow:

- **Export** (``push_create``): ``POST /LowProfile/Create`` with ``TerminalNumber``,
  ``ApiName``, ``Operation: "ChargeOnly"``, ``Amount`` (major units, the Decimal's digits as a
  JSON number), ``ISOCoinId`` (ISO 4217 numeric: ILS 376, USD 840, EUR 978...),
  ``ProductName`` (the description), ``ReturnValue`` = the hub's id (Cardcom returns it with
  the result), ``WebHookUrl`` = the integration's own webhook URL and the redirect URLs
  (``SuccessRedirectUrl`` / ``FailedRedirectUrl``: the hub's public origin). The answer
  ``{"ResponseCode": 0, "LowProfileId": ..., "Url": ...}`` gives the remote id and the link
  written back to the payment (``paymentUrl``). ``ResponseCode`` other than 0 is an error
  (603: bad user/password -> ``CredentialsRefused``).
- **Import** (``hook_changes``): Cardcom's webhook is **unsigned**, so nothing in it is
  trusted: only the LowProfileId is read from it (v11 JSON ``LowProfileId``, or API 10's
  indicator query ``lowprofilecode``), and the result is asked of Cardcom
  (``POST /LowProfile/GetLpResult`` with the terminal's credentials). ``ResponseCode 0`` with
  a ``TranzactionId`` -> paid; otherwise the payment stays pending (a failed attempt). The
  amount charged is ``TranzactionInfo.Amount``: the integration's settings (partial
  payments, fees, notices) are applied to it by ``integrations.sync.payment_results``;
  Cardcom documents no partial-payment field on LowProfile/Create, so the page always asks
  for the whole amount. Applied to the linked
  payment only (a LowProfileId the hub did not make changes nothing); Cardcom may call more
  than once, and the same result applied twice changes nothing.
- No change feed: ``list_changes`` answers one empty, final page.

Unverified (see the catalog's maturity note): the field names above come from the v11
OpenAPI page and Cardcom's knowledge base as summarised in shared/reference/providers.md;
no sandbox was reachable here, the reports endpoints were not reviewed, refunds are not
synced, and the v11 webhook body's exact shape is not published beyond ``LowProfileId``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

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
)
from integrations.providers.common import field_mappings

#: ISO 4217 numeric codes (Cardcom's ISOCoinId) of the currencies the hub offers here.
ISO_NUMERIC = {"ILS": 376, "USD": 840, "EUR": 978, "GBP": 826, "JPY": 392, "CHF": 756, "CAD": 124, "AUD": 36}
BAD_CREDENTIALS = 603
LOW_PROFILE_MAPPING: list[dict[str, Any]] = field_mappings("payment", {"amount": "Amount",
                                                                       "currency": "hub_currency",
                                                                       "description": "ProductName",
                                                                       "status": "hub_status",
                                                                       "paymentUrl": "Url"})


class CardcomError(Exception):
    def __init__(self, what: str, response: Answer) -> None:
        body = response.data if isinstance(response.data, dict) else {}
        self.status = response.status
        self.code = body.get("ResponseCode")
        detail = str(body.get("Description") or "")[:200]
        super().__init__(f"Cardcom {what}: HTTP {self.status}, ResponseCode {self.code}"
                         + (f" ({detail})" if detail else ""))


class CardcomAdapter(HostedPaymentPages, PaymentSettings, ProviderAdapter):
    page_type = "LowProfile"
    page_mapping = LOW_PROFILE_MAPPING

    def push_create(self, client: Caller, *, container: str, record: Mapping[str, Any], hub_id: str) -> RemoteChange:
        currency = str(record.get("hub_currency") or "ILS").upper()
        if currency not in ISO_NUMERIC:
            raise ValueError(f"Cardcom: no ISOCoinId known for {currency[:3]}")
        origin = settings.PUBLIC_BASE_URL.rstrip("/")
        body: dict[str, Any] = {
            **_terminal(client), "Operation": "ChargeOnly", "Amount": json_amount(record.get("Amount")),
            "ISOCoinId": ISO_NUMERIC[currency], "ProductName": str(record.get("ProductName") or "")[:250],
            "ReturnValue": str(hub_id), "SuccessRedirectUrl": f"{origin}/", "FailedRedirectUrl": f"{origin}/",
        }
        if client.hook_url:
            body["WebHookUrl"] = client.hook_url
        response = client.request("POST", "/LowProfile/Create", json=body)
        data = _result(response, "LowProfile/Create")
        low_profile, url = data.get("LowProfileId"), data.get("Url")
        if not low_profile or not url:
            raise CardcomError("LowProfile/Create (no LowProfileId / Url)", response)
        return page_created(record, hub_id, low_profile, LowProfileId=low_profile, Url=url)

    def hook_changes(self, client: Caller, *, payload: Any,
                     query: Mapping[str, str]) -> tuple[str, tuple[RemoteChange, ...]] | None:
        low_profile = None
        if isinstance(payload, dict):
            low_profile = payload.get("LowProfileId") or payload.get("lowprofilecode")
        low_profile = low_profile or query.get("lowprofilecode") or query.get("LowProfileId")
        if not isinstance(low_profile, str) or not 0 < len(low_profile) <= 100:
            return ("LowProfile", ())
        response = client.request("POST", "/LowProfile/GetLpResult",
                                  json={**_terminal(client), "LowProfileId": low_profile}, idempotent=True)
        data = _result(response, "LowProfile/GetLpResult", allow_declined=True)
        paid = data.get("ResponseCode") == 0 and bool(data.get("TranzactionId"))
        info = data.get("TranzactionInfo") if isinstance(data.get("TranzactionInfo"), dict) else {}
        raw = {"hub_status": "paid" if paid else "pending", "TranzactionId": data.get("TranzactionId"),
               "ResponseCode": data.get("ResponseCode"),
               **payment_result("approved" if paid else "declined", info.get("Amount"),
                                f"{data.get('TranzactionId') or ''}:{data.get('ResponseCode')}")}
        return ("LowProfile", (RemoteChange(remote_id=low_profile, deleted=False, raw=raw,
                                            hub_id=str(data.get("ReturnValue") or "") or None),))


def _terminal(client: Caller) -> dict[str, Any]:
    values = client.values
    terminal = str(values.get("terminalNumber") or "")
    return {"TerminalNumber": int(terminal) if terminal.isdigit() else terminal, "ApiName": values.get("apiName") or ""}


def _result(response: Answer, what: str, *, allow_declined: bool = False) -> dict[str, Any]:
    body = response.data if isinstance(response.data, dict) else {}
    if response.status in (401, 403) or body.get("ResponseCode") == BAD_CREDENTIALS:
        raise CredentialsRefused("Cardcom refused the terminal's API name / password: reconnect Cardcom")
    if not response.ok or (body.get("ResponseCode") != 0 and not allow_declined):
        raise CardcomError(what, response)
    return body
