"""HubSpot's adapter: the OAuth bearer token, and the sync seam against the CRM v3 objects API
(https://developers.hubspot.com/docs/api/crm/contacts ,
https://developers.hubspot.com/docs/api/crm/search). Every call goes through the hub's
``ProviderClient`` (rate limit, token refresh, deadline, size cap, redaction).

What is supported, and how:

- **Containers**: none to pick. Each remote type is its own collection (``pair_containers``):
  ``contact`` (clients, both ways) and ``company`` (clients, import).
- **Changes** (``list_changes``): CRM search, ``POST /crm/v3/objects/{contacts|companies}/search``
  with one filter ``<modified> GTE <since ms>`` sorted ascending on the same property
  (``lastmodifieddate`` for contacts, ``hs_lastmodifieddate`` for companies: the search page
  says contacts keep the older name), ``limit`` 100 and HubSpot's ``after`` paging. The cursor
  is this module's JSON ``{"since", "after", "top"}``, opaque to the engine; no cursor lists
  everything (``since`` 0). A search answers at most 10,000 results: before ``after`` reaches
  that, the window slides (``since`` = the newest modified time seen, ``after`` dropped), so a
  large portal is read in windows. The next run starts at the newest modified time seen
  (``GTE``: records of that millisecond are read again, harmlessly: the engine's link hash makes
  an unchanged record change nothing). A cursor HubSpot refuses (400 on ``after``) or one this
  module cannot read raises ``CursorInvalid``: the engine lists again and reconciles.
- **Removals**: the search API does not return archived records, so a record archived at
  HubSpot is not seen as removed (catalog note). Deleting a client archives the contact.
- **Records**: ``RemoteChange.raw`` is HubSpot's object (``id``, ``properties``, ``createdAt``,
  ``updatedAt``, ``archived``) plus ``properties.hub_name`` (contacts: ``firstname lastname``)
  that the default mapping reads; ``modified_at`` is ``updatedAt``; ``version`` is absent
  (HubSpot offers no conditional writes: last writer wins).
- **Writes** (contacts): a create is ``POST /crm/v3/objects/contacts/batch/upsert`` with
  ``idProperty: email`` (a contact with that email is updated, not duplicated, so a retried
  create is idempotent), or ``POST /crm/v3/objects/contacts`` when the client has no email;
  an update is ``PATCH /crm/v3/objects/contacts/{id}`` with only the mapped properties, so the
  contact's associations (companies, deals) and other properties are kept; a delete is
  ``DELETE /crm/v3/objects/contacts/{id}`` (archive; 404 = already gone). ``hub_name`` is split
  into ``firstname`` / ``lastname`` on the way out.
- **Batches** (``push_batch``, up to ``BATCH_MAX`` = 100 records, HubSpot's batch maximum): the
  export's creates with an email go in one ``batch/upsert`` (``idProperty: email``, as above),
  its updates in one ``POST /crm/v3/objects/contacts/batch/update`` by contact id (only the
  mapped properties, as the PATCH: associations kept, and a changed email renames the same
  contact -- an upsert by the new email would make another); a create without email is still
  one plain create. Every input carries ``objectWriteTraceId`` (the hub id), which turns on
  HubSpot's multi-status answers (https://developers.hubspot.com/docs/api-reference/error-handling
  "Multi-status errors"): a 207 whose ``errors[]`` name the refused inputs in
  ``context.objectWriteTraceId`` -- those records fail alone (as their single call would have:
  a ``HubspotError`` with the error's category and message), the others are written; results
  are matched by the trace id HubSpot echoes (else by email / id: a batch's results are not in
  input order). A batch refused whole by a 4xx (HubSpot rejects, for one, a batch with the
  same email twice) is sent again one input per call, so one bad record never holds back the
  rest. A 401, 429 not waited out or 5xx of a call is the result of each record it carried.
- **Errors**: 401 after the client's one forced refresh -> ``CredentialsRefused`` (the app was
  uninstalled: the integration is marked expired); 429 is waited out by the client
  (``Retry-After`` and the catalog's bucket) and 5xx retried there (searches are sent as
  idempotent); any other answer is a ``HubspotError`` with HubSpot's ``category`` (a failed item
  on export, a failed run on import).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.utils.translation import gettext as _

from integrations.providers.adapter import (
    Answer,
    BatchItem,
    Caller,
    ChangePage,
    CredentialsRefused,
    CursorInvalid,
    ProviderAdapter,
    RemoteChange,
    cursor_state,
    cursor_text,
)
from integrations.providers.common import AnswerError, answer_data, field_mappings, instant

PAGE_SIZE = 100  # the search API's maximum is 200; 100 keeps pages small
#: The most inputs one batch call takes (the contacts batch pages: "up to 100").
BATCH_MAX = 100
#: A search answers at most 10,000 results (https://developers.hubspot.com/docs/api/crm/search#limitations).
SEARCH_WINDOW = 10_000

OBJECTS = {"contact": "contacts", "company": "companies"}
MODIFIED = {"contact": "lastmodifieddate", "company": "hs_lastmodifieddate"}
PROPERTIES = {
    "contact": ("firstname", "lastname", "email", "phone", "address", "city", "lastmodifieddate"),
    "company": ("name", "domain", "phone", "address", "city", "hs_lastmodifieddate"),
}
WRITABLE = ("firstname", "lastname", "email", "phone", "address", "city")

CONTACT_MAPPING: list[dict[str, Any]] = field_mappings("client", {"name": "properties.hub_name",
                                                                  "email": "properties.email",
                                                                  "phone": "properties.phone",
                                                                  "address": "properties.address"})
COMPANY_MAPPING: list[dict[str, Any]] = field_mappings("client", {"name": "properties.name",
                                                                  "phone": "properties.phone",
                                                                  "address": "properties.address"})


class HubspotError(AnswerError):
    """An answer the sync cannot use; carries the status and HubSpot's error category."""

    provider = "HubSpot"

    def __init__(self, what: str, response: Answer | None = None, *, error: Mapping[str, Any] | None = None) -> None:
        # ``error``: one input's entry of a batch answer's ``errors[]`` (same category/message shape)
        data = error if error is not None else (
            response.data if response is not None and isinstance(response.data, dict) else {})
        self.category = str(data.get("category") or "")[:60]
        message = str(data.get("message") or "")[:200]
        super().__init__(what, response.status if response is not None else 0,
                         ": ".join(x for x in (self.category, message) if x))


class HubspotAdapter(ProviderAdapter):
    def pair_containers(self, remote_type: str) -> tuple[str, ...] | None:
        return (remote_type,) if remote_type in OBJECTS else None

    def default_mappings(self, local_type: str, remote_type: str) -> list[dict[str, Any]]:
        if (local_type, remote_type) == ("client", "contact"):
            return copy.deepcopy(CONTACT_MAPPING)
        if (local_type, remote_type) == ("client", "company"):
            return copy.deepcopy(COMPANY_MAPPING)
        return []

    def settings_defaults(self) -> dict[str, Any]:
        return {"autoCreateClients": True}

    def settings_errors(self, value: Mapping[str, Any]) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        for key, item in value.items():
            if key != "autoCreateClients":
                errors[str(key)[:60]] = [_("unknown setting")]
            elif not isinstance(item, bool):
                errors[key] = [_("must be true or false")]
        return errors

    # ------------------------------------------------------------------ changes
    def list_changes(self, client: Caller, *, container: str, cursor: str | None) -> ChangePage:
        if container not in OBJECTS:
            raise HubspotError(f"unknown object type {container[:40]!r}")
        state = _decode(cursor)
        since, after, top = state["since"], state.get("after"), state.get("top", state["since"])
        body: dict[str, Any] = {
            "filterGroups": [{"filters": [{"propertyName": MODIFIED[container], "operator": "GTE",
                                           "value": str(since)}]}],
            "sorts": [{"propertyName": MODIFIED[container], "direction": "ASCENDING"}],
            "properties": list(PROPERTIES[container]),
            "limit": PAGE_SIZE,
        }
        if after:
            body["after"] = after
        response = client.request("POST", f"/crm/v3/objects/{OBJECTS[container]}/search", json=body,
                                  idempotent=True)
        if response.status == 400 and after:
            raise CursorInvalid("HubSpot refused the search cursor")
        data = _data(response, what="search")
        results = [r for r in data.get("results") or [] if isinstance(r, dict) and r.get("id")]
        changes = tuple(_change(container, r) for r in results)
        top = max([top, *(_millis(r, container) for r in results)])
        following = ((data.get("paging") or {}).get("next") or {}).get("after")
        if following and results:
            if _int(following) + PAGE_SIZE > SEARCH_WINDOW:
                # the next page would pass the 10,000-result cap: a new window from the newest seen
                if top <= since:
                    raise HubspotError("search window: more than 10,000 records modified in one millisecond")
                return ChangePage(changes, _encode(since=top, top=top), done=False)
            return ChangePage(changes, _encode(since=since, after=str(following), top=top), done=False)
        return ChangePage(changes, _encode(since=top, top=top), done=True)

    # ------------------------------------------------------------------ writes (contacts)
    def push_create(self, client: Caller, *, container: str, record: Mapping[str, Any], hub_id: str) -> RemoteChange:
        _writable(container)
        properties = _outgoing(record)
        if properties.get("email"):
            response = client.request(
                "POST", "/crm/v3/objects/contacts/batch/upsert", idempotent=True,
                json={"inputs": [{"idProperty": "email", "id": properties["email"], "properties": properties}]})
            results = _data(response, what="contact upsert").get("results") or []
            if not results or not isinstance(results[0], dict):
                raise HubspotError("contact upsert answered no contact", response)
            return _change(container, results[0])
        response = client.request("POST", "/crm/v3/objects/contacts", json={"properties": properties})
        return _change(container, _data(response, what="contact create"))

    def push_update(self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
                    version: str | None) -> RemoteChange:
        _writable(container)
        response = client.request("PATCH", f"/crm/v3/objects/contacts/{quote(remote_id, safe='')}",
                                  json={"properties": _outgoing(record)}, idempotent=True)
        return _change(container, _data(response, what="contact update"))

    push_batch_max = BATCH_MAX

    def push_batch(self, client: Caller, *, container: str,
                   items: Sequence[BatchItem]) -> list[RemoteChange | Exception]:
        _writable(container)
        results: list[RemoteChange | Exception | None] = [None] * len(items)
        upserts: list[_Input] = []
        updates: list[_Input] = []
        for index, item in enumerate(items):
            properties = _outgoing(item.record)
            if item.remote_id is not None:
                updates.append(_Input(index, item.hub_id, item.remote_id, properties))
            elif properties.get("email"):
                upserts.append(_Input(index, item.hub_id, properties["email"], properties))
            else:  # no email to upsert by: a plain create, as push_create makes it
                try:
                    results[index] = self.push_create(client, container=container, record=item.record,
                                                      hub_id=item.hub_id)
                except CredentialsRefused as exc:
                    return [exc if r is None else r for r in results]
                except Exception as exc:  # noqa: BLE001 - this record's failure alone
                    results[index] = exc
        for kind, inputs in (("upsert", upserts), ("update", updates)):
            for entry, result in _batch_write(client, kind, inputs):
                results[entry.index] = result
                if isinstance(result, CredentialsRefused):  # the other calls would meet it too
                    return [result if r is None else r for r in results]
        return [r if r is not None else HubspotError("contact batch answered nothing for this contact")
                for r in results]

    def push_delete(self, client: Caller, *, container: str, remote_id: str, version: str | None) -> None:
        _writable(container)
        response = client.request("DELETE", f"/crm/v3/objects/contacts/{quote(remote_id, safe='')}")
        if response.status == 404:
            return
        _data(response, what="contact archive")


# ---------------------------------------------------------------------- batches
@dataclass(frozen=True)
class _Input:
    """One record of a batch call: its place in ``push_batch``'s items, its trace id (the hub
    id), the id HubSpot knows it by (email for an upsert, contact id for an update)."""

    index: int
    trace: str
    key: str
    properties: dict[str, str]

    def body(self, kind: str) -> dict[str, Any]:
        if kind == "upsert":
            return {"idProperty": "email", "id": self.key, "properties": self.properties,
                    "objectWriteTraceId": self.trace}
        return {"id": self.key, "properties": self.properties, "objectWriteTraceId": self.trace}


def _batch_write(client: Caller, kind: str,
                 inputs: list[_Input]) -> list[tuple[_Input, RemoteChange | Exception]]:
    """One ``batch/<kind>`` call for ``inputs`` (each answered: a contact or its error)."""
    if not inputs:
        return []
    what = f"contact batch {kind}"
    try:
        response = client.request("POST", f"/crm/v3/objects/contacts/batch/{kind}", idempotent=True,
                                  json={"inputs": [entry.body(kind) for entry in inputs]})
    except Exception as exc:  # noqa: BLE001 - network, deadline, rate limiter: this call's records only
        return [(entry, exc) for entry in inputs]  # (the other call of the batch keeps its results)
    if 400 <= response.status < 500 and response.status not in (401, 429) and len(inputs) > 1:
        # refused whole (no multi-status): one input per call, so only the bad record fails
        return [pair for entry in inputs for pair in _batch_write(client, kind, [entry])]
    try:
        data = _data(response, what=what)
    except Exception as exc:  # noqa: BLE001 - the whole call failed: so did each record it carried
        return [(entry, exc) for entry in inputs]
    by_trace = {entry.trace: entry for entry in inputs}
    by_key = {_key(kind, entry.key): entry for entry in inputs}
    answered: dict[int, RemoteChange | Exception] = {}
    for obj in data.get("results") or []:
        if not isinstance(obj, dict) or not obj.get("id"):
            continue
        key = obj["id"] if kind == "update" else (obj.get("properties") or {}).get("email")
        entry = by_trace.get(str(obj.get("objectWriteTraceId") or "")) or by_key.get(_key(kind, key))
        if entry is not None:
            answered[entry.index] = _change("contact", obj)
    for error in data.get("errors") or []:
        if not isinstance(error, dict):
            continue
        context = error.get("context") if isinstance(error.get("context"), dict) else {}
        named = [by_trace.get(str(t)) for t in context.get("objectWriteTraceId") or []]
        named += [by_key.get(_key(kind, i)) for i in context.get("ids") or []]
        for entry in filter(None, named):
            answered[entry.index] = HubspotError(what, response, error=error)
    return [(entry, answered.get(entry.index) or HubspotError(what + " answered nothing for this contact", response))
            for entry in inputs]


def _key(kind: str, value: Any) -> str:
    """How a batch answer names an input: the contact id, or the email (HubSpot keeps emails lower-cased)."""
    return str(value or "") if kind == "update" else str(value or "").strip().lower()


# ---------------------------------------------------------------------- helpers
def _writable(container: str) -> None:
    if container != "contact":
        raise HubspotError(f"{container[:40]} is import only")


def _data(response: Answer, *, what: str) -> dict[str, Any]:
    return answer_data(response, what, error=HubspotError, refused="HubSpot refused the token (the app was uninstalled?): reconnect HubSpot")


def _outgoing(record: Mapping[str, Any]) -> dict[str, str]:
    """The mapped record as HubSpot properties: ``hub_name`` split into first and last name,
    only writable properties, values as strings (HubSpot's property values are strings)."""
    props = dict(record.get("properties") or {}) if isinstance(record.get("properties"), Mapping) else {}
    name = props.pop("hub_name", None)
    if isinstance(name, str) and name.strip():
        first, _, last = name.strip().partition(" ")
        props.setdefault("firstname", first)
        props.setdefault("lastname", last.strip())
    return {k: "" if v is None else str(v) for k, v in props.items() if k in WRITABLE}


def _change(kind: str, obj: Mapping[str, Any]) -> RemoteChange:
    raw = copy.deepcopy(dict(obj))
    props = dict(raw.get("properties") or {})
    if kind == "contact":
        props["hub_name"] = " ".join(p for p in (props.get("firstname"), props.get("lastname")) if p) or (
            props.get("email") or "")
    raw["properties"] = props
    return RemoteChange(remote_id=str(raw["id"]), deleted=bool(raw.get("archived")), raw=raw,
                        modified_at=instant(raw.get("updatedAt"), naive_utc=True))


def _millis(obj: Mapping[str, Any], kind: str) -> int:
    """The record's modified time in ms since the epoch (the property, else ``updatedAt``)."""
    value = (obj.get("properties") or {}).get(MODIFIED[kind]) or obj.get("updatedAt")
    if isinstance(value, str) and value.isdigit():
        return int(value)
    when = instant(value, naive_utc=True)
    return int(when.timestamp() * 1000) if when else 0


def _int(text: Any) -> int:
    try:
        return int(str(text))
    except ValueError:
        return 0


def _encode(**state: Any) -> str:
    return cursor_text(**state)


def _decode(cursor: str | None) -> dict[str, Any]:
    if cursor is None:
        return {"since": 0, "top": 0}
    state = cursor_state(cursor, "HubSpot")
    if not isinstance(state.get("since"), int):
        raise CursorInvalid("not a HubSpot cursor")
    return state
