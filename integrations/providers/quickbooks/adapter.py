"""QuickBooks Online's adapter: the base behaviour (Bearer OAuth token, the entry's test call)
plus the sync seam against the Accounting API v3, every call under the company's base
``/v3/company/{realmId}`` (the realm id kept from the OAuth callback; the sandbox is the
provider app's API-base override ``https://sandbox-quickbooks.api.intuit.com``) with the
minor version pinned (``minorversion=75``, Intuit's base version since August 2025:
https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/minor-versions).

What is supported, and how:

- **Containers**: one per entity (``pair_containers``: ``Customer``, ``Vendor``, ``Invoice``,
  ``Purchase``, ``Bill``), each with its own cursor; the company is the connection's realm.
- **Changes** (``list_changes``): with no cursor, a full listing through the query endpoint
  (``select * from <Entity> STARTPOSITION n MAXRESULTS 100``, paged;
  https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries);
  its last page's cursor is the listing's start (the server's ``time``). With a cursor,
  Change Data Capture (``/cdc?entities=<Entity>&changedSince=<time>``,
  https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture):
  one page, ``status: "Deleted"`` objects are removals, and so are customers and vendors made
  inactive (QuickBooks cannot delete names). CDC looks back at most 30 days and returns at
  most 1,000 objects: a cursor older than 30 days, or an answer holding 1,000 objects (some
  may be missing), raises ``CursorInvalid`` and the engine relists. The next cursor is the
  answer's ``time`` less ``OVERLAP`` (an object seen twice is skipped by the engine's hash).
- **Writes**: ``POST /<entity>`` with ``requestid`` (Intuit replays the first answer for a
  repeated requestid, so a retried create cannot make a second object; it is derived from the
  hub id, or from the object and its SyncToken for updates). Updates are sparse and carry the
  ``SyncToken`` read with the object (optimistic concurrency): a stale one answers Fault code
  5010 "Stale Object Error" -> ``VersionConflict``. An update without a version (an export-only
  pair overriding a conflict) reads the current SyncToken first. Deletes: transactions
  (Invoice, Purchase, Bill) with ``operation=delete`` and the SyncToken; names (Customer,
  Vendor) are made inactive (``Active: false``); an object already gone (Fault 610) is fine.
- **Completion** (``complete_record``, the integration's settings, seed section ג): an invoice
  gets its number (``invoicePrefix`` + the hub id's first hex digits), currency, due date
  (``defaultPaymentTerms`` days after its date when the payment has none) and one line whose
  net and tax split the gross amount by ``defaultTaxRate`` (17% by default; Decimal, to the
  cent, net + tax = gross) with ``GlobalTaxCalculation: TaxInclusive``; the line's item is
  ``accountMappings.revenue`` (in QuickBooks an invoice books to its item's income account).
  An expense becomes a cash Purchase (or a Bill) whose line is booked to
  ``accountMappings.categories[<category>]``, else ``accountMappings.expenses``; a Purchase is
  paid from ``invoiceSettings.defaultAccount``.
- **Not stamped**: QuickBooks objects have no free field for the hub's id (custom fields are
  per-company and limited), so a re-connect's full listing re-links by identical values
  (the engine's adoption) rather than by hub id.
- **Errors**: the hub's client refreshes on 401 (then the integration is ``expired``), waits
  out 429 (Intuit: 500 requests/min per realm, 10/s) and retries 5xx for idempotent calls
  (every write here is, through ``requestid``); any other 4xx is a ``QuickbooksError`` naming
  Intuit's fault code -- one failed item of the run, never a secret or a URL.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

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
    CursorInvalid,
    ProviderAdapter,
    RemoteChange,
    VersionConflict,
    cursor_state,
    cursor_text,
)
from integrations.providers.common import AnswerError, field_mappings, instant, link

MINOR_VERSION = "75"
PAGE_SIZE = 100  # the query endpoint's MAXRESULTS (1,000 at most)
CDC_LIMIT = 1000  # objects one CDC answer holds at most
CDC_HORIZON = timedelta(days=30)
#: CDC's next start is the answer's time less this: a change committed while the answer was
#: built is read again (and skipped by its hash) rather than lost.
OVERLAP = timedelta(minutes=1)
NAMES = ("Customer", "Vendor")
TRANSACTIONS = ("Invoice", "Purchase", "Bill")
ENTITIES = NAMES + TRANSACTIONS
STALE = "5010"
NOT_FOUND = "610"
CATEGORY_KEY = "_category"  # the expense's local category, turned into its ledger account on the way out
#: What an update of an invoice QuickBooks says is paid (Balance 0) never sends.
PAID_INVOICE_KEEPS = ("Line", "TxnTaxDetail", "GlobalTaxCalculation", "TotalAmt", "Balance")

AMOUNT = amount_transform("CurrencyRef.value")
_NAME = {"name": "DisplayName", "email": "PrimaryEmailAddr.Address", "phone": "PrimaryPhone.FreeFormNumber"}
_EXPENSE = {"currency": "CurrencyRef.value", "amount": "TotalAmt", "expenseDate": "TxnDate",
            "description": "PrivateNote", "category": CATEGORY_KEY}
DEFAULT_MAPPINGS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("client", "Customer"): field_mappings("client", {**_NAME, "address": "BillAddr.Line1"}),
    ("supplier", "Vendor"): field_mappings("supplier", _NAME),
    ("payment", "Invoice"): field_mappings(
        "payment", {"currency": "CurrencyRef.value", "amount": "TotalAmt", "dueDate": "DueDate",
                    "description": "PrivateNote", "clientId": "CustomerRef.value"},
        amount=AMOUNT, clientId=link("client")) + [STATUS_RULE],
    ("expense", "Purchase"): field_mappings("expense", {**_EXPENSE, "supplierId": "EntityRef.value"},
                                            amount=AMOUNT, supplierId=link("supplier")),
    ("expense", "Bill"): field_mappings("expense", {**_EXPENSE, "supplierId": "VendorRef.value"},
                                        amount=AMOUNT, supplierId=link("supplier")),
}


class QuickbooksError(AnswerError):
    """An answer the sync cannot use: the status and Intuit's fault code and message (no token, no URL)."""

    provider = "QuickBooks"

    def __init__(self, what: str, response: Answer) -> None:
        self.code, message = fault(response)
        super().__init__(what, response.status, f"code {self.code}: {message}" if self.code else "")


class QuickbooksAdapter(AccountingSettings, ProviderAdapter):
    def pair_containers(self, remote_type: str) -> tuple[str, ...] | None:
        return (remote_type,) if remote_type in ENTITIES else None

    def default_mappings(self, local_type: str, remote_type: str) -> list[dict[str, Any]]:
        return copy.deepcopy(DEFAULT_MAPPINGS.get((local_type, remote_type), []))

    # ------------------------------------------------------------------ changes
    def list_changes(self, client: Caller, *, container: str, cursor: str | None) -> ChangePage:
        entity = _entity(container)
        state = _decode(cursor)
        if "since" in state and "start" not in state:
            return self._cdc(client, entity, state["since"])
        start = int(state.get("start", 1))
        query = f"select * from {entity} STARTPOSITION {start} MAXRESULTS {PAGE_SIZE}"
        response = client.request("GET", "/query", params={"query": query, "minorversion": MINOR_VERSION})
        if response.status == 400 and cursor:
            raise CursorInvalid(f"QuickBooks refused the stored listing position ({fault(response)[0]})")
        if not response.ok:
            raise QuickbooksError(f"{entity} listing", response)
        data = response.data if isinstance(response.data, dict) else {}
        items = [o for o in (data.get("QueryResponse") or {}).get(entity) or [] if isinstance(o, dict) and o.get("Id")]
        listing_started = state.get("since") or _server_time(data)
        changes = tuple(_change(entity, item) for item in items)
        if len(items) >= PAGE_SIZE:
            return ChangePage(changes, _encode(since=listing_started, start=start + len(items)), done=False)
        return ChangePage(changes, _encode(since=listing_started), done=True)

    def _cdc(self, client: Caller, entity: str, since: str) -> ChangePage:
        started = instant(since)
        if started is None or datetime.now(UTC) - started > CDC_HORIZON - timedelta(minutes=5):
            raise CursorInvalid("QuickBooks CDC looks back at most 30 days")
        response = client.request("GET", "/cdc", params={"entities": entity, "changedSince": since,
                                                         "minorversion": MINOR_VERSION})
        if response.status == 400:
            raise CursorInvalid(f"QuickBooks refused the change window ({fault(response)[0]})")
        if not response.ok:
            raise QuickbooksError(f"{entity} changes", response)
        data = response.data if isinstance(response.data, dict) else {}
        items: list[dict[str, Any]] = []
        for block in data.get("CDCResponse") or []:
            for query in (block or {}).get("QueryResponse") or []:
                items += [o for o in (query or {}).get(entity) or [] if isinstance(o, dict) and o.get("Id")]
        if len(items) >= CDC_LIMIT:
            raise CursorInvalid("QuickBooks CDC answered its 1,000-object maximum: some changes may be missing")
        now = instant(_server_time(data)) or datetime.now(UTC)
        following = (max(now - OVERLAP, started)).isoformat()
        return ChangePage(tuple(_change(entity, item) for item in items), _encode(since=following), done=True)

    # ------------------------------------------------------------------ writes
    def push_create(self, client: Caller, *, container: str, record: Mapping[str, Any], hub_id: str) -> RemoteChange:
        entity = _entity(container)
        body = _outgoing(record)
        return self._write(client, entity, body, request_id=f"create-{hub_id}", what="create")

    def push_update(self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
                    version: str | None) -> RemoteChange:
        entity = _entity(container)
        body = _outgoing(record)
        if entity == "Invoice" or version is None:  # an invoice: is it paid at QuickBooks?
            current = self._current(client, entity, remote_id)
            version = version if version is not None else current.version
            if entity == "Invoice":
                without_amounts_when_paid(body, current.raw, PAID_INVOICE_KEEPS)
        body = {**body, "Id": remote_id, "SyncToken": version, "sparse": True}
        return self._write(client, entity, body, request_id=_request_id("update", entity, remote_id, version, body),
                           what="update")

    def push_delete(self, client: Caller, *, container: str, remote_id: str, version: str | None) -> None:
        entity = _entity(container)
        if version is None:
            try:
                version = self._current(client, entity, remote_id).version
            except QuickbooksError as exc:
                if exc.code == NOT_FOUND or exc.status == 404:
                    return
                raise
        if entity in NAMES:  # names cannot be deleted: made inactive
            body = {"Id": remote_id, "SyncToken": version, "sparse": True, "Active": False}
            params: dict[str, Any] = {}
        else:
            body, params = {"Id": remote_id, "SyncToken": version}, {"operation": "delete"}
        try:
            self._write(client, entity, body, request_id=_request_id("delete", entity, remote_id, version, body),
                        what="delete", params=params)
        except QuickbooksError as exc:
            if exc.code == NOT_FOUND:
                return
            raise

    def _write(self, client: Caller, entity: str, body: dict[str, Any], *, request_id: str, what: str,
               params: Mapping[str, Any] | None = None) -> RemoteChange:
        query = {"minorversion": MINOR_VERSION, "requestid": request_id[:50], **(params or {})}
        response = client.request("POST", f"/{entity.lower()}", params=query, json=body, idempotent=True)
        code, _ = fault(response)
        if code == STALE:
            raise VersionConflict(f"{entity} {body.get('Id')} changed in QuickBooks since it was read (SyncToken)")
        if not response.ok:
            raise QuickbooksError(f"{entity} {what}", response)
        data = response.data if isinstance(response.data, dict) else {}
        return _change(entity, data.get(entity) or {})

    def _current(self, client: Caller, entity: str, remote_id: str) -> RemoteChange:
        response = client.request("GET", f"/{entity.lower()}/{remote_id}", params={"minorversion": MINOR_VERSION})
        if not response.ok:
            raise QuickbooksError(f"{entity} read", response)
        data = response.data if isinstance(response.data, dict) else {}
        return _change(entity, data.get(entity) or {})

    # ------------------------------------------------------------------ webhooks
    def notified_accounts(self, payload: Any) -> set[str] | None:
        """Realm ids of a QuickBooks webhook: the classic ``eventNotifications[].realmId`` or the
        CloudEvents form's ``intuitaccountid`` (a list of events, or one):
        https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks"""
        found: set[str] = set()
        for event in payload if isinstance(payload, list) else [payload]:
            if not isinstance(event, dict):
                continue
            for note in event.get("eventNotifications") or []:
                if isinstance(note, dict) and note.get("realmId"):
                    found.add(str(note["realmId"]))
            if event.get("intuitaccountid"):
                found.add(str(event["intuitaccountid"]))
        return found or None

    def account_of(self, values: Mapping[str, Any]) -> str | None:
        return str(values.get("realmId") or "") or None

    # ------------------------------------------------------------------ settings -> record
    def complete_record(self, record: Mapping[str, Any], *, local_type: str, remote_type: str,
                        settings: Mapping[str, Any], hub_id: str, create: bool) -> dict[str, Any]:
        body = copy.deepcopy(dict(record))
        category = body.pop(CATEGORY_KEY, None)
        options = invoice_settings(settings)
        if remote_type == "Invoice":
            _complete_invoice(body, settings, options, hub_id=hub_id, create=create)
        elif remote_type in ("Purchase", "Bill"):
            _complete_expense(body, settings, options, remote_type, category=category)
        return body


# ---------------------------------------------------------------------- helpers
def fault(response: Answer) -> tuple[str | None, str]:
    """Intuit's fault code and message, from ``Fault.Error[0]`` (or the auth fault's lower-case form)."""
    data = response.data if isinstance(response.data, dict) else {}
    block = data.get("Fault") or data.get("fault") or {}
    errors = block.get("Error") or block.get("error") if isinstance(block, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return (str(first.get("code") or "")[:20] or None,
                str(first.get("Message") or first.get("message") or "")[:120])
    return None, ""


def _entity(container: str) -> str:
    if container not in ENTITIES:
        raise CursorInvalid(f"{container[:40]!r} is not a QuickBooks entity this hub syncs")
    return container


def _encode(**values: Any) -> str:
    return cursor_text(**values)


def _decode(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {}
    data = cursor_state(cursor, "QuickBooks")
    if (set(data) - {"since", "start"} or not isinstance(data.get("since"), str)
            or not isinstance(data.get("start", 1), int) or isinstance(data.get("start"), bool)
            or instant(data["since"]) is None):
        raise CursorInvalid("not a QuickBooks cursor")
    return data


def _server_time(data: Mapping[str, Any]) -> str:
    found = instant(data.get("time"))
    return (found or datetime.now(UTC)).isoformat()


def _change(entity: str, item: Mapping[str, Any]) -> RemoteChange:
    deleted = item.get("status") == "Deleted" or (entity in NAMES and item.get("Active") is False)
    raw = dict(item)
    if entity == "Invoice":  # Balance: what is still owed (read only, TotalAmt until a payment)
        with_payment_status(raw, payment_state(raw.get("TotalAmt"), raw.get("Balance")))
    return RemoteChange(
        remote_id=str(item.get("Id") or ""), deleted=deleted,
        version=str(item["SyncToken"]) if item.get("SyncToken") is not None else None,
        raw=raw, modified_at=instant((item.get("MetaData") or {}).get("LastUpdatedTime")),
    )


def _request_id(kind: str, entity: str, remote_id: str, version: str | None, body: Mapping[str, Any]) -> str:
    """A requestid for one write of one version: a retry repeats it, a new write differs."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"{kind}-{entity[:8]}-{remote_id[:10]}-{version}-{digest}"


def _outgoing(record: Mapping[str, Any]) -> dict[str, Any]:
    """Amounts as JSON numbers QuickBooks takes (from Decimal strings, never through float
    arithmetic); empty references dropped (QuickBooks refuses ``{"value": null}``)."""
    body = copy.deepcopy(dict(record))
    for key, value in list(body.items()):
        if isinstance(value, dict) and set(value) == {"value"} and value["value"] in (None, ""):
            del body[key]
    return body


def _number(value: Any) -> float | int:
    """A Decimal amount as the JSON number QuickBooks reads (its API takes numbers, not strings);
    the Decimal is exact to the cent before it is written."""
    amount = money(value)
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _complete_invoice(body: dict[str, Any], settings: Mapping[str, Any], options: Mapping[str, Any], *,
                      hub_id: str, create: bool) -> None:
    gross = body.pop("TotalAmt", None)
    body.setdefault("CurrencyRef", {"value": options.get("currency") or "ILS"})
    if create:
        body["DocNumber"] = document_number(settings, hub_id)
        body.setdefault("TxnDate", date.today().isoformat())
    if not body.get("DueDate") and create:
        terms = int(options.get("defaultPaymentTerms") or 0)
        body["DueDate"] = (date.fromisoformat(body["TxnDate"]) + timedelta(days=terms)).isoformat()
    if gross is None:
        return
    rate = tax_rate(settings)
    net, tax = split_gross(gross, rate)
    detail: dict[str, Any] = {"TaxInclusiveAmt": _number(gross)}
    item = account_for(settings, category=None, kind="revenue")
    if item:
        detail["ItemRef"] = {"value": item}
    body["Line"] = [{"DetailType": "SalesItemLineDetail", "Amount": _number(net),
                     "Description": str(body.get("PrivateNote") or "")[:4000], "SalesItemLineDetail": detail}]
    body["GlobalTaxCalculation"] = "TaxInclusive" if rate else "NotApplicable"
    body["TxnTaxDetail"] = {"TotalTax": _number(tax)}


def _complete_expense(body: dict[str, Any], settings: Mapping[str, Any], options: Mapping[str, Any],
                      remote_type: str, *, category: Any) -> None:
    gross = body.pop("TotalAmt", None)
    body.setdefault("CurrencyRef", {"value": options.get("currency") or "ILS"})
    if remote_type == "Purchase":
        body["PaymentType"] = "Cash"
        paid_from = str(options.get("defaultAccount") or "")
        if paid_from:
            body["AccountRef"] = {"value": paid_from}
    if gross is None:
        return
    line: dict[str, Any] = {"DetailType": "AccountBasedExpenseLineDetail", "Amount": _number(gross),
                            "Description": str(body.get("PrivateNote") or "")[:4000],
                            "AccountBasedExpenseLineDetail": {}}
    account = account_for(settings, category=str(category) if category else None, kind="expenses")
    if account:
        line["AccountBasedExpenseLineDetail"]["AccountRef"] = {"value": account}
    body["Line"] = [line]

