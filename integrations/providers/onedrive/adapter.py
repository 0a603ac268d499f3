"""OneDrive's adapter: documents <-> driveItems in the integration's root folder, Microsoft Graph v1.0.

- **Changes**: ``GET /me/drive/root/delta`` -- OneDrive for Business and SharePoint support
  delta only on the drive's root, so the whole drive is followed and items are kept when
  their ``parentReference.id`` is the root folder or one of its sub-folders (the folder
  structure's); an item whose parent moved elsewhere is a move out. ``@odata.nextLink`` ->
  more pages; ``@odata.deltaLink`` -> the next sync's start (both kept as the cursor, and
  only followed on the API's own origin). ``deleted`` facet -> a deletion. 410 Gone
  (``resyncRequired``) -> ``CursorInvalid``. Folders are not documents.
  https://learn.microsoft.com/graph/api/driveitem-delta
- **Create**: ``PUT /me/drive/items/{parent}:/{name}:/content`` up to ``SIMPLE_LIMIT``
  (Graph: 4 MB); above it (or size unknown) ``createUploadSession`` then ``PUT`` byte
  ranges of ``CHUNK`` (a multiple of 320 KiB) to the ``uploadUrl`` -- without the
  Authorization header, as Graph asks -- 202 between ranges, 200/201 with the item at the
  end. ``conflictBehavior: fail``; an item already at that path with the same size is taken
  as this document's earlier upload (a retried create), otherwise ``rename``.
  https://learn.microsoft.com/graph/api/driveitem-put-content ,
  https://learn.microsoft.com/graph/api/driveitem-createuploadsession
- **New content** (``push_content``): ``PUT /items/{id}/content`` or an upload session on
  the item, with ``If-Match`` the eTag we hold (412 -> ``VersionConflict``).
- **Update / delete**: ``PATCH`` (name, description) / ``DELETE`` with ``If-Match: <eTag>``;
  412 -> ``VersionConflict``. https://learn.microsoft.com/graph/api/driveitem-update
- **Folders**: ``POST /me/drive/items/{parent}/children`` with a ``folder`` facet
  (``conflictBehavior: fail``; 409 -> the existing one by path).
- **Push**: a Graph subscription on ``/me/drive/root`` (``changeType: updated``, the only one
  driveItems support; under 30 days), renewed in place.
  https://learn.microsoft.com/graph/api/resources/subscription
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from integrations.providers._storage import StorageSettings, file_kind
from integrations.providers.adapter import (
    Answer,
    Caller,
    ChangePage,
    CursorInvalid,
    FileContent,
    ProviderAdapter,
    RemoteChange,
    VersionConflict,
    Watch,
    cursor_state,
    cursor_text,
)
from integrations.providers.common import AnswerError, instant

#: Graph: simple upload (PUT .../content) "up to 4 MB"; above it, an upload session.
SIMPLE_LIMIT = 4 * 1024 * 1024
#: One upload-session range: a multiple of 320 KiB (Graph's rule), under 60 MiB.
CHUNK = 320 * 1024 * 16
SELECT = "id,name,description,size,eTag,cTag,webUrl,file,folder,deleted,parentReference,lastModifiedDateTime"
#: driveItem subscriptions last at most 42,300 minutes (under 30 days).
SUBSCRIPTION_LIFETIME = timedelta(minutes=42300) - timedelta(hours=1)


class OneDriveError(AnswerError):
    """An answer the sync cannot use; carries the status and Graph's ``error.code``."""

    provider = "OneDrive"

    def __init__(self, what: str, response: Answer) -> None:
        self.code = _code(response)
        super().__init__(what, response.status, self.code)


class OnedriveAdapter(StorageSettings, ProviderAdapter):
    file_type = "driveItem"
    push_renews_in_place = True

    # ------------------------------------------------------------------ changes
    def list_changes(self, client: Caller, *, container: str, cursor: str | None) -> ChangePage:
        state = _decode(cursor)
        root = state.get("root") or self._root_id(client, container)
        link = state.get("next") or state.get("delta")
        if link and not link.startswith(client.base_url.rstrip("/") + "/"):
            raise CursorInvalid("the stored delta link is not on the Graph API's origin")
        response = client.request("GET", link or "/me/drive/root/delta", params=None if link else {"$select": SELECT})
        if response.status == 410:
            raise CursorInvalid(f"OneDrive asked for a resync ({_code(response) or 'gone'})")
        if not response.ok:
            raise OneDriveError("delta", response)
        data = _data(response)
        inside = _Inside(client, root)
        changes: list[RemoteChange] = []
        for item in data.get("value") or []:
            if not isinstance(item, dict) or not item.get("id") or "folder" in item or item.get("root"):
                continue
            if "deleted" in item:
                changes.append(RemoteChange(remote_id=str(item["id"]), deleted=True))
            elif inside(item):
                changes.append(_change(item))
            elif link:  # an incremental listing: an item not (or no longer) in the folder
                changes.append(RemoteChange(remote_id=str(item["id"]), deleted=True))
        if data.get("@odata.nextLink"):
            return ChangePage(tuple(changes), _encode(root=root, next=data["@odata.nextLink"]), done=False)
        if not data.get("@odata.deltaLink"):
            raise OneDriveError("delta (no deltaLink)", response)
        return ChangePage(tuple(changes), _encode(root=root, delta=data["@odata.deltaLink"]), done=True)

    def _root_id(self, client: Caller, container: str) -> str:
        response = client.request("GET", f"/me/drive/items/{quote(container, safe='')}", params={"$select": "id"})
        if not response.ok or not _data(response).get("id"):
            raise OneDriveError("root folder", response)
        return str(_data(response)["id"])

    # ------------------------------------------------------------------ folders
    def ensure_folder(self, client: Caller, *, parent: str, name: str) -> str:
        response = client.request("POST", f"/me/drive/items/{quote(parent, safe='')}/children",
                                  json={"name": name, "folder": {}, "@microsoft.graph.conflictBehavior": "fail"})
        if response.status == 409:
            response = client.request("GET", f"{_item_path(parent, name)}", params={"$select": "id"})
        if not response.ok or not _data(response).get("id"):
            raise OneDriveError("folder create", response)
        return str(_data(response)["id"])

    # ------------------------------------------------------------------ writes
    def push_create(self, client: Caller, *, container: str, record: Mapping[str, Any], hub_id: str,
                    content: FileContent | None = None) -> RemoteChange:
        name = str(record.get("name") or (content.name if content else "") or hub_id)
        size = content.size if content is not None else 0
        there = client.request("GET", _item_path(container, name), params={"$select": SELECT})
        if there.ok and "file" in _data(there) and size is not None and _data(there).get("size") == size:
            return _change(_data(there))  # an earlier attempt's upload (its answer was lost)
        behaviour = "rename" if there.ok else "fail"
        chunks = content.chunks(CHUNK) if content is not None else iter(())
        if size is not None and size <= SIMPLE_LIMIT:
            answer = client.request("PUT", f"{_item_path(container, name)}:/content", data=b"".join(chunks),
                                    params={"@microsoft.graph.conflictBehavior": behaviour},
                                    headers={"Content-Type": "application/octet-stream"})
        else:
            answer = self._session(client, container, name, behaviour, size, chunks)
        if not answer.ok:
            raise OneDriveError("upload", answer)
        item = _data(answer)
        if isinstance(record.get("description"), str) and record["description"]:
            described = client.request("PATCH", f"/me/drive/items/{quote(item['id'], safe='')}", idempotent=True,
                                       json={"description": record["description"]})
            item = _data(described) if described.ok else item
        return _change(item)

    def _session(self, client: Caller, parent: str, name: str, behaviour: str, size: int | None, chunks, *,
                 item_id: str | None = None, version: str | None = None) -> Answer:
        if item_id:  # new content for an existing item, conditional on its eTag
            opened = client.request("POST", f"/me/drive/items/{quote(item_id, safe='')}/createUploadSession",
                                    json={"item": {"@microsoft.graph.conflictBehavior": "replace"}},
                                    headers={"If-Match": version} if version else {})
            if opened.status == 412:
                raise VersionConflict(f"item {item_id} changed in OneDrive since it was read")
        else:
            opened = client.request("POST", f"{_item_path(parent, name)}:/createUploadSession",
                                    json={"item": {"@microsoft.graph.conflictBehavior": behaviour, "name": name}})
        upload_url = _data(opened).get("uploadUrl")
        if not opened.ok or not upload_url:
            raise OneDriveError("upload session", opened)
        offset, answer = 0, None
        for chunk, last in _ahead(chunks):  # one chunk read ahead: the last one names the total
            total = offset + len(chunk) if last else size
            if total is None:
                raise OneDriveError("upload (size unknown)", opened)
            # The upload URL carries its own authorisation: no Authorization header (Graph's rule).
            answer = client.request("PUT", upload_url, data=chunk, headers={
                "Authorization": None, "Content-Range": f"bytes {offset}-{offset + len(chunk) - 1}/{total}",
                "Content-Type": "application/octet-stream"})
            offset += len(chunk)
            if not last and answer.status != 202:
                raise OneDriveError("upload range", answer)
        if answer is None:
            raise OneDriveError("upload (empty file in a session)", opened)
        return answer

    def push_content(self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
                      content: FileContent, version: str | None) -> RemoteChange:
        """New bytes for the same item: ``PUT /items/{id}/content`` up to ``SIMPLE_LIMIT``, an
        upload session on the item above it, both with ``If-Match`` (412 -> ``VersionConflict``,
        with the item's modification time read after it); then the name / description."""
        try:
            chunks = content.chunks(CHUNK)
            if content.size is not None and content.size <= SIMPLE_LIMIT:
                answer = client.request("PUT", f"/me/drive/items/{quote(remote_id, safe='')}/content",
                                        data=b"".join(chunks),
                                        headers={"Content-Type": "application/octet-stream",
                                                 **({"If-Match": version} if version else {})})
                if answer.status == 412:
                    raise VersionConflict(f"item {remote_id} changed in OneDrive since it was read")
            else:
                answer = self._session(client, container, "", "replace", content.size, chunks, item_id=remote_id,
                                       version=version)
        except VersionConflict as conflict:
            now = client.request("GET", f"/me/drive/items/{quote(remote_id, safe='')}",
                                 params={"$select": "id,lastModifiedDateTime"})
            raise VersionConflict(str(conflict), modified_at=_instant(_data(now).get("lastModifiedDateTime"))
                                  if now.ok else None) from None
        if not answer.ok:
            raise OneDriveError("content update", answer)
        item = _data(answer)
        body = {k: record[k] for k in ("name", "description") if isinstance(record.get(k), str) and record[k] != item.get(k)}
        if body:
            return self.push_update(client, container=container, remote_id=remote_id, record=body,
                                    version=item.get("eTag"))
        return _change(item)

    def push_update(self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
                    version: str | None) -> RemoteChange:
        body = {k: record[k] for k in ("name", "description") if isinstance(record.get(k), str)}
        response = client.request("PATCH", f"/me/drive/items/{quote(remote_id, safe='')}", json=body,
                                  headers={"If-Match": version} if version else {}, idempotent=True)
        if response.status == 412:
            raise VersionConflict(f"item {remote_id} changed in OneDrive since it was read")
        if not response.ok:
            raise OneDriveError("item update", response)
        return _change(_data(response))

    def push_delete(self, client: Caller, *, container: str, remote_id: str, version: str | None) -> None:
        response = client.request("DELETE", f"/me/drive/items/{quote(remote_id, safe='')}",
                                  headers={"If-Match": version} if version else {})
        if response.status == 412:
            raise VersionConflict(f"item {remote_id} changed in OneDrive since it was read")
        if not (response.ok or response.status == 404):
            raise OneDriveError("item delete", response)

    # ------------------------------------------------------------------ push
    def watch(self, client: Caller, *, container: str, address: str, token: str, channel_id: str) -> Watch:
        body = {"changeType": "updated", "notificationUrl": address, "resource": "/me/drive/root",
                "expirationDateTime": _instant_text(datetime.now(UTC) + SUBSCRIPTION_LIFETIME), "clientState": token}
        response = client.request("POST", "/subscriptions", json=body)
        if not response.ok:
            raise OneDriveError("subscription", response)
        return _watch(_data(response))

    def renew(self, client: Caller, *, channel_id: str, resource_id: str) -> Watch:
        response = client.request("PATCH", f"/subscriptions/{quote(channel_id, safe='')}", idempotent=True,
                                  json={"expirationDateTime": _instant_text(datetime.now(UTC) + SUBSCRIPTION_LIFETIME)})
        if not response.ok:
            raise OneDriveError("subscription renewal", response)
        return _watch(_data(response))

    def stop(self, client: Caller, *, channel_id: str, resource_id: str) -> None:
        response = client.request("DELETE", f"/subscriptions/{quote(channel_id, safe='')}")
        if not (response.ok or response.status == 404):
            raise OneDriveError("subscription delete", response)


# ---------------------------------------------------------------------- helpers
class _Inside:
    """In the root folder, or in one of its sub-folders (a parent's parent read once)."""

    def __init__(self, client: Caller, root: str) -> None:
        self.client, self.root, self.parents_of = client, root, {}

    def __call__(self, item: Mapping[str, Any]) -> bool:
        parent = (item.get("parentReference") or {}).get("id")
        if not parent:
            return False
        if parent == self.root:
            return True
        if parent not in self.parents_of:
            response = self.client.request("GET", f"/me/drive/items/{quote(str(parent), safe='')}",
                                           params={"$select": "id,parentReference"})
            self.parents_of[parent] = (_data(response).get("parentReference") or {}).get("id") if response.ok else None
        return self.parents_of[parent] == self.root


def _ahead(chunks):
    previous = None
    for chunk in chunks:
        if previous is not None:
            yield previous, False
        previous = chunk
    if previous is not None:
        yield previous, True


def _item_path(parent: str, name: str) -> str:
    return f"/me/drive/items/{quote(parent, safe='')}:/{quote(name, safe='')}"


def _change(item: Mapping[str, Any]) -> RemoteChange:
    raw = {"id": item.get("id"), "name": item.get("name"), "description": item.get("description"),
           "mimeType": (item.get("file") or {}).get("mimeType"), "size": item.get("size"),
           "webViewLink": item.get("webUrl"), "eTag": item.get("eTag"), "cTag": item.get("cTag"),
           "documentKind": file_kind((item.get("file") or {}).get("mimeType"))}
    return RemoteChange(remote_id=str(item.get("id") or ""), deleted="deleted" in item, version=item.get("eTag"),
                        raw={k: v for k, v in raw.items() if v is not None},
                        modified_at=_instant(item.get("lastModifiedDateTime")))


def _watch(data: Mapping[str, Any]) -> Watch:
    expires = _instant(data.get("expirationDateTime"))
    if not data.get("id") or expires is None:
        raise OneDriveError("subscription without id or expirationDateTime", _Fake(200))
    return Watch(channel_id=str(data["id"]), resource_id=str(data.get("resource") or "/me/drive/root"),
                 expires_at=expires)


class _Fake:
    def __init__(self, status: int) -> None:
        self.status, self.data, self.text, self.headers, self.ok = status, None, "", {}, False


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    text = value.replace("Z", "+00:00")
    match = re.fullmatch(r"([^.]+)\.(\d+)(.*)", text)
    if match:  # Graph writes up to 7 fractional digits; Python reads at most 6
        text = f"{match.group(1)}.{match.group(2)[:6].ljust(6, '0')}{match.group(3)}"
    return instant(text)


def _instant_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _encode(**parts: str) -> str:
    return cursor_text(drop_empty=True, **parts)


def _decode(cursor: str | None) -> dict[str, str]:
    if not cursor:
        return {}
    data = cursor_state(cursor, "OneDrive")
    if (set(data) - {"root", "next", "delta"}
            or not all(isinstance(v, str) and v for v in data.values())):
        raise CursorInvalid("not a OneDrive cursor")
    for key in ("next", "delta"):
        if key in data and urlsplit(data[key]).scheme not in ("http", "https"):
            raise CursorInvalid("not a OneDrive cursor")
    return data


def _data(response: Answer) -> dict:
    return response.data if isinstance(response.data, dict) else {}


def _code(response: Answer) -> str | None:
    error = _data(response).get("error")
    return str(error.get("code"))[:60] if isinstance(error, dict) and error.get("code") else None
