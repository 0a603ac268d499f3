"""Stripe's adapter: the secret (or restricted) key as a Bearer token, and the sync seam
against the REST API (https://docs.stripe.com/api). Every call goes through the hub's
``ProviderClient`` (rate limit, deadline, size cap, redaction), never through the SDK's own
HTTP; the ``stripe`` package is the tests' source of truth for shapes and signatures.

What is supported, and how:

- **Containers**: none to pick. Each remote type is its own collection
  (``pair_containers``): ``payment_intent`` (imported into payments) and ``customer``
  (clients, both ways). The container is the remote type.
- **Changes** (``list_changes``). The cursor is this module's JSON, opaque to the engine:

  * no cursor: a full listing of the type (``GET /v1/payment_intents`` or
    ``/v1/customers``, ``limit=100``, paged with ``starting_after``; payment intents with
    ``expand[]=data.latest_charge`` so refunds are seen), remembering when it started;
  * then the Events API (``GET /v1/events?created[gte]=T&types[]=...``,
    https://docs.stripe.com/api/events/list), paged with ``starting_after``. Events come
    newest first, so an event is only a *change detector*: each object it names is read
    again (``GET /v1/payment_intents/{id}?expand[]=latest_charge``) and its current state
    is the change. Order does not matter, an event seen twice (the listing and the webhook,
    or a page read again after a crash) yields the same record, and the engine's link hash
    makes the second one change nothing. The next ``T`` is the newest ``created`` seen
    (``gte``: events of that second are read again, harmlessly).
  * Stripe keeps events **30 days**: a cursor older than ``EVENT_RETENTION`` (29 days, a
    day's margin) or a ``starting_after`` Stripe no longer knows (400 ``resource_missing``)
    raises ``CursorInvalid`` -- the engine then lists everything again and reconciles.
  * Charge and refund events (``charge.refunded``, ``refund.*``) name their payment intent
    (``data.object.payment_intent``); charges made without a payment intent (the legacy
    Charges API) are not imported (see the catalog's maturity note).
  * ``customer.deleted`` is a removal.
- **Records**: ``RemoteChange.raw`` is Stripe's object as the API returns it, plus three
  ``hub_*`` fields the default mapping reads: ``hub_amount`` (Decimal string in major units:
  ``amount`` / 10^exponent of the currency, integer arithmetic, never a float),
  ``hub_currency`` (upper case) and ``hub_status`` (the payment's status: ``succeeded`` ->
  paid, ``canceled`` -> cancelled, a fully refunded latest charge -> refunded, else pending).
  ``hub_id`` is ``metadata.architectStudioId``; ``modified_at`` is ``created`` (Stripe has no
  updated time); ``version`` is absent (Stripe has no conditional writes).
- **Writes** (customers): ``POST /v1/customers`` form-encoded with
  ``metadata[architectStudioId]`` and ``Idempotency-Key: architect-studio-customer-<hub id>``,
  so a retried create returns the first customer (https://docs.stripe.com/api/idempotent_requests);
  ``POST /v1/customers/{id}`` to update (last writer wins: Stripe offers no If-Match);
  ``DELETE /v1/customers/{id}`` (404 = already gone). Payment intents are import only.
- **Errors**: 401 -> ``CredentialsRefused`` (the key was revoked or rolled: the engine
  marks the integration expired); 429 is waited out by the client (``Retry-After`` and the
  catalog's bucket) and 5xx retried there for reads; what is still an error is a
  ``StripeError`` with Stripe's ``error.type``/``code`` (never the key).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from integrations.providers._payments import MoneyError, PaymentSettings, money, to_decimal
from integrations.providers.adapter import (
    Answer,
    Caller,
    ChangePage,
    CursorInvalid,
    ProviderAdapter,
    RemoteChange,
    cursor_state,
    cursor_text,
)
from integrations.providers.common import AnswerError, answer_data, field_mappings

PAGE_SIZE = 100  # Stripe's maximum
HUB_ID_KEY = "architectStudioId"
#: Stripe keeps events 30 days (https://docs.stripe.com/api/events): a day's margin.
EVENT_RETENTION = 29 * 24 * 3600
#: A full listing remembers its start this much earlier (clock skew; re-reading is harmless).
LISTING_MARGIN = 300

PATHS = {"payment_intent": "/v1/payment_intents", "customer": "/v1/customers"}
#: Event types per remote type (``types[]``, at most 20: https://docs.stripe.com/api/events/list).
EVENT_TYPES = {
    "payment_intent": (
        "payment_intent.created", "payment_intent.succeeded", "payment_intent.canceled",
        "payment_intent.processing", "payment_intent.payment_failed", "payment_intent.requires_action",
        "payment_intent.amount_capturable_updated", "payment_intent.partially_funded",
        "charge.succeeded", "charge.refunded", "charge.refund.updated", "refund.created", "refund.updated",
    ),
    "customer": ("customer.created", "customer.updated", "customer.deleted"),
}
EXPAND = {"payment_intent": "latest_charge"}

PAYMENT_MAPPING: list[dict[str, Any]] = field_mappings("payment", {"amount": "hub_amount",
                                                                   "currency": "hub_currency",
                                                                   "status": "hub_status",
                                                                   "description": "description"})
CUSTOMER_MAPPING: list[dict[str, Any]] = field_mappings("client", {"name": "name", "email": "email",
                                                                   "phone": "phone",
                                                                   "address": "address.line1"})
#: What a customer create/update may send (the mapped fields; anything else is not ours to write).
CUSTOMER_FIELDS = ("name", "email", "phone", "description")


class StripeError(AnswerError):
    """An answer the sync cannot use; carries the status and Stripe's error type/code."""

    provider = "Stripe"

    def __init__(self, what: str, response: Answer) -> None:
        error = (response.data or {}).get("error") if isinstance(response.data, dict) else None
        error = error if isinstance(error, dict) else {}
        self.type = str(error.get("type") or "")[:60]
        self.code = str(error.get("code") or "")[:60]
        super().__init__(what, response.status, ", ".join(x for x in (self.type, self.code) if x))


class StripeAdapter(PaymentSettings, ProviderAdapter):
    clock = staticmethod(time.time)
    #: A verified event (Stripe-Signature with the endpoint's whsec_...) wakes an incremental run.
    receives_hooks = True

    def credential_headers(self, values: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {values.get('apiKey', '')}"}

    def pair_containers(self, remote_type: str) -> tuple[str, ...] | None:
        return (remote_type,) if remote_type in PATHS else None

    def default_mappings(self, local_type: str, remote_type: str) -> list[dict[str, Any]]:
        if (local_type, remote_type) == ("payment", "payment_intent"):
            return copy.deepcopy(PAYMENT_MAPPING)
        if (local_type, remote_type) == ("client", "customer"):
            return copy.deepcopy(CUSTOMER_MAPPING)
        return []

    # ------------------------------------------------------------------ changes
    def list_changes(self, client: Caller, *, container: str, cursor: str | None) -> ChangePage:
        if container not in PATHS:
            raise StripeError(f"unknown collection {container[:40]!r}", _Nothing())
        state = _decode(cursor)
        if state is None or state["mode"] == "list":
            return self._list_page(client, container, state or {"since": int(self.clock()) - LISTING_MARGIN})
        return self._events_page(client, container, state)

    def _list_page(self, client: Caller, kind: str, state: dict[str, Any]) -> ChangePage:
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if state.get("after"):
            params["starting_after"] = state["after"]
        if kind in EXPAND:
            params["expand[]"] = f"data.{EXPAND[kind]}"
        data = self._get(client, PATHS[kind], params, what="listing")
        objects = [o for o in data.get("data") or [] if isinstance(o, dict) and o.get("id")]
        changes = tuple(_change(kind, o) for o in objects)
        if data.get("has_more") and objects:
            return ChangePage(changes, _encode(mode="list", since=state["since"], after=objects[-1]["id"]), done=False)
        return ChangePage(changes, _encode(mode="events", gte=state["since"]), done=True)

    def _events_page(self, client: Caller, kind: str, state: dict[str, Any]) -> ChangePage:
        if self.clock() - state["gte"] > EVENT_RETENTION:
            raise CursorInvalid("the cursor is older than the 30 days Stripe keeps events")
        params: dict[str, Any] = {"limit": PAGE_SIZE, "created[gte]": state["gte"], "types[]": list(EVENT_TYPES[kind])}
        if state.get("after"):
            params["starting_after"] = state["after"]
        data = self._get(client, "/v1/events", params, what="event listing")
        events = [e for e in data.get("data") or [] if isinstance(e, dict) and e.get("id")]
        top = max([state.get("top") or state["gte"], *(int(e.get("created") or 0) for e in events)])
        changes = self._changes_of(client, kind, events)
        if data.get("has_more") and events:
            return ChangePage(changes, _encode(mode="events", gte=state["gte"], after=events[-1]["id"], top=top),
                              done=False)
        return ChangePage(changes, _encode(mode="events", gte=top), done=True)

    def event_changes(self, client: Caller, *, container: str, events: list[Mapping[str, Any]]) -> tuple[RemoteChange, ...]:
        """The records a batch of events names (the webhook's event, or a page of the Events
        API), each read again from Stripe: what both roads hand to the same upsert."""
        return self._changes_of(client, container, [e for e in events if isinstance(e, Mapping)])

    def _changes_of(self, client: Caller, kind: str, events: list[Mapping[str, Any]]) -> tuple[RemoteChange, ...]:
        wanted: dict[str, bool] = {}  # object id -> deleted (first seen wins: newest first)
        for event in events:
            if event.get("type") not in EVENT_TYPES[kind]:
                continue
            obj = ((event.get("data") or {}).get("object") or {}) if isinstance(event.get("data"), dict) else {}
            if not isinstance(obj, dict):
                continue
            object_id = obj.get("id") if obj.get("object") == kind else obj.get("payment_intent")
            if isinstance(object_id, dict):  # an expanded payment_intent
                object_id = object_id.get("id")
            if isinstance(object_id, str) and object_id:
                wanted.setdefault(object_id, event.get("type") == f"{kind}.deleted")
        changes = []
        for object_id, deleted in wanted.items():
            if deleted:
                changes.append(RemoteChange(remote_id=object_id, deleted=True))
                continue
            params = {"expand[]": EXPAND[kind]} if kind in EXPAND else None
            response = client.request("GET", f"{PATHS[kind]}/{quote(object_id, safe='')}", params=params)
            if response.status == 404:
                changes.append(RemoteChange(remote_id=object_id, deleted=True))
                continue
            obj = self._data(response, what="object read")
            changes.append(RemoteChange(remote_id=object_id, deleted=True) if obj.get("deleted")
                           else _change(kind, obj))
        return tuple(changes)

    def _get(self, client: Caller, path: str, params: dict[str, Any], *, what: str) -> dict[str, Any]:
        response = client.request("GET", path, params=params)
        if response.status == 400 and params.get("starting_after") and _code(response) == "resource_missing":
            raise CursorInvalid("Stripe no longer knows the object the cursor starts after")
        return self._data(response, what=what)

    @staticmethod
    def _data(response: Answer, *, what: str) -> dict[str, Any]:
        return answer_data(response, what, error=StripeError,
                           refused="Stripe refused the API key (revoked or rolled): reconnect Stripe")

    # ------------------------------------------------------------------ writes (customers)
    def push_create(self, client: Caller, *, container: str, record: Mapping[str, Any], hub_id: str) -> RemoteChange:
        self._writable(container)
        body = _form(record)
        body[f"metadata[{HUB_ID_KEY}]"] = str(hub_id)
        response = client.request("POST", PATHS[container], data=body, idempotent=True,
                                  headers={"Idempotency-Key": f"architect-studio-{container}-{hub_id}"})
        return _change(container, self._data(response, what="customer create"))

    def push_update(self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
                    version: str | None) -> RemoteChange:
        self._writable(container)
        response = client.request("POST", f"{PATHS[container]}/{quote(remote_id, safe='')}", data=_form(record),
                                  idempotent=True)
        return _change(container, self._data(response, what="customer update"))

    def push_delete(self, client: Caller, *, container: str, remote_id: str, version: str | None) -> None:
        self._writable(container)
        response = client.request("DELETE", f"{PATHS[container]}/{quote(remote_id, safe='')}")
        if response.status == 404:
            return
        self._data(response, what="customer delete")

    @staticmethod
    def _writable(container: str) -> None:
        if container != "customer":
            raise StripeError(f"{container[:40]} is import only", _Nothing())


# ---------------------------------------------------------------------- helpers
class _Nothing:
    status, data, text, headers, ok = 0, None, "", {}, False


def _code(response: Answer) -> str:
    error = (response.data or {}).get("error") if isinstance(response.data, dict) else None
    return str(error.get("code") or "") if isinstance(error, dict) else ""


def _form(record: Mapping[str, Any]) -> dict[str, str]:
    """A mapped customer as Stripe's form fields (``address[line1]`` for the nested address)."""
    body = {k: "" if record.get(k) is None else str(record[k]) for k in CUSTOMER_FIELDS if k in record}
    address = record.get("address")
    if isinstance(address, Mapping) and "line1" in address:
        body["address[line1]"] = str(address.get("line1") or "")
    return body


def _status(obj: Mapping[str, Any]) -> str:
    charge = obj.get("latest_charge")
    if isinstance(charge, Mapping) and charge.get("refunded"):
        return "refunded"
    return {"succeeded": "paid", "canceled": "cancelled"}.get(str(obj.get("status")), "pending")


def _change(kind: str, obj: Mapping[str, Any]) -> RemoteChange:
    raw = dict(obj)
    if kind == "payment_intent":
        currency = str(obj.get("currency") or "").upper()
        try:
            raw["hub_amount"] = money(to_decimal(obj.get("amount"), currency))
        except MoneyError:
            raw["hub_amount"] = None  # the entity refuses a payment without an amount: a failed item
        raw["hub_currency"], raw["hub_status"] = currency or None, _status(obj)
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    created = obj.get("created")
    return RemoteChange(
        remote_id=str(obj.get("id") or ""), deleted=bool(obj.get("deleted")), raw=raw,
        modified_at=datetime.fromtimestamp(created, tz=UTC) if isinstance(created, int) else None,
        hub_id=str(metadata.get(HUB_ID_KEY)) if metadata.get(HUB_ID_KEY) else None,
    )


def _encode(**state: Any) -> str:
    return cursor_text(**state)


def _decode(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    state = cursor_state(cursor, "Stripe")
    if state.get("mode") not in ("list", "events"):
        raise CursorInvalid("not a Stripe cursor")
    key = "since" if state["mode"] == "list" else "gte"
    if isinstance(state.get(key), bool) or not isinstance(state.get(key), int):
        raise CursorInvalid("not a Stripe cursor")
    return state
