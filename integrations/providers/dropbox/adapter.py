"""Dropbox's adapter: the test call (a POST that changes nothing, so it may be retried), and
documents <-> files in the integration's root folder through the Dropbox API v2
(https://www.dropbox.com/developers/documentation/http/documentation).

- **Changes**: ``files/list_folder`` of the root (``recursive``: the folder structure's
  sub-folders count as inside), then ``files/list_folder/continue`` with the cursor;
  ``has_more`` -> more pages. A ``deleted`` entry carries no id: ``files/list_revisions`` of
  its path says which file it was (its entries keep the id), so a deletion and a move out of
  the root reach the linked document; a rename is the old path deleted and the new path
  listed with the same id (one page keeps the id's last state). ``reset`` (409) ->
  ``CursorInvalid``. Folders are not documents.
- **Create**: ``files/upload`` (one request) up to ``SIMPLE_LIMIT``; above it (or size
  unknown) an upload session: ``upload_session/start`` -> ``append_v2`` -> ``finish`` with
  the commit, ``CHUNK`` bytes a request. Uploads go to the content host
  (``content.dropboxapi.com``; with an API-base override, that base). The path is
  ``<folder>/<name>``, ``mode: add``; a file already there with the same size is taken as
  this document's earlier upload (a retried create), otherwise Dropbox renames the new one.
  Dropbox keeps no hub id on a file, so a full resync after the links were lost pairs
  records by their mapped values.
- **New content** (``push_content``): ``files/upload`` (or a session) with ``mode: update``
  and the rev we hold -- a newer rev there is a ``path/conflict`` -> ``VersionConflict``.
- **Update / delete**: conditional on the ``rev`` read just before (``files/get_metadata``;
  a different rev -> ``VersionConflict``); a rename is ``files/move_v2``, a delete
  ``files/delete_v2``.
- **Folders**: ``files/create_folder_v2``; ``path/conflict/folder`` means it exists. A
  folder's id here is its path.
- Dropbox has no MIME type: it is guessed from the name; the link is the Dropbox web
  address of the file's folder with the file previewed (the web UI's, not an API promise).
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from integrations.providers._storage import StorageSettings, file_kind
from integrations.providers.adapter import (
    Answer,
    Caller,
    ChangePage,
    CursorInvalid,
    FileContent,
    ProviderAdapter,
    RemoteChange,
    TestCall,
    VersionConflict,
)
from integrations.providers.common import AnswerError, instant

API_BASE = "https://api.dropboxapi.com"
CONTENT_BASE = "https://content.dropboxapi.com"
PAGE_SIZE = 500
#: Up to this a single ``files/upload`` request (Dropbox takes up to 150 MB there); above it, a session.
SIMPLE_LIMIT = 8 * 1024 * 1024
#: One session request (Dropbox: a multiple of 4 MiB for all but the last).
CHUNK = 8 * 1024 * 1024
WEB = "https://www.dropbox.com/home"


class DropboxError(AnswerError):
    """An answer the sync cannot use; carries the status and Dropbox's ``error_summary``."""

    provider = "Dropbox"

    def __init__(self, what: str, response: Answer) -> None:
        self.summary = _summary(response)
        super().__init__(what, response.status, self.summary)


class DropboxAdapter(StorageSettings, ProviderAdapter):
    missing_fields = ("description",)  # Dropbox files have none
    default_root = ""  # the app folder's (or the whole Dropbox's) root

    def test_call(self, values: Mapping[str, Any]) -> TestCall | None:
        call = super().test_call(values)
        # get_current_account takes no body and changes nothing.
        return call and TestCall(call.method, call.path, {"idempotent": True})

    # ------------------------------------------------------------------ push (one webhook per app)
    app_push_account_key = "account_id"

    def app_push_accounts(self, body: Any) -> list[str] | None:
        """``{"list_folder": {"accounts": [...]}, "delta": {"users": [...]}}``: the accounts whose
        files changed (https://www.dropbox.com/developers/reference/webhooks)."""
        list_folder = body.get("list_folder") if isinstance(body, dict) else None
        accounts = list_folder.get("accounts") if isinstance(list_folder, dict) else None
        if not isinstance(accounts, list):
            return None
        return [a for a in accounts[:1000] if isinstance(a, str) and 0 < len(a) <= 200]

    # ------------------------------------------------------------------ changes
    def list_changes(self, client: Caller, *, container: str, cursor: str | None) -> ChangePage:
        state = _decode(cursor)
        if state:
            response = _rpc(client, "files/list_folder/continue", {"cursor": state})
            if response.status == 409 and (_summary(response) or "").startswith("reset"):
                raise CursorInvalid("Dropbox reset the listing cursor")
        else:
            response = _rpc(client, "files/list_folder", {"path": container, "recursive": True, "limit": PAGE_SIZE})
        if not response.ok:
            raise DropboxError("folder listing", response)
        data = _data(response)
        changes: list[RemoteChange] = []
        for entry in data.get("entries") or []:
            tag = entry.get(".tag")
            if tag == "file" and entry.get("id"):
                changes.append(_change(entry))
            elif tag == "deleted" and entry.get("path_lower"):
                gone = self._which(client, entry["path_lower"])
                if gone:
                    changes.append(RemoteChange(remote_id=gone, deleted=True))
        if not data.get("cursor"):
            raise DropboxError("folder listing (no cursor)", response)
        return ChangePage(tuple(changes), json.dumps(data["cursor"]), done=not data.get("has_more"))

    def _which(self, client: Caller, path: str) -> str | None:
        """The id of the file a ``deleted`` entry was (``list_revisions`` keeps it); None: unknown."""
        response = _rpc(client, "files/list_revisions", {"path": path, "limit": 1})
        entries = _data(response).get("entries") if response.ok else None
        if entries and isinstance(entries[0], dict) and entries[0].get("id"):
            return str(entries[0]["id"])
        return None

    # ------------------------------------------------------------------ folders
    def ensure_folder(self, client: Caller, *, parent: str, name: str) -> str:
        path = f"{parent.rstrip('/')}/{name}"
        response = _rpc(client, "files/create_folder_v2", {"path": path, "autorename": False})
        if response.ok or (response.status == 409 and "conflict/folder" in (_summary(response) or "")):
            return path
        raise DropboxError("folder create", response)

    # ------------------------------------------------------------------ writes
    def push_create(self, client: Caller, *, container: str, record: Mapping[str, Any], hub_id: str,
                    content: FileContent | None = None) -> RemoteChange:
        name = str(record.get("name") or (content.name if content else "") or hub_id)
        path = f"{container.rstrip('/')}/{name}"
        size = content.size if content is not None else 0
        there = _rpc(client, "files/get_metadata", {"path": path})
        if there.ok and _data(there).get(".tag") == "file" and size is not None and _data(there).get("size") == size:
            return _change(_data(there))  # an earlier attempt's upload (its answer was lost)
        commit = {"path": path, "mode": "add", "autorename": True, "mute": True}
        chunks = content.chunks(CHUNK) if content is not None else iter(())
        if size is not None and size <= SIMPLE_LIMIT:
            body = b"".join(chunks)
            answer = _content(client, "files/upload", commit, body)
        else:
            answer = self._session(client, commit, chunks)
        if not answer.ok:
            raise DropboxError("upload", answer)
        return _change(_data(answer))

    def _session(self, client: Caller, commit: dict, chunks: Iterator[bytes]) -> Answer:
        """start (with the first chunk) -> append_v2 per chunk -> finish with the commit."""
        first = next(chunks, b"")
        started = _content(client, "files/upload_session/start", {"close": False}, first)
        session_id = _data(started).get("session_id")
        if not started.ok or not session_id:
            raise DropboxError("upload session", started)
        offset = len(first)
        for chunk in chunks:
            answer = _content(client, "files/upload_session/append_v2",
                              {"cursor": {"session_id": session_id, "offset": offset}, "close": False}, chunk)
            if not answer.ok:
                raise DropboxError("upload chunk", answer)
            offset += len(chunk)
        return _content(client, "files/upload_session/finish",
                        {"cursor": {"session_id": session_id, "offset": offset}, "commit": commit}, b"")

    def _current(self, client: Caller, remote_id: str) -> dict | None:
        response = _rpc(client, "files/get_metadata", {"path": remote_id})
        if response.status == 409 and "not_found" in (_summary(response) or ""):
            return None
        if not response.ok:
            raise DropboxError("file read", response)
        return _data(response)

    def push_update(self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
                    version: str | None) -> RemoteChange:
        current = self._current(client, remote_id)
        if current is None:
            raise DropboxError("file update", _Gone())
        if version and current.get("rev") != version:
            raise VersionConflict(f"file {remote_id} changed in Dropbox (rev {current.get('rev')})")
        name = record.get("name")
        if not isinstance(name, str) or not name or name == current.get("name"):
            return _change(current)
        folder = str(current.get("path_display") or "").rsplit("/", 1)[0]
        response = _rpc(client, "files/move_v2", {"from_path": remote_id, "to_path": f"{folder}/{name}",
                                                  "autorename": False})
        if not response.ok:
            raise DropboxError("file rename", response)
        return _change(_data(response).get("metadata") or {})

    def push_content(self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
                      content: FileContent, version: str | None) -> RemoteChange:
        """New bytes for the same file: ``mode: update`` with the rev we hold (Dropbox refuses
        it with ``path/conflict`` when the file has a newer rev), then a rename if the name
        changed too. https://www.dropbox.com/developers/documentation/http/documentation#files-upload"""
        current = self._current(client, remote_id)
        if current is None:
            raise DropboxError("file content update", _Gone())
        rev = str(version or current.get("rev") or "")
        if current.get("rev") != rev:
            raise VersionConflict(f"file {remote_id} changed in Dropbox (rev {current.get('rev')})",
                                  modified_at=instant(current.get("server_modified")))
        commit = {"path": str(current.get("path_display") or current.get("path_lower")),
                  "mode": {".tag": "update", "update": rev}, "autorename": False, "mute": True}
        chunks = content.chunks(CHUNK)
        if content.size is not None and content.size <= SIMPLE_LIMIT:
            answer = _content(client, "files/upload", commit, b"".join(chunks))
        else:
            answer = self._session(client, commit, chunks)
        if answer.status == 409 and "conflict" in (_summary(answer) or ""):
            raise VersionConflict(f"file {remote_id} changed in Dropbox during the upload")
        if not answer.ok:
            raise DropboxError("file content update", answer)
        uploaded = _data(answer)
        return self.push_update(client, container=container, remote_id=remote_id, record=record,
                                version=uploaded.get("rev")) if record.get("name") not in (None, "", uploaded.get("name")) \
            else _change(uploaded)

    def push_delete(self, client: Caller, *, container: str, remote_id: str, version: str | None) -> None:
        current = self._current(client, remote_id)
        if current is None:
            return
        if version and current.get("rev") != version:
            raise VersionConflict(f"file {remote_id} changed in Dropbox (rev {current.get('rev')})")
        response = _rpc(client, "files/delete_v2", {"path": remote_id})
        if not (response.ok or (response.status == 409 and "not_found" in (_summary(response) or ""))):
            raise DropboxError("file delete", response)

    # ------------------------------------------------------------------ mappings

# ---------------------------------------------------------------------- helpers
class _Gone:
    status, data, text, headers, ok = 409, {"error_summary": "path/not_found/"}, "", {}, False


def _rpc(client: Caller, route: str, arg: Mapping[str, Any]) -> Answer:
    # Every RPC the sync makes reads, or writes conditionally / idempotently: safe to retry.
    return client.request("POST", f"/2/{route}", json=dict(arg), idempotent=not route.startswith("files/upload"))


def _content(client: Caller, route: str, arg: Mapping[str, Any], body: bytes) -> Answer:
    base = client.base_url.rstrip("/")
    origin = CONTENT_BASE if base == API_BASE else base
    # Dropbox-API-Arg is JSON in an HTTP header: non-ASCII escaped (json.dumps does).
    return client.request("POST", f"{origin}/2/{route}", data=body, idempotent=False,
                          headers={"Dropbox-API-Arg": json.dumps(dict(arg)),
                                   "Content-Type": "application/octet-stream"})


def _change(entry: Mapping[str, Any]) -> RemoteChange:
    display = str(entry.get("path_display") or "")
    folder, _, name = display.rpartition("/")
    raw = {
        "id": entry.get("id"), "name": entry.get("name") or name,
        "mimeType": mimetypes.guess_type(str(entry.get("name") or name))[0] or "application/octet-stream",
        "size": entry.get("size"), "rev": entry.get("rev"), "contentHash": entry.get("content_hash"),
        "pathDisplay": display, "webViewLink": f"{WEB}{quote(folder)}?preview={quote(name)}",
    }
    raw["documentKind"] = file_kind(raw["mimeType"])
    return RemoteChange(remote_id=str(entry.get("id") or ""), deleted=False, version=entry.get("rev"), raw=raw,
                        modified_at=instant(entry.get("server_modified")))


def _decode(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        value = json.loads(cursor)
    except ValueError:
        raise CursorInvalid("not a Dropbox cursor") from None
    if not isinstance(value, str) or not value:
        raise CursorInvalid("not a Dropbox cursor")
    return value


def _data(response: Answer) -> dict:
    return response.data if isinstance(response.data, dict) else {}


def _summary(response: Answer) -> str | None:
    summary = _data(response).get("error_summary")
    return str(summary)[:80] if summary else None
