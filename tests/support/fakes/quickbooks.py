"""A fake QuickBooks Online Accounting API v3 (served through ``responses``, so the hub's real
ProviderClient -- rate limiter, token refresh, retries -- makes every call), implementing the
documented semantics the hub uses, at the sandbox origin
``https://sandbox-quickbooks.api.intuit.com/v3/company/{realmId}``:

- Objects shaped as the entity references show them (``Id``, ``SyncToken``, ``domain: "QBO"``,
  ``sparse``, ``MetaData.CreateTime / LastUpdatedTime``, ``DisplayName``, ``PrimaryEmailAddr.Address``,
  ``PrimaryPhone.FreeFormNumber``, ``BillAddr``, ``Active``; an invoice's ``Line``, ``TotalAmt``,
  ``CustomerRef``, ``DocNumber``, ``DueDate``, ``TxnDate``, ``CurrencyRef``):
  https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer ,
  .../all-entities/vendor , .../all-entities/invoice , .../all-entities/purchase
- ``GET /query?query=select * from <Entity> STARTPOSITION n MAXRESULTS m`` -> ``{"QueryResponse":
  {"<Entity>": [...], "startPosition", "maxResults"}, "time"}``; names (Customer, Vendor) list
  only active ones unless asked: https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
- ``GET /cdc?entities=<Entity>&changedSince=<time>`` -> ``{"CDCResponse": [{"QueryResponse":
  [{"<Entity>": [...], "startPosition": 1, "maxResults": n, "totalCount": n}]}], "time"}``;
  deleted objects as ``{"domain": "QBO", "status": "Deleted", "Id", "MetaData"}``; at most
  1,000 objects; 30 days back at most:
  https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture
- ``POST /<entity>`` create / full or sparse update (``sparse: true``) with ``SyncToken``; a stale
  SyncToken -> 400 ``{"Fault": {"Error": [{"Message": "Stale Object Error", "code": "5010"}],
  "type": "ValidationFault"}}``; ``?operation=delete`` for transactions; an unknown or deleted
  object -> Fault 610 "Object Not Found"; ``requestid`` replays the first answer:
  https://developer.intuit.com/app/developer/qbo/docs/learn/rest-api-features#idempotency and
  https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
- An invoice's ``TotalAmt`` and ``Balance`` are computed by QuickBooks (read only): the lines'
  ``Amount`` plus ``TxnTaxDetail.TotalTax``; ``Balance`` starts at ``TotalAmt`` and each Payment
  applied lowers it (``pay``, the user recording a payment at QuickBooks):
  https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice ,
  .../all-entities/payment
- 401 ``{"fault": {"error": [{"message": "message=AuthenticationFailed; errorCode=003200;
  statusCode=401", "code": "3200"}], "type": "AUTHENTICATION"}}`` for a wrong bearer token;
  ``fail_next(status)`` answers the next calls with 429 (ThrottleExceeded, code 003001) or a 5xx:
  https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles

Chosen here (not documented): ids are increasing integers as strings; the fake's clock is the
machine's (``time`` in answers is now, UTC).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.fakes.base import Call, CallLog, requests_mocked, under

ORIGIN = "https://sandbox-quickbooks.api.intuit.com"
#: Intuit's token endpoint (from its OpenID discovery document), for refreshes.
TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
NAMES = ("Customer", "Vendor")
ENTITIES = ("Customer", "Vendor", "Invoice", "Purchase", "Bill")


def now() -> datetime:
    return datetime.now(UTC)


def stamp(when: datetime) -> str:
    return when.isoformat()


def fault(code: str, message: str, detail: str = "", kind: str = "ValidationFault") -> dict[str, Any]:
    return {"Fault": {"Error": [{"Message": message, "Detail": detail or message, "code": code, "element": ""}],
                      "type": kind}, "time": stamp(now())}


@dataclass
class QuickbooksFake(CallLog):
    realm: str = "9130355372891234"
    token: str = "qb-access-1"
    store: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {e: {} for e in ENTITIES})
    changed: dict[tuple[str, str], datetime] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    replies: dict[str, tuple[int, Any]] = field(default_factory=dict)
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(58))
    #: False: the token endpoint refuses the refresh token (``invalid_grant``, a revoked connection).
    refresh_ok: bool = True
    refreshes: int = 0

    @property
    def base_url(self) -> str:
        return f"{ORIGIN}/v3/company/{self.realm}"

    # ------------------------------------------------------------ the user at QuickBooks
    def put(self, entity: str, **fields: Any) -> dict[str, Any]:
        remote_id = str(next(self.ids))
        created = stamp(now())
        obj = {"domain": "QBO", "sparse": False, "Id": remote_id, "SyncToken": "0",
               "MetaData": {"CreateTime": created, "LastUpdatedTime": created}, **fields}
        if entity in NAMES:
            obj.setdefault("Active", True)
        self.store[entity][remote_id] = obj
        self.changed[(entity, remote_id)] = now()
        return copy.deepcopy(obj)

    def pay(self, invoice_id: str, amount: str) -> dict[str, Any]:
        """A Payment received against the invoice at QuickBooks: its Balance goes down."""
        obj = self.store["Invoice"][invoice_id]
        obj["Balance"] = float(Decimal(str(obj.get("Balance", obj.get("TotalAmt", 0)))) - Decimal(amount))
        self._bump("Invoice", obj)
        return copy.deepcopy(obj)

    def edit(self, entity: str, remote_id: str, **fields: Any) -> dict[str, Any]:
        obj = self.store[entity][remote_id]
        obj.update(fields)
        self._bump(entity, obj)
        return copy.deepcopy(obj)

    def remove(self, entity: str, remote_id: str) -> None:
        obj = self.store[entity][remote_id]
        if entity in NAMES:
            obj["Active"] = False
        else:
            obj["status"] = "Deleted"
        self._bump(entity, obj)

    def get(self, entity: str, remote_id: str) -> dict[str, Any]:
        return copy.deepcopy(self.store[entity][remote_id])

    def live(self, entity: str) -> dict[str, dict[str, Any]]:
        return {k: copy.deepcopy(v) for k, v in self.store[entity].items() if _alive(entity, v)}


    def token_endpoint(self, request) -> tuple[int, dict[str, str], str]:
        """https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0#refresh-the-token"""
        self.refreshes += 1
        if not self.refresh_ok:
            return 400, {"Content-Type": "application/json"}, json.dumps({"error": "invalid_grant"})
        self.token = f"qb-access-{self.refreshes + 1}"
        return 200, {"Content-Type": "application/json"}, json.dumps({
            "token_type": "bearer", "access_token": self.token, "refresh_token": f"qb-refresh-{self.refreshes}",
            "expires_in": 3600, "x_refresh_token_expires_in": 8726400})

    def _bump(self, entity: str, obj: dict[str, Any]) -> None:
        obj["SyncToken"] = str(int(obj["SyncToken"]) + 1)
        obj["MetaData"]["LastUpdatedTime"] = stamp(now())
        self.changed[(entity, obj["Id"])] = now()

    # ------------------------------------------------------------ HTTP
    def handle(self, request) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(request.url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = parts.path.removeprefix(f"/v3/company/{self.realm}")
        body = json.loads(request.body) if request.body else None
        status, payload, headers = self._route(request, path, query, body)
        self.calls.append(Call(request.method, path, query, dict(request.headers), body, status))
        return status, {"Content-Type": "application/json", **headers}, json.dumps(payload)

    def _route(self, request, path: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"fault": {"error": [{"message": "message=AuthenticationFailed; errorCode=003200; "
                                                         "statusCode=401", "detail": "Token expired",
                                              "code": "3200"}], "type": "AUTHENTICATION"},
                         "time": stamp(now())}, {}
        if self.failures:
            status, headers = self.failures.pop(0)
            if status == 429:
                return 429, fault("003001", "ThrottleExceeded", "The request exceeded the maximum number "
                                  "of requests allowed.", "SERVICE"), headers
            return status, fault("10000", "An application error has occurred while processing your request",
                                 kind="SystemFault"), headers
        if request.method == "GET" and path == "/query":
            return self._query(query.get("query", ""))
        if request.method == "GET" and path == "/cdc":
            return self._cdc(query)
        match = re.fullmatch(r"/(\w+)(?:/(\w+))?", path)
        entity = next((e for e in ENTITIES if match and e.lower() == match.group(1)), None)
        if entity is None:
            return 400, fault("4000", "Unsupported Operation"), {}
        if request.method == "GET" and match.group(2):
            obj = self.store[entity].get(match.group(2))
            if obj is None or obj.get("status") == "Deleted":
                return 400, fault("610", "Object Not Found"), {}
            return 200, {entity: copy.deepcopy(obj), "time": stamp(now())}, {}
        if request.method == "POST" and not match.group(2):
            key = query.get("requestid")
            if key and key in self.replies:
                status, payload = self.replies[key]
                return status, copy.deepcopy(payload), {}
            status, payload = self._write(entity, body or {}, query)
            if key:
                self.replies[key] = (status, copy.deepcopy(payload))
            return status, payload, {}
        return 400, fault("4000", "Unsupported Operation"), {}

    def _query(self, text: str) -> tuple[int, Any, dict[str, str]]:
        m = re.fullmatch(r"select \* from (\w+)(?: STARTPOSITION (\d+))?(?: MAXRESULTS (\d+))?", text.strip(), re.I)
        if not m or m.group(1) not in ENTITIES:
            return 400, fault("4000", "Error parsing query"), {}
        entity, start, size = m.group(1), int(m.group(2) or 1), min(int(m.group(3) or 100), 1000)
        rows = sorted((o for o in self.store[entity].values() if _alive(entity, o)), key=lambda o: int(o["Id"]))
        page = rows[start - 1:start - 1 + size]
        result: dict[str, Any] = {"startPosition": start, "maxResults": len(page)}
        if page:
            result[entity] = copy.deepcopy(page)
        return 200, {"QueryResponse": result, "time": stamp(now())}, {}

    def _cdc(self, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        since = datetime.fromisoformat(query.get("changedSince", "").replace("Z", "+00:00"))
        if now() - since > timedelta(days=30):
            return 400, fault("4001", "Invalid query", "changedSince is more than 30 days back"), {}
        blocks = []
        for entity in query.get("entities", "").split(","):
            changed = sorted((o for o in self.store.get(entity, {}).values()
                              if self.changed[(entity, o["Id"])] >= since), key=lambda o: int(o["Id"]))[:1000]
            shown = [{"domain": "QBO", "status": "Deleted", "Id": o["Id"], "MetaData": o["MetaData"]}
                     if o.get("status") == "Deleted" else copy.deepcopy(o) for o in changed]
            blocks.append({entity: shown, "startPosition": 1, "maxResults": len(shown), "totalCount": len(shown)})
        return 200, {"CDCResponse": [{"QueryResponse": blocks}], "time": stamp(now())}, {}

    def _write(self, entity: str, body: dict[str, Any], query: dict[str, str]) -> tuple[int, Any]:
        remote_id = body.get("Id")
        if remote_id is None:
            fields = {k: v for k, v in body.items() if k not in ("Id", "SyncToken", "sparse", "TotalAmt", "Balance")}
            if entity == "Invoice" and fields.get("Line"):
                total = _total(fields)
                fields.update(TotalAmt=total, Balance=total)
            obj = self.put(entity, **fields)
            return 200, {entity: obj, "time": stamp(now())}
        obj = self.store[entity].get(str(remote_id))
        if obj is None or obj.get("status") == "Deleted":
            return 400, fault("610", "Object Not Found", "Object Not Found : Something you're trying to use "
                              "has been made inactive. Check the fields with accounts, customers, items, "
                              "vendors or employees.")
        if str(body.get("SyncToken")) != obj["SyncToken"]:
            return 400, fault("5010", "Stale Object Error", "Stale Object Error : You and root were working on "
                              "this at the same time. root finished before you did, so your work was not saved.")
        if query.get("operation") == "delete":
            obj["status"] = "Deleted"
            self._bump(entity, obj)
            return 200, {entity: {"domain": "QBO", "status": "Deleted", "Id": obj["Id"]}, "time": stamp(now())}
        paid = Decimal(str(obj.get("TotalAmt", 0))) - Decimal(str(obj.get("Balance", obj.get("TotalAmt", 0))))
        if not body.get("sparse"):
            keep = {k: obj[k] for k in ("domain", "Id", "SyncToken", "MetaData")}
            obj.clear()
            obj.update(keep)
        obj.update({k: v for k, v in body.items()
                    if k not in ("Id", "SyncToken", "sparse", "domain", "MetaData", "TotalAmt", "Balance")})
        if entity == "Invoice" and obj.get("Line"):  # read only: computed again, payments kept
            total = _total(obj)
            obj.update(TotalAmt=total, Balance=float(Decimal(str(total)) - paid))
        self._bump(entity, obj)
        return 200, {entity: copy.deepcopy(obj), "time": stamp(now())}


def _total(invoice: dict[str, Any]) -> float:
    lines = sum((Decimal(str(line.get("Amount") or 0)) for line in invoice.get("Line") or []
                 if line.get("DetailType") != "SubTotalLineDetail"), Decimal(0))
    return float(lines + Decimal(str((invoice.get("TxnTaxDetail") or {}).get("TotalTax") or 0)))


def _alive(entity: str, obj: dict[str, Any]) -> bool:
    return obj.get("status") != "Deleted" and not (entity in NAMES and obj.get("Active") is False)


@pytest.fixture
def quickbooks_fake() -> Iterator[QuickbooksFake]:
    """The fake, answering every call to the sandbox origin; other hosts pass through."""
    fake = QuickbooksFake()
    with requests_mocked(("GET", under(ORIGIN), fake.handle), ("POST", under(ORIGIN), fake.handle),
                         ("POST", TOKEN_URL, fake.token_endpoint)):
        yield fake
