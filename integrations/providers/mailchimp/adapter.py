"""Mailchimp's adapter: Basic auth with the API key (whose suffix names the datacenter), and
the sync seam against the Marketing API 3.0 list members
(https://mailchimp.com/developer/marketing/api/list-members/). Every call goes through the
hub's ``ProviderClient`` (rate limit, deadline, size cap, redaction).

What is supported, and how:

- **Container**: the audience chosen in settings (``audienceId``; ``list_containers`` lists
  the account's audiences, ``GET /lists``). Audience members <-> clients.
- **Changes** (``list_changes``): ``GET /lists/{id}/members?since_last_changed=<ISO>`` sorted
  ``last_changed`` ascending, ``count``/``offset`` paging. The cursor is this module's JSON
  ``{"since", "offset", "top"}``; no cursor lists every member. The next run starts at the
  newest ``last_changed`` seen (a member of that second read again changes nothing). A cursor
  this module cannot read raises ``CursorInvalid`` (the engine relists and reconciles).
- **Records**: ``RemoteChange.raw`` is Mailchimp's member plus ``hub_name`` (``FNAME LNAME``)
  and ``hub_opted_out`` (status ``unsubscribed`` or ``cleaned``). The remote id is the member's
  ``id``, the subscriber hash: MD5 of the lower-cased email
  (https://mailchimp.com/developer/marketing/docs/methods-parameters/#path-parameters). A member
  leaving the audience never deletes a client: an unsubscribe becomes the client's
  ``email_opt_out``.
- **Writes**: a create is ``PUT /lists/{id}/members/{hash}`` (add-or-update, so a retry is
  idempotent) with ``status_if_new`` (the ``newMemberStatus`` setting, ``pending`` -- double
  opt-in -- by default) and no ``status``: an existing unsubscribed member stays
  unsubscribed. An update is ``PATCH`` of ``email_address`` and ``merge_fields`` only, also
  without ``status``. The one status that goes out is ``unsubscribed``: a client whose
  ``email_opt_out`` is set is unsubscribed (or added unsubscribed); clearing it locally never
  re-subscribes anyone (the member re-subscribes through Mailchimp's own forms). A delete
  archives the member (``DELETE``; 404 = already gone). ``hub_name`` is split into
  ``FNAME`` / ``LNAME`` on the way out.
- **Errors** (problem+json ``{"type", "title", "status", "detail", "instance"}``): 401 ->
  ``CredentialsRefused`` (the key was disabled); 429 (more than 10 simultaneous connections)
  is waited out by the client and 5xx retried there (the writes are idempotent PUT/PATCH);
  other answers are a ``MailchimpError`` with the title (a failed item on export).
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping
from datetime import UTC
from typing import Any
from urllib.parse import quote

from django.utils.translation import gettext as _

from integrations.providers.adapter import (
    Answer,
    Caller,
    ChangePage,
    Container,
    CursorInvalid,
    PageSetting,
    ProviderAdapter,
    RemoteChange,
    basic,
    cursor_state,
    cursor_text,
)
from integrations.providers.common import AnswerError, answer_data, field_mappings, instant

_DATACENTER_SUFFIX = re.compile(r"-[a-z]+\d+$")
PAGE_SIZE = 500  # Mailchimp allows count up to 1000
OPTED_OUT = ("unsubscribed", "cleaned")
NEW_MEMBER_STATUSES = ("pending", "subscribed")

MEMBER_MAPPING: list[dict[str, Any]] = field_mappings("client", {"name": "hub_name", "email": "email_address",
                                                                 "phone": "merge_fields.PHONE",
                                                                 "emailOptOut": "hub_opted_out"})


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: the MD5 hash of the lower-cased email address."""
    return hashlib.md5(email.strip().lower().encode("utf-8"), usedforsecurity=False).hexdigest()


class MailchimpError(AnswerError):
    """An answer the sync cannot use; carries the status and Mailchimp's problem title."""

    provider = "Mailchimp"

    def __init__(self, what: str, response: Answer | None = None) -> None:
        data = response.data if response is not None and isinstance(response.data, dict) else {}
        self.title = str(data.get("title") or "")[:80]
        detail = str(data.get("detail") or "")[:200]
        super().__init__(what, response.status if response is not None else 0,
                         ": ".join(x for x in (self.title, detail) if x))


class MailchimpAdapter(ProviderAdapter):
    page_settings = (PageSetting("audienceId", "pick", "containers"),
                     PageSetting("newMemberStatus", "pick", options=NEW_MEMBER_STATUSES))
    #: List webhooks (https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/):
    #: a GET when the webhook is saved (answered 200), then form-encoded POSTs (``type=subscribe|
    #: unsubscribe|profile|upemail|cleaned``, ``data[...]``), unsigned -- so the URL carries the
    #: integration's secret and nothing in the body is trusted: a call wakes an incremental run,
    #: which reads the members from Mailchimp (an unsubscribe becomes the client's opt-out there).
    receives_hooks = True
    hook_url_secret = True

    def hook_probe(self, method: str, query: Mapping[str, str]) -> bool:
        return method.upper() == "GET"

    def hook_register(self, client: Caller, *, container: str, url: str) -> list[str]:
        """``POST /lists/{id}/webhooks`` (https://mailchimp.com/developer/marketing/api/list-webhooks/):
        the member events, from the user's and the admin's changes (not the API's: the hub's
        own writes would only wake a run that finds nothing new)."""
        _audience(container)
        response = client.request("POST", f"/lists/{quote(container, safe='')}/webhooks", json={
            "url": url, "events": {"subscribe": True, "unsubscribe": True, "profile": True, "cleaned": True,
                                   "upemail": True, "campaign": False},
            "sources": {"user": True, "admin": True, "api": False}})
        return [str(_data(response, what="webhook registration").get("id") or "")]

    def hook_unregister(self, client: Caller, *, container: str, ids: list[str]) -> None:
        for webhook_id in ids:
            response = client.request("DELETE", f"/lists/{quote(container, safe='')}/webhooks/"
                                                f"{quote(webhook_id, safe='')}")
            if not response.ok and response.status != 404:
                raise MailchimpError("webhook removal", response)

    def credential_headers(self, values: Mapping[str, str]) -> dict[str, str]:
        # Any user name works; the key is the password.
        return {"Authorization": basic("anystring", values.get("apiKey", ""))}

    def credential_errors(self, values: Mapping[str, str]) -> dict[str, list[str]]:
        if values.get("apiKey") and not _DATACENTER_SUFFIX.search(values["apiKey"]):
            return {"apiKey": [_("a Mailchimp key ends with its datacenter, e.g. -us6")]}
        return {}

    def derived_config(self, values: Mapping[str, str]) -> dict[str, str]:
        # The API origin is https://{dc}.api.mailchimp.com: dc is the key's suffix.
        if values.get("apiKey"):
            return {"dc": values["apiKey"].rsplit("-", 1)[1]}
        return {}

    # ------------------------------------------------------------------ settings
    def settings_defaults(self) -> dict[str, Any]:
        return {"audienceId": "", "newMemberStatus": "pending", "autoCreateClients": True}

    def settings_errors(self, value: Mapping[str, Any]) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        for key, item in value.items():
            if key == "audienceId":
                if not isinstance(item, str) or not re.fullmatch(r"[A-Za-z0-9]{0,40}", item):
                    errors[key] = [_("an audience id (letters and digits)")]
            elif key == "newMemberStatus":
                if item not in NEW_MEMBER_STATUSES:
                    errors[key] = [_("one of: %(choices)s") % {"choices": ", ".join(NEW_MEMBER_STATUSES)}]
            elif key == "autoCreateClients":
                if not isinstance(item, bool):
                    errors[key] = [_("must be true or false")]
            else:
                errors[str(key)[:60]] = [_("unknown setting")]
        return errors

    def sync_containers(self, settings: Mapping[str, Any]) -> tuple[str, ...] | None:
        audience = settings.get("audienceId")
        return (str(audience),) if audience else None

    def default_mappings(self, local_type: str, remote_type: str) -> list[dict[str, Any]]:
        if (local_type, remote_type) == ("client", "list_member"):
            return copy.deepcopy(MEMBER_MAPPING)
        return []

    def list_containers(self, client: Caller) -> list[Container]:
        response = client.request("GET", "/lists", params={"count": 1000, "fields": "lists.id,lists.name"})
        data = _data(response, what="audiences")
        return [Container(id=str(a["id"]), name=str(a.get("name") or a["id"]))
                for a in data.get("lists") or [] if isinstance(a, dict) and a.get("id")]

    # ------------------------------------------------------------------ changes
    def list_changes(self, client: Caller, *, container: str, cursor: str | None) -> ChangePage:
        _audience(container)
        state = _decode(cursor)
        params: dict[str, Any] = {"count": PAGE_SIZE, "offset": state.get("offset", 0),
                                  "sort_field": "last_changed", "sort_dir": "ASC"}
        if state.get("since"):
            params["since_last_changed"] = state["since"]
        response = client.request("GET", f"/lists/{quote(container, safe='')}/members", params=params)
        data = _data(response, what="member listing")
        members = [m for m in data.get("members") or [] if isinstance(m, dict) and m.get("id")]
        top = max([state.get("top") or "", *(str(m.get("last_changed") or "") for m in members)], key=_sortable)
        changes = tuple(_change(m) for m in members)
        offset = params["offset"] + len(members)
        if members and offset < int(data.get("total_items") or 0):
            return ChangePage(changes, _encode(since=state.get("since"), offset=offset, top=top), done=False)
        return ChangePage(changes, _encode(since=top or state.get("since"), offset=0, top=top), done=True)

    # ------------------------------------------------------------------ writes
    def push_create(self, client: Caller, *, container: str, record: Mapping[str, Any], hub_id: str) -> RemoteChange:
        _audience(container)
        body = _outgoing(record)
        email = body.get("email_address")
        if not email:
            raise MailchimpError("a member needs an email address")
        body.setdefault("status_if_new", "pending")
        response = client.request("PUT", f"/lists/{quote(container, safe='')}/members/{subscriber_hash(email)}",
                                  json=body, idempotent=True)
        return _change(_data(response, what="member create"))

    def complete_record(self, record: Mapping[str, Any], *, local_type: str, remote_type: str,
                        settings: Mapping[str, Any], hub_id: str, create: bool) -> dict[str, Any]:
        out = dict(record)
        if create:
            status = settings.get("newMemberStatus")
            out["hub_status_if_new"] = status if status in NEW_MEMBER_STATUSES else "pending"
        return out

    def push_update(self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
                    version: str | None) -> RemoteChange:
        _audience(container)
        response = client.request("PATCH", f"/lists/{quote(container, safe='')}/members/{quote(remote_id, safe='')}",
                                  json=_outgoing(record), idempotent=True)
        return _change(_data(response, what="member update"))

    def push_delete(self, client: Caller, *, container: str, remote_id: str, version: str | None) -> None:
        _audience(container)
        response = client.request("DELETE", f"/lists/{quote(container, safe='')}/members/{quote(remote_id, safe='')}")
        if response.status == 404:
            return
        _data(response, what="member archive")


# ---------------------------------------------------------------------- helpers
def _audience(container: str) -> None:
    if not container or container == "primary" or not re.fullmatch(r"[A-Za-z0-9]{1,40}", container):
        raise MailchimpError("no audience chosen in the settings (audienceId)")


def _data(response: Answer, *, what: str) -> dict[str, Any]:
    return answer_data(response, what, error=MailchimpError, refused="Mailchimp refused the API key (disabled or deleted): reconnect Mailchimp")


def _outgoing(record: Mapping[str, Any]) -> dict[str, Any]:
    """The mapped record as a member body: ``email_address`` and ``merge_fields`` only (never
    ``status``), ``hub_name`` split into FNAME / LNAME."""
    merge = dict(record.get("merge_fields") or {}) if isinstance(record.get("merge_fields"), Mapping) else {}
    name = record.get("hub_name")
    if isinstance(name, str) and name.strip():
        first, _, last = name.strip().partition(" ")
        merge.setdefault("FNAME", first)
        merge.setdefault("LNAME", last.strip())
    body: dict[str, Any] = {"merge_fields": {k: "" if v is None else str(v) for k, v in merge.items()}}
    if record.get("email_address"):
        body["email_address"] = str(record["email_address"])
    if record.get("hub_status_if_new") in NEW_MEMBER_STATUSES:
        body["status_if_new"] = record["hub_status_if_new"]
    if record.get("hub_opted_out") is True:  # an opt-out travels out; a subscription never does
        body["status"] = "unsubscribed"
        body["status_if_new"] = "unsubscribed"
    return body


def _change(member: Mapping[str, Any]) -> RemoteChange:
    raw = copy.deepcopy(dict(member))
    merge = raw.get("merge_fields") if isinstance(raw.get("merge_fields"), dict) else {}
    raw["hub_name"] = " ".join(p for p in (merge.get("FNAME"), merge.get("LNAME")) if p) or str(
        raw.get("email_address") or "")
    raw["hub_opted_out"] = raw.get("status") in OPTED_OUT
    return RemoteChange(remote_id=str(raw["id"]), deleted=False, raw=raw,
                        modified_at=instant(raw.get("last_changed"), naive_utc=True))


def _sortable(text: str) -> str:
    when = instant(text, naive_utc=True)
    return when.astimezone(UTC).isoformat() if when else ""


def _encode(**state: Any) -> str:
    return cursor_text(drop_empty=True, **state)


def _decode(cursor: str | None) -> dict[str, Any]:
    if cursor is None:
        return {}
    state = cursor_state(cursor, "Mailchimp")
    if not isinstance(state.get("offset", 0), int):
        raise CursorInvalid("not a Mailchimp cursor")
    return state
