"""Google Drive's adapter: documents <-> files in the integration's root folder, Drive API v3.
(Past 400 lines: one provider's change feed, three upload paths and push, kept together.)

Every call goes through the hub's ``ProviderClient`` to a path under ``/drive/v3/`` or
``/upload/drive/v3/`` (the provider app's API base applied, DESIGN C2).

- **Changes** (``list_changes``): a full listing is ``files.list`` of the root folder
  (``'<root>' in parents and trashed = false``, ``pageToken`` paging), preceded by
  ``changes.getStartPageToken`` so that, when the listing ends, the cursor is the changes
  token taken before it began (nothing changed meanwhile is missed). Then ``changes.list``
  with ``pageToken`` and ``includeRemoved=true``: ``nextPageToken`` -> more pages,
  ``newStartPageToken`` -> the next sync's start. A change is a deletion when the file is
  ``removed``, ``trashed`` or no longer in the root folder (moved out) -- the hub's own
  sub-folders (``by_project`` / ``by_client``) count as inside. Folders are not documents.
  A page token Drive refuses (400 / 404 / 410) raises ``CursorInvalid``.
  https://developers.google.com/workspace/drive/api/guides/manage-changes ,
  https://developers.google.com/workspace/drive/api/reference/rest/v3/changes/list
- **Create** (``push_create``): the file's metadata stamped with
  ``appProperties.architectStudioId``; a create retried after a lost answer finds the file
  by that property first (``files.list`` with ``appProperties has``) instead of uploading it
  twice. Up to ``SIMPLE_LIMIT`` (5 MB, Drive's limit for a single-request upload) a
  ``uploadType=multipart`` request; above it (or size unknown) a resumable session:
  ``uploadType=resumable`` -> ``Location`` -> ``PUT`` chunks of ``CHUNK`` bytes (a multiple
  of 256 KiB) with ``Content-Range`` (308 between chunks).
  https://developers.google.com/workspace/drive/api/guides/manage-uploads
- **New content** (``push_content``): ``PATCH /upload/drive/v3/files/{id}`` with
  ``uploadType=media`` up to ``SIMPLE_LIMIT``, a resumable update session above it (the
  same file, a new revision), conditional on the version read just before.
- **Update / delete**: Drive v3 has no ``If-Match`` on files, so the write is conditional
  on the file's ``version`` read just before it (a changed version -> ``VersionConflict``);
  update PATCHes the name / description, delete moves the file to the trash (the user can
  restore it). https://developers.google.com/workspace/drive/api/reference/rest/v3/files
- **Folders** (``ensure_folder``): a folder of that name in the parent, else created.
- **Push** (``watch`` / ``stop``): ``changes.watch`` (a web_hook channel on the user's
  changes, from the current start page token) and ``channels.stop``; the notification
  carries no data, it wakes an incremental run.
  https://developers.google.com/workspace/drive/api/guides/push
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from integrations.providers._google import channel_watch
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

API = "/drive/v3"
UPLOAD = "/upload/drive/v3"
FOLDER_MIME = "application/vnd.google-apps.folder"
HUB_ID_KEY = "architectStudioId"
FILE_FIELDS = ("id,name,description,mimeType,size,md5Checksum,version,modifiedTime,webViewLink,parents,"
               "trashed,appProperties")
PAGE_SIZE = 100
#: Drive's limit for a simple / multipart upload (5 MB); above it, a resumable session.
SIMPLE_LIMIT = 5 * 1024 * 1024
#: One resumable chunk: a multiple of 256 KiB, as Drive requires of every chunk but the last.
CHUNK = 8 * 256 * 1024
CHANNEL_TTL = 7 * 24 * 3600


class GoogleDriveError(AnswerError):
    """An answer the sync cannot use; carries the status and Drive's ``reason``, never a token."""

    provider = "Google Drive"

    def __init__(self, what: str, response: Answer) -> None:
        self.reason = _reason(response)
        super().__init__(what, response.status, self.reason)


class GoogleDriveAdapter(StorageSettings, ProviderAdapter):
    # ------------------------------------------------------------------ changes
    def list_changes(self, client: Caller, *, container: str, cursor: str | None) -> ChangePage:
        state = _decode(cursor)
        if "changes" in state:
            return self._changes(client, container, state["changes"])
        start = state.get("start") or self._start_token(client)
        params: dict[str, Any] = {"q": f"'{_q(container)}' in parents and trashed = false",
                                  "fields": f"nextPageToken,files({FILE_FIELDS})", "pageSize": PAGE_SIZE}
        if state.get("list"):
            params["pageToken"] = state["list"]
        response = client.request("GET", f"{API}/files", params=params)
        if response.status in (400, 404, 410) and state.get("list"):
            raise CursorInvalid("Google Drive refused the stored listing page token")
        if not response.ok:
            raise GoogleDriveError("file listing", response)
        data = _data(response)
        changes = tuple(_change(f) for f in data.get("files") or [] if f.get("id") and f.get("mimeType") != FOLDER_MIME)
        if data.get("nextPageToken"):
            return ChangePage(changes, _encode(list=data["nextPageToken"], start=start), done=False)
        return ChangePage(changes, _encode(changes=start), done=True)

    def _start_token(self, client: Caller) -> str:
        response = client.request("GET", f"{API}/changes/startPageToken")
        if not response.ok or not _data(response).get("startPageToken"):
            raise GoogleDriveError("start page token", response)
        return str(_data(response)["startPageToken"])

    def _changes(self, client: Caller, root: str, token: str) -> ChangePage:
        params = {"pageToken": token, "includeRemoved": "true", "spaces": "drive", "pageSize": PAGE_SIZE,
                  "fields": f"nextPageToken,newStartPageToken,changes(fileId,removed,time,file({FILE_FIELDS}))"}
        response = client.request("GET", f"{API}/changes", params=params)
        if response.status in (400, 404, 410):
            raise CursorInvalid(f"Google Drive refused the changes page token ({_reason(response) or response.status})")
        if not response.ok:
            raise GoogleDriveError("change listing", response)
        data = _data(response)
        inside = _Inside(client, root)
        changes: list[RemoteChange] = []
        for item in data.get("changes") or []:
            file = item.get("file") if isinstance(item.get("file"), dict) else None
            file_id = item.get("fileId") or (file or {}).get("id")
            if not file_id or (file is not None and file.get("mimeType") == FOLDER_MIME):
                continue
            if item.get("removed") or file is None or file.get("trashed") or not inside(file):
                changes.append(RemoteChange(remote_id=str(file_id), deleted=True))
            else:
                changes.append(_change(file))
        if data.get("nextPageToken"):
            return ChangePage(tuple(changes), _encode(changes=data["nextPageToken"]), done=False)
        new_start = data.get("newStartPageToken") or token
        return ChangePage(tuple(changes), _encode(changes=new_start), done=True)

    # ------------------------------------------------------------------ folders
    def ensure_folder(self, client: Caller, *, parent: str, name: str) -> str:
        q = (f"name = '{_q(name)}' and '{_q(parent)}' in parents and mimeType = '{FOLDER_MIME}' "
             "and trashed = false")
        found = client.request("GET", f"{API}/files", params={"q": q, "fields": "files(id)", "pageSize": 1})
        if not found.ok:
            raise GoogleDriveError("folder lookup", found)
        for item in _data(found).get("files") or []:
            if item.get("id"):
                return str(item["id"])
        created = client.request("POST", f"{API}/files", params={"fields": "id"},
                                 json={"name": name, "mimeType": FOLDER_MIME, "parents": [parent]})
        if not created.ok or not _data(created).get("id"):
            raise GoogleDriveError("folder create", created)
        return str(_data(created)["id"])

    # ------------------------------------------------------------------ writes
    def push_create(self, client: Caller, *, container: str, record: Mapping[str, Any], hub_id: str,
                    content: FileContent | None = None) -> RemoteChange:
        existing = self._by_hub_id(client, hub_id)
        if existing is not None:  # an earlier attempt created it (its answer was lost)
            return _change(existing)
        metadata = {**_metadata(record), "parents": [container], "appProperties": {HUB_ID_KEY: str(hub_id)}}
        if content is None:
            content = FileContent(name=metadata.get("name", ""), mime_type="application/octet-stream", size=0,
                                  chunks=lambda n: iter(()))
        metadata.setdefault("mimeType", content.mime_type)
        if content.size is not None and content.size <= SIMPLE_LIMIT:
            return _change(self._multipart(client, metadata, content))
        return _change(self._resumable(client, metadata, content))

    def _by_hub_id(self, client: Caller, hub_id: str) -> dict | None:
        q = f"appProperties has {{ key='{HUB_ID_KEY}' and value='{_q(hub_id)}' }} and trashed = false"
        response = client.request("GET", f"{API}/files", params={"q": q, "fields": f"files({FILE_FIELDS})",
                                                                 "pageSize": 1})
        if not response.ok:
            raise GoogleDriveError("file lookup", response)
        files = _data(response).get("files") or []
        return files[0] if files and isinstance(files[0], dict) else None

    def _multipart(self, client: Caller, metadata: dict, content: FileContent) -> dict:
        """One multipart/related request: the metadata part, then the media part (at most 5 MB)."""
        media = b"".join(content.chunks(SIMPLE_LIMIT))  # at most 5 MB: the size was checked
        boundary = "architect-studio-" + uuid.uuid4().hex
        body = b"".join([
            f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode(),
            json.dumps(metadata).encode(), b"\r\n",
            f"--{boundary}\r\nContent-Type: {metadata['mimeType']}\r\n\r\n".encode(), media, b"\r\n",
            f"--{boundary}--\r\n".encode(),
        ])
        response = client.request("POST", f"{UPLOAD}/files", params={"uploadType": "multipart", "fields": FILE_FIELDS},
                                  data=body, headers={"Content-Type": f"multipart/related; boundary={boundary}"})
        if not response.ok:
            raise GoogleDriveError("upload", response)
        return _data(response)

    def _resumable(self, client: Caller, metadata: dict, content: FileContent, *, file_id: str | None = None) -> dict:
        """A resumable session: the metadata, then the bytes ``CHUNK`` at a time (308 between).
        With ``file_id``, an update session (``PATCH``): the file's content is replaced."""
        headers = {"X-Upload-Content-Type": metadata["mimeType"]}
        if content.size is not None:
            headers["X-Upload-Content-Length"] = str(content.size)
        method, path = ("PATCH", f"{UPLOAD}/files/{quote(file_id, safe='')}") if file_id else ("POST", f"{UPLOAD}/files")
        body = {k: v for k, v in metadata.items() if k != "mimeType"} if file_id else metadata
        opened = client.request(method, path, params={"uploadType": "resumable", "fields": FILE_FIELDS},
                                json=body, headers=headers)
        session = opened.headers.get("Location") or opened.headers.get("location")
        if not opened.ok or not session:
            raise GoogleDriveError("upload session", opened)
        offset = 0
        answer: Answer | None = None
        for chunk, last in _with_last(content.chunks(CHUNK)):
            end = offset + len(chunk) - 1
            total = str(offset + len(chunk)) if last else (str(content.size) if content.size is not None else "*")
            answer = client.request("PUT", session, data=chunk, headers={
                "Content-Range": f"bytes {offset}-{end}/{total}", "Content-Type": metadata["mimeType"]})
            offset += len(chunk)
            if last:
                break
            if answer.status != 308:
                raise GoogleDriveError("upload chunk", answer)
        if answer is None:  # an empty file: the session is completed with no bytes
            answer = client.request("PUT", session, data=b"", headers={"Content-Range": "bytes */0"})
        if not answer.ok:
            raise GoogleDriveError("upload", answer)
        return _data(answer)

    def _current(self, client: Caller, remote_id: str) -> dict | None:
        response = client.request("GET", f"{API}/files/{quote(remote_id, safe='')}", params={"fields": FILE_FIELDS})
        if response.status == 404:
            return None
        if not response.ok:
            raise GoogleDriveError("file read", response)
        return _data(response)

    def push_update(self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
                    version: str | None) -> RemoteChange:
        current = self._current(client, remote_id)
        if current is None:
            raise GoogleDriveError("file update", _Gone())
        if version and str(current.get("version")) != version:
            raise VersionConflict(f"file {remote_id} changed in Google Drive (version {current.get('version')})")
        response = client.request("PATCH", f"{API}/files/{quote(remote_id, safe='')}", params={"fields": FILE_FIELDS},
                                  json=_metadata(record, create=False), idempotent=True)
        if not response.ok:
            raise GoogleDriveError("file update", response)
        return _change(_data(response))

    def push_content(self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
                      content: FileContent, version: str | None) -> RemoteChange:
        """The file's bytes replaced (``files.update`` with media: a new revision, same id),
        conditional on the ``version`` read just before; the name / description go with it."""
        current = self._current(client, remote_id)
        if current is None or current.get("trashed"):
            raise GoogleDriveError("file content update", _Gone())
        if version and str(current.get("version")) != version:
            raise VersionConflict(f"file {remote_id} changed in Google Drive (version {current.get('version')})",
                                  modified_at=instant(current.get("modifiedTime")))
        mime = content.mime_type or str(current.get("mimeType") or "application/octet-stream")
        if content.size is not None and content.size <= SIMPLE_LIMIT:
            media = b"".join(content.chunks(SIMPLE_LIMIT))  # at most 5 MB: the size was checked
            response = client.request("PATCH", f"{UPLOAD}/files/{quote(remote_id, safe='')}",
                                      params={"uploadType": "media", "fields": FILE_FIELDS}, data=media,
                                      headers={"Content-Type": mime}, idempotent=True)
            if not response.ok:
                raise GoogleDriveError("file content update", response)
            updated = _data(response)
        else:
            updated = self._resumable(client, {"mimeType": mime}, content, file_id=remote_id)
        metadata = _metadata(record, create=False)
        if any(updated.get(k) != v for k, v in metadata.items()):
            response = client.request("PATCH", f"{API}/files/{quote(remote_id, safe='')}",
                                      params={"fields": FILE_FIELDS}, json=metadata, idempotent=True)
            if not response.ok:
                raise GoogleDriveError("file update", response)
            updated = _data(response)
        return _change(updated)

    def push_delete(self, client: Caller, *, container: str, remote_id: str, version: str | None) -> None:
        current = self._current(client, remote_id)
        if current is None or current.get("trashed"):
            return  # already gone: what we wanted
        if version and str(current.get("version")) != version:
            raise VersionConflict(f"file {remote_id} changed in Google Drive (version {current.get('version')})")
        response = client.request("PATCH", f"{API}/files/{quote(remote_id, safe='')}", params={"fields": "id,trashed"},
                                  json={"trashed": True}, idempotent=True)
        if not (response.ok or response.status == 404):
            raise GoogleDriveError("file trash", response)

    # ------------------------------------------------------------------ push
    def watch(self, client: Caller, *, container: str, address: str, token: str, channel_id: str) -> Watch:
        """``changes.watch`` from the current start page token (a channel on the user's changes)."""
        body = {"id": channel_id, "type": "web_hook", "address": address, "token": token,
                "params": {"ttl": str(CHANNEL_TTL)}}
        response = client.request("POST", f"{API}/changes/watch", params={"pageToken": self._start_token(client)},
                                  json=body)
        if not response.ok:
            raise GoogleDriveError("watch", response)
        data = _data(response)
        return channel_watch(data, channel_id, CHANNEL_TTL)

    def stop(self, client: Caller, *, channel_id: str, resource_id: str) -> None:
        response = client.request("POST", f"{API}/channels/stop", json={"id": channel_id, "resourceId": resource_id})
        if not (response.ok or response.status == 404):
            raise GoogleDriveError("channel stop", response)


# ---------------------------------------------------------------------- helpers
class _Gone:
    status, data, text, headers, ok = 404, None, "", {}, False


class _Inside:
    """Whether a file is in the root folder or in one of its sub-folders (one level: the
    folder structures make no deeper ones); a parent's parents are read once per page."""

    def __init__(self, client: Caller, root: str) -> None:
        self.client, self.root, self.parents_of = client, root, {}

    def __call__(self, file: Mapping[str, Any]) -> bool:
        parents = file.get("parents") or []
        if self.root in parents:
            return True
        for parent in parents:
            if parent not in self.parents_of:
                response = self.client.request("GET", f"{API}/files/{quote(str(parent), safe='')}",
                                               params={"fields": "id,parents,mimeType"})
                self.parents_of[parent] = (_data(response).get("parents") or []) if response.ok else []
            if self.root in self.parents_of[parent]:
                return True
        return False


def _with_last(chunks: Iterator[bytes]) -> Iterator[tuple[bytes, bool]]:
    """Each chunk with whether it is the last (one chunk read ahead)."""
    previous: bytes | None = None
    for chunk in chunks:
        if previous is not None:
            yield previous, False
        previous = chunk
    if previous is not None:
        yield previous, True


def _metadata(record: Mapping[str, Any], *, create: bool = True) -> dict[str, Any]:
    """The writable File fields of a mapped record (read-only ones such as size and
    webViewLink are the provider's)."""
    body = {k: record[k] for k in ("name", "description") if isinstance(record.get(k), str)}
    if create and isinstance(record.get("mimeType"), str) and record["mimeType"]:
        body["mimeType"] = record["mimeType"]
    return body


def _change(file: Mapping[str, Any]) -> RemoteChange:
    raw = dict(file)
    if raw.get("size") is not None:
        try:
            raw["size"] = int(raw["size"])  # int64 travels as a JSON string
        except (TypeError, ValueError):
            raw.pop("size")
    raw["documentKind"] = file_kind(raw.get("mimeType"))
    hub_id = (file.get("appProperties") or {}).get(HUB_ID_KEY)
    return RemoteChange(remote_id=str(file.get("id") or ""), deleted=bool(file.get("trashed")),
                        version=str(file["version"]) if file.get("version") is not None else None, raw=raw,
                        modified_at=instant(file.get("modifiedTime")),
                        hub_id=hub_id if isinstance(hub_id, str) and hub_id else None)


def _q(value: str) -> str:
    """A string literal inside a Drive query (backslash and quote escaped)."""
    return str(value).replace("\\", "\\\\").replace("'", "\\'")


def _encode(**parts: str) -> str:
    return cursor_text(drop_empty=True, **parts)


def _decode(cursor: str | None) -> dict[str, str]:
    if not cursor:
        return {}
    data = cursor_state(cursor, "Google Drive")
    if (not data or set(data) - {"list", "start", "changes"}
            or not all(isinstance(v, str) and v for v in data.values())):
        raise CursorInvalid("not a Google Drive cursor")
    return data


def _data(response: Answer) -> dict:
    return response.data if isinstance(response.data, dict) else {}


def _reason(response: Answer) -> str | None:
    error = _data(response).get("error")
    errors = error.get("errors") if isinstance(error, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict) and errors[0].get("reason"):
        return str(errors[0]["reason"])[:60]
    return None
