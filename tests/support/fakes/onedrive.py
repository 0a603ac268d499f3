"""A fake Microsoft Graph OneDrive (``/v1.0/me/drive/...``) on 127.0.0.1, implementing the
documented semantics the storage sync uses, payloads shaped as the reference pages show them:

- driveItem resource (id, name, description, size, eTag, cTag, webUrl, lastModifiedDateTime,
  parentReference {driveId, driveType, id}, ``file`` {mimeType, hashes} or ``folder``
  {childCount}, ``deleted`` {state}, ``root``): https://learn.microsoft.com/graph/api/resources/driveitem
- ``GET /me/drive/root/delta`` (``$select``): ``value[]``, ``@odata.nextLink`` until the last
  page, then ``@odata.deltaLink``; an item appears once per page in its latest state;
  deletions carry the ``deleted`` facet (and only id + parentReference); a token the server
  no longer has -> 410 ``resyncRequired``: https://learn.microsoft.com/graph/api/driveitem-delta
- ``GET /me/drive/items/{id}`` and ``GET /me/drive/items/{parent-id}:/{name}`` (404 itemNotFound).
- ``PUT /me/drive/items/{parent-id}:/{name}:/content`` (201, ``conflictBehavior`` fail -> 409
  nameAlreadyExists, rename): https://learn.microsoft.com/graph/api/driveitem-put-content
- ``POST .../{parent-id}:/{name}:/createUploadSession`` -> {uploadUrl, expirationDateTime};
  ``PUT uploadUrl`` with ``Content-Range`` (ranges a multiple of 320 KiB but the last) -> 202
  {expirationDateTime, nextExpectedRanges} then 201 with the item; an Authorization header on
  the upload URL is refused (401), as the page warns:
  https://learn.microsoft.com/graph/api/driveitem-createuploadsession
- ``PATCH`` / ``DELETE /me/drive/items/{id}`` with ``If-Match`` -> 412 preconditionFailed:
  https://learn.microsoft.com/graph/api/driveitem-update , /driveitem-delete
- ``POST /me/drive/items/{id}/children`` (a folder; 409 nameAlreadyExists):
  https://learn.microsoft.com/graph/api/driveitem-post-children
- ``POST /subscriptions``: https://learn.microsoft.com/graph/api/subscription-post-subscriptions
- errors ``{"error": {"code", "message", "innerError"}}``:
  https://learn.microsoft.com/graph/errors

Chosen here: delta tokens are change sequence numbers; ``expire_tokens`` makes old ones 410.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest

from tests.support.fakes.base import FakeServer, running

RANGE_UNIT = 320 * 1024
DRIVE = "b!fakeDriveId"


def error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message,
                      "innerError": {"date": "2026-12-03T06:00:00", "request-id": "5f4d-fake"}}}


@dataclass
class Seen:
    method: str
    path: str
    status: int
    headers: dict[str, str]
    body_bytes: int


class FakeOneDrive(FakeServer):
    name = "fake-onedrive"
    content_type = None  # each answer names its own

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.items: dict[str, dict] = {}
        self.content: dict[str, bytes] = {}
        self.requests: list[Seen] = []
        self.subscriptions: dict[str, dict] = {}
        self._log: list[tuple[int, str]] = []
        self._seq = 0
        self._ids = 0
        self._floor = 0
        self._sessions: dict[str, dict] = {}
        self._failures: list[tuple[int, dict, dict, str]] = []
        self._clock = datetime(2026, 11, 1, tzinfo=UTC)
        self.page_size = 200
        self.root_id = self._add({"name": "root", "folder": {"childCount": 0}, "root": {}}, parent=None)

    # ------------------------------------------------------------------ the user in OneDrive
    def add_folder(self, name: str, parent: str | None = None) -> str:
        with self._lock:
            return self._add({"name": name, "folder": {"childCount": 0}}, parent=parent or self.root_id)

    def put_file(self, name: str, data: bytes, *, parent: str, mime: str = "application/pdf") -> dict:
        with self._lock:
            item_id = self._add({"name": name, "file": {"mimeType": mime}}, parent=parent, data=data)
            return dict(self.items[item_id])

    def edit(self, item_id: str, **changes: Any) -> dict:
        """Rename (``name``), move (``parent=...``) or change the description, as the user would."""
        with self._lock:
            item = self.items[item_id]
            if "parent" in changes:
                item["parentReference"]["id"] = changes.pop("parent")
            item.update(changes)
            self._touch(item_id)
            return dict(item)

    def replace_content(self, item_id: str, data: bytes) -> dict:
        """A new version saved by the user: new bytes, size, eTag and cTag."""
        with self._lock:
            self._store(item_id, data)
            return dict(self.items[item_id])

    def _store(self, item_id: str, data: bytes) -> None:
        item = self.items[item_id]
        self.content[item_id] = data
        item["size"] = len(data)
        item["file"]["hashes"] = {"quickXorHash": "fakeHash" + str(len(data))}
        self._touch(item_id)

    def delete(self, item_id: str) -> None:
        with self._lock:
            self.items[item_id]["deleted"] = {"state": "deleted"}
            self._changed(item_id)

    def notify(self) -> list[int]:
        """POST a change notification collection to every subscription, as Graph does
        (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks): driveItem
        notifications say only that the drive changed (``resource`` + ``clientState``)."""
        import requests

        with self._lock:
            subs = [dict(s) for s in self.subscriptions.values()]
        answers = []
        for sub in subs:
            body = {"value": [{"subscriptionId": sub["id"], "clientState": sub.get("clientState"),
                               "changeType": "updated", "resource": sub["resource"],
                               "subscriptionExpirationDateTime": sub["expirationDateTime"],
                               "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "resourceData": None}]}
            answers.append(requests.post(sub["notificationUrl"], json=body, timeout=10).status_code)
        return answers

    def expire_tokens(self) -> None:
        with self._lock:
            self._floor = self._seq + 1

    def fail_next(self, status: int, code: str, *, path: str = "", headers: dict | None = None) -> None:
        with self._lock:
            self._failures.append((status, error(code, code), headers or {}, path))

    def children(self, parent: str) -> dict[str, dict]:
        with self._lock:
            return {i["name"]: dict(i) for i in self.items.values()
                    if i["parentReference"].get("id") == parent and "deleted" not in i}

    # ------------------------------------------------------------------ store
    def _add(self, fields: dict, *, parent: str | None, data: bytes | None = None) -> str:
        self._ids += 1
        item_id = f"01BYE5RZ{self._ids:06d}FAKEITEMID"
        item = {"id": item_id, "createdDateTime": self._now(), "parentReference": {"driveId": DRIVE,
                "driveType": "business", **({"id": parent} if parent else {})}, **fields}
        item["webUrl"] = f"https://contoso-my.sharepoint.com/personal/studio/Documents/{quote(item['name'])}"
        self.items[item_id] = item
        if data is not None:
            self.content[item_id] = data
            item["size"] = len(data)
            item["file"]["hashes"] = {"quickXorHash": "fakeHash" + str(len(data))}
        self._touch(item_id)
        return item_id

    def _now(self) -> str:
        self._clock += timedelta(seconds=1)
        return self._clock.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _changed(self, item_id: str) -> None:
        self._seq += 1
        self._log.append((self._seq, item_id))

    def _touch(self, item_id: str) -> None:
        item = self.items[item_id]
        self._seq += 1
        item["eTag"] = f"\"{{{item_id[:8]}}},{self._seq}\""
        item["cTag"] = f"\"c:{{{item_id[:8]}}},{self._seq}\""
        item["lastModifiedDateTime"] = self._now()
        self._log.append((self._seq, item_id))

    def _find(self, parent: str, name: str) -> dict | None:
        return next((i for i in self.items.values() if i["parentReference"].get("id") == parent
                     and i["name"].lower() == name.lower() and "deleted" not in i), None)

    def _shown(self, item: dict) -> dict:
        if "deleted" in item:
            return {"id": item["id"], "parentReference": dict(item["parentReference"]), "deleted": item["deleted"]}
        return json.loads(json.dumps(item))

    # ------------------------------------------------------------------ HTTP
    def handle(self, method: str, raw: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, dict]:
        parts = urlsplit(raw)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        path = unquote(parts.path)
        with self._lock:
            status, payload, extra = self._route(method, path, query, headers, body)
            self.requests.append(Seen(method, path, status, headers, len(body)))
        data = json.dumps(payload).encode() if payload is not None else b""
        return status, data, ({"Content-Type": "application/json"} if data else {}) | extra

    def _route(self, method, path, query, headers, body) -> tuple[int, dict | None, dict]:
        for i, (status, payload, extra, where) in enumerate(self._failures):
            if where in path:
                del self._failures[i]
                return status, payload, extra
        if path == "/common/token":  # AADSTS70000: the refresh token was revoked
            return 400, {"error": "invalid_grant", "error_description": "AADSTS70000: The provided value for the "
                         "'refresh_token' is not valid.", "error_codes": [70000]}, {}
        if path.startswith("/upload/"):
            if "authorization" in headers:
                return 401, error("unauthenticated", "Do not send an Authorization header to uploadUrl"), {}
            return self._range(path, headers, body)
        if not headers.get("authorization", "").startswith("Bearer "):
            return 401, error("InvalidAuthenticationToken", "Access token is empty."), {}
        if path == "/v1.0/me/drive/root/delta":
            return self._delta(query)
        if path == "/v1.0/subscriptions" and method == "POST":
            sub = json.loads(body)
            sub.update({"id": f"sub-{len(self.subscriptions) + 1}", "applicationId": "fake-app"})
            self.subscriptions[sub["id"]] = sub
            return 201, sub, {}
        match = re.fullmatch(r"/v1\.0/me/drive/items/([^/:]+):/([^:]+)(:/content|:/createUploadSession)?", path)
        if match:
            parent_id, name, action = match.group(1), match.group(2), match.group(3)
            parent = self.root_id if parent_id == "root" else parent_id
            existing = self._find(parent, name)
            if action is None:
                return (200, self._shown(existing), {}) if existing else (404, error("itemNotFound", "not found"), {})
            behaviour = query.get("@microsoft.graph.conflictBehavior") or (
                json.loads(body or b"{}").get("item", {}).get("@microsoft.graph.conflictBehavior") if action.endswith(
                    "Session") else None) or "fail"
            if existing and behaviour == "fail":
                return 409, error("nameAlreadyExists", "The specified item name already exists."), {}
            if existing and behaviour == "rename":
                stem, dot, ext = name.rpartition(".")
                name = f"{stem} 1.{ext}" if dot else f"{name} 1"
            if action == ":/content":
                if len(body) > 4 * 1024 * 1024:
                    return 413, error("requestTooLarge", "Use an upload session above 4 MB"), {}
                item_id = self._add({"name": name, "file": {"mimeType": _mime(name)}}, parent=parent, data=body)
                return 201, self._shown(self.items[item_id]), {}
            token = f"sess{len(self._sessions) + 1}"
            self._sessions[token] = {"parent": parent, "name": name, "data": bytearray()}
            return 200, {"uploadUrl": f"{self.base_url}/upload/{token}?tempauth=eyJ0eXAi",
                         "expirationDateTime": "2026-12-10T00:00:00.000Z"}, {}
        match = re.fullmatch(r"/v1\.0/me/drive/items/([^/]+)(/children|/content|/createUploadSession)?", path)
        if match:
            item_id = self.root_id if match.group(1) == "root" else match.group(1)
            item = self.items.get(item_id)
            if item is None or "deleted" in item:
                return 404, error("itemNotFound", "The resource could not be found."), {}
            if match.group(2) in ("/content", "/createUploadSession"):  # new content for an existing file
                if headers.get("if-match") and headers["if-match"] not in (item["eTag"], item["cTag"]):
                    return 412, error("preconditionFailed", "The resource has changed since the caller last read it"), {}
                if match.group(2) == "/createUploadSession" and method == "POST":
                    token = f"sess{len(self._sessions) + 1}"
                    self._sessions[token] = {"item": item_id, "data": bytearray()}
                    return 200, {"uploadUrl": f"{self.base_url}/upload/{token}?tempauth=eyJ0eXAi",
                                 "expirationDateTime": "2026-12-10T00:00:00.000Z"}, {}
                if method == "PUT":
                    if len(body) > 4 * 1024 * 1024:
                        return 413, error("requestTooLarge", "Use an upload session above 4 MB"), {}
                    self._store(item_id, body)
                    return 200, self._shown(item), {}
            if match.group(2) and method == "POST":
                spec = json.loads(body)
                if self._find(item_id, spec["name"]):
                    return 409, error("nameAlreadyExists", "The specified item name already exists."), {}
                new = self._add({"name": spec["name"], "folder": {"childCount": 0}}, parent=item_id)
                return 201, self._shown(self.items[new]), {}
            if method == "GET":
                return 200, self._shown(item), {}
            if headers.get("if-match") and headers["if-match"] not in (item["eTag"], item["cTag"]):
                return 412, error("preconditionFailed", "The resource has changed since the caller last read it"), {}
            if method == "PATCH":
                for key, value in json.loads(body).items():
                    if key in ("name", "description"):
                        item[key] = value
                self._touch(item_id)
                return 200, self._shown(item), {}
            if method == "DELETE":
                self.delete(item_id)
                return 204, None, {}
        return 404, error("itemNotFound", "Not found"), {}

    def _delta(self, query: dict) -> tuple[int, dict, dict]:
        """A round lists what changed after ``token`` (the first: what exists), ``page_size``
        items a page; ``skip`` says how far into the round a nextLink is."""
        token, skip = int(query.get("token") or 0), int(query.get("skip") or 0)
        if token and token < self._floor:
            return 410, error("resyncRequired", "Resync required. Replace any local items with the server's "
                                                "version (including deletes)."), {}
        ids = list(dict.fromkeys(i for n, i in sorted(self._log) if n > token))
        if not token:  # the first round enumerates what exists
            ids = [i for i in ids if "deleted" not in self.items[i]]
        page = ids[skip:skip + self.page_size]
        data: dict[str, Any] = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(driveItem)",
                                "value": [self._shown(self.items[i]) for i in page]}
        base = f"{self.base_url}/v1.0/me/drive/root/delta"
        if skip + self.page_size < len(ids):
            data["@odata.nextLink"] = f"{base}?token={token}&skip={skip + self.page_size}"
        else:
            data["@odata.deltaLink"] = f"{base}?token={self._seq}"
        return 200, data, {}

    def _range(self, path: str, headers: dict, body: bytes) -> tuple[int, dict | None, dict]:
        session = self._sessions.get(path.rsplit("/", 1)[-1])
        if session is None:
            return 404, error("itemNotFound", "upload session not found"), {}
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", headers.get("content-range", ""))
        if not match or int(match.group(1)) != len(session["data"]) or \
                int(match.group(2)) - int(match.group(1)) + 1 != len(body):
            return 416, error("invalidRange", "Content-Range does not match the next expected range"), {}
        total = int(match.group(3))
        session["data"] += body
        if len(session["data"]) < total:
            if len(body) % RANGE_UNIT:
                return 400, error("invalidRequest", "Range must be a multiple of 320 KiB"), {}
            return 202, {"expirationDateTime": "2026-12-10T00:00:00.000Z",
                         "nextExpectedRanges": [f"{len(session['data'])}-"]}, {}
        del self._sessions[path.rsplit("/", 1)[-1]]
        if session.get("item"):  # an existing file's new content
            self._store(session["item"], bytes(session["data"]))
            return 200, self._shown(self.items[session["item"]]), {}
        item_id = self._add({"name": session["name"], "file": {"mimeType": _mime(session["name"])}},
                            parent=session["parent"], data=bytes(session["data"]))
        return 201, self._shown(self.items[item_id]), {}


def _mime(name: str) -> str:
    import mimetypes

    return mimetypes.guess_type(name)[0] or "application/octet-stream"


@pytest.fixture
def onedrive_fake() -> Iterator[FakeOneDrive]:
    with running(FakeOneDrive()) as fake:
        yield fake
