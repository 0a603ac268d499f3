"""A fake Mailchimp Marketing API 3.0 (served through ``responses``, so the hub's real
ProviderClient -- rate limiter, retries -- makes every call), implementing the documented
semantics the hub uses, at ``https://us6.api.mailchimp.com/3.0``:

- Members as "List members info" shows them: ``id`` (the subscriber hash: MD5 of the
  lower-cased email), ``email_address``, ``unique_email_id``, ``contact_id``, ``full_name``,
  ``web_id``, ``email_type``, ``status`` (subscribed, unsubscribed, cleaned, pending,
  transactional, archived), ``merge_fields`` (FNAME, LNAME, PHONE, ADDRESS), ``last_changed``
  (ISO-8601 with +00:00), ``list_id``, ``tags``; the list answer ``{"members", "list_id",
  "total_items", "_links"}`` with ``count``/``offset``, ``since_last_changed``, ``sort_field``
  and ``sort_dir``: https://mailchimp.com/developer/marketing/api/list-members/list-members-info/
- ``GET /lists/{id}/members/{hash}`` "Get member info" (an archived member too, with its status),
  ``PUT /lists/{id}/members/{hash}`` "Add or update list member" (``status_if_new`` for a new
  member, ``status`` for either), ``PATCH`` "Update list member", ``DELETE`` "Archive list
  member" (204): https://mailchimp.com/developer/marketing/api/list-members/
- ``GET /lists`` -> ``{"lists": [{"id", "name", ...}], "total_items"}``:
  https://mailchimp.com/developer/marketing/api/lists/get-lists-info/
- ``GET /lists/{id}/merge-fields`` -> ``{"merge_fields": [{"merge_id", "tag", "name", "type",
  "options", ...}], "list_id", "total_items"}``:
  https://mailchimp.com/developer/marketing/api/list-merges/list-merge-fields/ ;
  ``GET /ping`` -> ``{"health_status": "Everything's Chimpy!"}``:
  https://mailchimp.com/developer/marketing/api/ping/
- The official SDK (``mailchimp-marketing``, ``requests`` underneath, so ``responses`` serves it
  too) is pointed at this fake by tests/integrations/providers/test_mailchimp_sdk_shapes.py.
- ``POST /lists/{id}/webhooks`` {url, events, sources} -> the webhook with its ``id``; ``DELETE
  /lists/{id}/webhooks/{webhook_id}`` (204; 404 when unknown):
  https://mailchimp.com/developer/marketing/api/list-webhooks/
- Errors as problem+json ``{"type", "title", "status", "detail", "instance"}`` (401 "API Key
  Invalid", 400 "Invalid Resource", 400 "Member In Compliance State" for re-subscribing an
  unsubscribed member, 404 "Resource Not Found", 429 "Too Many Requests"):
  https://mailchimp.com/developer/marketing/docs/errors/ ,
  https://mailchimp.com/developer/marketing/docs/fundamentals/#api-limits

Chosen here (not documented): the clock advances one second per write; ``web_id`` counts up.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.fakes.base import CallLog, requests_mocked, under

ORIGIN = "https://us6.api.mailchimp.com"
BASE = ORIGIN + "/3.0"
API_KEY = "0123456789abcdef0123456789abcdef-us6"
AUDIENCE = "a1b2c3d4e5"
ERRORS = "https://mailchimp.com/developer/marketing/docs/errors/"


def _merge_field(merge_id: int, tag: str, name: str, kind: str, options: dict[str, Any]) -> dict[str, Any]:
    return {"merge_id": merge_id, "tag": tag, "name": name, "type": kind, "required": False, "default_value": "",
            "public": True, "display_order": merge_id + 1, "options": options, "help_text": "", "list_id": AUDIENCE,
            "_links": []}


#: The audience's merge fields as a new audience has them (FNAME, LNAME, ADDRESS, PHONE):
#: https://mailchimp.com/developer/marketing/api/list-merges/list-merge-fields/
MERGE_FIELDS = [
    _merge_field(1, "FNAME", "First Name", "text", {"size": 25}),
    _merge_field(2, "LNAME", "Last Name", "text", {"size": 25}),
    _merge_field(3, "ADDRESS", "Address", "address", {"default_country": 164}),
    _merge_field(4, "PHONE", "Phone Number", "phone", {"phone_format": "none"}),
]


def member_hash(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()


def problem(status: int, title: str, detail: str) -> tuple[int, dict[str, Any]]:
    return status, {"type": ERRORS, "title": title, "status": status, "detail": detail,
                    "instance": "5d9c1a2e-0000-4000-8000-000000000000"}


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    answer: Any = None


@dataclass
class MailchimpFake(CallLog):
    api_key: str = API_KEY
    clock: datetime = field(default_factory=lambda: datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # email -> detail of a 400 Invalid Resource
    web_ids: Iterator[int] = field(default_factory=lambda: itertools.count(40001))
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def _tick(self) -> str:
        self.clock += timedelta(seconds=1)
        return self.clock.isoformat()

    def put(self, email: str, status: str = "subscribed", **merge: str) -> str:
        remote_id = member_hash(email)
        stamp = self._tick()
        fields = {"FNAME": "", "LNAME": "", "ADDRESS": "", "PHONE": "", **merge}
        self.members[remote_id] = {
            "id": remote_id, "email_address": email, "unique_email_id": remote_id[:10],
            "contact_id": remote_id[::-1], "full_name": f"{fields['FNAME']} {fields['LNAME']}".strip(),
            "web_id": next(self.web_ids), "email_type": "html", "status": status, "merge_fields": fields,
            "timestamp_signup": "", "timestamp_opt": stamp, "last_changed": stamp, "language": "",
            "vip": False, "source": "API - Generic", "tags_count": 0, "tags": [], "list_id": AUDIENCE,
            "_links": []}
        return remote_id

    def edit(self, remote_id: str, *, status: str | None = None, **merge: str) -> None:
        member = self.members[remote_id]
        member["merge_fields"].update(merge)
        if status:
            member["status"] = status
        member["last_changed"] = self._tick()


    # ------------------------------------------------------------ HTTP
    def handle(self, request) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(request.url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = parts.path.removeprefix("/3.0")
        body = json.loads(request.body) if request.body else None
        status, payload, headers = self._route(request, path, query, body)
        self.calls.append(Call(request.method, path, query, body, status, copy.deepcopy(payload)))
        kind = "application/json" if status < 400 else "application/problem+json"
        return status, {"Content-Type": kind, **headers}, "" if payload is None else json.dumps(payload)

    def _route(self, request, path: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        import base64

        auth = request.headers.get("Authorization", "")
        try:
            password = base64.b64decode(auth.removeprefix("Basic ")).decode().split(":", 1)[1]
        except (ValueError, IndexError):
            password = ""
        if password != self.api_key:
            return (*problem(401, "API Key Invalid", "Your API key may be invalid, or you've attempted to "
                                                     "access the wrong datacenter."), {})
        if self.failures:
            status, headers = self.failures.pop(0)
            if status == 429:
                return (*problem(429, "Too Many Requests", "You have exceeded the limit of 10 simultaneous "
                                                           "connections."), headers)
            return (*problem(status, "Internal Server Error", "An unexpected internal error has occurred."), headers)
        if request.method == "GET" and path == "/ping":
            return 200, {"health_status": "Everything's Chimpy!"}, {}
        if request.method == "GET" and path == f"/lists/{AUDIENCE}/merge-fields":
            return 200, {"merge_fields": copy.deepcopy(MERGE_FIELDS), "list_id": AUDIENCE,
                         "total_items": len(MERGE_FIELDS), "_links": []}, {}
        if request.method == "GET" and path == "/lists":
            return 200, {"lists": [{"id": AUDIENCE, "name": "Studio clients"}], "total_items": 1}, {}
        hook = re.fullmatch(rf"/lists/{AUDIENCE}/webhooks(?:/(\w+))?", path)
        if hook and request.method == "POST" and hook.group(1) is None:
            webhook_id = f"{len(self.webhooks) + 1:010x}"
            self.webhooks[webhook_id] = {"id": webhook_id, "list_id": AUDIENCE, **(body or {})}
            return 200, copy.deepcopy(self.webhooks[webhook_id]), {}
        if hook and request.method == "DELETE" and hook.group(1):
            if self.webhooks.pop(hook.group(1), None) is None:
                return (*problem(404, "Resource Not Found", "The requested resource could not be found."), {})
            return 204, None, {}
        match = re.fullmatch(rf"/lists/{AUDIENCE}/members(?:/([0-9a-f]{{32}}))?", path)
        if not match:
            return (*problem(404, "Resource Not Found", "The requested resource could not be found."), {})
        remote_id = match.group(1)
        if request.method == "GET" and remote_id is None:
            return (*self._list(query), {})
        if request.method == "PUT" and remote_id:
            return (*self._write(remote_id, body or {}, upsert=True), {})
        member = self.members.get(remote_id or "")
        if request.method == "GET" and member is not None:  # an archived member reads as status "archived"
            return 200, copy.deepcopy(member), {}
        if member is None or member["status"] == "archived":
            return (*problem(404, "Resource Not Found", "The requested resource could not be found."), {})
        if request.method == "PATCH":
            return (*self._write(remote_id, body or {}, upsert=False), {})
        if request.method == "DELETE":
            member["status"] = "archived"
            member["last_changed"] = self._tick()
            return 204, None, {}
        return (*problem(405, "Method Not Allowed", "The requested method and resource are not compatible."), {})

    def _list(self, query: dict[str, str]) -> tuple[int, Any]:
        rows = [m for m in self.members.values() if m["status"] != "archived"]
        if query.get("since_last_changed"):
            since = datetime.fromisoformat(query["since_last_changed"])
            rows = [m for m in rows if datetime.fromisoformat(m["last_changed"]) >= since]
        if query.get("sort_field") == "last_changed":
            rows.sort(key=lambda m: m["last_changed"], reverse=query.get("sort_dir") == "DESC")
        count, offset = min(int(query.get("count", 10)), 1000), int(query.get("offset", 0))
        return 200, {"members": copy.deepcopy(rows[offset:offset + count]), "list_id": AUDIENCE,
                     "total_items": len(rows), "_links": []}

    def _write(self, remote_id: str, body: dict[str, Any], *, upsert: bool) -> tuple[int, Any]:
        email = str(body.get("email_address") or "")
        if email in self.refuse:
            return problem(400, "Invalid Resource", self.refuse[email])
        member = self.members.get(remote_id)
        if member is None or member["status"] == "archived":
            if upsert and member_hash(email) != remote_id:
                return problem(400, "Invalid Resource", "The resource submitted could not be validated.")
            status = body.get("status") or body.get("status_if_new")
            if status not in ("subscribed", "unsubscribed", "cleaned", "pending", "transactional"):
                return problem(400, "Invalid Resource", "The resource submitted could not be validated. "
                                                        "status: required")
            self.put(email, status=status, **(body.get("merge_fields") or {}))
            return 200, copy.deepcopy(self.members[remote_id])
        if body.get("status") == "subscribed" and member["status"] in ("unsubscribed", "cleaned"):
            return problem(400, "Member In Compliance State",
                           f"{member['email_address']} is already a list member in compliance state due to "
                           "unsubscribe, bounce, or compliance review.")
        if email and member_hash(email) != remote_id:
            new_id = member_hash(email)
            self.members[new_id] = self.members.pop(remote_id)
            member = self.members[new_id]
            member["id"], member["email_address"] = new_id, email
        self.edit(member["id"], status=body.get("status"), **(body.get("merge_fields") or {}))
        return 200, copy.deepcopy(member)


@pytest.fixture
def mailchimp_fake() -> Iterator[MailchimpFake]:
    """The fake, answering every call to us6.api.mailchimp.com; other hosts pass through."""
    fake = MailchimpFake()
    with requests_mocked(*((m, under(BASE), fake.handle) for m in ("GET", "PUT", "PATCH", "DELETE", "POST"))):
        yield fake
