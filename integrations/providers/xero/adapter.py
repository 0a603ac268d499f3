"""Xero's adapter: the base behaviour (Bearer OAuth token, the entry's test call) plus the sync
seam against the Accounting API (``/api.xro/2.0``), every accounting call with the
``Xero-tenant-id`` of the organisation the tenant chose (``settings.organisationId``; when the
connection reaches a single organisation, that one). Organisations are listed from
``GET /connections`` right after connect (``list_containers``; integrations.discovery keeps
them in ``settings.organisations``), so a user with several picks one on the settings page.
https://developer.xero.com/documentation/guides/oauth2/auth-flow/#5-check-the-tenants-youre-authorized-to-access

What is supported, and how:

- **Containers** (``pair_containers``): ``Contacts`` for clients, ``Contacts[supplier]`` for
  suppliers (export only: Xero marks a contact as a supplier only once it has a bill, so an
  import could not tell them apart), ``Invoices[ACCREC]`` for payments (sales invoices),
  ``Invoices[ACCPAY]`` for expenses (bills, export only).
- **Changes** (``list_changes``): ``GET /Contacts`` or ``/Invoices`` (``where=Type=="..."``),
  ``page=n`` (100 a page; a shorter page is the last), ``order=UpdatedDateUTC ASC``, with
  ``If-Modified-Since`` from the cursor (the largest ``UpdatedDateUTC`` Xero returned, never the
  local clock): https://developer.xero.com/documentation/api/accounting/requests-and-responses .
  ARCHIVED contacts and DELETED / VOIDED invoices are removals. The client listing leaves out
  contacts that are suppliers only (``IsSupplier`` and not ``IsCustomer``). A 400 for a cursor
  raises ``CursorInvalid``.
- **Writes** carry an ``Idempotency-Key`` (derived from the hub id for creates, from the object,
  its version and the body for updates; Xero replays the first answer of a repeated key:
  https://developer.xero.com/documentation/guides/idempotent-requests/idempotency/), so the
  client retries them after a 5xx. Xero has no conditional write: an update first reads the
  object and compares its ``UpdatedDateUTC`` with the version the hub holds (a difference is a
  ``VersionConflict``, merged by the engine) -- a read-compare-write with a small window,
  stated as such. Deletes: contacts are archived; invoices DELETED (drafts) or VOIDED (once
  authorised).
- **Completion** (settings, seed section ג): invoices and bills get ``Type``, a number
  (``invoicePrefix`` + hub id digits), ``Date``/``DueDate`` (``defaultPaymentTerms``), currency,
  ``Status: DRAFT`` and one line with ``LineAmountTypes: Inclusive``: the gross amount, the tax
  ``defaultTaxRate`` implies (Decimal, to the cent) and the ledger ``AccountCode``
  (``accountMappings.revenue``, or for a bill the expense's category, else ``expenses``).
- **Dates**: Xero's JSON dates (``/Date(1573755038314+0000)/``) are given to the mappings as ISO
  text (``UpdatedDateUTC``, ``Date``, ``DueDate``).
- **Errors**: 401 -> one refresh, then ``expired``; 429 -> the client waits ``Retry-After``
  (Xero: 60 calls/min, 5,000/day per organisation); 5xx -> retried; another 4xx -> ``XeroError``
  with Xero's validation message (one failed item).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

from django.utils.translation import gettext as _

from integrations.providers._accounting import (
    STATUS_RULE,
    AccountingSettings,
    account_for,
    amount_transform,
    document_number,
    invoice_settings,
    money,
    payment_state,
    split_gross,
    tax_rate,
    with_payment_status,
    without_amounts_when_paid,
)
from integrations.providers.adapter import (
    Answer,
    Caller,
    ChangePage,
    Container,
    CursorInvalid,
    PageSetting,
    ProviderAdapter,
    RemoteChange,
    VersionConflict,
    cursor_state,
    cursor_text,
)
from integrations.providers.common import field_mappings, link

API = "/api.xro/2.0"
PAGE_SIZE = 100  # Xero's page
MAX_ORGANISATIONS = 50
CONTAINERS = {"Contact": "Contacts", "Contact[supplier]": "Contacts[supplier]",
              "Invoice[ACCREC]": "Invoices[ACCREC]", "Invoice[ACCPAY]": "Invoices[ACCPAY]"}
CATEGORY_KEY = "_category"
#: What an update of a sales invoice Xero says is PAID never sends.
PAID_INVOICE_KEEPS = ("LineItems", "LineAmountTypes", "Status", "Total", "AmountDue", "AmountPaid")
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")

AMOUNT = amount_transform("CurrencyCode")
_CONTACT = {"name": "Name", "email": "EmailAddress", "phone": "Phones[0].PhoneNumber"}
DEFAULT_MAPPINGS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("client", "Contact"): field_mappings("client", {**_CONTACT, "address": "Addresses[0].AddressLine1"}),
    ("supplier", "Contact[supplier]"): field_mappings("supplier", _CONTACT),
    ("payment", "Invoice[ACCREC]"): field_mappings(
        "payment", {"currency": "CurrencyCode", "amount": "Total", "dueDate": "DueDate", "description": "Reference",
                    "clientId": "Contact.ContactID"},
        amount=AMOUNT, clientId=link("client")) + [STATUS_RULE],
    ("expense", "Invoice[ACCPAY]"): field_mappings(
        "expense", {"currency": "CurrencyCode", "amount": "Total", "expenseDate": "Date", "description": "Reference",
                    "category": CATEGORY_KEY, "supplierId": "Contact.ContactID"},
        amount=AMOUNT, supplierId=link("supplier")),
}


class XeroError(Exception):
    """An answer the sync cannot use: status and Xero's message (no token, no URL)."""

    def __init__(self, what: str, response: Answer | None = None, *, message: str = "") -> None:
        self.status = response.status if response is not None else None
        detail = message or (_problem(response) if response is not None else "")
        super().__init__(f"Xero {what}" + (f": HTTP {self.status}" if self.status else "")
                         + (f" ({detail})" if detail else ""))


def _organisation_errors(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_ORGANISATIONS:
        return [_("must be a list of at most %(n)s organisations") % {"n": MAX_ORGANISATIONS}]
    for item in value:
        if (not isinstance(item, dict) or set(item) - {"organisationId", "organisationName"}
                or not isinstance(item.get("organisationId"), str) or not item["organisationId"]
                or len(item["organisationId"]) > 100 or not isinstance(item.get("organisationName", ""), str)
                or len(item.get("organisationName", "")) > 200):
            return [_("each organisation is {organisationId, organisationName} (strings)")]
    return []


def _organisation_id_errors(value: Any) -> list[str]:
    if value is None or (isinstance(value, str) and 0 < len(value) <= 100):
        return []
    return [_("must be the id of one of the connection's organisations (Xero tenant id), or null")]


class XeroAdapter(AccountingSettings, ProviderAdapter):
    EXTRA_KEYS = {"organisations": _organisation_errors, "organisationId": _organisation_id_errors}
    EXTRA_DEFAULTS = {"organisations": [], "organisationId": None}
    page_settings = (PageSetting("organisationId", "pick", "organisations", blank=None),)

    def setting_choices(self, client: Caller, source: str, settings: Mapping[str, Any]) -> list[Container]:
        """The organisations kept at connect (``settings.organisations``); none kept: ``GET /connections``."""
        if source != "organisations":
            return super().setting_choices(client, source, settings)
        listed = [o for o in settings.get("organisations") or [] if isinstance(o, dict) and o.get("organisationId")]
        if listed:
            return [Container(id=str(o["organisationId"]), name=str(o.get("organisationName") or o["organisationId"]))
                    for o in listed]
        return self.list_containers(client)

    def settings_errors(self, value: Mapping[str, Any]) -> dict[str, list[str]]:
        errors = super().settings_errors(value)
        chosen, listed = value.get("organisationId"), value.get("organisations")
        if chosen and isinstance(listed, list) and listed and "organisationId" not in errors and not any(
                isinstance(o, dict) and o.get("organisationId") == chosen for o in listed):
            errors["organisationId"] = [_("is not one of the organisations this connection reaches")]
        return errors

    # ------------------------------------------------------------------ connection
    def settings_values(self, settings: Mapping[str, Any]) -> dict[str, str]:
        chosen = (settings or {}).get("organisationId")
        listed = [o for o in (settings or {}).get("organisations") or [] if isinstance(o, dict)]
        if not chosen and len(listed) == 1:
            chosen = listed[0].get("organisationId")
        return {"xeroTenantId": str(chosen)} if chosen else {}

    def auth_headers(self, values: Mapping[str, Any], access_token: str | None) -> dict[str, str]:
        headers = super().auth_headers(values, access_token)
        if values.get("xeroTenantId"):
            headers["Xero-tenant-id"] = str(values["xeroTenantId"])
        return headers

    def notified_accounts(self, payload: Any) -> set[str] | None:
        """``events[].tenantId`` of a Xero webhook
        (https://developer.xero.com/documentation/guides/webhooks/overview/)."""
        events = payload.get("events") if isinstance(payload, dict) else None
        found = {str(e["tenantId"]) for e in events or [] if isinstance(e, dict) and e.get("tenantId")}
        return found or None

    def account_of(self, values: Mapping[str, Any]) -> str | None:
        return str(values.get("xeroTenantId") or "") or None

    def list_containers(self, client: Caller) -> list[Container]:
        """The organisations (tenants) this token reaches: ``GET /connections``."""
        response = client.request("GET", "/connections")
        if not response.ok:
            raise XeroError("connections", response)
        found = [c for c in response.data or [] if isinstance(c, dict) and c.get("tenantId")
                 and c.get("tenantType", "ORGANISATION") == "ORGANISATION"]
        return [Container(id=str(c["tenantId"]), name=str(c.get("tenantName") or c["tenantId"]),
                          primary=len(found) == 1, raw=c) for c in found]

    def pair_containers(self, remote_type: str) -> tuple[str, ...] | None:
        return (CONTAINERS[remote_type],) if remote_type in CONTAINERS else None

    def default_mappings(self, local_type: str, remote_type: str) -> list[dict[str, Any]]:
        return copy.deepcopy(DEFAULT_MAPPINGS.get((local_type, remote_type), []))

    # ------------------------------------------------------------------ changes
    def list_changes(self, client: Caller, *, container: str, cursor: str | None) -> ChangePage:
        kind, path, where = _container(container)
        state = _decode(cursor)
        page = int(state.get("page", 1))
        params: dict[str, Any] = {"page": page, "order": "UpdatedDateUTC ASC"}
        if where:
            params["where"] = where
        headers = {}
        since = state.get("since")
        if since:
            headers["If-Modified-Since"] = format_datetime(datetime.fromisoformat(since).astimezone(UTC), usegmt=True)
        response = client.request("GET", f"{API}/{path}", params=params, headers=headers)
        if response.status == 400 and cursor:
            raise CursorInvalid(f"Xero refused the stored position ({_problem(response)})")
        if response.status == 403:  # no or an unknown Xero-tenant-id (several organisations, none chosen yet)
            raise XeroError(f"{path} listing", response, message="Xero refused the organisation: choose it in the "
                            "settings (organisationId) or reconnect")
        if not response.ok:
            raise XeroError(f"{path} listing", response)
        items = [i for i in (response.data or {}).get(path) or [] if isinstance(i, dict)] \
            if isinstance(response.data, dict) else []
        changes = [_change(kind, item) for item in items]
        newest = max([c.modified_at for c in changes if c.modified_at] + ([datetime.fromisoformat(since)] if since else []),
                     default=None)
        mark = state.get("mark") or (newest.isoformat() if newest else since)
        if newest and (not state.get("mark") or newest > datetime.fromisoformat(state["mark"])):
            mark = newest.isoformat()
        if kind == "client":  # a supplier only is not a client
            changes = [c for c in changes if c.deleted or not (c.raw.get("IsSupplier") and not c.raw.get("IsCustomer"))]
        if len(items) >= PAGE_SIZE:
            return ChangePage(tuple(changes), _encode(since=since, page=page + 1, mark=mark), done=False)
        return ChangePage(tuple(changes), _encode(since=mark), done=True)

    # ------------------------------------------------------------------ writes
    def push_create(self, client: Caller, *, container: str, record: Mapping[str, Any], hub_id: str) -> RemoteChange:
        kind, path, _ = _container(container)
        return self._write(client, kind, path, f"{API}/{path}", _outgoing(record), key=f"create-{hub_id}",
                           what="create")

    def push_update(self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
                    version: str | None) -> RemoteChange:
        kind, path, _ = _container(container)
        current = self._read(client, kind, path, remote_id)
        if version is not None and current.version != version:
            raise VersionConflict(f"{path} {remote_id} changed in Xero since it was read (UpdatedDateUTC)")
        body = _outgoing(record)
        if kind == "payment":  # a PAID invoice keeps its lines and status (Xero refuses, and they are its)
            without_amounts_when_paid(body, current.raw, PAID_INVOICE_KEEPS)
        return self._write(client, kind, path, f"{API}/{path}/{quote(remote_id, safe='')}", body,
                           key=_key("update", remote_id, current.version, body), what="update")

    def push_delete(self, client: Caller, *, container: str, remote_id: str, version: str | None) -> None:
        kind, path, _ = _container(container)
        try:
            current = self._read(client, kind, path, remote_id)
        except XeroError as exc:
            if exc.status == 404:
                return
            raise
        if current.deleted:
            return
        if version is not None and current.version != version:
            raise VersionConflict(f"{path} {remote_id} changed in Xero since it was read (UpdatedDateUTC)")
        url = f"{API}/{path}/{quote(remote_id, safe='')}"
        if kind in ("client", "supplier"):
            statuses = [{"ContactStatus": "ARCHIVED"}]
        else:
            statuses = [{"Status": "DELETED"}, {"Status": "VOIDED"}]  # a draft is deleted; an authorised one voided
        for body in statuses:
            try:
                self._write(client, kind, path, url, body, key=_key("delete", remote_id, current.version, body),
                            what="delete")
                return
            except XeroError as exc:
                if exc.status != 400 or body is statuses[-1]:
                    raise

    def _write(self, client: Caller, kind: str, path: str, url: str, body: dict[str, Any], *, key: str,
               what: str) -> RemoteChange:
        envelope = path.split("[")[0]
        response = client.request("POST", url, json={envelope: [body]}, headers={"Idempotency-Key": key[:128]},
                                  idempotent=True)
        if not response.ok:
            raise XeroError(f"{path} {what}", response)
        items = (response.data or {}).get(envelope) if isinstance(response.data, dict) else None
        if not items:
            raise XeroError(f"{path} {what}", response, message="the answer holds no record")
        return _change(kind, items[0])

    def _read(self, client: Caller, kind: str, path: str, remote_id: str) -> RemoteChange:
        envelope = path.split("[")[0]
        response = client.request("GET", f"{API}/{envelope}/{quote(remote_id, safe='')}")
        if not response.ok:
            raise XeroError(f"{path} read", response)
        items = (response.data or {}).get(envelope) if isinstance(response.data, dict) else None
        if not items:
            raise XeroError(f"{path} read", response, message="not found")
        return _change(kind, items[0])

    # ------------------------------------------------------------------ settings -> record
    def complete_record(self, record: Mapping[str, Any], *, local_type: str, remote_type: str,
                        settings: Mapping[str, Any], hub_id: str, create: bool) -> dict[str, Any]:
        body = copy.deepcopy(dict(record))
        category = body.pop(CATEGORY_KEY, None)
        for phone in body.get("Phones") or []:
            if isinstance(phone, dict):
                phone.setdefault("PhoneType", "DEFAULT")
        for address in body.get("Addresses") or []:
            if isinstance(address, dict):
                address.setdefault("AddressType", "POBOX")
        if remote_type not in ("Invoice[ACCREC]", "Invoice[ACCPAY]"):
            return body
        options = invoice_settings(settings)
        sales = remote_type == "Invoice[ACCREC]"
        body["Type"] = "ACCREC" if sales else "ACCPAY"
        body.setdefault("CurrencyCode", options.get("currency") or "ILS")
        if create:
            body.setdefault("Status", "DRAFT")
            body["InvoiceNumber"] = document_number(settings, hub_id, limit=255)
            body.setdefault("Date", date.today().isoformat())
            if not body.get("DueDate"):
                terms = int(options.get("defaultPaymentTerms") or 0)
                body["DueDate"] = (date.fromisoformat(str(body["Date"])[:10]) + timedelta(days=terms)).isoformat()
        gross = body.pop("Total", None)
        if gross is None:
            return body
        _, tax = split_gross(gross, tax_rate(settings))
        account = account_for(settings, category=None if sales else (str(category) if category else None),
                              kind="revenue" if sales else "expenses")
        line: dict[str, Any] = {"Description": str(body.get("Reference") or "")[:4000] or "-", "Quantity": 1,
                                "UnitAmount": str(money(gross)), "TaxAmount": str(tax)}
        if account:
            line["AccountCode"] = account
        body["LineItems"] = [line]
        body["LineAmountTypes"] = "Inclusive"
        return body


# ---------------------------------------------------------------------- helpers
def _container(container: str) -> tuple[str, str, str | None]:
    """(kind, path, where) of a container."""
    if container == "Contacts":
        return "client", "Contacts", None
    if container == "Contacts[supplier]":
        return "supplier", "Contacts", None
    if container == "Invoices[ACCREC]":
        return "payment", "Invoices", 'Type=="ACCREC"'
    if container == "Invoices[ACCPAY]":
        return "expense", "Invoices", 'Type=="ACCPAY"'
    raise CursorInvalid(f"{container[:40]!r} is not a Xero collection this hub syncs")


def _encode(**values: Any) -> str:
    return cursor_text(**values)


def _decode(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {}
    data = cursor_state(cursor, "Xero")
    try:
        if set(data) - {"since", "page", "mark"}:
            raise ValueError
        for key in ("since", "mark"):
            if key in data:
                datetime.fromisoformat(data[key])
        if "page" in data and (not isinstance(data["page"], int) or isinstance(data["page"], bool) or data["page"] < 1):
            raise ValueError
    except (ValueError, TypeError):
        raise CursorInvalid("not a Xero cursor") from None
    return data


def ms_date(value: Any) -> datetime | None:
    """Xero's ``/Date(1573755038314+0000)/`` (or ISO text) as an aware datetime."""
    if not isinstance(value, str):
        return None
    m = _MS_DATE.match(value)
    if m:
        return datetime.fromtimestamp(int(m.group(1)) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _change(kind: str, item: Mapping[str, Any]) -> RemoteChange:
    raw = dict(item)
    modified = ms_date(raw.get("UpdatedDateUTC"))
    if modified:
        raw["UpdatedDateUTC"] = modified.isoformat()
    for key in ("Date", "DueDate"):
        found = ms_date(raw.get(key))
        if found:
            raw[key] = found.date().isoformat()
    if kind in ("client", "supplier"):
        remote_id, deleted = raw.get("ContactID"), raw.get("ContactStatus") == "ARCHIVED"
    else:
        remote_id, deleted = raw.get("InvoiceID"), raw.get("Status") in ("DELETED", "VOIDED")
        if kind == "payment":  # PAID once AmountDue reaches 0; AUTHORISED with AmountPaid: partly paid
            state = "paid" if raw.get("Status") == "PAID" else payment_state(raw.get("Total"), raw.get("AmountDue"))
            with_payment_status(raw, state)
    return RemoteChange(remote_id=str(remote_id or ""), deleted=deleted,
                        version=modified.isoformat() if modified else None, raw=raw, modified_at=modified)


def _key(kind: str, remote_id: str, version: str | None, body: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:24]
    return f"{kind}-{remote_id[:40]}-{hashlib.sha256(str(version).encode()).hexdigest()[:12]}-{digest}"


def _outgoing(record: Mapping[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(dict(record))
    contact = body.get("Contact")
    if isinstance(contact, dict) and not contact.get("ContactID"):
        body.pop("Contact")
    for key in ("Total",):
        if key in body and body[key] is not None:
            body[key] = str(money(body[key]))
    return body


def _problem(response: Answer) -> str:
    data = response.data if isinstance(response.data, dict) else {}
    for element in data.get("Elements") or []:
        for error in (element or {}).get("ValidationErrors") or []:
            if isinstance(error, dict) and error.get("Message"):
                return str(error["Message"])[:200]
    return str(data.get("Message") or data.get("Detail") or data.get("Title") or "")[:200]
