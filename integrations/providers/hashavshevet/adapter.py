"""Hashavshevet's adapter (WizCloud, Wizsoft's cloud Hashavshevet): push only, hub ->
Hashavshevet, built to the public WizCloud REST documentation (https://docs.wizcloud.co.il).

- **Session**: ``GET /createSession/{privateKey}/{dbName}`` gives a ``wizAuthToken`` (24 h),
  sent as ``Authorization`` on every later ``POST /{apiPath}``
  (https://docs.wizcloud.co.il/docs/getting-started). One session per sync run (kept on the
  run's client); the key travels in the path, which the hub's client redacts from its logs.
- **Changes**: none -- WizCloud publishes no change feed and no webhooks, so ``list_changes``
  answers one empty, final page (an import is a no-op).
- **Clients and suppliers** -> accounts (``IndexApi/importIndex`` with ``myindex: "acc"``,
  ``insertnew`` / ``updexist``; rows ``AccountKey`` (max 15), ``FullName`` (50), ``Phone``
  (30), ``Address`` (50): https://docs.wizcloud.co.il/docs/indexes). The hub's accounts get the
  key ``AS`` + the hub id's first 8 hex digits, so a retried create updates the same account.
  WizCloud documents no account deletion: a local deletion leaves the account (logged).
- **Payments and expenses** -> documents (``invApi/createDoc``: ``rows.DocumentID`` = the
  document type of ``settings.documentTypes``, ``AccountKey`` of the linked client / supplier,
  ``moves`` of ``ItemKey`` (``accountMappings.revenue`` / the expense's category account),
  ``Quantity`` 1, ``Price`` the net amount at ``defaultTaxRate``). Issued accounting documents
  cannot be changed or deleted (a credit document corrects them), so an update or a deletion of
  an exported payment is refused as a failed item naming that.
- **Unverified** (no sandbox, no published answers): the answers' shapes (the session token's
  form, the created document's id field -- ``DocumentID``/``StockID``/``docnum`` are tried), the
  document type ids of a company, and limits (none published; the catalog's hub default).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from integrations.providers._accounting import AccountingSettings, account_for, split_gross, tax_rate
from integrations.providers.adapter import (
    Answer,
    Caller,
    ChangePage,
    PageSetting,
    ProviderAdapter,
    RemoteChange,
)
from integrations.providers.common import field_mappings, link

SESSION_ATTR = "_wizcloud_session"
DOCUMENT_DEFAULTS = {"payment": 1, "expense": None}
CATEGORY_KEY = "_category"

DEFAULT_MAPPINGS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("client", "account"): field_mappings("client", {"name": "FullName", "phone": "Phone", "address": "Address"}),
    ("supplier", "account"): field_mappings("supplier", {"name": "FullName", "phone": "Phone"}),
    ("payment", "document"): field_mappings(
        "payment", {"amount": "_gross", "description": "Details", "clientId": "AccountKey"}, clientId=link("client")),
    ("expense", "document"): field_mappings(
        "expense", {"amount": "_gross", "description": "Details", "category": CATEGORY_KEY,
                    "supplierId": "AccountKey"}, supplierId=link("supplier")),
}


def _document_type_errors(value: Any) -> list[str]:
    if not isinstance(value, dict) or set(value) - set(DOCUMENT_DEFAULTS):
        return [_("must be an object {payment, expense} of Hashavshevet document type ids")]
    for key, type_id in value.items():
        if type_id is not None and (isinstance(type_id, bool) or not isinstance(type_id, int) or not 0 < type_id < 10_000):
            return [_("documentTypes.%(key)s must be a document type id (a whole number) or null") % {"key": key}]
    return []


class HashavshevetError(Exception):
    def __init__(self, what: str, response: Answer | None = None, *, message: str = "") -> None:
        status = f": HTTP {response.status}" if response is not None else ""
        super().__init__(f"Hashavshevet {what}{status}" + (f" ({message})" if message else ""))
        self.status = response.status if response is not None else None


class HashavshevetAdapter(AccountingSettings, ProviderAdapter):
    """Credentials travel in the session call's path; later calls carry the session token."""

    EXTRA_KEYS = {"documentTypes": _document_type_errors}
    EXTRA_DEFAULTS = {"documentTypes": dict(DOCUMENT_DEFAULTS)}
    page_settings = tuple(PageSetting(f"documentTypes.{kind}", "number", blank=None) for kind in DOCUMENT_DEFAULTS)

    def pair_containers(self, remote_type: str) -> tuple[str, ...] | None:
        return (remote_type,) if remote_type in ("account", "document") else None

    def default_mappings(self, local_type: str, remote_type: str) -> list[dict[str, Any]]:
        return copy.deepcopy(DEFAULT_MAPPINGS.get((local_type, remote_type), []))

    def list_changes(self, client: Caller, *, container: str, cursor: str | None) -> ChangePage:
        return ChangePage((), None, done=True)  # no change feed: push only

    # ------------------------------------------------------------------ writes
    def push_create(self, client: Caller, *, container: str, record: Mapping[str, Any], hub_id: str) -> RemoteChange:
        body = dict(record)
        if container == "account":
            key = _account_key(hub_id)
            row = {**{k: v for k, v in body.items() if v not in (None, "")}, "AccountKey": key}
            self._post(client, "IndexApi/importIndex", {"myindex": "acc", "insertnew": "true", "updexist": "true",
                                                        "rows": [row]}, what="account import")
            return RemoteChange(remote_id=key, deleted=False, raw=row)
        error = body.pop("_error", None)
        if error:
            raise HashavshevetError("document", message=str(error))
        data = self._post(client, "invApi/createDoc", {"issueStock": "false", "deleteTemp": "false", "rows": body},
                          what="document create")
        found = next((data.get(k) for k in ("DocumentID", "StockID", "docnum", "DocNumber", "id")
                      if isinstance(data, dict) and data.get(k) not in (None, "")), None)
        remote_id = str(found) if found is not None and found != body.get("DocumentID") else f"hub-{hub_id}"
        return RemoteChange(remote_id=remote_id, deleted=False, raw=body)

    def push_update(self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
                    version: str | None) -> RemoteChange:
        if container != "account":
            raise HashavshevetError("document update", message="an issued document cannot be changed; "
                                    "issue a credit document in Hashavshevet")
        row = {**{k: v for k, v in dict(record).items() if v not in (None, "")}, "AccountKey": remote_id}
        self._post(client, "IndexApi/importIndex", {"myindex": "acc", "insertnew": "false", "updexist": "true",
                                                    "rows": [row]}, what="account update")
        return RemoteChange(remote_id=remote_id, deleted=False, raw=row)

    def push_delete(self, client: Caller, *, container: str, remote_id: str, version: str | None) -> None:
        if container != "account":
            raise HashavshevetError("document delete", message="an issued document cannot be deleted; "
                                    "issue a credit document in Hashavshevet")
        # WizCloud documents no account deletion: the account stays in Hashavshevet.

    def _session(self, client: Caller) -> str:
        token = getattr(client, SESSION_ATTR, None)
        if token:
            return token
        response = client.request("GET", "/createSession/{privateKey}/{dbName}")
        if not response.ok:
            raise HashavshevetError("session", response)
        token = _token(response)
        if not token:
            raise HashavshevetError("session", response, message="no wizAuthToken in the answer")
        setattr(client, SESSION_ATTR, token)
        return token

    def _post(self, client: Caller, path: str, body: dict[str, Any], *, what: str) -> Any:
        for attempt in (1, 2):
            response = client.request("POST", f"/{path}", json=body, headers={"Authorization": self._session(client)})
            if response.status == 401 and attempt == 1:  # the 24-hour session ended: a new one, once
                setattr(client, SESSION_ATTR, None)
                continue
            if not response.ok:
                raise HashavshevetError(what, response, message=_problem(response))
            return response.data
        raise HashavshevetError(what, message="the session was refused twice")

    # ------------------------------------------------------------------ settings -> record
    def complete_record(self, record: Mapping[str, Any], *, local_type: str, remote_type: str,
                        settings: Mapping[str, Any], hub_id: str, create: bool) -> dict[str, Any]:
        body = copy.deepcopy(dict(record))
        category = body.pop(CATEGORY_KEY, None)
        if remote_type != "document":
            return body
        types = {**DOCUMENT_DEFAULTS, **((settings or {}).get("documentTypes") or {})}
        kind = "payment" if local_type == "payment" else "expense"
        if not types.get(kind):
            return {"_error": f"set settings.documentTypes.{kind} to the Hashavshevet document type to issue"}
        gross = body.pop("_gross", None)
        rows: dict[str, Any] = {"DocumentID": types[kind], "AccountKey": body.get("AccountKey")}
        if body.get("Details"):
            rows["Remarks"] = str(body["Details"])[:50]
        if gross is not None:
            net, _ = split_gross(gross, tax_rate(settings))
            item = account_for(settings, category=None if kind == "payment" else (str(category) if category else None),
                               kind="revenue" if kind == "payment" else "expenses")
            rows["moves"] = [{"ItemKey": item, "Quantity": 1, "Price": float(net)}]
        return rows


def _account_key(hub_id: str) -> str:
    try:
        return "AS" + uuid.UUID(str(hub_id)).hex[:8].upper()
    except ValueError:
        return ("AS" + str(hub_id))[:15]


def _token(response: Answer) -> str | None:
    data = response.data
    if isinstance(data, str) and data:
        return data
    if isinstance(data, dict):
        for key in ("wizAuthToken", "token", "data"):
            if isinstance(data.get(key), str) and data[key]:
                return data[key]
    text = (response.text or "").strip()
    if text and not text.startswith(("{", "[")):
        return text.strip('"')
    return None


def _problem(response: Answer) -> str:
    data = response.data
    if isinstance(data, dict):
        for key in ("message", "error", "errorMessage"):
            if data.get(key):
                return str(data[key])[:200]
    return json.dumps(data)[:200] if data else ""
