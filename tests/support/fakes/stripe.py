"""A fake Stripe API: a real HTTP server on 127.0.0.1 implementing the documented semantics
the hub's Stripe adapter uses. Objects are shaped as Stripe's API reference shows them:

- PaymentIntent: https://docs.stripe.com/api/payment_intents/object (``amount`` in the
  currency's minor unit, ``currency`` lower case, ``status``, ``latest_charge`` -- an id, or
  the Charge with ``expand[]=latest_charge`` / ``expand[]=data.latest_charge`` on lists:
  https://docs.stripe.com/expand);
- Charge: https://docs.stripe.com/api/charges/object (``refunded``, ``amount_refunded``,
  ``payment_intent``); Refund: https://docs.stripe.com/api/refunds/object;
- Customer: https://docs.stripe.com/api/customers/object; a deleted one reads
  ``{"id", "object": "customer", "deleted": true}`` (https://docs.stripe.com/api/customers/delete);
- Event: https://docs.stripe.com/api/events/object (``data.object`` the object's state at the
  event, ``created`` unix seconds, ``type``).

Endpoints: ``GET /v1/payment_intents`` and ``/v1/customers`` (lists: newest first, ``limit``
1-100 default 10, ``starting_after``, ``has_more``, ``url``: https://docs.stripe.com/api/pagination),
``GET /v1/payment_intents/{id}``, ``GET|POST|DELETE /v1/customers[/{id}]`` (form-encoded
bodies, ``metadata[key]``, ``address[line1]``), ``GET /v1/events`` (``created[gte]``,
``types[]``, newest first; events older than 30 days are gone: https://docs.stripe.com/api/events/list).
``Idempotency-Key`` on a POST returns the first answer again
(https://docs.stripe.com/api/idempotent_requests). Errors as https://docs.stripe.com/api/errors
shows them: 401 ``invalid_request_error`` for a bad key, 404 / 400 ``resource_missing``
(also for a ``starting_after`` the list does not hold), 429 ``rate_limit``.

Chosen here (not documented): ``fail(status, times, retry_after)`` answers the next calls
with that status (optionally only calls of one method); ids are sequential; ``now`` is settable (``clock``).
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.fakes.base import FakeServer, running

API_VERSION = "2024-06-20"
RETENTION = 30 * 24 * 3600


class FakeStripe(FakeServer):
    name = "fake-stripe"

    def __init__(self, *, api_key: str = "sk_test_4eC39HqLyjWDarjtT1zdp7dc") -> None:
        self.api_key = api_key
        self.now = int(time.time())
        self.objects: dict[str, dict[str, Any]] = {}  # id -> object (payment intents, charges, customers)
        self.order: dict[str, list[str]] = {"payment_intent": [], "customer": []}  # creation order
        self.events: list[dict[str, Any]] = []  # oldest first
        self.requests: list[tuple[str, str, dict]] = []
        self.failures: list[tuple[int, float | None, str | None]] = []
        self.idempotent: dict[str, tuple[int, dict]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ what a user does at Stripe
    def _id(self, prefix: str) -> str:
        return f"{prefix}_3Mtw{next(self._ids):010d}"

    def _emit(self, kind: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
        self.now += 1
        event = {"id": self._id("evt"), "object": "event", "api_version": API_VERSION, "created": self.now,
                 "data": {"object": copy.deepcopy(obj), **({"previous_attributes": previous} if previous else {})},
                 "livemode": False, "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
                 "type": kind}
        self.events.append(event)
        return event

    def payment_intent(self, amount: int, currency: str = "ils", *, description: str | None = None,
                       customer: str | None = None, metadata: dict | None = None) -> str:
        with self._lock:
            self.now += 1
            pi = {"id": self._id("pi"), "object": "payment_intent", "amount": amount, "amount_capturable": 0,
                  "amount_received": 0, "automatic_payment_methods": {"enabled": True}, "canceled_at": None,
                  "capture_method": "automatic", "client_secret": "pi_secret_hidden", "confirmation_method":
                  "automatic", "created": self.now, "currency": currency, "customer": customer,
                  "description": description, "latest_charge": None, "livemode": False, "metadata": metadata or {},
                  "payment_method": None, "payment_method_types": ["card"], "status": "requires_payment_method"}
            self.objects[pi["id"]] = pi
            self.order["payment_intent"].append(pi["id"])
            self._emit("payment_intent.created", pi)
            return pi["id"]

    def succeed(self, pi_id: str) -> dict[str, Any]:
        """The payer paid: a Charge, the intent ``succeeded``; returns the event."""
        with self._lock:
            pi = self.objects[pi_id]
            self.now += 1
            charge = {"id": self._id("ch"), "object": "charge", "amount": pi["amount"], "amount_captured": pi["amount"],
                      "amount_refunded": 0, "captured": True, "created": self.now, "currency": pi["currency"],
                      "customer": pi["customer"], "paid": True, "payment_intent": pi_id, "refunded": False,
                      "status": "succeeded", "refunds": {"object": "list", "data": [], "has_more": False}}
            self.objects[charge["id"]] = charge
            previous = {"status": pi["status"]}
            pi.update(status="succeeded", amount_received=pi["amount"], latest_charge=charge["id"])
            self._emit("charge.succeeded", charge)
            return self._emit("payment_intent.succeeded", pi, previous)

    def refund(self, pi_id: str) -> dict[str, Any]:
        """A full refund of the intent's charge; returns the ``charge.refunded`` event."""
        with self._lock:
            charge = self.objects[self.objects[pi_id]["latest_charge"]]
            self.now += 1
            refund = {"id": self._id("re"), "object": "refund", "amount": charge["amount"], "charge": charge["id"],
                      "created": self.now, "currency": charge["currency"], "payment_intent": pi_id,
                      "status": "succeeded", "reason": None, "metadata": {}}
            charge.update(refunded=True, amount_refunded=charge["amount"])
            charge["refunds"]["data"].append(refund)
            self._emit("refund.created", refund)
            return self._emit("charge.refunded", charge, {"refunded": False, "amount_refunded": 0})

    def cancel(self, pi_id: str) -> None:
        with self._lock:
            pi = self.objects[pi_id]
            pi.update(status="canceled", canceled_at=self.now)
            self._emit("payment_intent.canceled", pi)

    def customer(self, name: str, email: str = "", **fields: Any) -> str:
        with self._lock:
            return self._create_customer({"name": name, "email": email, **fields})["id"]

    def _create_customer(self, fields: dict[str, Any]) -> dict[str, Any]:
        self.now += 1
        address = fields.pop("address", None)
        customer = {"id": self._id("cus"), "object": "customer", "address": address, "balance": 0,
                    "created": self.now, "currency": None, "description": None, "email": None, "livemode": False,
                    "metadata": {}, "name": None, "phone": None, **fields}
        self.objects[customer["id"]] = customer
        self.order["customer"].append(customer["id"])
        self._emit("customer.created", customer)
        return customer

    def delete_customer(self, customer_id: str) -> dict[str, Any]:
        with self._lock:
            customer = self.objects.pop(customer_id)
            self.order["customer"].remove(customer_id)
            self._emit("customer.deleted", customer)
            return {"id": customer_id, "object": "customer", "deleted": True}

    def fail(self, status: int, times: int = 1, retry_after: float | None = None, method: str | None = None) -> None:
        """The next ``times`` calls (of ``method`` only, when given) answer ``status``."""
        self.failures += [(status, retry_after, method)] * times

    def advance(self, seconds: int) -> None:
        """Time passes at Stripe (events older than 30 days are gone)."""
        self.now += seconds

    def count(self, method: str | None = None, path: str | None = None) -> int:
        return sum(1 for m, p, _ in self.requests if (method is None or m == method) and (path is None or p == path))

    # ------------------------------------------------------------------ the API
    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, dict]:
        url = urlsplit(target)
        status, payload, extra = self.answer(method, url.path, parse_qs(url.query),
                                             parse_qs(body.decode(), keep_blank_values=True), headers)
        return status, payload, {"Request-Id": "req_fake", **extra}

    def answer(self, method: str, path: str, query: dict[str, list[str]], form: dict[str, list[str]],
               headers: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            self.requests.append((method, path, {**query, **form}))
            if headers.get("authorization") != f"Bearer {self.api_key}":
                return 401, _error("invalid_request_error", None, "Invalid API Key provided: sk_test_****"), {}
            due = next((f for f in self.failures if f[2] in (None, method)), None)
            if due is not None:
                self.failures.remove(due)
                status, retry_after, _ = due
                extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
                kind = {429: ("rate_limit_error", "rate_limit")}.get(status, ("api_error", None))
                if 400 <= status < 500 and status != 429:
                    kind = ("invalid_request_error", "parameter_invalid_integer")
                return status, _error(kind[0], kind[1], "injected"), extra
            key = headers.get("idempotency-key")
            if method == "POST" and key and key in self.idempotent:
                status, body = self.idempotent[key]
                return status, copy.deepcopy(body), {"Idempotent-Replayed": "true"}
            status, body = self._route(method, path, query, form)
            if method == "POST" and key:
                self.idempotent[key] = (status, copy.deepcopy(body))
            return status, body, {}

    def _route(self, method: str, path: str, query: dict, form: dict) -> tuple[int, dict]:
        parts = path.strip("/").split("/")
        if parts[:1] != ["v1"] or len(parts) < 2:
            return 404, _error("invalid_request_error", None, f"Unrecognized request URL ({method}: {path}).")
        resource, object_id = parts[1], (parts[2] if len(parts) > 2 else None)
        if resource == "events" and method == "GET" and object_id is None:
            return self._list_events(query)
        kind = {"payment_intents": "payment_intent", "customers": "customer"}.get(resource)
        if kind is None:
            return 404, _error("invalid_request_error", None, f"Unrecognized request URL ({method}: {path}).")
        if object_id is None and method == "GET":
            return self._list(kind, query, f"/v1/{resource}")
        if kind == "customer" and object_id is None and method == "POST":
            return 200, self._create_customer(_fields(form))
        if object_id is None:
            return 405, _error("invalid_request_error", None, "method not allowed")
        obj = self.objects.get(object_id)
        if obj is None or obj["object"] != kind:
            if kind == "customer" and method == "GET" and object_id.startswith("cus_") and any(
                    e["data"]["object"]["id"] == object_id and e["type"] == "customer.deleted" for e in self.events):
                return 200, {"id": object_id, "object": "customer", "deleted": True}
            return 404, _error("invalid_request_error", "resource_missing", f"No such {kind}: '{object_id}'",
                               param="id")
        if method == "GET":
            return 200, self._expanded(obj, query.get("expand[]", []))
        if kind == "customer" and method == "POST":
            previous = {k: obj.get(k) for k in _fields(form)}
            fields = _fields(form)
            metadata = fields.pop("metadata", {})
            obj.update(fields)
            obj["metadata"].update(metadata)
            self._emit("customer.updated", obj, previous)
            return 200, copy.deepcopy(obj)
        if kind == "customer" and method == "DELETE":
            return 200, self.delete_customer(object_id)
        return 405, _error("invalid_request_error", None, "method not allowed")

    def _expanded(self, obj: dict, expand: list[str], prefix: str = "") -> dict:
        out = copy.deepcopy(obj)
        if f"{prefix}latest_charge" in expand and out.get("latest_charge"):
            out["latest_charge"] = copy.deepcopy(self.objects[out["latest_charge"]])
        return out

    def _page(self, items: list[dict], query: dict, url: str) -> tuple[int, dict]:
        limit = int((query.get("limit") or ["10"])[0])
        if not 1 <= limit <= 100:
            return 400, _error("invalid_request_error", "parameter_invalid_integer",
                               "Invalid integer: limit must be between 1 and 100", param="limit")
        after = (query.get("starting_after") or [None])[0]
        start = 0
        if after is not None:
            ids = [i["id"] for i in items]
            if after not in ids:
                return 400, _error("invalid_request_error", "resource_missing", f"No such object: '{after}'",
                                   param="starting_after")
            start = ids.index(after) + 1
        page = items[start:start + limit]
        return 200, {"object": "list", "data": page, "has_more": start + limit < len(items), "url": url}

    def _list(self, kind: str, query: dict, url: str) -> tuple[int, dict]:
        expand = query.get("expand[]", [])
        items = [self._expanded(self.objects[i], expand, "data.") for i in reversed(self.order[kind])]
        return self._page(items, query, url)

    def _list_events(self, query: dict) -> tuple[int, dict]:
        live = [e for e in self.events if e["created"] > self.now - RETENTION]
        gte = (query.get("created[gte]") or [None])[0]
        if gte is not None:
            live = [e for e in live if e["created"] >= int(gte)]
        types = query.get("types[]")
        if types:
            live = [e for e in live if e["type"] in types]
        return self._page(list(reversed(live)), query, "/v1/events")


def _fields(form: dict[str, list[str]]) -> dict[str, Any]:
    """Stripe's form encoding: ``name=...``, ``metadata[key]=...``, ``address[line1]=...``."""
    out: dict[str, Any] = {}
    for key, values in form.items():
        value = values[-1]
        if "[" in key and key.endswith("]"):
            outer, inner = key[:-1].split("[", 1)
            out.setdefault(outer, {})[inner] = value
        else:
            out[key] = value or None
    return out


def _error(kind: str, code: str | None, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message, **({"code": code} if code else {}), **extra}}


@pytest.fixture
def stripe_fake() -> Iterator[FakeStripe]:
    with running(FakeStripe()) as fake:
        yield fake
