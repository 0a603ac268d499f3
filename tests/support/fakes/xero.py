"""A fake Xero Accounting API (served through ``responses``; the hub's real ProviderClient makes
every call) with the documented semantics the hub uses, at https://api.xero.com:

- ``GET /connections`` -> ``[{"id", "tenantId", "tenantType": "ORGANISATION", "tenantName", ...}]``:
  https://developer.xero.com/documentation/guides/oauth2/auth-flow/#5-check-the-tenants-youre-authorized-to-access
- Every ``/api.xro/2.0`` call needs ``Xero-tenant-id`` of a connected organisation (else 403,
  ``{"Type": null, "Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful"}``).
- ``GET /api.xro/2.0/Contacts`` and ``/Invoices`` (``where=Type=="ACCREC"``): ``{"Contacts": [...]}``
  / ``{"Invoices": [...]}``, 100 a page (``page=n``), ``order=UpdatedDateUTC ASC``,
  ``If-Modified-Since`` returns only records updated after it; dates in Xero's JSON form
  ``/Date(1573755038314+0000)/``: https://developer.xero.com/documentation/api/accounting/requests-and-responses
  and https://developer.xero.com/documentation/api/accounting/contacts ,
  https://developer.xero.com/documentation/api/accounting/invoices
- ``POST /Contacts`` / ``/Invoices`` (create) and ``POST /Contacts/{id}`` (update) with the
  records in ``{"Contacts": [...]}``; a repeated ``Idempotency-Key`` replays the first answer:
  https://developer.xero.com/documentation/guides/idempotent-requests/idempotency/
- A validation error: 400 ``{"ErrorNumber": 10, "Type": "ValidationException", "Message": "A
  validation exception occurred", "Elements": [{"ValidationErrors": [{"Message": ...}]}]}``:
  https://developer.xero.com/documentation/api/accounting/responsecodes
- ``fail_next(429, {"Retry-After": "1"})`` (with ``X-Rate-Limit-Problem: minute``) or a 5xx:
  https://developer.xero.com/documentation/guides/oauth2/limits/

Chosen here: ids are UUIDs; the clock is the machine's (milliseconds apart per write).
"""

from __future__ import annotations

import copy
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.fakes.base import Call, CallLog, requests_mocked, under

ORIGIN = "https://api.xero.com"
TOKEN_URL = "https://identity.xero.com/connect/token"


def ms(when: datetime) -> str:
    return f"/Date({int(when.timestamp() * 1000)}+0000)/"


@dataclass
class XeroFake(CallLog):
    token: str = "xero-access-1"
    organisations: dict[str, str] = field(default_factory=lambda: {str(uuid.uuid4()): "Studio Ltd"})
    store: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {"Contacts": {}, "Invoices": {}})
    updated: dict[str, datetime] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    replies: dict[str, tuple[int, Any]] = field(default_factory=dict)
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    page_size: int = 100

    @property
    def tenant_id(self) -> str:
        return next(iter(self.organisations))

    def _tick(self) -> datetime:
        time.sleep(0.002)  # UpdatedDateUTC has millisecond resolution: writes are apart
        return datetime.now(UTC)

    # ------------------------------------------------------------ the user at Xero
    def put(self, path: str, **fields: Any) -> dict[str, Any]:
        key = "ContactID" if path == "Contacts" else "InvoiceID"
        remote_id = str(uuid.uuid4())
        record = {key: remote_id, **fields}
        if path == "Contacts":
            record.setdefault("ContactStatus", "ACTIVE")
        self.store[path][remote_id] = record
        self._stamp(path, record)
        return copy.deepcopy(record)

    def edit(self, path: str, remote_id: str, **fields: Any) -> None:
        record = self.store[path][remote_id]
        record.update(fields)
        self._stamp(path, record)

    def _stamp(self, path: str, record: dict[str, Any]) -> None:
        when = self._tick()
        record["UpdatedDateUTC"] = ms(when)
        self.updated[record.get("ContactID") or record.get("InvoiceID")] = when

    def fail_next(self, status: int, headers: dict[str, str] | None = None) -> None:  # one at a time, headers second
        super().fail_next(status, headers=headers)

    def live(self, path: str) -> dict[str, dict[str, Any]]:
        return {k: copy.deepcopy(v) for k, v in self.store[path].items()
                if v.get("ContactStatus", "ACTIVE") != "ARCHIVED" and v.get("Status") not in ("DELETED", "VOIDED")}


    # ------------------------------------------------------------ HTTP
    def handle(self, request) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(request.url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        body = json.loads(request.body) if request.body else None
        status, payload, headers = self._route(request, parts.path, query, body)
        self.calls.append(Call(request.method, parts.path, query, dict(request.headers), body, status))
        return status, {"Content-Type": "application/json", **headers}, json.dumps(payload)

    def _route(self, request, path: str, query: dict[str, str], body: Any):
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"Type": None, "Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired"}, {}
        if path == "/connections":
            return 200, [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, t)), "authEventId": str(uuid.uuid4()),
                          "tenantId": t, "tenantType": "ORGANISATION", "tenantName": name,
                          "createdDateUtc": "2026-11-01T08:00:00.0000000", "updatedDateUtc": "2026-11-01T08:00:00.0000000"}
                         for t, name in self.organisations.items()], {}
        if request.headers.get("Xero-tenant-id") not in self.organisations:
            return 403, {"Type": None, "Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful"}, {}
        if self.failures:
            status, headers = self.failures.pop(0)
            if status == 429:
                return 429, {"Title": "Too Many Requests"}, {"X-Rate-Limit-Problem": "minute", **headers}
            return status, {"Title": "Internal Server Error"}, headers
        m = re.fullmatch(r"/api\.xro/2\.0/(Contacts|Invoices)(?:/([\w-]+))?", path)
        if not m:
            return 404, {"Title": "Not Found"}, {}
        collection, remote_id = m.group(1), m.group(2)
        if request.method == "GET":
            return self._get(collection, remote_id, query, request.headers.get("If-Modified-Since"))
        key = request.headers.get("Idempotency-Key")
        if key and key in self.replies:
            status, payload = self.replies[key]
            return status, copy.deepcopy(payload), {}
        status, payload = self._post(collection, remote_id, (body or {}).get(collection) or [])
        if key:
            self.replies[key] = (status, copy.deepcopy(payload))
        return status, payload, {}

    def _get(self, collection: str, remote_id: str | None, query: dict[str, str], since_header: str | None):
        if remote_id:
            record = self.store[collection].get(remote_id)
            if record is None:
                return 404, {"Title": "Not Found"}, {}
            return 200, {collection: [copy.deepcopy(record)]}, {}
        rows = list(self.store[collection].values())
        where = query.get("where")
        if where:
            kind = re.fullmatch(r'Type=="(\w+)"', where).group(1)
            rows = [r for r in rows if r.get("Type") == kind]
        if since_header:
            since = parsedate_to_datetime(since_header)
            rows = [r for r in rows if self.updated[r.get("ContactID") or r.get("InvoiceID")] > since]
        rows.sort(key=lambda r: self.updated[r.get("ContactID") or r.get("InvoiceID")])
        page = int(query.get("page", 1))
        chunk = rows[(page - 1) * self.page_size: page * self.page_size]
        return 200, {"Id": str(uuid.uuid4()), "Status": "OK", collection: copy.deepcopy(chunk)}, {}

    def _post(self, collection: str, remote_id: str | None, records: list[dict[str, Any]]):
        if len(records) != 1:
            return 400, {"Title": "Bad Request"}, {}
        record = records[0]
        if collection == "Contacts" and not remote_id and not record.get("Name"):
            return 400, {"ErrorNumber": 10, "Type": "ValidationException",
                         "Message": "A validation exception occurred",
                         "Elements": [{"ValidationErrors": [{"Message": "The contact name must be specified."}]}]}
        if remote_id is None:
            made = self.put(collection, **record)
            return 200, {collection: [made]}
        current = self.store[collection].get(remote_id)
        if current is None:
            return 404, {"Title": "Not Found"}
        current.update(record)
        self._stamp(collection, current)
        return 200, {collection: [copy.deepcopy(current)]}


@pytest.fixture
def xero_fake() -> Iterator[XeroFake]:
    fake = XeroFake()
    with requests_mocked(("GET", under(ORIGIN), fake.handle), ("POST", under(ORIGIN), fake.handle)) as mock:
        # https://developer.xero.com/documentation/guides/oauth2/auth-flow/#refreshing-access-and-refresh-tokens
        mock.add("POST", TOKEN_URL, status=400, json={"error": "invalid_grant"})
        yield fake
