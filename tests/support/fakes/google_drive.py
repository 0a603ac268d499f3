"""A fake Google Drive API v3: a real HTTP server on 127.0.0.1 implementing the documented
semantics the hub's storage sync uses (and a small file server standing in for the platform's
file storage). Payloads are shaped as the reference pages show them:

- File resource (kind ``drive#file``; id, name, mimeType, description, parents, trashed,
  version -- int64 as a string, size -- int64 as a string, absent on folders, md5Checksum,
  modifiedTime, webViewLink, appProperties):
  https://developers.google.com/workspace/drive/api/reference/rest/v3/files
- ``GET files`` with ``q`` (the three query forms the hub sends: ``'<id>' in parents and
  trashed = false``, a folder by name in a parent, ``appProperties has { key=.. and value=.. }``),
  ``pageSize``, ``pageToken`` / ``nextPageToken``:
  https://developers.google.com/workspace/drive/api/reference/rest/v3/files/list ,
  https://developers.google.com/workspace/drive/api/guides/search-files
- ``GET changes/startPageToken`` (``{"kind": "drive#startPageToken", "startPageToken"}``) and
  ``GET changes`` (``drive#changeList``: ``changes[]`` of ``drive#change`` with ``changeType``,
  ``time``, ``removed``, ``fileId``, ``file``; ``nextPageToken`` or, on the last page,
  ``newStartPageToken``): https://developers.google.com/workspace/drive/api/reference/rest/v3/changes/list ,
  https://developers.google.com/workspace/drive/api/guides/manage-changes
- Uploads: ``POST upload/drive/v3/files?uploadType=multipart`` (multipart/related, metadata
  then media; at most 5 MB) and ``uploadType=resumable`` (answer 200 with ``Location``, then
  ``PUT`` chunks with ``Content-Range: bytes a-b/total`` -- each chunk but the last a multiple
  of 256 KiB -- answered ``308 Resume Incomplete`` with ``Range: bytes=0-b`` until the last,
  answered 200 with the File): https://developers.google.com/workspace/drive/api/guides/manage-uploads
- ``PATCH files/{id}`` (name, description, trashed), ``GET files/{id}``, ``POST files``
  (metadata only: folders): .../reference/rest/v3/files/update , /get , /create
- ``POST changes/watch`` / ``POST channels/stop``: https://developers.google.com/workspace/drive/api/guides/push
- Error bodies as https://developers.google.com/workspace/drive/api/guides/handle-errors shows
  them (401 authError, 404 notFound, 429 rateLimitExceeded, 500 backendError).

Chosen here (not documented by Google): a page token the server no longer knows
(``expire_tokens``) answers 400 ``invalid`` on ``pageToken`` -- the adapter treats 400 / 404 /
410 alike; ``fail_next`` injects answers for the error-mapping tests.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.support.fakes.base import FakeServer, running

FOLDER = "application/vnd.google-apps.folder"
CHUNK_UNIT = 256 * 1024


def error_body(code: int, reason: str, message: str) -> dict:
    return {"error": {"code": code, "message": message,
                      "errors": [{"domain": "global", "reason": reason, "message": message}]}}


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int
    body_bytes: int


class FakeGoogleDrive(FakeServer):
    name = "fake-google-drive"
    content_type = "application/json; charset=UTF-8"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.files: dict[str, dict] = {}
        self.content: dict[str, bytes] = {}
        self.requests: list[Seen] = []
        self._changes: list[tuple[int, str]] = []  # (change number, file id)
        self._seq = 0
        self._ids = 0
        self._floor = 0  # page tokens below this are no longer valid
        self._sessions: dict[str, dict] = {}
        self._failures: list[tuple[int, dict, dict[str, str], str]] = []
        self.channels: dict[str, dict] = {}
        self._clock = datetime(2026, 11, 1, tzinfo=UTC)
        self.add_folder("root", "My Drive", parent=None)

    # ------------------------------------------------------------------ the user in Drive
    def add_folder(self, folder_id: str | None, name: str, *, parent: str | None = "root") -> dict:
        with self._lock:
            fid = folder_id or self._new_id()
            self.files[fid] = {"kind": "drive#file", "id": fid, "name": name, "mimeType": FOLDER,
                               "parents": [parent] if parent else [], "trashed": False, "version": "1",
                               "modifiedTime": self._now(), "appProperties": {}}
            if parent:
                self._changed(fid)
            return dict(self.files[fid])

    def put_file(self, name: str, data: bytes, *, parent: str, mime: str = "application/pdf") -> dict:
        with self._lock:
            fid = self._new_id()
            self.files[fid] = {"kind": "drive#file", "id": fid, "name": name, "mimeType": mime, "parents": [parent],
                               "trashed": False, "version": "0", "appProperties": {}}
            self._store(fid, data)
            return dict(self.files[fid])

    def edit(self, file_id: str, **changes: Any) -> dict:
        """Rename, move (``parents=[...]``), trash: as the user would, a new version and change."""
        with self._lock:
            self.files[file_id].update(changes)
            self._touch(file_id)
            return dict(self.files[file_id])

    def replace_content(self, file_id: str, data: bytes) -> dict:
        """A new revision uploaded by the user: new bytes, size, checksum and version."""
        with self._lock:
            self._store(file_id, data)
            return dict(self.files[file_id])

    def delete_forever(self, file_id: str) -> None:
        with self._lock:
            self.files.pop(file_id)
            self._changed(file_id)

    def notify(self, state: str = "change") -> list[int]:
        """POST a change notification to every live channel, as Drive does (empty body; headers
        X-Goog-Channel-ID / -Token / -Expiration, X-Goog-Resource-ID / -URI / -State,
        X-Goog-Message-Number, X-Goog-Changed); returns the hub's answers."""
        import requests

        answers = []
        with self._lock:
            channels = [dict(c) for c in self.channels.values()]
        for number, channel in enumerate(channels, start=2):
            headers = {"X-Goog-Channel-ID": channel["id"], "X-Goog-Channel-Token": channel.get("token", ""),
                       "X-Goog-Channel-Expiration": "Thu, 10 Dec 2026 06:00:00 GMT",
                       "X-Goog-Resource-ID": channel["resourceId"], "X-Goog-Resource-URI": channel["resourceUri"],
                       "X-Goog-Resource-State": state, "X-Goog-Message-Number": str(number),
                       "X-Goog-Changed": "content,properties"}
            answers.append(requests.post(channel["address"], headers=headers, timeout=10).status_code)
        return answers

    def expire_tokens(self) -> None:
        with self._lock:
            self._floor = self._seq + 1

    def fail_next(self, status: int, reason: str, *, times: int = 1, headers: dict[str, str] | None = None,
                  path: str = "") -> None:
        """The next ``times`` requests whose path contains ``path`` answer ``status``."""
        with self._lock:
            for _ in range(times):
                self._failures.append((status, error_body(status, reason, reason), headers or {}, path))

    def children(self, parent: str) -> dict[str, dict]:
        with self._lock:
            return {f["name"]: dict(f) for f in self.files.values()
                    if parent in f["parents"] and not f["trashed"]}

    # ------------------------------------------------------------------ store
    def _new_id(self) -> str:
        self._ids += 1
        return f"1Fk{self._ids:06d}xYzDriveFileId"

    def _now(self) -> str:
        self._clock += timedelta(seconds=1)
        return self._clock.isoformat().replace("+00:00", ".000Z")

    def _changed(self, file_id: str) -> None:
        self._seq += 1
        self._changes.append((self._seq, file_id))

    def _touch(self, file_id: str) -> None:
        meta = self.files[file_id]
        meta["version"] = str(int(meta.get("version") or 0) + 1)
        meta["modifiedTime"] = self._now()
        self._changed(file_id)

    def _store(self, file_id: str, data: bytes) -> None:
        meta = self.files[file_id]
        self.content[file_id] = data
        meta["size"] = str(len(data))
        meta["md5Checksum"] = hashlib.md5(data).hexdigest()  # noqa: S324 - Drive's checksum, not security
        meta["webViewLink"] = f"https://drive.google.com/file/d/{file_id}/view?usp=drivesdk"
        self._touch(file_id)

    def _create(self, metadata: dict, data: bytes | None) -> dict:
        fid = self._new_id()
        meta = {"kind": "drive#file", "id": fid, "name": metadata.get("name") or "Untitled",
                "mimeType": metadata.get("mimeType") or "application/octet-stream",
                "parents": list(metadata.get("parents") or ["root"]), "trashed": False, "version": "0",
                "appProperties": dict(metadata.get("appProperties") or {})}
        if metadata.get("description"):
            meta["description"] = metadata["description"]
        self.files[fid] = meta
        if meta["mimeType"] == FOLDER:
            self._touch(fid)
        else:
            self._store(fid, data or b"")
        return meta

    # ------------------------------------------------------------------ HTTP
    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, dict]:
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query, keep_blank_values=True)
        path = unquote(parts.path)
        with self._lock:
            status, payload, extra = self._route(method, path, query, headers, body)
            self.requests.append(Seen(method, path, query, headers, status, len(body)))
        return status, (json.dumps(payload).encode() if payload is not None else b""), extra

    def _route(self, method, path, query, headers, body) -> tuple[int, dict | None, dict]:
        for i, (status, payload, extra, where) in enumerate(self._failures):
            if where in path:
                del self._failures[i]
                return status, payload, extra
        if path == "/token" and method == "POST":  # the refresh token was revoked (OAuth 2.0 web-server guide)
            return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}, {}
        if not headers.get("authorization", "").startswith("Bearer ") and "upload_id" not in query:
            return 401, error_body(401, "authError", "Invalid Credentials"), {}
        one = {k: v[0] for k, v in query.items()}
        if path == "/upload/drive/v3/files" and method == "PUT" and "upload_id" in one:
            return self._chunk(one["upload_id"], headers, body)
        if path == "/upload/drive/v3/files" and method == "POST":
            return self._upload(one, headers, body)
        replaced = re.fullmatch(r"/upload/drive/v3/files/([^/]+)", path)
        if replaced and method == "PATCH":  # files.update with media: new bytes, same file
            return self._replace(replaced.group(1), one, headers, body)
        if path == "/drive/v3/about":
            return 200, {"kind": "drive#about", "user": {"displayName": "Studio", "kind": "drive#user"}}, {}
        if path == "/drive/v3/changes/startPageToken":
            return 200, {"kind": "drive#startPageToken", "startPageToken": str(self._seq + 1)}, {}
        if path == "/drive/v3/changes" and method == "GET":
            return self._list_changes(one)
        if path == "/drive/v3/changes/watch" and method == "POST":
            channel = json.loads(body)
            channel.update({"kind": "api#channel", "resourceId": "drv-res-" + channel["id"][:8],
                            "resourceUri": "https://www.googleapis.com/drive/v3/changes?alt=json",
                            "expiration": str(int((datetime.now(UTC) + timedelta(days=7)).timestamp() * 1000))})
            self.channels[channel["id"]] = channel
            return 200, channel, {}
        if path == "/drive/v3/channels/stop":
            stopped = self.channels.pop(json.loads(body).get("id"), None)
            return (204, None, {}) if stopped else (404, error_body(404, "notFound", "Channel not found"), {})
        if path == "/drive/v3/files" and method == "GET":
            return self._list_files(one)
        if path == "/drive/v3/files" and method == "POST":
            return 200, dict(self._create(json.loads(body), None)), {}
        match = re.fullmatch(r"/drive/v3/files/([^/]+)", path)
        if match:
            meta = self.files.get(match.group(1))
            if meta is None:
                return 404, error_body(404, "notFound", f"File not found: {match.group(1)}."), {}
            if method == "GET":
                return 200, dict(meta), {}
            if method == "PATCH":
                for key, value in json.loads(body).items():
                    if key in ("name", "description", "trashed"):
                        meta[key] = value
                self._touch(meta["id"])
                return 200, dict(meta), {}
        return 404, error_body(404, "notFound", "Not Found"), {}

    def _list_files(self, q: dict) -> tuple[int, dict, dict]:
        text = q.get("q", "")
        found = [f for f in self.files.values() if f["id"] != "root"]
        parent = re.search(r"'((?:[^'\\]|\\.)*)' in parents", text)
        if parent:
            found = [f for f in found if _unq(parent.group(1)) in f["parents"]]
        if "trashed = false" in text:
            found = [f for f in found if not f["trashed"]]
        name = re.search(r"name = '((?:[^'\\]|\\.)*)'", text)
        if name:
            found = [f for f in found if f["name"] == _unq(name.group(1))]
        mime = re.search(r"mimeType = '([^']*)'", text)
        if mime:
            found = [f for f in found if f["mimeType"] == mime.group(1)]
        prop = re.search(r"appProperties has \{ key='((?:[^'\\]|\\.)*)' and value='((?:[^'\\]|\\.)*)' \}", text)
        if prop:
            found = [f for f in found if f["appProperties"].get(_unq(prop.group(1))) == _unq(prop.group(2))]
        found.sort(key=lambda f: f["id"])
        start = int(q.get("pageToken") or 0)
        size = min(int(q.get("pageSize") or 100), 1000)
        page = found[start:start + size]
        data: dict[str, Any] = {"kind": "drive#fileList", "incompleteSearch": False, "files": [dict(f) for f in page]}
        if start + size < len(found):
            data["nextPageToken"] = str(start + size)
        return 200, data, {}

    def _list_changes(self, q: dict) -> tuple[int, dict, dict]:
        try:
            token = int(q.get("pageToken") or "")
        except ValueError:
            token = -1
        if token < max(self._floor, 1) or token > self._seq + 1:
            return 400, error_body(400, "invalid", "Invalid Value"), {}
        size = min(int(q.get("pageSize") or 100), 1000)
        pending = [(n, fid) for n, fid in self._changes if n >= token]
        page, rest = pending[:size], pending[size:]
        latest: dict[str, int] = {}
        for n, fid in page:
            latest[fid] = n  # a file changed twice appears once, in its latest state
        changes = []
        for fid, _n in sorted(latest.items(), key=lambda kv: kv[1]):
            meta = self.files.get(fid)
            item = {"kind": "drive#change", "changeType": "file", "time": self._clock.isoformat(), "fileId": fid,
                    "removed": meta is None}
            if meta is not None:
                item["file"] = dict(meta)
            changes.append(item)
        data: dict[str, Any] = {"kind": "drive#changeList", "changes": changes}
        if rest:
            data["nextPageToken"] = str(rest[0][0])
        else:
            data["newStartPageToken"] = str(self._seq + 1)
        return 200, data, {}

    def _upload(self, q: dict, headers: dict, body: bytes) -> tuple[int, dict | None, dict]:
        kind = q.get("uploadType")
        if kind == "multipart":
            if len(body) > 5 * 1024 * 1024 + 65536:
                return 413, error_body(413, "uploadTooLarge", "Use a resumable upload above 5 MB"), {}
            boundary = headers.get("content-type", "").split("boundary=")[-1].encode()
            parts = [p for p in body.split(b"--" + boundary) if p.strip(b"\r\n-")]
            meta_part, media_part = (p.split(b"\r\n\r\n", 1)[1] for p in parts[:2])
            return 200, dict(self._create(json.loads(meta_part), media_part[:-2])), {}
        if kind == "resumable":
            upload_id = f"ADPycdt{len(self._sessions) + 1:04d}"
            self._sessions[upload_id] = {"metadata": json.loads(body or b"{}"), "data": bytearray(),
                                         "length": headers.get("x-upload-content-length")}
            location = f"{self.base_url}/upload/drive/v3/files?uploadType=resumable&upload_id={upload_id}"
            return 200, None, {"Location": location}
        return 400, error_body(400, "invalid", "Invalid uploadType"), {}

    def _replace(self, file_id: str, q: dict, headers: dict, body: bytes) -> tuple[int, dict | None, dict]:
        """``PATCH /upload/drive/v3/files/{id}``: ``uploadType=media`` (the bytes, at most 5 MB) or
        ``resumable`` (a session whose last chunk replaces the file's content): a new version."""
        meta = self.files.get(file_id)
        if meta is None or meta["trashed"]:
            return 404, error_body(404, "notFound", f"File not found: {file_id}."), {}
        kind = q.get("uploadType")
        if kind == "media":
            if len(body) > 5 * 1024 * 1024:
                return 413, error_body(413, "uploadTooLarge", "Use a resumable upload above 5 MB"), {}
            self._store(file_id, body)
            return 200, dict(meta), {}
        if kind == "resumable":
            upload_id = f"ADPycdt{len(self._sessions) + 1:04d}u"
            self._sessions[upload_id] = {"metadata": json.loads(body or b"{}"), "data": bytearray(),
                                         "length": headers.get("x-upload-content-length"), "file_id": file_id}
            location = f"{self.base_url}/upload/drive/v3/files?uploadType=resumable&upload_id={upload_id}"
            return 200, None, {"Location": location}
        return 400, error_body(400, "invalid", "Invalid uploadType"), {}

    def _chunk(self, upload_id: str, headers: dict, body: bytes) -> tuple[int, dict | None, dict]:
        session = self._sessions.get(upload_id)
        if session is None:
            return 404, error_body(404, "notFound", "Upload session not found"), {}
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", headers.get("content-range", ""))
        if not match or int(match.group(1)) != len(session["data"]) or \
                int(match.group(2)) - int(match.group(1)) + 1 != len(body):
            return 400, error_body(400, "invalid", "Invalid Content-Range"), {}
        total = match.group(3)
        if total == "*" and len(body) % CHUNK_UNIT:
            return 400, error_body(400, "invalid", "Chunk size must be a multiple of 256 KiB"), {}
        session["data"] += body
        if total != "*" and len(session["data"]) == int(total):
            del self._sessions[upload_id]
            if session.get("file_id"):  # an update session: the same file takes the new bytes
                self._store(session["file_id"], bytes(session["data"]))
                return 200, dict(self.files[session["file_id"]]), {}
            return 200, dict(self._create(session["metadata"], bytes(session["data"]))), {}
        return 308, None, {"Range": f"bytes=0-{len(session['data']) - 1}"}


def _unq(text: str) -> str:
    return text.replace("\\'", "'").replace("\\\\", "\\")


class FileServer(FakeServer):
    """The platform's file storage stand-in: GET /<name> streams registered bytes with a
    Content-Length (``put`` them), counting what was served."""

    name = "fake-file-server"
    content_type = "application/octet-stream"

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.served = 0

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, dict]:
        data = self.blobs.get(target.lstrip("/"))
        if data is None or method != "GET":
            return 404, None, {}
        self.served += 1
        return 200, data, {}

    def put(self, name: str, data: bytes) -> str:
        self.blobs[name] = data
        return f"{self.base_url}/{name}"


@pytest.fixture
def google_drive_fake() -> Iterator[FakeGoogleDrive]:
    with running(FakeGoogleDrive()) as fake:
        yield fake


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    with running(FileServer()) as server:
        yield server
