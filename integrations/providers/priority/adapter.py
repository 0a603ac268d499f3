"""Priority's adapter: Basic auth (user or personal access token), plus the app id/key headers
when the installation requires a registered application; and the sync seam against its REST
API (OData v4 at ``{serverUrl}/odata/Priority/{tabulaIni}/{company}``):
https://prioritysoftware.github.io/restapi/

Form names differ per installation: ``settings.forms`` names the form of each local type
(defaults ``CUSTOMERS``, ``SUPPLIERS``, ``AINVOICES``); the container is the catalog's form
name and every path is ``/{form_<name>}``, filled from the settings (``settings_values``), so
a renamed form needs no code.

What is supported, and how (documented parts only; see the catalog's maturity note):

- **Changes**: with no cursor, ``GET /<FORM>?$top=100&$skip=n`` (paged, v19.1+); with one,
  ``$filter=UDATE ge <time>`` (the form's last-update column, ``+`` URL-encoded) since the
  newest ``UDATE`` seen less ``OVERLAP``, paged the same way
  (https://prioritysoftware.github.io/restapi/query/). There is no deletion feed: a removal is
  found by the next full listing (a sync with ``full``). A 400 for a cursor (a form without
  UDATE) raises ``CursorInvalid``: full listings then.
- **Keys**: customers by ``CUSTNAME``, suppliers by ``SUPNAME``, invoices by ``IVNUM``; a
  customer or supplier the hub creates gets the code ``AS`` + the hub id's first 8 hex digits
  (stable on retry: a second POST of the same code is refused, not duplicated).
- **Writes**: ``POST /<FORM>``, ``PATCH /<FORM>('<key>')``, ``DELETE /<FORM>('<key>')``
  (https://prioritysoftware.github.io/restapi/update/). Priority documents no ETags: an update
  reads the record first and compares ``UDATE`` with the version held (``VersionConflict``).
- **Invoices** (export): ``CUSTNAME`` of the linked customer, ``IVDATE``, ``DETAILS`` and one
  line in ``AINVOICEITEMS_SUBFORM`` (``PARTNAME`` = ``accountMappings.revenue``, ``TQUANT`` 1,
  ``PRICE`` the net amount at ``defaultTaxRate``): the subform and its fields are the
  standard sales-invoice form's and are **unverified** per installation.
- **Webhooks**: a BPM rule's Webhook action calling ``webhookUrl`` (with its ``?secret=``, or
  that secret as the rule's ``priority-bpm-token``) wakes an incremental run of the integration.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from django.utils.translation import gettext as _

from integrations.providers._accounting import (
    AccountingSettings,
    account_for,
    amount_transform,
    split_gross,
    tax_rate,
)
from integrations.providers.adapter import (
    Answer,
    Caller,
    ChangePage,
    CursorInvalid,
    PageSetting,
    ProviderAdapter,
    RemoteChange,
    VersionConflict,
    basic,
    cursor_state,
    cursor_text,
)
from integrations.providers.common import AnswerError, field_mappings, instant, link

PAGE_SIZE = 100
OVERLAP = timedelta(minutes=1)
FORMS = {"client": "CUSTOMERS", "supplier": "SUPPLIERS", "payment": "AINVOICES"}
KEYS = {"CUSTOMERS": "CUSTNAME", "SUPPLIERS": "SUPNAME", "AINVOICES": "IVNUM"}
AMOUNT = amount_transform("CODE")
DEFAULT_MAPPINGS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("client", "CUSTOMERS"): field_mappings("client", {"name": "CUSTDES", "email": "EMAIL", "phone": "PHONE",
                                                       "address": "ADDRESS"}),
    ("supplier", "SUPPLIERS"): field_mappings("supplier", {"name": "SUPDES", "email": "EMAIL", "phone": "PHONE"}),
    ("payment", "AINVOICES"): field_mappings(
        "payment", {"currency": "CODE", "amount": "TOTPRICE", "description": "DETAILS", "clientId": "CUSTNAME"},
        amount=AMOUNT, clientId=link("client")),
}


def _form_errors(value: Any) -> list[str]:
    if not isinstance(value, dict) or set(value) - set(FORMS):
        return [_("must be an object naming the form of %(keys)s") % {"keys": ", ".join(FORMS)}]
    for key, form in value.items():
        if not isinstance(form, str) or not form or len(form) > 40 or not form.replace("_", "").isalnum():
            return [_("forms.%(key)s must be a form name such as %(example)s (letters, digits, '_')")
                % {"key": key, "example": repr(FORMS[key])}]
    return []


class PriorityError(AnswerError):
    provider = "Priority"

    def __init__(self, what: str, response: Answer) -> None:
        super().__init__(what, response.status, _problem(response))


class PriorityAdapter(AccountingSettings, ProviderAdapter):
    EXTRA_KEYS = {"forms": _form_errors}
    EXTRA_DEFAULTS = {"forms": dict(FORMS)}
    page_settings = tuple(PageSetting(f"forms.{local}", "text", blank=form) for local, form in FORMS.items())
    #: BPM webhooks (v20.1+, Webhooks module; https://prioritysoftware.github.io/webhooks) are
    #: unsigned: the call must carry the integration's URL secret, in the URL the hub gives
    #: (``webhookUrl``) or as the rule's static ``priority-bpm-token``. Nothing in the body is
    #: trusted: a call wakes an incremental run, which re-reads the forms (``UDATE ge``).
    receives_hooks = True
    hook_url_secret = True
    hook_secret_header = "priority-bpm-token"

    def credential_headers(self, values: Mapping[str, str]) -> dict[str, str]:
        headers = {"Authorization": basic(values.get("username", ""), values.get("password", ""))}
        if values.get("appId"):
            headers.update({"X-App-Id": values["appId"], "X-App-Key": values.get("appKey", "")})
        return headers

    def settings_values(self, settings: Mapping[str, Any]) -> dict[str, str]:
        chosen = {**FORMS, **((settings or {}).get("forms") or {})}
        return {f"form_{FORMS[local]}": form for local, form in chosen.items() if local in FORMS}

    def pair_containers(self, remote_type: str) -> tuple[str, ...] | None:
        return (remote_type,) if remote_type in KEYS else None

    def default_mappings(self, local_type: str, remote_type: str) -> list[dict[str, Any]]:
        return copy.deepcopy(DEFAULT_MAPPINGS.get((local_type, remote_type), []))

    # ------------------------------------------------------------------ changes
    def list_changes(self, client: Caller, *, container: str, cursor: str | None) -> ChangePage:
        form = _form(container)
        state = _decode(cursor)
        skip = int(state.get("skip", 0))
        params: dict[str, Any] = {"$top": PAGE_SIZE, "$skip": skip}
        since = state.get("since")
        if since:
            params["$filter"] = f"UDATE ge {since}"
            params["$orderby"] = "UDATE"
        response = client.request("GET", f"/{{form_{form}}}", params=params)
        if response.status == 400 and cursor:
            raise CursorInvalid(f"Priority refused the change filter ({_problem(response)})")
        if not response.ok:
            raise PriorityError(f"{form} listing", response)
        items = [i for i in (response.data or {}).get("value") or [] if isinstance(i, dict) and i.get(KEYS[form])] \
            if isinstance(response.data, dict) else []
        changes = tuple(_change(form, item) for item in items)
        seen = [c.modified_at for c in changes if c.modified_at]
        mark = max([*seen, *([datetime.fromisoformat(state["mark"])] if state.get("mark") else [])], default=None)
        if len(items) >= PAGE_SIZE:
            return ChangePage(changes, _encode(since=since, skip=skip + len(items),
                                               mark=mark.isoformat() if mark else None), done=False)
        following = (mark - OVERLAP).isoformat() if mark else (since or datetime.now(UTC).isoformat())
        return ChangePage(changes, _encode(since=following), done=True)

    # ------------------------------------------------------------------ writes
    def push_create(self, client: Caller, *, container: str, record: Mapping[str, Any], hub_id: str) -> RemoteChange:
        form = _form(container)
        body = dict(record)
        if form in ("CUSTOMERS", "SUPPLIERS"):
            body.setdefault(KEYS[form], _code(hub_id))
        response = client.request("POST", f"/{{form_{form}}}", json=body)
        if response.status == 409 and body.get(KEYS[form]):  # created by an earlier attempt
            return self._read(client, form, str(body[KEYS[form]]))
        if not response.ok:
            raise PriorityError(f"{form} create", response)
        return _change(form, response.data if isinstance(response.data, dict) else body)

    def push_update(self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
                    version: str | None) -> RemoteChange:
        form = _form(container)
        current = self._read(client, form, remote_id)
        if version is not None and current.version != version:
            raise VersionConflict(f"{form} {remote_id} changed in Priority since it was read (UDATE)")
        body = {k: v for k, v in record.items() if k != KEYS[form]}
        response = client.request("PATCH", f"/{{form_{form}}}{_key(remote_id)}", json=body, idempotent=True)
        if not response.ok:
            raise PriorityError(f"{form} update", response)
        return _change(form, response.data if isinstance(response.data, dict) else {**current.raw, **body})

    def push_delete(self, client: Caller, *, container: str, remote_id: str, version: str | None) -> None:
        form = _form(container)
        response = client.request("DELETE", f"/{{form_{form}}}{_key(remote_id)}")
        if response.ok or response.status == 404:
            return
        raise PriorityError(f"{form} delete", response)

    def _read(self, client: Caller, form: str, remote_id: str) -> RemoteChange:
        response = client.request("GET", f"/{{form_{form}}}{_key(remote_id)}")
        if not response.ok:
            raise PriorityError(f"{form} read", response)
        return _change(form, response.data if isinstance(response.data, dict) else {})

    def complete_record(self, record: Mapping[str, Any], *, local_type: str, remote_type: str,
                        settings: Mapping[str, Any], hub_id: str, create: bool) -> dict[str, Any]:
        body = copy.deepcopy(dict(record))
        if remote_type != "AINVOICES":
            return body
        gross = body.pop("TOTPRICE", None)
        body.pop("CODE", None)  # the invoice's currency is the customer's in Priority (unverified)
        if create:
            body.setdefault("IVDATE", datetime.now(UTC).date().isoformat() + "T00:00:00+00:00")
        if gross is not None:
            net, _ = split_gross(gross, tax_rate(settings))
            line: dict[str, Any] = {"TQUANT": 1, "PRICE": float(net)}
            part = account_for(settings, category=None, kind="revenue")
            if part:
                line["PARTNAME"] = part
            body["AINVOICEITEMS_SUBFORM"] = [line]
        return body


def _form(container: str) -> str:
    if container not in KEYS:
        raise CursorInvalid(f"{container[:40]!r} is not a Priority form this hub syncs")
    return container


def _key(remote_id: str) -> str:
    """``('C0001')`` with OData's quote doubling, URL-quoted."""
    return "(" + quote("'" + remote_id.replace("'", "''") + "'", safe="'") + ")"


def _code(hub_id: str) -> str:
    try:
        return "AS" + uuid.UUID(str(hub_id)).hex[:8].upper()
    except ValueError:
        return "AS" + str(hub_id)[:8].upper()


def _encode(**values: Any) -> str:
    return cursor_text(**values)


def _decode(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {}
    data = cursor_state(cursor, "Priority")
    try:
        if set(data) - {"since", "skip", "mark"}:
            raise ValueError
        for key in ("since", "mark"):
            if key in data:
                datetime.fromisoformat(data[key])
    except (ValueError, TypeError):
        raise CursorInvalid("not a Priority cursor") from None
    return data


def _change(form: str, item: Mapping[str, Any]) -> RemoteChange:
    modified = instant(item.get("UDATE"))
    return RemoteChange(remote_id=str(item.get(KEYS[form]) or ""), deleted=False, raw=item,
                        version=str(item["UDATE"]) if item.get("UDATE") else None, modified_at=modified)


def _problem(response: Answer) -> str:
    data = response.data if isinstance(response.data, dict) else {}
    error = data.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or "")[:200]
    return (response.text or "")[:200] if not data else ""
