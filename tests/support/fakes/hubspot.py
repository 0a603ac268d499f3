"""A fake HubSpot CRM v3 objects API (served through ``responses``, so the hub's real
ProviderClient -- rate limiter, token refresh, retries -- makes every call), implementing the
documented semantics the hub uses, at ``https://api.hubapi.com``:

- Objects as the CRM objects pages show them: ``{"id", "properties": {...}, "createdAt",
  "updatedAt", "archived"}``, property values strings, ``lastmodifieddate`` (contacts) /
  ``hs_lastmodifieddate`` (companies) ISO-8601 with milliseconds, ``hs_object_id``:
  https://developers.hubspot.com/docs/api/crm/contacts , https://developers.hubspot.com/docs/api/crm/companies
- ``POST /crm/v3/objects/{type}/search`` with ``filterGroups`` (``GTE`` on a modified-date
  property, value in ms), ``sorts``, ``properties``, ``limit``, ``after`` ->
  ``{"total", "results": [...], "paging": {"next": {"after", "link"}}}``; archived records are
  not searched; at most 10,000 results per query (``after`` + ``limit`` past it is a 400):
  https://developers.hubspot.com/docs/api/crm/search
- ``POST /crm/v3/objects/contacts`` (201), ``PATCH /crm/v3/objects/contacts/{id}`` (only the
  given properties change; associations untouched), ``DELETE`` (204, archives; an unknown id 404),
  ``POST /crm/v3/objects/contacts/batch/upsert`` with ``idProperty: email`` -> ``{"status":
  "COMPLETE", "results": [{..., "new": bool}]}`` (an existing email updates that contact):
  https://developers.hubspot.com/docs/api/crm/contacts (Create, Update, Archive, Batch upsert)
- Batch writes, ``POST /crm/v3/objects/contacts/batch/upsert`` (``idProperty: email``) and
  ``.../batch/update`` (by contact id, only the given properties change), at most 100 inputs
  (the batch pages' limit). Inputs that all carry ``objectWriteTraceId`` turn on multi-status
  (https://developers.hubspot.com/docs/api-reference/error-handling "Multi-status errors"):
  refused inputs become ``errors[]`` entries (``status``, ``category``, ``message``,
  ``context: {"objectWriteTraceId": [...]}``) of a 207 and the others are written, results
  echoing their trace id; without trace ids one refused input refuses the whole batch (400,
  nothing written). The same id twice in one batch is a 400 for the whole batch ("Duplicate
  IDs found in batch input", as HubSpot's batch endpoints answer it).
- ``GET /crm/v4/objects/contacts/{id}/associations/companies`` (v4 "List": ``{"results":
  [{"toObjectId", "associationTypes": [{"category", "typeId", "label"}]}]}``):
  https://developers.hubspot.com/docs/api/crm/associations
- Errors as the error-handling page shows them: ``{"status": "error", "message",
  "correlationId", "category"}`` (401 ``INVALID_AUTHENTICATION``, 400 ``VALIDATION_ERROR``),
  429 ``{"status": "error", "message": "You have reached your secondly limit.", "errorType":
  "RATE_LIMIT", "policyName": "SECONDLY"}``:
  https://developers.hubspot.com/docs/api/error-handling , https://developers.hubspot.com/docs/api/usage-details
- ``POST /oauth/2026-03/token`` refresh (``access_token``, ``refresh_token``, ``expires_in`` 1800):
  https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide

HubSpot's SDK (``hubspot-api-client``, urllib3 underneath, so it talks to ``served(fake)``) judges
these shapes and the adapter's requests: tests/integrations/providers/test_hubspot_sdk_shapes.py.

Chosen here (not documented): ids are increasing integers as strings; ``after`` is the offset
as a string; the fake's clock advances one millisecond per write so modified dates are distinct;
a batch's results come back in reverse input order (HubSpot does not promise input order, so
nothing may rely on it); a multi-status error entry carries empty ``errors`` / ``links`` (the
SDK's ``StandardError`` requires them; the error-handling page's example leaves them out).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.fakes.base import CallLog, requests_mocked, under

ORIGIN = "https://api.hubapi.com"
TOKEN_URL = ORIGIN + "/oauth/2026-03/token"
TYPES = {"contacts": "contact", "companies": "company"}
MODIFIED = {"contact": "lastmodifieddate", "company": "hs_lastmodifieddate"}
WINDOW = 10_000


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def error(status: int, category: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"status": "error", "message": message, "correlationId": "9b1c1a2e-0000-4000-8000-000000000000",
                    "category": category}


@dataclass
class Call:
    method: str
    path: str
    body: Any
    status: int
    answer: Any = None


@dataclass
class HubspotFake(CallLog):
    token: str = "hs-access-1"
    refresh_ok: bool = True
    refreshes: int = 0
    window: int = WINDOW
    clock: datetime = field(default_factory=lambda: datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    store: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {"contact": {}, "company": {}})
    associations: dict[str, list[str]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # email -> validation message
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(101))

    # ------------------------------------------------------------ test helpers
    def _tick(self) -> str:
        self.clock += timedelta(milliseconds=1)
        return _iso(self.clock)

    def put(self, kind: str, **properties: str) -> str:
        remote_id = str(next(self.ids))
        stamp = self._tick()
        props = {**properties, "hs_object_id": remote_id, "createdate": stamp, MODIFIED[kind]: stamp}
        self.store[kind][remote_id] = {"id": remote_id, "properties": props, "createdAt": stamp,
                                       "updatedAt": stamp, "archived": False}
        return remote_id

    def edit(self, kind: str, remote_id: str, **properties: str) -> None:
        obj = self.store[kind][remote_id]
        stamp = self._tick()
        obj["properties"].update(properties, **{MODIFIED[kind]: stamp})
        obj["updatedAt"] = stamp

    def live(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: copy.deepcopy(v) for k, v in self.store[kind].items() if not v["archived"]}


    # ------------------------------------------------------------ HTTP
    def token_endpoint(self, request) -> tuple[int, dict[str, str], str]:
        self.refreshes += 1
        if not self.refresh_ok:
            return 400, {"Content-Type": "application/json"}, json.dumps(
                {"status": "BAD_REFRESH_TOKEN", "message": "missing or invalid refresh token"})
        self.token = f"hs-access-{self.refreshes + 1}"
        return 200, {"Content-Type": "application/json"}, json.dumps(
            {"token_type": "bearer", "access_token": self.token, "refresh_token": "hs-refresh-0", "expires_in": 1800})

    def handle(self, request) -> tuple[int, dict[str, str], str]:
        path = urlsplit(request.url).path
        body = json.loads(request.body) if request.body else None
        status, payload, headers = self._route(request, path, body)
        self.calls.append(Call(request.method, path, body, status, copy.deepcopy(payload)))
        return status, {"Content-Type": "application/json", **headers}, "" if payload is None else json.dumps(payload)

    def _route(self, request, path: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return (*error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found."), {})
        if self.failures:
            status, headers = self.failures.pop(0)
            if status == 429:
                return 429, {"status": "error", "message": "You have reached your secondly limit.",
                             "errorType": "RATE_LIMIT", "correlationId": "c-429", "policyName": "SECONDLY"}, headers
            return (*error(status, "INTERNAL_ERROR", "internal error"), headers)
        associated = re.fullmatch(r"/crm/v4/objects/(contacts?)/(\d+)/associations/(compan(?:y|ies))", path)
        if associated and request.method == "GET":
            return (*self._associations(associated.group(2)), {})
        match = re.fullmatch(r"/crm/v3/objects/(contacts|companies)(?:/(search|batch/upsert|batch/update|\d+))?", path)
        if not match:
            return (*error(404, "OBJECT_NOT_FOUND", "not found"), {})
        kind, tail = TYPES[match.group(1)], match.group(2)
        if request.method == "POST" and tail == "search":
            return (*self._search(kind, body or {}), {})
        if kind != "contact":
            return (*error(405, "METHOD_NOT_ALLOWED", "read only in this fake"), {})
        if request.method == "POST" and tail is None:
            return (*self._create(body or {}), {})
        if request.method == "POST" and tail in ("batch/upsert", "batch/update"):
            return (*self._batch(tail.split("/")[1], body or {}), {})
        obj = self.store["contact"].get(tail or "")
        if obj is None or obj["archived"]:
            return (*error(404, "OBJECT_NOT_FOUND", "resource not found"), {})
        if request.method == "PATCH":
            refused = self._refused((body or {}).get("properties") or {})
            if refused:
                return (*refused, {})
            self.edit("contact", tail, **(body or {}).get("properties", {}))
            return 200, copy.deepcopy(obj), {}
        if request.method == "DELETE":
            obj["archived"] = True
            obj["archivedAt"] = self._tick()
            return 204, None, {}
        return (*error(405, "METHOD_NOT_ALLOWED", "method not allowed"), {})

    def _refused(self, properties: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        message = self.refuse.get(str(properties.get("email") or ""))
        return error(400, "VALIDATION_ERROR", message) if message else None

    def _search(self, kind: str, body: dict[str, Any]) -> tuple[int, Any]:
        filters = [f for g in body.get("filterGroups") or [] for f in g.get("filters") or []]
        since = 0
        for f in filters:
            if f.get("propertyName") != MODIFIED[kind] or f.get("operator") != "GTE":
                return error(400, "VALIDATION_ERROR", f"unsupported filter {f}")
            since = int(f["value"])
        limit = min(int(body.get("limit") or 10), 200)
        after = int(body.get("after") or 0)
        if after + limit > self.window:
            return error(400, "VALIDATION_ERROR", "There was a problem with the request.")
        rows = [o for o in self.store[kind].values() if not o["archived"] and _ms(o["updatedAt"]) >= since]
        rows.sort(key=lambda o: (o["updatedAt"], int(o["id"])))
        wanted = set(body.get("properties") or [])
        page = [{**copy.deepcopy(o), "properties": {k: v for k, v in o["properties"].items()
                                                   if k in wanted or k in ("hs_object_id", "createdate")}}
                for o in rows[after:after + limit]]
        answer: dict[str, Any] = {"total": len(rows), "results": page}
        if after + limit < len(rows):
            answer["paging"] = {"next": {"after": str(after + limit), "link": f"?after={after + limit}"}}
        return 200, answer

    def _associations(self, remote_id: str) -> tuple[int, Any]:
        """v4 "List" of a contact's companies (``associations`` holds ``company:<id>`` per contact;
        279 is HubSpot's unlabeled contact-to-company type)."""
        obj = self.store["contact"].get(remote_id)
        if obj is None or obj["archived"]:
            return error(404, "OBJECT_NOT_FOUND", "resource not found")
        companies = [a.split(":", 1)[1] for a in self.associations.get(remote_id, []) if a.startswith("company:")]
        return 200, {"results": [{"toObjectId": company, "associationTypes": [
            {"category": "HUBSPOT_DEFINED", "typeId": 279, "label": None}]} for company in companies]}

    def _create(self, body: dict[str, Any]) -> tuple[int, Any]:
        props = body.get("properties") or {}
        refused = self._refused(props)
        if refused:
            return refused
        remote_id = self.put("contact", **props)
        return 201, copy.deepcopy(self.store["contact"][remote_id])

    def _batch(self, kind: str, body: dict[str, Any]) -> tuple[int, Any]:
        """``batch/upsert`` (by email) or ``batch/update`` (by contact id): see the module docstring."""
        inputs = [i for i in body.get("inputs") or [] if isinstance(i, dict)]
        if not inputs or len(inputs) > 100:
            return error(400, "VALIDATION_ERROR", "inputs must hold 1 to 100 items")
        ids = [str(i.get("id") or "").lower() for i in inputs]
        if len(set(ids)) != len(ids):
            return error(400, "VALIDATION_ERROR", "Duplicate IDs found in batch input")
        multi = all(i.get("objectWriteTraceId") for i in inputs)
        refused: list[tuple[dict[str, Any], str, str]] = []
        for item in inputs:
            if kind == "upsert" and item.get("idProperty") != "email":
                return error(400, "VALIDATION_ERROR", "idProperty must be a unique property")
            target = self.store["contact"].get(str(item.get("id"))) if kind == "update" else None
            if kind == "update" and (target is None or target["archived"]):
                refused.append((item, "OBJECT_NOT_FOUND", f"Object not found. objectId are usually numeric. {item.get('id')}"))
            elif self._refused(item.get("properties") or {}):
                refused.append((item, "VALIDATION_ERROR", self.refuse[str(item["properties"]["email"])]))
        if refused and not multi:  # all or nothing
            return error(404 if refused[0][1] == "OBJECT_NOT_FOUND" else 400, refused[0][1], refused[0][2])
        skipped = {id(item) for item, _, _ in refused}
        results = []
        for item in inputs:
            if id(item) in skipped:
                continue
            props = item.get("properties") or {}
            if kind == "update":
                existing, created = str(item["id"]), None
                self.edit("contact", existing, **props)
            else:
                existing = next((k for k, o in self.store["contact"].items()
                                 if not o["archived"] and o["properties"].get("email") == item.get("id")), None)
                created = existing is None
                if existing:
                    self.edit("contact", existing, **props)
                else:
                    existing = self.put("contact", **{**props, "email": item.get("id")})
            result = copy.deepcopy(self.store["contact"][existing])
            if created is not None:
                result["new"] = created
            if item.get("objectWriteTraceId"):
                result["objectWriteTraceId"] = item["objectWriteTraceId"]
            results.append(result)
        answer: dict[str, Any] = {"status": "COMPLETE", "results": results[::-1], "startedAt": _iso(self.clock),
                                  "completedAt": _iso(self.clock)}
        if not refused:
            return 200, answer
        answer["numErrors"] = len(refused)
        answer["errors"] = [{"status": "error", "category": category, "message": message,
                             "context": {"objectWriteTraceId": [str(item["objectWriteTraceId"])]},
                             "errors": [], "links": {}} for item, category, message in refused]
        return 207, answer


@contextmanager
def served(fake: HubspotFake) -> Iterator[str]:
    """The fake on a real 127.0.0.1 HTTP server too (the origin is yielded), for clients that do
    not go through ``requests`` -- HubSpot's own SDK speaks urllib3. Every call lands in
    ``fake.handle`` exactly as the hub's client's calls do."""

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = SimpleNamespace(method=self.command, url=ORIGIN + self.path, headers=self.headers,
                                      body=self.rfile.read(length) if length else None)
            status, headers, text = fake.handle(request)
            data = text.encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="fake-hubspot", daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


@pytest.fixture
def hubspot_fake() -> Iterator[HubspotFake]:
    """The fake, answering every call to api.hubapi.com; other hosts pass through."""
    fake = HubspotFake()
    with requests_mocked(("POST", TOKEN_URL, fake.token_endpoint),
                         *((m, under(ORIGIN, r"/crm/.*"), fake.handle) for m in ("GET", "POST", "PATCH", "DELETE"))):
        yield fake
